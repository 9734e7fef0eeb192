"""Candlesticks of the embedded exchange, computed from its own trades and book history.

A candle covers the period ``(end - period, end]`` (Unix seconds, ``end`` a multiple of the
period): the YES bid and ask as they stood at its start, moved within it and stood at its end
(from :attr:`Market.quotes`, an empty side reading $0 bid or $1 ask as in the market's own
answer); the traded prices (None without a trade); the volume traded in it and the open interest
after its last trade.

Parts: :data:`PERIODS_MIN` (the periods Kalshi offers), :data:`MAX_CANDLES`, :class:`Candle`,
:func:`candles` (one market) and :func:`latest_before` (the synthetic candle Kalshi prepends on
request).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from centbook.sim.engine.records import MAX_BP, Market

__all__ = ["MAX_CANDLES", "PERIODS_MIN", "Candle", "candles", "latest_before"]

#: candle periods in minutes: a minute, an hour, a day (docs ``period_interval``)
PERIODS_MIN = (1, 60, 1440)
#: at most this many candles in one answer (the docs' batch limit, applied to every read)
MAX_CANDLES = 10_000

_NS = 1_000_000_000

Ohlc = tuple[int, int, int, int]


@dataclass(slots=True, frozen=True)
class Candle:
    """One period of one market; prices in bp, sizes in hundredths.

    ``price`` is ``(open, low, high, close, mean)`` of the trades in the period (mean weighted by
    size, rounded down), None without a trade; ``previous_bp`` is the last trade before it.
    """

    end_period_ts: int
    yes_bid: Ohlc
    yes_ask: Ohlc
    price: tuple[int, int, int, int, int] | None
    previous_bp: int | None
    volume: int
    open_interest: int


def _ohlc(states: list[int]) -> Ohlc:
    return states[0], min(states), max(states), states[-1]


def _candle(market: Market, end_s: int, period_s: int, quote_ts: list[int], trade_ts: list[int]) -> Candle:
    lo_ns, hi_ns = (end_s - period_s) * _NS, end_s * _NS
    first = max(bisect_right(quote_ts, lo_ns) - 1, 0)
    states = market.quotes[first : bisect_right(quote_ts, hi_ns)] or market.quotes[-1:]
    bids = [0 if b is None else b for _, b, _ in states]
    asks = [MAX_BP if a is None else a for _, _, a in states]
    i, j = bisect_right(trade_ts, lo_ns), bisect_right(trade_ts, hi_ns)
    trades = market.trades[i:j]
    price = None
    volume = sum(t.size for t in trades)
    if trades:
        prices = [t.price_bp for t in trades]
        mean = sum(t.price_bp * t.size for t in trades) // volume
        price = (prices[0], min(prices), max(prices), prices[-1], mean)
    return Candle(
        end_period_ts=end_s,
        yes_bid=_ohlc(bids),
        yes_ask=_ohlc(asks),
        price=price,
        previous_bp=market.trades[i - 1].price_bp if i else None,
        volume=volume,
        open_interest=market.trades[j - 1].open_interest if j else 0,
    )


def _ends(market: Market, start_s: int, end_s: int, period_s: int, now_ns: int) -> range:
    # periods ending in [start, end]; none before the market existed nor after the current one
    first = -(-max(start_s, market.created_s + 1) // period_s) * period_s
    last = min(end_s, -(-now_ns // (_NS * period_s)) * period_s) // period_s * period_s
    return range(first, last + 1, period_s)


def candles(market: Market, start_s: int, end_s: int, period_min: int, now_ns: int) -> list[Candle]:
    """Return the candles of ``market`` ending in ``[start_s, end_s]``, oldest first.

    Raises
    ------
    ValueError
        If ``period_min`` is not one of :data:`PERIODS_MIN`, ``start_s`` is after ``end_s``, or
        the range holds more than :data:`MAX_CANDLES` periods.
    """
    if period_min not in PERIODS_MIN:
        raise ValueError(f"period_interval must be 1, 60 or 1440 (minutes), got {period_min}")
    if start_s > end_s:
        raise ValueError(f"start_ts {start_s} is after end_ts {end_s}")
    period_s = period_min * 60
    ends = _ends(market, start_s, end_s, period_s, now_ns)
    if len(ends) > MAX_CANDLES:
        raise ValueError(f"{len(ends)} candlesticks asked; at most {MAX_CANDLES} per request")
    quote_ts = [q[0] for q in market.quotes]
    trade_ts = [t.ts_ns for t in market.trades]
    return [_candle(market, end, period_s, quote_ts, trade_ts) for end in ends]


def latest_before(market: Market, start_s: int, period_min: int) -> Candle | None:
    """Return Kalshi's synthetic first candle: the latest real one before ``start_s``, carried forward.

    It ends at the first period boundary at or after ``start_s``, has no traded prices and its
    ``previous_bp`` is the real candle's close; None when nothing traded before ``start_s``.
    """
    period_s = period_min * 60
    i = bisect_right([t.ts_ns for t in market.trades], start_s * _NS)
    if not i:
        return None
    last = market.trades[i - 1]
    real_end = -(-last.ts_ns // (_NS * period_s)) * period_s
    quote_ts = [q[0] for q in market.quotes]
    real = _candle(market, real_end, period_s, quote_ts, [t.ts_ns for t in market.trades])
    assert real.price is not None
    return Candle(
        end_period_ts=-(-start_s // period_s) * period_s,
        yes_bid=real.yes_bid,
        yes_ask=real.yes_ask,
        price=None,
        previous_bp=real.price[3],
        volume=0,
        open_interest=real.open_interest,
    )
