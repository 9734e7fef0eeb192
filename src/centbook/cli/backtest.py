"""``centbook backtest``: the market maker on recorded markets, or a sweep of it.

One recording and one seed: ``OUT/summary.json``, the Parquet tables, the charts and
``OUT/report.md`` (:mod:`centbook.backtest.output`). Several recordings, several seeds or any
``--sweep``: one run per combination (:mod:`centbook.backtest.sweep`), each summary in
``OUT/runs/NNNN.json``, and one table, ``OUT/sweep.csv`` / ``OUT/sweep.md``, with the spread of
the settled P&L across seeds.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from centbook.cli.errors import RUNTIME, CommandError

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Add the ``backtest`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("backtest", help="backtest the market maker on recordings",
                       description="Replay recordings through a model of the exchange (queue position, "
                                   "latency, fees, settlement) with the market maker's own strategy.")
    p.add_argument("--recording", required=True, action="append", metavar="DIR",
                   help="a recording (centbook record or centbook import); repeat for several")
    p.add_argument("--config", metavar="mm.toml", help="the maker's configuration, with a [backtest] table")
    p.add_argument("--seed", type=int, default=0, help="seed of every random model (default 0)")
    p.add_argument("--seeds", metavar="S1,S2,...", help="several seeds: a sweep")
    p.add_argument("--out", required=True, metavar="OUT", help="output directory")
    p.add_argument("--results", metavar="CSV", help="market results (e.g. the captures' MARKETS.csv)")
    p.add_argument("--sweep", action="append", default=[], metavar="NAME=V1,V2",
                   help="sweep a strategy/risk/backtest setting (or spread_bp, skew); repeatable")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="settings",
                   help="override one strategy/risk/backtest setting (names as for --sweep); repeatable")
    p.add_argument("--workers", type=int, help="processes of a sweep (default: the CPU count)")
    p.add_argument("--dask", metavar="SCHEDULER_ADDRESS", help="run a sweep on this Dask cluster")
    p.add_argument("--python-strategy", action="store_true",
                   help="targets from the Python strategy only (not the compiled arithmetic)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


class Progress:
    """A one-line progress bar on stderr (redrawn at most 10 times a second)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.drawn = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (done < total and now - self.drawn < 0.1):
            return
        self.drawn = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * 30)
        end = "\n" if done >= total else ""
        line = f"\r{self.label} [{bar:<30}] {frac:6.1%} {done:,}/{total:,}"
        print(line, end=end, file=sys.stderr, flush=True)


def _seeds(args: argparse.Namespace) -> list[int]:
    if not args.seeds:
        return [args.seed]
    try:
        return [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--seeds {args.seeds!r}: give integers, e.g. 1,2,3") from None


def run(args: argparse.Namespace) -> int:
    """Run ``centbook backtest``; return the exit status."""
    try:
        # the [record] and [backtest] extras load only when a backtest runs
        from centbook.backtest.config import load_backtest_config
        from centbook.backtest.settlement import load_results
        from centbook.backtest.sweep import make_jobs, overrides_of, parse_sweeps
        from centbook.record.segment import RecordingError
    except ImportError as exc:
        raise CommandError(f"{exc}: install the extras: pip install 'centbook[record,backtest]'") from None
    try:
        seeds = _seeds(args)
        sweeps = parse_sweeps(args.sweep)
        fixed = [(name, values[0]) for name, values in parse_sweeps(args.settings, "--set")]
        if args.python_strategy:
            fixed.append(("compiled", False))
        overrides = overrides_of(fixed)
        mm, bt = load_backtest_config(args.config, overrides)
        results = load_results(args.results) if args.results else None
    except (ValueError, OSError) as exc:
        raise CommandError(f"{exc}: fix the option or the configuration") from None
    for rec in args.recording:
        if not Path(rec).is_dir():
            raise CommandError(f"--recording {rec}: no such directory (make one with centbook import "
                               f"or centbook record)")
    try:
        if len(args.recording) == 1 and len(seeds) == 1 and not sweeps:
            return _single(args, mm, bt, seeds[0], results)
        jobs = [replace(j, params=tuple(fixed) + j.params)
                for j in make_jobs(args.recording, seeds, sweeps, args.config, results)]
        return _sweep(args, jobs, [n for n, _ in sweeps])
    except RecordingError as exc:
        raise CommandError(f"{exc}: give a recording directory") from None
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}", RUNTIME) from None


def _single(args: argparse.Namespace, mm: Any, bt: Any, seed: int, results: dict[str, int] | None) -> int:
    # matplotlib and pyarrow: loaded only when a report is written
    from centbook.backtest.output import write_outputs
    from centbook.backtest.run import run_backtest
    progress = Progress("backtest", not args.no_progress)
    result, summary = run_backtest(args.recording[0], mm, bt, seed, results, progress)
    out = write_outputs(args.out, result, summary)
    print(f"backtest: {summary['events']:,} events, {summary['fills']} fills, P&L at settlement "
          f"${summary['pnl_settled_micro'] / 1e6:,.2f} (fees ${summary['fees_micro'] / 1e6:,.2f}): "
          f"{out}/report.md", file=sys.stderr)
    return 0


def _markdown(columns: list[str], rows: list[dict[str, Any]]) -> list[str]:
    def cell(v: Any) -> str:
        return str(round(v, 1) if isinstance(v, float) else v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows]


def _sweep(args: argparse.Namespace, jobs: list[Any], params: list[str]) -> int:
    from centbook.backtest.sweep import run_sweep, spread_across_seeds  # the [record] extra's zstandard
    progress = Progress("sweep", not args.no_progress)
    try:
        rows = run_sweep(jobs, args.workers, args.dask, progress)
    except (OSError, TimeoutError) as exc:
        if not args.dask:
            raise
        raise CommandError(f"--dask {args.dask}: cannot use the scheduler ({exc}): check the address",
                           RUNTIME) from None
    out = Path(args.out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    for n, row in enumerate(rows):
        (out / "runs" / f"{n:04d}.json").write_text(json.dumps(row, indent=2, sort_keys=True) + "\n")
    columns = list(rows[0]) if rows else []
    with open(out / "sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    spread = spread_across_seeds(rows, params)
    lines = _markdown(columns, rows)
    if spread:
        lines += ["", "Settled P&L across seeds (micro-dollars):", ""] + _markdown(list(spread[0]), spread)
    table = "\n".join(lines) + "\n"
    (out / "sweep.md").write_text(table)
    print(table)
    return 0
