"""kalshi-sdk's order book on the same stream as ``bench_book.py``, under its own interpreter.

kalshi-sdk (PyPI, pinned in ``constraints-sdk.txt``) needs Python >= 3.12 and centbook's venv is
3.11, so its book runs in a second venv (``.venv-sdk``, made by
:func:`benchmarks.sdkenv.ensure_sdk_venv`) through ``kalshi_sdk_runner.py`` in a subprocess.
This module writes the very stream ``bench_book.py`` replays (``streams.make_stream`` with the same
length and grids) to a file together with the reference's answer (the dict book's final levels
and its checksum of best bids after each delta, computed here by ``bench_book.replay_checked``),
runs the runner, and checks the runner's final book and checksum against the reference before its
figures are recorded. The runner checks every timed round itself too.

The runner times apply + best read per delta (see its docstring for exactly what is inside the
timed loop); pytest-benchmark's own figure for this test is the whole subprocess (start-up, frame
building and pydantic validation included), so the per-delta figures are in ``extra_info``
(``ns_per_delta_median``, ``ns_per_delta_min``), which the report reads. The group is the same
as the other contenders' (``book apply+best <grid>``), so the report puts it in the same tables.

Where the sdk venv is set up is decided by the caller: ``make bench`` and ``centbook bench`` make
it and pass ``CENTBOOK_SDK_STATUS`` (a JSON file: the interpreter, or why there is none); run by
hand, this module makes it itself. With no Python >= 3.12 on the machine the test is skipped with
the reason, and the report says so.
"""
from __future__ import annotations

import os
import statistics
from pathlib import Path

import pytest

from benchmarks.bench_book import GRIDS, QUICK, N, replay_checked
from benchmarks.contenders import DictBook
from benchmarks.kalshi_sdk_runner import run_runner, write_stream
from benchmarks.streams import Stream, make_stream

ROOT = Path(__file__).resolve().parents[1]
# 100-300 µs per delta here (every read re-sorts both sides and builds a pydantic object per
# level, and the stream's books hold 60-160 levels a side): one round of the full stream is a few
# minutes per grid, so one round (it is a long, steady average over a million deltas). --quick
# has under a minute in all: the cent grid only, and only the first QUICK_DELTAS deltas of the
# quick stream (checked against the reference on that same prefix; the report says so).
# CENTBOOK_BENCH_SDK_DELTAS=K times it on the first K deltas in a full run too (the report marks
# such a row "(prefix)"); by default a full run replays the whole stream.
ROUNDS = 1
QUICK_GRIDS = (100,)
QUICK_DELTAS = 20_000
SDK_DELTAS = int(os.environ.get("CENTBOOK_BENCH_SDK_DELTAS") or (QUICK_DELTAS if QUICK else N))


def sdk_python() -> str:
    """The sdk venv's interpreter, or skip with the reason there is none."""
    from benchmarks.sdkenv import ensure_sdk_venv, read_sdk_status

    status_path = os.environ.get("CENTBOOK_SDK_STATUS")
    status = read_sdk_status(Path(status_path)) if status_path else ensure_sdk_venv(ROOT)
    if status is None:
        pytest.skip(f"kalshi-sdk not timed: no sdk venv status in {status_path}")
    if status.get("python"):
        return str(status["python"])
    pytest.skip(f"kalshi-sdk not timed: {status.get('reason', 'no sdk venv')}")


def prefix(stream: Stream, n: int) -> Stream:
    """The first ``n`` deltas of ``stream`` (same snapshot)."""
    return Stream(stream.tick_bp, stream.sides[:n], stream.prices[:n], stream.deltas[:n],
                  stream.snapshot_yes, stream.snapshot_no)


@pytest.mark.parametrize("tick", sorted(GRIDS, reverse=True), ids=lambda t: GRIDS[t])
def test_kalshi_sdk(benchmark, tick, tmp_path):
    if QUICK and tick not in QUICK_GRIDS:
        pytest.skip("--quick: kalshi-sdk on the cent grid only")
    python = sdk_python()
    stream = make_stream(N, tick)
    if SDK_DELTAS < len(stream):
        stream = prefix(stream, SDK_DELTAS)
    final, checksum = replay_checked(stream, DictBook(stream.snapshot_yes, stream.snapshot_no))
    stream_file = tmp_path / "stream.bin"
    write_stream(str(stream_file), stream, final, checksum)

    benchmark.group = f"book apply+best {GRIDS[tick]}"
    result = benchmark.pedantic(run_runner, args=(python, str(stream_file), ROUNDS), rounds=1,
                                iterations=1)

    assert result["deltas"] == len(stream) and len(result["round_ns"]) == ROUNDS
    assert [[tuple(lv) for lv in side] for side in result["final"]] == [list(side) for side in final], \
        "kalshi-sdk: final book differs from the reference"
    assert result["checksum"] == checksum, "kalshi-sdk: best-price checksum differs from the reference"
    per_delta = [ns / len(stream) for ns in result["round_ns"]]
    decode = [ns / len(stream) for ns in result["decode_round_ns"]]
    benchmark.extra_info.update(
        ops=len(stream), stream_deltas=N, tick_bp=tick, rounds=ROUNDS,
        ns_per_delta_median=round(statistics.median(per_delta), 1),
        ns_per_delta_min=round(min(per_delta), 1),
        decode_ns_per_delta_median=round(statistics.median(decode), 1),
        timed_in=f"subprocess, Python {result['python']}",
        python=result["python"], kalshi_sdk=result["kalshi_sdk"], pydantic=result["pydantic"])
