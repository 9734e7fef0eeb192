"""Long batches: the run that rebuilds the bitmap after its loop, against the reference book.

A batch of a few hundred deltas or more (how many depends on the grid) applies its deltas without
touching the bitmap and rebuilds the touched words afterwards; it hands over to the checked
per-delta loop at the first delta that is not plainly valid or would bring a level to 2**49; a
batch 16 times longer than the grid has slots rebuilds every word instead of the touched ones. These
tests cross those thresholds on every kind of grid, fault such batches midway, and check the
bitmap through the public API: ``depth`` of the whole side walks the bitmap, ``level_count``
counts its bits, ``best_bid`` reads the top it gives, then the top is emptied again and again.
"""
import bisect

import numpy as np
import pytest

from centbook import BookFault, BookState, OrderBook, PriceGrid
from tests.reference_book import ReferenceBook, ReferenceFault
from tests.unit.test_grid import STRUCTURES, ranges

GRIDS = ["linear_cent", "deci_cent", "tapered_deci_cent", "center_deci_edge_centi_cent",
         "center_centi_edge_centi_cent"]
# around and well above each grid's thresholds (128 + slots // 6: 144, 294 and 1,794 deltas;
# every word rebuilt from 16 x slots: 1,616 on whole cents, 16,016 on deci-cents)
SIZES = [150, 300, 2000, 12000]


def books(name, seed):
    """A compiled and a reference book on the named grid, both LIVE with the same snapshot."""
    grid = PriceGrid.from_ranges(ranges(STRUCTURES[name]))
    book, ref = OrderBook("KX-BATCH", grid), ReferenceBook(grid.bands)
    prices = (sorted(ref.valid[0]), sorted(ref.valid[1]))
    rng = np.random.default_rng(seed)
    snap = [[(int(p), int(rng.integers(1, 10**5))) for p in rng.choice(side, 10, replace=False)]
            for side in prices]
    book.apply_snapshot_bp(*snap)
    ref.apply_snapshot(*snap)
    return book, ref, prices, rng


