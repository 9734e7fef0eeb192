"""The backtest's fee, queue, latency and settlement models, against hand-computed values."""
from __future__ import annotations

import json

import pytest

from centbook.backtest.fees import FeeAccumulator, FeeSchedule
from centbook.backtest.latency import Constant, Empirical, LogNormal, SummaryLatency, latency_model
from centbook.backtest.queue import Pessimistic, Probabilistic, Proportional, queue_model
from centbook.backtest.settlement import load_results, results_from_meta, value_bp
from centbook.metrics import Histogram


def test_taker_fee_is_seven_percent_of_p_times_one_minus_p_rounded_up_to_a_centicent():
    quad = FeeSchedule("quadratic")
    assert quad.trade_fee_micro(5000, 100, taker=True) == 17_500          # 0.07 * 0.25 = $0.0175
    assert quad.trade_fee_micro(550, 100, taker=True) == 3_700            # $0.00363825 -> $0.0037
    assert quad.trade_fee_micro(5000, 1000, taker=True) == 175_000
    assert quad.trade_fee_micro(5000, 100, taker=False) == 0              # no maker fee on this type
    assert FeeSchedule("quadratic", 0.5).trade_fee_micro(5000, 100, taker=True) == 8_800   # 0.00875 up


def test_maker_fees_are_a_quarter_or_a_half_and_flat_ignores_the_price():
    assert FeeSchedule("quadratic_with_maker_fees").trade_fee_micro(5000, 100, taker=False) == 4_400
    assert FeeSchedule("quadratic_with_combo_maker_fees").trade_fee_micro(5000, 100, taker=False) == 8_800
    flat = FeeSchedule("flat")
    assert flat.trade_fee_micro(100, 100, taker=True) == flat.trade_fee_micro(5000, 100, taker=True) == 17_500


def test_bad_fee_settings_are_named():
    with pytest.raises(ValueError, match="fee_type"):
        FeeSchedule("cubic")
    with pytest.raises(ValueError, match="multiplier"):
        FeeSchedule("quadratic", -1)
    with pytest.raises(ValueError, match="precision"):
        FeeAccumulator(3)


@pytest.mark.parametrize("revenue, trade_fee, precision, nets", [
    # the three worked examples of Kalshi's fee rounding page, fill by fill
    (-55_000, 8_500, 10_000, [15_000, 5_000, 15_000]),     # 1 contract at $0.055
    (-150_000, 4_100, 10_000, [10_000, 0, 10_000]),        # 0.30 contracts at $0.50
    (-9_903, 500, 10_000, [10_097, 97, 97]),               # 0.03 contracts at $0.3301
    (-55_000, 8_500, 100, [8_500, 8_500, 8_500]),          # a direct member: nothing to round
])
def test_fee_rounding_and_rebates_follow_the_worked_examples(revenue, trade_fee, precision, nets):
    acc = FeeAccumulator(precision)
    assert [acc.net_fee_micro(revenue, trade_fee) for _ in nets] == nets


def test_pessimistic_queue_moves_only_when_cancels_exceed_the_size_behind():
    q = Pessimistic()
    assert q.after_cancel(ahead=300, level=1000, cancelled=500) == 300
    assert q.after_cancel(ahead=300, level=1000, cancelled=800) == 200
    assert q.after_cancel(ahead=300, level=1000, cancelled=1000) == 0


def test_proportional_queue_moves_by_the_share_ahead():
    q = Proportional()
    assert q.after_cancel(ahead=300, level=1000, cancelled=500) == 150
    assert q.after_cancel(ahead=1, level=3, cancelled=1) == 1               # 1 - 1/3 rounds to 1
    assert q.after_cancel(ahead=900, level=1000, cancelled=950) == 45      # 900 - 950 * 0.9


def test_probabilistic_queue_is_repeatable_with_its_seed_and_stays_in_bounds():
    def walk(seed):
        q, ahead, level, out = Probabilistic(seed), 500, 1000, []
        for _ in range(50):
            ahead = q.after_cancel(ahead, level, 10)
            level -= 10
            assert 0 <= ahead <= level
            out.append(ahead)
        return out
    assert walk(7) == walk(7)
    assert walk(7) != walk(8)
    assert walk(7)[-1] < 500


