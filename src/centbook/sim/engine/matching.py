"""The exchange's books: resting orders by price and time, crossing, and the trades they make.

Each market keeps one YES book (:attr:`Market.bids` and :attr:`Market.asks`, queues of
:class:`Order` by YES price); an ``ASK`` is a NO bid at ``10000 - price``. An incoming order
crosses the opposite side best price first, oldest first; self-trade prevention cancels the taker
(``taker_at_cross``) or the resting maker (``maker``).

Parts: :class:`Matcher` (rest, unrest, cancel, match, execute, queue position).
"""

from __future__ import annotations

from collections.abc import Callable

from centbook.book import OrderSide
from centbook.sim.engine.accounts import Ledger
from centbook.sim.engine.bus import EventBus, IdSource
from centbook.sim.engine.records import Clock, EngineFill, Market, Order, OrderGroup, Trade

__all__ = ["Matcher"]

_BID = OrderSide.BID  # a module constant: read on every order, cheaper than the class attribute


def _no_group_check(group: OrderGroup) -> None:
    """The group check until the exchange connects its order groups."""


class Matcher:
    """Resting orders in the books and the trades between them.

    Parameters
    ----------
    markets : dict
        The exchange's markets by ticker.
    groups : dict
        The exchange's order groups by id (a fill counts toward its order's group).
    clock, ids, bus, ledger
        The exchange clock, its id source, its event bus and its money.

    Attributes
    ----------
    check_group : callable
        ``check_group(group)`` after a match filled orders of ``group``; the exchange sets it
        to :meth:`OrderGroups.check` (which cancels through this matcher).
    """

    def __init__(
        self,
        markets: dict[str, Market],
        groups: dict[str, OrderGroup],
        clock: Clock,
        ids: IdSource,
        bus: EventBus,
        ledger: Ledger,
    ) -> None:
        self.markets = markets
        self.groups = groups
        self.clock = clock
        self.ids = ids
        self.bus = bus
        self.ledger = ledger
        self.check_group: Callable[[OrderGroup], None] = _no_group_check

    # -- reading ------------------------------------------------------------------------------------
    @staticmethod
    def resting(market: Market) -> list[Order]:
        """Return every resting order of ``market`` (bids, then asks)."""
        return [o for lv in (market.bids, market.asks) for q in lv.values() for o in q]

    def queue_position(self, order: Order) -> int:
        """Return the size resting ahead of ``order`` at its price (0 if it is not resting)."""
        if order.status != "resting":
            return 0
        market = self.markets[order.ticker]
        book = market.bids if order.side == _BID else market.asks
        ahead = 0
        for o in book.get(order.price_bp, []):
            if o is order:
                break
            ahead += o.remaining
        return ahead

    def crosses(self, market: Market, side: OrderSide, price_bp: int) -> bool:
        """Return whether an order at ``price_bp`` would trade with the opposite side now."""
        if side == _BID:
            best = market.best_ask()
            return best is not None and best <= price_bp
        best = market.best_bid()
        return best is not None and best >= price_bp

    def fillable(self, market: Market, order: Order) -> int:
        """Return how much of ``order`` could fill now, counting whole resting orders up to its size."""
        total = 0
        for _price, queue in self._crossing_levels(market, order):
            for resting in queue:
                if resting.user_id == order.user_id:
                    if order.stp == "taker_at_cross":
                        return total
                    continue
                total += resting.remaining
                if total >= order.remaining:
                    return total
        return total

    @staticmethod
    def _crossing_levels(market: Market, order: Order) -> list[tuple[int, list[Order]]]:
        if order.side == _BID:
            prices = sorted(p for p in market.asks if p <= order.price_bp)
            return [(p, market.asks[p]) for p in prices]
        prices = sorted((p for p in market.bids if p >= order.price_bp), reverse=True)
        return [(p, market.bids[p]) for p in prices]

    # -- the book -----------------------------------------------------------------------------------
    def rest(self, market: Market, order: Order) -> None:
        """Put ``order`` at the back of its level."""
        book = market.bids if order.side == _BID else market.asks
        book.setdefault(order.price_bp, []).append(order)
        self.ledger.set_reserve(order, market)
        market.note_quote(self.clock.now_ns())
        self.bus.emit_delta(market, order, order.remaining, order)

    def unrest(self, market: Market, order: Order, size: int) -> None:
        """Remove ``size`` of a resting order from its level (the whole order if it empties)."""
        book = market.bids if order.side == _BID else market.asks
        order.remaining -= size
        if order.remaining == 0:
            queue = book.get(order.price_bp, [])
            if order in queue:
                queue.remove(order)
            if not queue:
                book.pop(order.price_bp, None)
        market.note_quote(self.clock.now_ns())
        self.bus.emit_delta(market, order, -size, order)

    def cancel(self, order: Order, reason: str) -> int:
        """Cancel a resting order for ``reason``; return the size removed (0 if not resting)."""
        if order.status != "resting":
            return 0
        market = self.markets[order.ticker]
        size = order.remaining
        if size:
            self.unrest(market, order, size)
        order.status = "canceled"
        order.updated_ns = self.clock.now_ns()
        order.last_update_reason = reason
        self.ledger.set_reserve(order, market)
        self.bus.emit_order(order)
        self.ledger.touch()
        return size

    # -- trading ------------------------------------------------------------------------------------
    def match(self, market: Market, taker: Order, fills: list[EngineFill]) -> None:
        """Trade ``taker`` against the opposite side; append its fills to ``fills``."""
        book = market.asks if taker.side == _BID else market.bids
        touched_groups: set[str] = set()
        for price, queue in self._crossing_levels(market, taker):
            while queue and taker.remaining > 0:
                maker = queue[0]
                if maker.user_id == taker.user_id:
                    if taker.stp == "taker_at_cross":
                        taker.remaining = 0
                        taker.status = "canceled"
                        taker.last_update_reason = "SelfTradeCancel"
                        break
                    self.cancel(maker, "SelfTradeCancel")
                    continue
                size = min(taker.remaining, maker.remaining)
                self._execute(market, taker, maker, price, size, fills)
                self._count_for_groups(taker, maker, size, touched_groups)
                if maker.remaining == 0:
                    queue.pop(0)
                    maker.status = "executed"
                    self.ledger.set_reserve(maker, market)
                    self.bus.emit_order(maker)
            if not queue:
                book.pop(price, None)
            if taker.remaining == 0 or taker.status != "resting":
                break
        market.note_quote(self.clock.now_ns())
        for gid in touched_groups:
            group = self.groups.get(gid)
            if group is not None:
                self.check_group(group)

    def _count_for_groups(self, taker: Order, maker: Order, size: int, touched: set[str]) -> None:
        for o in (taker, maker):
            group = self.groups.get(o.order_group_id) if o.order_group_id else None
            if group is not None:
                group.window.append((self.clock.now_ns(), size))
                touched.add(group.order_group_id)

    def _execute(
        self, market: Market, taker: Order, maker: Order, price_bp: int, size: int, fills: list[EngineFill]
    ) -> None:
        now = self.clock.now_ns()
        trade_id = self.ids.uuid()
        # the maker's resting level shrinks (YES book side of the maker)
        for order in (maker, taker):
            order.remaining -= size
            order.filled += size
            order.updated_ns = now
            order.last_update_reason = "Trade"
        self.ledger.set_reserve(maker, market)
        bus = self.bus
        bus.emit_delta(market, maker, -size, taker)
        opened_before = market.open_interest
        for order, is_taker in ((taker, True), (maker, False)):
            fill, pos = self.ledger.book_fill(market, order, is_taker, price_bp, size, trade_id, now)
            if is_taker:
                fills.append(fill)
            bus.emit("fill", {"fill": fill}, order.user_id)
            if bus.listeners["position"]:
                bus.emit_position(market.ticker, order.user_id, order.subaccount, pos)
        # open interest counts contracts once (YES holders), the loop above counted both sides
        market.open_interest = opened_before + (market.open_interest - opened_before) // 2
        market.last_price_bp = price_bp
        market.volume += size
        trade = Trade(trade_id, market.ticker, price_bp, size, taker.side, now, market.open_interest)
        market.trades.append(trade)
        bus.emit("trade", {"trade": trade})