def stream(ref, prices, rng, n):
    """``n`` valid deltas for ``ref`` (not applied to it): clustered near the top, levels emptying."""
    levels = [dict(ref.levels[0]), dict(ref.levels[1])]
    sides, out_prices, deltas = [], [], []
    for _ in range(n):
        side = int(rng.integers(0, 2))
        ladder = prices[side]
        top = max(levels[side], default=ladder[len(ladder) // 2])
        kind = rng.random()
        if kind < 0.15 and levels[side]:
            price = top                                       # the top itself: empties or shrinks
        elif kind < 0.9:
            i = bisect.bisect_left(ladder, top) + int(rng.integers(-6, 3))
            price = ladder[min(max(i, 0), len(ladder) - 1)]
        else:
            price = ladder[int(rng.integers(0, len(ladder)))]  # anywhere on the grid
        current = levels[side].get(price, 0)
        pick = rng.random()
        if current and pick < 0.4:
            delta = -current
        elif current and pick < 0.6:
            delta = -int(rng.integers(1, current + 1))
        else:
            delta = int(rng.integers(1, 50_000))
        new = current + delta
        if new:
            levels[side][price] = new
        else:
            del levels[side][price]
        sides.append(side), out_prices.append(price), deltas.append(delta)
    return sides, out_prices, deltas


def apply_reference(ref, sides, prices, deltas):
    """Apply to the reference until it faults; return (how many applied, fault reason or None)."""
    for i, (s, p, d) in enumerate(zip(sides, prices, deltas, strict=True)):
        try:
            ref.apply_delta(s, p, d)
        except ReferenceFault as fault:
            return i, fault.reason
    return len(sides), None


def assert_same(book, ref):
    """Every read that goes through the bitmap agrees with the reference."""
    assert int(book.state) == ref.state
    for side in (0, 1):
        ladder = sorted(ref.levels[side].items(), reverse=True)
        assert book.depth(side, len(ladder) + 5) == ladder
        assert book.level_count(side) == len(ladder)
        assert book.levels(side) == sorted(ladder)
        assert book.best_bid(side) == ref.best_bid(side)
        assert book.best_ask(side) == ref.best_ask(side)
        assert book.best_bid_bp(side) == (ladder[0][0] if ladder else -1)
        assert book.total_size(side) == ref.total_size(side)


def empty_the_top_again_and_again(book, ref, rounds=25):
    """Delta by delta: empty each side's top, check the next one, sometimes refill above it."""
    for k in range(rounds):
        for side in (0, 1):
            best = ref.best_bid(side)
            if best is None:
                continue
            assert book.apply_delta(side, best[0], -best[1]) == ref.apply_delta(side, best[0], -best[1])
            assert book.best_bid(side) == ref.best_bid(side)
            if k % 3 == 0:                   # a new level at the old top: the bit comes back
                assert book.apply_delta(side, best[0], k + 1) == ref.apply_delta(side, best[0], k + 1)
                assert book.best_bid(side) == ref.best_bid(side) == (best[0], k + 1)
    assert_same(book, ref)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", GRIDS)
def test_long_batch_matches_the_reference(name, n):
    book, ref, prices, rng = books(name, seed=n)
    for _ in range(3):                        # batch after batch on the same book
        sides, ps, ds = stream(ref, prices, rng, n)
        assert book.apply_deltas(np.array(sides, np.uint8), np.array(ps, np.int32),
                                 np.array(ds, np.int64)) == n
        assert apply_reference(ref, sides, ps, ds) == (n, None)
        assert_same(book, ref)
    empty_the_top_again_and_again(book, ref)


def test_a_batch_16_times_the_slots_rebuilds_every_word():
    book, ref, prices, rng = books("tapered_deci_cent", seed=5)     # 1,001 slots, uneven steps
    for n in (16_100, 300):                   # every word rebuilt, then only the touched ones
        sides, ps, ds = stream(ref, prices, rng, n)
        assert book.apply_deltas(sides, ps, ds) == n
        assert apply_reference(ref, sides, ps, ds) == (n, None)
        assert_same(book, ref)
    empty_the_top_again_and_again(book, ref)


def bad(kind, side, price, prices):
    """A delta that faults the book for ``kind``, at (side, price) or near it."""
    if kind == "negative":
        return side, price, -(10**12)
    if kind == "bad_side":
        return 2, price, 1
    if kind == "off_grid":
        return side, next(p for p in range(10001) if p not in set(prices[side])), 1
    return side, 10001, 1


FAULT_CASES = [(name, kind)
               for name in ("linear_cent", "tapered_deci_cent", "center_centi_edge_centi_cent")
               for kind in ("negative", "bad_side", "off_grid", "out_of_range")
               # every price 0..10000 is on a 1 bp grid: no off-grid price to send there
               if not (kind == "off_grid" and name == "center_centi_edge_centi_cent")]


@pytest.mark.parametrize("name, kind", FAULT_CASES)
def test_long_batch_faulting_midway_keeps_what_it_applied(name, kind):
    book, ref, prices, rng = books(name, seed=7)
    n = 3000
    sides, ps, ds = stream(ref, prices, rng, n)
    k = int(rng.integers(n // 3, n))
    sides[k], ps[k], ds[k] = bad(kind, sides[k], ps[k], prices)
    with pytest.raises(BookFault) as info:
        book.apply_deltas(sides, ps, ds)
    expected = "off_grid" if kind == "out_of_range" else kind
    assert apply_reference(ref, sides, ps, ds) == (k, expected)
    assert (info.value.index, info.value.reason) == (k, expected)
    where = (None, None) if kind == "bad_side" else (sides[k], ps[k])  # no such side to name
    assert (info.value.side, info.value.price_bp, info.value.amount) == (*where, ds[k])
    assert book.state == BookState.FAULTED
    assert_same(book, ref)
    # back to LIVE from the same levels, then the bitmap must still find every next top
    snap = [sorted(book.levels(side)) for side in (0, 1)]
    book.apply_snapshot_bp(*snap)
    ref.apply_snapshot(*snap)
    empty_the_top_again_and_again(book, ref)


def test_a_level_reaching_2_49_hands_over_to_the_checked_loop_without_a_fault():
    book, ref, prices, rng = books("linear_cent", seed=11)
    sides, ps, ds = stream(ref, prices, rng, 2000)
    big = 2**62                                   # over the run's limit, far from overflow
    sides[700:700], ps[700:700], ds[700:700] = [0, 0], [5000, 5000], [big, -big + 3]
    assert book.apply_deltas(sides, ps, ds) == len(sides)
    assert apply_reference(ref, sides, ps, ds) == (len(sides), None)
    assert_same(book, ref)
    empty_the_top_again_and_again(book, ref)


def test_overflow_in_a_long_batch_faults_at_the_delta_that_overflows():
    book, ref, prices, rng = books("center_centi_edge_centi_cent", seed=12)
    sides, ps, ds = stream(ref, prices, rng, 4000)
    # each level fits, the side's total does not; the checked loop takes over at the first one
    sides[2500:2500], ps[2500:2500], ds[2500:2500] = [1, 1, 1], [17, 18, 19], [2**62, 2**61, 2**62]
    with pytest.raises(BookFault) as info:
        book.apply_deltas(sides, ps, ds)
    assert (info.value.reason, info.value.index, info.value.amount) == ("overflow", 2502, 2**62)
    # the reference has no int64 limit (it does not fault): compare the levels the book kept
    assert apply_reference(ref, sides[:2502], ps[:2502], ds[:2502]) == (2502, None)
    assert book.state == BookState.FAULTED
    for side in (0, 1):
        assert book.depth(side, 10**4) == sorted(ref.levels[side].items(), reverse=True)
        assert book.total_size(side) == ref.total_size(side)
    assert book.size_at(1, 19) == 0 and book.total_size(1) > 2**62 + 2**61


def test_a_book_whose_total_is_already_large_takes_the_checked_loop():
    book, ref, prices, rng = books("deci_cent", seed=13)
    book.apply_delta(0, 1000, 2**50)              # the side's total is over the run's limit
    ref.apply_delta(0, 1000, 2**50)
    sides, ps, ds = stream(ref, prices, rng, 3000)
    assert book.apply_deltas(sides, ps, ds) == 3000
    assert apply_reference(ref, sides, ps, ds) == (3000, None)
    assert_same(book, ref)
    empty_the_top_again_and_again(book, ref)


def test_every_input_form_gives_the_same_book():
    """Buffers of the right types are used as they are; anything else is converted first."""
    _, ref, prices, rng = books("deci_cent", seed=21)
    sides, ps, ds = stream(ref, prices, rng, 400)
    exact = (np.array(sides, np.uint8), np.array(ps, np.int32), np.array(ds, np.int64))
    readonly = tuple(a.copy() for a in exact)
    for a in readonly:
        a.flags.writeable = False
    wide = tuple(np.array(x, np.int64) for x in (sides, ps, ds))
    strided = tuple(np.repeat(a, 2)[::2] for a in exact)           # not contiguous
    forms = [exact, readonly, wide, strided, (sides, ps, ds), (bytes(sides), ps, exact[2]),
             (exact[0].astype(bool) if set(sides) <= {0, 1} else exact[0], exact[1], exact[2])]
    expected = None
    for form in forms:
        book, _, _, _ = books("deci_cent", seed=21)
        assert book.apply_deltas(*form) == 400
        got = (book.levels(0), book.levels(1), book.best_bid(0), book.best_bid(1))
        expected = expected or got
        assert got == expected
    assert apply_reference(ref, sides, ps, ds) == (400, None)
    assert expected[:2] == (sorted(ref.levels[0].items()), sorted(ref.levels[1].items()))
    book, _, _, _ = books("deci_cent", seed=21)
    with pytest.raises(ValueError, match="differ in length"):
        book.apply_deltas(exact[0], exact[1][:-1], exact[2])
    with pytest.raises(ValueError):                                # not one-dimensional
        book.apply_deltas(exact[0].reshape(20, 20), exact[1].reshape(20, 20), exact[2].reshape(20, 20))
    assert book.levels(0) == sorted(books("deci_cent", seed=21)[1].levels[0].items())
