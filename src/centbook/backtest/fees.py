"""Kalshi's trading fees for the backtest: the fee model of a series, and the rounding of fills.

The fee of a fill of ``C`` contracts at YES price ``P`` (dollars) is ``rate * C * P * (1 - P)``
with ``rate = 0.07 * multiplier`` for a taker; a maker pays it only on series whose ``fee_type``
has maker fees (``quadratic_with_maker_fees``: a quarter of the taker's, the combo variant: a
half); ``flat`` series pay the fee at ``P = 1/2`` whatever the price. The trade fee is rounded up
to $0.0001. Then, as the exchange does (``getting_started/fee_rounding``), a *rounding fee* brings
the balance change back to the member's precision ($0.01, or $0.0001 for direct members), and a
per-order accumulator returns each whole cent of rounding overpaid as a rebate (on a fill whose
fee can absorb it: the net fee of a fill is never negative).

Units: prices in bp, sizes in hundredths of a contract, money in micro-dollars; all integer.

Parts: :class:`FeeSchedule`, :class:`FeeAccumulator`, :data:`FEE_TYPES`.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FEE_TYPES", "FeeAccumulator", "FeeSchedule"]

FEE_TYPES = ("quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat")
_MAKER_DIVISOR = {"quadratic_with_maker_fees": 4, "quadratic_with_combo_maker_fees": 2}
_BASE_PPM = 70_000          # the 0.07 of the general trading fee table, in millionths
_CENTICENT = 100            # $0.0001 in micro-dollars
_CENT = 10_000              # $0.01 in micro-dollars
_FULL = 10_000              # $1 in bp


@dataclass(frozen=True)
class FeeSchedule:
    """One series' fee model.

    Parameters
    ----------
    fee_type : str
        One of :data:`FEE_TYPES` (the series' ``fee_type``).
    multiplier : float
        The series' (or event's override) ``fee_multiplier``.
    """

    fee_type: str = "quadratic"
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        if self.fee_type not in FEE_TYPES:
            raise ValueError(f"fee_type must be one of {', '.join(FEE_TYPES)}, got {self.fee_type!r}")
        if not self.multiplier >= 0:
            raise ValueError(f"fee multiplier must be >= 0, got {self.multiplier!r}")

    def trade_fee_micro(self, price_bp: int, size: int, taker: bool) -> int:
        """Return the trade fee of one fill, rounded up to $0.0001 (micro-dollars).

        Parameters
        ----------
        price_bp : int
            The fill's YES price.
        size : int
            Hundredths of a contract.
        taker : bool
            Whether our order took liquidity.
        """
        rate_ppm = round(_BASE_PPM * self.multiplier)
        if self.fee_type == "flat":
            p_q = _FULL * _FULL // 4
        else:
            p_q = price_bp * (_FULL - price_bp)
        raw = rate_ppm * size * p_q
        if not taker:
            divisor = _MAKER_DIVISOR.get(self.fee_type)
            if divisor is None:
                return 0
            raw //= divisor
        # rate_ppm/1e6 * size/100 * p_q/1e8 dollars = raw / 1e16 dollars = raw / 1e10 micro
        unit = 10**10 * _CENTICENT
        return -(-raw // unit) * _CENTICENT


class FeeAccumulator:
    """The rounding of one order's fills: trade fee + rounding fee - rebate per fill.

    Parameters
    ----------
    precision_micro : int
        The balance precision: 10,000 ($0.01) for most members, 100 ($0.0001) for direct ones.
    """

    def __init__(self, precision_micro: int = _CENT) -> None:
        if precision_micro <= 0 or _CENT % precision_micro:
            raise ValueError(f"balance precision must divide $0.01 (10000 micro), got {precision_micro}")
        self.precision = precision_micro
        self.overpaid = 0

    def net_fee_micro(self, revenue_micro: int, trade_fee_micro: int) -> int:
        """Return the net fee of one fill of this order.

        Parameters
        ----------
        revenue_micro : int
            The fill's signed cash flow before fees (negative when we pay).
        trade_fee_micro : int
            Its trade fee, already rounded up to $0.0001.
        """
        change = revenue_micro - trade_fee_micro
        rounding = change - (change // self.precision) * self.precision
        self.overpaid += rounding
        rebate = 0
        # a rebate never makes a fill's net fee negative: it waits for a fill that can absorb it
        if self.overpaid > _CENT and trade_fee_micro + rounding >= _CENT:
            rebate = _CENT
            self.overpaid -= _CENT
        return trade_fee_micro + rounding - rebate
