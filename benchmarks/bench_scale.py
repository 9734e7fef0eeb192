"""Scale and memory: bytes per book, RSS of many books, per-message cost as markets and levels grow.

* memory per book for each grid type: measured with tracemalloc around building books (the
  books' level arrays are numpy arrays and their bitmaps PyMem blocks: tracemalloc sees both);
* RSS of 1,000 and 10,000 books (mostly whole-cent, as on Kalshi: 9 in 10 cent grids, 1 in 10
  deci-cent) measured in a fresh subprocess from /proc/self/status VmRSS before and after;
* per-delta cost of ``apply_delta`` + ``best_bid_bp`` when the deltas are spread over 1 to
  10,000 books (the working set outgrows L1, L2 then the last-level cache), and on one book as
  the number of live price levels grows from 1 to the full grid.

Figures go to ``extra_info`` (``ops`` for per-op times, ``bytes_per_book``, ``rss_*``);
``centbook bench`` and ``make bench`` turn them into the report's scale section and chart.
Set CENTBOOK_BENCH_QUICK=1 for a short run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from centbook import OrderBook, PriceGrid

QUICK = os.environ.get("CENTBOOK_BENCH_QUICK") == "1"
N_OPS = 50_000 if QUICK else 400_000
ROUNDS = 2 if QUICK else 5
MARKETS = [1, 10, 100, 1_000, 10_000]
LEVELS = [1, 4, 16, 64, 99]          # on the cent grid: 99 valid prices per side (1..99 cents)

GRIDS = {
    "cent": PriceGrid.linear_cent,
    "deci-cent": lambda: PriceGrid.from_bands([(0, 10000, 10)]),
    "centi-cent": lambda: PriceGrid.from_bands([(0, 10000, 1)]),
    "tapered": lambda: PriceGrid.from_bands([(0, 1000, 10), (1000, 9000, 100), (9000, 10000, 10)]),
}


@pytest.mark.parametrize("grid", list(GRIDS))
def test_memory_per_book(benchmark, grid):
    make_grid = GRIDS[grid]
    g = make_grid()
    count = 200
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        books = [OrderBook(f"KXMEM-{i}", g) for i in range(count)]
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(books) == count
    per_book = (after - before) / count
    benchmark.group = "scale: book construction"
    benchmark.extra_info.update(ops=count, bytes_per_book=per_book, slots=g.slot_count, grid=grid)
    benchmark.pedantic(lambda: [OrderBook(f"KXMEM-{i}", g) for i in range(count)],
                       rounds=ROUNDS, iterations=1)


RSS_CHILD = r"""
import json, sys
def rss():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
import numpy
from centbook import OrderBook, PriceGrid
cent, deci = PriceGrid.linear_cent(), PriceGrid.from_bands([(0, 10000, 10)])
n = int(sys.argv[1])
base = rss()
books = []
for i in range(n):
    b = OrderBook(f"KXRSS-{i}", deci if i % 10 == 9 else cent)
    b.apply_snapshot_bp([(p, 100) for p in range(100, 5000, 100)], [(p, 100) for p in range(100, 5000, 100)])
    books.append(b)
print(json.dumps({"base": base, "after": rss(), "books": len(books)}))
"""


@pytest.mark.parametrize("count", [1_000, 10_000])
def test_rss_books(benchmark, count):
    def measure():
        out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(count)], capture_output=True,
                             text=True, check=True, timeout=300)
        return json.loads(out.stdout)

    benchmark.group = "scale: RSS (subprocess)"
    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    assert result["books"] == count
    grown = result["after"] - result["base"]
    benchmark.extra_info.update(ops=count, rss_base=result["base"], rss_after=result["after"],
                                rss_per_book=grown / count, books=count)


def spread_stream(n, markets, levels, seed=7):
    """Valid deltas over ``markets`` cent books, ``levels`` live prices per side at most."""
    rng = np.random.default_rng(seed + markets * 131 + levels)
    book_idx = rng.integers(0, markets, n)
    side_draw = rng.integers(0, 2, n)
    # prices: ``levels`` distinct cents centred on 50c, chosen uniformly
    offsets = rng.integers(0, levels, n)
    first = max(1, 50 - levels // 2)
    kind = rng.random(n)
    size = rng.integers(1, 50_000, n)
    state: dict[tuple[int, int, int], int] = {}
    ops = []
    for i in range(n):
        b, s = int(book_idx[i]), int(side_draw[i])
        p = min(first + int(offsets[i]), 99) * 100
        cur = state.get((b, s, p), 0)
        d = -cur if cur and kind[i] < 0.4 else int(size[i])
        new = cur + d
        if new:
            state[(b, s, p)] = new
        else:
            del state[(b, s, p)]
        ops.append((b, s, p, d))
    return ops, state


def run_spread(benchmark, markets, levels, group):
    grid = PriceGrid.linear_cent()
    ops, final = spread_stream(N_OPS, markets, levels)
    idx = [o[0] for o in ops]
    sides = [o[1] for o in ops]
    prices = [o[2] for o in ops]
    deltas = [o[3] for o in ops]

    def setup():
        books = [OrderBook(f"KXS-{i}", grid) for i in range(markets)]
        for b in books:
            b.apply_snapshot_bp([], [])     # a book takes deltas only after a snapshot
        return (books,), {}

    def loop(books):
        applies = [b.apply_delta for b in books]
        bests = [b.best_bid_bp for b in books]
        for i, s, p, d in zip(idx, sides, prices, deltas, strict=True):
            applies[i](s, p, d)
            bests[i](s)

    # untimed check: the books end as the generator's model says
    (books,), _ = setup()
    loop(books)
    for (b, s, p), size in list(final.items())[:2000]:
        assert books[b].size_at(s, p) == size
    assert sum(len(bk.levels(0)) + len(bk.levels(1)) for bk in books) == len(final)

    benchmark.group = group
    benchmark.extra_info.update(ops=N_OPS, markets=markets, levels=levels)
    benchmark.pedantic(loop, setup=setup, rounds=ROUNDS, iterations=1)


@pytest.mark.parametrize("markets", MARKETS)
def test_spread_markets(benchmark, markets):
    run_spread(benchmark, markets, 16, "scale: deltas spread over N markets")


@pytest.mark.parametrize("levels", LEVELS)
def test_levels(benchmark, levels):
    run_spread(benchmark, 1, levels, "scale: live levels per side, one book")
