"""The benchmark report renders from pytest-benchmark JSON (no benchmark is run here).

Each fixture is a small synthetic results.json: rows as pytest-benchmark writes them (``name``,
``fullname`` with the module, ``group``, ``stats`` in seconds per round, ``extra_info``), with
round figures chosen so that every expected cell can be worked out by hand.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from benchmarks import sdkenv
from benchmarks.report import END, START, render, update_readme
from benchmarks.sdkenv import ensure_sdk_venv, find_sdk_python

ROOT = Path(__file__).resolve().parents[2]


def bench(name, group, median_s, ops=None, *, module=None, min_s=None, **extra):
    row = {"name": name, "group": group, "stats": {"median": median_s, "min": min_s or median_s},
           "extra_info": ({"ops": ops} if ops else {}) | extra}
    if module:
        row["fullname"] = f"benchmarks/{module}.py::{name}"
    return row


def results(*rows):
    return {"machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}, "python_version": "3.11.7"},
            "datetime": "2026-11-24T18:00:00", "benchmarks": list(rows)}


def section(text, title):
    """The text from a bold title to the next bold title."""
    start = text.index(f"**{title}")
    end = text.find("\n**", start + 2)
    return text[start:end if end > 0 else None]


RESULTS = results(
    bench("test_dict_max[cent]", "book apply+best cent", 2.0, 1000),
    bench("test_order_book_c[cent]", "book apply+best cent", 1.0, 1000),
    bench("test_centbook_tuple[cent]", "book apply+best cent", 0.1, 1000),
    bench("test_memory_per_book[cent]", "scale: book construction", 0.001, 200,
          bytes_per_book=2400.0, slots=101, grid="cent"),
    bench("test_spread_markets[1]", "scale: deltas spread over N markets", 0.01, 1000,
          markets=1, levels=16),
    bench("test_spread_markets[10000]", "scale: deltas spread over N markets", 0.05, 1000,
          markets=10000, levels=16),
)

BOOK = [
    bench("test_dict_max[cent]", "book apply+best cent", 2.0, 10**6, module="bench_book"),
    bench("test_centbook_tuple[cent]", "book apply+best cent", 0.1, 10**6, module="bench_book"),
    bench("test_centbook_tuple[deci-cent]", "book apply+best deci-cent", 0.2, 10**6, module="bench_book"),
]
# the sdk row's own stats are the whole subprocess (300 s); its per-delta figure is in extra_info
SDK = bench("test_kalshi_sdk[cent]", "book apply+best cent", 300.0, 10**6, module="bench_kalshi_sdk",
            ns_per_delta_median=250_000.0, ns_per_delta_min=240_000.0, decode_ns_per_delta_median=30_000.0,
            stream_deltas=10**6, python="3.12.1", kalshi_sdk="22.4.0", pydantic="2.14.4")
DECODE = [
    bench("test_json_dict", "", 0.100, module="bench_decode", ns_per_frame_median=5000.0,
          ns_per_frame_min=4900.0),
    bench("test_orjson_dict", "", 0.060, module="bench_decode", ns_per_frame_median=3000.0,
          ns_per_frame_min=2900.0),
    bench("test_msgspec_centbook_book", "", 0.020, module="bench_decode", ns_per_frame_median=1000.0,
          ns_per_frame_min=990.0),
    bench("test_books_apply_frame", "", 0.005, module="bench_decode", ns_per_frame_median=250.0,
          ns_per_frame_min=240.0),
    bench("test_books_apply_frames", "", 0.0048, module="bench_decode", ns_per_frame_median=240.0,
          ns_per_frame_min=230.0),
    bench("test_snapshot_100_levels", "", 0.024, module="bench_decode", ns_per_level_median=60.0,
          ns_per_level_min=55.0),
    bench("test_real_captures", "", 0.016, module="bench_decode", ns_per_frame_median=200.0,
          ns_per_frame_min=199.0),
    bench("test_zz_summary", "", 1.58e-7, module="bench_decode"),
]


def feed(floor_name="test_picows_floor_cython"):
    rows = [
        bench("test_centbook_feed[no_subscriber]", "", 0.04, 100_000, module="bench_feed",
              msgs_per_s=2_600_000),
        bench("test_centbook_feed[one_subscriber]", "", 0.042, 100_000, module="bench_feed",
              msgs_per_s=2_400_000),
        bench("test_picows_floor", "", 0.066, 100_000, module="bench_feed", msgs_per_s=1_500_000),
        bench("test_websockets_json", "", 1.0, 100_000, module="bench_feed", msgs_per_s=100_000),
        bench("test_aiohttp_msgspec", "", 0.33, 100_000, module="bench_feed", msgs_per_s=300_000),
    ]
    if floor_name:
        rows.append(bench(floor_name, "", 0.025, 100_000, module="bench_feed", msgs_per_s=4_000_000))
    return rows


REST = [
    bench("test_round_trip_interleaved", "rest: order round trips, whole run (p50/p99 in extra_info)",
          18.3, module="bench_rest",
          **{"centbook inline signing": {"p50_us": 900.0, "p99_us": 2000.0, "client_cpu_us_per_order": 400.0},
             "requests, tutorial style": {"p50_us": 3100.0, "p99_us": 5200.0,
                                          "client_cpu_us_per_order": 1500.0}}),
    bench("test_event_loop_lag_while_ordering[inline]",
          "rest: event-loop lag run, whole run (p50/p99 in extra_info)", 3.1, module="bench_rest",
          p50_us=80.0, p99_us=1500.0, max_us=3000.0),
    bench("test_client_side_build_sign_encode[presigned]", "rest: build + sign + encode one order",
          12.4e-6, module="bench_rest", min_s=9.5e-6),
]
MM = [
    bench("test_tick_to_trade[presigned]", "mm: tick-to-trade", 30.0, module="bench_mm",
          p50_ns=120_000, p99_ns=600_000, p999_ns=900_000, samples=5000),
    bench("test_tick_to_trade[sign_on_demand]", "mm: tick-to-trade", 30.0, module="bench_mm",
          p50_ns=400_000, p99_ns=1_200_000, p999_ns=2_000_000, samples=5000),
]
SIM = [bench("test_flow_rate[50000]", "sim: synthetic flow", 10.0, module="bench_sim",
             updates_per_s=30_000.0, requested_per_s=50_000.0)]


def test_render_puts_command_and_ratios_first():
    text = render(RESULTS, "centbook bench --quick")
    assert text.startswith("Reproduce with `centbook bench --quick`")
    assert text.index("Ratios first") < text.index("ns per operation")
    assert "| dict book + max() (tutorial) | 20.00x |" in text
    assert "| bmoscon order-book C SortedDict | 10.00x |" in text
    assert "| 10,000 | 23,438 KiB | 50,000 |" in text      # working set = markets x measured bytes
    assert "(5.0x)" in text
    assert "kalshi-sdk" in text


def test_kalshi_sdk_is_a_contender_with_its_own_per_delta_figure():
    text = render(results(*BOOK, SDK), "make bench")
    ratios = section(text, "Ratios first")
    # 250,000 ns per delta from extra_info over centbook's 100 ns; not the subprocess's 300 s
    assert "| kalshi-sdk OrderbookManager (Python 3.12+ venv) | 2,500.00x | not run |" in ratios
    assert "| centbook apply_delta + best_bid (tuple) | 1.00x | 1.00x |" in ratios
    cent = section(text, "book apply+best cent")
    assert "| kalshi-sdk OrderbookManager (Python 3.12+ venv) | 1.0x | 250,000 | 240,000 |" in cent
    assert "kalshi-sdk 22.4.0 (pydantic 2.14.4) ran in its own venv under Python 3.12.1" in text
    assert "the top level: 250,000.0 µs" not in text and "250 µs (cent)" in text
    assert "30.0 µs (cent)" in text and "Not run on: deci-cent, centi-cent." in text
    assert "Timed on the first" not in text and "(prefix)" not in text   # the whole stream


def test_kalshi_sdk_on_a_prefix_says_so():
    short = json.loads(json.dumps(SDK))
    short["extra_info"].update(ops=20_000, stream_deltas=100_000)
    text = render(results(*BOOK, short), "centbook bench --quick")
    assert "Timed on the first 20,000 deltas of the 100,000-delta stream" in text
    assert "| kalshi-sdk OrderbookManager (Python 3.12+ venv) | 2,500.00x (prefix) | not run |" in text


def test_without_the_sdk_the_report_says_why():
    reason = "kalshi-sdk needs Python >= 3.12 and none was found (looked for python3.12 on PATH)"
    text = render(results(*BOOK), "make bench", sdk_status={"reason": reason})
    assert f"kalshi-sdk's book is not timed in this run: {reason}." in text
    assert "kalshi-sdk OrderbookManager" not in text  # no invented row
    # without a status either, it still says plainly that the sdk did not run
    assert "kalshi-sdk's book is not in this run" in render(results(*BOOK), "make bench")


def test_decode_rows_are_ns_per_frame_against_the_fast_path_and_issue_3_targets():
    text = render(results(*BOOK, *DECODE), "make bench")
    assert "zz_summary" not in text and "x faster than slowest" not in section(text, "Frames into books")
    table = section(text, "Frames into books")
    assert "| json.loads + dict book (tutorial) | 5,000 | 4,900 | frame | 20.0x |" in table
    assert "| msgspec typed + centbook OrderBook | 1,000 | 990 | frame | 4.0x |" in table
    assert "| centbook Books.apply_frame (one call per frame) | 250 | 240 | frame | 1.0x |" in table
    assert "| centbook Books.apply_frames, real Kalshi captures | 200 | 199 | frame | other frames |" in table
    assert "| centbook snapshot, 100 levels per side | 60.0 | 55.0 | level |  |" in table
    # ordered: the stream's frames fastest first, then other frames, then per-level rows
    assert table.index("apply_frames (list)") < table.index("apply_frame (one call") < table.index("json")
    assert table.index("json") < table.index("real Kalshi") < table.index("100 levels")
    targets = section(text, "Targets (frames into books)")
    assert "| centbook one call per frame: <= 200 ns per frame | 250 ns | **not met** |" in targets
    assert "| ... >= 18x json.loads + dict book (tutorial) | 20.0x | met |" in targets
    assert "| ... stretch: >= 25x json.loads + dict book (tutorial) | 20.0x | **not met** |" in targets
    assert "| ... >= 3x msgspec typed + centbook OrderBook | 4.0x | met |" in targets
    assert "60.0 ns per level" in text
    assert "Not in this run: msgspec + dict book." in text


def test_feed_rows_are_messages_per_second_against_the_cython_floor():
    text = render(results(*feed()), "make bench")
    table = section(text, "WebSocket feed into books")
    assert "| contender | msgs/s | ns per msg | x the tutorial stack | time / receive-only floor |" in table
    assert ("| centbook feed (Cython listener) `no_subscriber` | 2,600,000 | 385 | 26.0x | 1.54x |"
            in table)
    assert "| picows receive-only floor (Cython listener) | 4,000,000 | 250 | 40.0x | 1.00x |" in table
    assert "| websockets + json + dict book (tutorial) | 100,000 | 10,000 | 1.0x | 40.00x |" in table
    targets = section(text, "Targets (feed")
    assert "| >= 2.5M msgs/s into books | 2.60M | met |" in targets
    assert "| decode + apply <= 2.5x the receive-only floor | 1.54x | met |" in targets
    assert "| >= 20x the tutorial stack (websockets + json + dict) | 26.0x | met |" in targets
    assert "Not in this run" not in table
    # every table ends with a blank line (a line right after a table would become one of its rows)
    assert "|\n**" not in text and "|\n\n**Targets (feed" in text


def test_feed_floor_named_by_a_parameter_is_found_too():
    text = render(results(*feed("test_picows_floor[cython]")), "make bench")
    assert "| picows receive-only floor (Cython listener) | 4,000,000 |" in text


def test_feed_without_the_cython_floor_uses_the_python_one_and_says_so():
    text = render(results(*feed(floor_name=None)), "make bench")
    assert "time / receive-only floor (Python listener)" in text
    targets = section(text, "Targets (feed")
    # 1.5M / 2.6M: centbook is faster than the Python-listener floor
    assert "| decode + apply <= 2.5x the receive-only floor (the Python-listener floor: the Cython " \
           "one did not run) | 0.58x | met |" in targets
    assert "Not in this run: picows receive-only floor (Cython listener)." in text


def test_feed_below_target_is_not_met():
    rows = feed()
    rows[0]["extra_info"]["msgs_per_s"] = 1_000_000
    targets = section(render(results(*rows), "make bench"), "Targets (feed")
    assert "| >= 2.5M msgs/s into books | 1.00M | **not met** |" in targets
    assert "| decode + apply <= 2.5x the receive-only floor | 4.00x | **not met** |" in targets
    assert "| >= 20x the tutorial stack (websockets + json + dict) | 10.0x | **not met** |" in targets


def test_rest_rows_show_percentiles_not_whole_run_times():
    text = render(results(*REST), "make bench")
    trips = section(text, "rest: order round trips")
    assert "| client | p50 µs | p99 µs | client CPU µs per order |" in trips
    assert "| centbook inline signing | 900 | 2,000 | 400 |" in trips
    assert "| requests, tutorial style | 3,100 | 5,200 | 1,500 |" in trips
    lag = section(text, "rest: event-loop lag run")
    assert "| 1 ms timer lateness while ordering `inline` | 80.0 | 1,500 | 3,000 |" in lag
    encode = section(text, "rest: build + sign + encode one order")
    assert "| build + sign + encode `presigned` | 12.4 | 9.5 |" in encode
    assert "18,300" not in text and "extra_info" not in text     # no whole-run wall times, no jargon


def test_tick_to_trade_percentiles_and_issue_9_targets_on_pre_signed_paths():
    text = render(results(*MM), "make bench")
    table = section(text, "mm: tick-to-trade")
    assert "| path | samples | p50 µs | p99 µs | p99.9 µs |" in table
    assert "| tick_to_trade `presigned` | 5,000 | 120 | 600 | 900 |" in table
    assert "| tick_to_trade `sign_on_demand` | 5,000 | 400 | 1,200 | 2,000 |" in table
    targets = section(text, "Targets (tick-to-trade")
    assert "| p50 <= 150 µs (tick_to_trade `presigned`) | 120 µs | met |" in targets
    assert "| p99 <= 500 µs (tick_to_trade `presigned`) | 600 µs | **not met** |" in targets
    assert "sign_on_demand" not in targets           # reported on its own line, no target
    only_on_demand = render(results(MM[1]), "make bench")
    assert "No pre-signed tick-to-trade result in this run" in only_on_demand


def test_tick_to_trade_path_from_extra_info_as_bench_mm_records_it():
    rows = [bench("test_presigned_amend", "mm: tick-to-trade", 30.0, module="bench_mm", presigned=True,
                  p50_ns=140_000, p99_ns=450_000, p999_ns=900_000, samples=2000),
            bench("test_sign_on_demand_amend", "mm: tick-to-trade", 30.0, module="bench_mm",
                  presigned=False, p50_ns=400_000, p99_ns=900_000, p999_ns=2_000_000, samples=2000)]
    targets = section(render(results(*rows), "make bench"), "Targets (tick-to-trade")
    assert "| p50 <= 150 µs (pre-signed, requote by amend) | 140 µs | met |" in targets
    assert "| p99 <= 500 µs (pre-signed, requote by amend) | 450 µs | met |" in targets
    assert "sign on demand" not in targets


def _t2t_run(name, p50_us, later_us, **host):
    stages = {f"compiled_{key}_ns": {"p50": p50_us * 1000, "p99": 4 * p50_us * 1000, "count": 100}
              for key in ("python_frames", "read_to_hook", "hook_to_decision", "decision_to_request",
                          "request_to_written")}
    stages["compiled_request_to_written_later_ns"] = {"p50": later_us * 1000, "p99": 90_000, "count": 80}
    return bench(name, "mm: tick-to-trade", 30.0, module="bench_mm", presigned=True, p50_ns=p50_us * 5000,
                 p99_ns=p50_us * 20_000, p999_ns=900_000, samples=180, first_p50_ns=p50_us * 4000,
                 first_p99_ns=p50_us * 15_000, first_samples=100, **stages, **host)


def test_tick_to_trade_stages_before_and_after_with_the_host_load_and_the_goal():
    host = {"load_1min": 2.5, "cores": 2, "steal_ms_core0": 10.0, "steal_ms_host": 30.0, "seconds": 40.0}
    rows = [_t2t_run("test_presigned_amend_paired", 6, 20, **host),
            _t2t_run("test_presigned_amend", 5, 11, **host),
            _t2t_run("test_presigned_amend_before", 12, 60, before=True, **host)]
    text = render(results(*rows), "make bench")
    table = section(text, "Tick-to-trade stage by stage")
    assert "| before p50 / p99 | after p50 / p99 | after, paired writes p50 / p99 |" in table
    later = "-> handed to the transport: a later write of the read (after the writes before it)"
    assert f"| {later} | 60.0 / 90.0 | 11.0 / 90.0 | 20.0 / 90.0 |" in table
    assert "| **tick-to-trade, every write** | **60.0 / 240** | **25.0 / 100** | **30.0 / 120** |" in table
    assert ("- before: load 2.50 on 2 cores, steal 10.0 ms on the maker's core and 30.0 ms on all cores"
            in table)
    targets = section(text, "Targets (tick-to-trade")
    assert "amend, before" not in targets  # the comparison runs are not held to the targets
    assert "| p50 <= 30 µs (pre-signed amend, compiled path) | 25.0 µs | met |" in targets
    assert "| p99 <= 150 µs (pre-signed amend, compiled path) | 100 µs | met |" in targets
    slow = render(results(_t2t_run("test_presigned_amend", 8, 11, **host)), "make bench")
    assert "| p50 <= 30 µs (pre-signed amend, compiled path) | 40.0 µs | **not met** |" in slow
    assert "Tick-to-trade stage by stage" not in slow  # no run before: no comparison


def test_sim_flow_is_delivered_updates_per_second_against_50000():
    text = render(results(*SIM), "make bench")
    assert "| flow_rate `50000` | 50,000 | 30,000 | 60% |" in text
    assert "| >= 50,000 book updates/s delivered (best case) | 30,000/s | **not met** |" in text


def test_unknown_modules_get_per_op_times_without_cross_row_ratios():
    rows = [bench("test_new_thing", "", 0.002, 1000, module="bench_new"),
            bench("test_other_thing", "", 2.0, 1000, module="bench_new")]
    text = render(results(*rows), "make bench")
    table = section(text, "bench_new")
    assert "| new_thing | 2,000 | 2,000 |" in table and "| other_thing | 2,000,000 | 2,000,000 |" in table
    assert "x faster" not in table


def test_a_run_without_the_sdk_or_the_optional_suites():
    """What ``--quick`` on a machine without Python 3.12 gives: book and decode only."""
    status = {"reason": "kalshi-sdk needs Python >= 3.12 and none was found"}
    text = render(results(*BOOK, *DECODE), "centbook bench --quick", sdk_status=status)
    for absent in ("WebSocket feed into books", "rest:", "mm:", "Embedded exchange flow",
                   "Targets (feed", "Targets (tick-to-trade", "Memory per book"):
        assert absent not in text
    assert ("Suites not in this run: WebSocket feed throughput (`benchmarks/bench_feed.py`); REST order "
            "path (`benchmarks/bench_rest.py`); tick-to-trade (`benchmarks/bench_mm.py`); embedded "
            "exchange flow (`benchmarks/bench_sim.py`); scale and memory "
            "(`benchmarks/bench_scale.py`).") in text
    assert "not timed in this run: kalshi-sdk needs Python >= 3.12" in text
    every = render(results(*BOOK, SDK, *DECODE, *feed(), *REST, *MM, *SIM, *RESULTS["benchmarks"][3:]),
                   "make bench")
    assert "Suites not in this run" not in every
    assert not re.search(r"\|\n[^|\n]", every)   # every table is closed by a blank line


def test_update_readme_replaces_only_the_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{START}\nold\n{END}\nafter\n")
    update_readme(readme, "new")
    assert readme.read_text() == f"before\n{START}\nnew\n{END}\nafter\n"
    readme.write_text("no markers")
    with pytest.raises(SystemExit):
        update_readme(readme, "new")


# ---------------------------------------------------------------- finding Python >= 3.12

def fake_python(path: Path, version: str, code: int = 0) -> Path:
    """An executable that answers ``-c 'print(*sys.version_info[:3])'`` like that interpreter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version.replace('.', ' ')}\nexit {code}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_pythons(tmp_path, monkeypatch):
    """An empty PATH and an empty pyenv: whatever a test adds is all there is."""
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    return tmp_path


