"""What every route family of the sim's REST side shares: authentication, metering and bodies.

Parts: :class:`HttpCore` (signature check, token-bucket charge, JSON body, the ``subaccount``
and ``exchange_index`` query fields), :class:`BodyError` (an unparseable body) and
:class:`TooManyRequests` (an empty bucket) and :class:`RouteFamily` (what each family of handlers
holds). The middleware of
:class:`centbook.sim.http.app.SimServer` turns both exceptions into their wire answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from centbook.sim import safejson
from centbook.sim.auth import KeyRing
from centbook.sim.config import SERVER_DEFAULTS
from centbook.sim.engine import Exchange
from centbook.sim.errors import SimError, bad_request
from centbook.sim.http.params import query_int
from centbook.sim.ratelimit import RateLimiter

__all__ = ["BodyError", "HttpCore", "RouteFamily", "TooManyRequests"]


class BodyError(Exception):
    """An unparseable request body: answered with a top-level ``{"code": "bad_request", ...}``."""


class TooManyRequests(SimError):
    """A request refused by the user's token bucket: answered 429 ``{"error": "too many requests"}``."""

    def __init__(self) -> None:
        super().__init__(429, "too_many_requests", "too many requests")


class HttpCore:
    """The engine, keys and limits one sim's route families share, with the checks they all make.

    Parameters
    ----------
    exchange : Exchange
        The engine; its clock dates signatures.
    keys : KeyRing
        The API keys signatures are checked against.
    limiter : RateLimiter
        The token buckets requests are charged to.

    Attributes
    ----------
    user_data_lag_s : float
        Seconds ``/exchange/user_data_timestamp`` reports user data as lagging behind the clock.
    body_timeout_s : float
        Seconds a request body may take to arrive whole (``config["server"]["body_timeout_s"]``).
    """

    def __init__(self, exchange: Exchange, keys: KeyRing, limiter: RateLimiter) -> None:
        self.exchange = exchange
        self.keys = keys
        self.limiter = limiter
        self.user_data_lag_s = 0.0
        server = {**SERVER_DEFAULTS, **exchange.config.get("server", {})}
        self.body_timeout_s = float(server["body_timeout_s"])

    def user(
        self,
        request: web.Request,
        *,
        units: int = 1,
        exchange_index: int | None = None,
        batch: bool = False,
        charge: bool = True,
    ) -> str:
        """Verify the request's signature and (unless ``charge`` is false) meter it.

        Parameters
        ----------
        request : web.Request
            The signed request.
        units : int
            Requests it counts as (batch writes count each order).
        exchange_index : int or None
            The shard whose bucket pays, for the per-shard write buckets.
        batch : bool
            Whether it is a batch write.
        charge : bool
            False to verify only; the handler charges once it knows the shard.

        Returns
        -------
        str
            The user id.

        Raises
        ------
        SimError
            A missing or bad signature (401), or an empty bucket (:class:`TooManyRequests`).
        """
        user_id = self.keys.verify(
            request.headers, request.method, request.path, self.exchange.clock.now_ms()
        )
        if charge:
            self.charge(request, user_id, units, exchange_index, batch)
        return user_id

    def charge(
        self,
        request: web.Request,
        user_id: str,
        units: int = 1,
        exchange_index: int | None = None,
        batch: bool = False,
    ) -> None:
        """Take the request's cost from the user's bucket; raise :class:`TooManyRequests` if empty."""
        if not self.limiter.admit(user_id, request.method, request.path, units, exchange_index, batch):
            raise TooManyRequests()

    def optional_user(self, request: web.Request) -> str | None:
        """Return the user of a signed public GET (verified and metered), None if it is unsigned."""
        if not any(
            h in request.headers
            for h in ("KALSHI-ACCESS-KEY", "KALSHI-ACCESS-SIGNATURE", "KALSHI-ACCESS-TIMESTAMP")
        ):
            return None
        return self.user(request)

    async def body(self, request: web.Request) -> dict[str, Any]:
        """Return the request's JSON object body.

        Raises
        ------
        BodyError
            No body, not JSON, or JSON beyond :mod:`centbook.sim.safejson`'s bounds.
        SimError
            408 when the body does not arrive whole within ``body_timeout_s``.
        """
        try:
            async with asyncio.timeout(self.body_timeout_s):
                raw = await request.read()
        except TimeoutError:
            raise SimError(
                408,
                "request_timeout",
                "request timeout",
                f"the request body did not arrive whole within {self.body_timeout_s:g} s",
            ) from None
        if not raw:
            raise BodyError("request body is empty; a JSON object is required")
        try:
            body = safejson.parse(raw)
        except safejson.JsonRejected as exc:
            raise BodyError(f"request body: {exc}") from None
        if not isinstance(body, dict):
            raise BodyError("request body must be a JSON object")
        return body

    def subaccount_q(self, request: web.Request, user_id: str, default: int | None = 0) -> int | None:
        """Return the ``subaccount`` query field (0..63, one the user has), or ``default``."""
        sub = query_int(request, "subaccount", default, 0, 63)
        if sub is not None:
            self.exchange.check_subaccount(user_id, sub)
        return sub

    def shard_q(self, request: web.Request) -> int | None:
        """Return the ``exchange_index`` query field (a known shard), or None."""
        shard = query_int(request, "exchange_index", None, 0, None)
        if shard is not None and shard not in self.exchange.shards:
            raise bad_request(
                f"unknown exchange_index {shard}",
                code="invalid_exchange_index",
                message="invalid exchange index",
            )
        return shard


class RouteFamily:
    """A family of route handlers: the base of each, holding the shared core and its engine.

    Parameters
    ----------
    core : HttpCore
        What the route families share.
    """

    def __init__(self, core: HttpCore) -> None:
        self.core = core
        self.exchange = core.exchange
