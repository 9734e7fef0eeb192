"""``centbook bench``: run the benchmark suites and write a Markdown report with charts.

The suites are the pytest-benchmark modules in the checkout's ``benchmarks/`` folder, so this
needs pytest and pytest-benchmark (the ``test`` extra) and, for the charts, matplotlib (the
``bench`` extra); the contenders (sortedcontainers, order-book, orjson, ...) are the ``bench``
extra too. ``--quick`` sets CENTBOOK_BENCH_QUICK=1, which the modules read to shrink their
streams and rounds (under a minute in all; figures noisier).

:func:`render` turns pytest-benchmark's JSON into Markdown, ratios first; ``make bench`` (through
``scripts/bench_report.py``) writes the same text, without the charts, into the README between
``<!-- bench:start -->`` and ``<!-- bench:end -->``. No figure in either is typed by hand.
"""
from __future__ import annotations

import json
import os
import platform
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["render", "run", "write_report", "update_readme"]

START, END = "<!-- bench:start -->", "<!-- bench:end -->"

LABELS = {
    "dict_max": "dict book + max() (tutorial)",
    "sortedcontainers": "sortedcontainers SortedDict book",
    "order_book_c": "bmoscon order-book C SortedDict",
    "centbook_tuple": "centbook apply_delta + best_bid (tuple)",
    "centbook_int": "centbook apply_delta + best_bid_bp (int)",
    "floor_kernel": "floor: unvalidated C array, per call",
    "centbook_batch": "centbook apply_deltas (batch)",
    "floor_batch": "floor: unvalidated C array, batch",
    "best_bid_read": "centbook best read",
    "memory_per_book": "book construction",
    "rss_books": "books in a subprocess",
    "spread_markets": "apply_delta + best_bid_bp",
    "levels": "apply_delta + best_bid_bp",
}
SHORT = {
    "dict_max": "dict + max()", "sortedcontainers": "sortedcontainers", "order_book_c": "order-book (C)",
    "centbook_tuple": "centbook tuple", "centbook_int": "centbook int", "floor_kernel": "floor per call",
    "centbook_batch": "centbook batch", "floor_batch": "floor batch",
}
GRIDS = ["cent", "deci-cent", "centi-cent"]
VERSIONS = ["centbook", "numpy", "cython", "sortedcontainers", "order-book", "orjson", "msgspec",
            "requests", "websockets", "pytest", "pytest-benchmark", "matplotlib"]
KALSHI_SDK_NOTE = (
    "kalshi-sdk's book is not timed here. The package installs from PyPI only on Python 3.12+ "
    "(Requires-Python >=3.12; kalshi-sdk 22.4.0 was installed and read under pyenv's 3.12.1 when "
    "this suite was written); its book, kalshi.ws.orderbook.OrderbookManager, keeps a "
    "dict[Decimal, Decimal] per side, takes pydantic-validated delta messages, and gives the best "
    "levels only through get(), which re-sorts a side after each change. centbook's benchmark "
    "environment is the project's Python 3.11 venv, and a contender counts only when it replays "
    "the same stream in the same run under the same checks, so it is left out rather than timed "
    "under another interpreter."
)


# ---------------------------------------------------------------- reading results

def per_op(bench: dict[str, Any]) -> tuple[float, float]:
    ops = bench.get("extra_info", {}).get("ops", 1)
    return bench["stats"]["median"] / ops * 1e9, bench["stats"]["min"] / ops * 1e9


def key_of(bench: dict[str, Any]) -> tuple[str, str]:
    name = bench["name"].removeprefix("test_")
    m = re.match(r"([^\[]+)(?:\[(.*)\])?", name)
    assert m
    return m.group(1), m.group(2) or ""


def fmt(ns: float) -> str:
    return f"{ns:,.1f}" if ns < 100 else f"{ns:,.0f}"


