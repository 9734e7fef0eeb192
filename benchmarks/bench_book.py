"""Book operations: one seeded stream of 1,000,000 deltas, every contender in the same run.

Each contender first replays the whole stream untimed and must end with the same book and the
same checksum of best bids as the reference; only then is it timed. Figures are per delta
(``extra_info["ops"]`` deltas per round); `make bench` turns them into the README table.

Two rows in each per-call group are not books: ``harness_loop`` is the bare ``for s, p, d in
zip(...)`` loop every per-call contender runs, and ``harness_nop_calls`` adds the two cheapest C
method calls there are (positional-only / METH_O, doing nothing). They show the Python floor
under "one Python call each"; nothing is subtracted from any other row.
"""
from __future__ import annotations

import os

import pytest

from benchmarks._floor import FloorBook
from benchmarks.contenders import BmosconBook, DictBook, SortedBook
from benchmarks.streams import make_stream
from centbook import OrderBook, PriceGrid

QUICK = os.environ.get("CENTBOOK_BENCH_QUICK") == "1"   # `centbook bench --quick`
N = 100_000 if QUICK else 1_000_000


# one untimed round first in every per-call group: without it the first group of a run (whole
# cents) gave 87-115 ns per delta in rounds where the same loop gave 73-79 ns in later groups
WARMUP = 0 if QUICK else 1


def n_rounds(full):
    return min(full, 2) if QUICK else full
GRIDS = {100: "cent", 10: "deci-cent", 1: "centi-cent"}


def grid_for(tick):
    return PriceGrid.linear_cent() if tick == 100 else PriceGrid.from_bands([(0, 10000, tick)])


@pytest.fixture(scope="module", params=sorted(GRIDS, reverse=True), ids=lambda t: GRIDS[t])
def stream(request):
    return make_stream(N, request.param)


def new_centbook(stream):
    book = OrderBook("KXBENCH", grid_for(stream.tick_bp))
    book.apply_snapshot_bp(stream.snapshot_yes, stream.snapshot_no)
    return book


def replay_checked(stream, book, best=None):
    """Untimed: replay with a best-bid read after each delta; return (levels, checksum)."""
    best = best or book.best_bid
    checksum = 0
    for s, p, d in zip(*stream.as_lists(), strict=True):
        book.apply_delta(s, p, d)
        top = best(s)
        checksum += top[0] if isinstance(top, tuple) else (top if top is not None and top >= 0 else 0)
    return (book.levels(0), book.levels(1)), checksum


@pytest.fixture(scope="module")
def expected(stream):
    return replay_checked(stream, DictBook(stream.snapshot_yes, stream.snapshot_no))


def run_per_call(benchmark, stream, make, best_name, expected, group, rounds):
    book = make()
    assert replay_checked(stream, book, getattr(book, best_name)) == expected
    sides, prices, deltas = stream.as_lists()

    def setup():
        return (make(),), {}

    def loop(book):
        apply = book.apply_delta
        best = getattr(book, best_name)
        for s, p, d in zip(sides, prices, deltas, strict=True):
            apply(s, p, d)
            best(s)

    benchmark.group = group
    benchmark.extra_info.update(ops=len(stream), tick_bp=stream.tick_bp)
    benchmark.pedantic(loop, setup=setup, rounds=rounds, iterations=1, warmup_rounds=WARMUP)


def test_dict_max(benchmark, stream, expected):
    run_per_call(benchmark, stream, lambda: DictBook(stream.snapshot_yes, stream.snapshot_no),
                 "best_bid", expected, f"book apply+best {GRIDS[stream.tick_bp]}", n_rounds(3))


def test_sortedcontainers(benchmark, stream, expected):
    run_per_call(benchmark, stream, lambda: SortedBook(stream.snapshot_yes, stream.snapshot_no),
                 "best_bid", expected, f"book apply+best {GRIDS[stream.tick_bp]}", n_rounds(3))


def test_order_book_c(benchmark, stream, expected):
    pytest.importorskip("order_book")
    run_per_call(benchmark, stream, lambda: BmosconBook(stream.snapshot_yes, stream.snapshot_no),
                 "best_bid", expected, f"book apply+best {GRIDS[stream.tick_bp]}", n_rounds(3))


