"""The benchmark report: pytest-benchmark's JSON turned into Markdown, ratios first.

:func:`render` turns pytest-benchmark's JSON into Markdown, ratios first; ``make bench`` (through
``scripts/bench_report.py``) writes the same text, without the charts, into docs/performance.md between
``<!-- bench:start -->`` and ``<!-- bench:end -->``. No figure in either is typed by hand: each
section is chosen by the module a result came from (its ``fullname``) and reads the figures that
module records (``extra_info``): ns per delta for the books, ns per frame for the decoder,
messages/s for the feed, p50/p99 for REST, p50/p99/p99.9 for tick-to-trade, updates/s for the
sim. A suite or contender that did not run is absent from the tables and named in a note.
Running the suites and the charts: :mod:`benchmarks.runner`; kalshi-sdk's venv:
:mod:`benchmarks.sdkenv`.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["render", "update_readme"]

START, END = "<!-- bench:start -->", "<!-- bench:end -->"

LABELS = {
    "dict_max": "dict book + max() (tutorial)",
    "sortedcontainers": "sortedcontainers SortedDict book",
    "order_book_c": "bmoscon order-book C SortedDict",
    "kalshi_sdk": "kalshi-sdk OrderbookManager (Python 3.12+ venv)",
    "centbook_tuple": "centbook apply_delta + best_bid (tuple)",
    "centbook_int": "centbook apply_delta + best_bid_bp (int)",
    "floor_kernel": "floor: unvalidated C array, per call",
    "harness_loop": "Python floor: the benchmark loop alone (no calls)",
    "harness_nop_calls": "Python floor: the loop + two empty C calls",
    "centbook_batch": "centbook apply_deltas (batch)",
    "centbook_batch_of": "centbook apply_deltas, the stream in batches (grid-size)",
    "floor_batch": "floor: unvalidated C array, batch",
    "best_bid_read": "centbook best read",
    "memory_per_book": "book construction",
    "rss_books": "books in a subprocess",
    "spread_markets": "apply_delta + best_bid_bp",
    "levels": "apply_delta + best_bid_bp",
    # bench_decode.py
    "json_dict": "json.loads + dict book (tutorial)",
    "orjson_dict": "orjson + dict book",
    "msgspec_dict": "msgspec + dict book",
    "msgspec_centbook_book": "msgspec typed + centbook OrderBook",
    "books_apply_frame": "centbook Books.apply_frame (one call per frame)",
    "books_apply_frames": "centbook Books.apply_frames (list)",
    "snapshot_100_levels": "centbook snapshot, 100 levels per side",
    "real_captures": "centbook Books.apply_frames, real Kalshi captures",
    # bench_feed.py
    "centbook_feed": "centbook feed (Cython listener)",
    "picows_floor": "picows receive-only floor (Python listener)",
    "picows_floor_cython": "picows receive-only floor (Cython listener)",
    "websockets_json": "websockets + json + dict book (tutorial)",
    "aiohttp_msgspec": "aiohttp + msgspec + dict book",
    # bench_rest.py
    "client_side_build_sign_encode": "build + sign + encode",
    "event_loop_lag_while_ordering": "1 ms timer lateness while ordering",
    # bench_mm.py, bench_sim.py
    "presigned_amend": "pre-signed, requote by amend",
    "presigned_amend_before": "pre-signed amend, before (every frame to Python first)",
    "presigned_amend_paired": "pre-signed amend, paired writes (every request made before any write)",
    "presigned_cancel_create": "pre-signed, requote by cancel + create",
    "sign_on_demand_amend": "sign on demand, requote by amend",
    "write_restclient_aiohttp": "RestClient + aiohttp, pre-signed create",
    "write_restclient_lane": "RestClient + order lane, pre-signed create",
    "write_raw_socket_floor": "the same create written by hand to a keep-alive socket (floor)",
    "sim_delivered_updates": "delivered book updates, flow rate asked",
}
SHORT = {
    "dict_max": "dict + max()", "sortedcontainers": "sortedcontainers", "order_book_c": "order-book (C)",
    "kalshi_sdk": "kalshi-sdk", "centbook_tuple": "centbook tuple", "centbook_int": "centbook int",
    "floor_kernel": "floor per call", "harness_loop": "bare loop", "harness_nop_calls": "loop + 2 nop calls",
    "centbook_batch": "centbook batch", "floor_batch": "floor batch",
}
GRIDS = ["cent", "deci-cent", "centi-cent"]
BOOK_CONTENDERS = ("dict_max", "sortedcontainers", "order_book_c", "kalshi_sdk", "centbook_tuple",
                   "centbook_int", "floor_kernel", "harness_loop", "harness_nop_calls")
VERSIONS = ["centbook", "numpy", "cython", "sortedcontainers", "order-book", "orjson", "msgspec",
            "requests", "websockets", "picows", "aiohttp", "pytest", "pytest-benchmark", "matplotlib"]

# Which file each kind of result comes from (``fullname`` is ``benchmarks/<file>::<test>``).
SUITES = {
    "book": ("bench_book.py", "order-book operations"),
    "kalshi_sdk": ("bench_kalshi_sdk.py", "kalshi-sdk's book"),
    "decode": ("bench_decode.py", "frames into books"),
    "feed": ("bench_feed.py", "WebSocket feed throughput"),
    "rest": ("bench_rest.py", "REST order path"),
    "mm": ("bench_mm.py", "tick-to-trade"),
    "sim": ("bench_sim.py", "embedded exchange flow"),
    "scale": ("bench_scale.py", "scale and memory"),
}
_MODULE_KIND = {Path(f).stem: kind for kind, (f, _) in SUITES.items()}
_GROUP_KIND = (("scale:", "scale"), ("mm:", "mm"), ("sim:", "sim"), ("rest:", "rest"), ("book ", "book"))


# ---------------------------------------------------------------- reading results

def module_of(bench: dict[str, Any]) -> str:
    """The benchmark file's stem (``bench_decode``) from pytest's node id, or ``""``."""
    fullname = bench.get("fullname") or ""
    return Path(fullname.split("::", 1)[0]).stem if "::" in fullname else ""


def key_of(bench: dict[str, Any]) -> tuple[str, str]:
    """``(test name without test_, parameter id)``: ``test_dict_max[cent]`` -> ``("dict_max", "cent")``."""
    name = bench["name"].removeprefix("test_")
    m = re.match(r"([^\[]+)(?:\[(.*)\])?", name)
    assert m
    return m.group(1), m.group(2) or ""


def is_summary(bench: dict[str, Any]) -> bool:
    """A test that is a benchmark only so that it runs last and prints (``zz_summary``)."""
    return key_of(bench)[0].endswith("summary")


def kind_of(bench: dict[str, Any]) -> str:
    """Which section a result belongs to: by its module, else by its group, else ``other``."""
    module = module_of(bench)
    if module == "bench_kalshi_sdk":
        return "book"          # a book contender: same stream, same groups, same tables
    if module in _MODULE_KIND:
        return _MODULE_KIND[module]
    group = bench.get("group") or ""
    return next((kind for prefix, kind in _GROUP_KIND if group.startswith(prefix)), "other")


def extra(bench: dict[str, Any]) -> dict[str, Any]:
    return bench.get("extra_info") or {}


def _ns_keys(bench: dict[str, Any]) -> tuple[str, str] | None:
    """``(median key, unit)`` of an ``ns_per_<unit>_median`` figure the benchmark recorded."""
    for key in extra(bench):
        m = re.fullmatch(r"ns_per_(\w+)_median", key)
        if m:
            return key, m.group(1)
    return None


def per_op(bench: dict[str, Any]) -> tuple[float, float]:
    """(median, min) ns per operation.

    A benchmark that recorded ``ns_per_<unit>_median`` / ``_min`` in ``extra_info`` is taken at
    its word (the kalshi-sdk contender times its rounds in a subprocess, so pytest-benchmark's own
    figure for it is the whole subprocess); otherwise the round's time over ``extra_info["ops"]``.
    """
    found = _ns_keys(bench)
    if found:
        key, unit = found
        median = float(extra(bench)[key])
        return median, float(extra(bench).get(f"ns_per_{unit}_min", median))
    ops = extra(bench).get("ops", 1)
    return bench["stats"]["median"] / ops * 1e9, bench["stats"]["min"] / ops * 1e9


def unit_of(bench: dict[str, Any]) -> str:
    found = _ns_keys(bench)
    return found[1] if found else "op"


def fmt(ns: float) -> str:
    return f"{ns:,.1f}" if ns < 100 else f"{ns:,.0f}"


def fmt_us(us: float) -> str:
    return f"{us:,.1f}" if us < 100 else f"{us:,.0f}"


def rows_of(results: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The results of one kind, summary rows dropped."""
    return [b for b in results["benchmarks"] if kind_of(b) == kind and not is_summary(b)]


