"""The market maker: start-up over REST, quoting on every socket read, an order manager, risk.

Flow of one decision: the feed's read listener (inside picows' callback, synchronous) gets the
changed tickers; for each quoted market the strategy computes bid/ask targets from the book in
memory (never REST); each quote slot (market, side) has at most one in-flight write, run by a
task that walks the slot to its target: cancel first, then create. Priorities (cancels before
creates) are the REST client's budget queue's. Requotes are decided and written in compiled code
at the end of the socket read, before any Python (:mod:`centbook.mm.quoter`: the amend, or with
``requote = "cancel_create"`` the cancel, whose create the slot's task writes once the cancel is
answered; the slots are armed by :meth:`MarketMaker._rearm` and disarmed by whatever moves our
orders or position); an amend
the compiled path leaves to Python that can go at once (idle order-lane connection, pre-made
signature, tokens with nobody queued: :meth:`RestClient.start_amend`) is written by the read
callback itself. Either way the slot's task only awaits the answer; every other write starts in
the task, run at once up to its first suspension (:func:`eager_task`). Decisions
that order updates (``user_orders``) call for wait for the end of the socket read, so the
read's book-driven decisions go first and a market is decided once per read.

Order states: PENDING (create in flight) -> RESTING -> CANCELING -> DONE, or UNKNOWN when a write's
outcome is unknown (resolved from ``user_orders`` first, REST second).

Requoting (``requote`` in the configuration): ``cancel_create`` cancels the resting order, then
creates the new one (two round trips, cancel 2 + create 10 tokens); ``amend`` moves it in place
(``POST .../orders/{id}/amend``: one round trip, 10 tokens; an amend can cross, so a target that
would cross the book is placed by cancel + create, where post-only protects it). ``auto`` follows
the measured choice: amend (benchmarks/bench_mm.py measures both on pre-signed paths; the README's
market-maker section has the figures).

Latency per decision (monotonic ns): first frame of the socket read -> books applied (the read
listener is called) -> decision -> request bytes handed to the transport (the "written" hook:
:mod:`centbook.mm.stamp`: the order lane's ``on_written``, or an aiohttp request class) ->
response. The exchange's side: ``exchange_to_written`` is the ``ts_ms`` of the read's last book
frame (any market's; none when that frame was a snapshot; the exchange's clock, whole ms) to the
wall-clock time of the write, so it also holds the clock difference between the exchange and
this host (zero on the sim); an exchange clock ahead of ours counts as 0. ``tick_to_trade`` is read ->
written, also split by whether the write's signature was made ahead of use
(``tick_to_trade_presigned``) or on demand (``tick_to_trade_signed``). These time decisions that
found their slot idle, and include the client's rate budget; a decision made while the slot's
previous write was in flight waits for it (at most one write per slot) and is timed apart
(``tick_to_trade_queued``). A write released by the minimum quote life is not timed.
``tick_to_first_write`` (and its pre-signed part) counts only the first write each socket read
starts (marked when the write is armed: a write that then waits for the budget stays the first):
when a tick moves both quotes, the second write waits for the first (one thread), and every
write is in ``tick_to_trade``.

Usage::

    async with MarketMaker(config, rest_url, ws_url, credentials) as mm:
        await mm.run(duration_s=60)
    print(mm.summary())
"""
from __future__ import annotations

import asyncio
import enum
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from centbook.book import BookState
from centbook.feed.connection import Feed, FeedConfig, StateChange
from centbook.grid import PriceGrid
from centbook.metrics import Histogram
from centbook.mm.config import MMConfig
from centbook.mm.ledger import Ledger
from centbook.mm.quoter import ArmedAmend, Quoter
from centbook.mm.stamp import (
    PresignTracker,
    WriteStamp,
    current_stamp,
    eager_task,
    make_session,
    stamp_written,
)
from centbook.mm.strategy import Microprice, Quote, Strategy, _top
from centbook.protocol.errors import OutcomeUnknownError, RejectedError
from centbook.protocol.messages import Fill, MarketLifecycleV2, MarketPosition, OrderGroupUpdates, UserOrder
from centbook.rest.client import RestClient, StartedWrite

__all__ = ["OrderState", "LiveOrder", "Slot", "MarketMaker"]

log = logging.getLogger(__name__)

CHANNELS = ["fill", "user_orders", "market_positions", "order_group_updates", "market_lifecycle_v2"]
_DONE_STATUSES = {"canceled", "executed", "expired"}
_ORDERS = "/portfolio/events/orders"
AMEND_PRESIGN_DEPTH = 6  # pre-made signatures kept per resting order's amend path


class OrderState(enum.Enum):
    """Per-order state of the order manager."""

    PENDING = "pending"
    RESTING = "resting"
    CANCELING = "canceling"
    UNKNOWN = "unknown"
    DONE = "done"


# states in which an order of ours may rest on the book (its size is left out of the fair value)
_RESTING_STATES = frozenset((OrderState.RESTING, OrderState.CANCELING, OrderState.PENDING))


@dataclass
class LiveOrder:
    """One of our orders (size = remaining, hundredths)."""

    ticker: str
    side: str
    price_bp: int
    size: int
    client_order_id: str
    order_id: str = ""
    state: OrderState = OrderState.PENDING
    placed_at: float = 0.0
    filled: int = 0
    shard: int = 0
    unknown: OutcomeUnknownError | None = None


@dataclass
class Slot:
    """A quote slot: one side of one market; at most one write in flight."""

    ticker: str
    side: str
    live: LiveOrder | None = None
    target: Quote | None = None
    busy: bool = False
    read_ns: int = 0
    applied_ns: int = 0
    decided_ns: int = 0
    queued: bool = False  # the decision found the slot's previous write in flight
    exchange_ts_ms: int = 0  # ts_ms of the read's last book delta (0: none)
    requote_ns: int = 0  # a cancel + create requote: when the cancel was written
    writes: int = 0
    stamp: WriteStamp = field(default_factory=WriteStamp)
    sent_target: Quote | None = None  # the quote the amend in flight asks for
    armed: ArmedAmend | None = None   # armed for the compiled amend path (centbook.mm.quoter)
    arm_key: tuple[Any, ...] = ()      # the order manager's state it was armed for


class _SentAmend(NamedTuple):
    """An amend the read callback already wrote (:meth:`MarketMaker._amend_now`, or the compiled
    path: :meth:`MarketMaker._took_over`), or with ``cancel`` the compiled path's cancel that
    starts a cancel + create (``old`` and ``count`` are then unused)."""

    write: StartedWrite
    stamp: WriteStamp
    order: LiveOrder
    quote: Quote
    old: tuple[int, int]  # the order's (price_bp, size) before it
    count: int            # the total sent (filled + resting)
    cancel: bool = False


