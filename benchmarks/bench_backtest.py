"""Backtest throughput on a real 15-minute Kalshi market (the capture of
KXGOLD15M-26AUG101830-30, ~29,700 events, imported as ``centbook import`` does).

Run: ``.venv/bin/python -m pytest benchmarks/bench_backtest.py --benchmark-only -s`` (not part of
``make test``). The maker requotes on every book change with the live strategy's rules:

- ``test_backtest_compiled``: targets by the compiled requote arithmetic
  (:class:`centbook.mm.quoter.Quoter`), the Python strategy where it declines, as live;
- ``test_backtest_python``: targets by the Python :class:`~centbook.mm.strategy.Strategy` only;
- ``test_replay_alone``: the replay with no backtest, the floor of the two above;
- ``test_hftbacktest_same_data``: the market converted to hftbacktest's events (:func:`to_columns`)
  and run by ``benchmarks/hftbacktest_runner.py`` in its own venv (``build/hbt-venv``, made with
  ``python3 -m venv build/hbt-venv && build/hbt-venv/bin/pip install hftbacktest numba``; skipped
  without it), next to centbook's backtest with the same parameters: events/s, fills and the
  gross P&L at settlement side by side (docs/backtest.md explains the differences).

``events_per_s`` counts the recording's records per second of the fastest round, the whole run
included (replay, exchange model, strategy, ledger, series); each benchmark checks that its run
gave the same fills as the other strategy path before recording its rate.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from centbook.backtest import load_backtest_config, run_backtest
from centbook.books import FrameKind
from centbook.record.importer import import_captures
from centbook.record.segment import SegmentWriter
from centbook.replay import replay

CAPTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "kalshi" / "captures"
CAPTURE = CAPTURES / "events" / "KXGOLD15M-26AUG101830-30-2026-08-10.ndjson.gz"
TICKER = "KXGOLD15M-26AUG101830-30"
CLOSE_NS = 1_786_401_000_000_000_000       # 2026-08-10T22:30:00Z
HBT_PYTHON = Path(__file__).resolve().parents[1] / "build" / "hbt-venv" / "bin" / "python"
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


def to_columns(recording: Path, ticker: str) -> dict[str, np.ndarray]:
    """The market's book levels and trades as hftbacktest-ready columns (see the runner).

    Every book frame becomes the new size of each level it changed (a snapshot: of every level
    that differs from before); a NO bid at ``p`` is a YES ask at ``1 - p``.
    """
    kind, ts, px, qty = [], [], [], []
    shown: dict[tuple[int, int], int] = {}
    last = 0

    def level(t: int, side: int, price_bp: int, size: int) -> None:
        if shown.get((side, price_bp), 0) != size:
            shown[(side, price_bp)] = size
            kind.append(side)
            ts.append(t)
            px.append((price_bp if side == 0 else 10_000 - price_bp) / 10_000)
            qty.append(size / 100)

    for event, books in replay(recording):
        last = t = max(last, event.wall_ns)
        fk = event.frame_kind
        if fk == FrameKind.TRADE:
            msg = json.loads(event.payload)["msg"]
            if msg["market_ticker"] == ticker:
                kind.append(2 if msg["taker_side"] == "yes" else 3)
                ts.append(t)
                px.append(float(msg["yes_price_dollars"]))
                qty.append(float(msg["count_fp"]))
        elif fk in (FrameKind.ORDERBOOK_DELTA, FrameKind.ORDERBOOK_SNAPSHOT) and event.ticker == ticker:
            book = books[ticker]
            if fk == FrameKind.ORDERBOOK_DELTA:
                msg = json.loads(event.payload)["msg"]
                side = 0 if msg["side"] == "yes" else 1
                price = round(float(msg["price_dollars"]) * 10_000)
                level(t, side, price, book.size_at(side, price))
                continue
            now = {(s, p): size for s in (0, 1) for p, size in book.levels(s)}
            for key in sorted(set(shown) | set(now)):
                level(t, key[0], key[1], now.get(key, 0))
    return {"kind": np.array(kind, dtype=np.int64), "ts": np.array(ts, dtype=np.int64),
            "px": np.array(px), "qty": np.array(qty)}


def test_hftbacktest_same_data(recording, tmp_path):
    if not HBT_PYTHON.exists():
        pytest.skip(f"no hftbacktest venv at {HBT_PYTHON.parent.parent} (see the module docstring)")
    params = {"step_ns": 50_000_000, "half_spread": 0.01, "skew": 0.0005, "size": 5.0, "max_position": 50.0,
              "entry_latency_ns": 20_000_000, "response_latency_ns": 5_000_000, "feed_latency_ns": 5_000_000,
              "stop_ns": CLOSE_NS - 300 * 10**9, "settlement": 1.0}
    columns = to_columns(recording, TICKER)
    data = tmp_path / "kalshi.npz"
    np.savez(data, **columns, **{k: np.array(v) for k, v in params.items()})
    out = subprocess.run([str(HBT_PYTHON), str(Path(__file__).with_name("hftbacktest_runner.py")), str(data)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    hbt = json.loads(out.stdout.strip().splitlines()[-1])
    assert hbt["events"] == len(columns["kind"]) and hbt["fills"] > 0
    mm, bt = load_backtest_config(None, {
        "strategy": {"half_spread_bp": 100, "skew_bp_per_contract": 5, "size": 500, "requote_threshold_bp": 1,
                     "min_quote_life_s": 0.05},
        "risk": {"max_position": 5000}, "backtest": {"queue": "pessimistic", "entry_latency_ms": 20,
                                                      "data_latency_ms": 5}})
    result, ours = run_backtest(recording, mm, bt, seed=1)
    print(f"\nsame data, {len(columns['kind']):,} book-level and trade events "
          f"({ours['events']:,} recording records for centbook):")
    print(f"  hftbacktest: {hbt['events_per_s']:,.0f} events/s, {hbt['fills']} fills, "
          f"volume {hbt['volume']:.2f}, position {hbt['position']:.2f}, "
          f"gross P&L at settlement ${hbt['pnl_settled']:.2f}")
    gross = (ours["pnl_settled_micro"] + ours["fees_micro"]) / 1e6
    print(f"  centbook:    {ours['events_per_s']:,} events/s, {ours['fills']} fills, "
          f"volume {ours['volume'] / 100:.2f}, position {ours['positions'].get(TICKER, 0) / 100:.2f}, "
          f"gross P&L at settlement ${gross:.2f}")
