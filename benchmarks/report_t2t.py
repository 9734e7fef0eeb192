"""The tick-to-trade stages of the compiled requote path in the benchmark report, before and after.

``benchmarks/bench_mm.py`` runs the pre-signed amend session back to back: as the compiled path
is (``presigned_amend``), with the reader handing every frame to Python before it
(``presigned_amend_before``) and with every request of a read made before any is written
(``presigned_amend_paired``). Each run records the compiled path's stage histograms
(``compiled_<stage>_ns``: p50, p99, count), the host's load and steal time. Parts:
:func:`stage_lines` (the table, the host's figures and the goal's targets for one group).
"""
from __future__ import annotations

from typing import Any

from benchmarks.report import Targets, extra, fmt_us, key_of, md_table

__all__ = ["RUNS", "STAGES", "stage_lines"]

#: (stage key in extra_info, what it is): in the order a write goes through them
STAGES = (
    ("python_frames", "the read's other frames in Python before the compiled path"),
    ("read_to_hook", "first frame read -> compiled path starts (books applied, those frames)"),
    ("hook_to_decision", "-> decision (targets, threshold; after the read's earlier decisions)"),
    ("decision_to_request", "-> request made (remaining checks, budget, bytes)"),
    ("request_to_written", "-> handed to the transport: the read's first write"),
    ("request_to_written_later",
     "-> handed to the transport: a later write of the read (after the writes before it)"),
)

GOAL_P50_NS, GOAL_P99_NS = 30_000, 150_000


def _us(ns: float | None) -> str:
    return "" if ns is None else fmt_us(ns / 1000)


def _host(e: dict[str, Any]) -> str:
    load = e.get("load_1min")
    return (f"load {load:.2f} on {e.get('cores', '?')} cores, steal {e.get('steal_ms_core0')} ms on the "
            f"maker's core and {e.get('steal_ms_host')} ms on all cores over {e.get('seconds', '?')} s"
            if load is not None else "")


#: (test name without test_, column heading): the runs compared, in this order
RUNS = (("presigned_amend_before", "before"), ("presigned_amend", "after"),
        ("presigned_amend_paired", "after, paired writes"))


def stage_lines(benches: list[dict[str, Any]], targets: Targets) -> list[str]:
    """The stage table of a tick-to-trade group (the runs of :data:`RUNS` present; empty without
    the run before and the run after), the host's figures of each run, and the tick-to-trade goal
    (p50 <= 30 µs, p99 <= 150 µs) checked on the run after into ``targets``."""
    runs = {key_of(b)[0]: extra(b) for b in benches}
    after = runs.get("presigned_amend")
    if after is None or "compiled_read_to_hook_ns" not in after:
        return []
    targets.check("p50 <= 30 µs (pre-signed amend, compiled path)", f"{_us(after['p50_ns'])} µs",
                  after["p50_ns"] <= GOAL_P50_NS)
    targets.check("p99 <= 150 µs (pre-signed amend, compiled path)", f"{_us(after['p99_ns'])} µs",
                  after["p99_ns"] <= GOAL_P99_NS)
    shown = [(head, runs[name]) for name, head in RUNS
             if name in runs and "compiled_read_to_hook_ns" in runs[name]]
    if len(shown) < 2 or shown[0][0] != "before":
        return []
    rows = []
    for key, what in STAGES:
        cells = [runs_e[f"compiled_{key}_ns"] for _, runs_e in shown]
        rows.append([what, *(f"{_us(c['p50'])} / {_us(c['p99'])}" for c in cells)])
    for name, p50, p99 in (("tick-to-trade, every write", "p50_ns", "p99_ns"),
                           ("tick-to-trade, first write of each read", "first_p50_ns", "first_p99_ns")):
        rows.append([f"**{name}**", *(f"**{_us(e[p50])} / {_us(e[p99])}**" for _, e in shown)])
    head = ["stage (compiled path, pre-signed amend), µs", *(f"{h} p50 / p99" for h, _ in shown)]
    return ["**Tick-to-trade stage by stage, before and after** (run back to back on the same host; "
            "before: every other frame of a read handed to Python before the compiled path; after: "
            "public trades and tickers, and the lifecycle of markets without an armed slot, handed to "
            "Python after it; paired writes: besides, every request of the read made before any is "
            "written)\n",
            *md_table(head, rows), "",
            *(f"- {h}: {_host(e)}; {e.get('samples', 0):,} writes timed." for h, e in shown), ""]