def test_centbook_tuple(benchmark, stream, expected):
    run_per_call(benchmark, stream, lambda: new_centbook(stream), "best_bid", expected,
                 f"book apply+best {GRIDS[stream.tick_bp]}", n_rounds(7))


def test_centbook_int(benchmark, stream, expected):
    run_per_call(benchmark, stream, lambda: new_centbook(stream), "best_bid_bp", expected,
                 f"book apply+best {GRIDS[stream.tick_bp]}", n_rounds(7))


def test_floor_kernel(benchmark, stream, expected):
    def make():
        book = FloorBook(stream.tick_bp)
        for side, levels in ((0, stream.snapshot_yes), (1, stream.snapshot_no)):
            for p, s in levels:
                book.apply_delta(side, p, s)
        return book
    run_per_call(benchmark, stream, make, "best_bid_bp", expected,
                 f"book apply+best {GRIDS[stream.tick_bp]}", n_rounds(7))


def best_after(levels):
    """The best bid of each side of a final book given as ascending levels."""
    return tuple(side[-1] if side else None for side in levels)


def test_harness_loop(benchmark, stream):
    sides, prices, deltas = stream.as_lists()

    def loop():
        for _s, _p, _d in zip(sides, prices, deltas, strict=True):
            pass

    benchmark.group = f"book apply+best {GRIDS[stream.tick_bp]}"
    benchmark.extra_info.update(ops=len(stream), tick_bp=stream.tick_bp)
    benchmark.pedantic(loop, rounds=n_rounds(7), iterations=1, warmup_rounds=WARMUP)


def test_harness_nop_calls(benchmark, stream):
    sides, prices, deltas = stream.as_lists()
    floor = FloorBook(stream.tick_bp)

    def loop():
        apply = floor.nop3
        best = floor.nop1
        for s, p, d in zip(sides, prices, deltas, strict=True):
            apply(s, p, d)
            best(s)

    benchmark.group = f"book apply+best {GRIDS[stream.tick_bp]}"
    benchmark.extra_info.update(ops=len(stream), tick_bp=stream.tick_bp)
    benchmark.pedantic(loop, rounds=n_rounds(7), iterations=1, warmup_rounds=WARMUP)


def test_centbook_batch(benchmark, stream, expected):
    book = new_centbook(stream)
    book.apply_deltas(stream.sides, stream.prices, stream.deltas)
    assert (book.levels(0), book.levels(1)) == expected[0]
    assert (book.best_bid(0), book.best_bid(1)) == best_after(expected[0])
    benchmark.group = f"book batch {GRIDS[stream.tick_bp]}"
    benchmark.extra_info.update(ops=len(stream), tick_bp=stream.tick_bp)
    benchmark.pedantic(lambda b: b.apply_deltas(stream.sides, stream.prices, stream.deltas),
                       setup=lambda: ((new_centbook(stream),), {}), rounds=n_rounds(15), iterations=1)


def test_floor_batch(benchmark, stream, expected):
    def make():
        book = FloorBook(stream.tick_bp)
        for side, levels in ((0, stream.snapshot_yes), (1, stream.snapshot_no)):
            for p, s in levels:
                book.apply_delta(side, p, s)
        return book
    book = make()
    book.apply_deltas(stream.sides, stream.prices, stream.deltas)
    assert (book.levels(0), book.levels(1)) == expected[0]
    best = best_after(expected[0])
    assert (book.best_bid_bp(0), book.best_bid_bp(1)) == tuple(b[0] if b else -1 for b in best)
    benchmark.group = f"book batch {GRIDS[stream.tick_bp]}"
    benchmark.extra_info.update(ops=len(stream), tick_bp=stream.tick_bp)
    benchmark.pedantic(lambda b: b.apply_deltas(stream.sides, stream.prices, stream.deltas),
                       setup=lambda: ((make(),), {}), rounds=n_rounds(15), iterations=1)


