"""The compiled OrderBook: API, every price structure, faults, states, regrid, views."""
import os
import sys

import numpy as np
import pytest

import centbook
from centbook import BookFault, BookState, OrderBook, PriceGrid, Side
from tests.unit.test_grid import STRUCTURES, expected_prices, ranges

YES, NO = Side.YES, Side.NO


def live_book(grid=None, yes=(), no=()):
    book = OrderBook("KX-TEST", grid)
    book.apply_snapshot_bp(list(yes), list(no))
    return book


def test_the_build_under_test():
    # `make test` reruns the book tests on the debug build: make sure that is what was imported.
    if os.environ.get("CENTBOOK_EXPECT_DEBUG"):
        assert os.path.join("build", "debug", "site") in centbook.book.__file__
    else:
        assert "debug" not in centbook.book.__file__


def test_snapshot_from_wire_pairs():
    book = OrderBook("FED-23DEC-T3.00")
    assert book.state is BookState.EMPTY and book.generation == 0
    book.apply_snapshot(yes=[["0.0800", "300.00"], ["0.2200", "333.00"]],
                        no=[["0.5400", "20.00"], ["0.5600", "146.00"]])
    assert book.state is BookState.LIVE and book.is_live and book.generation == 1
    assert book.best_bid(YES) == (2200, 33300)
    assert book.best_bid(NO) == (5600, 14600)
    assert book.best_ask(YES) == (4400, 14600)
    assert book.best_ask(NO) == (7800, 33300)
    assert book.spread() == 2200 and book.mid() == 3300.0
    assert book.microprice() == pytest.approx((2200 * 14600 + 4400 * 33300) / (14600 + 33300))
    assert book.depth(YES, 5) == [(2200, 33300), (800, 30000)]
    assert book.levels(NO) == [(5400, 2000), (5600, 14600)]
    assert book.total_size(YES) == 63300 and book.level_count(NO) == 2
    assert book.as_wire() == {"yes_dollars": [["0.0800", "300.00"], ["0.2200", "333.00"]],
                              "no_dollars": [["0.5400", "20.00"], ["0.5600", "146.00"]]}


def test_omitted_side_is_empty_and_snapshot_replaces():
    book = live_book(yes=[(5000, 100)], no=[(4000, 100)])
    book.apply_snapshot(yes=[("0.10", "1")])
    assert book.best_bid(NO) is None and book.best_ask(YES) is None
    assert book.levels(YES) == [(1000, 100)] and book.generation == 2
    assert book.spread() is None and book.mid() is None and book.microprice() is None


def test_delta_is_signed_and_returns_new_size():
    book = live_book(yes=[(4200, 1300)])
    assert book.apply_delta(YES, 4200, -300) == 1000
    assert book.apply_delta(YES, 4300, 550) == 550
    assert book.best_bid(YES) == (4300, 550)
    assert book.apply_delta(YES, 4300, -550) == 0
    assert book.best_bid(YES) == (4200, 1000)
    assert book.size_at(YES, 4300) == 0 and book.size_at(YES, 4200) == 1000


@pytest.mark.parametrize(("delta", "price", "reason"), [(-1301, 4200, "negative"), (5, 4250, "off_grid"),
                                                        (5, 10100, "off_grid"), (5, -100, "off_grid")])
def test_bad_delta_faults_and_changes_nothing(delta, price, reason):
    book = live_book(yes=[(4200, 1300)], no=[(5000, 10)])
    before = book.levels_array(YES).copy()
    with pytest.raises(BookFault) as info:
        book.apply_delta(YES, price, delta)
    assert info.value.reason == reason and info.value.ticker == "KX-TEST"
    assert isinstance(info.value, ValueError) and "FAULTED" in str(info.value)
    assert book.state is BookState.FAULTED and book.last_fault == reason and book.fault_count == 1
    assert np.array_equal(before, book.levels_array(YES))
    assert book.best_bid(YES) == (4200, 1300)
    # a FAULTED book refuses deltas, even good ones, until a snapshot or clear()
    with pytest.raises(BookFault, match="FAULTED") as refused:
        book.apply_delta(YES, 4200, 1)
    assert refused.value.reason == "faulted" and book.size_at(YES, 4200) == 1300
    book.apply_snapshot_bp([(4200, 1)], [])
    assert book.is_live and book.apply_delta(YES, 4200, 1) == 2
    book.set_state(BookState.FAULTED)
    book.clear()
    assert book.state is BookState.EMPTY and book.best_bid(YES) is None and book.total_size(YES) == 0


