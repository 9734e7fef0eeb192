"""Positions, cash, fees and P&L per market from fills, deduplicated by trade id.

All money in micro-dollars, sizes in hundredths of a contract, prices in bp: a fill of ``count``
hundredths at ``price_bp`` costs ``price_bp * count`` micro-dollars. Fees are the fills'
``fee_cost`` (never recomputed).
"""
from __future__ import annotations

from dataclasses import dataclass

from centbook.book import OrderSide

__all__ = ["MarketBook", "Ledger"]


@dataclass
class MarketBook:
    """One market's position (hundredths, + = long YES), cash, fees and realised P&L (micro)."""

    position: int = 0
    cash: int = 0
    fees: int = 0
    realised: int = 0
    cost: int = 0  # cost basis of the open position (micro, signed like the position)
    fills: int = 0

    def unrealised(self, mark_bp: float | None) -> int:
        """Mark-to-market of the open position against its cost basis."""
        if mark_bp is None or self.position == 0:
            return 0
        return int(self.position * mark_bp) - self.cost


class Ledger:
    """Fills applied once each (key: trade id and order id)."""

    def __init__(self) -> None:
        self.markets: dict[str, MarketBook] = {}
        self.seen: set[tuple[str, str]] = set()
        self.duplicates = 0

    def market(self, ticker: str) -> MarketBook:
        """The entry of ``ticker`` (created empty)."""
        m = self.markets.get(ticker)
        if m is None:
            m = self.markets[ticker] = MarketBook()
        return m

    def apply(self, trade_id: str, order_id: str, ticker: str, side: OrderSide | str, price_bp: int,
              count: int, fee_micro: int) -> bool:
        """Apply one fill (``side`` bid = bought YES); False when it was already applied."""
        key = (trade_id, order_id)
        if key in self.seen:
            self.duplicates += 1
            return False
        self.seen.add(key)
        m = self.market(ticker)
        signed = count if side == OrderSide.BID else -count
        m.cash -= signed * price_bp
        m.fees += fee_micro
        m.fills += 1
        pos = m.position
        if pos == 0 or (pos > 0) == (signed > 0):
            m.cost += signed * price_bp
        else:
            closed = min(abs(signed), abs(pos))
            avg = m.cost / pos  # bp per hundredth
            sign = 1 if pos > 0 else -1
            m.realised += int(sign * closed * (price_bp - avg))
            m.cost -= int(sign * closed * avg)
            rest = abs(signed) - closed
            if rest:
                m.cost = (rest if signed > 0 else -rest) * price_bp
        m.position = pos + signed
        if m.position == 0:
            m.cost = 0
        return True

    def totals(self, marks: dict[str, float | None]) -> dict[str, int]:
        """Sum over markets: position (absolute), cash, fees, realised, unrealised, pnl (net of fees)."""
        out = {"abs_position": 0, "cash": 0, "fees": 0, "realised": 0, "unrealised": 0}
        for ticker, m in self.markets.items():
            out["abs_position"] += abs(m.position)
            out["cash"] += m.cash
            out["fees"] += m.fees
            out["realised"] += m.realised
            out["unrealised"] += m.unrealised(marks.get(ticker))
        out["pnl"] = out["realised"] + out["unrealised"] - out["fees"]
        return out
