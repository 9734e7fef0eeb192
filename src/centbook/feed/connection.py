"""The WebSocket feed: picows on uvloop, Kalshi frames decoded into books you can trust.

:class:`Feed` owns one WebSocket connection and the :class:`~centbook.books.Books` of the markets
it follows. Frames are decoded and applied inside picows' callback by
:class:`~centbook.feed.reader.BookListener`; this module drives everything around it:

- the authenticated handshake (a fresh signature on every attempt), subscriptions with
  ``use_yes_price: true`` sent explicitly and registered with the books, command replies
  matched by id;
- book validity: a seq gap or duplicate, a fault, or a crossed book that persists past one read
  leads to a targeted ``get_snapshot`` (falling back to unsubscribe/resubscribe when the snapshot
  does not come in time); an off-grid price waits for the new grid (lifecycle event or a REST
  lookup) before the snapshot; terminal errors 10 and 25 make the subscription's books STALE
  and resubscribe; limits 26/27 hold commands back instead of retrying in a loop;
- liveness: client pings (picows auto-ping) and Kalshi's 10 s heartbeat; a dead connection makes
  every book STALE, and reconnects use capped exponential backoff with full jitter; books are
  LIVE again only after fresh snapshots;
- tradability (lifecycle events, exchange status per shard), kept apart from book validity;
- metrics, state transitions for listeners, and every other message as a typed event.

The same code serves the embedded exchange, Kalshi's demo and production: only the URL and
the credentials differ.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import picows

from centbook.book import BookState, OrderBook
from centbook.books import Books, FrameKind
from centbook.feed.reader import BookListener
from centbook.grid import PriceGrid
from centbook.metrics import Histogram
from centbook.protocol import commands
from centbook.protocol.environments import WS_PATH, WS_URLS
from centbook.protocol.messages import (
    Error,
    MarketLifecycleV2,
    MultivariateMarketLifecycle,
    Ok,
    Subscribed,
    Unsubscribed,
    decode,
)

__all__ = ["ENVIRONMENTS", "Feed", "FeedConfig", "FeedError", "MarketQuiet", "StateChange", "backoff_delay"]

log = logging.getLogger("centbook.feed")

ENVIRONMENTS = WS_URLS  # the earlier name
TERMINAL_ERRORS = frozenset({10, 17, 25})   # the subscription is dead: resubscribe (17: older spec)
LIMIT_ERRORS = frozenset({26, 27})          # market or command-rate limit: hold back, no loop
BOOK_CHANNEL = "orderbook_delta"
PRIVATE_CHANNELS = ("fill", "user_orders", "market_positions", "order_group_updates")
LIFECYCLE_CHANNELS = ("market_lifecycle_v2", "multivariate_market_lifecycle")


@dataclass
class FeedConfig:
    """Timing and shape of a feed. The defaults suit Kalshi; tests use a fast clock.

    Attributes
    ----------
    ping_idle_s, ping_reply_s : float
        Send a client Ping after this long without data; the connection is dead if the Pong
        takes longer than ``ping_reply_s``.
    heartbeat_timeout_s : float
        The connection is dead when neither Kalshi's heartbeat Ping (every 10 s) nor any data
        arrived for this long. 0 turns the check off.
    backoff_start_s, backoff_cap_s : float
        Reconnect delays: uniform in ``[0, min(cap, start * 2**attempt)]`` (full jitter).
    command_timeout_s : float
        How long a command waits for its reply.
    snapshot_timeout_s : float
        How long a ``get_snapshot`` may take before the subscription is recreated instead.
    limit_backoff_s : float
        After error 26 or 27, how long new commands are held back.
    markets_per_subscription : int
        How many markets go in one ``subscribe`` command. Kalshi's subscribe is idempotent per
        channel: later commands on the same connection add their markets to the connection's
        one orderbook subscription (same sid). To limit what one gap resyncs, give each group
        of markets its own :class:`Feed` (its own connection).
    use_yes_price : bool
        Sent explicitly on every orderbook subscription (Kalshi will make it the only behaviour);
        the books always hold NO bids at NO-leg prices either way.
    status_poll_s : float
        How often ``GET /exchange/status`` is polled when a REST client is given (0: never).
    quiet_alert_s : float
        Report a LIVE market whose book has not changed for this long, once per quiet spell, as
        a :class:`MarketQuiet` event (0: off). Information only: an illiquid market is quiet and
        its book stays valid; connection liveness is the pings' and the heartbeat's job.
    events_max : int
        Most typed messages kept for :meth:`Feed.messages` when its reader falls behind; past
        that the oldest are dropped and counted (``counts["events_dropped"]``), and a warning is
        logged. Listeners (``message_listeners``) always see every message.
    """

    ping_idle_s: float = 2.0
    ping_reply_s: float = 2.0
    heartbeat_timeout_s: float = 30.0
    backoff_start_s: float = 1.0
    backoff_cap_s: float = 30.0
    command_timeout_s: float = 5.0
    snapshot_timeout_s: float = 5.0
    limit_backoff_s: float = 5.0
    handshake_timeout_s: float = 5.0
    markets_per_subscription: int = 1
    use_yes_price: bool = True
    status_poll_s: float = 10.0
    sample_every: int = 64
    quiet_alert_s: float = 0.0
    events_max: int = 100_000

    def __post_init__(self) -> None:
        for name in ("ping_reply_s", "backoff_start_s", "backoff_cap_s", "command_timeout_s",
                     "snapshot_timeout_s", "handshake_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FeedConfig.{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("ping_idle_s", "heartbeat_timeout_s", "limit_backoff_s", "status_poll_s",
                     "quiet_alert_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"FeedConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.ping_idle_s and self.ping_reply_s > self.ping_idle_s:
            raise ValueError(f"FeedConfig.ping_reply_s ({self.ping_reply_s}) cannot exceed ping_idle_s "
                             f"({self.ping_idle_s}): picows waits for the Pong within the idle period")
        if self.backoff_cap_s < self.backoff_start_s:
            raise ValueError("FeedConfig.backoff_cap_s must be >= backoff_start_s")
        if self.markets_per_subscription < 1 or self.sample_every < 1 or self.events_max < 1:
            raise ValueError("FeedConfig.markets_per_subscription, sample_every and events_max must be >= 1")


class FeedError(Exception):
    """An error reply from the exchange (``code`` and ``message`` as the spec defines them)."""

    def __init__(self, code: int, message: str, command_id: int | None = None, sid: int | None = None):
        super().__init__(f"WebSocket error {code}: {message}"
                         + (f" (command {command_id})" if command_id is not None else "")
                         + (f" (sid {sid})" if sid is not None else ""))
        self.code, self.message, self.command_id, self.sid = code, message, command_id, sid


class MarketQuiet(NamedTuple):
    """A LIVE market's book has not changed for ``quiet_s`` seconds (``FeedConfig.quiet_alert_s``)."""
    ticker: str
    quiet_s: float


