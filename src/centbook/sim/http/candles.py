"""The sim's candlestick routes: one market, a batch of markets, an event's markets.

The candles are :mod:`centbook.sim.engine.candles`' (from the engine's own trades and book
history). Parts: :class:`CandleRoutes` and :func:`candle_query` (the parameters all three share).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from centbook.sim import wire
from centbook.sim.engine.candles import MAX_CANDLES, PERIODS_MIN, Candle, candles, latest_before
from centbook.sim.engine.records import Market
from centbook.sim.errors import bad_request, not_found
from centbook.sim.http.core import RouteFamily
from centbook.sim.http.params import query_int

__all__ = ["CandleRoutes", "candle_query"]

MAX_BATCH_MARKETS = 100


def candle_query(request: web.Request) -> tuple[int, int, int, bool]:
    """Return ``(start_ts, end_ts, period_interval, include_latest_before_start)`` of a request."""
    values = []
    for name in ("start_ts", "end_ts", "period_interval"):
        value = query_int(request, name)
        if value is None:
            raise bad_request(f"query parameter {name} is required")
        values.append(value)
    if values[2] not in PERIODS_MIN:
        raise bad_request(f"period_interval must be 1, 60 or 1440 (minutes), got {values[2]}")
    latest = request.query.get("include_latest_before_start", "false").lower()
    if latest not in ("true", "false"):
        raise bad_request(f"include_latest_before_start must be true or false, got {latest!r}")
    return values[0], values[1], values[2], latest == "true"


class CandleRoutes(RouteFamily):
    """Handlers of the ``candlesticks`` reads."""

    def _candles(self, market: Market, start: int, end: int, period: int, latest: bool) -> list[Candle]:
        try:
            found = candles(market, start, end, period, self.exchange.clock.now_ns())
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        synthetic = latest_before(market, start, period) if latest else None
        return [synthetic, *found] if synthetic is not None else found

    def _series_market(self, series_ticker: str, ticker: str) -> Market:
        market = self.exchange.markets.get(ticker)
        if market is None or market.series.ticker != series_ticker:
            raise not_found(f"market {ticker!r} not found in series {series_ticker!r}")
        return market

    async def market_candles(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        market = self._series_market(request.match_info["series_ticker"], request.match_info["ticker"])
        found = [wire.candle_json(c) for c in self._candles(market, *candle_query(request))]
        return web.json_response({"ticker": market.ticker, "candlesticks": found})

    async def batch_candles(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        tickers = [t for t in request.query.get("market_tickers", "").split(",") if t]
        if not 1 <= len(tickers) <= MAX_BATCH_MARKETS:
            raise bad_request(f"market_tickers: give 1 to {MAX_BATCH_MARKETS} tickers, comma-separated")
        query = candle_query(request)
        out: list[dict[str, Any]] = []
        total = 0
        for ticker in tickers:
            found = self._candles(self.exchange.market(ticker), *query)
            total += len(found)
            if total > MAX_CANDLES:
                raise bad_request(f"more than {MAX_CANDLES} candlesticks asked; narrow the time range")
            out.append({"market_ticker": ticker, "candlesticks": [wire.candle_json(c) for c in found]})
        return web.json_response({"markets": out})

    async def event_candles(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        series, event_ticker = request.match_info["series_ticker"], request.match_info["ticker"]
        event = self.exchange.events.get(event_ticker)
        if event is None or event.series_ticker != series:
            raise not_found(f"event {event_ticker!r} not found in series {series!r}")
        start, end, period, _ = candle_query(request)
        markets = [m for m in self.exchange.markets.values() if m.event is event]
        # Kalshi shortens the range when the event's markets would give too many candles
        period_s = period * 60
        span = max(MAX_CANDLES // max(len(markets), 1) - 1, 0) * period_s
        adjusted_end = min(end, -(-start // period_s) * period_s + span)
        return web.json_response(
            {
                "market_tickers": [m.ticker for m in markets],
                "market_candlesticks": [
                    [wire.candle_json(c) for c in self._candles(m, start, adjusted_end, period, False)]
                    for m in markets
                ],
                "adjusted_end_ts": adjusted_end,
            }
        )
