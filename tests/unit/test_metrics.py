"""Histogram: exact count/min/max/mean, percentiles within the bucket resolution."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from centbook.metrics import Histogram


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=400))
def test_percentiles_within_bucket_resolution(values):
    h = Histogram("t")
    for v in values:
        h.record(v)
    assert h.count == len(values) and h.min == min(values) and h.max == max(values)
    assert h.mean == pytest.approx(sum(values) / len(values))
    ordered = sorted(values)
    for q in (50, 90, 99, 99.9, 100):
        exact = ordered[max(0, int(np.ceil(q / 100 * len(values))) - 1)]
        got = h.percentile(q)
        # the reported value is the top of the exact value's bucket: never below, at most 1/16 above
        assert exact <= got <= max(exact * 17 / 16 + 1, exact)
        assert got <= h.max


def test_small_values_are_exact_and_negative_counts_as_zero():
    h = Histogram()
    for v in (-5, 0, 1, 2, 3, 15):
        h.record(v)
    assert h.percentile(50) == 1 and h.min == 0 and h.max == 15


def test_merge_and_clear():
    a, b = Histogram("a"), Histogram("b")
    a.record(100)
    b.record(5)
    b.record(10**6)
    a.merge(b)
    assert a.count == 3 and a.min == 5 and a.max == 10**6
    assert a.summary()["count"] == 3 and "p99.9" in a.summary()
    a.clear()
    assert a.count == 0 and a.percentile(99) == 0
