"""The live maker's quoting decisions, on the backtest's clock.

For each market, on every book change, :meth:`Quoting.decide` runs what
:meth:`centbook.mm.maker.MarketMaker.decide` runs live: the market quotable (book LIVE, not
within ``stop_before_close_s`` of its close, no halt), the targets of the maker's
:class:`~centbook.mm.strategy.Strategy` (with ``compiled``, the compiled requote arithmetic of
:class:`centbook.mm.quoter.Quoter` first, the Python strategy where it declines, as live), the
position limits of :meth:`centbook.mm.risk.Risk.limit` itself (this class offers it the
``config``, ``markets`` and ``ledger`` it reads of a maker), then per side: create where nothing
rests, cancel where the target is gone, and where :meth:`Strategy.should_requote` says so an amend (or, with
``requote = "cancel_create"`` or a target that would cross, a cancel and then a create), at
most one write in flight per side and none before ``min_quote_life_s``.

A decision whose inputs are those of the market's previous one (whether it is quotable, the top
level of each side, and no answer, fill or timer since) would make the same writes, none, and is
skipped: the targets read only the top levels, as no order of ours is in the recorded book.

The strategy sees what a live maker would: the book as recorded (delayed by the data latency,
see :mod:`centbook.backtest.engine`), and its own orders and position as the exchange's answers
report them.

Parts: :class:`Slot`, :class:`Quoting`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from centbook.backtest.exchange import ASK, BID
from centbook.mm.config import MMConfig
from centbook.mm.ledger import Ledger
from centbook.mm.orders import MarketInfo
from centbook.mm.quoter import ArmedAmend, Quoter
from centbook.mm.risk import Risk
from centbook.mm.strategy import Quote, Strategy

__all__ = ["Quoting", "Slot"]

_FULL = 10_000


@dataclass
class Slot:
    """One side of one market, as the strategy knows it."""

    ticker: str
    side: int
    order_id: int | None = None
    live: Quote | None = None
    busy: bool = False
    placed_ns: int = 0
    wake_ns: int = 0


class Quoting:
    """Quote decisions for the markets of a backtest.

    Parameters
    ----------
    config : MMConfig
    compiled : bool
        Targets from the compiled requote arithmetic (the Python strategy where it declines).
    send : callable
        ``send(t_ns, slot, action, quote)``: a write leaves now (action ``create``, ``amend`` or
        ``cancel``); the engine delivers it after the entry latency.
    wake : callable
        ``wake(t_ns, ticker)``: decide again at ``t_ns`` (the minimum quote life ends).
    """

    def __init__(self, config: MMConfig, compiled: bool, send: Callable[[int, Slot, str, Quote | None], None],
                 wake: Callable[[int, str], None]) -> None:
        self.config = config
        self.strategy = Strategy(config.strategy)
        self.quoter = Quoter() if compiled else None
        self.send = send
        self.wake = wake
        self.slots: dict[str, tuple[Slot, Slot]] = {}
        self.ledger = Ledger()                  # the fills as reported to the strategy
        self.markets: dict[str, MarketInfo] = {}
        self.risk = Risk(self)                  # type: ignore[arg-type] - reads config, markets, ledger
        self.halted: str | None = None
        self.compiled_targets = 0
        self.python_targets = 0
        self._armed: dict[str, ArmedAmend] = {}
        self._seen: dict[str, tuple[Any, ...]] = {}    # the inputs of each market's last decision

    def slots_of(self, ticker: str) -> tuple[Slot, Slot]:
        """The (bid, ask) slots of ``ticker`` (created idle)."""
        pair = self.slots.get(ticker)
        if pair is None:
            pair = self.slots[ticker] = (Slot(ticker, BID), Slot(ticker, ASK))
        return pair

    def quotable(self, ticker: str, book: Any, now_ns: int) -> bool:
        """Whether ``ticker`` may be quoted at ``now_ns`` (LIVE book, not closing, no halt)."""
        if self.halted or not book.is_live:
            return False
        info = self.markets.get(ticker)
        close = info.close_time_ns if info is not None else 0
        return not (close and now_ns >= close - int(self.config.strategy.stop_before_close_s * 1e9))

    def targets(self, ticker: str, book: Any, position: int) -> tuple[Quote | None, Quote | None]:
        """The strategy's targets, through the compiled arithmetic when it is on."""
        size = self.config.strategy.size
        if self.quoter is not None:
            a = self._armed.get(ticker)
            if a is None or a.book is not book or a.grid is not book.grid:
                a = self._armed[ticker] = self._arm(book)
            a.position = position
            got = self.quoter.targets(a)
            if got is not None:
                self.compiled_targets += 1
                return Quote(got[0], size), Quote(got[1], size)
        self.python_targets += 1
        bid, ask, _fair = self.strategy.targets(book, book.grid, position, {})
        return bid, ask

    def _arm(self, book: Any) -> ArmedAmend:
        c = self.config.strategy
        a = ArmedAmend()
        a.book, a.grid = book, book.grid
        a.half_spread_bp = float(c.half_spread_bp)
        a.skew_bp_per_contract = float(c.skew_bp_per_contract)
        return a

    def market(self, ticker: str, grid: Any, close_time_ns: int | None = None) -> MarketInfo:
        """The market's entry (created from its metadata; the close time updated)."""
        info = self.markets.get(ticker)
        if info is None:
            info = self.markets[ticker] = MarketInfo(ticker, grid, 0, close_time_ns)
        elif close_time_ns:
            info.close_time_ns = close_time_ns
        return info

    def decide(self, ticker: str, book: Any, now_ns: int, again: bool = False) -> None:
        """Decide both sides of ``ticker`` from its book at ``now_ns`` (``again``: even when
        nothing it reads changed, as when a timer ends)."""
        if again:
            self._seen.pop(ticker, None)
        ok = self.quotable(ticker, book, now_ns)
        seen = (ok, book.best_bid_bp(0), book.best_bid_size(0), book.best_bid_bp(1), book.best_bid_size(1),
                book.grid)
        if self._seen.get(ticker) == seen:
            return
        self._seen[ticker] = seen
        bid = ask = None
        if ok:
            self.market(ticker, book.grid)
            pos = self.ledger.market(ticker).position
            bid, ask = self.risk.limit(ticker, pos, *self.targets(ticker, book, pos))
        bid_slot, ask_slot = self.slots_of(ticker)
        self._work(bid_slot, bid, book, now_ns)
        self._work(ask_slot, ask, book, now_ns)

    def _work(self, slot: Slot, target: Quote | None, book: Any, now_ns: int) -> None:
        if slot.busy:
            return
        live = slot.live
        if live is None:
            if target is not None:
                slot.busy = True
                self.send(now_ns, slot, "create", target)
            return
        if target is not None and not self.strategy.should_requote(live, target):
            return
        life_end = slot.placed_ns + int(self.config.strategy.min_quote_life_s * 1e9)
        if target is not None and now_ns < life_end:
            if slot.wake_ns != life_end:
                slot.wake_ns = life_end
                self.wake(life_end, slot.ticker)
            return
        slot.busy = True
        if target is None or not self.config.uses_amend() or self._crosses(slot.side, target, book):
            self.send(now_ns, slot, "cancel", None)
        else:
            self.send(now_ns, slot, "amend", target)

    @staticmethod
    def _crosses(side: int, target: Quote, book: Any) -> bool:
        if side == BID:
            best = book.best_bid_bp(1)
            return best >= 0 and target.price_bp >= _FULL - best
        best = book.best_bid_bp(0)
        return best >= 0 and target.price_bp <= best

    def answered(self, slot: Slot, order_id: int | None, quote: Quote | None, now_ns: int,
                 placed: bool) -> None:
        """The exchange's answer to the slot's write reached the strategy."""
        self._seen.pop(slot.ticker, None)
        slot.busy = False
        slot.order_id = order_id
        slot.live = quote
        if placed:
            slot.placed_ns = now_ns

    def filled(self, fill_id: str, ticker: str, side: int, price_bp: int, size: int, order_id: int) -> None:
        """A fill report reached the strategy: position and the slot's resting size."""
        self._seen.clear()              # the position limits look at every market's position
        self.ledger.apply(fill_id, str(order_id), ticker, "bid" if side == BID else "ask", price_bp, size, 0)
        slot = self.slots_of(ticker)[side]
        if slot.order_id == order_id and slot.live is not None:
            left = slot.live.size - size
            slot.live = Quote(slot.live.price_bp, left) if left > 0 else None
            if left <= 0:
                slot.order_id = None
