"""The tick-to-trade section of the benchmark report: percentiles, targets, and the compiled
path's stages before and after.

``benchmarks/bench_mm.py`` runs the pre-signed amend session back to back: as the compiled path
is (``presigned_amend``), with the reader handing every frame to Python before it
(``presigned_amend_before``) and with every request of a read made before any is written
(``presigned_amend_paired``). Each run records the compiled path's stage histograms
(``compiled_<stage>_ns``: p50, p99, count), the host's load and steal time. Parts:
:func:`t2t_section` (the section: percentiles per group, issue 9's targets, the stages),
:func:`stage_lines` (the stage table, the host's figures and the goal's targets of one group).
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from benchmarks.report import Targets, extra, fmt_us, key_of, label, md_table, rows_of

__all__ = ["COMPARISONS", "RUNS", "STAGES", "stage_lines", "t2t_section"]

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


_PRESIGNED = re.compile(r"pre.?sign", re.I)
# tick-to-trade runs made to compare the compiled path's variants, not held to the targets
COMPARISONS = ("presigned_amend_before", "presigned_amend_paired")


def t2t_section(results: dict[str, Any]) -> str:
    """Tick-to-trade p50/p99/p99.9 per group, issue 9's targets on the pre-signed rows."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bench in rows_of(results, "mm"):
        groups[bench.get("group") or "mm"].append(bench)
    if not groups:
        return ""
    out = []
    t = Targets("Targets (tick-to-trade on pre-signed paths)")
    for group in sorted(groups):
        table = []
        for b in groups[group]:
            e = extra(b)
            if "p50_ns" not in e:
                continue
            table.append([label(b, group), f"{e.get('samples', 0):,}", fmt_us(e["p50_ns"] / 1000),
                          fmt_us(e["p99_ns"] / 1000), fmt_us(e["p999_ns"] / 1000) if "p999_ns" in e else "",
                          fmt_us(e["first_p50_ns"] / 1000) if "first_p50_ns" in e else "",
                          fmt_us(e["first_p99_ns"] / 1000) if "first_p99_ns" in e else ""])
            # bench_mm.py records which path a run took; else the name says it ("presigned")
            presigned = e["presigned"] if "presigned" in e else _PRESIGNED.search(f"{b['name']} {group}")
            if presigned and key_of(b)[0] not in COMPARISONS:  # there for the stage comparison only
                what = label(b, group)
                t.check(f"p50 <= 150 µs ({what})", f"{fmt_us(e['p50_ns'] / 1000)} µs", e["p50_ns"] <= 150_000)
                t.check(f"p99 <= 500 µs ({what})", f"{fmt_us(e['p99_ns'] / 1000)} µs", e["p99_ns"] <= 500_000)
        if table:
            what_is_timed = ": first frame read to order body written" if "tick-to-trade" in group else ""
            firsts = any(row[5] for row in table)
            head = ["path", "samples", "p50 µs", "p99 µs", "p99.9 µs"]
            if firsts:  # every write, then only the first write each socket read starts
                head += ["first write p50 µs", "first write p99 µs"]
            out += [f"**{group}** (`benchmarks/bench_mm.py`{what_is_timed})\n",
                    *md_table(head, [row if firsts else row[:5] for row in table]), ""]
            if firsts:
                out.append("p50/p99/p99.9 count every write; a tick that moves both quotes makes two, and "
                           "the second waits for the first (one thread). The first-write columns count "
                           "only the first write of each socket read. The targets are checked on every "
                           "write.\n")
            out += _notes(groups[group], group)
            out += stage_lines(groups[group], t)
    out += t.markdown()
    if not t.rows:
        out.append("No pre-signed tick-to-trade result in this run: its targets are not evaluated.\n")
    return "\n".join(out)


def _notes(benches: list[dict[str, Any]], group: str) -> list[str]:
    """Who wrote the amends (or cancels) of each run, and the CPU time the host took from the
    maker's core."""
    notes = []
    for b in benches:
        e = extra(b)
        said = []
        if e.get("amends_compiled"):
            said.append(f"{e['amends_compiled']:,} amends decided and written by the compiled path "
                        f"(`centbook.mm.quoter`), {e.get('amends_now', 0):,} by Python in the read callback")
        if e.get("cancels_compiled"):
            said.append(f"{e['cancels_compiled']:,} cancels decided and written by the compiled path "
                        f"(`centbook.mm.quoter`; the creates after them by the slot's task), of "
                        f"{e.get('cancels', 0):,} cancels answered in the run")
        if e.get("steal_ms_core0") is not None:
            said.append(f"the host took {e['steal_ms_core0']:,} ms of the maker's core over "
                        f"{e.get('seconds', '?')} s (steal time)")
        if said:
            notes.append(f"- {label(b, group)}: " + "; ".join(said) + ".")
    return [*notes, ""] if notes else []
