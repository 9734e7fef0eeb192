"""The REST client's options in one object.

- :class:`RestSettings`: every option :class:`~centbook.rest.client.RestClient` takes, with its
  default; the client's keyword arguments fill one in;
- :func:`check_base_url`: the client's one required input, checked (a host root is accepted).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from centbook.protocol.environments import exchange_urls
from centbook.rest.budget import Limits

__all__ = ["RestSettings", "check_base_url"]

_ORDER_PATHS = frozenset({"cancel", "amend", "decrease"})


@dataclass(slots=True, frozen=True, kw_only=True)
class RestSettings:
    """Options of a :class:`~centbook.rest.client.RestClient`.

    Parameters
    ----------
    budget_share : float
        Fraction of the user's rate budget this process uses (several processes split it).
    margin : float
        Safety factor on the budget (0.9 = aim at 90 % of it).
    limits : Limits, optional
        Bucket sizes to assume; read from ``/account/limits`` on entry when ``auto_limits``.
    auto_limits : bool
        Read ``/account/limits`` and ``/account/endpoint_costs`` on entry and refresh them every
        ``refresh_limits_s`` seconds.
    refresh_limits_s : float
        Seconds between two reads of the limits and costs.
    timeout_s : float
        Total timeout of a request; a write that times out has an unknown outcome.
    read_retries : int
        Retries of a read after a timeout, lost connection, 408 or 5xx.
    rate_limit_retries : int
        Retries after a 429 (any request: a 429 means it was not executed).
    resolve_margin_s : float
        How far past the send time ``/exchange/user_data_timestamp`` must be before a missing
        order is declared not placed (REST data lags the matching engine).
    resolve_timeout_s : float
        Longest time spent resolving one unknown outcome before giving up
        (:class:`~centbook.protocol.errors.OutcomeUnknownError`).
    client_order_id_prefix : str, optional
        Prefix of generated ids (default ``cb`` + 8 random hex digits; ids are prefix + counter).
    presign : bool
        Keep signatures made ahead of use for the constant write paths and for the cancel and
        amend paths of recently acknowledged orders (see :class:`~centbook.auth.PresignedPool`).
        Kalshi does not document its timestamp tolerance or replay rules: validate on demo first.
    presign_max_age_s : float
        Oldest pre-made signature that may be used (default 1 s).
    presign_orders : int
        How many recent (acknowledged, resting) orders get pre-made signatures for their own paths.
    presign_depth : int
        Signatures kept for the create path (other paths keep one); refilled in the background
        as they are used or age. Each kept signature costs one RSA signature per max age.
    presign_order_paths : tuple of str
        Which paths of each recent order get a pre-made signature: any of ``"cancel"``,
        ``"amend"``, ``"decrease"`` (default cancel only: each one costs a signature per max age).
    signer : str, optional
        ``inline`` (sign on the event loop), ``thread`` or ``process`` (a helper; pre-made
        signatures are always made there when ``presign`` is on; ``process`` by default then).
    session : aiohttp.ClientSession, optional
        Use this session instead of making one (not closed on exit).
    order_lane : bool
        Send writes on an :class:`~centbook.rest.lane.OrderLane` of warm keep-alive connections
        instead of aiohttp (see :class:`~centbook.rest.client.RestClient`).
    order_lane_connections : int
        Connections the lane keeps warm (one write in flight each; more open on demand).
    clock : callable
        Monotonic clock in seconds of the rate budget.
    """

    budget_share: float = 1.0
    margin: float = 0.9
    limits: Limits | None = None
    auto_limits: bool = True
    refresh_limits_s: float = 60.0
    timeout_s: float = 10.0
    read_retries: int = 3
    rate_limit_retries: int = 8
    resolve_margin_s: float = 2.0
    resolve_timeout_s: float = 30.0
    client_order_id_prefix: str | None = None
    presign: bool = False
    presign_max_age_s: float = 1.0
    presign_orders: int = 8
    presign_depth: int = 8
    presign_order_paths: tuple[str, ...] = ("cancel",)
    signer: str | None = None
    session: aiohttp.ClientSession | None = None
    order_lane: bool = False
    order_lane_connections: int = 2
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        object.__setattr__(self, "presign_order_paths", tuple(self.presign_order_paths))
        unknown_paths = set(self.presign_order_paths) - _ORDER_PATHS
        if unknown_paths:
            raise ValueError(f"presign_order_paths: unknown {sorted(unknown_paths)}")

    @classmethod
    def of(cls, settings: RestSettings | None, options: dict[str, Any]) -> RestSettings:
        """Return ``settings`` (or the defaults) with ``options`` laid over it.

        Raises
        ------
        TypeError
            An option that is not a field of :class:`RestSettings`.
        """
        unknown = set(options) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"RestClient() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        if settings is None:
            return cls(**options)
        return dataclasses.replace(settings, **options) if options else settings


def check_base_url(base_url: str) -> str:
    """Return the REST base URL of an exchange given its base URL or its host root.

    ``https://external-api.kalshi.com/trade-api/v2`` is returned as it is;
    ``http://127.0.0.1:PORT`` (what ``centbook sim`` prints first) becomes
    ``http://127.0.0.1:PORT/trade-api/v2``.

    Raises
    ------
    ValueError
        Anything else: the message names the two accepted forms.
    """
    return exchange_urls(base_url)[0]