def test_find_sdk_python_looks_on_path_then_in_pyenv(no_pythons):
    fake_python(no_pythons / "pyenv" / "versions" / "3.11.7" / "bin" / "python", "3.11.7")
    assert find_sdk_python()[0] is None
    # a pyenv shim of a version that is not selected fails when run: passed over
    fake_python(no_pythons / "bin" / "python3.12", "3.12.1", code=127)
    found = fake_python(no_pythons / "pyenv" / "versions" / "3.13.2" / "bin" / "python", "3.13.2")
    exe, looked = find_sdk_python()
    assert exe == str(found)
    assert looked[:2] == ["python3.12 on PATH", "python3.13 on PATH"]
    on_path = fake_python(no_pythons / "bin" / "python3.13", "3.13.0")
    assert find_sdk_python()[0] == str(on_path)


def test_ensure_sdk_venv_without_python_312_says_why(no_pythons):
    (no_pythons / "constraints-sdk.txt").write_text("kalshi-sdk==22.4.0\n")
    status_path = no_pythons / "out" / "sdk-env.json"
    status = ensure_sdk_venv(no_pythons, status_path, log=lambda _: None)
    assert "python" not in status
    assert "needs Python >= 3.12 and none was found" in status["reason"]
    assert "python3.12 on PATH" in status["reason"] and "pyenv" in status["reason"]
    assert sdkenv.read_sdk_status(status_path) == status
    text = render(results(*BOOK), "make bench", sdk_status=sdkenv.read_sdk_status(status_path))
    assert status["reason"] in text