@dataclass
class MarketInfo:
    """Metadata read at start-up."""

    ticker: str
    grid: PriceGrid
    shard: int
    close_time_ns: int | None
    floor_bp: int | None = None  # settlement floor: every YES price must be above it
    start_position: int = 0
    fair: float | None = None
    drift: int = 0
    ws_position: int | None = None  # last market_positions value (hundredths)
    ws_mismatch_since: float | None = None  # monotonic s since when it disagrees with the ledger
    ws_backfilled: bool = False  # fills were backfilled over REST during this disagreement
    slots: tuple[Slot, ...] = ()  # (bid, ask) quote slots


class _Latency:
    """Histograms per decision stage (ns); see the module docstring. One per annotation below."""

    read_to_applied: Histogram
    applied_to_decision: Histogram
    decision_to_written: Histogram
    written_to_response: Histogram
    exchange_to_written: Histogram
    tick_to_trade: Histogram
    tick_to_trade_presigned: Histogram
    tick_to_trade_signed: Histogram
    tick_to_trade_queued: Histogram
    tick_to_first_write: Histogram
    tick_to_first_write_presigned: Histogram
    requote_amend: Histogram
    requote_cancel_create: Histogram

    def __init__(self) -> None:
        for name in LATENCIES:
            setattr(self, name, Histogram(name))

    def summaries(self) -> dict[str, dict[str, Any]]:
        """Every histogram's summary by name."""
        return {name: getattr(self, name).summary() for name in LATENCIES}


#: The histograms' names, in the order the summary prints them.
LATENCIES = tuple(_Latency.__annotations__)


