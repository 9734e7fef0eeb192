"""Configuration of ``centbook backtest``: the maker's ``mm.toml``, plus a ``[backtest]`` table.

The strategy and risk settings are the live maker's (:mod:`centbook.mm.config`), read from the
same file; ``[backtest]`` holds the models of the exchange::

    [backtest]
    queue = "pessimistic"          # pessimistic, proportional, probabilistic
    entry_latency_ms = 20          # or {dist = "lognormal", median_ms = 20, sigma = 0.4}
    data_latency_ms = 5            # or {samples_ms = [3, 4, 9, ...]}
    compiled = true                # targets by the compiled requote arithmetic (centbook.mm.quoter)
    balance_precision_micro = 10000  # $0.01; 100 for a direct member
    sample_s = 1.0                 # P&L, inventory and quote series: one row per market per this

    [backtest.fees]                # per series (the ticker up to its first '-'); default: "*"
    "*" = {fee_type = "quadratic", multiplier = 1.0}
    KXGOLD15M = {fee_type = "quadratic_with_maker_fees", multiplier = 1.0}

Parts: :class:`BacktestConfig`, :func:`load_backtest_config`.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from typing import Any

from centbook.backtest.fees import FeeSchedule
from centbook.backtest.latency import latency_model
from centbook.backtest.queue import queue_model
from centbook.mm.config import MMConfig, load_config

__all__ = ["BacktestConfig", "load_backtest_config"]


@dataclass
class BacktestConfig:
    """The exchange models of a backtest (see the module docstring for the keys)."""

    queue: str = "pessimistic"
    entry_latency_ms: Any = 20.0
    data_latency_ms: Any = 5.0
    compiled: bool | None = None       # None: the maker's compiled_amend
    balance_precision_micro: int = 10_000
    sample_s: float = 1.0
    fees: dict[str, dict[str, Any]] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        queue_model(self.queue)
        latency_model(self.entry_latency_ms)
        latency_model(self.data_latency_ms)
        if self.sample_s <= 0:
            raise ValueError(f"backtest.sample_s must be > 0, got {self.sample_s}")
        for series, spec in self.fees.items():
            try:
                FeeSchedule(**spec)
            except TypeError as exc:
                raise ValueError(f"backtest.fees.{series}: {exc}") from None
            except ValueError as exc:
                raise ValueError(f"backtest.fees.{series}: {exc}") from None

    def fee_schedule(self, ticker: str) -> FeeSchedule:
        """The fee model of ``ticker``'s series (or the ``"*"`` default)."""
        series = ticker.split("-", 1)[0]
        spec = self.fees.get(series, self.fees.get("*", {}))
        return FeeSchedule(**spec)


def load_backtest_config(path: str | None, overrides: dict[str, Any] | None = None
                         ) -> tuple[MMConfig, BacktestConfig]:
    """Read ``mm.toml`` (optional): the maker's configuration and the ``[backtest]`` table.

    Parameters
    ----------
    path : str, optional
    overrides : dict, optional
        ``strategy``/``risk``/top-level maker keys, and a ``backtest`` dict, applied on top.

    Raises
    ------
    ValueError
        An unknown key or a bad value, named.
    OSError
        The file cannot be read.
    """
    data: dict[str, Any] = {}
    if path:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    overrides = dict(overrides or {})
    bt_data = dict(data.pop("backtest", {}))
    bt_data.update(overrides.pop("backtest", {}) or {})
    for key in ("strategy", "risk"):
        if key in overrides:
            data[key] = {**data.get(key, {}), **overrides.pop(key)}
    data.update(overrides)
    mm = load_config(None, data)
    names = {f.name for f in fields(BacktestConfig)}
    for key in bt_data:
        if key not in names:
            raise ValueError(f"unknown configuration key {key!r} in [backtest]")
    bt = BacktestConfig(**bt_data)
    bt.validate()
    return mm, bt
