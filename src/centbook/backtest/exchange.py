"""The exchange model of the backtest: our orders in the recorded market.

The recorded public book and trades are the market; our orders never change them (no impact).
Each resting order of ours knows the recorded size ahead of it at its level:

- it joins the back of the level: ``ahead`` is the recorded size there when it arrives;
- a recorded trade at its price consumes the size ahead first, and what is left of the trade
  fills us (a partial fill when it is smaller than our size); a trade through our price (a
  taker who paid more than our ask, or sold below our bid) fills us up to its size;
- a decrease of the level that no trade explains is others cancelling: the
  :mod:`~centbook.backtest.queue` model says how much of it was ahead of us. Kalshi sends a
  trade's book deltas and the trade in either order within one socket read, so decreases are
  held until the receive time moves on (:meth:`ExchangeModel.settle_read`), and trades of the
  same read explain them first;
- size added to the level joins behind us.

An order that would cross the recorded book when it arrives is refused when post-only, and
otherwise takes the recorded levels up to its price (taker fills) and rests the rest. An amend
keeps the order's priority only when its price is unchanged and its size decreases (Kalshi's
rule); any other amend re-joins the back of the level. Fees: :mod:`~centbook.backtest.fees`.

Parts: :class:`SimOrder`, :class:`Fill`, :class:`ExchangeModel`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from centbook.backtest.fees import FeeAccumulator, FeeSchedule
from centbook.backtest.queue import QueueModel

__all__ = ["BID", "ASK", "ExchangeModel", "Fill", "SimOrder"]

BID, ASK = 0, 1          # our order buys YES (rests among the YES bids) or sells YES (among the NO bids)
_FULL = 10_000


@dataclass
class SimOrder:
    """One order of ours at the modelled exchange (prices are YES prices, sizes hundredths)."""

    order_id: int
    ticker: str
    side: int
    price_bp: int
    size: int                       # resting size
    post_only: bool
    fees: FeeAccumulator
    filled: int = 0
    ahead: int = 0                  # recorded size ahead of us
    level: int = 0                  # recorded size of our level when last seen
    unexplained: int = 0            # level decrease of this read no trade explained yet
    trade_credit: int = 0           # trade size of this read whose level decrease is still to come
    status: str = "resting"         # resting, canceled, executed, rejected
    placed_ns: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def book_key(self) -> tuple[int, int]:
        """``(book side, price)`` of its level in the book (YES bids; NO bids at NO prices)."""
        return (0, self.price_bp) if self.side == BID else (1, _FULL - self.price_bp)


class Fill(NamedTuple):
    """One fill of ours."""

    t_ns: int
    ticker: str
    order_id: int
    side: int           # BID: we bought YES; ASK: we sold YES
    price_bp: int
    size: int
    taker: bool
    fee_micro: int


class ExchangeModel:
    """Our orders against a replayed :class:`~centbook.books.Books`.

    Parameters
    ----------
    books : Books
        The replay's books (read only).
    queue : QueueModel
    fee_schedule : callable
        ``ticker -> FeeSchedule``.
    precision_micro : int
        Balance precision of the fee rounding.
    on_fill : callable
        Called with each :class:`Fill` as it happens.
    """

    def __init__(self, books: Any, queue: QueueModel, fee_schedule: Callable[[str], FeeSchedule],
                 precision_micro: int, on_fill: Callable[[Fill], None]) -> None:
        self.books = books
        self.queue = queue
        self.fee_schedule = fee_schedule
        self.precision = precision_micro
        self.on_fill = on_fill
        self.orders: dict[int, SimOrder] = {}
        self.resting: dict[str, list[SimOrder]] = {}
        self.next_id = 1
        self.dirty: list[SimOrder] = []

    # -- our requests ---------------------------------------------------------------------------
    def create(self, t_ns: int, ticker: str, side: int, price_bp: int, size: int,
               post_only: bool) -> SimOrder:
        """Place an order arriving at ``t_ns``; it rests, fills, or is refused (``status``)."""
        if side not in (BID, ASK) or not 0 < price_bp < _FULL or size <= 0:
            raise ValueError(f"bad order: side {side}, price {price_bp} bp, size {size}")
        order = SimOrder(self.next_id, ticker, side, price_bp, size, post_only,
                         FeeAccumulator(self.precision), placed_ns=t_ns)
        self.next_id += 1
        self.orders[order.order_id] = order
        return self._enter(t_ns, order, post_only)

    def amend(self, t_ns: int, order_id: int, price_bp: int, size: int) -> SimOrder:
        """Change a resting order's price and resting size (no post-only, as on Kalshi)."""
        order = self.orders[order_id]
        if order.status != "resting":
            return order
        if size <= 0:
            return self.cancel(t_ns, order_id)
        if price_bp == order.price_bp and size <= order.size:
            order.size = size          # priority kept
            return order
        self._leave(order)
        order.price_bp, order.size, order.placed_ns = price_bp, size, t_ns
        return self._enter(t_ns, order, False)

    def cancel(self, t_ns: int, order_id: int) -> SimOrder:
        """Cancel an order (nothing happens when it is no longer resting)."""
        order = self.orders[order_id]
        if order.status == "resting":
            self._leave(order)
            order.status = "canceled"
            order.size = 0
        return order

    # -- the recorded market --------------------------------------------------------------------
    def on_book(self, ticker: str) -> None:
        """Follow the recorded level sizes of our orders in ``ticker`` after a book frame."""
        orders = self.resting.get(ticker)
        if not orders:
            return
        book = self.books[ticker]
        for order in orders:
            side, price = order.book_key()
            now = book.size_at(side, price)
            drop = order.level - now
            order.level = now
            if drop > 0:
                explained = min(drop, order.trade_credit)
                order.trade_credit -= explained
                if drop > explained:
                    order.unexplained += drop - explained
                    self.dirty.append(order)
            if order.unexplained == 0 and order.ahead > now:
                order.ahead = now

    def on_trade(self, t_ns: int, ticker: str, yes_price_bp: int, count: int, taker_buys_yes: bool) -> None:
        """Apply a recorded trade to our orders in ``ticker``."""
        orders = self.resting.get(ticker)
        if not orders:
            return
        for order in list(orders):
            if taker_buys_yes != (order.side == ASK):
                continue
            if order.side == ASK:
                through = yes_price_bp > order.price_bp
                at = yes_price_bp == order.price_bp
            else:
                through = yes_price_bp < order.price_bp
                at = yes_price_bp == order.price_bp
            if through:
                self._fill(t_ns, order, min(count, order.size), order.price_bp, False)
            elif at:
                self._trade_at_level(t_ns, order, count)

    def settle_read(self) -> None:
        """End of a socket read: level decreases no trade explained were cancels."""
        dirty, self.dirty = self.dirty, []
        for order in dirty:
            cancelled = order.unexplained
            if cancelled <= 0:
                continue
            order.unexplained = 0
            before = order.level + cancelled
            order.ahead = max(0, self.queue.after_cancel(min(order.ahead, before), before, cancelled))
        for orders in self.resting.values():
            for order in orders:
                order.trade_credit = 0

    # -- parts ----------------------------------------------------------------------------------
    def _enter(self, t_ns: int, order: SimOrder, post_only: bool) -> SimOrder:
        """An order (new, or amended to a new place) arrives at the book: refused, takes, rests."""
        if self._crosses(order):
            if post_only:
                order.status = "rejected"
                order.size = 0
                return order
            self._take(t_ns, order)
        if order.size > 0:
            self._join(order)
        else:
            order.status = "executed"
        return order

    def _trade_at_level(self, t_ns: int, order: SimOrder, count: int) -> None:
        explained = min(count, order.unexplained)
        order.unexplained -= explained
        order.trade_credit += count - explained
        consumed = min(order.ahead, count)
        order.ahead -= consumed
        left = count - consumed
        if left > 0:
            self._fill(t_ns, order, min(left, order.size), order.price_bp, False)

    def _crosses(self, order: SimOrder) -> bool:
        book = self.books[order.ticker]
        if order.side == BID:
            best = book.best_bid_bp(1)          # NO bids: the YES asks
            return best >= 0 and order.price_bp >= _FULL - best
        best = book.best_bid_bp(0)
        return best >= 0 and order.price_bp <= best

    def _take(self, t_ns: int, order: SimOrder) -> None:
        book = self.books[order.ticker]
        other = 1 if order.side == BID else 0
        for price, size in book.depth(other, 100):
            yes = _FULL - price if order.side == BID else price
            if (order.side == BID and yes > order.price_bp) or (order.side == ASK and yes < order.price_bp):
                break
            self._fill(t_ns, order, min(size, order.size), yes, True)
            if order.size == 0:
                break

    def _join(self, order: SimOrder) -> None:
        side, price = order.book_key()
        order.level = order.ahead = self.books[order.ticker].size_at(side, price)
        order.unexplained = order.trade_credit = 0
        order.status = "resting"
        self.resting.setdefault(order.ticker, []).append(order)

    def _leave(self, order: SimOrder) -> None:
        orders = self.resting.get(order.ticker)
        if orders and order in orders:
            orders.remove(order)

    def _fill(self, t_ns: int, order: SimOrder, size: int, price_bp: int, taker: bool) -> None:
        if size <= 0:
            return
        fee = self.fee_schedule(order.ticker).trade_fee_micro(price_bp, size, taker)
        revenue = -price_bp * size if order.side == BID else price_bp * size
        net = order.fees.net_fee_micro(revenue, fee)
        order.size -= size
        order.filled += size
        if order.size == 0 and order.status == "resting":
            self._leave(order)
            order.status = "executed"
        self.on_fill(Fill(t_ns, order.ticker, order.order_id, order.side, price_bp, size, taker, net))