class StateChange(NamedTuple):
    """A book moved from one state to another (``generation`` after the move)."""
    ticker: str
    old: BookState
    new: BookState
    generation: int


def backoff_delay(attempt: int, start_s: float, cap_s: float, rng: random.Random) -> float:
    """Reconnect delay for ``attempt`` (0-based): full jitter over a capped exponential."""
    return rng.uniform(0.0, min(cap_s, start_s * (2 ** min(attempt, 30))))


@dataclass
class _Subscription:
    sid: int
    channel: str
    tickers: list[str] = field(default_factory=list)


class Feed:
    """Follow markets over one WebSocket connection and keep their books valid.

    Parameters
    ----------
    url : str
        The WebSocket URL (``ws://127.0.0.1:PORT/trade-api/ws/v2`` for the embedded exchange,
        or :data:`ENVIRONMENTS` ``["demo"]`` / ``["prod"]``).
    credentials : object
        Anything with ``headers(method, path) -> dict`` (:class:`centbook.Credentials`); signed
        afresh on every connection attempt.
    markets : iterable of str, or mapping of str to PriceGrid
        The markets to follow; a grid per market (from its ``price_ranges``), whole cents when
        only tickers are given.
    channels : iterable of str
        Extra channels besides ``orderbook_delta``: ``ticker``, ``trade``, ``fill``,
        ``user_orders``, ``market_positions``, ``market_lifecycle_v2``,
        ``multivariate_market_lifecycle``, ``order_group_updates``.
    config : FeedConfig, optional
    rest : object, optional
        A REST client with ``get_market(ticker)`` (for grids after an off-grid price) and
        ``get_exchange_status()`` (tradability per shard).
    market_shards : mapping of str to int, optional
        Each market's ``exchange_index``, for tradability by shard.
    seed : int, optional
        Seeds the backoff jitter (tests).
    """

    def __init__(self, url: str, credentials: Any, markets: Iterable[str] | Mapping[str, PriceGrid], *,
                 channels: Iterable[str] = (), config: FeedConfig | None = None, rest: Any = None,
                 market_shards: Mapping[str, int] | None = None, seed: int | None = None) -> None:
        self.url = url
        self.credentials = credentials
        self.config = config or FeedConfig()
        self.rest = rest
        self.channels = tuple(c for c in channels if c != BOOK_CHANNEL)
        self.books = Books(auto_create=False)
        grids = markets if isinstance(markets, Mapping) else {t: None for t in markets}
        self.tickers = list(grids)
        for ticker, grid in grids.items():
            self.books.add(ticker, grid)
        self.market_shards = dict(market_shards or {})
        self.listener = BookListener(self.books, on_read=self._on_read, on_message=self._on_message,
                                     on_disconnected=self._on_disconnected,
                                     sample_every=self.config.sample_every)
        self.transport: Any = None
        self._rng = random.Random(seed)
        self._ids = 0
        self._replies: dict[int, asyncio.Future[Any]] = {}
        self._pending_subs: dict[tuple[int, str], list[str]] = {}
        self._subs: dict[int, _Subscription] = {}
        self._snapshot_deadline: dict[str, float] = {}
        self._waiting_grid: dict[str, float] = {}
        self._crossed: set[str] = set()
        self._known: dict[str, tuple[BookState, int]] = {t: (self.books[t].state, self.books[t].generation)
                                                         for t in self.tickers}
        self._hold_until = 0.0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        # Filled only while someone iterates messages(): with nobody reading, a queue of every
        # trade and ticker message would grow without bound.
        self._events: collections.deque[Any] = collections.deque(maxlen=self.config.events_max)
        self._events_wakeup: asyncio.Event | None = None
        self._event_readers = 0
        self._last_change_ns: dict[str, int] = {t: time.monotonic_ns() for t in self.tickers}
        self._quiet_reported: set[str] = set()
        self.read_listeners: list[Callable[[list[str]], Any]] = []
        self.state_listeners: list[Callable[[StateChange], Any]] = []
        self.message_listeners: list[Callable[[Any], Any]] = []
        self.tradable: dict[str, bool] = {t: True for t in self.tickers}
        self.shard_trading: dict[int, bool] = {}
        self.errors: list[FeedError] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.exchange_lag = Histogram("exchange_ts_ms_to_read")
        self._started_at = time.monotonic()
        self._sleep = asyncio.sleep            # replaced by a fake clock in tests

    # ------------------------------------------------------------------ life cycle

    async def __aenter__(self) -> Feed:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start connecting (in the background); see :meth:`wait_live`."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="centbook-feed")

    async def close(self) -> None:
        """Disconnect and stop reconnecting. Books become STALE."""
        self._stopping = True
        if self.transport is not None:
            self.transport.disconnect()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._mark_all(BookState.STALE)

    async def wait_live(self, tickers: Iterable[str] | None = None, timeout: float = 10.0) -> None:
        """Wait until every book in ``tickers`` (default: all) is LIVE.

        Raises
        ------
        TimeoutError
            Naming the books that are not LIVE, with their states.
        """
        wanted = list(tickers) if tickers is not None else self.tickers
        deadline = time.monotonic() + timeout
        while True:
            pending = [t for t in wanted if not self.books[t].is_live]
            if not pending:
                return
            if time.monotonic() > deadline:
                states = ", ".join(f"{t}={self.books[t].state.name}" for t in pending)
                raise TimeoutError(f"books not LIVE after {timeout:.1f}s: {states}")
            await asyncio.sleep(0.005)

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                await self._connect_once()
                attempt = 0
                await self._serve()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of one connection: reconnect
                log.warning("feed connection failed: %s", exc)
                self.counts["connect_failures"] += 1
            finally:
                self._connected.clear()
                self._on_connection_lost()
            if self._stopping:
                break
            delay = backoff_delay(attempt, self.config.backoff_start_s, self.config.backoff_cap_s, self._rng)
            attempt += 1
            self.counts["reconnects"] += 1
            log.info("feed reconnecting in %.3fs (attempt %d)", delay, attempt)
            await self._sleep(delay)

    async def _connect_once(self) -> None:
        path = urlsplit(self.url).path or WS_PATH
        headers = self.credentials.headers("GET", path) if self.credentials is not None else {}
        cfg = self.config
        self.transport, _ = await picows.ws_connect(
            lambda: self.listener, self.url, extra_headers=headers,
            websocket_handshake_timeout=cfg.handshake_timeout_s,
            enable_auto_ping=cfg.ping_idle_s > 0, auto_ping_idle_timeout=max(cfg.ping_idle_s, 0.01),
            auto_ping_reply_timeout=cfg.ping_reply_s, enable_auto_pong=False)
        self.counts["connections"] += 1
        self._connected.set()
        await self._subscribe_all()

    async def _serve(self) -> None:
        """Watch one live connection until it ends: heartbeat, snapshot deadlines, exchange status."""
        transport = self.transport
        poll_at = 0.0
        while not transport.is_disconnected:
            now = time.monotonic()
            cfg = self.config
            if cfg.heartbeat_timeout_s > 0:
                quiet_ns = time.monotonic_ns() - max(self.listener.last_ping_ns, self.listener.last_recv_ns)
                if quiet_ns > cfg.heartbeat_timeout_s * 1e9:
                    log.warning("no heartbeat or data for %.1fs: dropping the connection", quiet_ns / 1e9)
                    self.counts["heartbeat_timeouts"] += 1
                    transport.disconnect()
                    break
            for ticker, deadline in list(self._snapshot_deadline.items()):
                if now > deadline:
                    await self._recreate_subscription_of(ticker)
            for ticker, deadline in list(self._waiting_grid.items()):
                if now > deadline:
                    # the new grid never came: ask for a snapshot on the grid we have
                    del self._waiting_grid[ticker]
                    await self._request_snapshots([ticker])
            if cfg.quiet_alert_s > 0:
                self._report_quiet(cfg.quiet_alert_s)
            if self.rest is not None and cfg.status_poll_s > 0 and now >= poll_at:
                poll_at = now + cfg.status_poll_s
                asyncio.get_running_loop().create_task(self._poll_exchange_status())
            await asyncio.sleep(min(0.05, cfg.snapshot_timeout_s / 4))

    # ------------------------------------------------------------------ commands

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    async def _send(self, payload: bytes, command_id: int, *, wait: bool = True) -> Any:
        hold = self._hold_until - time.monotonic()
        if hold > 0:
            await asyncio.sleep(hold)
        if self.transport is None or self.transport.is_disconnected:
            raise ConnectionError("not connected")
        if not wait:
            # the reply (subscribed/ok/error) is handled by its id without anyone awaiting it
            self.transport.send(picows.WSMsgType.TEXT, payload)
            self.counts["commands"] += 1
            return None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[command_id] = future
        self.transport.send(picows.WSMsgType.TEXT, payload)
        self.counts["commands"] += 1
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.config.command_timeout_s)
        finally:
            if future.done():
                self._replies.pop(command_id, None)

    async def _subscribe_all(self) -> None:
        self._subs.clear()
        self._pending_subs.clear()
        self._snapshot_deadline.clear()
        for ticker in self.tickers:
            self._set_state(ticker, BookState.SYNCING)
        n = max(1, self.config.markets_per_subscription)
        for i in range(0, len(self.tickers), n):
            await self._subscribe_books(self.tickers[i:i + n])
        if self.channels:
            command_id = self._next_id()
            for channel in self.channels:
                self._pending_subs[(command_id, channel)] = []
            tickers = self.tickers if any(c in ("ticker", "trade", "fill", "user_orders", "market_positions")
                                          for c in self.channels) else None
            payload = commands.subscribe(command_id, list(self.channels), market_tickers=tickers)
            await self._send(payload, command_id, wait=False)

    async def _subscribe_books(self, tickers: list[str], wait: bool = False) -> None:
        command_id = self._next_id()
        self._pending_subs[(command_id, BOOK_CHANNEL)] = list(tickers)
        payload = commands.subscribe(command_id, [BOOK_CHANNEL], market_tickers=tickers,
                                     use_yes_price=self.config.use_yes_price)
        await self._send(payload, command_id, wait=wait)

    async def _request_snapshots(self, tickers: list[str]) -> None:
        by_sid: dict[int, list[str]] = defaultdict(list)
        for ticker in tickers:
            sid = self._sid_of(ticker)
            if sid is not None:
                by_sid[sid].append(ticker)
        for sid, group in by_sid.items():
            command_id = self._next_id()
            deadline = time.monotonic() + self.config.snapshot_timeout_s
            for ticker in group:
                self._snapshot_deadline[ticker] = deadline
            self.counts["snapshot_requests"] += 1
            try:
                await self._send(commands.get_snapshot(command_id, sid, group), command_id, wait=False)
            except ConnectionError:
                return

    async def _recreate_subscription_of(self, ticker: str) -> None:
        """The snapshot did not come: unsubscribe the market's sid and subscribe its markets anew."""
        sid = self._sid_of(ticker)
        self.counts["resubscribes"] += 1
        if sid is None:
            self._snapshot_deadline.pop(ticker, None)
            return
        sub = self._subs.pop(sid)
        for t in sub.tickers:
            self._snapshot_deadline.pop(t, None)
            self._set_state(t, BookState.SYNCING)
        self.books.forget_subscription(sid)
        try:
            command_id = self._next_id()
            await self._send(commands.unsubscribe(command_id, [sid]), command_id, wait=False)
            await self._subscribe_books(sub.tickers)
        except ConnectionError:
            pass

    def _sid_of(self, ticker: str) -> int | None:
        for sid, sub in self._subs.items():
            if sub.channel == BOOK_CHANNEL and ticker in sub.tickers:
                return sid
        return None

    # ------------------------------------------------------------------ callbacks (inside picows)

    def _on_read(self, tickers: list[str], read_start_ns: int) -> None:
        books = self.books
        ts_ms = books.last_ts_ms
        if ts_ms is not None:
            self.exchange_lag.record(time.time_ns() - ts_ms * 1_000_000)
        suspects = []
        last_change = self._last_change_ns
        for ticker in tickers:
            last_change[ticker] = read_start_ns
            book = books[ticker]
            if book.is_live:
                self._snapshot_deadline.pop(ticker, None)
                if book.is_crossed:
                    if ticker in self._crossed:       # crossed past one read: resync
                        self._crossed.discard(ticker)
                        suspects.append(ticker)
                    else:
                        self._crossed.add(ticker)
                else:
                    self._crossed.discard(ticker)
            elif book.state is BookState.FAULTED and ticker not in self._snapshot_deadline:
                suspects.append(ticker)
        resync = books.take_resync() if books.resync_pending else []
        self._check_states(tickers)
        if resync:
            self.counts["gap_resyncs"] += 1
            self._check_states(resync)
        todo = [t for t in dict.fromkeys(resync + suspects) if t not in self._waiting_grid]
        off_grid = [t for t in todo
                    if books[t].last_fault == "off_grid" and books[t].state is BookState.FAULTED]
        for ticker in off_grid:
            self._await_grid(ticker)
        todo = [t for t in todo if t not in off_grid]
        if todo:
            self.counts["resyncs"] += len(todo)
            asyncio.get_running_loop().create_task(self._request_snapshots(todo))
        for listener in self.read_listeners:
            listener(tickers)

    def _await_grid(self, ticker: str) -> None:
        """An off-grid price: the market's grid changed. Get the new grid, then a snapshot."""
        self._waiting_grid[ticker] = time.monotonic() + self.config.snapshot_timeout_s
        self.counts["off_grid"] += 1
        if self.rest is not None:
            asyncio.get_running_loop().create_task(self._fetch_grid(ticker))

    async def _fetch_grid(self, ticker: str) -> None:
        try:
            market = await self.rest.get_market(ticker)
            grid = market.grid() if hasattr(market, "grid") else PriceGrid.from_ranges(market["price_ranges"])
        except Exception as exc:  # noqa: BLE001 - the lifecycle event or the timeout still resyncs
            log.warning("%s: could not fetch the new grid: %s", ticker, exc)
            return
        self._regrid(ticker, grid)

    def _regrid(self, ticker: str, grid: PriceGrid) -> None:
        book = self.books[ticker]
        if book.grid is not grid:
            try:
                book.regrid(grid)
            except ValueError as exc:
                log.info("%s: %s", ticker, exc)
            self.counts["regrids"] += 1
        self._waiting_grid.pop(ticker, None)
        self._check_states([ticker])
        asyncio.get_running_loop().create_task(self._request_snapshots([ticker]))

    def _on_message(self, kind: int, payload: bytes) -> None:
        if kind == FrameKind.INVALID:
            self.counts["decode_errors"] += 1
            log.warning("refused frame: %s", self.books.last_error)
            return
        try:
            message = decode(payload)
        except Exception as exc:  # noqa: BLE001 - counted and logged, never a crash
            self.counts["typed_decode_errors"] += 1
            log.warning("could not decode %r: %s", payload[:120], exc)
            return
        if isinstance(message, Subscribed):
            self._on_subscribed(message)
        elif isinstance(message, Ok):
            self._on_ok(message)
        elif isinstance(message, Unsubscribed):
            self._resolve(message.id, message)
        elif isinstance(message, Error):
            self._on_error(message)
        elif isinstance(message, MarketLifecycleV2 | MultivariateMarketLifecycle):
            self._on_lifecycle(message)
        if kind == FrameKind.UNKNOWN:
            self.counts["unknown_types"] += 1
        self._emit(message)

    def _emit(self, message: Any) -> None:
        """Hand a typed event to the listeners and, while someone iterates it, to messages()."""
        if self._event_readers:
            events = self._events
            if len(events) == events.maxlen:
                self.counts["events_dropped"] += 1
                if self.counts["events_dropped"] == 1 or self.counts["events_dropped"] % 10_000 == 0:
                    log.warning("messages() reader is %d events behind: dropped %d oldest so far",
                                len(events), self.counts["events_dropped"])
            events.append(message)
            if self._events_wakeup is not None:
                self._events_wakeup.set()
        for listener in self.message_listeners:
            listener(message)

    def _report_quiet(self, alert_s: float) -> None:
        now_ns = time.monotonic_ns()
        limit_ns = int(alert_s * 1e9)
        for ticker, last_ns in self._last_change_ns.items():
            if now_ns - last_ns < limit_ns or not self.books[ticker].is_live:
                self._quiet_reported.discard(ticker)
            elif ticker not in self._quiet_reported:
                self._quiet_reported.add(ticker)
                self.counts["quiet_alerts"] += 1
                self._emit(MarketQuiet(ticker, (now_ns - last_ns) / 1e9))

    def _on_subscribed(self, message: Subscribed) -> None:
        channel, sid = message.msg.channel, message.msg.sid
        tickers = self._pending_subs.pop((message.id or 0, channel), None)
        if tickers is None:
            log.warning("unexpected subscribed reply: %s", message)
            return
        self._subs[sid] = _Subscription(sid, channel, tickers)
        if channel == BOOK_CHANNEL:
            self.books.register_subscription(sid, use_yes_price=self.config.use_yes_price)
        if not any(key[0] == message.id for key in self._pending_subs):
            self._resolve(message.id, message)

    def _on_ok(self, message: Ok) -> None:
        # Subscribing again to a channel the connection already has adds the markets to that
        # subscription (Kalshi's idempotent subscribe): the reply is `ok` with the existing sid.
        for key in [k for k in self._pending_subs if k[0] == message.id]:
            tickers = self._pending_subs.pop(key)
            sub = self._subs.get(message.sid) if message.sid is not None else None
            if sub is not None and sub.channel == key[1]:
                sub.tickers.extend(t for t in tickers if t not in sub.tickers)
        self._resolve(message.id, message)

    def _resolve(self, command_id: int | None, message: Any) -> None:
        future = self._replies.pop(command_id, None) if command_id else None
        if future is not None and not future.done():
            future.set_result(message)

    def _on_error(self, message: Error) -> None:
        code, text = message.msg.code, message.msg.msg
        error = FeedError(code, text, message.id, message.sid)
        self.errors.append(error)
        self.counts[f"error_{code}"] += 1
        log.warning("%s", error)
        if code in LIMIT_ERRORS:
            self._hold_until = time.monotonic() + self.config.limit_backoff_s
        future = self._replies.pop(message.id, None) if message.id else None
        if future is not None and not future.done():
            future.set_exception(error)
        for key in [k for k in self._pending_subs if k[0] == message.id]:
            tickers = self._pending_subs.pop(key)
            for ticker in tickers:
                self._set_state(ticker, BookState.STALE)
        if code in TERMINAL_ERRORS and message.sid is not None and message.sid in self._subs:
            sub = self._subs.pop(message.sid)
            self.counts["terminal_errors"] += 1
            if sub.channel == BOOK_CHANNEL:
                self.books.forget_subscription(sub.sid)
                for ticker in sub.tickers:
                    self._snapshot_deadline.pop(ticker, None)
                    self._set_state(ticker, BookState.STALE)
                asyncio.get_running_loop().create_task(self._resubscribe_books(sub.tickers))
            else:
                asyncio.get_running_loop().create_task(self._resubscribe_channel(sub.channel))

    async def _resubscribe_books(self, tickers: list[str]) -> None:
        for ticker in tickers:
            self._set_state(ticker, BookState.SYNCING)
        try:
            await self._subscribe_books(tickers)
        except ConnectionError:
            pass

    async def _resubscribe_channel(self, channel: str) -> None:
        command_id = self._next_id()
        self._pending_subs[(command_id, channel)] = []
        try:
            await self._send(commands.subscribe(command_id, [channel]), command_id, wait=False)
        except ConnectionError:
            pass

    def _on_lifecycle(self, message: MarketLifecycleV2 | MultivariateMarketLifecycle) -> None:
        body = message.msg
        ticker = body.market_ticker
        if ticker not in self.books:
            return
        event = body.event_type
        if event == "price_level_structure_updated":
            grid = body.grid()
            if grid is not None:
                self._regrid(ticker, grid)
        elif event == "deactivated" or (event == "activated" and body.is_deactivated):
            self.tradable[ticker] = False
        elif event == "activated":
            self.tradable[ticker] = True
        elif event in ("determined", "settled"):
            self.tradable[ticker] = False

    def _on_disconnected(self, transport: Any) -> None:
        self.counts["disconnects"] += 1

    def _on_connection_lost(self) -> None:
        for sid in list(self._subs):
            self.books.forget_subscription(sid)
        self._subs.clear()
        self._pending_subs.clear()
        self._snapshot_deadline.clear()
        for future in self._replies.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
        self._replies.clear()
        self._mark_all(BookState.STALE)

    # ------------------------------------------------------------------ states

    def _mark_all(self, state: BookState) -> None:
        for ticker in self.tickers:
            self._set_state(ticker, state)

    def _set_state(self, ticker: str, state: BookState) -> None:
        book = self.books[ticker]
        try:
            book.set_state(state)
        except ValueError:
            pass  # e.g. a FAULTED book stays FAULTED until it is resynced
        self._check_states([ticker])

    def _check_states(self, tickers: Iterable[str]) -> None:
        for ticker in tickers:
            book = self.books[ticker]
            now = (book.state, book.generation)
            before = self._known.get(ticker)
            if before != now:
                self._known[ticker] = now
                change = StateChange(ticker, before[0] if before else BookState.EMPTY, now[0], now[1])
                self.counts[f"to_{now[0].name.lower()}"] += 1
                for listener in self.state_listeners:
                    listener(change)

    async def _poll_exchange_status(self) -> None:
        try:
            status = await self.rest.get_exchange_status()
        except Exception as exc:  # noqa: BLE001 - polling is best effort; books are unaffected
            log.info("exchange status poll failed: %s", exc)
            return
        for shard in getattr(status, "exchange_index_statuses", None) or []:
            self.shard_trading[shard.exchange_index] = bool(shard.exchange_active and shard.trading_active)

    # ------------------------------------------------------------------ reads

    def is_tradable(self, ticker: str) -> bool:
        """True unless the market is paused, closed or determined, or its shard is not trading.

        Separate from book validity: trade only when this and ``books[ticker].is_live`` hold.
        """
        shard = self.market_shards.get(ticker)
        shard_ok = True if shard is None else self.shard_trading.get(shard, True)
        return self.tradable.get(ticker, False) and shard_ok

    def quiet_s(self, ticker: str) -> float:
        """Seconds since the book of ``ticker`` last changed (or since the feed was made).

        A metric, not a staleness rule: illiquid markets are quiet and their books stay valid.
        """
        return (time.monotonic_ns() - self._last_change_ns[ticker]) / 1e9

    async def messages(self) -> AsyncIterator[Any]:
        """Every typed message that is not an orderbook frame, from the moment iteration starts.

        Messages that arrive while nobody iterates are not kept (listeners still get them); a
        reader more than ``FeedConfig.events_max`` messages behind loses the oldest, counted in
        ``counts["events_dropped"]``. Leaving an ``async for`` early keeps the reader counted
        until the generator is closed: use ``contextlib.aclosing(feed.messages())`` to stop
        cleanly.
        """
        if self._events_wakeup is None:
            self._events_wakeup = asyncio.Event()
        wakeup = self._events_wakeup
        self._event_readers += 1
        try:
            while True:
                while self._events:
                    yield self._events.popleft()
                wakeup.clear()
                await wakeup.wait()
        finally:
            self._event_readers -= 1

    def metrics(self) -> dict[str, Any]:
        """Counters, rates and latency summaries of this feed."""
        elapsed = max(time.monotonic() - self._started_at, 1e-9)
        listener = self.listener
        return {
            "frames": listener.frames, "book_frames": listener.book_frames, "bytes": listener.bytes_in,
            "reads": listener.reads, "messages_per_s": listener.frames / elapsed,
            "bytes_per_s": listener.bytes_in / elapsed, "gaps": self.books.gaps,
            "decode_errors": self.books.decode_errors, "counts": dict(self.counts),
            "read_to_book_applied": listener.apply_latency.summary(),
            "exchange_lag": self.exchange_lag.summary(),
            "quiet_s_max": max((self.quiet_s(t) for t in self.tickers), default=0.0),
        }

    def book(self, ticker: str) -> OrderBook:
        """The book of ``ticker``."""
        return self.books[ticker]