def test_queue_model_names():
    assert isinstance(queue_model("proportional"), Proportional)
    with pytest.raises(ValueError, match="pessimistic, proportional, probabilistic"):
        queue_model("fifo")


def test_latency_models_are_seeded_and_built_from_toml_values():
    assert latency_model(2.5).sample_ns() == 2_500_000
    assert isinstance(latency_model({"dist": "lognormal", "median_ms": 5, "sigma": 0.3}), LogNormal)
    a, b, c = (LogNormal(5_000_000, 0.5, seed=s) for s in (3, 3, 4))
    draws_a = [a.sample_ns() for _ in range(5)]
    assert draws_a == [b.sample_ns() for _ in range(5)] != [c.sample_ns() for _ in range(5)]
    draws = [latency_model({"samples_ms": [1, 2, 3]}, seed=1).sample_ns() for _ in range(5)]
    assert set(draws) <= {1_000_000, 2_000_000, 3_000_000}
    h = Histogram("tick_to_trade")
    for ns in (1_000, 2_000, 4_000_000):
        h.record(ns)
    e = Empirical(histogram=h, seed=5)
    assert all(0 < e.sample_ns() <= h.max * 2 for _ in range(20))
    with pytest.raises(ValueError, match="latency"):
        latency_model("fast")
    with pytest.raises(ValueError):
        Constant(-1)


def test_settlement_values_from_results_and_metadata(tmp_path):
    assert value_bp("yes", None) == 10_000 and value_bp("no", "") == 0 and value_bp("", None) is None
    assert value_bp("yes", "0.4250") == 4_250
    assert results_from_meta({"status": "finalized", "result": "no"}) == 0
    assert results_from_meta({"status": "active", "result": ""}) is None
    csv = tmp_path / "MARKETS.csv"
    csv.write_text("window,result,settlement_value_dollars\nA-1,yes,1.0000\nB-2,no,0.0000\nC-3,,\n")
    assert load_results(csv) == {"A-1": 10_000, "B-2": 0}
    csv.write_text("name,outcome\nA,yes\n")
    with pytest.raises(ValueError, match="ticker"):
        load_results(csv)


def test_a_rebate_waits_for_a_fill_whose_fee_can_absorb_it():
    acc = FeeAccumulator(10_000)
    # 0.1 at 81c: fee $0.0011, -$0.0821 floors to -$0.09: rounding $0.0079, net $0.009
    assert acc.net_fee_micro(-81_000, 1_100) == 9_000
    # 0.1 at 82c: rounding $0.0069 takes the accumulator to $0.0148, but a $0.01 rebate would
    # make this fill's net fee negative ($0.008 - $0.01): it waits
    assert acc.net_fee_micro(-82_000, 1_100) == 8_000
    assert acc.overpaid == 14_800
    # 1 at 55c with a $0.0173 fee: rounding $0.0027; the rebate fits now
    assert acc.net_fee_micro(-550_000, 17_300) == 17_300 + 2_700 - 10_000
    assert acc.overpaid == 7_500


def test_latencies_from_the_live_makers_summary(tmp_path):
    h = Histogram("tick_to_trade")
    for us in range(100, 1100):
        h.record(us * 1000)
    path = tmp_path / "mm.json"
    path.write_text(json.dumps({"latency_ns": {"tick_to_trade": h.summary()}}))
    model = latency_model({"mm_json": str(path), "stage": "tick_to_trade"}, seed=2)
    assert isinstance(model, SummaryLatency)
    draws = [model.sample_ns() for _ in range(2000)]
    assert h.min <= min(draws) and max(draws) <= h.max
    median = sorted(draws)[1000]
    assert abs(median - h.percentile(50)) < 60_000          # within 6% of the range
    # linear between the points: a summary of min 0, p50 100, max 200 gives u * 200 below p50
    flat = SummaryLatency({"count": 1, "min": 0, "p50": 100, "max": 200}, seed=1)
    assert all(0 <= flat.sample_ns() <= 200 for _ in range(100))
    with pytest.raises(ValueError, match="no latency stage 'nope'"):
        latency_model({"mm_json": str(path), "stage": "nope"})