def test_ensure_sdk_venv_reuses_an_up_to_date_venv(no_pythons):
    constraints = no_pythons / "constraints-sdk.txt"
    constraints.write_text("kalshi-sdk==22.4.0\n")
    python = fake_python(no_pythons / ".venv-sdk" / "bin" / "python", "3.12.1")
    stamp = no_pythons / ".venv-sdk" / ".deps-stamp"
    stamp.write_text(hashlib.sha256(constraints.read_bytes() + b"kalshi-sdk==22.4.0").hexdigest())
    assert ensure_sdk_venv(no_pythons) == {"python": str(python), "version": "3.12.1"}
    # changed constraints: the venv is redone, and with no interpreter to redo it with, that is said
    constraints.write_text("kalshi-sdk==22.4.0\npydantic==2.14.4\n")
    assert "none was found" in ensure_sdk_venv(no_pythons, log=lambda _: None)["reason"]


def test_missing_constraints_file_is_named(no_pythons):
    assert "constraints-sdk.txt is missing" in ensure_sdk_venv(no_pythons)["reason"]


def test_the_real_sdk_constraints_pin_the_sdk():
    pins = (ROOT / "constraints-sdk.txt").read_text()
    assert "kalshi-sdk==22.4.0" in pins and sdkenv.SDK_REQUIREMENT == "kalshi-sdk==22.4.0"