class MarketMaker:
    """Quote a set of markets on Kalshi (or the sim) with limits, reconciliation and a kill switch.

    Parameters
    ----------
    config : MMConfig
    rest_url, ws_url : str
        ``.../trade-api/v2`` and the WebSocket URL.
    credentials : centbook.Credentials
    feed_config : FeedConfig, optional

    Notes
    -----
    Construct it inside a running event loop: its aiohttp session (with the "written" hook,
    :mod:`centbook.mm.stamp`) is made here and handed to the REST client.
    """

    def __init__(self, config: MMConfig, rest_url: str, ws_url: str, credentials: Any,
                 feed_config: FeedConfig | None = None) -> None:
        config.validate()
        self.config = config
        self.credentials = credentials
        self.sub = config.subaccount
        self.prefix = f"{config.client_order_id_root}{int(time.time()) % 100000:05d}"
        presign = config.presign if config.presign is not None else config.env == "sim"
        self.amend = config.uses_amend()
        self._session = make_session(10.0)
        n_slots = 2 * len(config.markets)
        self.rest = RestClient(rest_url, credentials, client_order_id_prefix=self.prefix, timeout_s=10.0,
                               session=self._session, presign=presign, presign_orders=max(16, 3 * n_slots),
                               presign_depth=max(8, n_slots),
                               presign_order_paths=("cancel", "amend") if self.amend else ("cancel",),
                               order_lane=config.order_lane, order_lane_connections=max(2, 2 * n_slots))
        if self.rest.lane is not None:
            self.rest.lane.on_written = stamp_written
        self.presign_tracker = PresignTracker(self.rest.pool)
        self.ws_url = ws_url
        self.feed_config = feed_config or FeedConfig(status_poll_s=2.0)
        self.feed: Feed | None = None
        self.strategy = Strategy(config.strategy)
        self.ledger = Ledger()
        self.markets: dict[str, MarketInfo] = {}
        self.slots: dict[tuple[str, str], Slot] = {}
        self.orders: dict[str, LiveOrder] = {}  # order_id -> order (every order of this session)
        self.groups: dict[int, str] = {}  # shard -> order group id
        self.halted: str | None = None
        self.latency = _Latency()
        # amends_now / amends_compiled / cancels_compiled: writes the read callback wrote itself
        # (Python / compiled code), counted when written ("amends", "cancels": answered)
        self.counts = {"creates": 0, "cancels": 0, "amends": 0, "amends_now": 0, "amends_compiled": 0,
                       "cancels_compiled": 0,
                       "rejects": 0, "unknown": 0, "resolved": 0,
                       "swept": 0, "reconciles": 0, "pulls": 0, "fills": 0, "reconnects_seen": 0,
                       "group_triggers": 0}
        self.tokens = {"create": 0, "cancel": 0, "amend": 0}  # write tokens spent (client's costs)
        self.events: list[str] = []
        self.started_wall = time.time()
        self.started = time.monotonic()
        # wall clock - monotonic clock: a written stamp (monotonic) as Unix ns, re-read in
        # housekeeping so that a clock step shows within a round
        self._wall_offset_ns = time.time_ns() - time.monotonic_ns()
        self._first_armed_read = 0  # read_ns of the last read whose first write was armed
        self._soon: dict[str, None] = {}  # markets to decide at the end of this read (in order)
        self.quoter: Quoter | None = None  # the compiled requote path, when it applies (start())
        self._soon_handle: asyncio.Handle | None = None
        self.balance: dict[int, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._reconnects = 0
        self.left_resting = -1

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> MarketMaker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def log(self, text: str) -> None:
        """Record an event (shown by the status line and the summary)."""
        self.events.append(f"{time.monotonic() - self.started:7.2f}s {text}")

    async def start(self) -> None:
        """REST start-up (status, balances, positions, metadata, sweep, order groups), then the feed."""
        await self.rest.open()
        status = await self.rest.get_exchange_status()
        self.log(f"exchange status: trading_active={getattr(status, 'trading_active', '?')}")
        balance = await self.rest.get_balance(subaccount=self.sub)
        self.balance = dict(balance.by_exchange_index or {0: balance.balance_micro})
        for ticker in self.config.markets:
            m = await self.rest.get_market(ticker)
            self.rest.remember_market(m)
            self.markets[ticker] = MarketInfo(ticker, PriceGrid.from_ranges(m.price_ranges),
                                              m.exchange_index, m.close_time_ns,
                                              m.settlement_floor_bp)
            for side in ("bid", "ask"):
                self.slots[(ticker, side)] = Slot(ticker, side, stamp=WriteStamp(self.presign_tracker))
            self.markets[ticker].slots = (self.slots[(ticker, "bid")], self.slots[(ticker, "ask")])
        async for p in self.rest.get_positions(subaccount=self.sub):
            if p.ticker in self.markets:
                self.markets[p.ticker].start_position = p.position
        await self.sweep()
        for shard in sorted({m.shard for m in self.markets.values()}):
            self.groups[shard] = await self.rest.create_order_group(
                self.config.risk.group_contracts_limit, subaccount=self.sub, exchange_index=shard)
        self.log(f"order groups {self.groups}")
        grids = {t: m.grid for t, m in self.markets.items()}
        shards = {t: m.shard for t, m in self.markets.items()}
        self.feed = Feed(self.ws_url, self.credentials, grids, channels=CHANNELS,
                         config=self.feed_config, rest=self.rest, market_shards=shards)
        self.feed.read_listeners.append(self._on_read)
        self.feed.state_listeners.append(self._on_state)
        self.feed.message_listeners.append(self._on_message)
        if (self.config.compiled_amend and self.rest.lane is not None and self.rest.presign
                and type(self.strategy) is Strategy and type(self.strategy.fair_model) is Microprice):
            self.quoter = Quoter(self._on_fired)
            self.feed.listener.hook = self.quoter
        await self.feed.__aenter__()
        self._spawn(self._housekeeping())

    async def sweep(self) -> int:
        """Cancel resting orders of earlier sessions (by client_order_id root or order group)."""
        groups = set()
        try:
            groups = {g.order_group_id for g in await self.rest.get_order_groups(subaccount=self.sub)}
        except Exception:  # noqa: BLE001 - groups are a second criterion only
            pass
        n = 0
        async for o in self.rest.get_orders(status="resting", subaccount=self.sub):
            if o.client_order_id.startswith(self.config.client_order_id_root) or o.order_group_id in groups:
                try:
                    await self.rest.cancel_order(o.order_id, ticker=o.ticker, exchange_index=o.exchange_index,
                                                 subaccount=self.sub)
                    n += 1
                except RejectedError:
                    pass
        self.counts["swept"] = n
        self.log(f"swept {n} leftover orders")
        return n

    async def run(self, duration_s: float = 0.0, stop: asyncio.Event | None = None) -> None:
        """Quote until ``duration_s`` passes (0 = forever) or ``stop`` is set."""
        assert self.feed is not None
        await self.feed.wait_live(timeout=30)
        self.log("books live: quoting")
        for ticker in self.markets:
            self._decide(ticker, 0)
        stop = stop or asyncio.Event()
        try:
            await asyncio.wait_for(stop.wait(), duration_s if duration_s > 0 else None)
        except TimeoutError:
            pass

    async def close(self) -> None:
        """Cancel everything (kill switch), verify nothing rests, close the feed and the client."""
        self._stopping = True
        for slot in self.slots.values():
            self._disarm(slot)
        try:
            if self.groups:
                self.left_resting = await self.kill_switch("shutdown" if self.halted is None else self.halted)
        finally:
            for t in list(self._tasks):
                t.cancel()
            if self.feed is not None:
                await self.feed.__aexit__(None, None, None)
            await self.rest.close()
            await self._session.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _spawn_now(self, coro: Any) -> None:
        """Run ``coro`` at once up to its first suspension (the write), then as a task."""
        task = eager_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ signal
    def _quotable(self, ticker: str) -> bool:
        feed = self.feed
        if self.halted or self._stopping or feed is None:
            return False
        if not (feed.books[ticker].is_live and feed.is_tradable(ticker)):
            return False
        close = self.markets[ticker].close_time_ns
        if close and time.time_ns() >= close - int(self.config.strategy.stop_before_close_s * 1e9):
            return False
        return True

    def _own(self, ticker: str) -> dict[int, int]:
        own: dict[int, int] = {}
        for slot in self.markets[ticker].slots:
            live = slot.live
            if live is not None and live.order_id and live.state in _RESTING_STATES:
                own[live.price_bp] = own.get(live.price_bp, 0) + live.size
        return own

    def _on_read(self, tickers: list[str]) -> None:
        applied_ns = time.monotonic_ns()  # every frame of the read is in the books by now
        feed = self.feed
        read_ns = feed.listener.last_recv_ns if feed is not None else applied_ns
        ts_ms = (feed.books.last_ts_ms or 0) if feed is not None else 0
        markets = self.markets
        for ticker in tickers:
            if ticker in markets:
                self._decide(ticker, read_ns, applied_ns, ts_ms)
        if self._soon:
            self._decide_soon_now(tickers)

    def _decide_soon(self, ticker: str) -> None:
        """Decide ``ticker`` at the end of this socket read (after its timed, book-driven
        decisions; once, however many order updates the read held), or on the next loop turn
        when no book changed in the read."""
        self._soon[ticker] = None
        if self._soon_handle is None:
            self._soon_handle = asyncio.get_running_loop().call_soon(self._decide_soon_now, ())

    def _decide_soon_now(self, decided: Any) -> None:
        if self._soon_handle is not None:
            self._soon_handle.cancel()
            self._soon_handle = None
        soon, self._soon = self._soon, {}
        for ticker in soon:
            if ticker not in decided:  # a read's decision saw this market's updates already
                self._decide(ticker, 0)

    def _decide(self, ticker: str, read_ns: int, applied_ns: int = 0, exchange_ts_ms: int = 0) -> None:
        """Targets of one market from its book; start the slot's task where a write is due.

        ``read_ns``/``applied_ns`` are 0 for decisions no socket read caused (timers, events):
        those writes are not timed.
        """
        assert self.feed is not None
        info = self.markets[ticker]
        book = self.feed.books[ticker]
        if book.grid is not info.grid:  # the market's price structure changed: the feed regridded
            info.grid = book.grid
        bid = ask = None
        if self._quotable(ticker):
            pos = info.start_position + self.ledger.market(ticker).position
            bid, ask, info.fair = self.strategy.targets(book, info.grid, pos, self._own(ticker))
            bid, ask = self._limit(ticker, pos, bid, ask)
        now = time.monotonic_ns()
        bid_slot, ask_slot = info.slots
        for slot, target in ((bid_slot, bid), (ask_slot, ask)):
            slot.target = target
            if slot.busy and target is not None and target == slot.sent_target:
                continue  # the write in flight is this decision already
            if self._needs_work(slot):
                if read_ns:  # a decision no read caused keeps the timing of the read that did
                    slot.read_ns, slot.applied_ns, slot.decided_ns = read_ns, applied_ns, now
                    slot.exchange_ts_ms = exchange_ts_ms
                    slot.queued = slot.busy
                if not slot.busy:
                    self._disarm(slot)  # this write is Python's: what the slot reserved goes back
                    slot.busy = True
                    sent = self._amend_now(slot)
                    if sent is not None:
                        self._spawn(self._work(slot, sent))
                    else:
                        self._spawn_now(self._work(slot))
        if self.quoter is not None:
            try:
                self._rearm(info)
            except Exception as exc:  # noqa: BLE001 - inside the feed's callbacks: halt, never raise
                self._halt(f"arming the compiled amends of {ticker}: {exc!r}")

    def _limit(self, ticker: str, pos: int, bid: Quote | None, ask: Quote | None
               ) -> tuple[Quote | None, Quote | None]:
        r = self.config.risk
        floor = self.markets[ticker].floor_bp
        if floor is not None:  # Kalshi refuses a YES price at or below a floor market's floor
            bid = bid if bid is not None and bid.price_bp > floor else None
            ask = ask if ask is not None and ask.price_bp > floor else None
        total = 0
        market = self.ledger.market
        for t, m in self.markets.items():
            total += abs(m.start_position + market(t).position)
        full = total >= r.max_total_position
        if bid is not None and (pos + bid.size > r.max_position or (full and pos >= 0)):
            bid = None
        if ask is not None and (pos - ask.size < -r.max_position or (full and pos <= 0)):
            ask = None
        return bid, ask

    def _needs_work(self, slot: Slot) -> bool:
        live, target = slot.live, slot.target
        if live is None:
            return target is not None
        if live.state is OrderState.UNKNOWN:
            return True
        if target is None:
            return live.state is not OrderState.DONE
        return self.strategy.should_requote(Quote(live.price_bp, live.size), target)

    # ------------------------------------------------------------------ execution
    async def _work(self, slot: Slot, sent: _SentAmend | None = None) -> None:
        """Walk one slot to its target, one write at a time (``sent``: an amend already written)."""
        current_stamp.set(slot.stamp)  # this task's requests stamp this slot (mm.stamp)
        try:
            if sent is not None and sent.cancel:
                await self._cancel(slot, sent.order, sent)
            elif sent is not None:
                await self._amend(slot, sent.order, sent.quote, sent)
            while not self.halted or slot.live is not None:
                if self.quoter is not None:
                    # this slot's last write moved our orders: the other slot's arming holds them
                    self._rearm(self.markets[slot.ticker])
                live, target = slot.live, slot.target
                if live is not None and live.state is OrderState.DONE:
                    if live.order_id:
                        self.rest.forget_order(live.order_id)  # its pre-made signatures go to live ones
                    slot.live = live = None
                if live is not None and live.state is OrderState.UNKNOWN:
                    await self._resolve(slot)
                    continue
                if live is None:
                    if target is None or self.halted or self._stopping:
                        break
                    if sum(1 for s in self.slots.values() if s.live) >= self.config.risk.max_open_orders:
                        break
                    await self._create(slot, target)
                    continue
                if target is None or self.strategy.should_requote(Quote(live.price_bp, live.size), target):
                    wait = live.placed_at + self.config.strategy.min_quote_life_s - time.monotonic()
                    if target is not None and wait > 0:
                        await asyncio.sleep(wait)
                        slot.read_ns = 0  # a timer-driven write, not a tick's: untimed
                        continue
                    if (target is not None and self.amend and live.state is OrderState.RESTING
                            and not self._crosses(slot.ticker, slot.side, target.price_bp)):
                        await self._amend(slot, live, target)
                    else:
                        await self._cancel(slot, live)
                    continue
                break
        except Exception as exc:  # noqa: BLE001 - a slot's failure halts rather than dies silently
            self._halt(f"order manager error on {slot.ticker} {slot.side}: {exc!r}")
        finally:
            slot.busy = False
            slot.sent_target = None
        if self.quoter is not None and not self.halted:
            try:
                self._rearm(self.markets[slot.ticker])
            except Exception as exc:  # noqa: BLE001
                self._halt(f"arming the compiled amend of {slot.ticker} {slot.side}: {exc!r}")

    # ------------------------------------------------------------------ the compiled requote path
    def _rearm(self, info: MarketInfo) -> None:
        """Arm the market's idle slots for :mod:`centbook.mm.quoter` as the order manager stands now,
        disarm the others; a slot armed for the same state keeps its arming (until its signature
        is half its age)."""
        assert self.quoter is not None and self.feed is not None
        strategy = self.strategy  # the compiled decision is this one only (a model set later: Python)
        armable = (not self.halted and not self._stopping and type(strategy) is Strategy
                   and type(strategy.fair_model) is Microprice and self._quotable(info.ticker))
        own = self._own(info.ticker) if armable else {}
        pos = info.start_position + self.ledger.market(info.ticker).position
        cfg = self.config.strategy
        for slot in info.slots:
            live = slot.live
            key: tuple[Any, ...] = ()
            if (armable and not slot.busy and live is not None and live.state is OrderState.RESTING
                    and live.order_id and len(own) <= 2):
                q = Quote(live.price_bp, cfg.size)
                bid, ask = self._limit(info.ticker, pos, q if slot.side == "bid" else None,
                                       q if slot.side == "ask" else None)
                if (bid if slot.side == "bid" else ask) is not None:
                    key = (live.order_id, live.price_bp, live.size, live.filled, live.placed_at, pos,
                           tuple(sorted(own.items())), id(info.grid))
            a = slot.armed
            if a is not None and a.armed and key and key == slot.arm_key:
                # renewed at half its signature's life (the compiled path refuses it at the end)
                if time.monotonic_ns() < a.fresh_until_ns - self.rest.pool.max_age_ms * 500_000:
                    continue
            self._disarm(slot)
            if key:
                self._arm_slot(slot, info, key, own, pos)

    def _arm_slot(self, slot: Slot, info: MarketInfo, key: tuple[Any, ...], own: dict[int, int],
                  pos: int) -> None:
        assert self.quoter is not None and self.feed is not None and slot.live is not None
        live = slot.live
        if self.amend:
            write = self.rest.arm_amend(live.order_id, info.ticker, slot.side, exchange_index=live.shard,
                                        subaccount=self.sub)
        else:  # cancel + create: the compiled path writes the cancel, the slot's task the create
            write = self.rest.arm_cancel(live.order_id, info.ticker, exchange_index=live.shard,
                                         subaccount=self.sub)
        if write is None:
            return
        try:
            a = self._armed_amend(slot, info, write, own, pos)
            self.quoter.arm(a)
        except BaseException:
            self.rest.disarm(write)  # the reserved connection and the signature go back
            raise
        slot.armed, slot.arm_key = a, key

    def _armed_amend(self, slot: Slot, info: MarketInfo, write: Any, own: dict[int, int],
                     pos: int) -> ArmedAmend:
        assert self.feed is not None and slot.live is not None
        live, feed, cfg = slot.live, self.feed, self.config.strategy
        a = ArmedAmend()
        a.key, a.write = (slot.ticker, slot.side), write
        a.cancel = not self.amend
        a.market = feed.books.index_of(info.ticker)
        a.side = 0 if slot.side == "bid" else 1
        a.book, a.grid = feed.books[info.ticker], info.grid
        a.live_price, a.live_size, a.filled = live.price_bp, live.size, live.filled
        prices = sorted(own)
        a.own_a = prices[0] if prices else -1
        a.own_b = prices[1] if len(prices) > 1 else -1
        a.own_a_size = own[a.own_a] if prices else 0
        a.own_b_size = own[a.own_b] if len(prices) > 1 else 0
        a.half_spread_bp, a.skew_bp_per_contract = cfg.half_spread_bp, cfg.skew_bp_per_contract
        a.position, a.size, a.size_threshold = pos, cfg.size, cfg.size_threshold
        a.threshold_bp = cfg.requote_threshold_bp
        a.floor_bp = info.floor_bp if info.floor_bp is not None else -1
        a.not_before_ns = math.ceil((live.placed_at + cfg.min_quote_life_s) * 1e9)
        close = info.close_time_ns
        a.close_limit_ns = close - int(cfg.stop_before_close_s * 1e9) if close else 0
        a.tradable, a.shard_trading = feed.tradable, feed.shard_trading
        a.ticker, a.shard = info.ticker, feed.market_shards.get(info.ticker)
        a.conn, a.transport = write.conn, write.conn.transport
        a.head, a.body_pre, a.body_mid = write.head, write.body_pre, write.body_mid
        a.body_post = write.body_post
        a.try_acquire, a.bucket, a.cost = self.rest.budget.try_acquire, write.bucket, write.cost
        a.fresh_until_ns = write.fresh_until_ns
        return a

    def _disarm(self, slot: Slot) -> None:
        """Take the slot off the compiled path; what it reserved goes back unless it fired."""
        a = slot.armed
        if a is None:
            return
        slot.armed, slot.arm_key = None, ()
        if self.quoter is not None and self.quoter.disarm(a):
            self.rest.disarm(a.write)

    def _disarm_market(self, ticker: str) -> None:
        info = self.markets.get(ticker)
        if info is not None:
            for slot in info.slots:
                self._disarm(slot)

    def _on_fired(self, fired: list[ArmedAmend]) -> None:
        """The compiled path wrote these amends (inside the read callback): the order manager
        takes each over as an amend it wrote itself."""
        for a in fired:
            try:
                self._took_over(a)
            except Exception as exc:  # noqa: BLE001 - the bytes are out: halt, never lose them
                try:
                    self._halt(f"compiled amend of {a.key}: {exc!r}")
                except Exception:  # noqa: BLE001 - the next amends of the read are still taken over
                    log.exception("halting after a compiled amend failed")

    def _took_over(self, a: ArmedAmend) -> None:
        slot = self.slots[a.key]
        slot.armed, slot.arm_key = None, ()
        started = self.rest.armed_sent(a.write, a.sent_ms, a.written_ns)
        live = slot.live
        assert live is not None, "an armed slot lost its order"  # every change disarms first
        q = Quote(a.fired_price, a.size)
        slot.target = slot.sent_target = q
        slot.read_ns, slot.applied_ns, slot.decided_ns = a.read_ns, a.applied_ns, a.decided_ns
        feed = self.feed
        slot.exchange_ts_ms = (feed.books.last_ts_ms or 0) if feed is not None else 0
        slot.queued = False
        slot.busy = True
        counter = "cancels_compiled" if a.cancel else "amends_compiled"
        sent = self._sent(slot, live, q, started, a.fired_count, counter, a.cancel)
        self._spawn(self._work(slot, sent))

    def _crosses(self, ticker: str, side: str, price_bp: int) -> bool:
        """Whether a quote at ``price_bp`` would trade against the book now (amend has no post-only)."""
        assert self.feed is not None
        own = self._own(ticker)
        top = _top(self.feed.books[ticker], "ask" if side == "bid" else "bid", own)
        if top is None:
            return False
        return price_bp >= top[0] if side == "bid" else price_bp <= top[0]

    def _arm(self, slot: Slot, method: str) -> WriteStamp:
        """Arm the slot's stamp for its next write; the decision it times moves onto the stamp.

        A decision made while this write is in flight times the slot's next write.
        """
        slot.writes += 1
        stamp = slot.stamp
        stamp.arm(method)
        stamp.read_ns, stamp.applied_ns, stamp.decided_ns = slot.read_ns, slot.applied_ns, slot.decided_ns
        stamp.exchange_ts_ms = slot.exchange_ts_ms
        stamp.queued = slot.queued
        # the first write that this socket read's decisions start (the others of the read wait
        # for it: one thread): tick-to-trade as trading desks often quote it, to the first order
        stamp.first = bool(slot.read_ns) and not slot.queued and slot.read_ns != self._first_armed_read
        if stamp.first:
            self._first_armed_read = slot.read_ns
        slot.read_ns = 0
        return stamp

    def _timed(self, stamp: WriteStamp, response_ns: int) -> None:
        """Record a write's latencies once its response (or error) is in."""
        written = stamp.written_ns
        stamp.armed = False
        if not written:
            return  # never reached the transport
        lat = self.latency
        if response_ns:
            lat.written_to_response.record(response_ns - written)
        read = stamp.read_ns
        if not read:
            return
        if stamp.queued:  # waited for the slot's previous write: not the decision path's cost
            lat.tick_to_trade_queued.record(written - read)
            return
        lat.read_to_applied.record(stamp.applied_ns - read)
        lat.applied_to_decision.record(stamp.decided_ns - stamp.applied_ns)
        lat.decision_to_written.record(written - stamp.decided_ns)
        lat.tick_to_trade.record(written - read)
        if stamp.exchange_ts_ms:
            exchange_ns = stamp.exchange_ts_ms * 1_000_000
            lat.exchange_to_written.record(max(0, written + self._wall_offset_ns - exchange_ns))
        path = lat.tick_to_trade_presigned if stamp.presigned else lat.tick_to_trade_signed
        path.record(written - read)
        if stamp.first:
            lat.tick_to_first_write.record(written - read)
            if stamp.presigned:
                lat.tick_to_first_write_presigned.record(written - read)

    async def _create(self, slot: Slot, q: Quote) -> None:
        info = self.markets[slot.ticker]
        coid = self.rest.new_client_order_id()
        order = LiveOrder(slot.ticker, slot.side, q.price_bp, q.size, coid, placed_at=time.monotonic(),
                          shard=info.shard)
        slot.live = order
        stamp = self._arm(slot, "POST")
        try:
            res = await self.rest.create_order(
                slot.ticker, slot.side, q.price_bp, q.size, client_order_id=coid, exchange_index=info.shard,
                post_only=self.config.strategy.post_only, order_group_id=self.groups.get(info.shard),
                cancel_order_on_pause=self.config.cancel_order_on_pause, subaccount=self.sub, resolve=False)
        except RejectedError as exc:
            self._rejected("create", slot, stamp, q, exc)
            slot.live = None
            await asyncio.sleep(0.05)
            return
        except OutcomeUnknownError as exc:
            self._unknown(order, stamp, exc)
            return
        done_ns = self._answered(stamp, "create", "POST", _ORDERS)
        if slot.requote_ns:
            self.latency.requote_cancel_create.record(done_ns - slot.requote_ns)
            slot.requote_ns = 0
        self.counts["creates"] += 1
        order.order_id = res.order_id
        self.orders[res.order_id] = order
        if self.amend and self.rest.presign:
            # one pre-made amend signature per order ran out when amends of one order came
            # back to back (up to 1 write in 5 was then signed inline, ~1 ms on the loop)
            self.rest.pool.set_depth("POST", f"{self.rest.path_prefix}{_ORDERS}/{res.order_id}/amend",
                                     AMEND_PRESIGN_DEPTH)
        order.size = res.remaining_count
        order.filled = res.fill_count
        if order.state is OrderState.PENDING:  # user_orders may have finished it already
            order.state = OrderState.RESTING if res.remaining_count > 0 else OrderState.DONE

    def _amend_now(self, slot: Slot) -> _SentAmend | None:
        """Write the slot's amend from the caller's step when it can go at once; else None.

        Only a resting order moving to a target that does not cross, past its minimum quote
        life, with the REST client able to send without waiting (:meth:`RestClient.start_amend`);
        everything else (and the same amend when it cannot go at once) is the slot task's.
        """
        live, q = slot.live, slot.target
        if (q is None or live is None or not self.amend or live.state is not OrderState.RESTING
                or not live.order_id or self.halted or self._stopping
                or live.placed_at + self.config.strategy.min_quote_life_s > time.monotonic()):
            return None
        try:
            if self._crosses(slot.ticker, slot.side, q.price_bp):
                return None
            count = live.filled + q.size  # Kalshi's amend count is the total: filled + resting
            write = self.rest.start_amend(live.order_id, live.ticker, live.side, q.price_bp, count,
                                          exchange_index=live.shard, subaccount=self.sub)
        except Exception as exc:  # noqa: BLE001 - inside the feed's callback: halt, never raise there
            self._halt(f"order manager error on {slot.ticker} {slot.side}: {exc!r}")
            return None
        if write is None:
            return None
        return self._sent(slot, live, q, write, count, "amends_now")

    def _sent(self, slot: Slot, live: LiveOrder, q: Quote, write: StartedWrite, count: int,
              counter: str, cancel: bool = False) -> _SentAmend:
        """An amend (or ``cancel``) written from the read callback: the slot's stamp takes its
        write time, the order is PENDING (CANCELING) until the answer, which the slot's task
        awaits."""
        stamp = self._arm(slot, "DELETE" if cancel else "POST")
        stamp.written_ns, stamp.armed = write.written_ns, False
        stamp.presigned = self.presign_tracker.was_presigned(write.signature)
        old = live.price_bp, live.size
        live.state = OrderState.CANCELING if cancel else OrderState.PENDING
        self.counts[counter] += 1
        return _SentAmend(write, stamp, live, q, old, count, cancel)

    async def _amend(self, slot: Slot, order: LiveOrder, q: Quote, sent: _SentAmend | None = None) -> None:
        """Move a resting order to ``q`` in place (count sent = already filled + new resting size).

        ``sent``: the amend was already written (:meth:`_amend_now`); only its answer is awaited.
        """
        if sent is None:
            stamp = self._arm(slot, "POST")
            old = order.price_bp, order.size
            order.state = OrderState.PENDING
            count = order.filled + q.size  # Kalshi's amend count is the total: filled + resting
        else:
            stamp, old, count = sent.stamp, sent.old, sent.count
        slot.sent_target = q
        # resolve=False on every write: the order manager resolves an unknown outcome itself
        # (user_orders first, REST second) instead of blocking the slot inside the client
        try:
            res = await self.rest.amend_order(order.order_id, order.ticker, order.side, q.price_bp,
                                              count, exchange_index=order.shard,
                                              subaccount=self.sub, resolve=False,
                                              started=sent.write if sent is not None else None)
        except RejectedError as exc:
            # gone (filled or cancelled) or refused: user_orders says which; REST if it does not
            self._rejected("amend", slot, stamp, q, exc)
            order.price_bp, order.size = old
            order.unknown = None
            order.state = OrderState.UNKNOWN
            return
        except OutcomeUnknownError as exc:
            self._unknown(order, stamp, exc)
            return
        done_ns = self._answered(stamp, "amend", "POST", f"{_ORDERS}/{order.order_id}/amend")
        if stamp.written_ns:
            self.latency.requote_amend.record(done_ns - stamp.written_ns)
        self.counts["amends"] += 1
        order.price_bp = q.price_bp
        order.placed_at = time.monotonic()
        if res.remaining_count is not None:
            # filled is what the total leaves unrested; adding the amend's fill_count would count
            # twice what a user_orders message during the await already reported, and the next
            # amend (filled + size) would then rest more than the strategy asked for
            order.size = res.remaining_count
            order.filled = count - res.remaining_count
        else:
            order.size = q.size
        if order.state is OrderState.PENDING:
            order.state = OrderState.RESTING if order.size > 0 else OrderState.DONE

    async def _cancel(self, slot: Slot, order: LiveOrder, sent: _SentAmend | None = None) -> None:
        """Cancel the slot's order (``sent``: the compiled path wrote the cancel; only its answer
        is awaited)."""
        order.state = OrderState.CANCELING
        stamp = self._arm(slot, "DELETE") if sent is None else sent.stamp
        slot.requote_ns = 0
        try:
            await self.rest.cancel_order(order.order_id, ticker=order.ticker, exchange_index=order.shard,
                                         subaccount=self.sub, resolve=False,
                                         started=sent.write if sent is not None else None)
            self._answered(stamp, "cancel", "DELETE", f"{_ORDERS}/{order.order_id}")
            self.counts["cancels"] += 1
            if slot.target is not None and not self.halted and not self._stopping:
                slot.requote_ns = stamp.written_ns  # a requote: the create follows at once
        except RejectedError as exc:
            if exc.status in (401, 429):
                # refused before the exchange looked at the order (the signature, the rate
                # limit): it may well rest still, so it is not taken for gone; UNKNOWN, and
                # the slot places nothing new until it is resolved (user_orders, then REST)
                self._rejected("cancel", slot, stamp, Quote(order.price_bp, order.size), exc)
                order.unknown = None
                order.state = OrderState.UNKNOWN
                return
            self._timed(stamp, time.monotonic_ns())  # already gone (filled or cancelled)
        except OutcomeUnknownError as exc:
            self._unknown(order, stamp, exc)
            return
        order.state = OrderState.DONE
        slot.live = None

    def _answered(self, stamp: WriteStamp, kind: str, method: str, sub_path: str) -> int:
        """A write was answered (2xx): time it, count its tokens; return the answer's time."""
        done_ns = time.monotonic_ns()
        self._timed(stamp, done_ns)
        self.tokens[kind] += self.rest.budget.cost_of(method, self.rest.path_prefix + sub_path)
        return done_ns

    def _rejected(self, kind: str, slot: Slot, stamp: WriteStamp, q: Quote, exc: RejectedError) -> None:
        self._timed(stamp, time.monotonic_ns())
        self.counts["rejects"] += 1
        if self.counts["rejects"] % 20 == 1:  # the first, then one in 20: a burst stays readable
            self.log(f"{kind} rejected on {slot.ticker} {slot.side} @{q.price_bp}: {exc}")

    def _unknown(self, order: LiveOrder, stamp: WriteStamp, exc: OutcomeUnknownError) -> None:
        self._timed(stamp, 0)
        self.counts["unknown"] += 1
        order.unknown = exc
        order.state = OrderState.UNKNOWN
        self.log(f"outcome unknown: {exc.method} {exc.path} ({exc.cause}); resolving")

    async def _resolve(self, slot: Slot) -> None:
        """An UNKNOWN order: user_orders first (a moment), then REST.

        A create is looked up by its client_order_id (:meth:`RestClient.resolve_create`, which
        concludes "not placed" only once the exchange's user data is past the send time); an
        order with an id (cancel, amend) is read back by id.
        """
        order = slot.live
        assert order is not None
        for _ in range(20):
            if order.state is not OrderState.UNKNOWN:
                return
            await asyncio.sleep(0.025)
        found: Any = None
        if order.order_id:
            try:
                found = await self.rest.get_order(order.order_id)
            except RejectedError as exc:
                if exc.status != 404:
                    # a 429 or 401 says nothing about the order: it may still rest, so it stays
                    # UNKNOWN (its slot places nothing new) and is asked again next round
                    self.log(f"resolving {order.client_order_id}: {exc}; asking again")
                    return
                found = None  # the exchange does not know the order: nothing rests
        elif order.unknown is not None:
            try:
                found = (await self.rest.resolve_create(order.unknown)).get(order.client_order_id)
            except OutcomeUnknownError:
                return  # REST could not tell yet: still UNKNOWN, asked again next round
        if order.state is not OrderState.UNKNOWN:
            return  # user_orders answered meanwhile
        self.counts["resolved"] += 1
        order.unknown = None
        if found is not None:
            order.order_id = found.order_id
            self.orders[found.order_id] = order
        if found is None or found.status != "resting":
            self.log(f"resolved {order.client_order_id}: {'not placed' if found is None else found.status}")
            order.state = OrderState.DONE
            slot.live = None
        else:
            self.log(f"resolved {order.client_order_id}: resting @{found.yes_price_bp}")
            order.price_bp = found.yes_price_bp
            order.size = found.remaining_count
            order.filled = found.fill_count
            order.state = OrderState.RESTING
    # ------------------------------------------------------------------ events
    def _on_state(self, change: StateChange) -> None:
        if change.ticker in self.markets:
            if change.new is not BookState.LIVE:
                self.counts["pulls"] += 1
            self._decide(change.ticker, 0)

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, Fill):
            f = msg.msg
            self._disarm_market(f.market_ticker)
            self._apply_fill(f.trade_id, f.order_id, f.market_ticker, f.book_side, f.yes_price_bp,
                             f.count_c100, f.fee_cost_micro or 0, f.client_order_id)
        elif isinstance(msg, UserOrder):
            b = msg.msg
            order = self._order_for(b.order_id, b.client_order_id)
            if order is not None:
                self._disarm_market(order.ticker)
                order.size = b.remaining_count_c100
                order.filled = b.fill_count_c100
                if b.status in _DONE_STATUSES or b.remaining_count_c100 == 0:
                    order.state = OrderState.DONE
                    slot = self.slots.get((order.ticker, order.side))
                    if slot is not None and slot.live is order and not slot.busy:
                        slot.live = None
                elif order.state is OrderState.UNKNOWN:
                    order.price_bp = b.yes_price_bp
                    order.state = OrderState.RESTING
                self._decide_soon(order.ticker)
        elif isinstance(msg, MarketLifecycleV2):
            ticker = getattr(msg.msg, "market_ticker", None)
            if ticker in self.markets:
                self.log(f"lifecycle {ticker}: {getattr(msg.msg, 'event_type', '?')}")
                self._disarm_market(ticker)
                self._decide(ticker, 0)
        elif isinstance(msg, MarketPosition):
            p = msg.msg
            info = self.markets.get(p.market_ticker)
            if info is not None and (self.sub is None or p.subaccount in (None, self.sub)):
                info.ws_position = p.position_c100
                self._check_ws_position(info)
        elif isinstance(msg, OrderGroupUpdates):
            g = msg.msg
            if g.event_type == "triggered" and g.order_group_id in self.groups.values():
                self._on_group_triggered(g.order_group_id)

    def _check_ws_position(self, info: MarketInfo) -> None:
        """Compare the last ``market_positions`` value with the ledger; a lasting difference halts.

        The channel and ``fill`` are separate messages, so for a moment one can be ahead of the
        other: only a difference that lasts ``risk.position_check_s`` is a drift.
        """
        if info.ws_position is None:
            return
        ours = info.start_position + self.ledger.market(info.ticker).position
        now = time.monotonic()
        if ours == info.ws_position:
            info.ws_mismatch_since = None
            info.ws_backfilled = False
        elif info.ws_mismatch_since is None:
            info.ws_mismatch_since = now
        elif now - info.ws_mismatch_since >= self.config.risk.position_check_s:
            if not info.ws_backfilled:
                # a fill message may be what is missing (lost with a connection): backfill fills
                # over REST first, then give the channel one more period before calling it a drift
                info.ws_backfilled = True
                info.ws_mismatch_since = now
                self._spawn(self._backfill_for_check())
                return
            self._halt(f"position drift (market_positions) {info.ticker}: exchange {info.ws_position}, "
                       f"ours {ours} (fills backfilled over REST)")

    async def _backfill_for_check(self) -> None:
        try:
            await self.reconcile("market_positions disagree")
        except Exception as exc:  # noqa: BLE001 - the next check halts if the drift stays
            self.log(f"reconcile for the market_positions check failed: {exc!r}")

    def _on_group_triggered(self, group_id: str) -> None:
        """The exchange triggered one of our order groups (its fill limit): its orders are cancelled."""
        if self._stopping or self.halted:
            return  # our own kill switch
        shard = next(s for s, g in self.groups.items() if g == group_id)
        self.counts["group_triggers"] += 1
        for slot in self.slots.values():
            live = slot.live
            if live is not None and live.shard == shard:
                self._disarm(slot)
                live.state = OrderState.DONE
                if not slot.busy:
                    slot.live = None
        if self.config.on_group_trigger == "halt":
            self._halt(f"order group {group_id} on shard {shard} was triggered by the exchange "
                       f"(fill limit {self.config.risk.group_contracts_limit / 100:g} contracts)")
        else:
            self.log(f"order group {group_id} on shard {shard} triggered: reset, quoting again")
            self._spawn(self._reset_group(group_id, shard))

    async def _reset_group(self, group_id: str, shard: int) -> None:
        try:
            await self.rest.reset_order_group(group_id, subaccount=self.sub)
        except Exception as exc:  # noqa: BLE001 - a group that cannot be reset stops quoting
            self._halt(f"reset of order group {group_id} failed: {exc!r}")
            return
        for ticker, info in self.markets.items():
            if info.shard == shard:
                self._decide(ticker, 0)

    def _order_for(self, order_id: str, client_order_id: str | None) -> LiveOrder | None:
        """This session's order of an exchange message, also before its create was answered.

        A user_orders or fill message can arrive before the create's response (a taker hit the
        new order at once): the order is then found in its slot by client_order_id.
        """
        order = self.orders.get(order_id)
        if order is None and client_order_id:
            for slot in self.slots.values():
                live = slot.live
                if live is not None and live.client_order_id == client_order_id:
                    live.order_id = order_id
                    self.orders[order_id] = order = live
                    break
        return order

    def _apply_fill(self, trade_id: str, order_id: str, ticker: str, book_side: str | None,
                    price_bp: int, count: int, fee: int, client_order_id: str | None = None) -> None:
        order = self._order_for(order_id, client_order_id)
        if order is None or ticker not in self.markets:
            return  # not this session's
        side = order.side or book_side or "bid"
        if self.ledger.apply(trade_id, order_id, ticker, side, price_bp, count, fee):
            self.counts["fills"] += 1
            # the position moved: every arming holds the old one (and the total limit spans markets)
            for t in self.markets:
                self._disarm_market(t)
                self._decide_soon(t)

    # ------------------------------------------------------------------ risk, reconciliation
    def _halt(self, reason: str) -> None:
        for slot in self.slots.values():
            self._disarm(slot)
        if self.halted is None:
            self.halted = reason
            self.log(f"HALT: {reason}")
            self._spawn(self.kill_switch(reason))

    async def kill_switch(self, reason: str) -> int:
        """Trigger every order group (one write per shard), cancel-all if anything still rests, verify.

        Returns
        -------
        int
            Orders still resting afterwards (0 on success).
        """
        self.log(f"kill switch ({reason})")
        for slot in self.slots.values():
            self._disarm(slot)
            slot.target = None
        for shard, group in self.groups.items():
            try:
                await self.rest.trigger_order_group(group, subaccount=self.sub)
            except Exception as exc:  # noqa: BLE001 - the fallback follows
                self.log(f"trigger of group {group} on shard {shard} failed: {exc!r}")
        for attempt in range(5):
            resting = [o async for o in self.rest.get_orders(status="resting", subaccount=self.sub)]
            mine = [o for o in resting if o.order_id in self.orders
                    or o.client_order_id.startswith(self.prefix)]
            if not mine:
                self.log("verified: nothing of this session rests")
                return 0
            self.log(f"{len(mine)} orders still rest: cancel-all")
            await self.rest.cancel_all_orders(subaccount=self.sub)
            await asyncio.sleep(0.1 * (attempt + 1))
        return len(mine)

    def marks(self) -> dict[str, float | None]:
        """Mark prices (fair value) per market."""
        return {t: m.fair for t, m in self.markets.items()}

    async def reconcile(self, why: str = "periodic") -> list[str]:
        """Backfill fills over REST, compare positions net of in-flight writes; a drift twice halts.

        Returns
        -------
        list of str
            Differences found (empty when everything agrees).
        """
        self.counts["reconciles"] += 1
        async for f in self.rest.get_fills(min_ts=int(self.started_wall) - 5, subaccount=self.sub):
            self._apply_fill(f.trade_id, f.order_id, f.ticker, f.book_side, f.yes_price_bp, f.count,
                             f.fee_cost_micro)
        exchange: dict[str, int] = {}
        async for p in self.rest.get_positions(subaccount=self.sub):
            exchange[p.ticker] = p.position
        diffs = []
        for ticker, info in self.markets.items():
            ours = info.start_position + self.ledger.market(ticker).position
            theirs = exchange.get(ticker, 0)
            busy = any(self.slots[(ticker, s)].busy for s in ("bid", "ask"))
            if ours != theirs and not busy:
                info.drift += 1
                diffs.append(f"{ticker}: exchange position {theirs}, ours {ours}")
                if info.drift >= 2:
                    self._halt(f"position drift ({why}) {ticker}: exchange {theirs}, ours {ours}")
            else:
                info.drift = 0
        return diffs

    async def _housekeeping(self) -> None:
        last_rec = time.monotonic()
        while True:
            await asyncio.sleep(0.25)
            assert self.feed is not None
            self._wall_offset_ns = time.time_ns() - time.monotonic_ns()
            reconnects = self.feed.counts.get("reconnects", 0)
            try:
                if reconnects != self._reconnects:
                    self._reconnects = reconnects
                    self.counts["reconnects_seen"] = reconnects
                    await self.feed.wait_live(timeout=30)
                    self.log("reconnected: reconcile")
                    await self.reconcile("after reconnect")
                    last_rec = time.monotonic()
                elif time.monotonic() - last_rec >= self.config.reconcile_s:
                    await self.reconcile()
                    last_rec = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - retried next round
                self.log(f"reconcile failed: {exc!r}")
            totals = self.ledger.totals(self.marks())
            if totals["pnl"] < -self.config.risk.max_loss_micro:
                limit = self.config.risk.max_loss_micro
                self._halt(f"max loss: P&L {totals['pnl']} micro-dollars < -{limit}")
            for info in self.markets.values():
                self._check_ws_position(info)
            for ticker in self.markets:
                self._decide(ticker, 0)

    # ------------------------------------------------------------------ reporting
    def resting(self) -> int:
        """Our live orders (per the order manager)."""
        return sum(1 for s in self.slots.values()
                   if s.live is not None and s.live.state is not OrderState.DONE)

    def status(self) -> dict[str, Any]:
        """A snapshot for the status line and the summary."""
        feed = self.feed
        per = {}
        for ticker, info in self.markets.items():
            m = self.ledger.market(ticker)
            quotes = {}
            for side in ("bid", "ask"):
                live = self.slots[(ticker, side)].live
                quotes[side] = None if live is None else (live.price_bp, live.size, live.state.value)
            per[ticker] = {
                "state": feed.books[ticker].state.name if feed else "?",
                "tradable": feed.is_tradable(ticker) if feed else False,
                "quotes": quotes, "position": info.start_position + m.position,
                "pnl_micro": m.realised + m.unrealised(info.fair) - m.fees, "fees_micro": m.fees,
                "fills": m.fills,
            }
        metrics = feed.metrics() if feed else {}
        return {
            "elapsed_s": time.monotonic() - self.started, "halted": self.halted, "markets": per,
            "messages_per_s": metrics.get("messages_per_s", 0.0), "totals": self.ledger.totals(self.marks()),
            "counts": dict(self.counts), "tokens": dict(self.tokens),
            "reconnects": feed.counts.get("reconnects", 0) if feed else 0,
            "latency_ns": self.latency.summaries(),
            "presign": {"hits": self.rest.pool.hits, "misses": self.rest.pool.misses}
            if self.rest.presign else None,
            "read_to_book_applied_ns": metrics.get("read_to_book_applied"),
        }
