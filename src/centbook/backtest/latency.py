"""Latency models of the backtest: how long an order takes to reach the exchange, and how old the
market data the strategy decides on is.

Every model samples integer nanoseconds from its own seeded generator, so a run is repeatable:

- :class:`Constant`: always the same delay;
- :class:`LogNormal`: a median and a shape, the usual form of network delays;
- :class:`Empirical`: draws from measured latencies, a list of samples or the live maker's
  :class:`centbook.metrics.Histogram` (``centbook mm``'s latency histograms, e.g.
  ``tick_to_trade``), by inverse percentile.

:func:`latency_model` builds one from a TOML value: a number of milliseconds, or a table
``{dist = "lognormal", median_ms = 5, sigma = 0.5}`` or ``{samples_ms = [...]}``.

Parts: :class:`LatencyModel`, :class:`Constant`, :class:`LogNormal`, :class:`Empirical`,
:func:`latency_model`.
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["Constant", "Empirical", "LatencyModel", "LogNormal", "latency_model"]

_MS = 1_000_000


class LatencyModel(Protocol):
    """A delay in ns, drawn once per use."""

    def sample_ns(self) -> int: ...


class Constant:
    """The same delay every time.

    Parameters
    ----------
    ns : int
    """

    def __init__(self, ns: int) -> None:
        if ns < 0:
            raise ValueError(f"latency must be >= 0 ns, got {ns}")
        self.ns = int(ns)

    def sample_ns(self) -> int:
        return self.ns


class LogNormal:
    """Delays of median ``median_ns`` and log-scale spread ``sigma``.

    Parameters
    ----------
    median_ns : int
    sigma : float
    seed : int
    """

    def __init__(self, median_ns: int, sigma: float, seed: int = 0) -> None:
        if median_ns <= 0 or sigma < 0:
            raise ValueError(f"lognormal latency needs median > 0 and sigma >= 0, got {median_ns}, {sigma}")
        self.mu = math.log(median_ns)
        self.sigma = float(sigma)
        self.rng = random.Random(seed)

    def sample_ns(self) -> int:
        return int(self.rng.lognormvariate(self.mu, self.sigma))


class Empirical:
    """Delays drawn from measured ones.

    Parameters
    ----------
    samples_ns : sequence of int, optional
        Measured delays.
    histogram : centbook.metrics.Histogram, optional
        A live histogram (sampled by inverse percentile), when no samples are given.
    seed : int
    """

    def __init__(self, samples_ns: Sequence[int] = (), histogram: Any = None, seed: int = 0) -> None:
        if not samples_ns and (histogram is None or not histogram.count):
            raise ValueError("empirical latency needs samples or a histogram with counts")
        self.samples = sorted(int(s) for s in samples_ns)
        self.histogram = histogram
        self.rng = random.Random(seed)

    def sample_ns(self) -> int:
        if self.samples:
            return self.samples[self.rng.randrange(len(self.samples))]
        return int(self.histogram.percentile(100.0 * self.rng.random()))


def latency_model(value: Any, seed: int = 0) -> LatencyModel:
    """Build a latency model from a TOML value (see the module docstring)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Constant(round(value * _MS))
    if isinstance(value, dict):
        if "samples_ms" in value:
            return Empirical([round(s * _MS) for s in value["samples_ms"]], seed=seed)
        if value.get("dist") == "lognormal":
            return LogNormal(round(value.get("median_ms", 1.0) * _MS), value.get("sigma", 0.5), seed)
        if value.get("dist") == "constant":
            return Constant(round(value.get("ms", 0.0) * _MS))
    raise ValueError(f"latency must be milliseconds, {{dist = 'lognormal', median_ms, sigma}}, "
                     f"{{dist = 'constant', ms}} or {{samples_ms = [...]}}, got {value!r}")
