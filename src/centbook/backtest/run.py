"""One backtest from files to figures: what the command, the sweeps and the benchmark call.

Parts: :func:`run_backtest`, :func:`settings_of`.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from centbook.backtest.config import BacktestConfig
from centbook.backtest.engine import Backtest, BacktestResult
from centbook.backtest.summary import summarize
from centbook.mm.config import MMConfig

__all__ = ["run_backtest", "settings_of"]


def settings_of(mm: MMConfig, config: BacktestConfig) -> dict[str, Any]:
    """The parameters of a run as the summary records them (strategy, risk, models)."""
    return {"strategy": asdict(mm.strategy), "risk": asdict(mm.risk), "markets": list(mm.markets),
            "requote": mm.requote, "backtest": asdict(config)}


def run_backtest(recording: str | os.PathLike[str], mm: MMConfig, config: BacktestConfig, seed: int = 0,
                 results: dict[str, int] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> tuple[BacktestResult, dict[str, Any]]:
    """Run one backtest; return its result and its summary.

    Parameters
    ----------
    recording : str or PathLike
    mm : MMConfig
    config : BacktestConfig
    seed : int
    results : dict, optional
        ``ticker -> YES payout bp`` (e.g. :func:`centbook.backtest.settlement.load_results`).
    progress : callable, optional
        ``(records done, records in all)``.

    Raises
    ------
    centbook.record.segment.RecordingError
        When ``recording`` is not a recording.
    """
    result = Backtest(recording, mm, config, seed, results, progress).run()
    return result, summarize(result, seed, settings_of(mm, config))
