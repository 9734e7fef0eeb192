"""The market maker: start-up over REST, quoting on every socket read, an order manager, risk.

Flow of one decision: the feed's read listener (inside picows' callback, synchronous) gets the
changed tickers; for each quoted market the strategy computes bid/ask targets from the book in
memory (never REST); each quote slot (market, side) has at most one in-flight write, run by a
task that walks the slot to its target: cancel first, then create. Priorities (cancels before
creates) are the REST client's budget queue's.

Order states: PENDING (create in flight) -> RESTING -> CANCELING -> DONE, or UNKNOWN when a write's
outcome is unknown (resolved from ``user_orders`` first, REST second).

Latency per decision (monotonic ns): first frame of the socket read -> book applied (the feed's
own histogram) -> decision -> request handed to the REST client (the "written" hook: the moment
the create/cancel coroutine is started) -> response. ``tick_to_trade`` is read -> written; it
includes waiting for the slot's previous in-flight write, not the minimum quote life (a write
released by that timer is not timed).

Usage::

    async with MarketMaker(config, rest_url, ws_url, credentials) as mm:
        await mm.run(duration_s=60)
    print(mm.summary())
"""
from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass, field
from typing import Any

from centbook.book import BookState
from centbook.errors import OutcomeUnknownError, RejectedError
from centbook.feed import Feed, FeedConfig, StateChange
from centbook.grid import PriceGrid
from centbook.messages import Fill, MarketLifecycleV2, UserOrder
from centbook.metrics import Histogram
from centbook.mm.config import MMConfig
from centbook.mm.ledger import Ledger
from centbook.mm.strategy import Quote, Strategy
from centbook.rest import RestClient

__all__ = ["OrderState", "LiveOrder", "Slot", "MarketMaker"]

CHANNELS = ["fill", "user_orders", "market_positions", "order_group_updates", "market_lifecycle_v2"]
_DONE_STATUSES = {"canceled", "executed", "expired"}


class OrderState(enum.Enum):
    """Per-order state of the order manager."""

    PENDING = "pending"
    RESTING = "resting"
    CANCELING = "canceling"
    UNKNOWN = "unknown"
    DONE = "done"


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


@dataclass
class Slot:
    """A quote slot: one side of one market; at most one write in flight."""

    ticker: str
    side: str
    live: LiveOrder | None = None
    target: Quote | None = None
    busy: bool = False
    read_ns: int = 0
    decided_ns: int = 0
    writes: int = 0


@dataclass
class MarketInfo:
    """Metadata read at start-up."""

    ticker: str
    grid: PriceGrid
    shard: int
    close_time_ns: int | None
    start_position: int = 0
    fair: float | None = None
    drift: int = 0


@dataclass
class _Latency:
    read_to_decision: Histogram = field(default_factory=lambda: Histogram("read_to_decision"))
    decision_to_written: Histogram = field(default_factory=lambda: Histogram("decision_to_written"))
    tick_to_trade: Histogram = field(default_factory=lambda: Histogram("tick_to_trade"))
    written_to_response: Histogram = field(default_factory=lambda: Histogram("written_to_response"))


