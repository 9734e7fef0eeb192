"""The figures of a backtest: P&L realised, marked to mid and at settlement, fees, fills, volume,
inventory, time quoted, and the markouts of fills.

A fill's markout at horizon ``h`` is what it earned against the market's mid ``h`` later:
``(mid(t + h) - price) * size`` for a buy, the opposite for a sale (micro-dollars; the mid as of
the last book change at or before ``t + h``). Averaged per contract it reads in bp; a negative
average is adverse selection: the fills came just before the market moved against them.

Money is in micro-dollars, sizes in hundredths of a contract; every P&L is net of fees.

Parts: :func:`summarize`, :func:`markouts`, :data:`HORIZONS_S`.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any

from centbook.backtest.engine import BacktestResult
from centbook.backtest.exchange import BID

__all__ = ["HORIZONS_S", "markouts", "summarize"]

HORIZONS_S = (1, 10, 60)


def markouts(result: BacktestResult, horizon_s: float) -> tuple[int, int]:
    """Return (total markout in micro-dollars, hundredths of contracts marked) at one horizon."""
    total = marked = 0
    h = int(horizon_s * 1e9)
    for fill in result.fills:
        ts, mids = result.mids.get(fill.ticker, ((), ()))
        i = bisect_right(ts, fill.t_ns + h) - 1
        if i < 0:
            continue
        edge = mids[i] - fill.price_bp
        total += round(edge * fill.size if fill.side == BID else -edge * fill.size)
        marked += fill.size
    return total, marked


def _settled_pnl(result: BacktestResult) -> tuple[int, list[str]]:
    pnl = 0
    unsettled = []
    for ticker, m in result.ledger.markets.items():
        value = result.settlement_bp.get(ticker)
        if value is None:
            unsettled.append(ticker)
            mark = result.last_mid.get(ticker)
            pnl += m.realised + m.unrealised(mark) - m.fees
        else:
            pnl += m.cash + m.position * value - m.fees
    return pnl, unsettled


def summarize(result: BacktestResult, seed: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Return the summary of a run (what ``summary.json`` holds).

    Parameters
    ----------
    result : BacktestResult
    seed : int
    settings : dict
        The models and parameters of the run, copied into the summary.
    """
    ledger = result.ledger
    totals = ledger.totals(dict(result.last_mid))
    settled, unsettled = _settled_pnl(result)
    fills = result.fills
    maker = sum(1 for f in fills if not f.taker)
    quoted = sum(result.quoted_ns.values())
    quotable = sum(result.quotable_ns.values())
    positions = {t: m.position for t, m in sorted(ledger.markets.items())}
    max_inventory = 0
    for row in result.series:
        max_inventory = max(max_inventory, abs(row[2]))
    out: dict[str, Any] = {
        "pnl_settled_micro": settled,
        "pnl_realized_micro": totals["realised"] - totals["fees"],
        "pnl_marked_micro": totals["pnl"],
        "fees_micro": totals["fees"],
        "fills": len(fills),
        "maker_fills": maker,
        "taker_fills": len(fills) - maker,
        "volume": sum(f.size for f in fills),
        "notional_micro": sum(f.size * f.price_bp for f in fills),
        "events": result.events,
        "events_per_s": round(result.events / result.elapsed_s) if result.elapsed_s > 0 else None,
        "recording_s": round((result.last_ns - result.first_ns) / 1e9, 3),
        "time_quoted_s": round(quoted / 1e9, 3),
        "quoted_fraction": round(quoted / quotable, 6) if quotable else 0.0,
        "max_abs_inventory": max_inventory,
        "positions": positions,
        "settlement_bp": {t: v for t, v in sorted(result.settlement_bp.items())},
        "unsettled": sorted(unsettled),
        "orders": result.counters,
        "seed": seed,
        "settings": settings,
    }
    for h in HORIZONS_S:
        total, marked = markouts(result, h)
        out[f"markout_{h}s_micro"] = total
        # bp per contract: micro per hundredth of a contract is bp per contract
        out[f"markout_{h}s_bp"] = round(total / marked, 3) if marked else None
    last = out[f"markout_{HORIZONS_S[-1]}s_bp"]
    out["adverse_selection_bp"] = round(-last, 3) if last is not None and last < 0 else 0.0
    return out