def test_delta_before_snapshot_faults():
    book = OrderBook("KX-A")
    with pytest.raises(BookFault) as info:
        book.apply_delta(YES, 5000, 100)
    assert info.value.reason == "no_snapshot" and book.state is BookState.FAULTED
    book = OrderBook("KX-B")
    book.set_state(BookState.SYNCING)
    with pytest.raises(BookFault, match="before any snapshot"):
        book.apply_delta(NO, 5000, 100)


def test_bad_side_is_a_value_error_not_a_fault():
    book = live_book()
    with pytest.raises(ValueError, match="side must be"):
        book.apply_delta(2, 5000, 1)
    assert book.is_live
    with pytest.raises(ValueError, match="side must be"):
        book.best_bid(-1)


def test_overflow_faults():
    book = live_book(yes=[(100, 2**62)])
    with pytest.raises(BookFault) as info:
        book.apply_delta(YES, 100, 2**62)
    assert info.value.reason == "overflow" and book.size_at(YES, 100) == 2**62


@pytest.mark.parametrize(("yes", "no", "reason"), [
    ([("0.10", "1"), ("0.1000", "2")], [], "duplicate"),
    ([("0.10", "-1")], [], "negative"),
    ([], [("0.105", "1")], "off_grid"),
    ([("0.10",)], [], "bad_value"),
    ([("abc", "1")], [], "bad_value"),
    ([("0.10", "1.001")], [], "bad_value"),
])
def test_bad_snapshot_faults_and_changes_nothing(yes, no, reason):
    book = live_book(yes=[(5000, 7)])
    with pytest.raises(BookFault) as info:
        book.apply_snapshot(yes, no)
    assert info.value.reason == reason and book.state is BookState.FAULTED
    assert book.levels(YES) == [(5000, 7)] and book.generation == 1


def test_integer_snapshot_refuses_off_range_prices():
    book = OrderBook("KX")
    with pytest.raises(BookFault) as info:
        book.apply_snapshot_bp([(10**12, 1)], [])
    assert info.value.reason == "off_grid"


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_every_structure_accepts_exactly_its_prices(name):
    grid = PriceGrid.from_ranges(ranges(STRUCTURES[name]))
    valid = expected_prices(STRUCTURES[name])
    book = live_book(grid)
    rng = np.random.default_rng(7)
    for p in rng.choice(10001, 300, replace=False).tolist() + [0, 10000, 100, 9900]:
        for side in (YES, NO):
            ok = (p if side == YES else 10000 - p) in valid
            if ok:
                assert book.apply_delta(side, p, 100) == 100
                assert book.apply_delta(side, p, -100) == 0
            else:
                with pytest.raises(BookFault):
                    book.apply_delta(side, p, 100)
                book.apply_snapshot_bp([], [])


def test_top_emptying_again_and_again_on_centi_cent():
    grid = PriceGrid.from_ranges(ranges(STRUCTURES["center_centi_edge_centi_cent"]))
    prices = [1, 63, 64, 65, 127, 128, 4095, 4096, 4097, 5000, 9999, 10000]
    book = live_book(grid, yes=[(p, 1) for p in prices])
    for expected in reversed(prices):
        assert book.best_bid(YES) == (expected, 1)
        assert book.best_bid_bp(YES) == expected and book.best_bid_size(YES) == 1
        book.apply_delta(YES, expected, -1)
    assert book.best_bid(YES) is None and book.best_bid_bp(YES) == -1 and book.best_bid_size(YES) == 0
    assert book.best_ask(NO) is None and book.best_ask_bp(NO) == -1


def test_int_variants_match_tuples():
    book = live_book(yes=[(4000, 5)], no=[(5500, 9)])
    assert book.best_ask_bp(YES) == 4500 and book.best_ask_size(YES) == 9
    assert book.best_ask_bp(NO) == 6000 and book.best_ask_size(NO) == 5


def test_cached_tuple_is_reused_until_the_top_changes():
    book = live_book(yes=[(4000, 5), (3000, 1)])
    first = book.best_bid(YES)
    book.apply_delta(YES, 3000, 4)           # below the top: cache kept
    assert book.best_bid(YES) is first
    book.apply_delta(YES, 4000, 1)           # top size changes: rebuilt
    assert book.best_bid(YES) == (4000, 6) and book.best_bid(YES) is not first


