"""The market maker: start-up over REST, quoting on every socket read, and the parts it holds.

Flow of one decision: the feed's read listener (inside picows' callback, synchronous) gets the
changed tickers; for each quoted market the strategy computes bid/ask targets from the book in
memory (never REST), within the risk limits; the order manager walks each quote slot to its
target, at most one write in flight per slot. Requotes are decided and written in compiled code
at the end of the socket read, before any Python: see :mod:`centbook.mm.quoter`. Decisions that
order updates (``user_orders``) call for wait for the end of the socket read, so the read's
book-driven decisions go first and a market is decided once per read.

Requoting (``requote`` in the configuration): ``cancel_create`` cancels the resting order, then
creates the new one (two round trips, cancel 2 + create 10 tokens); ``amend`` moves it in place
(``POST .../orders/{id}/amend``: one round trip, 10 tokens; an amend can cross, so a target that
would cross the book is placed by cancel + create, where post-only protects it). ``auto`` follows
the measured choice: amend (benchmarks/bench_mm.py measures both on pre-signed paths; docs/performance.md's
market-maker section has the figures).

Parts: :class:`MarketMaker` (wiring, lifecycle, decisions, reporting), which holds an
:class:`~centbook.mm.orders.OrderManager` (slots, orders, writes, outcome resolution),
:class:`~centbook.mm.armed.ArmedSlots` (the compiled requote path's slots),
:class:`~centbook.mm.risk.Risk` (limits, kill switch, reconciliation, position checks, group
triggers) and an :class:`~centbook.mm.events.EventHandler` (the WebSocket events); latencies
per decision stage: :mod:`centbook.mm.latency`.

Usage::

    async with MarketMaker(config, rest_url, ws_url, credentials) as mm:
        await mm.run(duration_s=60)
    print(mm.status())
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from centbook.book import OrderSide
from centbook.feed.connection import Feed, FeedConfig
from centbook.grid import PriceGrid
from centbook.mm.armed import ArmedSlots
from centbook.mm.config import MMConfig
from centbook.mm.events import EventHandler
from centbook.mm.guard import GuardLink
from centbook.mm.kill import Backoff, KillResult
from centbook.mm.latency import LATENCIES, Latency
from centbook.mm.ledger import Ledger
from centbook.mm.lock import InstanceLock, InstanceRunningError, live_sessions
from centbook.mm.orders import AMEND_PRESIGN_DEPTH, LiveOrder, MarketInfo, OrderManager, OrderState, Slot
from centbook.mm.quoter import Quoter
from centbook.mm.risk import Risk
from centbook.mm.stamp import PresignTracker, WriteStamp, eager_task, make_session, stamp_written
from centbook.mm.strategy import Microprice, Strategy
from centbook.protocol.errors import RejectedError
from centbook.rest.client import RestClient

__all__ = ["AMEND_PRESIGN_DEPTH", "LATENCIES", "LiveOrder", "MarketInfo", "MarketMaker", "OrderState", "Slot"]

log = logging.getLogger(__name__)

CHANNELS = ["fill", "user_orders", "market_positions", "order_group_updates", "market_lifecycle_v2"]


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
        self.groups: dict[int, str] = {}  # shard -> order group id
        self.halted: str | None = None
        self.latency = Latency()
        # amends_now / amends_compiled / cancels_compiled: writes the read callback wrote itself
        # (Python / compiled code), counted when written ("amends", "cancels": answered)
        self.counts = {"creates": 0, "cancels": 0, "amends": 0, "amends_now": 0, "amends_compiled": 0,
                       "cancels_compiled": 0,
                       "rejects": 0, "unknown": 0, "resolved": 0,
                       "swept": 0, "reconciles": 0, "pulls": 0, "fills": 0, "reconnects_seen": 0,
                       "group_triggers": 0, "groups_deleted": 0}
        self.tokens = {"create": 0, "cancel": 0, "amend": 0}  # write tokens spent (client's costs)
        self.events: list[str] = []
        self.started_wall = time.time()
        self.started = time.monotonic()
        # wall clock - monotonic clock: a written stamp (monotonic) as Unix ns, re-read in
        # housekeeping so that a clock step shows within a round
        self.wall_offset_ns = time.time_ns() - time.monotonic_ns()
        self._soon: dict[str, None] = {}  # markets to decide at the end of this read (in order)
        self.quoter: Quoter | None = None  # the compiled requote path, when it applies (start())
        self._soon_handle: asyncio.Handle | None = None
        self.balance: dict[int, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.stopping = False
        self._reconnects = 0
        self.left_resting = -1
        self.kill_result: KillResult | None = None  # the last kill switch's result
        self.rest_url = rest_url
        self.lock = InstanceLock(config.client_order_id_root, rest_url, config.subaccount)
        self.guard: GuardLink | None = None
        # the parts (objects it holds and delegates to)
        self.order_manager = OrderManager(self)
        self.armed_slots = ArmedSlots(self, self.order_manager)
        self.risk = Risk(self)
        self.event_handler = EventHandler(self)

    @property
    def slots(self) -> dict[tuple[str, OrderSide], Slot]:
        """(ticker, side) -> quote slot (the order manager's)."""
        return self.order_manager.slots

    @property
    def orders(self) -> dict[str, LiveOrder]:
        """order_id -> order, every order of this session (the order manager's)."""
        return self.order_manager.orders

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
            for side in OrderSide:
                self.slots[(ticker, side)] = Slot(ticker, side, stamp=WriteStamp(self.presign_tracker))
            self.markets[ticker].slots = tuple(self.slots[(ticker, side)] for side in OrderSide)
        async for p in self.rest.get_positions(subaccount=self.sub):
            if p.ticker in self.markets:
                self.markets[p.ticker].start_position = p.position
        await self.claim_root()
        await self.sweep()
        for shard in sorted({m.shard for m in self.markets.values()}):
            self.groups[shard] = await self.rest.create_order_group(
                self.config.risk.group_contracts_limit, subaccount=self.sub, exchange_index=shard)
        self.log(f"order groups {self.groups}")
        if self.config.guard.enabled:
            await self.start_guard()
        grids = {t: m.grid for t, m in self.markets.items()}
        shards = {t: m.shard for t, m in self.markets.items()}
        self.feed = Feed(self.ws_url, self.credentials, grids, channels=CHANNELS,
                         config=self.feed_config, rest=self.rest, market_shards=shards)
        self.feed.read_listeners.append(self._on_read)
        self.feed.state_listeners.append(self.event_handler.on_state)
        self.feed.message_listeners.append(self.event_handler.on_message)
        if (self.config.compiled_amend and self.rest.lane is not None and self.rest.presign
                and type(self.strategy) is Strategy and type(self.strategy.fair_model) is Microprice):
            self.quoter = Quoter(self.armed_slots.on_fired)
            self.feed.listener.hook = self.quoter
        await self.feed.__aenter__()
        self.spawn(self._housekeeping())

    async def claim_root(self) -> None:
        """Make sure no other maker runs with this client_order_id root (:mod:`centbook.mm.lock`).

        Raises
        ------
        InstanceRunningError
            The local lock is held, or REST shows another session of the root alive.
        """
        info = {"session": self.prefix, "rest_url": self.rest_url,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.lock.acquire(info)
        window = self.config.guard.timeout_s
        root = self.config.client_order_id_root
        alive = await live_sessions(self.rest, root, self.prefix, window, self.sub)
        if alive:
            self.lock.release()
            prefix, age_ms = min(alive.items(), key=lambda kv: kv[1])
            raise InstanceRunningError(
                f"another market maker runs with client_order_id root {self.config.client_order_id_root!r}: "
                f"session {prefix} changed an order {age_ms} ms ago (within the guard timeout, {window:g}s); "
                f"stop it or choose another client_order_id_root")

    async def sweep(self) -> int:
        """Cancel resting orders of dead sessions (by client_order_id root or order group), then
        delete the order groups they left (a live session of the root was refused by
        :meth:`claim_root`)."""
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
        deleted = await self.delete_groups(sorted(groups), attempts=2) if groups else 0
        self.log(f"swept {n} leftover orders, deleted {deleted} leftover order groups")
        return n

    async def start_guard(self) -> None:
        """Start the dead-man guard process (:mod:`centbook.mm.guard`) and its heartbeat; quoting
        starts once the guard says it can pull (or after 15 s, logged)."""
        session = {"rest_url": self.rest_url, "prefix": self.prefix, "groups": self.groups,
                   "subaccount": self.sub, "timeout_s": self.config.guard.timeout_s,
                   "kill_deadline_s": self.config.risk.kill_deadline_s, "pid": os.getpid(),
                   "api_key_id": self.credentials.key_id,
                   "private_key_pem": self.credentials.pem_bytes().decode()}
        self.guard = GuardLink(session, self.config.guard.heartbeat_s, self.log, self.config.guard.socket)
        self.guard.start()
        self.spawn(self.guard.beat())
        if not await self.guard.wait_ready(15.0):
            self.log("the guard did not say it is ready within 15 s: quoting without that confirmation")
        where = f"on {self.config.guard.socket}" if self.config.guard.socket else f"pid {self.guard.pid}"
        self.log(f"guard watching ({where})")

    async def run(self, duration_s: float = 0.0, stop: asyncio.Event | None = None) -> None:
        """Quote until ``duration_s`` passes (0 = forever) or ``stop`` is set."""
        assert self.feed is not None
        await self.feed.wait_live(timeout=30)
        self.log("books live: quoting")
        for ticker in self.markets:
            self.decide(ticker, 0)
        stop = stop or asyncio.Event()
        try:
            await asyncio.wait_for(stop.wait(), duration_s if duration_s > 0 else None)
        except TimeoutError:
            pass

    async def close(self) -> None:
        """Cancel everything (kill switch), verify nothing rests, delete the session's order groups,
        close the feed and the client. Never raises for a failed REST call: the result is in
        :attr:`kill_result` (and :attr:`left_resting`)."""
        self.stopping = True
        for slot in self.slots.values():
            self.armed_slots.disarm(slot)
        try:
            if self.groups or self.orders:
                reason = "shutdown" if self.halted is None else self.halted
                self.left_resting = await self.risk.kill_switch(reason)
                if self.left_resting == 0:
                    await self.delete_groups()
        finally:
            for t in list(self._tasks):
                t.cancel()
            if self.guard is not None:  # not verified: the guard pulls (a second chance)
                self.guard.close(clean=self.left_resting == 0)
            self.lock.release()
            try:
                if self.feed is not None:
                    await self.feed.__aexit__(None, None, None)
            finally:
                await self.rest.close()
                await self._session.close()

    async def delete_groups(self, groups: Any = None, attempts: int = 3) -> int:
        """Delete order groups (default: the session's, once nothing of it rests); return how many.

        A failure is retried ``attempts`` times with backoff, then logged (a group left behind is
        deleted by the next session's sweep).
        """
        deleted = 0
        for group in list(self.groups.values() if groups is None else groups):
            backoff = Backoff(base_s=0.1, cap_s=1.0)
            for _ in range(attempts):
                try:
                    await self.rest.delete_order_group(group, subaccount=self.sub)
                    deleted += 1
                    break
                except RejectedError:  # gone already
                    break
                except Exception as exc:  # noqa: BLE001 - retried, then left to the next sweep
                    self.log(f"deleting order group {group} failed: {exc!r}")
                    await asyncio.sleep(backoff.next_wait())
        if groups is None:
            self.groups.clear()
        self.counts["groups_deleted"] += deleted
        return deleted

    def spawn(self, coro: Any) -> None:
        """Run ``coro`` as a task the maker cancels at close."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def spawn_now(self, coro: Any) -> None:
        """Run ``coro`` at once up to its first suspension (the write), then as a task."""
        task = eager_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def quotable(self, ticker: str) -> bool:
        """Whether ``ticker`` may be quoted now (book LIVE, tradable, not closing, not halted)."""
        feed = self.feed
        if self.halted or self.stopping or feed is None:
            return False
        if not (feed.books[ticker].is_live and feed.is_tradable(ticker)):
            return False
        close = self.markets[ticker].close_time_ns
        if close and time.time_ns() >= close - int(self.config.strategy.stop_before_close_s * 1e9):
            return False
        return True

    def _on_read(self, tickers: list[str]) -> None:
        applied_ns = time.monotonic_ns()  # every frame of the read is in the books by now
        feed = self.feed
        read_ns = feed.listener.last_recv_ns if feed is not None else applied_ns
        ts_ms = (feed.books.last_ts_ms or 0) if feed is not None else 0
        markets = self.markets
        for ticker in tickers:
            if ticker in markets:
                self.decide(ticker, read_ns, applied_ns, ts_ms)
        if self._soon:
            self._decide_soon_now(tickers)

    def decide_soon(self, ticker: str) -> None:
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
                self.decide(ticker, 0)

    def decide(self, ticker: str, read_ns: int, applied_ns: int = 0, exchange_ts_ms: int = 0) -> None:
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
        if self.quotable(ticker):
            pos = info.start_position + self.ledger.market(ticker).position
            bid, ask, info.fair = self.strategy.targets(book, info.grid, pos, self.order_manager.own(ticker))
            bid, ask = self.risk.limit(ticker, pos, bid, ask)
        now = time.monotonic_ns()
        bid_slot, ask_slot = info.slots
        for slot, target in ((bid_slot, bid), (ask_slot, ask)):
            slot.target = target
            if slot.busy and target is not None and target == slot.sent_target:
                continue  # the write in flight is this decision already
            if self.order_manager.needs_work(slot):
                if read_ns:  # a decision no read caused keeps the timing of the read that did
                    slot.read_ns, slot.applied_ns, slot.decided_ns = read_ns, applied_ns, now
                    slot.exchange_ts_ms = exchange_ts_ms
                    slot.queued = slot.busy
                if not slot.busy:
                    self.armed_slots.disarm(slot)  # this write is Python's: what the slot reserved goes back
                    slot.busy = True
                    sent = self.order_manager.amend_now(slot)
                    if sent is not None:
                        self.spawn(self.order_manager.work(slot, sent))
                    else:
                        self.spawn_now(self.order_manager.work(slot))
        if self.quoter is not None:
            try:
                self.armed_slots.rearm(info)
            except Exception as exc:  # noqa: BLE001 - inside the feed's callbacks: halt, never raise
                self.risk.halt(f"arming the compiled amends of {ticker}: {exc!r}")

    def marks(self) -> dict[str, float | None]:
        """Mark prices (fair value) per market."""
        return {t: m.fair for t, m in self.markets.items()}

    async def _housekeeping(self) -> None:
        """Every 0.25 s: reconcile (after a reconnect, and every ``reconcile_s``), check risk, decide."""
        last_rec = time.monotonic()
        while True:
            await asyncio.sleep(0.25)
            assert self.feed is not None
            self.wall_offset_ns = time.time_ns() - time.monotonic_ns()
            reconnects = self.feed.counts.get("reconnects", 0)
            try:
                if reconnects != self._reconnects:
                    self._reconnects = reconnects
                    self.counts["reconnects_seen"] = reconnects
                    await self.feed.wait_live(timeout=30)
                    self.log("reconnected: reconcile")
                    await self.risk.reconcile("after reconnect")
                    last_rec = time.monotonic()
                elif time.monotonic() - last_rec >= self.config.reconcile_s:
                    await self.risk.reconcile()
                    last_rec = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - retried next round
                self.log(f"reconcile failed: {exc!r}")
            self.risk.check_loss()
            for info in self.markets.values():
                self.risk.check_ws_position(info)
            for ticker in self.markets:
                self.decide(ticker, 0)

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
            for side in OrderSide:
                live = self.slots[(ticker, side)].live
                quotes[side.value] = None if live is None else (live.price_bp, live.size, live.state.value)
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

    async def kill_switch(self, reason: str) -> int:
        """Trigger every order group, cancel-all if anything still rests, verify.

        See :meth:`centbook.mm.risk.Risk.kill_switch`.

        Returns
        -------
        int
            Orders still resting afterwards (0 on success).
        """
        return await self.risk.kill_switch(reason)

    async def reconcile(self, why: str = "periodic") -> list[str]:
        """Backfill fills over REST, compare positions; see :meth:`centbook.mm.risk.Risk.reconcile`.

        Returns
        -------
        list of str
            Differences found (empty when everything agrees).
        """
        return await self.risk.reconcile(why)