def _by_key(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {key_of(b): b for b in results["benchmarks"]}


# ---------------------------------------------------------------- Markdown

def ratios(results: dict[str, Any]) -> str:
    """Headline: each per-call contender's time over centbook's, per grid (the same run)."""
    by = _by_key(results)
    names = [n for n in ("dict_max", "sortedcontainers", "order_book_c", "centbook_tuple",
                         "centbook_int", "floor_kernel") if any((n, g) in by for g in GRIDS)]
    if ("centbook_tuple", "cent") not in by:
        return ""
    grids = [g for g in GRIDS if ("centbook_tuple", g) in by]
    out = ["**Ratios first**: time per delta (apply + best-bid read) divided by centbook's "
           "`apply_delta` + `best_bid` on the same stream in the same run (higher = slower "
           "than centbook).\n",
           "| contender | " + " | ".join(grids) + " |", "|---|" + "---:|" * len(grids)]
    for name in names:
        cells = []
        for g in grids:
            if (name, g) in by:
                cells.append(f"{per_op(by[(name, g)])[0] / per_op(by[('centbook_tuple', g)])[0]:.2f}x")
            else:
                cells.append("n/a")
        out.append(f"| {LABELS.get(name, name)} | " + " | ".join(cells) + " |")
    if not any(n == "order_book_c" for n in names):
        out.append("\norder-book (bmoscon) was not installed: `pip install 'centbook[bench]'`.")
    return "\n".join(out) + "\n"


def tables(results: dict[str, Any]) -> str:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bench in results["benchmarks"]:
        if not (bench["group"] or "").startswith("scale:"):
            groups[bench["group"] or "decode and other (see each module)"].append(bench)
    out = []
    for group in sorted(groups):
        rows = sorted(groups[group], key=lambda b: per_op(b)[0])
        slowest = per_op(rows[-1])[0]
        out.append(f"**{group}** (ns per operation, median of rounds)\n")
        out.append("| contender | x faster than slowest | median ns | min ns |")
        out.append("|---|---:|---:|---:|")
        for bench in rows:
            name, param = key_of(bench)
            label = LABELS.get(name, name) + (f" `{param}`" if param and param not in group else "")
            med, low = per_op(bench)
            out.append(f"| {label} | {slowest / med:,.1f}x | {fmt(med)} | {fmt(low)} |")
        out.append("")
    return "\n".join(out)


def targets(results: dict[str, Any]) -> str:
    ns = {k: per_op(b)[0] for k, b in _by_key(results).items()}
    checks = []

    def check(text: str, value: str, ok: bool) -> None:
        checks.append(f"| {text} | {value} | {'met' if ok else '**not met**'} |")

    if ("centbook_tuple", "cent") in ns and ("dict_max", "cent") in ns:
        t = ns[("centbook_tuple", "cent")]
        check("apply_delta + best_bid (tuple), one call each, cent grid: <= 95 ns", f"{fmt(t)} ns", t <= 95)
        ratio = ns[("dict_max", "cent")] / t
        check("... >= 6x the dict book", f"{ratio:.1f}x", ratio >= 6)
        for g in GRIDS:
            if ("centbook_int", g) in ns and ("floor_kernel", g) in ns:
                r = ns[("centbook_int", g)] / ns[("floor_kernel", g)]
                check(f"int variants within 1.3x of the floor kernel ({g})", f"{r:.2f}x", r <= 1.3)
        for g in GRIDS:
            if ("centbook_batch", g) in ns and ("floor_batch", g) in ns:
                b = ns[("centbook_batch", g)]
                r = b / ns[("floor_batch", g)]
                check(f"batch <= 10 ns per delta and <= 2x floor batch ({g})", f"{fmt(b)} ns, {r:.2f}x",
                      b <= 10 and r <= 2)
        for name in ("centbook_tuple", "centbook_batch"):
            vals = [ns[(name, g)] for g in GRIDS if (name, g) in ns]
            if len(vals) == len(GRIDS):
                spread = max(vals) / min(vals) - 1
                check(f"cent, deci-cent, centi-cent within 20% ({LABELS[name]})", f"{spread:.0%}",
                      spread <= 0.2)
    if ("best_bid_read", "best_bid") in ns:
        r = ns[("best_bid_read", "best_bid")]
        check("best_bid read (cached tuple) <= 40 ns", f"{fmt(r)} ns", r <= 40)
    if not checks:
        return ""
    return "\n".join(["**Targets**\n", "| target | measured | |", "|---|---:|---|", *checks, ""])


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


def _book_bytes(results: dict[str, Any]) -> float | None:
    for (name, param), b in _by_key(results).items():
        if name == "memory_per_book" and param == "cent":
            return float(b["extra_info"]["bytes_per_book"])
    return None


def scale(results: dict[str, Any], charts: dict[str, str]) -> str:
    by = _by_key(results)
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
        per_book = _book_bytes(results)
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
           machine: str | None = None) -> str:
    """The report's Markdown: header, ratios, targets, per-group tables, scale section."""
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
    parts += [ratios(results), targets(results)]
    if "book" in charts:
        parts.append(f"![ns per delta, by contender and grid]({charts['book']})\n")
    parts += [tables(results), scale(results, charts), f"_{KALSHI_SDK_NOTE}_\n"]
    return "\n".join(p for p in parts if p)


def update_readme(readme_path: Path, body: str) -> None:
    readme = readme_path.read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"{readme_path} has no {START} ... {END} section")
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    readme_path.write_text(f"{before}{START}\n{body}\n{END}{after}")


# ---------------------------------------------------------------- charts

