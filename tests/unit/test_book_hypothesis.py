"""Random snapshot/delta streams into the compiled book and the reference book, compared at every step."""
import bisect

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from centbook import BookFault, OrderBook, PriceGrid
from tests.reference_book import FAULTED, ReferenceBook, ReferenceFault
from tests.unit.test_book_batch import stream
from tests.unit.test_grid import STRUCTURES, ranges

GRIDS = ["linear_cent", "deci_cent", "tapered_deci_cent", "center_half_edge_quint_cent",
         "center_centi_edge_centi_cent", "center_deci_edge_centi_cent"]


class BookMachine(RuleBasedStateMachine):
    @initialize(name=st.sampled_from(GRIDS))
    def make(self, name):
        self.grid = PriceGrid.from_ranges(ranges(STRUCTURES[name]))
        self.book = OrderBook("KX-PROP", self.grid)
        self.ref = ReferenceBook(self.grid.bands)
        self.prices = (sorted(self.ref.valid[0]), sorted(self.ref.valid[1]))

    def both(self, compiled, reference):
        """Run one operation on both books; they must agree on the result or the fault."""
        try:
            expected = reference()
        except ReferenceFault as fault:
            with pytest.raises(BookFault) as info:
                compiled()
            assert info.value.reason == fault.reason
            return
        assert compiled() == expected

    def near_top(self, data, side):
        """A valid price, usually within a few ticks of the side's best bid."""
        prices = self.prices[side]
        best = self.ref.best_bid(side)
        if best is None or data.draw(st.integers(0, 4)) == 0:
            return data.draw(st.sampled_from(prices))
        i = bisect.bisect_left(prices, best[0]) + data.draw(st.integers(-4, 2))
        return prices[min(max(i, 0), len(prices) - 1)]

    @rule(data=st.data())
    def snapshot(self, data):
        levels = []
        for side in (0, 1):
            chosen = data.draw(st.lists(st.sampled_from(self.prices[side]), max_size=12, unique=True))
            levels.append([(p, data.draw(st.integers(0, 10**6))) for p in chosen])
        if data.draw(st.integers(0, 9)) == 0:         # sometimes a bad level
            side = data.draw(st.integers(0, 1))
            bad = data.draw(st.sampled_from(["dup", "neg", "off"]))
            if bad == "dup" and levels[side]:
                levels[side].append(levels[side][0])
            elif bad == "neg":
                levels[side].append((self.prices[side][0], -1))
            else:
                levels[side].append((data.draw(st.integers(0, 10000)), 1))
        self.both(lambda: self.book.apply_snapshot_bp(*levels), lambda: self.ref.apply_snapshot(*levels))

    @rule(data=st.data(), side=st.integers(0, 1))
    def delta(self, data, side):
        price = self.near_top(data, side)
        current = self.ref.levels[side].get(price, 0)
        delta = data.draw(st.one_of(st.integers(1, 5000), st.integers(-current - 2, -1)))
        self.both(lambda: self.book.apply_delta(side, price, delta),
                  lambda: self.ref.apply_delta(side, price, delta))

    @rule(side=st.integers(0, 1))
    def empty_the_top(self, side):
        best = self.ref.best_bid(side)
        price, size = best if best else (self.prices[side][-1], 0)
        self.both(lambda: self.book.apply_delta(side, price, -size),
                  lambda: self.ref.apply_delta(side, price, -size))

    @rule(side=st.integers(0, 1), price=st.integers(-5, 10005), delta=st.integers(-5, 5))
    def any_price(self, side, price, delta):
        self.both(lambda: self.book.apply_delta(side, price, delta),
                  lambda: self.ref.apply_delta(side, price, delta))

    @rule(data=st.data())
    def batch(self, data):
        side = data.draw(st.integers(0, 1))
        prices = [self.near_top(data, side) for _ in range(data.draw(st.integers(1, 8)))]
        deltas = [data.draw(st.integers(-3, 50)) for _ in prices]

        def reference():
            for p, d in zip(prices, deltas, strict=True):
                self.ref.apply_delta(side, p, d)
            return len(prices)
        self.both(lambda: self.book.apply_deltas([side] * len(prices), prices, deltas), reference)

    @rule(data=st.data())
    def batch_emptying_the_top(self, data):
        """A batch over both sides that empties levels at the top and refills them (bitmap churn)."""
        pending = {}
        sides, prices, deltas = [], [], []
        for _ in range(data.draw(st.integers(1, 12))):
            side = data.draw(st.integers(0, 1))
            best = self.ref.best_bid(side)
            price = best[0] if best and data.draw(st.booleans()) else self.near_top(data, side)
            size = pending.get((side, price), self.ref.levels[side].get(price, 0))
            delta = -size if size and data.draw(st.booleans()) else data.draw(st.integers(1, 500))
            if data.draw(st.integers(0, 19)) == 0:
                delta = -size - 1                       # sometimes a fault midway
            pending[(side, price)] = size + delta
            sides.append(side), prices.append(price), deltas.append(delta)

        def reference():
            for s_, p_, d_ in zip(sides, prices, deltas, strict=True):
                self.ref.apply_delta(s_, p_, d_)
            return len(prices)
        self.both(lambda: self.book.apply_deltas(sides, prices, deltas), reference)

    @rule(data=st.data(), seed=st.integers(0, 2**32 - 1), n=st.integers(140, 2000))
    def long_batch(self, data, seed, n):
        """A batch long enough to rebuild the bitmap after its loop, sometimes faulting midway
        (from 1,616 deltas on whole cents the batch rebuilds every word, not only touched ones)."""
        sides, prices, deltas = stream(self.ref, self.prices, np.random.default_rng(seed), n)
        if data.draw(st.integers(0, 3)) == 0:
            k = data.draw(st.integers(0, n - 1))
            deltas[k] = data.draw(st.sampled_from([-(10**9), 2**55]))  # negative, or past the run's limit
            if data.draw(st.booleans()):
                prices[k] = data.draw(st.sampled_from([-1, 10001]))

        def reference():
            for s_, p_, d_ in zip(sides, prices, deltas, strict=True):
                self.ref.apply_delta(s_, p_, d_)
            return n
        self.both(lambda: self.book.apply_deltas(sides, prices, deltas), reference)

    @precondition(lambda self: self.ref.state == FAULTED)
    @rule()
    def clear(self):
        self.book.clear()
        self.ref.clear()

    @invariant()
    def agree(self):
        book, ref = self.book, self.ref
        assert int(book.state) == ref.state and book.generation == ref.generation
        for side in (0, 1):
            assert book.best_bid(side) == ref.best_bid(side)
            assert book.best_ask(side) == ref.best_ask(side)
            best = ref.best_bid(side)
            assert book.best_bid_bp(side) == (best[0] if best else -1)
            assert book.depth(side, 5) == ref.depth(side, 5)
            assert book.total_size(side) == ref.total_size(side)
            assert book.level_count(side) == len(ref.levels[side])


