"""Run the benchmark suites and write the report with charts (``centbook bench``, ``make bench``).

The suites are the pytest-benchmark modules beside this file, so this needs pytest and
pytest-benchmark (the ``test`` extra) and, for the charts, matplotlib (the ``bench`` extra).
``--quick`` sets CENTBOOK_BENCH_QUICK=1, which the modules read to shrink their streams and rounds.
:func:`build_floor` builds the floor kernel the book is measured against.
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from Cython.Build import cythonize
from setuptools import Distribution, Extension

from benchmarks.report import (
    BOOK_CONTENDERS,
    GRIDS,
    SHORT,
    book_bytes,
    by_key,
    cache_sizes,
    per_op,
    render,
    versions,
)
from benchmarks.sdkenv import SDK_STATUS, ensure_sdk_venv, read_sdk_status

__all__ = ["build_floor", "run", "write_charts", "write_report"]


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
    by = by_key(results, "book")
    charts: dict[str, str] = {}
    names = [n for n in (*BOOK_CONTENDERS, "centbook_batch", "floor_batch")
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
    by = by_key(results, "scale")
    spread = sorted((b for (n, _), b in by.items() if n == "spread_markets"),
                    key=lambda b: b["extra_info"]["markets"])
    levels = sorted((b for (n, _), b in by.items() if n == "levels"),
                    key=lambda b: b["extra_info"]["levels"])
    if spread or levels:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        per_book = book_bytes(results)
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
    """The checkout's benchmarks/ folder: this module's own."""
    return Path(__file__).resolve().parent


def build_floor(bench_dir: Path | None = None) -> Path:
    """Build the benchmark floor kernel (``benchmarks/_floor.pyx``) in place; return the folder.

    The same Cython directives and optimisation as centbook's release build (setup.py), so the
    floor is measured as the book is. Rebuilt only when the .pyx is newer than its module.
    """
    bench_dir = bench_dir or find_benchmarks()
    root = bench_dir.parent
    directives = {"boundscheck": False, "wraparound": False, "initializedcheck": False,
                  "cdivision": True, "language_level": 3, "binding": False}
    ext = Extension("benchmarks._floor", [str(bench_dir / "_floor.pyx")], extra_compile_args=["-O3"])
    dist = Distribution({"ext_modules": cythonize([ext], compiler_directives=directives, quiet=True,
                                                  build_dir=str(root / "build" / "floor"))})
    dist.script_args = ["build_ext", "-b", str(root), "-t", str(root / "build" / "floor")]
    dist.parse_command_line()
    dist.run_commands()
    return bench_dir


def write_report(results_path: Path, report_dir: Path, command: str) -> Path:
    """Write ``report_dir``/report.md and its charts from ``results_path``; return report.md's path.

    The kalshi-sdk status (``sdk-env.json``) is read from beside the results when it is there.
    """
    results = json.loads(results_path.read_text())
    charts = write_charts(results, report_dir)
    text = "# centbook benchmark report\n\n" + render(
        results, command, charts=charts, machine=machine_text(),
        sdk_status=read_sdk_status(results_path.with_name(SDK_STATUS)))
    out = report_dir / "report.md"
    out.write_text(text)
    return out


def run(report_dir: str | os.PathLike[str], *, quick: bool = False, argv: list[str] | None = None) -> int:
    """Run the suites into ``report_dir``/results.json, then write report.md and the charts.

    Parameters
    ----------
    report_dir : str or path
        Folder for results.json, sdk-env.json, report.md and the charts (made if missing).
    quick : bool
        The short run (CENTBOOK_BENCH_QUICK=1; book, scale, decode and kalshi-sdk on the cent
        grid): under a minute once the sdk venv exists.
    argv : list of str, optional
        The command line to print in the report (``centbook bench`` + these).

    Returns
    -------
    int
        0 when the run and the report succeeded, else pytest's exit status (or 2 when a needed
        package is missing).
    """
    for mod, extra_name in (("pytest", "test"), ("pytest_benchmark", "test")):
        try:
            __import__(mod)
        except ImportError:
            print(f"centbook bench: {mod} is needed: pip install 'centbook[{extra_name},bench]'",
                  file=sys.stderr)
            return 2
    _pyplot()  # fail before the long run, not after it
    bench_dir = build_floor()
    out = Path(report_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    status_path = out / SDK_STATUS
    sdk = ensure_sdk_venv(bench_dir.parent, status_path)
    if not sdk.get("python"):
        print(f"centbook bench: kalshi-sdk will not be timed: {sdk['reason']}", file=sys.stderr)
    files = (["bench_book.py", "bench_scale.py", "bench_decode.py", "bench_kalshi_sdk.py"] if quick
             else sorted(p.name for p in bench_dir.glob("bench_*.py")))
    cmd = [sys.executable, "-m", "pytest", *[str(bench_dir / f) for f in files], "--benchmark-only",
           f"--benchmark-json={results_path}", "--timeout=3600", "-q", "-p", "no:cacheprovider",
           "--benchmark-columns=min,median,rounds", "--benchmark-sort=name"]
    env = dict(os.environ, CENTBOOK_SDK_STATUS=str(status_path))
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
