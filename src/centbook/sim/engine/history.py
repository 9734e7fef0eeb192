"""Kalshi's live and historical tiers in the embedded exchange: one cutoff, what falls behind it.

Kalshi moves settled markets, old fills and finished orders out of the live reads into
``/historical/*`` once they are older than its cutoff (docs ``get-historical-cutoff-timestamps``).
The sim keeps every record where it is and splits them on read: a record is historical when its
time is before :meth:`History.cutoff_ns`, which trails the exchange clock by a configured age
(``config["historical"]["cutoff_age_s"]``, 90 days unless set), so a test moves records across
by shifting the clock. The four cutoffs Kalshi reports are one time here.

Parts: :data:`DEFAULT_CUTOFF_AGE_S` and :class:`History`.
"""

from __future__ import annotations

from centbook.sim.engine.records import Clock, EngineFill, Market, Order, Trade

__all__ = ["DEFAULT_CUTOFF_AGE_S", "History"]

DEFAULT_CUTOFF_AGE_S = 90 * 86_400


class History:
    """Which records the live reads leave to the historical ones.

    Parameters
    ----------
    clock : Clock
        The exchange clock.
    cutoff_age_s : int
        How far the cutoff trails the clock, in seconds (at least 1).
    """

    def __init__(self, clock: Clock, cutoff_age_s: int = DEFAULT_CUTOFF_AGE_S) -> None:
        if isinstance(cutoff_age_s, bool) or not isinstance(cutoff_age_s, int) or cutoff_age_s < 1:
            raise ValueError(f"historical cutoff_age_s must be a positive integer, got {cutoff_age_s!r}")
        self.clock = clock
        self.cutoff_age_s = cutoff_age_s

    def cutoff_ns(self) -> int:
        """Return the cutoff now (Unix ns): records older than it are historical."""
        return self.clock.now_ns() - self.cutoff_age_s * 1_000_000_000

    def market(self, market: Market, cutoff_ns: int) -> bool:
        """Whether a market settled before the cutoff."""
        return market.settled_ns is not None and market.settled_ns < cutoff_ns

    def fill(self, record: EngineFill | Trade, cutoff_ns: int) -> bool:
        """Whether a fill (or a trade) happened before the cutoff."""
        return record.ts_ns < cutoff_ns

    def order(self, order: Order, cutoff_ns: int) -> bool:
        """Whether an order was cancelled or executed before the cutoff (resting ones stay live)."""
        return order.status != "resting" and order.updated_ns < cutoff_ns
