"""centbook's REST execution layer: Kalshi's V2 order endpoints over one aiohttp session.

::

    async with centbook.RestClient(url, centbook.Credentials.from_env()) as client:
        result = await client.create_order("KXDEMO-26DEC31-T50", "bid", 4200, 1000)  # $0.42 x 10
        await client.cancel_order(result.order_id)

What it guarantees (PROTOCOL.md 4-5):

* One ``aiohttp`` session, keep-alive, ``TCP_NODELAY`` (aiohttp sets it on every connection).
* Every authenticated request is signed (:mod:`centbook.auth`) and admitted by the client-side
  rate budget (:mod:`centbook.rest.budget`) first, so in normal operation no 429 comes back; a 429 is
  still handled (backoff with jitter, budget recalibrated, ``/account/limits`` re-read).
* Every order carries a ``client_order_id`` (generated when none is given).
* A write whose outcome is unknown (timeout, lost connection, 408, 5xx) is never re-sent: creates
  are resolved by paging ``GET /portfolio/orders`` for the ticker and matching the
  ``client_order_id``; "not placed" is concluded only once ``/exchange/user_data_timestamp`` is
  past the send time plus a margin. Reads are retried.
* Results are typed (:mod:`centbook.protocol.models`) in integer units; requests carry Kalshi's fixed-point
  strings, produced exactly by :mod:`centbook.fixed`.
* ``exchange_index`` is sent on every order write: the caller's, or the shard of the market from
  cached market metadata (fetched once per ticker).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import msgspec

from centbook.auth import Credentials, PresignedPool
from centbook.book import OrderSide
from centbook.fixed import format_price, format_size
from centbook.protocol.environments import REST_URLS
from centbook.protocol.environments import rest_url as environment_url
from centbook.protocol.errors import (
    AuthenticationError,
    ExchangeError,
    KalshiError,
    OrderNotPlacedError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    ServerError,
    SettlementFloorError,
    WriteNotAppliedError,
)
from centbook.protocol.models import (
    AccountLimits,
    AmendResult,
    Balance,
    BatchCancelItem,
    BatchCreateItem,
    CancelResult,
    CreateOrderResult,
    DecreaseResult,
    EndpointCostList,
    EventPosition,
    ExchangeStatus,
    Market,
    MarketPosition,
    Order,
    Orderbook,
    OrderGroup,
    PortfolioFill,
    ProtocolError,
    Settlement,
    UserDataTimestamp,
)
from centbook.rest import budget as _budget
from centbook.rest.armed import ArmedWrite, StartedWrite
from centbook.rest.budget import EndpointCosts, Limits, RateBudget, bucket_for
from centbook.rest.groups import OrderGroups
from centbook.rest.lane import LaneNotSentError, OrderLane
from centbook.rest.outcome import Resolver, WriteOutcome, resolved_cancel, result_from_order
from centbook.rest.reads import Reads
from centbook.rest.settings import RestSettings, check_base_url
from centbook.rest.signer import HELPER_CHUNK, Signer
from centbook.rest.transport import Transport, encode_json, lane_target, query

__all__ = ["ENVIRONMENTS", "ArmedWrite", "RestClient", "StartedWrite", "environment_url"]

log = logging.getLogger("centbook.rest")

ENVIRONMENTS = REST_URLS  # the earlier name

_ORDERS = "/portfolio/events/orders"
_ORDERS_BATCH = "/portfolio/events/orders/batched"
_TIME_IN_FORCE = ("good_till_canceled", "immediate_or_cancel", "fill_or_kill")
_STP = ("taker_at_cross", "maker")
_TRACKED_ORDERS = 10_000  # per-order memory (shard, counts) kept for at most this many orders


def _order_side(side: OrderSide | str, message: str) -> OrderSide:
    """``side`` as an :class:`~centbook.book.OrderSide`; ``ValueError(message)`` if it is none."""
    try:
        return OrderSide(side)
    except ValueError:
        raise ValueError(message) from None


class RestClient:
    """An async Kalshi REST client for trading: signed, rate-budgeted, safe on unknown outcomes.

    Parameters
    ----------
    base_url : str
        ``.../trade-api/v2`` of the sim, demo or prod (:func:`environment_url`), or the host root
        (``http://127.0.0.1:PORT``): see :func:`~centbook.rest.settings.check_base_url`.
    credentials : Credentials, optional
        Needed for everything but public market data.
    settings : RestSettings, optional
        The options (:class:`~centbook.rest.settings.RestSettings`, which describes each one).
    **options
        Any field of :class:`~centbook.rest.settings.RestSettings` by name, laid over
        ``settings``: ``budget_share``, ``margin``, ``limits``, ``auto_limits``,
        ``refresh_limits_s``, ``timeout_s``, ``read_retries``, ``rate_limit_retries``,
        ``resolve_margin_s``, ``resolve_timeout_s``, ``client_order_id_prefix``, ``presign``,
        ``presign_max_age_s``, ``presign_orders``, ``presign_depth``, ``presign_order_paths``,
        ``signer``, ``session``, ``order_lane``, ``order_lane_connections``, ``clock``.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        settings: RestSettings | None = None,
        **options: Any,
    ) -> None:
        self.settings = settings = RestSettings.of(settings, options)
        self.base_url = check_base_url(base_url)
        self.path_prefix = urlsplit(self.base_url).path  # "/trade-api/v2": part of the signed path
        self.credentials = credentials
        self.budget = RateBudget(settings.limits, budget_share=settings.budget_share,
                                 margin=settings.margin, clock=settings.clock)
        self.auto_limits = settings.auto_limits
        self.refresh_limits_s = settings.refresh_limits_s
        self.timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        #: The writes' transport when ``order_lane`` (its ``on_written`` hook is the caller's).
        connections = settings.order_lane_connections
        self.lane = (OrderLane(self.base_url, connections=connections,
                               max_connections=max(16, 2 * connections), timeout_s=settings.timeout_s)
                     if settings.order_lane else None)
        self.prefix = settings.client_order_id_prefix or f"cb{uuid.uuid4().hex[:8]}"
        self._counter = itertools.count(1)
        self._own_session = settings.session is None
        self._markets: dict[str, Market] = {}
        self._order_shards: dict[str, int] = {}  # shard of each order this client created
        # (fill_count, remaining_count) of an order as the exchange last reported both at once,
        # with no write of ours since: the baseline that decides a reduce_by decrease's outcome
        self._order_counts: collections.OrderedDict[str, tuple[int, int]] = collections.OrderedDict()
        self._market_locks: dict[str, asyncio.Lock] = {}
        self._refresh_task: asyncio.Task[None] | None = None
        self._refresh_pending: asyncio.Task[None] | None = None
        self._presign_task: asyncio.Task[None] | None = None
        self.stats = {
            "requests": 0,
            "rate_limited": 0,
            "unknown": 0,
            "resolved": 0,
            "retried_reads": 0,
            "presign_batches": 0,  # helper round trips (refills) made for pre-signing
            "presign_signatures": 0,  # signatures those made
        }
        #: Sends every request (budget, retries, unknown outcomes, pages).
        self.transport = Transport(self.base_url, self.path_prefix, credentials, self.budget, self.lane,
                                   self._sign_into, self._schedule_recalibration, self.stats,
                                   read_retries=settings.read_retries,
                                   rate_limit_retries=settings.rate_limit_retries)
        self.transport.session = settings.session
        self._request = self.transport.request
        self._pages = self.transport.pages
        #: The read endpoints (``get_*``); they fill the market cache.
        self.reads = Reads(self._request, self._pages, self._markets, credentials is not None)
        #: Settles writes whose outcome is unknown by reading the state back.
        self.resolver = Resolver(self.transport, self.reads.get_order, self.reads.get_orders,
                                 self.reads.get_user_data_timestamp,
                                 resolve_margin_s=settings.resolve_margin_s,
                                 resolve_timeout_s=settings.resolve_timeout_s)
        #: The order-group endpoints.
        self.groups = OrderGroups(self._request, self.resolver)
        self._settle = self.resolver.settle
        self._probe_order = self.resolver.probe_order
        self.presign = settings.presign and credentials is not None
        self.pool = PresignedPool(settings.presign_max_age_s, depth=1)
        self.pool.set_depth("POST", self.path_prefix + _ORDERS, settings.presign_depth)
        self.presign_order_paths = settings.presign_order_paths
        self._presign_fill_task: asyncio.Task[None] | None = None
        self.presign_orders = settings.presign_orders
        self._presign_recent: list[str] = []
        mode = settings.signer or ("process" if self.presign else "inline")
        self._signer = Signer(credentials, mode) if credentials is not None else None
        self._sign_inline = credentials.sign if credentials is not None else None

    @classmethod
    def for_environment(
        cls,
        env: str,
        credentials: Credentials | None = None,
        *,
        base_url: str | None = None,
        **options: Any,
    ) -> RestClient:
        """Make a client for ``prod``, ``demo`` or ``sim`` (the sim needs ``base_url``).

        ``credentials`` default to :meth:`Credentials.from_env` (``KALSHI_API_KEY_ID`` and
        ``KALSHI_PRIVATE_KEY_PATH``).
        """
        return cls(environment_url(env, base_url), credentials or Credentials.from_env(), **options)

    # -- lifecycle ----------------------------------------------------------------------------------
    async def __aenter__(self) -> RestClient:
        try:
            await self.open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the session; read limits and costs; start the refresh and pre-signing tasks."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=64, keepalive_timeout=60, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        # aiohttp silently re-sends an "idempotent" request (GET, PUT, DELETE) once when a reused
        # keep-alive connection drops. For Kalshi a DELETE (cancel) or PUT (order-group trigger)
        # is a write whose outcome is then unknown: it must not be re-sent blindly. There is no
        # public switch in aiohttp 3.14; the attribute is checked by the fault tests.
        if hasattr(self._session, "_retry_connection"):
            self._session._retry_connection = False
        else:  # pragma: no cover - a future aiohttp; fail loudly rather than resend writes
            raise RuntimeError("cannot disable aiohttp's automatic retry of idempotent requests")
        if self.auto_limits:
            await self.refresh_costs()
            if self.credentials is not None:
                await self.refresh_limits()
                self._refresh_task = asyncio.get_running_loop().create_task(self._refresh_loop())
        if self.lane is not None:
            try:
                await self.lane.open()
            except LaneNotSentError as exc:  # it connects on demand; the first write will say
                log.warning("order lane: %s", exc)
        if self.presign:
            await self._presign_fill()
            self._presign_task = asyncio.get_running_loop().create_task(self._presign_loop())

    async def close(self) -> None:
        """Stop background tasks, close the session (if it is ours) and the signing helper."""
        for task in (self._refresh_task, self._presign_task, self._refresh_pending, self._presign_fill_task):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self.budget.close()
        if self.lane is not None:
            await self.lane.close()
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None
        if self._signer is not None:
            self._signer.close()

    def __repr__(self) -> str:
        return f"RestClient({self.base_url!r}, {self.credentials!r})"

    @property
    def _session(self) -> aiohttp.ClientSession | None:
        return self.transport.session

    @_session.setter
    def _session(self, session: aiohttp.ClientSession | None) -> None:
        self.transport.session = session

    @property
    def clock_skew_s(self) -> float | None:
        """Server clock minus ours (seconds), from a response's ``Date``; None before one."""
        return self.transport.clock_skew_s

    @clock_skew_s.setter
    def clock_skew_s(self, skew_s: float | None) -> None:
        self.transport.clock_skew_s = skew_s

    @property
    def unresolved(self) -> dict[str, OutcomeUnknownError]:
        """``client_order_id -> OutcomeUnknownError`` of creates whose outcome is still unknown."""
        return self.transport.unresolved

    @property
    def resolve_margin_s(self) -> float:
        """How far past the send time REST data must be before a missing order is not placed."""
        return self.resolver.resolve_margin_s

    @resolve_margin_s.setter
    def resolve_margin_s(self, margin_s: float) -> None:
        self.resolver.resolve_margin_s = margin_s

    @property
    def resolve_timeout_s(self) -> float:
        """Longest time spent resolving one unknown outcome."""
        return self.resolver.resolve_timeout_s

    @resolve_timeout_s.setter
    def resolve_timeout_s(self, timeout_s: float) -> None:
        self.resolver.resolve_timeout_s = timeout_s

    @property
    def read_retries(self) -> int:
        """Retries of a read after a timeout, lost connection, 408 or 5xx."""
        return self.transport.read_retries

    @read_retries.setter
    def read_retries(self, retries: int) -> None:
        self.transport.read_retries = retries

    @property
    def rate_limit_retries(self) -> int:
        """Retries after a 429."""
        return self.transport.rate_limit_retries

    @rate_limit_retries.setter
    def rate_limit_retries(self, retries: int) -> None:
        self.transport.rate_limit_retries = retries

    @property
    def signer_pid(self) -> int | None:
        """The signing helper process's pid once it runs (``signer="process"``), else None.

        For deployment: pin it off the trading process's core (``os.sched_setaffinity``); it
        signs ahead of use in bursts of several RSA signatures.
        """
        proc = self._signer._proc if self._signer is not None else None
        return proc.pid if proc is not None else None

    # -- ids ----------------------------------------------------------------------------------------
    def new_client_order_id(self) -> str:
        """Return a fresh ``client_order_id`` (prefix + counter; at most 64 characters)."""
        return f"{self.prefix}-{next(self._counter)}"

    # -- budget upkeep ------------------------------------------------------------------------------
    async def refresh_limits(self) -> AccountLimits:
        """Read ``/account/limits`` and size the budget from it."""
        limits = await self.get_account_api_limits()
        self.budget.set_limits(
            Limits(
                limits.read_refill_rate,
                limits.read_bucket_capacity,
                limits.write_refill_rate,
                limits.write_bucket_capacity,
                limits.usage_tier,
            )
        )
        return limits

    async def refresh_costs(self) -> EndpointCostList:
        """Read ``/account/endpoint_costs`` (public) and adopt the costs."""
        costs = await self.get_account_endpoint_costs()
        self.budget.costs = EndpointCosts(
            costs.default_cost, [(c.method, c.path, c.cost) for c in costs.endpoint_costs]
        )
        return costs

    async def _refresh_loop(self) -> None:
        for cycle in itertools.count(1):
            await asyncio.sleep(self.refresh_limits_s)
            try:
                await self.refresh_limits()
                if cycle % 10 == 0:  # costs change rarely (and the endpoint is public)
                    await self.refresh_costs()
            except (KalshiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("could not refresh /account/limits or costs: %s", exc)

    def _schedule_recalibration(self) -> None:
        if self.credentials is None or not self.auto_limits:
            return
        if self._refresh_pending is None or self._refresh_pending.done():

            async def again() -> None:
                try:
                    await self.refresh_limits()
                except (KalshiError, aiohttp.ClientError, TimeoutError) as exc:
                    log.warning("could not re-read /account/limits after a 429: %s", exc)

            self._refresh_pending = asyncio.get_running_loop().create_task(again())

    # -- pre-signing --------------------------------------------------------------------------------
    def _presign_targets(self) -> list[tuple[str, str]]:
        # Creates get ``presign_depth`` signatures; batch paths and each recent order's cancel
        # (and amend, if asked) one each: every kept signature is re-made once per max age.
        p = self.path_prefix
        targets = [("POST", p + _ORDERS), ("POST", p + _ORDERS_BATCH), ("DELETE", p + _ORDERS_BATCH)]
        for oid in self._presign_recent:
            targets.extend(self._order_paths(oid))
        return targets

    def _order_paths(self, order_id: str) -> list[tuple[str, str]]:
        base = f"{self.path_prefix}{_ORDERS}/{order_id}"
        out = []
        for kind in self.presign_order_paths:
            out.append(("DELETE", base) if kind == "cancel" else ("POST", f"{base}/{kind}"))
        return out

    async def _presign_fill(self) -> None:
        assert self._signer is not None
        margin_ms = int(self.pool.max_age_ms * 0.4)
        now_ms = int(time.time() * 1000)
        jobs: list[tuple[int, str, str]] = []
        for method, path in self._presign_targets():
            jobs.extend((now_ms, method, path) for _ in range(self.pool.needs(method, path, margin_ms)))
        if not jobs:
            return
        self.stats["presign_batches"] += 1
        self.stats["presign_signatures"] += len(jobs)
        # The emptiest paths first, and into the pool chunk by chunk: a path that is running out
        # (back-to-back amends of one order) gets its signatures after one chunk's signing, not
        # after the whole refill's (tens of signatures, several ms).
        count = self.pool.count
        jobs.sort(key=lambda job: count(job[1], job[2]))
        for i in range(0, len(jobs), HELPER_CHUNK):
            part = jobs[i : i + HELPER_CHUNK]
            sigs = await self._signer.sign_batch(part)
            # An order cancelled while its signatures were being made is no target any more:
            # putting them would bring its forgotten paths back into the pool.
            still = set(self._presign_targets())
            for (ts, method, path), sig in zip(part, sigs, strict=True):
                if (method, path) in still:
                    self.pool.put(method, path, ts, sig)

    def _presign_kick(self) -> None:
        """Refill the pool in the background (one fill at a time)."""
        task = self._presign_fill_task
        if task is None or task.done():
            self._presign_fill_task = asyncio.get_running_loop().create_task(self._presign_fill_safe())

    async def _presign_fill_safe(self) -> None:
        try:
            await self._presign_fill()
        except Exception as exc:  # inline signing covers any gap
            if self._signer is not None and self._signer.failed:
                self.presign = False  # the helper is gone (said once, by the signer): sign inline
            else:
                log.warning("pre-signing failed: %s", type(exc).__name__)

    async def _presign_loop(self) -> None:
        period = self.pool.max_age_ms / 1000 / 4
        while True:
            await asyncio.sleep(period)
            self._presign_kick()

    def _presign_track(self, order_id: str) -> None:
        if not self.presign:
            return
        self._presign_recent.append(order_id)
        if len(self._presign_recent) > self.presign_orders:
            self._presign_forget(self._presign_recent[0])
        self._presign_kick()

    def forget_order(self, order_id: str) -> None:
        """An order is gone (filled, cancelled, expired): drop what the client keeps for it.

        Its pre-made signatures stop being renewed, and its place among the ``presign_orders``
        recent orders goes to a live one. The client learns of cancels itself, of fills only
        from its caller (fills arrive on the WebSocket).
        """
        self._presign_forget(order_id)
        self._order_counts.pop(order_id, None)
        self._order_shards.pop(order_id, None)

    def _presign_forget(self, order_id: str) -> None:
        if order_id in self._presign_recent:
            self._presign_recent.remove(order_id)
            for method, path in self._order_paths(order_id):
                self.pool.forget(method, path)

    # -- the request core ---------------------------------------------------------------------------
    def _auth_headers(self, method: str, full_path: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        self._sign_into(headers, method, full_path)
        return headers

    def _sign_into(self, headers: dict[str, str], method: str, full_path: str) -> None:
        """Put the three auth headers into ``headers`` (a pre-made signature when there is one)."""
        assert self.credentials is not None and self._sign_inline is not None
        pre = self._take_presigned(method, full_path) if self.presign else None
        if pre is not None:
            ts, sig = pre
        else:
            ts = int(time.time() * 1000)
            sig = self._sign_inline(ts, method, full_path)
        self._put_auth(headers, ts, sig)

    def _put_auth(self, headers: dict[str, str], ts: int, sig: str) -> dict[str, str]:
        """Add the three auth headers to ``headers``, in the one order every request of the client
        has them (the armed writes' bytes match the client's own that way); return it."""
        assert self.credentials is not None
        headers["KALSHI-ACCESS-KEY"] = self.credentials.key_id
        headers["KALSHI-ACCESS-TIMESTAMP"] = str(ts)
        headers["KALSHI-ACCESS-SIGNATURE"] = sig
        return headers

    def _take_presigned(self, method: str, full_path: str, refill: bool = True) -> tuple[int, str] | None:
        """A pre-made ``(timestamp_ms, signature)`` for the path, or None; refills the pool
        (``refill=False``: the caller calls :meth:`_refill_if_low` itself, later)."""
        pre = self.pool.take(method, full_path)
        if refill:
            self._refill_if_low(method, full_path, pre is None)
        return pre

    def _refill_if_low(self, method: str, full_path: str, missed: bool = False) -> None:
        # Refill in batches (one helper round trip per several signatures), not per use.
        pool = self.pool
        if missed or pool.count(method, full_path) * 2 <= pool.depth_of(method, full_path):
            self._presign_kick()

    def _start_write(self, method: str, sub_path: str, params: dict[str, Any] | None, body: Any,
                     exchange_index: int | None) -> StartedWrite | None:
        """Write a pre-signed order write now, in the caller's step, or return None.

        It goes when everything is at hand: the order lane with an idle connection, a pre-made
        signature, and the budget's tokens with nobody queued ahead (whatever their priority:
        a write that would have to wait goes the queued way). Then its bytes are handed
        to the transport before this returns, and :meth:`_request` with ``started`` (and the
        same arguments) awaits the answer. None: nothing was written and nothing is owed (when
        every idle connection turned out closed, the signature and tokens taken are spent, which
        only errs on the safe side of the budget).
        """
        lane = self.lane
        if (lane is None or not lane.idle or not self.presign or self.credentials is None
                or self._session is None):
            return None
        full_path = self.path_prefix + sub_path
        pre = self._take_presigned(method, full_path, refill=False)
        if pre is None:
            self._refill_if_low(method, full_path, True)
            return None
        bucket = bucket_for(method, full_path, exchange_index, False)
        if not self.budget.try_acquire(bucket, self.budget.cost_of(method, full_path)):
            self.pool.give_back(method, full_path, *pre)  # unused: back for the queued path
            return None
        ts, sig = pre
        headers = self._put_auth({"Content-Type": "application/json"}, ts, sig)
        sent_ms = int(time.time() * 1000)
        write = lane.start(method, lane_target(full_path, query(params)), headers, encode_json(body))
        self._refill_if_low(method, full_path)  # after the write: the refill task is not on its way
        if write is None:
            return None
        self.stats["requests"] += 1
        return StartedWrite(write, sent_ms, sig)

    # -- market metadata and shards -----------------------------------------------------------------
    async def market_shard(self, ticker: str) -> int:
        """Return a market's ``exchange_index`` (market metadata cached per ticker)."""
        market = self._markets.get(ticker)
        if market is None:
            lock = self._market_locks.setdefault(ticker, asyncio.Lock())
            async with lock:
                market = self._markets.get(ticker)
                if market is None:
                    market = await self.get_market(ticker)
        return market.exchange_index

    def remember_market(self, market: Market) -> None:
        """Cache a market's metadata (its shard is then known without a request)."""
        self._markets[market.ticker] = market

    async def _shard(
        self, ticker: str | None, exchange_index: int | None, order_id: str | None = None
    ) -> int | None:
        if exchange_index is not None:
            return exchange_index
        if order_id is not None and order_id in self._order_shards:
            return self._order_shards[order_id]
        if ticker is None:
            return None
        return await self.market_shard(ticker)

    # -- order entry (V2) ---------------------------------------------------------------------------
    def _order_body(
        self,
        ticker: str,
        side: OrderSide | str,
        price_bp: int,
        count: int,
        client_order_id: str,
        exchange_index: int | None,
        time_in_force: str,
        self_trade_prevention_type: str,
        expiration_time: int | None,
        post_only: bool | None,
        reduce_only: bool | None,
        cancel_order_on_pause: bool | None,
        order_group_id: str | None,
        subaccount: int | None,
    ) -> dict[str, Any]:
        _order_side(side, f"side must be 'bid' (buy YES) or 'ask' (sell YES), got {side!r}")
        if not isinstance(price_bp, int) or not 0 < price_bp < 10000:
            raise ValueError(f"price_bp must be an int in 1..9999 (basis points of $1), got {price_bp!r}")
        if not isinstance(count, int) or count <= 0:
            raise ValueError(f"count must be a positive int (hundredths of a contract), got {count!r}")
        self._refuse_below_floor(ticker, price_bp)
        if time_in_force not in _TIME_IN_FORCE:
            raise ValueError(f"time_in_force must be one of {_TIME_IN_FORCE}")
        if self_trade_prevention_type not in _STP:
            raise ValueError(f"self_trade_prevention_type must be one of {_STP}")
        body: dict[str, Any] = {
            "ticker": ticker,
            "client_order_id": client_order_id,
            "side": side,
            "count": format_size(count),
            "price": format_price(price_bp),
            "time_in_force": time_in_force,
            "self_trade_prevention_type": self_trade_prevention_type,
        }
        if exchange_index is not None:
            body["exchange_index"] = exchange_index
        if expiration_time is not None:
            body["expiration_time"] = int(expiration_time)
        if post_only is not None:
            body["post_only"] = post_only
        if reduce_only is not None:
            body["reduce_only"] = reduce_only
        if cancel_order_on_pause is not None:
            body["cancel_order_on_pause"] = cancel_order_on_pause
        if order_group_id is not None:
            body["order_group_id"] = order_group_id
        if subaccount is not None:
            body["subaccount"] = subaccount
        return body

    async def create_order(
        self,
        ticker: str,
        side: OrderSide | str,
        price_bp: int,
        count: int,
        *,
        client_order_id: str | None = None,
        exchange_index: int | None = None,
        time_in_force: str = "good_till_canceled",
        self_trade_prevention_type: str = "taker_at_cross",
        expiration_time: int | None = None,
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        cancel_order_on_pause: bool | None = None,
        order_group_id: str | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
    ) -> CreateOrderResult:
        """Place an order (``POST /portfolio/events/orders``).

        Parameters
        ----------
        ticker : str
            Market ticker.
        side : str
            ``"bid"`` (buy YES) or ``"ask"`` (sell YES = buy NO at ``10000 - price_bp``).
        price_bp : int
            YES limit price in basis points (4200 = $0.42); must be on the market's grid.
        count : int
            Size in hundredths of a contract (1000 = 10 contracts).
        client_order_id : str, optional
            Generated when omitted (:meth:`new_client_order_id`).
        exchange_index : int, optional
            The market's shard; looked up from cached market metadata when omitted.
        time_in_force, self_trade_prevention_type, expiration_time, post_only, reduce_only, \
cancel_order_on_pause, order_group_id, subaccount
            As in Kalshi's CreateOrderV2Request (``expiration_time`` in Unix seconds).
        resolve : bool
            When the outcome is unknown, resolve it before returning (default). Otherwise raise
            :class:`~centbook.protocol.errors.OutcomeUnknownError` at once.

        Returns
        -------
        CreateOrderResult
            ``order_id``, ``client_order_id``, ``fill_count``, ``remaining_count`` (hundredths).

        Raises
        ------
        RejectedError
            The exchange refused the order (4xx); nothing happened.
        OrderNotPlacedError
            The outcome was unknown and the order proved absent; safe to re-send.
        OutcomeUnknownError
            The outcome is still unknown (``resolve=False``, or resolution timed out).
        """
        coid = client_order_id or self.new_client_order_id()
        shard = await self._shard(ticker, exchange_index)
        body = self._order_body(
            ticker,
            side,
            price_bp,
            count,
            coid,
            shard,
            time_in_force,
            self_trade_prevention_type,
            expiration_time,
            post_only,
            reduce_only,
            cancel_order_on_pause,
            order_group_id,
            subaccount,
        )
        try:
            doc = await self._request(
                "POST",
                _ORDERS,
                body=body,
                write=True,
                priority=_budget.CREATE,
                exchange_index=shard,
                unknown={"client_order_ids": [coid], "ticker": ticker},
            )
        except OutcomeUnknownError as exc:
            if not resolve:
                raise
            found = await self.resolve_create(exc)
            order = found[coid]
            if order is None:
                raise OrderNotPlacedError(coid, ticker, exc.cause) from exc
            result = result_from_order(order, shard)
        else:
            result = CreateOrderResult.from_json(doc, ticker, side, price_bp, shard)
        if result.remaining_count > 0:
            if shard is not None:
                self._order_shards[result.order_id] = shard
            self._note_counts(result.order_id, result.fill_count, result.remaining_count)
            self._presign_track(result.order_id)
        return result

    def _refuse_below_floor(self, ticker: str, price_bp: int) -> None:
        """Refuse locally what Kalshi would refuse: a YES price at or below a known floor.

        Uses the cached market metadata only (no request): a floor raised since the market was
        cached is caught by the exchange instead; :meth:`remember_market` or :meth:`get_market`
        refresh it.
        """
        market = self._markets.get(ticker)
        if market is not None and market.floor_refuses(price_bp):
            assert market.settlement_floor_bp is not None
            raise SettlementFloorError(ticker, price_bp, market.settlement_floor_bp)

    async def resolve_create(self, unknown: OutcomeUnknownError) -> dict[str, Order | None]:
        """Find out whether the orders of a create with an unknown outcome exist.

        See :meth:`~centbook.rest.outcome.Resolver.resolve_create`.

        Returns
        -------
        dict
            ``client_order_id -> Order`` (placed) or ``None`` (not placed).
        """
        return await self.resolver.resolve_create(unknown)

    def _note_counts(self, order_id: str, fill_count: int, remaining_count: int) -> None:
        if remaining_count <= 0:
            self._order_counts.pop(order_id, None)
            return
        self._order_counts[order_id] = (fill_count, remaining_count)
        self._order_counts.move_to_end(order_id)
        if len(self._order_counts) > _TRACKED_ORDERS:
            self._order_counts.popitem(last=False)

    async def _order_write(
        self,
        method: str,
        sub_path: str,
        order_id: str,
        ticker: str | None,
        shard: int | None,
        priority: int,
        probe: Callable[[], Awaitable[tuple[bool | None, Any]]] | None,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        deadline: float | None = None,
        started: StartedWrite | None = None,
    ) -> WriteOutcome:
        """Send a write on one order; settle an unknown outcome with ``probe`` (:meth:`_settle`).

        Returns the exchange's answer (``unknown`` None), or, after an unknown outcome, the
        verdict on the state read back (``doc`` None).
        ``probe=None`` (``resolve=False``) re-raises the unknown outcome.
        """
        try:
            doc = await self._request(
                method,
                sub_path,
                params=params,
                body=body,
                write=True,
                priority=priority,
                exchange_index=shard,
                unknown={"order_id": order_id, "ticker": ticker},
                started=started,
            )
        except OutcomeUnknownError as exc:
            if probe is None:
                raise
            took, state = await self._settle(exc, probe, deadline)
            return WriteOutcome(None, took, state, exc)
        return WriteOutcome(doc, True, None, None)

    async def amend_order(
        self,
        order_id: str,
        ticker: str,
        side: OrderSide | str,
        price_bp: int,
        count: int,
        *,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
        exchange_index: int | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
        started: StartedWrite | None = None,
    ) -> AmendResult:
        """Amend price and/or size (``POST /portfolio/events/orders/{id}/amend``).

        ``count`` is the new total (already filled + desired resting), in hundredths. Queue
        priority is kept only when the size decreases. The order keeps its ``order_id``; its
        ``client_order_id`` becomes ``updated_client_order_id`` when one is given.

        Parameters
        ----------
        resolve : bool
            When the outcome is unknown, read the order back (default): the amend took effect
            when the order shows ``updated_client_order_id`` (if given; only this amend can set
            it), or else the new price and ``fill_count + remaining_count == count``. An amend
            is never re-sent by the client (it can add exposure).
        started : StartedWrite, optional
            This amend was already written by :meth:`start_amend`, called with the same
            arguments: only its answer is awaited here.

        Raises
        ------
        RejectedError
            The exchange refused the amend; nothing changed.
        WriteNotAppliedError
            The outcome was unknown and the order still rests as before (``state`` holds it).
        OutcomeUnknownError
            Still unknown (``resolve=False``, or no verdict within ``resolve_timeout_s``).
        """
        _order_side(side, "side must be 'bid' or 'ask'")
        self._refuse_below_floor(ticker, price_bp)
        shard = await self._shard(ticker, exchange_index, order_id)
        body = self._amend_body(ticker, side, format_price(price_bp), format_size(count), client_order_id,
                                updated_client_order_id, shard)
        self._order_counts.pop(order_id, None)  # the amend's answer carries no cumulative fills

        async def probe() -> tuple[bool | None, Order | None]:
            order = await self._probe_order(order_id)
            if order is None or order.status != "resting":
                return True, order  # gone: the amend is moot
            # fills move contracts from remaining to filled: the total stays what the amend set
            shaped = order.yes_price_bp == price_bp and order.fill_count + order.remaining_count == count
            renamed = bool(updated_client_order_id) and order.client_order_id == updated_client_order_id
            if shaped and (renamed or not updated_client_order_id):
                return True, order
            if not shaped and not renamed:
                return False, order
            return None, order  # renamed but reshaped since (or the id did not change): look again

        doc, took, order, exc = await self._order_write(
            "POST",
            f"{_ORDERS}/{order_id}/amend",
            order_id,
            ticker,
            shard,
            _budget.AMEND,
            probe if resolve else None,
            params={"subaccount": subaccount},
            body=body,
            started=started,
        )
        if exc is None:
            return AmendResult.from_json(doc)
        if not took:
            raise WriteNotAppliedError(
                exc.method, exc.path, exc.cause, order_id=order_id, state=order,
                detail=f"the order rests at {order.yes_price_bp} bp with "
                f"{order.remaining_count} hundredths remaining",
            ) from exc
        return self._resolved_amend(order_id, order)

    def start_amend(
        self,
        order_id: str,
        ticker: str,
        side: OrderSide | str,
        price_bp: int,
        count: int,
        *,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
        exchange_index: int | None = None,
        subaccount: int | None = None,
    ) -> StartedWrite | None:
        """Write an amend now, synchronously, when it can go without waiting; else None.

        For a caller in a synchronous callback (the market maker's socket-read callback): the
        amend's bytes are on their way before this returns. It goes when the order lane has an
        idle connection, a pre-made signature is there and the budget has the tokens with
        nobody queued; and only when the shard is known (``exchange_index`` or a tracked order)
        and the arguments are valid. None means nothing was sent: call :meth:`amend_order` as
        usual (it also reports what was wrong with the arguments). Otherwise await
        :meth:`amend_order` with the same arguments and ``started=`` the result, for the answer.
        """
        if side not in ("bid", "ask"):  # OrderSide values; a constant tuple test on the quoting path
            return None
        market = self._markets.get(ticker)
        if market is not None and market.floor_refuses(price_bp):
            return None
        shard = exchange_index if exchange_index is not None else self._order_shards.get(order_id)
        if shard is None:
            return None
        body = self._amend_body(ticker, side, format_price(price_bp), format_size(count), client_order_id,
                                updated_client_order_id, shard)
        self._order_counts.pop(order_id, None)  # the amend's answer carries no cumulative fills
        return self._start_write("POST", f"{_ORDERS}/{order_id}/amend", {"subaccount": subaccount}, body,
                                 shard)

    @classmethod
    def amend_template(cls, ticker: str, side: OrderSide | str,
                       shard: int | None) -> tuple[bytes, bytes, bytes]:
        """An amend's JSON body as the client writes it, split where the price (4 decimals) and
        the count (2 decimals) go: body = pre + price + mid + count + post."""
        body = encode_json(cls._amend_body(ticker, side, "\x00", "\x01", None, None, shard))
        pre, tail = body.split(b"\\u0000")
        mid, post = tail.split(b"\\u0001")
        return pre, mid, post

    @staticmethod
    def _amend_body(ticker: str, side: OrderSide | str, price: str, count: str,
                    client_order_id: str | None,
                    updated_client_order_id: str | None, shard: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ticker": ticker,
            "side": side,
            "price": price,
            "count": count,
        }
        if client_order_id is not None:
            body["client_order_id"] = client_order_id
        if updated_client_order_id is not None:
            body["updated_client_order_id"] = updated_client_order_id
        if shard is not None:
            body["exchange_index"] = shard
        return body

    def arm_amend(self, order_id: str, ticker: str, side: OrderSide | str, *,
                  exchange_index: int | None = None,
                  subaccount: int | None = None) -> ArmedWrite | None:
        """Reserve what an amend of this order needs to be written by compiled code at once.

        For :class:`centbook.mm.quoter.Quoter` (the market maker's amend from the read callback):
        an order-lane connection taken out of the pool, a pre-made signature, and the request's
        bytes but for the price, the count and the length (:class:`ArmedWrite`); the budget is
        asked when the bytes go out. None when one of them is not at hand (as
        :meth:`start_amend`). Afterwards exactly one of: :meth:`armed_sent` (the bytes went
        out; await :meth:`amend_order` with ``started=`` its result) or :meth:`disarm`.
        """
        if side not in ("bid", "ask"):  # OrderSide values; a constant tuple test on the quoting path
            return None
        shard = exchange_index if exchange_index is not None else self._order_shards.get(order_id)
        if shard is None:
            return None
        return self._arm("POST", f"{_ORDERS}/{order_id}/amend", order_id, {"subaccount": subaccount}, shard,
                         self.amend_template(ticker, side, shard))

    def arm_cancel(self, order_id: str, ticker: str, *, exchange_index: int | None = None,
                   subaccount: int | None = None) -> ArmedWrite | None:
        """As :meth:`arm_amend`, for the order's cancel: the whole request is made here (it has
        no body), byte for byte the one :meth:`cancel_order` sends. After :meth:`armed_sent`,
        await :meth:`cancel_order` with ``started=`` its result (and the same arguments)."""
        shard = exchange_index if exchange_index is not None else self._order_shards.get(order_id)
        if shard is None:
            return None
        return self._arm("DELETE", f"{_ORDERS}/{order_id}", order_id,
                         {"subaccount": subaccount, "exchange_index": shard, "market_ticker": ticker}, shard,
                         None)

    def _arm(self, method: str, sub_path: str, order_id: str, params: dict[str, Any], shard: int,
             body: tuple[bytes, bytes, bytes] | None) -> ArmedWrite | None:
        """arm_amend and arm_cancel: ``body`` is the amend's split body, None for no body."""
        lane = self.lane
        if (lane is None or not lane.idle or not self.presign or self.credentials is None
                or self._session is None):
            return None
        full_path = self.path_prefix + sub_path
        pre = self._take_presigned(method, full_path)
        if pre is None:
            return None
        ts, sig = pre
        # as _start_write (a body) and _request (none) make them
        headers = self._put_auth({"Content-Type": "application/json"} if body is not None else {}, ts, sig)
        target = lane_target(full_path, query(params))
        if body is None:
            head, body = lane.render(method, target, headers, None), (b"", b"", b"")
        else:
            head = lane.head(method, target, headers)
        conn = lane.reserve()  # last: nothing after it can fail and leave it reserved
        if conn is None:
            self.pool.give_back(method, full_path, ts, sig)
            return None
        # usable while both the signature and the connection are young enough
        loop = asyncio.get_running_loop()
        fresh_s = min((ts + self.pool.max_age_ms) / 1000 - time.time(),  # as PresignedPool.take
                      lane.fresh_until(conn) - loop.time())
        return ArmedWrite(method, order_id, full_path, conn, head, *body,
                          bucket_for(method, full_path, shard), self.budget.cost_of(method, full_path), ts,
                          sig, time.monotonic_ns() + int(fresh_s * 1e9))

    def armed_sent(self, armed: ArmedWrite, sent_ms: int, written_ns: int) -> StartedWrite:
        """The armed write's bytes were handed to its connection's transport at ``written_ns``
        (monotonic; ``sent_ms`` Unix ms just before): the answer is awaited from here."""
        assert self.lane is not None
        self.stats["requests"] += 1
        self._order_counts.pop(armed.order_id, None)  # an amend's answer carries no cumulative fills
        started = StartedWrite(self.lane.adopt(armed.conn, armed.method), sent_ms, armed.signature)
        started.written_ns = written_ns
        self._refill_if_low(armed.method, armed.full_path)
        return started

    def disarm(self, armed: ArmedWrite) -> None:
        """Nothing was written: the connection goes back, and the signature while it is fresh."""
        if self.lane is not None:
            self.lane.release(armed.conn)
        self.pool.give_back(armed.method, armed.full_path, armed.timestamp_ms, armed.signature)

    def _resolved_amend(self, order_id: str, order: Order | None) -> AmendResult:
        if order is None:
            return AmendResult(
                order_id=order_id, client_order_id="", remaining_count=0, fill_count=None,
                average_fill_price_micro=None, average_fee_paid_micro=None, ts_ms=None,
                resolved=True, outcome="not_found",
            )
        self._note_counts(order_id, order.fill_count, order.remaining_count)
        return AmendResult(
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            remaining_count=order.remaining_count,
            fill_count=None,
            average_fill_price_micro=None,
            average_fee_paid_micro=None,
            ts_ms=None,
            resolved=True,
            outcome="applied" if order.status == "resting" else order.status,
            order=order,
        )

    async def decrease_order(
        self,
        order_id: str,
        *,
        reduce_by: int | None = None,
        reduce_to: int | None = None,
        ticker: str | None = None,
        exchange_index: int | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
    ) -> DecreaseResult:
        """Decrease an order by or to a size in hundredths (exactly one of the two).

        Billed and prioritised like a cancel (it reduces exposure).

        Parameters
        ----------
        resolve : bool
            When the outcome is unknown, read the order back (default). ``reduce_to``: it took
            effect when no more than ``reduce_to`` rests. ``reduce_by``: the remaining count is
            compared with the one expected from the last counts the exchange reported for the
            order (its create answer or a resolution read) and its fills since; without such a
            baseline (e.g. right after another decrease or an amend) a ``reduce_by`` decrease
            cannot be resolved and raises :class:`~centbook.protocol.errors.OutcomeUnknownError` at once:
            use ``reduce_to`` where the outcome matters. A decrease is never re-sent by the
            client (a second ``reduce_by`` would reduce twice).

        Raises
        ------
        RejectedError
            Refused (e.g. the order no longer rests); nothing changed.
        WriteNotAppliedError
            The outcome was unknown and the order still rests as before.
        OutcomeUnknownError
            Still unknown (``resolve=False``, no baseline for ``reduce_by``, or no verdict
            within ``resolve_timeout_s``).
        """
        if (reduce_by is None) == (reduce_to is None):
            raise ValueError("give exactly one of reduce_by and reduce_to")
        shard = await self._shard(ticker, exchange_index, order_id)
        body: dict[str, Any] = {}
        if reduce_by is not None:
            body["reduce_by"] = format_size(reduce_by)
        else:
            assert reduce_to is not None
            body["reduce_to"] = format_size(reduce_to)
        if shard is not None:
            body["exchange_index"] = shard
        if ticker is not None:
            body["market_ticker"] = ticker
        baseline = self._order_counts.pop(order_id, None)
        resolvable = resolve and (reduce_to is not None or baseline is not None)

        async def probe() -> tuple[bool | None, Order | None]:
            return await self._decrease_probe(order_id, reduce_by, reduce_to, baseline)

        try:
            doc, took, order, exc = await self._order_write(
                "POST",
                f"{_ORDERS}/{order_id}/decrease",
                order_id,
                ticker,
                shard,
                _budget.CANCEL,
                probe if resolvable else None,
                params={"subaccount": subaccount},
                body=body,
            )
        except OutcomeUnknownError as unknown:
            if resolve and not resolvable:
                unknown.cause += "; a reduce_by decrease without known prior counts cannot be resolved"
            raise
        if exc is None:
            result = DecreaseResult.from_json(doc)
        elif not took:
            raise WriteNotAppliedError(
                exc.method, exc.path, exc.cause, order_id=order_id, state=order,
                detail=f"{order.remaining_count} hundredths still rest",
            ) from exc
        elif order is None:
            result = DecreaseResult(
                order_id=order_id, client_order_id="", remaining_count=0, ts_ms=None,
                resolved=True, outcome="not_found",
            )
        else:
            self._note_counts(order_id, order.fill_count, order.remaining_count)
            result = DecreaseResult(
                order_id=order.order_id,
                client_order_id=order.client_order_id,
                remaining_count=order.remaining_count,
                ts_ms=None,
                resolved=True,
                outcome="applied" if order.status == "resting" else order.status,
                order=order,
            )
        if result.remaining_count == 0:
            self._presign_forget(order_id)
        return result

    async def _decrease_probe(
        self,
        order_id: str,
        reduce_by: int | None,
        reduce_to: int | None,
        baseline: tuple[int, int] | None,
    ) -> tuple[bool | None, Order | None]:
        order = await self._probe_order(order_id)
        if order is None or order.status != "resting":
            return True, order  # nothing rests: what the decrease was for
        if reduce_to is not None:
            return order.remaining_count <= reduce_to, order
        assert reduce_by is not None and baseline is not None
        fill0, remaining0 = baseline
        without = remaining0 - (order.fill_count - fill0)  # fills only shrink what rests
        with_it = max(0, without - reduce_by)
        if order.remaining_count == with_it:
            return True, order
        if order.remaining_count == without:
            return False, order
        return None, order  # changed by something else: look again (or time out)

    async def cancel_order(
        self,
        order_id: str,
        *,
        ticker: str | None = None,
        exchange_index: int | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
        resend: bool = True,
        started: StartedWrite | None = None,
    ) -> CancelResult:
        """Cancel an order (``DELETE /portfolio/events/orders/{id}``); first in the budget queue.

        Pass ``ticker`` or ``exchange_index`` so the request names the order's shard.
        ``started``: the cancel was already written (:meth:`arm_cancel`, :meth:`armed_sent`);
        only its answer is awaited (a resend is a new write).

        Parameters
        ----------
        resolve : bool
            When the outcome is unknown, read the order back (default): ``canceled`` or
            ``executed`` settles it at once; still ``resting`` once REST data is past the send
            time plus ``resolve_margin_s`` means the cancel did not take effect.
        resend : bool
            Then send the cancel again (default), as often as needed within
            ``resolve_timeout_s``. This is the one write the client re-sends on its own, because
            a cancel can only reduce exposure: if an earlier copy lands after all, the later
            one is refused harmlessly (the order is gone) and the refusal is resolved the same
            way. With ``resend=False``, :class:`~centbook.protocol.errors.WriteNotAppliedError` is raised.

        Returns
        -------
        CancelResult
            ``resolved``/``outcome``/``resent`` tell a direct answer from a verdict.

        Raises
        ------
        RejectedError
            Refused (e.g. the order does not exist or no longer rests), on the first send.
        WriteNotAppliedError
            The order still rests and ``resend`` is off.
        OutcomeUnknownError
            Still unknown (``resolve=False``, or no verdict within ``resolve_timeout_s``).
        """
        shard = await self._shard(ticker, exchange_index, order_id)
        deadline = time.monotonic() + self.resolve_timeout_s
        resent = 0
        try:
            while True:
                first, started = started, None  # a resend is written anew
                try:
                    doc, took, order, exc = await self._order_write(
                        "DELETE",
                        f"{_ORDERS}/{order_id}",
                        order_id,
                        ticker,
                        shard,
                        _budget.CANCEL,
                        (lambda: self.resolver.cancel_probe(order_id)) if resolve else None,
                        params={"subaccount": subaccount, "exchange_index": shard, "market_ticker": ticker},
                        deadline=deadline,
                        started=first,
                    )
                except RejectedError as rejected:
                    if not resent or rejected.status in (401, 429):
                        raise
                    # An earlier copy (or a fill) may have ended the order: say which.
                    order = await self._probe_order(order_id)
                    if order is not None and order.status == "resting":
                        raise
                    return resolved_cancel(CancelResult, order_id, order, resent)
                if exc is None:
                    result = CancelResult.from_json(doc)
                    return msgspec.structs.replace(result, resolved=True, resent=resent) if resent else result
                if took:
                    return resolved_cancel(CancelResult, order_id, order, resent)
                if not resend:
                    raise WriteNotAppliedError(
                        exc.method, exc.path, exc.cause, order_id=order_id, state=order,
                        detail="the order still rests",
                    ) from exc
                resent += 1
                log.warning("cancel of %s did not take effect (%s): sending it again", order_id, exc.cause)
        finally:
            self._presign_forget(order_id)
            self._order_shards.pop(order_id, None)
            self._order_counts.pop(order_id, None)

    async def batch_create_orders(
        self, orders: list[dict[str, Any]], *, resolve: bool = True
    ) -> list[BatchCreateItem]:
        """Place several orders in one request (``POST /portfolio/events/orders/batched``).

        Parameters
        ----------
        orders : list of dict
            Each with the keyword arguments of :meth:`create_order`: ``ticker``, ``side``,
            ``price_bp``, ``count`` and optional ones.
        resolve : bool
            Resolve an unknown outcome (per order, by ``client_order_id``).

        Returns
        -------
        list of BatchCreateItem
            In request order; ``item.ok`` tells accepted from refused. Orders resolved as not
            placed after an unknown outcome come back with ``error_code == "not_placed"``.
        """
        bodies = []
        for spec in orders:
            spec = dict(spec)
            coid = spec.pop("client_order_id", None) or self.new_client_order_id()
            ticker, side = spec.pop("ticker"), spec.pop("side")
            price_bp, count = spec.pop("price_bp"), spec.pop("count")
            shard = await self._shard(ticker, spec.pop("exchange_index", None))
            bodies.append(
                self._order_body(
                    ticker,
                    side,
                    price_bp,
                    count,
                    coid,
                    shard,
                    spec.pop("time_in_force", "good_till_canceled"),
                    spec.pop("self_trade_prevention_type", "taker_at_cross"),
                    spec.pop("expiration_time", None),
                    spec.pop("post_only", None),
                    spec.pop("reduce_only", None),
                    spec.pop("cancel_order_on_pause", None),
                    spec.pop("order_group_id", None),
                    spec.pop("subaccount", None),
                )
            )
            if spec:
                raise TypeError(f"unknown order fields: {sorted(spec)}")
        coids = [b["client_order_id"] for b in bodies]
        tickers = {b["ticker"] for b in bodies}
        try:
            doc = await self._request(
                "POST",
                _ORDERS_BATCH,
                body={"orders": bodies},
                write=True,
                priority=_budget.CREATE,
                units=len(bodies),
                batch=True,
                unknown={
                    "client_order_ids": coids,
                    "ticker": next(iter(tickers)) if len(tickers) == 1 else None,
                },
            )
        except OutcomeUnknownError as exc:
            if not resolve:
                raise
            found: dict[str, Order | None] = {}
            for ticker in tickers:
                part = OutcomeUnknownError(
                    exc.method,
                    exc.path,
                    exc.cause,
                    client_order_ids=[b["client_order_id"] for b in bodies if b["ticker"] == ticker],
                    ticker=ticker,
                    sent_unix_ms=exc.sent_unix_ms,
                )
                found.update(await self.resolve_create(part))
            out = []
            for b in bodies:
                order = found.get(b["client_order_id"])
                if order is None:
                    out.append(
                        BatchCreateItem(
                            client_order_id=b["client_order_id"],
                            error_code="not_placed",
                            error_message=f"outcome was unknown ({exc.cause}); not placed",
                        )
                    )
                else:
                    out.append(
                        BatchCreateItem(
                            client_order_id=order.client_order_id,
                            order_id=order.order_id,
                            fill_count=order.fill_count,
                            remaining_count=order.remaining_count,
                        )
                    )
            return out
        items = doc.get("orders")
        if not isinstance(items, list) or len(items) != len(bodies):
            raise ProtocolError("batch create: the answer does not have one item per order")
        out = [BatchCreateItem.from_json(item, coid) for item, coid in zip(items, coids, strict=True)]
        for item, b in zip(out, bodies, strict=True):
            if item.ok and b.get("exchange_index") is not None:
                self._order_shards[item.order_id] = b["exchange_index"]
        return out

    async def batch_cancel_orders(
        self,
        order_ids: list[str],
        *,
        exchange_index: int | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
        resend: bool = True,
    ) -> list[BatchCancelItem]:
        """Cancel several orders in one request (``DELETE /portfolio/events/orders/batched``).

        Parameters
        ----------
        order_ids : list of str
        exchange_index : int, optional
            Shard of the orders (the client knows the shards of orders it created).
        resolve, resend : bool
            As in :meth:`cancel_order`, per order: after an unknown outcome each order is read
            back; orders still resting once REST data is past the send time plus the margin are
            cancelled again in one batch (``resend``) or come back with ``error_code ==
            "not_applied"``.

        Returns
        -------
        list of BatchCancelItem
            One per order id, in request order when the exchange answered (its items) or when
            resolved.
        """
        deadline = time.monotonic() + self.resolve_timeout_s
        return await self._batch_cancel(order_ids, exchange_index, subaccount, resolve, resend, deadline, 0)

    async def _batch_cancel(
        self,
        order_ids: list[str],
        exchange_index: int | None,
        subaccount: int | None,
        resolve: bool,
        resend: bool,
        deadline: float,
        resent: int,
    ) -> list[BatchCancelItem]:
        items: list[dict[str, Any]] = []
        for oid in order_ids:
            item: dict[str, Any] = {"order_id": oid}
            if subaccount is not None:
                item["subaccount"] = subaccount
            shard = exchange_index if exchange_index is not None else self._order_shards.get(oid)
            if shard is not None:
                item["exchange_index"] = shard
            items.append(item)
        try:
            doc = await self._request(
                "DELETE",
                _ORDERS_BATCH,
                body={"orders": items},
                write=True,
                priority=_budget.CANCEL,
                units=len(items),
                batch=True,
                unknown={"order_id": ",".join(order_ids)},
            )
        except OutcomeUnknownError as exc:
            if not resolve:
                raise
            states: dict[str, Order | None] = {}

            async def probe() -> tuple[bool, None]:
                for oid in order_ids:
                    known = states.get(oid)
                    if oid not in states or (known is not None and known.status == "resting"):
                        states[oid] = await self._probe_order(oid)
                return all(o is None or o.status != "resting" for o in states.values()), None

            await self._settle(exc, probe, deadline)
            done = {oid: resolved_cancel(BatchCancelItem, oid, o, resent)
                    for oid, o in states.items() if o is None or o.status != "resting"}
            still = [oid for oid in order_ids if oid not in done]
            if still and resend:
                log.warning("batch cancel did not take effect for %d orders (%s): sending it again",
                            len(still), exc.cause)
                try:
                    again = await self._batch_cancel(
                        still, exchange_index, subaccount, resolve, resend, deadline, resent + 1
                    )
                except OutcomeUnknownError as again_exc:
                    # the re-sent cancel's outcome is unknown too: say so per order, keep the rest
                    for oid in still:
                        done[oid] = BatchCancelItem(
                            order_id=oid, error_code="unknown", resolved=False, order=states[oid],
                            resent=resent + 1,
                            error_message=f"the re-sent cancel's outcome is unknown ({again_exc.cause})",
                        )
                else:
                    done.update((it.order_id, it) for it in again)
            for oid in still:
                if oid not in done:
                    done[oid] = BatchCancelItem(
                        order_id=oid, error_code="not_applied", resolved=True, order=states[oid],
                        error_message=f"outcome was unknown ({exc.cause}); the order still rests",
                    )
            self._forget_orders(order_ids)
            return [done[oid] for oid in order_ids]
        out = [BatchCancelItem.from_json(x) for x in doc.get("orders") or []]
        if resent:
            out = [await self._settle_resent_item(it, resent) for it in out]
        self._forget_orders(order_ids)
        return out

    async def _settle_resent_item(self, item: BatchCancelItem, resent: int) -> BatchCancelItem:
        """A re-sent cancel that was refused: the first copy (or a fill) may have ended the order."""
        if item.ok:
            return msgspec.structs.replace(item, resolved=True, outcome="canceled", resent=resent)
        order = await self._probe_order(item.order_id)
        if order is not None and order.status == "resting":
            return item
        return resolved_cancel(BatchCancelItem, item.order_id, order, resent)

    def _forget_orders(self, order_ids: list[str]) -> None:
        for oid in order_ids:
            self._presign_forget(oid)
            self._order_counts.pop(oid, None)

    async def cancel_all_orders(self, *, subaccount: int | None = None) -> list[str]:
        """Cancel every resting order (``DELETE /portfolio/events/orders``); return their ids.

        An unknown outcome raises :class:`~centbook.protocol.errors.OutcomeUnknownError` unresolved: Kalshi
        may also cancel orders placed in the following minute, so neither the resting orders
        read back nor a second cancel-all tells what this one did; list the resting orders and
        cancel them one by one (or in a batch) if that matters.
        """
        doc = await self._request(
            "DELETE",
            _ORDERS,
            params={"subaccount": subaccount},
            write=True,
            priority=_budget.CANCEL,
            unknown={},
        )
        return [str(o.get("order_id")) for o in doc.get("orders") or []]

    # -- reads (the Reads part) ---------------------------------------------------------------------
    async def get_order(self, order_id: str) -> Order:
        """Return one order (``GET /portfolio/orders/{id}``)."""
        return await self.reads.get_order(order_id)

    async def get_orders(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        status: str | None = None,
        subaccount: int | None = None,
        exchange_index: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[Order]:
        """Iterate over the user's orders, every page (``GET /portfolio/orders``)."""
        async for order in self.reads.get_orders(
            ticker=ticker, event_ticker=event_ticker, min_ts=min_ts, max_ts=max_ts, status=status,
            subaccount=subaccount, exchange_index=exchange_index, limit=limit,
        ):
            yield order

    async def get_fills(
        self,
        *,
        ticker: str | None = None,
        order_id: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        subaccount: int | None = None,
        exchange_index: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[PortfolioFill]:
        """Iterate over the user's fills, every page (``GET /portfolio/fills``)."""
        async for fill in self.reads.get_fills(
            ticker=ticker, order_id=order_id, min_ts=min_ts, max_ts=max_ts, subaccount=subaccount,
            exchange_index=exchange_index, limit=limit,
        ):
            yield fill

    async def get_positions(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        count_filter: str | None = None,
        subaccount: int | None = None,
        exchange_index: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[MarketPosition]:
        """Iterate over market positions, every page (``GET /portfolio/positions``)."""
        async for position in self.reads.get_positions(
            ticker=ticker, event_ticker=event_ticker, count_filter=count_filter, subaccount=subaccount,
            exchange_index=exchange_index, limit=limit,
        ):
            yield position

    async def get_event_positions(
        self, *, event_ticker: str | None = None, subaccount: int | None = None, limit: int = 200
    ) -> AsyncIterator[EventPosition]:
        """Iterate over event positions, every page (``GET /portfolio/positions``)."""
        async for position in self.reads.get_event_positions(
            event_ticker=event_ticker, subaccount=subaccount, limit=limit
        ):
            yield position

    async def get_balance(
        self, *, subaccount: int | None = None, exchange_index: int | None = None
    ) -> Balance:
        """Return the available balance (micro-dollars), with the per-shard breakdown."""
        return await self.reads.get_balance(subaccount=subaccount, exchange_index=exchange_index)

    async def get_settlements(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        subaccount: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[Settlement]:
        """Iterate over the user's settlements, every page (``GET /portfolio/settlements``)."""
        async for settlement in self.reads.get_settlements(
            ticker=ticker, event_ticker=event_ticker, min_ts=min_ts, max_ts=max_ts,
            subaccount=subaccount, limit=limit,
        ):
            yield settlement

    async def get_markets(
        self,
        *,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        status: str | None = None,
        tickers: list[str] | None = None,
        limit: int = 200,
        **filters: Any,
    ) -> AsyncIterator[Market]:
        """Iterate over markets, every page (``GET /markets``, public); caches each market's shard."""
        async for market in self.reads.get_markets(
            event_ticker=event_ticker, series_ticker=series_ticker, status=status, tickers=tickers,
            limit=limit, **filters,
        ):
            yield market

    async def get_market(self, ticker: str) -> Market:
        """Return one market (``GET /markets/{ticker}``, public) and cache it."""
        return await self.reads.get_market(ticker)

    async def get_market_orderbook(self, ticker: str, depth: int | None = None) -> Orderbook:
        """Return a market's book (``GET /markets/{ticker}/orderbook``; signed, as the spec lists)."""
        return await self.reads.get_market_orderbook(ticker, depth)

    async def get_exchange_status(self) -> ExchangeStatus:
        """Return the exchange status (``GET /exchange/status``, public)."""
        return await self.reads.get_exchange_status()

    async def get_user_data_timestamp(self) -> UserDataTimestamp:
        """Return how fresh the REST portfolio data is (``GET /exchange/user_data_timestamp``)."""
        return await self.reads.get_user_data_timestamp()

    async def get_account_api_limits(self) -> AccountLimits:
        """Return the user's tier and bucket sizes (``GET /account/limits``)."""
        return await self.reads.get_account_api_limits()

    async def get_account_endpoint_costs(self) -> EndpointCostList:
        """Return the non-default endpoint costs (``GET /account/endpoint_costs``, public)."""
        return await self.reads.get_account_endpoint_costs()

    # -- order groups (the OrderGroups part) --------------------------------------------------------
    async def create_order_group(
        self, contracts_limit: int, *, subaccount: int | None = None, exchange_index: int | None = None
    ) -> str:
        """Create an order group; ``contracts_limit`` in hundredths over a rolling 15 s; return its id."""
        return await self.groups.create_order_group(
            contracts_limit, subaccount=subaccount, exchange_index=exchange_index
        )

    async def get_order_groups(self, *, subaccount: int | None = None) -> list[OrderGroup]:
        """Return the user's order groups."""
        return await self.groups.get_order_groups(subaccount=subaccount)

    async def get_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> OrderGroup:
        """Return one order group with the ids of its orders."""
        return await self.groups.get_order_group(order_group_id, subaccount=subaccount)

    async def trigger_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> None:
        """Trigger a group: cancel its orders and block new ones until reset (cancel priority)."""
        await self.groups.trigger_order_group(order_group_id, subaccount=subaccount)

    async def reset_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> None:
        """Reset a group's matched-contracts counter so orders may be placed again."""
        await self.groups.reset_order_group(order_group_id, subaccount=subaccount)

    async def delete_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> None:
        """Delete a group and cancel its orders (cancel priority)."""
        await self.groups.delete_order_group(order_group_id, subaccount=subaccount)

    async def update_order_group_limit(
        self, order_group_id: str, contracts_limit: int, *, subaccount: int | None = None
    ) -> None:
        """Change a group's limit (hundredths of a contract over a rolling 15 s)."""
        await self.groups.update_order_group_limit(order_group_id, contracts_limit, subaccount=subaccount)


# Names kept importable from here for callers that catch by module.
__all__ += [
    "AuthenticationError",
    "ExchangeError",
    "OrderNotPlacedError",
    "OutcomeUnknownError",
    "RateLimitedError",
    "RejectedError",
    "ServerError",
]
