"""Order books written the way people write them today, for side-by-side benchmarks.

Each has ``apply_delta(side, price_bp, delta)`` and ``best_bid(side)`` and ``levels(side)``
(ascending ``(price, size)``), so one loop drives them all.
"""
from __future__ import annotations

from sortedcontainers import SortedDict


class DictBook:
    """The tutorial approach: a dict per side and ``max()`` for the best bid."""

    def __init__(self, yes=(), no=()):
        self.sides = (dict(yes), dict(no))

    def apply_delta(self, side, price, delta):
        levels = self.sides[side]
        new = levels.get(price, 0) + delta
        if new:
            levels[price] = new
        else:
            del levels[price]
        return new

    def best_bid(self, side):
        levels = self.sides[side]
        if not levels:
            return None
        price = max(levels)
        return (price, levels[price])

    def levels(self, side):
        return sorted(self.sides[side].items())


class SortedBook(DictBook):
    """A sortedcontainers SortedDict per side: O(log n) updates, best bid by ``peekitem``."""

    def __init__(self, yes=(), no=()):
        self.sides = (SortedDict(yes), SortedDict(no))

    def best_bid(self, side):
        levels = self.sides[side]
        return levels.peekitem(-1) if levels else None

    def levels(self, side):
        return list(self.sides[side].items())


class BmosconBook:
    """bmoscon's ``order-book`` C extension (pip ``order-book``, import ``order_book``).

    Its ``OrderBook`` keeps ``bids`` and ``asks`` as C sorted dicts; a Kalshi book has two bid
    ladders (YES and NO), so each side is one ``order_book.SortedDict(ordering="DESC")`` and the
    best bid is ``index(0)``: the highest key, kept sorted by the C code.
    """

    def __init__(self, yes=(), no=()):
        from order_book import SortedDict as CSortedDict

        self.sides = (CSortedDict(ordering="DESC"), CSortedDict(ordering="DESC"))
        for levels, src in zip(self.sides, (yes, no), strict=True):
            for price, size in src:
                levels[price] = size

    def apply_delta(self, side, price, delta):
        levels = self.sides[side]
        new = (levels[price] if price in levels else 0) + delta   # its SortedDict has no get()
        if new:
            levels[price] = new
        else:
            del levels[price]
        return new

    def best_bid(self, side):
        levels = self.sides[side]
        return levels.index(0) if len(levels) else None

    def levels(self, side):
        return sorted(self.sides[side].to_dict().items())
