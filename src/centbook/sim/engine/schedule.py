"""The exchange's calendar: Kalshi's weekly maintenance window, in UTC, and scheduled fee changes.

Kalshi pauses trading every Thursday 03:00-05:00 US Eastern time (docs
``getting_started/maintenance_and_pauses``). Eastern time is computed here from the US daylight
saving rule (second Sunday of March to first Sunday of November, at 02:00 local) so the sim needs
no time-zone database.

A series fee change (``config["fee_changes"]``: ``series_ticker``, ``fee_type``,
``fee_multiplier``, ``scheduled_ts`` in Unix seconds) takes effect on the series once the clock
passes its time, so fills after it pay the new fee.

Parts: :data:`MAINTENANCE_WEEKDAY`, :func:`eastern_offset_h`, :func:`maintenance_windows`,
:data:`FEE_TYPES`, :class:`FeeChange` and :class:`FeeSchedule`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from centbook.sim.engine.records import Series

__all__ = [
    "FEE_TYPES", "FeeChange", "FeeSchedule", "MAINTENANCE_HOURS", "MAINTENANCE_WEEKDAY",
    "eastern_offset_h", "maintenance_windows",
]  # fmt: skip

#: the fee types the sim computes (docs ``FeeType`` less the combo one)
FEE_TYPES = ("quadratic", "quadratic_with_maker_fees", "flat")

MAINTENANCE_WEEKDAY = 3  # Thursday (Monday is 0)
MAINTENANCE_HOURS = (3, 5)  # from 03:00 to 05:00 Eastern


def _nth_sunday(year: int, month: int, n: int) -> _dt.date:
    first = _dt.date(year, month, 1)
    return first + _dt.timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def eastern_offset_h(day: _dt.date) -> int:
    """Return US Eastern time's offset from UTC on ``day`` at 03:00 local: -4 (EDT) or -5 (EST)."""
    start, end = _nth_sunday(day.year, 3, 2), _nth_sunday(day.year, 11, 1)
    return -4 if start <= day < end else -5


def maintenance_windows(now_ns: int, count: int = 4) -> list[tuple[int, int]]:
    """Return the next ``count`` maintenance windows as ``(start, end)`` Unix ns, the current first.

    A window that has begun and not ended is the first one returned.
    """
    today = _dt.datetime.fromtimestamp(now_ns / 1e9, tz=_dt.UTC).date() - _dt.timedelta(days=1)
    day = today + _dt.timedelta(days=(MAINTENANCE_WEEKDAY - today.weekday()) % 7)
    out: list[tuple[int, int]] = []
    while len(out) < count:
        offset = eastern_offset_h(day)
        bounds = [
            int(_dt.datetime(day.year, day.month, day.day, h - offset, tzinfo=_dt.UTC).timestamp()) * 10**9
            for h in MAINTENANCE_HOURS
        ]
        if bounds[1] > now_ns:
            out.append((bounds[0], bounds[1]))
        day += _dt.timedelta(days=7)
    return out


@dataclass(slots=True)
class FeeChange:
    """One scheduled change of a series' fee type and multiplier."""

    change_id: str
    series_ticker: str
    fee_type: str
    fee_multiplier: float
    scheduled_ts: int
    applied: bool = False


class FeeSchedule:
    """The configured fee changes, applied to their series as their time comes.

    Parameters
    ----------
    changes : list of dict
        ``config["fee_changes"]``.
    series : dict
        ``ticker -> Series`` of the exchange.

    Raises
    ------
    ValueError
        On a change naming an unknown series or fee type.
    """

    def __init__(self, changes: list[dict[str, Any]], series: dict[str, Series]) -> None:
        self.series = series
        self.changes: list[FeeChange] = []
        for i, c in enumerate(changes):
            if c.get("series_ticker") not in series:
                raise ValueError(f"fee_changes[{i}]: unknown series_ticker {c.get('series_ticker')!r}")
            if c.get("fee_type") not in FEE_TYPES:
                raise ValueError(f"fee_changes[{i}]: fee_type must be one of {', '.join(FEE_TYPES)}")
            self.changes.append(
                FeeChange(
                    str(c.get("id", f"fee-change-{i + 1}")), c["series_ticker"], c["fee_type"],
                    float(c["fee_multiplier"]), int(c["scheduled_ts"]),
                )
            )  # fmt: skip
        self.changes.sort(key=lambda c: c.scheduled_ts)

    def apply_due(self, now_s: int) -> None:
        """Apply every change whose time has come, in time order."""
        for change in self.changes:
            if not change.applied and change.scheduled_ts <= now_s:
                series = self.series[change.series_ticker]
                series.fee_type = change.fee_type
                series.fee_multiplier = change.fee_multiplier
                series.fee_ppm = round(change.fee_multiplier * 1_000_000)
                change.applied = True
