"""The WebSocket feed: picows on uvloop, Kalshi frames decoded into books you can trust.

:class:`Feed` owns one WebSocket connection and the :class:`~centbook.books.Books` of the markets
it follows. Frames are decoded and applied inside picows' callback by
:class:`~centbook.feed.reader.BookListener`; :class:`Feed` is the connection and its life cycle,
and holds the parts that do the rest:

- :class:`~centbook.feed.subscriptions.Subscriptions`: the authenticated connection's
  subscriptions (``use_yes_price: true`` sent explicitly and registered with the books) and
  commands, replies matched by id; limits 26/27 hold commands back instead of retrying in a loop;
- :class:`~centbook.feed.validity.Validity`: book validity: a seq gap or duplicate, a fault, or a
  crossed book that persists past one read leads to a targeted ``get_snapshot`` (falling back to
  unsubscribe/resubscribe when the snapshot does not come in time); an off-grid price waits for
  the new grid (lifecycle event or a REST lookup) before the snapshot; terminal errors 10 and 25
  make the subscription's books STALE and resubscribe;
- :class:`~centbook.feed.tradability.Tradability`: lifecycle events and exchange status per
  shard, kept apart from book validity;
- :class:`~centbook.feed.events.Events`: every other message as a typed event, and quiet markets.

This module keeps the handshake (a fresh signature on every attempt) and liveness: client pings
(picows auto-ping) and Kalshi's 10 s heartbeat; a dead connection makes every book STALE, and
reconnects use capped exponential backoff with full jitter; books are LIVE again only after
fresh snapshots. It also holds :class:`FeedConfig`, :class:`FeedError` and the metrics.

The same code serves the embedded exchange, Kalshi's demo and production: only the URL and
the credentials differ.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import picows

from centbook.book import BookState, OrderBook
from centbook.books import Books, FrameKind
from centbook.feed.events import Events, MarketQuiet
from centbook.feed.reader import BookListener
from centbook.feed.subscriptions import BOOK_CHANNEL, Subscriptions
from centbook.feed.tradability import Tradability
from centbook.feed.validity import StateChange, Validity
from centbook.grid import PriceGrid
from centbook.metrics import Histogram
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

ENVIRONMENTS = WS_URLS  # an alias: the same URLs by environment
TERMINAL_ERRORS = frozenset({10, 17, 25})   # the subscription is dead: resubscribe (17: older spec)
LIMIT_ERRORS = frozenset({26, 27})          # market or command-rate limit: hold back, no loop
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


def backoff_delay(attempt: int, start_s: float, cap_s: float, rng: random.Random) -> float:
    """Reconnect delay for ``attempt`` (0-based): full jitter over a capped exponential."""
    return rng.uniform(0.0, min(cap_s, start_s * (2 ** min(attempt, 30))))


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

    Attributes
    ----------
    subscriptions : Subscriptions
        The connection's subscriptions and the command sender.
    validity : Validity
        Book states and resyncs.
    tradability : Tradability
        Market and shard tradability.
    events : Events
        Typed events, their listeners and :meth:`messages`.
    """

    def __init__(self, url: str, credentials: Any, markets: Iterable[str] | Mapping[str, PriceGrid], *,
                 channels: Iterable[str] = (), config: FeedConfig | None = None, rest: Any = None,
                 market_shards: Mapping[str, int] | None = None, seed: int | None = None) -> None:
        self.url = url
        self.credentials = credentials
        self.config = config or FeedConfig()
        self.channels = tuple(c for c in channels if c != BOOK_CHANNEL)
        self.books = Books(auto_create=False)
        grids = markets if isinstance(markets, Mapping) else {t: None for t in markets}
        self.tickers = list(grids)
        for ticker, grid in grids.items():
            self.books.add(ticker, grid)
        self.counts: dict[str, int] = defaultdict(int)
        self.listener = BookListener(self.books, on_read=self._on_read, on_message=self._on_message,
                                     on_disconnected=self._on_disconnected,
                                     sample_every=self.config.sample_every)
        self.subscriptions = Subscriptions(self.books, self.config, self.counts)
        self.events = Events(self.books, self.tickers, self.config.events_max, self.counts)
        self.validity = Validity(self.books, self.tickers, self.subscriptions, self.config, self.counts,
                                 self.events.last_change_ns, rest)
        self.tradability = Tradability(self.tickers, self.books, market_shards=market_shards, rest=rest,
                                       on_grid=self.validity.regrid)
        self._rng = random.Random(seed)
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.read_listeners: list[Callable[[list[str]], Any]] = []
        self.errors: list[FeedError] = []
        self.exchange_lag = Histogram("exchange_ts_ms_to_read")
        self._started_at = time.monotonic()
        self._sleep = asyncio.sleep            # replaced by a fake clock in tests

    # ------------------------------------------------------------------ the parts' state

    @property
    def transport(self) -> Any:
        """The current connection's picows transport (None before the first)."""
        return self.subscriptions.transport

    @transport.setter
    def transport(self, transport: Any) -> None:
        self.subscriptions.transport = transport

    @property
    def rest(self) -> Any:
        """The REST client grids and exchange status come from (None: none)."""
        return self.validity.rest

    @rest.setter
    def rest(self, rest: Any) -> None:
        self.validity.rest = self.tradability.rest = rest

    @property
    def state_listeners(self) -> list[Callable[[StateChange], Any]]:
        """``listener(change: StateChange)`` on every state or generation change of a book."""
        return self.validity.listeners

    @state_listeners.setter
    def state_listeners(self, listeners: list[Callable[[StateChange], Any]]) -> None:
        self.validity.listeners = listeners

    @property
    def message_listeners(self) -> list[Callable[[Any], Any]]:
        """``listener(message)`` for every typed message, whether or not anyone iterates."""
        return self.events.listeners

    @message_listeners.setter
    def message_listeners(self, listeners: list[Callable[[Any], Any]]) -> None:
        self.events.listeners = listeners

    @property
    def tradable(self) -> dict[str, bool]:
        """Per market, from its lifecycle events (:attr:`Tradability.tradable`)."""
        return self.tradability.tradable

    @tradable.setter
    def tradable(self, value: dict[str, bool]) -> None:
        self.tradability.tradable = value

    @property
    def shard_trading(self) -> dict[int, bool]:
        """Per exchange shard, from the last status poll (:attr:`Tradability.shard_trading`)."""
        return self.tradability.shard_trading

    @shard_trading.setter
    def shard_trading(self, value: dict[int, bool]) -> None:
        self.tradability.shard_trading = value

    @property
    def market_shards(self) -> dict[str, int]:
        """Each market's ``exchange_index`` (:attr:`Tradability.market_shards`)."""
        return self.tradability.market_shards

    @market_shards.setter
    def market_shards(self, value: dict[str, int]) -> None:
        self.tradability.market_shards = value

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
        self.validity.mark_all(BookState.STALE)

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
            await self.validity.check_deadlines(now)
            if cfg.quiet_alert_s > 0:
                self.events.report_quiet(cfg.quiet_alert_s)
            if self.rest is not None and cfg.status_poll_s > 0 and now >= poll_at:
                poll_at = now + cfg.status_poll_s
                asyncio.get_running_loop().create_task(self.tradability.poll_exchange_status())
            await asyncio.sleep(min(0.05, cfg.snapshot_timeout_s / 4))

    async def _subscribe_all(self) -> None:
        subscriptions = self.subscriptions
        subscriptions.clear()
        self.validity.snapshot_deadline.clear()
        self.validity.mark_all(BookState.SYNCING)
        n = max(1, self.config.markets_per_subscription)
        for i in range(0, len(self.tickers), n):
            await subscriptions.subscribe_books(self.tickers[i:i + n])
        if self.channels:
            await subscriptions.subscribe_channels(self.channels, self.tickers)

    def _on_connection_lost(self) -> None:
        self.subscriptions.connection_lost()
        self.validity.snapshot_deadline.clear()
        self.validity.mark_all(BookState.STALE)

    # ------------------------------------------------------------------ callbacks (inside picows)

    def _on_read(self, tickers: list[str], read_start_ns: int) -> None:
        ts_ms = self.books.last_ts_ms
        if ts_ms is not None:
            self.exchange_lag.record(time.time_ns() - ts_ms * 1_000_000)
        self.validity.after_read(tickers, read_start_ns)
        for listener in self.read_listeners:
            listener(tickers)

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
            self.subscriptions.on_subscribed(message)
        elif isinstance(message, Ok):
            self.subscriptions.on_ok(message)
        elif isinstance(message, Unsubscribed):
            self.subscriptions.resolve(message.id, message)
        elif isinstance(message, Error):
            self._on_error(message)
        elif isinstance(message, MarketLifecycleV2 | MultivariateMarketLifecycle):
            self.tradability.on_lifecycle(message)
        if kind == FrameKind.UNKNOWN:
            self.counts["unknown_types"] += 1
        self.events.emit(message)

    def _on_error(self, message: Error) -> None:
        code, text = message.msg.code, message.msg.msg
        error = FeedError(code, text, message.id, message.sid)
        self.errors.append(error)
        self.counts[f"error_{code}"] += 1
        log.warning("%s", error)
        subscriptions = self.subscriptions
        if code in LIMIT_ERRORS:
            subscriptions.hold(self.config.limit_backoff_s)
        for ticker in subscriptions.fail(message.id, error):
            self.validity.set_state(ticker, BookState.STALE)
        if code in TERMINAL_ERRORS and message.sid is not None and message.sid in subscriptions.by_sid:
            sub = subscriptions.pop(message.sid)
            self.counts["terminal_errors"] += 1
            self.validity.on_terminal(sub)

    def _on_disconnected(self, transport: Any) -> None:
        self.counts["disconnects"] += 1

    # ------------------------------------------------------------------ reads

    def is_tradable(self, ticker: str) -> bool:
        """True unless the market is paused, closed or determined, or its shard is not trading.

        Separate from book validity: trade only when this and ``books[ticker].is_live`` hold.
        """
        return self.tradability.is_tradable(ticker)

    def quiet_s(self, ticker: str) -> float:
        """Seconds since the book of ``ticker`` last changed (or since the feed was made).

        A metric, not a staleness rule: illiquid markets are quiet and their books stay valid.
        """
        return self.events.quiet_s(ticker)

    def messages(self) -> AsyncIterator[Any]:
        """Every typed message that is not an orderbook frame, from the moment iteration starts.

        Messages that arrive while nobody iterates are not kept (listeners still get them); a
        reader more than ``FeedConfig.events_max`` messages behind loses the oldest, counted in
        ``counts["events_dropped"]``. Leaving an ``async for`` early keeps the reader counted
        until the generator is closed: use ``contextlib.aclosing(feed.messages())`` to stop
        cleanly.
        """
        return self.events.messages()

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
