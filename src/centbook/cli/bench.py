"""``centbook bench``: run the benchmark suites of a checkout and write a report with charts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="run the benchmark suites and write a Markdown report with charts",
        description=(
            "Run centbook's pytest-benchmark suites (from a checkout's benchmarks/ folder) and write "
            "report.md, PNG charts and results.json. Needs the test and bench extras: "
            "pip install 'centbook[test,bench]'. kalshi-sdk's book needs Python >= 3.12: it runs "
            "in a venv of its own (.venv-sdk in the checkout, made on first use with python3.12 or "
            "python3.13 from PATH or pyenv); without one the report says so and the rest runs."
        ),
    )
    p.add_argument("--report", metavar="DIR", default="build/bench/report",
                   help="folder for report.md, the charts and results.json (default build/bench/report)")
    p.add_argument("--quick", action="store_true",
                   help="small streams and few rounds, kalshi-sdk on a short prefix of the cent "
                        "stream (under a minute once .venv-sdk exists; noisier figures)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the suites and write the report; return the exit status."""
    root = next((base for base in (Path.cwd(), Path(__file__).resolve().parents[3])
                 if (base / "benchmarks" / "runner.py").exists()), None)
    if root is None:
        print("centbook bench: no benchmarks/ folder here: run it from a centbook checkout", file=sys.stderr)
        return 2
    sys.path.insert(0, str(root))
    # imported here, not at the top: benchmarks/ is the checkout's, found at run time, not installed
    from benchmarks.runner import run as run_suites

    argv = ["--report", args.report] + (["--quick"] if args.quick else [])
    return run_suites(args.report, quick=args.quick, argv=argv)