def test_a_kept_best_level_tuple_never_changes_and_one_nobody_kept_is_refreshed():
    book = live_book(yes=[(4000, 5)], no=[(5000, 2)])
    for read, side, want in ((book.best_bid, YES, (4000, 5)), (book.best_ask, NO, (6000, 5)),
                             (book.best_bid, NO, (5000, 2)), (book.best_ask, YES, (5000, 2))):
        assert read(side) == want
    kept = book.best_bid(YES), book.best_ask(NO)
    book.apply_delta(YES, 4000, 3)
    assert kept == ((4000, 5), (6000, 5))  # the caller's tuples are as they were
    assert book.best_bid(YES) == (4000, 8) and book.best_ask(NO) == (6000, 8)
    # nobody holds the cached tuples now: the book refreshes them in place, values right
    for size, price in ((1, 4100), (-1, 4100), (-8, 4000), (2, 3900)):
        book.apply_delta(YES, price, size)
        top = book.levels(YES)[-1] if book.levels(YES) else None
        assert book.best_bid(YES) == top
        assert book.best_ask(NO) == (None if top is None else (10000 - top[0], top[1]))
    book.apply_delta(YES, 3900, -2)  # the side empties: None, then a level again
    assert book.best_bid(YES) is None and book.best_ask(NO) is None
    book.apply_delta(YES, 4200, 7)
    assert book.best_bid(YES) == (4200, 7) and book.best_ask(NO) == (5800, 7)


def test_refreshing_the_cached_tuples_leaks_no_reference():
    book = live_book(yes=[(4000, 5)])
    price = book.best_bid(YES)[0]
    before = sys.getrefcount(price)
    for _ in range(1000):
        book.apply_delta(YES, 4000, 1)
        book.best_bid(YES)
        book.best_ask(NO)
    assert sys.getrefcount(price) == before
    del book
    assert sys.getrefcount(price) == before - 1  # the cached best-bid tuple held it


def test_batch_matches_single_calls_and_reports_the_index():
    rng = np.random.default_rng(3)
    sides = rng.integers(0, 2, 2000).astype(np.uint8)
    prices = (rng.integers(1, 100, 2000) * 100).astype(np.int32)
    deltas = rng.integers(1, 500, 2000).astype(np.int64)
    a, b = live_book(), live_book()
    assert a.apply_deltas(sides, prices, deltas) == 2000
    for s, p, d in zip(sides.tolist(), prices.tolist(), deltas.tolist(), strict=True):
        b.apply_delta(s, p, d)
    assert a.levels(YES) == b.levels(YES) and a.levels(NO) == b.levels(NO)
    with pytest.raises(BookFault) as info:
        a.apply_deltas([0, 0, 0], [100, 150, 200], [1, 1, 1])
    assert info.value.index == 1 and a.size_at(YES, 100) == b.size_at(YES, 100) + 1
    with pytest.raises(ValueError, match="differ in length"):
        b.apply_deltas([0], [100, 200], [1])


def test_batch_that_fails_midway_keeps_what_it_applied_and_the_best_bids_right():
    grid = PriceGrid.from_bands([(0, 10000, 1)])
    book, ref = live_book(grid, yes=[(5000, 10), (4990, 3)], no=[(4000, 7)]), live_book(grid)
    ref.apply_snapshot_bp([(5000, 10), (4990, 3)], [(4000, 7)])
    before = book.best_bid(YES)
    # the top empties, a new top appears on NO, then a level would go negative
    sides, prices, deltas = [0, 1, 0, 1, 0], [5000, 4500, 4999, 4000, 4990], [-10, 4, 2, -7, -4]
    with pytest.raises(BookFault) as info:
        book.apply_deltas(sides, prices, deltas)
    assert info.value.reason == "negative" and info.value.index == 4
    assert (info.value.side, info.value.price_bp, info.value.amount) == (0, 4990, -4)
    for s, p, d in zip(sides[:4], prices[:4], deltas[:4], strict=True):
        ref.apply_delta(s, p, d)
    assert book.state == BookState.FAULTED and book.size_at(YES, 4990) == 3
    for side in (YES, NO):
        assert book.levels(side) == ref.levels(side)
        assert book.best_bid(side) == ref.best_bid(side) and book.best_ask(side) == ref.best_ask(side)
        assert book.best_bid_bp(side) == ref.best_bid_bp(side)
        assert book.total_size(side) == ref.total_size(side)
        assert book.level_count(side) == ref.level_count(side)
    assert before == (5000, 10) and book.best_bid(YES) == (4999, 2)
    with pytest.raises(BookFault, match="FAULTED") as info:      # a FAULTED book refuses a batch
        book.apply_deltas([0], [4990], [1])
    assert info.value.reason == "faulted" and info.value.index == 0 and book.size_at(YES, 4990) == 3