def by_key(results: dict[str, Any], kind: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    benches = results["benchmarks"] if kind is None else rows_of(results, kind)
    return {key_of(b): b for b in benches}


def label(bench: dict[str, Any], group: str = "") -> str:
    name, param = key_of(bench)
    text = LABELS.get(name, name)
    return text + (f" `{param}`" if param and param not in group else "")


def md_table(head: list[str], rows: Iterable[list[str]], align: str = "") -> list[str]:
    """A Markdown table; ``align`` is one letter per column (``l`` or ``r``), default: the first
    column left-aligned, the others right-aligned (figures)."""
    align = align or "l" + "r" * (len(head) - 1)
    rule = "".join("---|" if a == "l" else "---:|" for a in align)
    return [f"| {' | '.join(head)} |", f"|{rule}", *(f"| {' | '.join(r)} |" for r in rows)]


class Targets:
    """The targets one section checks: a row per target with the measured value, met or not."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[list[str]] = []

    def check(self, text: str, value: str, ok: bool) -> None:
        self.rows.append([text, value, "met" if ok else "**not met**"])

    def markdown(self) -> list[str]:
        if not self.rows:
            return []
        return [f"**{self.title}**\n", *md_table(["target", "measured", ""], self.rows, "lrl"), ""]


def _missing(present: Iterable[str], expected: dict[str, str]) -> str:
    """A note naming the expected contenders that have no result in this run."""
    gone = [text for name, text in expected.items() if name not in set(present)]
    return f"Not in this run: {'; '.join(gone)}.\n" if gone else ""


# ---------------------------------------------------------------- Markdown: books

def ratios(results: dict[str, Any]) -> str:
    """Headline: each per-call contender's time over centbook's, per grid (the same run)."""
    by = by_key(results, "book")
    if ("centbook_tuple", "cent") not in by:
        return ""
    names = [n for n in BOOK_CONTENDERS if any((n, g) in by for g in GRIDS)]
    grids = [g for g in GRIDS if ("centbook_tuple", g) in by]
    out = ["**Ratios first**: time per delta (apply + best-bid read) divided by centbook's "
           "`apply_delta` + `best_bid` on the same stream in the same run (higher = slower "
           "than centbook).\n"]
    rows = []
    prefix = False
    for name in names:
        cells = []
        for g in grids:
            if (name, g) in by:
                b = by[(name, g)]
                short = extra(b).get("ops", 0) < extra(b).get("stream_deltas", 0)
                prefix |= short
                cells.append(f"{per_op(b)[0] / per_op(by[('centbook_tuple', g)])[0]:,.2f}x"
                             + (" (prefix)" if short else ""))
            else:
                cells.append("not run")
        rows.append([LABELS.get(name, name), *cells])
    out += md_table(["contender", *grids], rows)
    if prefix:
        out.append("\n(prefix): timed on the first deltas of the stream only (see kalshi-sdk below).")
    if "order_book_c" not in names:
        out.append("\norder-book (bmoscon) was not installed: `pip install 'centbook[bench]'`.")
    return "\n".join(out) + "\n"


INTERLEAVED_GROUP = "book grids interleaved"  # benchmarks/bench_book.py: test_grids_interleaved


def _interleaved(results: dict[str, Any]) -> dict[str, Any] | None:
    """extra_info of the grids-in-turns benchmark, when the run has it."""
    for b in results.get("benchmarks", []):
        if b.get("group") == INTERLEAVED_GROUP and "per_call_ns" in b.get("extra_info", {}):
            return b["extra_info"]
    return None


def book_targets(results: dict[str, Any]) -> str:
    """Issue 2's targets, from the book results."""
    ns = {k: per_op(b)[0] for k, b in by_key(results, "book").items()}
    t = Targets("Targets (order book)")
    if ("centbook_tuple", "cent") in ns and ("dict_max", "cent") in ns:
        tup = ns[("centbook_tuple", "cent")]
        t.check("apply_delta + best_bid (tuple), one call each, cent grid: <= 95 ns", f"{fmt(tup)} ns",
                tup <= 95)
        ratio = ns[("dict_max", "cent")] / tup
        t.check("... >= 6x the dict book", f"{ratio:.1f}x", ratio >= 6)
        for g in GRIDS:
            if ("centbook_int", g) in ns and ("floor_kernel", g) in ns:
                r = ns[("centbook_int", g)] / ns[("floor_kernel", g)]
                t.check(f"int variants within 1.3x of the floor kernel ({g})", f"{r:.2f}x", r <= 1.3)
        for g in GRIDS:
            if ("centbook_batch", g) in ns and ("floor_batch", g) in ns:
                b = ns[("centbook_batch", g)]
                r = b / ns[("floor_batch", g)]
                t.check(f"batch <= 10 ns per delta and <= 2x floor batch ({g})", f"{fmt(b)} ns, {r:.2f}x",
                        b <= 10 and r <= 2)
        inter = _interleaved(results)
        for name in ("centbook_tuple", "centbook_batch"):
            if inter is not None:  # the grids measured in turns (bench_book.test_grids_interleaved)
                per_grid = inter["per_call_ns" if name == "centbook_tuple" else "batch_ns"]
                vals = [per_grid[g] for g in GRIDS if g in per_grid]
                what = f"{LABELS[name]}, grids in turns: " + ", ".join(
                    f"{g} {fmt(per_grid[g])} ns" for g in GRIDS if g in per_grid)
                if len(vals) == len(GRIDS):
                    spread = max(vals) / min(vals) - 1
                    t.check(f"cent, deci-cent, centi-cent within 20% ({what})", f"{spread:.0%}",
                            spread <= 0.2)
                continue
            vals = [ns[(name, g)] for g in GRIDS if (name, g) in ns]
            if len(vals) == len(GRIDS):
                spread = max(vals) / min(vals) - 1
                t.check(f"cent, deci-cent, centi-cent within 20% ({LABELS[name]})", f"{spread:.0%}",
                        spread <= 0.2)
    if ("best_bid_read", "best_bid") in ns:
        r = ns[("best_bid_read", "best_bid")]
        t.check("best_bid read (cached tuple) <= 40 ns", f"{fmt(r)} ns", r <= 40)
    return "\n".join(t.markdown())


def book_tables(results: dict[str, Any]) -> str:
    """One table per book group: every contender in a group replays the same stream."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bench in rows_of(results, "book"):
        if bench.get("group") == INTERLEAVED_GROUP:
            continue  # its per-grid medians are in the targets; its round time mixes two loops
        groups[bench.get("group") or "book"].append(bench)

    def order(group: str) -> tuple[str, int]:   # cent, deci-cent, centi-cent, as in the ratios
        head, _, grid = group.rpartition(" ")
        return (head, GRIDS.index(grid)) if grid in GRIDS else (group, -1)

    out = []
    for group in sorted(groups, key=order):
        rows = sorted(groups[group], key=lambda b: per_op(b)[0])
        slowest = per_op(rows[-1])[0]
        out.append(f"**{group}** (ns per operation, median of rounds)\n")
        out += md_table(["contender", "x faster than slowest", "median ns", "min ns"],
                      ([label(b, group), f"{slowest / per_op(b)[0]:,.1f}x", fmt(per_op(b)[0]),
                        fmt(per_op(b)[1])] for b in rows))
        out.append("")
    return "\n".join(out)


def sdk_note(results: dict[str, Any], sdk_status: dict[str, Any] | None) -> str:
    """What the report says about kalshi-sdk: its measurement, or why there is none."""
    rows = [b for b in rows_of(results, "book") if key_of(b)[0] == "kalshi_sdk"]
    if rows:
        e = extra(rows[0])
        by_grid = {key_of(b)[1]: b for b in rows}
        figures = ", ".join(f"{fmt(per_op(by_grid[g])[0] / 1000)} µs ({g})" for g in GRIDS if g in by_grid)
        decode = ", ".join(f"{fmt(extra(b)['decode_ns_per_delta_median'] / 1000)} µs ({g})"
                           for g, b in ((g, by_grid.get(g)) for g in GRIDS)
                           if b and "decode_ns_per_delta_median" in extra(b))
        text = (f"kalshi-sdk {e.get('kalshi_sdk', '?')} (pydantic {e.get('pydantic', '?')}) ran in its own "
                f"venv under Python {e.get('python', '?')} (it needs 3.12+), in a subprocess, on the same "
                "stream as the other book contenders and checked the same way (final book and best-price "
                "checksum) in every timed round. Its book, `kalshi.ws.orderbook.OrderbookManager`, keeps a "
                "`dict[Decimal, Decimal]` per side and takes pydantic-validated delta messages; a user "
                "reads the best levels through `get(ticker)`, which after each change re-sorts both sides "
                "and builds a pydantic level object per price. Timed per delta, as the SDK's WebSocket "
                f"client and a user of it do: apply + `get` + the top level: {figures}. Not in that "
                "figure: the frame's `json.loads` + pydantic validation that the SDK's receive loop runs "
                f"before the book sees a delta{': ' + decode if decode else ''}.")
        partial = [b for b in rows if extra(b).get("ops", 0) < extra(b).get("stream_deltas", 0)]
        if partial:
            text += (f" Timed on the first {extra(partial[0])['ops']:,} deltas of the "
                     f"{extra(partial[0])['stream_deltas']:,}-delta stream (`--quick`, or "
                     "CENTBOOK_BENCH_SDK_DELTAS), checked on that prefix.")
        skipped = [g for g in GRIDS if g not in by_grid]
        if skipped:
            text += f" Not run on: {', '.join(skipped)}."
        return f"_{text}_\n"
    if sdk_status and not sdk_status.get("python"):
        return f"_kalshi-sdk's book is not timed in this run: {sdk_status.get('reason', 'no sdk venv')}._\n"
    return ("_kalshi-sdk's book is not in this run (benchmarks/bench_kalshi_sdk.py was not run, or it "
            "was skipped: see the run's output)._\n")


# ---------------------------------------------------------------- Markdown: decode

DECODE_CONTENDERS = {
    "json_dict": LABELS["json_dict"], "orjson_dict": LABELS["orjson_dict"],
    "msgspec_dict": LABELS["msgspec_dict"], "msgspec_centbook_book": LABELS["msgspec_centbook_book"],
    "books_apply_frame": LABELS["books_apply_frame"], "books_apply_frames": LABELS["books_apply_frames"],
    "snapshot_100_levels": LABELS["snapshot_100_levels"], "real_captures": LABELS["real_captures"],
}
_OTHER_FRAMES = {"real_captures"}   # timed on other frames than the seeded stream: no ratio


def decode_section(results: dict[str, Any]) -> str:
    """Frames into books: ns per frame, ratios to centbook's one-call fast path, issue 3's targets."""
    rows = rows_of(results, "decode")
    if not rows:
        return ""
    by = {key_of(b)[0]: b for b in rows}
    fast = by.get("books_apply_frame")
    fast_ns = per_op(fast)[0] if fast else None
    out = ["**Frames into books** (`benchmarks/bench_decode.py`: one seeded stream of ~220-byte "
           "fixed-point `orderbook_delta` frames with snapshots among them, the same frames for every "
           "contender, each checked against the exact final book; ns per frame, median of rounds)\n"]

    def ratio(b: dict[str, Any]) -> str:
        if not fast_ns or unit_of(b) != "frame":
            return ""
        if key_of(b)[0] in _OTHER_FRAMES:
            return "other frames"
        return f"{per_op(b)[0] / fast_ns:,.1f}x"

    ordered = sorted(rows, key=lambda b: (unit_of(b) != "frame", key_of(b)[0] in _OTHER_FRAMES, per_op(b)[0]))
    out += md_table(["contender", "median ns", "min ns", "per", "time / centbook one call per frame"],
                  ([label(b), fmt(per_op(b)[0]), fmt(per_op(b)[1]), unit_of(b), ratio(b)] for b in ordered))
    out.append("")
    t = Targets("Targets (frames into books)")
    if fast_ns is not None:
        t.check("centbook one call per frame: <= 200 ns per frame", f"{fmt(fast_ns)} ns", fast_ns <= 200)
        t.check("... stretch: <= 150 ns per frame", f"{fmt(fast_ns)} ns", fast_ns <= 150)
        for name, goal, stretch in (("json_dict", 18, 25), ("msgspec_centbook_book", 3, None)):
            if name in by:
                r = per_op(by[name])[0] / fast_ns
                t.check(f"... >= {goal}x {LABELS[name]}", f"{r:.1f}x", r >= goal)
                if stretch:
                    t.check(f"... stretch: >= {stretch}x {LABELS[name]}", f"{r:.1f}x", r >= stretch)
    out += t.markdown()
    if "snapshot_100_levels" in by:
        out.append(f"A 100-level-per-side snapshot costs {fmt(per_op(by['snapshot_100_levels'])[0])} ns per "
                   "level (one `apply_frame` call per snapshot frame).\n")
    out += [note for note in (_missing(by, DECODE_CONTENDERS),) if note]
    return "\n".join(out)


# ---------------------------------------------------------------- Markdown: feed

def _norm(bench: dict[str, Any]) -> str:
    return re.sub(r"[^a-z0-9]+", "_", bench["name"].lower()).strip("_")


def msgs_per_s(bench: dict[str, Any]) -> float:
    """Messages per second (``extra_info["msgs_per_s"]``, else ops over the best round)."""
    e = extra(bench)
    if "msgs_per_s" in e:
        return float(e["msgs_per_s"])
    return float(e.get("ops", 1) / bench["stats"]["min"])


FEED_CONTENDERS = {
    "centbook_feed": LABELS["centbook_feed"], "picows_floor_cython": LABELS["picows_floor_cython"],
    "picows_floor": LABELS["picows_floor"], "websockets_json": LABELS["websockets_json"],
    "aiohttp_msgspec": LABELS["aiohttp_msgspec"],
}


def feed_section(results: dict[str, Any]) -> str:
    """Loopback throughput into books: messages/s, ratios to the tutorial stack and the floor."""
    rows = rows_of(results, "feed")
    if not rows:
        return ""
    cython_floor = next((b for b in rows if "picows_floor_cython" in _norm(b)), None)
    py_floor = next((b for b in rows if key_of(b) == ("picows_floor", "")), None)
    floor = cython_floor or py_floor
    tutorial = next((b for b in rows if key_of(b)[0] == "websockets_json"), None)
    ours = next((b for b in rows if key_of(b) == ("centbook_feed", "no_subscriber")), None)

    def name_of(b: dict[str, Any]) -> str:
        return "picows_floor_cython" if b is cython_floor else key_of(b)[0]

    out = ["**WebSocket feed into books** (`benchmarks/bench_feed.py`: a pusher process on the other "
           "core writes one seeded stream of fixed-point deltas over 127.0.0.1; every contender's final "
           "book is checked; best round)\n"]
    head = ["contender", "msgs/s", "ns per msg"]
    if tutorial:
        head.append("x the tutorial stack")
    if floor:
        head.append("time / receive-only floor" + ("" if cython_floor else " (Python listener)"))
    table = []
    for b in sorted(rows, key=lambda b: -msgs_per_s(b)):
        rate = msgs_per_s(b)
        param = key_of(b)[1] if b is not cython_floor else ""
        cells = [LABELS.get(name_of(b), name_of(b)) + (f" `{param}`" if param else ""),
                 f"{rate:,.0f}", fmt(1e9 / rate)]
        if tutorial:
            cells.append(f"{rate / msgs_per_s(tutorial):,.1f}x")
        if floor:
            cells.append(f"{msgs_per_s(floor) / rate:,.2f}x")
        table.append(cells)
    out += [*md_table(head, table), ""]
    t = Targets("Targets (feed, no Python subscriber)")
    if ours:
        rate = msgs_per_s(ours)
        t.check(">= 2.5M msgs/s into books", f"{rate / 1e6:.2f}M", rate >= 2.5e6)
        if floor:
            r = msgs_per_s(floor) / rate
            which = "" if cython_floor else " (the Python-listener floor: the Cython one did not run)"
            t.check(f"decode + apply <= 2.5x the receive-only floor{which}", f"{r:.2f}x", r <= 2.5)
        if tutorial:
            r = rate / msgs_per_s(tutorial)
            t.check(">= 20x the tutorial stack (websockets + json + dict)", f"{r:.1f}x", r >= 20)
    out += t.markdown()
    present = {name_of(b) for b in rows}
    out += [note for note in (_missing(present, FEED_CONTENDERS),) if note]
    return "\n".join(out)


# ---------------------------------------------------------------- Markdown: REST

def _heading(group: str) -> str:
    """A group name without what it said about extra_info (the table now shows those figures)."""
    return re.sub(r",? *\(?p50/p99 in extra_info\)?|, whole run", "", group).strip()


def rest_section(results: dict[str, Any]) -> str:
    """REST: p50/p99 from extra_info where the benchmark recorded them, else µs per operation."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bench in rows_of(results, "rest"):
        groups[bench.get("group") or "rest"].append(bench)
    out = []
    for group in sorted(groups):
        per_client: list[list[str]] = []
        pcts: list[list[str]] = []
        ops: list[list[str]] = []
        for b in groups[group]:
            e = extra(b)
            nested = {k: v for k, v in e.items() if isinstance(v, dict) and "p50_us" in v}
            if nested:
                for client, row in nested.items():
                    per_client.append([client, fmt_us(row["p50_us"]), fmt_us(row["p99_us"]),
                                       fmt_us(row["client_cpu_us_per_order"])
                                       if "client_cpu_us_per_order" in row else ""])
            elif "p50_us" in e and "p99_us" in e:
                pcts.append([label(b, group), fmt_us(e["p50_us"]), fmt_us(e["p99_us"]),
                             fmt_us(e["max_us"]) if "max_us" in e else ""])
            else:
                med, low = per_op(b)
                ops.append([label(b, group), fmt_us(med / 1000), fmt_us(low / 1000)])
        out.append(f"**{_heading(group)}** (`benchmarks/bench_rest.py`, the sim in its own process)\n")
        if per_client:
            out += [*md_table(["client", "p50 µs", "p99 µs", "client CPU µs per order"], per_client), ""]
        if pcts:
            out += [*md_table(["case", "p50 µs", "p99 µs", "max µs"], pcts), ""]
        if ops:
            out += [*md_table(["case", "median µs", "min µs"], ops), ""]
    return "\n".join(out)


# ---------------------------------------------------------------- Markdown: sim (tick-to-trade: report_t2t)

def sim_section(results: dict[str, Any]) -> str:
    """The embedded exchange's synthetic flow: delivered book updates/s against the 50,000 target."""
    rows = [b for b in rows_of(results, "sim") if "updates_per_s" in extra(b)]
    if not rows:
        return ""
    table = []
    for b in rows:
        e = extra(b)
        asked = e.get("requested_per_s")
        table.append([label(b), f"{asked:,.0f}" if asked else "", f"{e['updates_per_s']:,.0f}",
                      f"{e['updates_per_s'] / asked:.0%}" if asked else ""])
    out = ["**Embedded exchange flow** (`benchmarks/bench_sim.py`: book updates delivered to a "
           "subscriber per second)\n",
           *md_table(["case", "requested/s", "delivered/s", "delivered"], table), ""]
    best = max(extra(b)["updates_per_s"] for b in rows)
    t = Targets("Targets (embedded exchange)")
    t.check(">= 50,000 book updates/s delivered (best case)", f"{best:,.0f}/s", best >= 50_000)
    return "\n".join(out + t.markdown())


def other_section(results: dict[str, Any]) -> str:
    """Results of modules this report does not know: per-op times only, no cross-row ratios."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bench in rows_of(results, "other"):
        groups[bench.get("group") or module_of(bench) or "other"].append(bench)
    out = []
    for group in sorted(groups):
        out += [f"**{group}** (ns per operation, median of rounds)\n",
                *md_table(["benchmark", "median ns", "min ns"],
                        ([label(b, group), fmt(per_op(b)[0]), fmt(per_op(b)[1])] for b in groups[group])), ""]
    return "\n".join(out)


def absent_suites(results: dict[str, Any]) -> str:
    """Name the suites of benchmarks/ that have no result in this run."""
    seen = {module_of(b) for b in results["benchmarks"]}
    kinds = {kind_of(b) for b in results["benchmarks"]}
    gone = [f"{what} (`benchmarks/{file}`)" for kind, (file, what) in SUITES.items()
            if kind != "kalshi_sdk" and Path(file).stem not in seen and kind not in kinds]
    return f"Suites not in this run: {'; '.join(gone)}.\n" if gone else ""


def cache_sizes() -> dict[str, int]:
    """L1d, L2, L3 sizes in bytes from sysfs (empty where the kernel does not say)."""
    sizes: dict[str, int] = {}
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    for idx in sorted(root.glob("index*")) if root.exists() else []:
        try:
            level = (idx / "level").read_text().strip()
            kind = (idx / "type").read_text().strip()
            text = (idx / "size").read_text().strip()
        except OSError:
            continue
        if kind == "Instruction":
            continue
        mult = {"K": 1024, "M": 1024 * 1024}.get(text[-1], 1)
        sizes[f"L{level}"] = int(text.rstrip("KM")) * mult
    return sizes


def book_bytes(results: dict[str, Any]) -> float | None:
    for (name, param), b in by_key(results, "scale").items():
        if name == "memory_per_book" and param == "cent":
            return float(b["extra_info"]["bytes_per_book"])
    return None


def scale(results: dict[str, Any], charts: dict[str, str]) -> str:
    by = by_key(results, "scale")
    out = []
    mem = [(p, b) for (n, p), b in by.items() if n == "memory_per_book"]
    if mem:
        out += ["**Memory per book** (tracemalloc around building 200 empty books: level arrays and "
                "bitmaps, measured, not computed)\n", "| grid | slots per side | bytes per book | "
                "construction ns |", "|---|---:|---:|---:|"]
        for p, b in mem:
            e = b["extra_info"]
            out.append(f"| {p} | {e['slots']:,} | {e['bytes_per_book']:,.0f} | {fmt(per_op(b)[0])} |")
        out.append("")
    rss = [b for (n, _), b in by.items() if n == "rss_books"]
    if rss:
        out += ["**Resident memory of many books** (a fresh Python subprocess; VmRSS from "
                "/proc/self/status before and after building the books, each with a 49-level "
                "snapshot per side; 9 in 10 on the cent grid, 1 in 10 deci-cent)\n",
                "| books | RSS before | RSS after | per book |", "|---:|---:|---:|---:|"]
        for b in sorted(rss, key=lambda b: b["extra_info"]["books"]):
            e = b["extra_info"]
            out.append(f"| {e['books']:,} | {e['rss_base'] / 2**20:,.1f} MiB | "
                       f"{e['rss_after'] / 2**20:,.1f} MiB | {e['rss_per_book']:,.0f} B |")
        out.append("")
    spread = sorted((b for (n, _), b in by.items() if n == "spread_markets"),
                    key=lambda b: b["extra_info"]["markets"])
    levels = sorted((b for (n, _), b in by.items() if n == "levels"),
                    key=lambda b: b["extra_info"]["levels"])
    if spread or levels:
        caches = cache_sizes()
        per_book = book_bytes(results)
        out.append("**Per-delta cost as markets and levels grow** (`apply_delta` + `best_bid_bp`, "
                   "one Python call each, cent books, deltas drawn uniformly over the books)\n")
        if "scale" in charts:
            out.append(f"![per-delta cost vs markets and levels]({charts['scale']})\n")
        if spread:
            out += ["| markets | working set | ns per delta |", "|---:|---:|---:|"]
            for b in spread:
                m = b["extra_info"]["markets"]
                ws = f"{m * per_book / 1024:,.0f} KiB" if per_book else "?"
                out.append(f"| {m:,} | {ws} | {fmt(per_op(b)[0])} |")
            out.append("")
        if levels:
            out += ["| live levels per side (one book) | ns per delta |", "|---:|---:|"]
            for b in levels:
                out.append(f"| {b['extra_info']['levels']} | {fmt(per_op(b)[0])} |")
            out.append("")
        cache_txt = ", ".join(f"{k} {v // 1024:,} KiB" for k, v in caches.items()) or "unknown"
        text = "Why the steps: "
        if per_book:
            text += (f"a cent book is its two level arrays plus two bitmaps ({per_book:,.0f} bytes, "
                     "measured above). ")
        text += (
            f"This machine's data caches: {cache_txt} (L1/L2 per core). While the books a delta can hit "
            "fit in L1 and L2, a delta costs the Python call and a few instructions; once the working "
            "set (markets x bytes per book, plus each book's Python object and bound methods) leaves "
            "L2 and then the last-level cache, a delta to a random book also pays cache misses for the "
            "object, the level array's line and the bitmap word: that miss, not the arithmetic, is "
            "the step. ")
        if len(spread) > 1:
            first, last = per_op(spread[0])[0], per_op(spread[-1])[0]
            text += (f"Measured here: {fmt(first)} ns per delta on {spread[0]['extra_info']['markets']:,} "
                     f"book(s), {fmt(last)} ns on {spread[-1]['extra_info']['markets']:,} "
                     f"({last / first:.1f}x). ")
        if len(levels) > 1:
            vals = [per_op(b)[0] for b in levels]
            text += (f"Live levels: the best bid is found by a bitmap scan of a few words, so the level "
                     f"count should matter little; measured from {fmt(min(vals))} to {fmt(max(vals))} ns "
                     f"per delta over {levels[0]['extra_info']['levels']} to "
                     f"{levels[-1]['extra_info']['levels']} levels (one run: on a busy machine or with "
                     "`--quick` these figures are noisy; a quiet `make bench` is the reference).")
        out.append(text + "\n")
    return "\n".join(out)


def versions() -> str:
    found = []
    for name in VERSIONS:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def render(results: dict[str, Any], command: str, *, charts: dict[str, str] | None = None,
           machine: str | None = None, sdk_status: dict[str, Any] | None = None) -> str:
    """Render the report's Markdown from pytest-benchmark's JSON.

    Parameters
    ----------
    results : dict
        pytest-benchmark's ``--benchmark-json`` output.
    command : str
        The command that reproduces the run (printed first).
    charts : dict, optional
        Chart file names by kind (``"book"``, ``"scale"``) to link, from :func:`write_charts`.
    machine : str, optional
        A paragraph on the machine and library versions (the full report has one).
    sdk_status : dict, optional
        :func:`benchmarks.sdkenv.ensure_sdk_venv`'s status: says why kalshi-sdk was not timed when it was not.

    Returns
    -------
    str
        Header, ratios and targets of the books, the per-group book tables, then one section per
        other suite present (decode, feed, REST, tick-to-trade, sim, anything else), the scale
        section, kalshi-sdk's note and the suites absent from the run.
    """
    # function-level import: benchmarks.report_t2t builds on this module's helpers
    from benchmarks.report_t2t import t2t_section

    charts = charts or {}
    info = results.get("machine_info", {})
    cpu = info.get("cpu", {}).get("brand_raw", "unknown CPU")
    head = (f"Reproduce with `{command}`. Measured on {cpu}, {info.get('cpu', {}).get('count', '?')} "
            f"cores, Python {info.get('python_version', '?')} ({info.get('python_implementation', '')}), "
            f"{results.get('datetime', '')[:10]}. Every contender replays the same seeded stream and "
            "is checked for the same final book and best-price checksum before it is timed. "
            "Generated from pytest-benchmark's JSON; do not edit by hand.\n")
    parts = [head]
    if machine:
        parts.append(machine)
    parts += [ratios(results), book_targets(results)]
    if "book" in charts:
        parts.append(f"![ns per delta, by contender and grid]({charts['book']})\n")
    parts += [book_tables(results), sdk_note(results, sdk_status), decode_section(results),
              feed_section(results), rest_section(results), t2t_section(results), sim_section(results),
              other_section(results), scale(results, charts), absent_suites(results)]
    return "\n".join(p for p in parts if p)


def update_readme(readme_path: Path, body: str) -> None:
    readme = readme_path.read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"{readme_path} has no {START} ... {END} section")
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    readme_path.write_text(f"{before}{START}\n{body}\n{END}{after}")
