"""Quoting strategy: a fair value from the book (without our own orders), a half-spread snapped to
the grid away from fair, inventory skew.

Pluggable: any object with ``fair(book, own) -> float | None`` can replace the microprice. Example::

    class MidFair:
        def fair(self, book, own):
            bid, ask = book.best_bid(Side.YES), book.best_bid(Side.NO)  # Level or None
            return None if bid is None or ask is None else (bid[0] + 10000 - ask[0]) / 2

    maker.strategy.fair_model = MidFair()
"""
from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from centbook.book import OrderSide, Side
from centbook.mm.config import StrategyConfig

__all__ = ["FairModel", "Microprice", "Quote", "Strategy", "top_level"]


class Quote(NamedTuple):
    """A desired order: YES price in bp and size in hundredths."""

    price_bp: int
    size: int


class FairModel(Protocol):
    """A fair value in bp (float) from a book, or None when there is none."""

    def fair(self, book: Any, own: dict[int, int]) -> float | None: ...


def top_level(book: Any, side: OrderSide | str, own: dict[int, int]) -> tuple[int, int] | None:
    """Return the best level of one side after removing our own resting size.

    ``own``: YES price -> our resting size there. ``side`` :attr:`OrderSide.BID` is the YES bids;
    :attr:`OrderSide.ASK` the YES asks (NO bids, as YES prices); its wire string is taken too. Runs
    on every decision: the best level is read first (no list), the depth only when we rest there.
    """
    s = OrderSide(side).book_side
    price = book.best_bid_bp(s)
    if price < 0:
        return None
    yes = price if s == Side.YES else 10000 - price
    if yes not in own:
        return yes, book.best_bid_size(s)
    for price, size in book.depth(s, 5):
        yes = price if s == Side.YES else 10000 - price
        size -= own.get(yes, 0)
        if size > 0:
            return yes, size
    return None


class Microprice:
    """Size-weighted mid of the top levels, our own resting orders excluded."""

    def fair(self, book: Any, own: dict[int, int]) -> float | None:
        bid = top_level(book, OrderSide.BID, own)
        ask = top_level(book, OrderSide.ASK, own)
        if bid is None or ask is None:
            return None
        (pb, sb), (pa, sa) = bid, ask
        return (pb * sa + pa * sb) / (sa + sb)


class Strategy:
    """Targets for both sides of one market.

    Parameters
    ----------
    config : StrategyConfig
    fair_model : FairModel, optional
        Default :class:`Microprice`.
    """

    def __init__(self, config: StrategyConfig, fair_model: FairModel | None = None) -> None:
        self.config = config
        self.fair_model = fair_model or Microprice()

    def targets(self, book: Any, grid: Any, position: int, own: dict[int, int]
                ) -> tuple[Quote | None, Quote | None, float | None]:
        """Return (bid, ask, fair); a side is None when it should not quote."""
        fair = self.fair_model.fair(book, own)
        if fair is None:
            return None, None, None
        c = self.config
        center = fair - c.skew_bp_per_contract * position / 100.0
        try:
            bid_px = grid.round_down(max(1, int(center - c.half_spread_bp)))
        except (ValueError, OverflowError):
            bid_px = None
        try:
            ask_px = grid.round_up(min(9999, int(center + c.half_spread_bp + 0.999999)))
        except (ValueError, OverflowError):
            ask_px = None
        bid = Quote(bid_px, c.size) if bid_px is not None and 0 < bid_px < 10000 else None
        ask = Quote(ask_px, c.size) if ask_px is not None and 0 < ask_px < 10000 else None
        if bid and ask and bid.price_bp >= ask.price_bp:
            return None, None, fair
        return bid, ask, fair

    def should_requote(self, live: Quote, target: Quote) -> bool:
        """True when the target moved past the threshold or the size changed enough."""
        return (abs(live.price_bp - target.price_bp) >= self.config.requote_threshold_bp
                or abs(live.size - target.size) >= self.config.size_threshold)
