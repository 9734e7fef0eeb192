"""Seeded, realistic order-book delta streams shared by every benchmark contender.

Deltas cluster near the touch (geometric distance from a slowly drifting fair price), levels
empty and refill often, and the stream is valid by construction: no level ever goes negative,
so every contender, the validated ones included, can apply all of it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

CACHE = os.path.join(os.path.dirname(__file__), "..", "build", "bench")


@dataclass(frozen=True)
class Stream:
    tick_bp: int
    sides: np.ndarray       # uint8
    prices: np.ndarray      # int32, basis points (NO side in NO-leg prices)
    deltas: np.ndarray      # int64, hundredths
    snapshot_yes: list[tuple[int, int]]
    snapshot_no: list[tuple[int, int]]

    def __len__(self) -> int:
        return len(self.sides)

    def as_lists(self) -> tuple[list[int], list[int], list[int]]:
        return self.sides.tolist(), self.prices.tolist(), self.deltas.tolist()


def make_stream(n: int = 1_000_000, tick_bp: int = 100, seed: int = 20261124) -> Stream:
    path = os.path.join(CACHE, f"stream-{n}-{tick_bp}-{seed}.npz")
    if os.path.exists(path):
        data = np.load(path)
        snap_yes = [tuple(x) for x in data["snap_yes"].tolist()]
        snap_no = [tuple(x) for x in data["snap_no"].tolist()]
        return Stream(tick_bp, data["sides"], data["prices"], data["deltas"], snap_yes, snap_no)
    rng = np.random.default_rng(seed)
    # draw the randomness in bulk; the loop only keeps the levels valid
    side_draw = rng.integers(0, 2, n)
    dist_draw = rng.geometric(0.35, n) - 1
    kind_draw = rng.random(n)
    size_draw = rng.integers(1, 50_000, n)
    drift = np.cumsum(rng.integers(-1, 2, n) * (rng.random(n) < 0.02))
    fair0 = 5000
    levels: list[dict[int, int]] = [{}, {}]
    snap: list[list[tuple[int, int]]] = [[], []]
    for side in (0, 1):
        for k in range(1, 25):
            p = (fair0 if side == 0 else 10000 - fair0) - k * tick_bp
            size = int(rng.integers(100, 100_000))
            levels[side][p] = size
            snap[side].append((p, size))
    sides = np.empty(n, np.uint8)
    prices = np.empty(n, np.int32)
    deltas = np.empty(n, np.int64)
    for i in range(n):
        side = int(side_draw[i])
        fair = fair0 + int(drift[i]) * tick_bp
        top = (fair if side == 0 else 10000 - fair) - tick_bp
        price = min(max(top - int(dist_draw[i]) * tick_bp, tick_bp), 10000 - tick_bp)
        book = levels[side]
        current = book.get(price, 0)
        kind = kind_draw[i]
        if current and kind < 0.30:
            delta = -current                                     # the level empties
        elif current and kind < 0.60:
            delta = -(int(size_draw[i]) % current) or -1         # a partial cancel or fill
        else:
            delta = int(size_draw[i])                            # new size
        new = current + delta
        if new:
            book[price] = new
        else:
            del book[price]
        sides[i], prices[i], deltas[i] = side, price, delta
    os.makedirs(CACHE, exist_ok=True)
    np.savez(path, sides=sides, prices=prices, deltas=deltas,
             snap_yes=np.array(snap[0]), snap_no=np.array(snap[1]))
    return Stream(tick_bp, sides, prices, deltas, snap[0], snap[1])
