"""Backtest throughput on a real 15-minute Kalshi market (the capture of
KXGOLD15M-26AUG101830-30, ~29,700 events, imported as ``centbook import`` does).

Run: ``.venv/bin/python -m pytest benchmarks/bench_backtest.py --benchmark-only -s`` (not part of
``make test``). The maker requotes on every book change with the live strategy's rules:

- ``test_backtest_compiled``: targets by the compiled requote arithmetic
  (:class:`centbook.mm.quoter.Quoter`), the Python strategy where it declines, as live;
- ``test_backtest_python``: targets by the Python :class:`~centbook.mm.strategy.Strategy` only;
- ``test_replay_alone``: the replay with no backtest, the floor of the two above.

``events_per_s`` counts the recording's records per second of the fastest round, the whole run
included (replay, exchange model, strategy, ledger, series); each benchmark checks that its run
gave the same fills as the other strategy path before recording its rate.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from centbook.backtest import load_backtest_config, run_backtest
from centbook.record.importer import import_captures
from centbook.record.segment import SegmentWriter
from centbook.replay import replay

CAPTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "kalshi" / "captures"
CAPTURE = CAPTURES / "events" / "KXGOLD15M-26AUG101830-30-2026-08-10.ndjson.gz"
FILLS: dict[str, list[tuple[int, int, int]]] = {}

pytestmark = pytest.mark.skipif(not CAPTURE.exists(), reason=f"no captures in {CAPTURES}")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    out = tmp_path_factory.mktemp("bt") / "rec"
    writer = SegmentWriter(out, sync=False)
    import_captures([CAPTURE], CAPTURES / "metadata", writer)
    return out


def _bench(benchmark, recording, compiled: bool, name: str) -> None:
    overrides = {"strategy": {"half_spread_bp": 100, "requote_threshold_bp": 100},
                 "backtest": {"compiled": compiled}}
    mm, bt = load_backtest_config(None, overrides)

    def once():
        return run_backtest(recording, mm, bt, seed=1)

    result, summary = benchmark.pedantic(once, rounds=3, iterations=1)
    assert summary["fills"] > 0 and summary["events"] > 29_000
    fills = [(f.t_ns, f.price_bp, f.size) for f in result.fills]
    FILLS[name] = fills
    other = FILLS.get("python" if name == "compiled" else "compiled")
    assert other is None or other == fills     # both strategy paths trade alike
    rate = summary["events"] / benchmark.stats.stats.min
    benchmark.extra_info.update(events_per_s=round(rate), fills=summary["fills"],
                                pnl_settled_micro=summary["pnl_settled_micro"],
                                compiled_targets=summary["orders"]["compiled_targets"],
                                python_targets=summary["orders"]["python_targets"])
    print(f"\nbacktest {name}: {benchmark.extra_info}")


def test_backtest_compiled(benchmark, recording):
    _bench(benchmark, recording, True, "compiled")


def test_backtest_python(benchmark, recording):
    _bench(benchmark, recording, False, "python")


def test_replay_alone(benchmark, recording):
    events = benchmark.pedantic(lambda: sum(1 for _ in replay(recording)), rounds=3, iterations=1)
    assert events > 29_000
    benchmark.extra_info.update(events_per_s=round(events / benchmark.stats.stats.min))
    print(f"\nreplay alone: {benchmark.extra_info}")