def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise SystemExit(
            "centbook bench: the charts need matplotlib: pip install 'centbook[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def write_charts(results: dict[str, Any], out_dir: Path) -> dict[str, str]:
    plt = _pyplot()
    by = _by_key(results)
    charts: dict[str, str] = {}
    names = [n for n in ("dict_max", "sortedcontainers", "order_book_c", "centbook_tuple",
                         "centbook_int", "floor_kernel", "centbook_batch", "floor_batch")
             if any((n, g) in by for g in GRIDS)]
    if names:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        width = 0.8 / len(GRIDS)
        for i, g in enumerate(GRIDS):
            xs = [j + i * width for j in range(len(names))]
            ys = [per_op(by[(n, g)])[0] if (n, g) in by else 0 for n in names]
            ax.bar(xs, ys, width, label=g)
        ax.set_xticks([j + width for j in range(len(names))])
        ax.set_xticklabels([SHORT.get(n, n) for n in names], fontsize=8, rotation=20, ha="right")
        ax.set_yscale("log")
        ax.set_ylabel("ns per delta (median, log)")
        ax.set_title("Order-book apply + best read, same stream, same run")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "book.png", dpi=110)
        plt.close(fig)
        charts["book"] = "book.png"
    spread = sorted((b for (n, _), b in by.items() if n == "spread_markets"),
                    key=lambda b: b["extra_info"]["markets"])
    levels = sorted((b for (n, _), b in by.items() if n == "levels"),
                    key=lambda b: b["extra_info"]["levels"])
    if spread or levels:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        per_book = _book_bytes(results)
        if spread:
            a1.plot([b["extra_info"]["markets"] for b in spread], [per_op(b)[0] for b in spread], "o-")
            if per_book:
                for name, size in cache_sizes().items():
                    a1.axvline(size / per_book, ls="--", color="grey")
                    a1.annotate(f"{name} full", (size / per_book, a1.get_ylim()[1]), fontsize=7,
                                rotation=90, va="top", ha="right")
            a1.set_xscale("log")
            a1.set_xlabel("markets the deltas are spread over")
            a1.set_ylabel("ns per delta (median)")
            a1.set_title("Cache steps: more books, bigger working set")
        if levels:
            a2.plot([b["extra_info"]["levels"] for b in levels], [per_op(b)[0] for b in levels], "o-")
            a2.set_xscale("log")
            a2.set_xlabel("live price levels per side (one cent book)")
            a2.set_title("Levels: 1 to the full grid")
        for ax in (a1, a2):
            ax.set_ylim(bottom=0)
        fig.tight_layout()
        fig.savefig(out_dir / "scale.png", dpi=110)
        plt.close(fig)
        charts["scale"] = "scale.png"
    return charts


# ---------------------------------------------------------------- running

def machine_text() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f", {int(fh.readline().split()[1]) / 2**20:.1f} GiB RAM"
    except OSError:
        pass
    caches = ", ".join(f"{k} {v // 1024:,} KiB" for k, v in cache_sizes().items())
    return (f"Machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs{mem}"
            f"{'; caches ' + caches if caches else ''}; {platform.platform()}. "
            f"Python {platform.python_version()} ({sys.executable}). Libraries: {versions()}.\n")


def find_benchmarks() -> Path:
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (base / "benchmarks" / "bench_book.py").exists():
            return base / "benchmarks"
    raise SystemExit("centbook bench: no benchmarks/ folder here: run it from a centbook checkout")


def write_report(results_path: Path, report_dir: Path, command: str) -> Path:
    results = json.loads(results_path.read_text())
    charts = write_charts(results, report_dir)
    text = "# centbook benchmark report\n\n" + render(results, command, charts=charts,
                                                       machine=machine_text())
    out = report_dir / "report.md"
    out.write_text(text)
    return out


def run(report_dir: str | os.PathLike[str], *, quick: bool = False, argv: list[str] | None = None) -> int:
    """Run the suites into ``report_dir``/results.json, then write report.md and the charts."""
    for mod, extra in (("pytest", "test"), ("pytest_benchmark", "test")):
        try:
            __import__(mod)
        except ImportError:
            print(f"centbook bench: {mod} is needed: pip install 'centbook[{extra},bench]'", file=sys.stderr)
            return 2
    _pyplot()  # fail before the long run, not after it
    bench_dir = find_benchmarks()
    out = Path(report_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    files = ["bench_book.py", "bench_scale.py", "bench_decode.py"] + ([] if quick else ["bench_rest.py"])
    cmd = [sys.executable, "-m", "pytest", *[str(bench_dir / f) for f in files], "--benchmark-only",
           f"--benchmark-json={results_path}", "--timeout=1800", "-q", "-p", "no:cacheprovider",
           "--benchmark-columns=min,median,rounds", "--benchmark-sort=name"]
    env = dict(os.environ)
    if quick:
        env["CENTBOOK_BENCH_QUICK"] = "1"
    print("running:", ("CENTBOOK_BENCH_QUICK=1 " if quick else "") + shlex.join(cmd), flush=True)
    code = subprocess.run(cmd, cwd=bench_dir.parent, env=env).returncode
    if code != 0 or not results_path.exists():
        print(f"centbook bench: the benchmark run failed (pytest exit {code})", file=sys.stderr)
        return code or 1
    if argv is None:
        argv = ["--report", str(report_dir)] + (["--quick"] if quick else [])
    command = shlex.join(["centbook", "bench", *argv])
    report = write_report(results_path, out, command)
    print(f"wrote {report} (and {results_path})")
    return 0
