"""Settlement of the backtest: what each market paid out.

A market settles at its recorded result: the ``result`` / ``settlement_value_dollars`` of its
metadata in the recording (the exchange's ``Market`` JSON, recorded again when it changed), or
of a results table such as the captures' ``MARKETS.csv`` (columns ``window`` or ``ticker``,
``result``, ``settlement_value_dollars``), which wins. A YES contract pays the settlement value;
a market without a result is reported unsettled.

Parts: :func:`value_bp`, :func:`load_results`, :func:`results_from_meta`.
"""
from __future__ import annotations

import csv
import os
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["load_results", "results_from_meta", "value_bp"]


def value_bp(result: str | None, value_dollars: str | None) -> int | None:
    """Return the YES payout in bp of a market's result, or None when it has none yet."""
    if value_dollars not in (None, ""):
        try:
            return int(Decimal(str(value_dollars)) * 10_000)
        except InvalidOperation:
            raise ValueError(f"settlement value {value_dollars!r} is not a dollar amount") from None
    if result == "yes":
        return 10_000
    if result == "no":
        return 0
    return None


def results_from_meta(market: dict[str, Any]) -> int | None:
    """The YES payout in bp of a recorded ``Market`` JSON, when it is settled."""
    if market.get("status") not in ("settled", "finalized", "determined"):
        return None
    return value_bp(market.get("result"), market.get("settlement_value_dollars"))


def load_results(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read a results CSV (see the module docstring): ticker -> YES payout in bp.

    Raises
    ------
    ValueError
        When the file lacks the columns or holds a bad value (naming the row).
    """
    out: dict[str, int] = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        names = set(reader.fieldnames or ())
        key = "window" if "window" in names else "ticker"
        if key not in names or "result" not in names:
            raise ValueError(f"{path}: a results table needs a ticker (or window) and a result column")
        for n, row in enumerate(reader, start=2):
            try:
                value = value_bp(row.get("result"), row.get("settlement_value_dollars"))
            except ValueError as exc:
                raise ValueError(f"{path} line {n}: {exc}") from None
            if value is not None:
                out[row[key]] = value
    return out