def test_batch_faults_at_the_first_delta_it_cannot_apply():
    book = OrderBook("KX-EMPTY")
    assert book.apply_deltas([], [], []) == 0 and book.state == BookState.EMPTY
    with pytest.raises(BookFault) as info:
        book.apply_deltas([0, 0], [100, 200], [1, 1])
    assert info.value.reason == "no_snapshot" and info.value.index == 0
    assert book.levels(YES) == [] and book.state == BookState.FAULTED
    for sides, prices, deltas, reason, index in (
        ([0, 2], [100, 100], [1, 1], "bad_side", 1),
        ([0, 0], [100, 10100], [1, 1], "off_grid", 1),
        ([0, 1], [100, 150], [1, 1], "off_grid", 1),
    ):
        book = live_book(yes=[(300, 5)])
        with pytest.raises(BookFault) as info:
            book.apply_deltas(sides, prices, deltas)
        assert (info.value.reason, info.value.index) == (reason, index)
        assert book.size_at(YES, 100) == 1 and book.best_bid(YES) == (300, 5)
    book = live_book(yes=[(300, 2**63 - 1)])
    with pytest.raises(BookFault) as info:    # the level itself would overflow
        book.apply_deltas([0, 0], [300, 300], [-1, 2])
    assert (info.value.reason, info.value.index) == ("overflow", 1) and book.size_at(YES, 300) == 2**63 - 2
    book = live_book(yes=[(300, 2**62)], no=[(300, 2**62)])
    with pytest.raises(BookFault) as info:    # each level fits, the side's total does not
        book.apply_deltas([1, 0, 0], [300, 200, 100], [1, 2**62 - 1, 2])
    assert (info.value.reason, info.value.index) == ("overflow", 2)
    assert book.total_size(YES) == 2**63 - 1 and book.best_bid(NO) == (300, 2**62 + 1)


def test_hot_reads_take_the_side_positionally():
    book = live_book(yes=[(4000, 5)])
    assert book.best_bid(YES) == (4000, 5) and book.apply_delta(YES, 4000, 1) == 6
    with pytest.raises(TypeError):
        book.best_bid(side=YES)
    with pytest.raises(TypeError):
        book.apply_delta(side=YES, price_bp=4000, delta=1)


def test_state_transitions():
    book = OrderBook("KX")
    with pytest.raises(ValueError, match="no transition from EMPTY to GAPPED"):
        book.set_state(BookState.GAPPED)
    with pytest.raises(ValueError, match="to LIVE"):
        book.set_state(BookState.LIVE)
    book.set_state(BookState.SYNCING)
    book.apply_snapshot_bp([], [])
    for state in (BookState.GAPPED, BookState.SYNCING):
        book.set_state(state)
        assert book.state is state
    book.apply_snapshot_bp([(100, 1)], [])
    book.set_state(BookState.GAPPED)
    assert book.apply_delta(YES, 100, 1) == 2     # a gapped book keeps applying
    book.set_state(BookState.STALE)
    with pytest.raises(ValueError, match="STALE to GAPPED"):
        book.set_state(BookState.GAPPED)
    book.set_state(BookState.FAULTED)
    assert book.last_fault == "external"
    with pytest.raises(ValueError, match="FAULTED to STALE"):
        book.set_state(BookState.STALE)
    book.set_state(BookState.SYNCING)
    gen = book.generation
    book.apply_snapshot_bp([], [])
    assert book.is_live and book.generation == gen + 1


def test_regrid_moves_levels_and_invalidates_old_views():
    book = live_book(yes=[(4200, 10), (900, 3)], no=[(5500, 4)])
    old_view = book.levels_array(YES)
    assert old_view.shape == (101,) and old_view[42] == 10 and not old_view.flags.writeable
    deci = PriceGrid.from_ranges(ranges(STRUCTURES["deci_cent"]))
    book.regrid(deci)
    assert book.grid is deci and book.is_live
    assert book.levels(YES) == [(900, 3), (4200, 10)] and book.levels(NO) == [(5500, 4)]
    assert book.apply_delta(YES, 4210, 7) == 7 and book.best_bid(YES) == (4210, 7)
    assert book.levels_array(YES).shape == (1001,) and old_view[42] == 10
    assert book.total_size(YES) == 20
    # back to whole cents: 42.10 cents is not on it
    with pytest.raises(BookFault, match="cannot regrid") as info:
        book.regrid(PriceGrid.linear_cent())
    assert info.value.reason == "off_grid" and book.grid is deci and book.state is BookState.FAULTED
    assert book.size_at(YES, 4210) == 7


def test_levels_view_is_read_only_and_live():
    book = live_book()
    view = book.levels_array(NO)
    with pytest.raises(ValueError):
        view[3] = 1
    book.apply_delta(NO, 300, 5)
    assert view[3] == 5


def test_constructor_and_docs():
    with pytest.raises(ValueError, match="ticker"):
        OrderBook("")
    with pytest.raises(TypeError):
        OrderBook("X", grid="linear_cent")
    assert "apply_delta(self, int side" in OrderBook.apply_delta.__doc__
    assert "Raises" in OrderBook.apply_delta.__doc__
    assert "KX-TEST" in repr(live_book())
