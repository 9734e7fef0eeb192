"""Latency models of the backtest: how long an order takes to reach the exchange, and how old the
market data the strategy decides on is.

Every model samples integer nanoseconds from its own seeded generator, so a run is repeatable:

- :class:`Constant`: always the same delay;
- :class:`LogNormal`: a median and a shape, the usual form of network delays;
- :class:`Empirical`: draws from measured latencies, a list of samples or the live maker's
  :class:`centbook.metrics.Histogram` (``centbook mm``'s latency histograms, e.g.
  ``tick_to_trade``), by inverse percentile; or from a histogram's summary as ``centbook mm
  --json`` writes it (min, p50, p90, p99, p99.9, max: linear between them).

:func:`latency_model` builds one from a TOML value: a number of milliseconds, or a table
``{dist = "lognormal", median_ms = 5, sigma = 0.5}``, ``{samples_ms = [...]}`` or
``{mm_json = "mm-summary.json", stage = "tick_to_trade"}``.

Parts: :class:`LatencyModel`, :class:`Constant`, :class:`LogNormal`, :class:`Empirical`,
:class:`SummaryLatency`, :func:`latency_model`.
"""
from __future__ import annotations

import json
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["Constant", "Empirical", "LatencyModel", "LogNormal", "SummaryLatency", "latency_model"]

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


_SUMMARY_POINTS = (("min", 0.0), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999), ("max", 1.0))


class SummaryLatency:
    """Delays drawn from a histogram's summary (``Histogram.summary()``): the inverse of the
    distribution function through its percentiles, linear between them.

    Parameters
    ----------
    summary : dict
        At least ``min``, ``p50`` and ``max`` (ns); ``p90``, ``p99``, ``p99.9`` when present.
    seed : int
    """

    def __init__(self, summary: dict[str, Any], seed: int = 0) -> None:
        points = [(q, float(summary[k])) for k, q in _SUMMARY_POINTS if summary.get(k) is not None]
        if len(points) < 2 or not summary.get("count"):
            raise ValueError("a latency summary needs a count and at least min and max")
        self.qs = [q for q, _ in points]
        self.values = [v for _, v in points]
        self.rng = random.Random(seed)

    def sample_ns(self) -> int:
        u = self.rng.random()
        i = min(bisect_right(self.qs, u), len(self.qs) - 1)
        q0, q1, v0, v1 = self.qs[i - 1], self.qs[i], self.values[i - 1], self.values[i]
        return int(v0 + (v1 - v0) * (u - q0) / (q1 - q0)) if q1 > q0 else int(v1)


def latency_model(value: Any, seed: int = 0) -> LatencyModel:
    """Build a latency model from a TOML value (see the module docstring)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Constant(round(value * _MS))
    if isinstance(value, dict):
        if "mm_json" in value:
            with open(value["mm_json"]) as fh:
                stages = json.load(fh)["latency_ns"]
            stage = value.get("stage", "tick_to_trade")
            if stage not in stages:
                raise ValueError(f"{value['mm_json']} has no latency stage {stage!r} "
                                 f"(it has {', '.join(sorted(stages))})")
            return SummaryLatency(stages[stage], seed)
        if "samples_ms" in value:
            return Empirical([round(s * _MS) for s in value["samples_ms"]], seed=seed)
        if value.get("dist") == "lognormal":
            return LogNormal(round(value.get("median_ms", 1.0) * _MS), value.get("sigma", 0.5), seed)
        if value.get("dist") == "constant":
            return Constant(round(value.get("ms", 0.0) * _MS))
    raise ValueError(f"latency must be milliseconds, {{dist = 'lognormal', median_ms, sigma}}, "
                     f"{{dist = 'constant', ms}}, {{samples_ms = [...]}} or {{mm_json, stage}}, "
                     f"got {value!r}")
