"""Sweeps: one backtest per point of a grid of parameters, recordings and seeds, in parallel.

A sweep parameter is a key of the maker's ``[strategy]`` or ``[risk]`` table or of
``[backtest]`` (``half_spread_bp``, ``skew_bp_per_contract``, ``queue``, ``entry_latency_ms``,
...), or one of two short names: ``spread_bp`` (the quoted spread, bid to ask: half of it is
``half_spread_bp``) and ``skew`` (``skew_bp_per_contract``). Runs go to a process pool by
default, or to a Dask cluster (``distributed``) given its scheduler's address: the way to use
more than one machine (every worker needs centbook and the recordings at the same paths).
The result is one table: a row per run, its parameters and its figures; and the spread of each
figure across the seeds of the same parameters.

Parts: :class:`Job`, :func:`parse_sweeps`, :func:`make_jobs`, :func:`run_job`,
:func:`run_sweep`, :func:`spread_across_seeds`.
"""
from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

from centbook.backtest.config import BacktestConfig, load_backtest_config
from centbook.backtest.run import run_backtest
from centbook.mm.config import RiskConfig, StrategyConfig

__all__ = ["FIGURES", "Job", "make_jobs", "overrides_of", "parse_sweeps", "run_job", "run_sweep",
           "spread_across_seeds"]

#: The figures a sweep's table keeps of each run's summary.
FIGURES = ("pnl_settled_micro", "pnl_realized_micro", "pnl_marked_micro", "fees_micro", "fills",
           "maker_fills", "taker_fills", "volume", "time_quoted_s", "max_abs_inventory",
           "markout_1s_bp", "markout_10s_bp", "markout_60s_bp", "events", "events_per_s")
_ALIASES = {"spread_bp": ("strategy", "half_spread_bp"), "skew": ("strategy", "skew_bp_per_contract")}
_TABLES = {"strategy": {f.name for f in fields(StrategyConfig)}, "risk": {f.name for f in fields(RiskConfig)},
           "backtest": {f.name for f in fields(BacktestConfig)}}


@dataclass(frozen=True)
class Job:
    """One run of a sweep (picklable: it travels to a worker process or a Dask worker)."""

    recording: str
    config_path: str | None
    seed: int
    params: tuple[tuple[str, Any], ...]
    results: tuple[tuple[str, int], ...] = ()


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_sweeps(specs: Sequence[str], option: str = "--sweep") -> list[tuple[str, list[Any]]]:
    """Parse ``name=v1,v2,...`` options; raise ValueError naming a bad one."""
    out = []
    for spec in specs:
        name, eq, values = spec.partition("=")
        name = name.strip()
        if not eq or not values.strip():
            raise ValueError(f"{option} {spec!r}: give NAME=V1,V2,...")
        if name not in _ALIASES and not any(name in keys for keys in _TABLES.values()):
            raise ValueError(f"{option} {name!r}: not a strategy, risk or backtest setting "
                             f"(or spread_bp, skew)")
        out.append((name, [_value(v.strip()) for v in values.split(",") if v.strip()]))
    return out


def overrides_of(params: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """The configuration overrides of a sweep point (for :func:`load_backtest_config`)."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in params:
        if name == "spread_bp":
            value = value / 2 if value % 2 else value // 2
        table, key = _ALIASES.get(name, (None, name))
        if table is None:
            table = next(t for t, keys in _TABLES.items() if name in keys)
        out.setdefault(table, {})[key] = value
    return out


def make_jobs(recordings: Sequence[str], seeds: Sequence[int], sweeps: Sequence[tuple[str, list[Any]]],
              config_path: str | None, results: dict[str, int] | None = None) -> list[Job]:
    """Every combination of recording, seed and swept values, in a fixed order."""
    names = [n for n, _ in sweeps]
    res = tuple(sorted((results or {}).items()))
    return [Job(rec, config_path, seed, tuple(zip(names, combo, strict=True)), res)
            for rec in recordings for combo in itertools.product(*(v for _, v in sweeps)) for seed in seeds]


def run_job(job: Job) -> dict[str, Any]:
    """Run one job; return its row (recording, seed, parameters, figures)."""
    mm, bt = load_backtest_config(job.config_path, overrides_of(job.params))
    _result, summary = run_backtest(job.recording, mm, bt, job.seed, dict(job.results))
    row: dict[str, Any] = {"recording": job.recording, "seed": job.seed}
    row.update(dict(job.params))
    row.update({k: summary.get(k) for k in FIGURES})
    return row


def run_sweep(jobs: Sequence[Job], workers: int | None = None, dask_address: str | None = None,
              done: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Run every job; return their rows in the order of ``jobs``.

    Parameters
    ----------
    jobs : sequence of Job
    workers : int, optional
        Processes of the local pool (default: the CPU count); 1 runs in this process.
    dask_address : str, optional
        A Dask scheduler (``tcp://host:8786``): the jobs run on its workers.
    done : callable, optional
        ``(jobs finished, jobs)`` after each one.
    """
    total = len(jobs)
    if dask_address:
        # distributed is the [backtest] extra's and heavy: imported only when a cluster is used
        from distributed import Client
        with Client(dask_address, set_as_default=False) as client:
            futures = client.map(run_job, list(jobs), pure=False)
            rows = []
            for n, future in enumerate(futures, start=1):   # in order: the table's order is the jobs'
                rows.append(client.gather(future))
                if done is not None:
                    done(n, total)
            return rows
    if workers == 1 or total <= 1:
        rows = []
        for n, job in enumerate(jobs, start=1):
            rows.append(run_job(job))
            if done is not None:
                done(n, total)
        return rows
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = []
        for n, row in enumerate(pool.map(run_job, jobs), start=1):
            rows.append(row)
            if done is not None:
                done(n, total)
        return rows


def spread_across_seeds(rows: Sequence[dict[str, Any]], params: Sequence[str],
                        figure: str = "pnl_settled_micro") -> list[dict[str, Any]]:
    """Mean, standard deviation, min and max of ``figure`` over the seeds of each point."""
    groups: dict[tuple[Any, ...], list[float]] = {}
    for row in rows:
        key = (row["recording"], *(row[p] for p in params))
        if row.get(figure) is not None:
            groups.setdefault(key, []).append(row[figure])
    out = []
    for key, values in groups.items():
        out.append({"recording": key[0], **dict(zip(params, key[1:], strict=True)), "figure": figure,
                    "runs": len(values),
                    "mean": statistics.fmean(values), "stdev": statistics.pstdev(values),
                    "min": min(values), "max": max(values)})
    return out
