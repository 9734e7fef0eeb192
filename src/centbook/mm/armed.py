"""The armed slots of :class:`centbook.mm.maker.MarketMaker`: what the compiled requote path
(:mod:`centbook.mm.quoter`) may write, kept in step with the order manager.

Parts: :class:`ArmedSlots` (arm, disarm, and take over what the compiled path fired).
"""
from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

from centbook.book import OrderSide
from centbook.mm.orders import MarketInfo, OrderManager, OrderState, Slot
from centbook.mm.quoter import ArmedAmend
from centbook.mm.strategy import Microprice, Quote, Strategy

if TYPE_CHECKING:  # the maker imports this module to build its part; a part only calls back
    from centbook.mm.maker import MarketMaker

__all__ = ["ArmedSlots"]

log = logging.getLogger(__name__)


class ArmedSlots:
    """Arm idle slots with a resting order for the compiled requote path; take over its writes.

    Parameters
    ----------
    mm : MarketMaker
    orders : OrderManager
        Whose slots are armed, and who takes over what fired.
    """

    def __init__(self, mm: MarketMaker, orders: OrderManager) -> None:
        self.mm = mm
        self._orders = orders
        self._slots = orders.slots

    def rearm(self, info: MarketInfo) -> None:
        """Arm the market's idle slots for :mod:`centbook.mm.quoter` as the order manager stands now,
        disarm the others; a slot armed for the same state keeps its arming (until its signature
        is half its age)."""
        assert self.mm.quoter is not None and self.mm.feed is not None
        strategy = self.mm.strategy  # the compiled decision is this one only (a model set later: Python)
        armable = (not self.mm.halted and not self.mm.stopping and type(strategy) is Strategy
                   and type(strategy.fair_model) is Microprice and self.mm.quotable(info.ticker))
        own = self._orders.own(info.ticker) if armable else {}
        pos = info.start_position + self.mm.ledger.market(info.ticker).position
        cfg = self.mm.config.strategy
        for slot in info.slots:
            live = slot.live
            key: tuple[Any, ...] = ()
            if (armable and not slot.busy and live is not None and live.state is OrderState.RESTING
                    and live.order_id and len(own) <= 2):
                q = Quote(live.price_bp, cfg.size)
                is_bid = slot.side is OrderSide.BID
                bid, ask = self.mm.risk.limit(info.ticker, pos, q if is_bid else None, None if is_bid else q)
                if (bid if is_bid else ask) is not None:
                    key = (live.order_id, live.price_bp, live.size, live.filled, live.placed_at, pos,
                           tuple(sorted(own.items())), id(info.grid))
            a = slot.armed
            if a is not None and a.armed and key and key == slot.arm_key:
                # renewed at half its signature's life (the compiled path refuses it at the end)
                if time.monotonic_ns() < a.fresh_until_ns - self.mm.rest.pool.max_age_ms * 500_000:
                    continue
            self.disarm(slot)
            if key:
                self._arm_slot(slot, info, key, own, pos)

    def _arm_slot(self, slot: Slot, info: MarketInfo, key: tuple[Any, ...], own: dict[int, int],
                  pos: int) -> None:
        assert self.mm.quoter is not None and self.mm.feed is not None and slot.live is not None
        live = slot.live
        if self.mm.amend:
            write = self.mm.rest.arm_amend(live.order_id, info.ticker, slot.side, exchange_index=live.shard,
                                           subaccount=self.mm.sub)
        else:  # cancel + create: the compiled path writes the cancel, the slot's task the create
            write = self.mm.rest.arm_cancel(live.order_id, info.ticker, exchange_index=live.shard,
                                            subaccount=self.mm.sub)
        if write is None:
            return
        try:
            a = self._armed_amend(slot, info, write, own, pos)
            self.mm.quoter.arm(a)
        except BaseException:
            self.mm.rest.disarm(write)  # the reserved connection and the signature go back
            raise
        slot.armed, slot.arm_key = a, key

    def _armed_amend(self, slot: Slot, info: MarketInfo, write: Any, own: dict[int, int],
                     pos: int) -> ArmedAmend:
        assert self.mm.feed is not None and slot.live is not None
        live, feed, cfg = slot.live, self.mm.feed, self.mm.config.strategy
        a = ArmedAmend()
        a.key, a.write = (slot.ticker, slot.side), write
        a.cancel = not self.mm.amend
        a.market = feed.books.index_of(info.ticker)
        a.side = int(slot.side.book_side)  # a C int: 0 the bid slot (YES bids), 1 the ask slot
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
        a.try_acquire, a.bucket, a.cost = self.mm.rest.budget.try_acquire, write.bucket, write.cost
        a.fresh_until_ns = write.fresh_until_ns
        return a

    def disarm(self, slot: Slot) -> None:
        """Take the slot off the compiled path; what it reserved goes back unless it fired."""
        a = slot.armed
        if a is None:
            return
        slot.armed, slot.arm_key = None, ()
        if self.mm.quoter is not None and self.mm.quoter.disarm(a):
            self.mm.rest.disarm(a.write)

    def disarm_market(self, ticker: str) -> None:
        """Disarm both slots of ``ticker``."""
        info = self.mm.markets.get(ticker)
        if info is not None:
            for slot in info.slots:
                self.disarm(slot)

    def on_fired(self, fired: list[ArmedAmend]) -> None:
        """The compiled path wrote these amends (inside the read callback): the order manager
        takes each over as an amend it wrote itself."""
        for a in fired:
            try:
                self._took_over(a)
            except Exception as exc:  # noqa: BLE001 - the bytes are out: halt, never lose them
                try:
                    self.mm.risk.halt(f"compiled amend of {(a.key[0], a.key[1].value)}: {exc!r}")
                except Exception:  # noqa: BLE001 - the next amends of the read are still taken over
                    log.exception("halting after a compiled amend failed")

    def _took_over(self, a: ArmedAmend) -> None:
        lat = self.mm.latency
        lat.compiled_python_frames.record(a.python_ns)
        lat.compiled_read_to_hook.record(a.applied_ns - a.read_ns)
        lat.compiled_hook_to_decision.record(a.decided_ns - a.applied_ns)
        lat.compiled_decision_to_request.record(a.made_ns - a.decided_ns)
        written = lat.compiled_request_to_written_later if a.nth else lat.compiled_request_to_written
        written.record(a.written_ns - a.made_ns)
        slot = self._slots[a.key]
        slot.armed, slot.arm_key = None, ()
        started = self.mm.rest.armed_sent(a.write, a.sent_ms, a.written_ns)
        live = slot.live
        assert live is not None, "an armed slot lost its order"  # every change disarms first
        q = Quote(a.fired_price, a.size)
        slot.target = slot.sent_target = q
        slot.read_ns, slot.applied_ns, slot.decided_ns = a.read_ns, a.applied_ns, a.decided_ns
        feed = self.mm.feed
        slot.exchange_ts_ms = (feed.books.last_ts_ms or 0) if feed is not None else 0
        slot.queued = False
        slot.busy = True
        counter = "cancels_compiled" if a.cancel else "amends_compiled"
        sent = self._orders.sent(slot, live, q, started, a.fired_count, counter, a.cancel)
        self.mm.spawn(self._orders.work(slot, sent))