# Bounded for CI (the profile in tests/conftest.py sets deadline=None and prints the blob).
TestBookMachine = BookMachine.TestCase
TestBookMachine.settings = settings(settings(), max_examples=60, stateful_step_count=40)


class CentiCentTopChurn(RuleBasedStateMachine):
    """The worst case for the best-bid maintenance: the top empties over and over on 10,001 slots."""

    @initialize(seed_prices=st.lists(st.integers(0, 10000), min_size=1, max_size=40, unique=True))
    def make(self, seed_prices):
        grid = PriceGrid.from_ranges(ranges(STRUCTURES["center_centi_edge_centi_cent"]))
        self.book = OrderBook("KX-CHURN", grid)
        self.ref = ReferenceBook(grid.bands)
        levels = [(p, 1 + p % 7) for p in seed_prices]
        self.book.apply_snapshot_bp(levels, [])
        self.ref.apply_snapshot(levels, [])

    @rule()
    def empty_top(self):
        best = self.ref.best_bid(0)
        if best:
            assert self.book.apply_delta(0, best[0], -best[1]) == self.ref.apply_delta(0, best[0], -best[1])

    @rule(price=st.integers(0, 10000), size=st.integers(1, 9))
    def refill(self, price, size):
        assert self.book.apply_delta(0, price, size) == self.ref.apply_delta(0, price, size)

    @invariant()
    def agree(self):
        assert self.book.best_bid(0) == self.ref.best_bid(0)
        assert self.book.best_ask(1) == self.ref.best_ask(1)
        assert self.book.depth(0, 3) == self.ref.depth(0, 3)


TestCentiCentTopChurn = CentiCentTopChurn.TestCase
TestCentiCentTopChurn.settings = settings(settings(), max_examples=40, stateful_step_count=60)
