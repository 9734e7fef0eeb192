"""A plain-Python order book: the oracle the compiled book is compared against.

Written for clarity, not speed: dicts of price -> size, validity from the grid's bands with
exact integer arithmetic, the same fault rules as the compiled book (documented in
``centbook.OrderBook``), nothing shared with the compiled code but the rules.
"""
from __future__ import annotations

EMPTY, SYNCING, LIVE, GAPPED, STALE, FAULTED = range(6)


class ReferenceFault(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def valid_prices(bands: tuple[tuple[int, int, int], ...], side: int) -> set[int]:
    yes = {p for start, end, step in bands for p in range(start, end + 1, step)}
    return yes if side == 0 else {10000 - p for p in yes}


class ReferenceBook:
    def __init__(self, bands):
        self.valid = (valid_prices(bands, 0), valid_prices(bands, 1))
        self.levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.state = EMPTY
        self.generation = 0

    def _fault(self, reason: str):
        self.state = FAULTED
        raise ReferenceFault(reason)

    def apply_snapshot(self, yes, no):
        new: tuple[dict[int, int], dict[int, int]] = ({}, {})
        for side, levels in ((0, yes), (1, no)):
            for price, size in levels:
                if price not in self.valid[side]:
                    self._fault("off_grid")
                if size < 0:
                    self._fault("negative")
                if price in new[side]:
                    self._fault("duplicate")
                new[side][price] = size
        self.levels = tuple({p: s for p, s in side.items() if s > 0} for side in new)
        self.state = LIVE
        self.generation += 1

    def apply_delta(self, side: int, price: int, delta: int) -> int:
        if self.state == FAULTED:
            raise ReferenceFault("faulted")
        if self.state in (EMPTY, SYNCING):
            self._fault("no_snapshot")
        if side not in (0, 1):
            self._fault("bad_side")
        if price not in self.valid[side]:
            self._fault("off_grid")
        new = self.levels[side].get(price, 0) + delta
        if new < 0:
            self._fault("negative")
        if new:
            self.levels[side][price] = new
        else:
            self.levels[side].pop(price, None)
        return new

    def clear(self):
        self.levels = ({}, {})
        self.state = EMPTY
        self.generation += 1

    def best_bid(self, side: int):
        if not self.levels[side]:
            return None
        price = max(self.levels[side])
        return (price, self.levels[side][price])

    def best_ask(self, side: int):
        bid = self.best_bid(1 - side)
        return None if bid is None else (10000 - bid[0], bid[1])

    def depth(self, side: int, n: int):
        return sorted(self.levels[side].items(), reverse=True)[:n]

    def total_size(self, side: int) -> int:
        return sum(self.levels[side].values())
