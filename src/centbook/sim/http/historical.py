"""The sim's historical tier: the cutoff and the markets (and their candlesticks), trades, fills and
orders behind it.

What :class:`~centbook.sim.engine.history.History` calls historical is served here and left out of
the live reads (``/markets``, ``/markets/trades``, ``/portfolio/fills``, ``/portfolio/orders``).
Lists are newest first, as the live ones. Parts: :class:`HistoricalRoutes`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from centbook.sim import wire
from centbook.sim.engine.candles import candles as market_candles
from centbook.sim.errors import bad_request, not_found
from centbook.sim.http.candles import candle_query
from centbook.sim.http.core import RouteFamily
from centbook.sim.http.params import in_time_window, paginate

__all__ = ["HistoricalRoutes"]


def _by_ticker_and_time(request: web.Request, items: list[Any], ts: str) -> list[Any]:
    """Keep the items of the ``ticker`` asked for whose ``ts`` is within ``min_ts``/``max_ts``."""
    ticker = request.query.get("ticker")
    return in_time_window(request, [x for x in items if not ticker or x.ticker == ticker], ts)


class HistoricalRoutes(RouteFamily):
    """Handlers of ``/historical/*``."""

    async def cutoff(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        at = wire.iso(self.exchange.history.cutoff_ns())
        return web.json_response(
            {
                "market_settled_ts": at,
                "trades_created_ts": at,
                "orders_updated_ts": at,
                "market_positions_last_updated_ts": at,
            }
        )

    def _markets(self) -> list[Any]:
        history, cut = self.exchange.history, self.exchange.history.cutoff_ns()
        return [m for m in self.exchange.markets.values() if history.market(m, cut)]

    async def markets(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        q = request.query
        markets = self._markets()
        if q.get("tickers"):
            wanted = set(q["tickers"].split(","))
            markets = [m for m in markets if m.ticker in wanted]
        if q.get("event_ticker"):
            markets = [m for m in markets if m.event.event_ticker == q["event_ticker"]]
        if q.get("series_ticker"):
            markets = [m for m in markets if m.series.ticker == q["series_ticker"]]
        if q.get("mve_filter") not in (None, "", "exclude"):
            raise bad_request(f"mve_filter must be exclude, got {q['mve_filter']!r}")
        page, cursor = paginate(request, markets, min_limit=0)
        now = self.exchange.clock.now_ns()
        return web.json_response({"markets": [wire.market_json(m, now) for m in page], "cursor": cursor})

    def _market(self, request: web.Request) -> Any:
        """The archived market the path names (404 when it is not in the historical tier)."""
        self.core.optional_user(request)
        ticker = request.match_info["ticker"]
        found = [m for m in self._markets() if m.ticker == ticker]
        if not found:
            raise not_found(f"market {ticker!r} is not in the historical tier")
        return found[0]

    async def market(self, request: web.Request) -> web.Response:
        market = self._market(request)
        return web.json_response({"market": wire.market_json(market, self.exchange.clock.now_ns())})

    async def market_candles(self, request: web.Request) -> web.Response:
        market = self._market(request)
        start, end, period, _ = candle_query(request)
        try:
            candles = market_candles(market, start, end, period, self.exchange.clock.now_ns())
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        return web.json_response(
            {"ticker": market.ticker, "candlesticks": [wire.historical_candle_json(c) for c in candles]}
        )

    async def trades(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        history, cut = self.exchange.history, self.exchange.history.cutoff_ns()
        trades = [t for m in self.exchange.markets.values() for t in m.trades if history.fill(t, cut)]
        trades = _by_ticker_and_time(request, trades, "ts_ns")
        trades.sort(key=lambda t: t.ts_ns, reverse=True)
        page, cursor = paginate(request, trades, min_limit=0)
        return web.json_response({"trades": [wire.trade_json(t) for t in page], "cursor": cursor})

    def _own(self, request: web.Request, kind: str) -> web.Response:
        """The user's historical ``fills`` or ``orders``, newest first."""
        user = self.exchange.users[self.core.user(request)]
        history, cut = self.exchange.history, self.exchange.history.cutoff_ns()
        if kind == "fills":
            items: list[Any] = [f for f in user.fills if history.fill(f, cut)]
            ts, to_json = "ts_ns", wire.fill_json
        else:
            items = [o for o in user.orders if history.order(o, cut)]
            ts, to_json = "created_ns", wire.order_json
        items = _by_ticker_and_time(request, items, ts)
        items.reverse()
        page, cursor = paginate(request, items)
        return web.json_response({kind: [to_json(x) for x in page], "cursor": cursor})

    async def fills(self, request: web.Request) -> web.Response:
        return self._own(request, "fills")

    async def orders(self, request: web.Request) -> web.Response:
        return self._own(request, "orders")