def test_first_write_columns_beside_every_write_and_targets_on_every_write():
    rows = [bench("test_presigned_amend", "mm: tick-to-trade", 30.0, module="bench_mm", presigned=True,
                  p50_ns=210_000, p99_ns=450_000, p999_ns=900_000, samples=2000,
                  first_p50_ns=120_000, first_p99_ns=300_000, first_samples=1000)]
    text = render(results(*rows), "make bench")
    table = section(text, "mm: tick-to-trade")
    assert "first write p50 µs | first write p99 µs |" in table
    assert "| 2,000 | 210 | 450 | 900 | 120 | 300 |" in table
    targets = section(text, "Targets (tick-to-trade")
    assert "| p50 <= 150 µs (pre-signed, requote by amend) | 210 µs | **not met** |" in targets


def test_grid_spread_from_the_interleaved_rounds_when_present():
    rows = [*BOOK,
            bench("test_grids_interleaved", "book grids interleaved", 9.0, module="bench_book",
                  per_call_ns={"cent": 80.0, "deci-cent": 75.0, "centi-cent": 70.0},
                  batch_ns={"cent": 1.8, "deci-cent": 1.4, "centi-cent": 1.5})]
    text = render(results(*rows), "make bench")
    targets = section(text, "Targets (order book)")
    assert "cent 80.0 ns, deci-cent 75.0 ns, centi-cent 70.0 ns) | 14% | met |" in targets
    assert "cent 1.8 ns, deci-cent 1.4 ns, centi-cent 1.5 ns) | 29% | **not met** |" in targets
    assert "book grids interleaved" not in text.split("Targets (order book)")[0]