@pytest.mark.parametrize("size", [16, 256, 4096])
def test_centbook_batch_of(benchmark, stream, expected, size):
    """The same stream in batches of ``size`` deltas: per-call cost and both batch paths.

    Shorter batches than 128 + slots / 6 update the bitmap per delta, longer ones rebuild the
    touched words once (book.pyx, _deferred_min_deltas): 16 is below it on every grid, 256 above
    it on whole cents only, 4096 above it on every grid.
    """
    chunks = [(stream.sides[i:i + size], stream.prices[i:i + size], stream.deltas[i:i + size])
              for i in range(0, len(stream), size)]

    def run(book):
        apply = book.apply_deltas
        for sides, prices, deltas in chunks:
            apply(sides, prices, deltas)

    book = new_centbook(stream)
    run(book)
    assert (book.levels(0), book.levels(1)) == expected[0]
    assert (book.best_bid(0), book.best_bid(1)) == best_after(expected[0])
    benchmark.group = f"book batch of n deltas {GRIDS[stream.tick_bp]}"
    benchmark.extra_info.update(ops=len(stream), tick_bp=stream.tick_bp, batch_size=size)
    benchmark.pedantic(run, setup=lambda: ((new_centbook(stream),), {}), rounds=n_rounds(5),
                       iterations=1)


READS = 100_000 if QUICK else 1_000_000


@pytest.mark.parametrize("method", ["best_bid", "best_bid_bp"])
def test_best_bid_read(benchmark, method):
    book = OrderBook("KXBENCH")
    book.apply_snapshot_bp([(4200, 100), (4100, 5)], [(5000, 7)])
    read = getattr(book, method)
    assert read(0) in ((4200, 100), 4200)
    rng = range(READS)

    def loop():
        for _ in rng:
            read(0)
    benchmark.group = "book read"
    benchmark.extra_info.update(ops=READS)
    benchmark.pedantic(loop, rounds=n_rounds(7), iterations=1, warmup_rounds=WARMUP)


INTERLEAVED_GROUP = "book grids interleaved"


def test_grids_interleaved(benchmark):
    """The three grids in turns, for the "grids within 20%" comparison.

    The per-grid groups above run one grid after another, seconds apart; on a shared (virtual)
    machine the speed of the host drifts over that time by more than the grids differ. Here each
    round times every grid once, in a rotating order (one call each: ``apply_delta`` +
    ``best_bid``; and the batch), so a slow spell hits all three alike. ``extra_info`` has the
    per-grid medians in ns per delta; each grid's final book is checked first.
    """
    import statistics
    import time

    streams = {GRIDS[t]: make_stream(N, t) for t in sorted(GRIDS, reverse=True)}
    lists = {g: s.as_lists() for g, s in streams.items()}
    for g, s in streams.items():  # same final book as the reference contender
        assert replay_checked(s, new_centbook(s))[0] == replay_checked(
            s, DictBook(s.snapshot_yes, s.snapshot_no))[0], g
    per_call: dict[str, list[float]] = {g: [] for g in streams}
    batch: dict[str, list[float]] = {g: [] for g in streams}
    order = list(streams)
    rounds = n_rounds(7)

    def one_round(k: int) -> None:
        turn = order[k % 3:] + order[:k % 3]
        for g in turn:
            s = streams[g]
            sides, prices, deltas = lists[g]
            book = new_centbook(s)
            apply, best = book.apply_delta, book.best_bid
            t0 = time.perf_counter_ns()
            for side, p, d in zip(sides, prices, deltas, strict=True):
                apply(side, p, d)
                best(side)
            per_call[g].append((time.perf_counter_ns() - t0) / len(s))
            book = new_centbook(s)
            t0 = time.perf_counter_ns()
            book.apply_deltas(s.sides, s.prices, s.deltas)
            batch[g].append((time.perf_counter_ns() - t0) / len(s))

    def run() -> None:
        for k in range(rounds):
            one_round(k)

    benchmark.group = INTERLEAVED_GROUP
    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(
        rounds=rounds, ops=len(streams["cent"]) * 2 * 3 * rounds,
        per_call_ns={g: statistics.median(v) for g, v in per_call.items()},
        batch_ns={g: statistics.median(v) for g, v in batch.items()})