class MarketMaker:
    """Quote a set of markets on Kalshi (or the sim) with limits, reconciliation and a kill switch.

    Parameters
    ----------
    config : MMConfig
    rest_url, ws_url : str
        ``.../trade-api/v2`` and the WebSocket URL.
    credentials : centbook.Credentials
    feed_config : FeedConfig, optional
    """

    def __init__(self, config: MMConfig, rest_url: str, ws_url: str, credentials: Any,
                 feed_config: FeedConfig | None = None) -> None:
        self.config = config
        self.credentials = credentials
        self.sub = config.subaccount
        self.prefix = f"{config.client_order_id_root}{int(time.time()) % 100000:05d}"
        self.rest = RestClient(rest_url, credentials, client_order_id_prefix=self.prefix)
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
        self.counts = {"creates": 0, "cancels": 0, "rejects": 0, "unknown": 0, "swept": 0,
                       "reconciles": 0, "pulls": 0, "fills": 0, "reconnects_seen": 0}
        self.events: list[str] = []
        self.started_wall = time.time()
        self.started = time.monotonic()
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
                                              m.exchange_index, m.close_time_ns)
            for side in ("bid", "ask"):
                self.slots[(ticker, side)] = Slot(ticker, side)
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
            self._decide(ticker, time.monotonic_ns())
        stop = stop or asyncio.Event()
        try:
            await asyncio.wait_for(stop.wait(), duration_s if duration_s > 0 else None)
        except TimeoutError:
            pass

    async def close(self) -> None:
        """Cancel everything (kill switch), verify nothing rests, close the feed and the client."""
        self._stopping = True
        try:
            if self.groups:
                self.left_resting = await self.kill_switch("shutdown" if self.halted is None else self.halted)
        finally:
            for t in list(self._tasks):
                t.cancel()
            if self.feed is not None:
                await self.feed.__aexit__(None, None, None)
            await self.rest.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
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
        for side in ("bid", "ask"):
            live = self.slots[(ticker, side)].live
            if live is not None and live.state in (OrderState.RESTING, OrderState.CANCELING):
                own[live.price_bp] = own.get(live.price_bp, 0) + live.size
        return own

    def _on_read(self, tickers: list[str]) -> None:
        feed = self.feed
        read_ns = feed.listener.last_recv_ns if feed is not None else time.monotonic_ns()
        for ticker in tickers:
            if ticker in self.markets:
                self._decide(ticker, read_ns)

    def _decide(self, ticker: str, read_ns: int) -> None:
        assert self.feed is not None
        info = self.markets[ticker]
        bid = ask = None
        if self._quotable(ticker):
            pos = info.start_position + self.ledger.market(ticker).position
            bid, ask, info.fair = self.strategy.targets(self.feed.books[ticker], info.grid, pos,
                                                        self._own(ticker))
            bid, ask = self._limit(ticker, pos, bid, ask)
        now = time.monotonic_ns()
        for side, target in (("bid", bid), ("ask", ask)):
            slot = self.slots[(ticker, side)]
            slot.target = target
            if self._needs_work(slot):
                slot.read_ns, slot.decided_ns = read_ns, now
                self.latency.read_to_decision.record(now - read_ns)
                if not slot.busy:
                    slot.busy = True
                    self._spawn(self._work(slot))

    def _limit(self, ticker: str, pos: int, bid: Quote | None, ask: Quote | None
               ) -> tuple[Quote | None, Quote | None]:
        r = self.config.risk
        total = sum(abs(m.start_position + self.ledger.market(t).position) for t, m in self.markets.items())
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
    async def _work(self, slot: Slot) -> None:
        """Walk one slot to its target, one write at a time."""
        try:
            while not self.halted or slot.live is not None:
                live, target = slot.live, slot.target
                if live is not None and live.state is OrderState.DONE:
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
                    await self._cancel(slot, live)
                    continue
                break
        except Exception as exc:  # noqa: BLE001 - a slot's failure halts rather than dies silently
            self._halt(f"order manager error on {slot.ticker} {slot.side}: {exc!r}")
        finally:
            slot.busy = False

    def _written(self, slot: Slot) -> int:
        """The "request written" hook: the write is handed to the REST client now."""
        t = time.monotonic_ns()
        if slot.read_ns:
            self.latency.decision_to_written.record(t - slot.decided_ns)
            self.latency.tick_to_trade.record(t - slot.read_ns)
            slot.read_ns = 0
        return t

    async def _create(self, slot: Slot, q: Quote) -> None:
        info = self.markets[slot.ticker]
        coid = self.rest.new_client_order_id()
        order = LiveOrder(slot.ticker, slot.side, q.price_bp, q.size, coid, placed_at=time.monotonic())
        slot.live = order
        slot.writes += 1
        t = self._written(slot)
        try:
            res = await self.rest.create_order(
                slot.ticker, slot.side, q.price_bp, q.size, client_order_id=coid, exchange_index=info.shard,
                post_only=self.config.strategy.post_only, order_group_id=self.groups.get(info.shard),
                cancel_order_on_pause=self.config.cancel_order_on_pause, subaccount=self.sub)
        except RejectedError as exc:
            self.counts["rejects"] += 1
            slot.live = None
            if self.counts["rejects"] % 20 == 1:
                self.log(f"create rejected on {slot.ticker} {slot.side} @{q.price_bp}: {exc}")
            await asyncio.sleep(0.05)
            return
        except OutcomeUnknownError:
            self.counts["unknown"] += 1
            order.state = OrderState.UNKNOWN
            return
        self.latency.written_to_response.record(time.monotonic_ns() - t)
        self.counts["creates"] += 1
        order.order_id = res.order_id
        self.orders[res.order_id] = order
        order.size = res.remaining_count
        order.state = OrderState.RESTING if res.remaining_count > 0 else OrderState.DONE

    async def _cancel(self, slot: Slot, order: LiveOrder) -> None:
        order.state = OrderState.CANCELING
        slot.writes += 1
        t = self._written(slot)
        try:
            await self.rest.cancel_order(order.order_id, ticker=order.ticker,
                                         exchange_index=self.markets[order.ticker].shard, subaccount=self.sub)
            self.latency.written_to_response.record(time.monotonic_ns() - t)
            self.counts["cancels"] += 1
        except RejectedError:
            pass  # already gone (filled or canceled): user_orders/REST say which
        except OutcomeUnknownError:
            self.counts["unknown"] += 1
            order.state = OrderState.UNKNOWN
            return
        order.state = OrderState.DONE
        slot.live = None

    async def _resolve(self, slot: Slot) -> None:
        """An UNKNOWN order: give user_orders a moment, then ask REST."""
        order = slot.live
        assert order is not None
        for _ in range(20):
            if order.state is not OrderState.UNKNOWN:
                return
            await asyncio.sleep(0.025)
        found = None
        async for o in self.rest.get_orders(ticker=order.ticker, subaccount=self.sub):
            if o.client_order_id == order.client_order_id:
                found = o
                break
        if found is None or found.status != "resting":
            order.state = OrderState.DONE
            if found is not None:
                self.orders[found.order_id] = order
            slot.live = None
        else:
            order.order_id = found.order_id
            order.size = found.remaining_count
            order.state = OrderState.RESTING
            self.orders[found.order_id] = order

    # ------------------------------------------------------------------ events
    def _on_state(self, change: StateChange) -> None:
        if change.ticker in self.markets:
            if change.new is not BookState.LIVE:
                self.counts["pulls"] += 1
            self._decide(change.ticker, time.monotonic_ns())

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, Fill):
            b = msg.msg
            self._apply_fill(b.trade_id, b.order_id, b.market_ticker, b.book_side, b.yes_price_bp,
                             b.count_c100, b.fee_cost_micro or 0)
        elif isinstance(msg, UserOrder):
            b = msg.msg
            order = self.orders.get(b.order_id)
            if order is None:
                for o in (s.live for s in self.slots.values()):
                    if o is not None and o.client_order_id == b.client_order_id:
                        order = o
                        order.order_id = b.order_id
                        self.orders[b.order_id] = o
            if order is not None:
                order.size = b.remaining_count_c100
                if b.status in _DONE_STATUSES or b.remaining_count_c100 == 0:
                    order.state = OrderState.DONE
                    slot = self.slots.get((order.ticker, order.side))
                    if slot is not None and slot.live is order and not slot.busy:
                        slot.live = None
                elif order.state is OrderState.UNKNOWN:
                    order.state = OrderState.RESTING
                self._decide(order.ticker, time.monotonic_ns())
        elif isinstance(msg, MarketLifecycleV2):
            ticker = getattr(msg.msg, "market_ticker", None)
            if ticker in self.markets:
                self.log(f"lifecycle {ticker}: {getattr(msg.msg, 'event_type', '?')}")
                self._decide(ticker, time.monotonic_ns())

    def _apply_fill(self, trade_id: str, order_id: str, ticker: str, book_side: str | None,
                    price_bp: int, count: int, fee: int) -> None:
        order = self.orders.get(order_id)
        if order is None or ticker not in self.markets:
            return  # not this session's
        side = order.side or book_side or "bid"
        if self.ledger.apply(trade_id, order_id, ticker, side, price_bp, count, fee):
            self.counts["fills"] += 1

    # ------------------------------------------------------------------ risk, reconciliation
    def _halt(self, reason: str) -> None:
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
            for ticker in self.markets:
                self._decide(ticker, time.monotonic_ns())

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
            "counts": dict(self.counts), "reconnects": feed.counts.get("reconnects", 0) if feed else 0,
            "latency_ns": {name: getattr(self.latency, name).summary()
                           for name in ("read_to_decision", "decision_to_written", "tick_to_trade",
                                        "written_to_response")},
            "read_to_book_applied_ns": metrics.get("read_to_book_applied"),
        }