def test_tick_to_trade_notes_say_who_wrote_the_amends_and_the_hosts_steal():
    rows = [bench("test_presigned_amend", "mm: tick-to-trade", 30.0, module="bench_mm", presigned=True,
                  p50_ns=140_000, p99_ns=450_000, p999_ns=900_000, samples=2000, amends_compiled=1990,
                  amends_now=7, steal_ms_core0=412.5, seconds=31.2),
            bench("test_presigned_cancel_create", "mm: tick-to-trade", 30.0, module="bench_mm",
                  presigned=True, p50_ns=400_000, p99_ns=900_000, p999_ns=2_000_000, samples=2000,
                  cancels_compiled=1500, cancels=1600),
            bench("test_sign_on_demand_amend", "mm: tick-to-trade", 30.0, module="bench_mm",
                  presigned=False, p50_ns=900_000, p99_ns=2_000_000, p999_ns=3_000_000, samples=2000)]
    table = section(render(results(*rows), "make bench"), "mm: tick-to-trade")
    assert ("- pre-signed, requote by amend: 1,990 amends decided and written by the compiled path "
            "(`centbook.mm.quoter`), 7 by Python in the read callback; the host took 412.5 ms of the "
            "maker's core over 31.2 s (steal time).") in table
    assert ("- pre-signed, requote by cancel + create: 1,500 cancels decided and written by the compiled "
            "path (`centbook.mm.quoter`; the creates after them by the slot's task), of 1,600 cancels "
            "answered in the run.") in table
    assert "sign on demand, requote by amend:" not in table  # nothing to say about it
