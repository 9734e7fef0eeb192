"""Backtests of the market maker on recorded markets (``centbook backtest``).

- :mod:`~centbook.backtest.exchange`: our orders in the recorded book and trades (queue position,
  partial fills, post-only, amends);
- :mod:`~centbook.backtest.queue`, :mod:`~centbook.backtest.latency`,
  :mod:`~centbook.backtest.fees`, :mod:`~centbook.backtest.settlement`: the models;
- :mod:`~centbook.backtest.quoting`: the live maker's decisions; :mod:`~centbook.backtest.engine`:
  the driver; :mod:`~centbook.backtest.summary`, :mod:`~centbook.backtest.output`: figures and
  files; :mod:`~centbook.backtest.sweep`: grids of runs on processes or a Dask cluster;
- :mod:`~centbook.backtest.config`: the ``[backtest]`` table of ``mm.toml``.

Needs the ``record`` extra (recordings) and, for reports and sweeps on Dask, ``backtest``.
"""
from centbook.backtest.config import BacktestConfig, load_backtest_config
from centbook.backtest.engine import Backtest, BacktestResult
from centbook.backtest.run import run_backtest

__all__ = ["Backtest", "BacktestConfig", "BacktestResult", "load_backtest_config", "run_backtest"]
