"""The sim's public market-data routes: exchange status, markets, events, series, orderbooks
and trades.

Parts: :class:`MarketRoutes` (the handlers) and the shard names Kalshi's status reports.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from centbook.fixed import format_size
from centbook.sim import wire
from centbook.sim.engine import STATUS_FILTERS
from centbook.sim.errors import SimError, bad_request
from centbook.sim.http.core import RouteFamily
from centbook.sim.http.params import in_time_window, paginate, query_int

__all__ = ["MarketRoutes"]

_SHARD_NAMES = {0: "Default", 1: "Exotics", 2: "Crypto", 3: "Tennis and Baseball"}
_SOURCES = [{"name": "centbook sim", "url": "http://127.0.0.1/"}]
# the colours event metadata gives its markets, in turn
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


class MarketRoutes(RouteFamily):
    """Handlers of ``/exchange/*``, ``/markets*``, ``/events*`` and ``/series*``."""

    async def exchange_status(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        shards = self.exchange.shards
        statuses = [
            {
                "exchange_index": i,
                "description": _SHARD_NAMES.get(i, f"shard {i}"),
                "exchange_active": s["exchange_active"],
                "trading_active": s["trading_active"],
                "intra_exchange_transfers_active": s["exchange_active"],
            }
            for i, s in sorted(shards.items())
        ]
        s0 = shards.get(0, {"exchange_active": True, "trading_active": True})
        return web.json_response(
            {
                "exchange_active": s0["exchange_active"],
                "trading_active": s0["trading_active"],
                "intra_exchange_transfers_active": s0["exchange_active"],
                "exchange_index_statuses": statuses,
            }
        )

    async def user_data_timestamp(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        # The sim serves every read straight from the engine, so user data is complete as of
        # the exchange's now (less an optional reported lag, to exercise clients' margins).
        as_of = self.exchange.clock.now_ns() - int(self.core.user_data_lag_s * 1e9)
        return web.json_response({"as_of_time": wire.iso(as_of)})

    async def get_markets(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        q = request.query
        history, cut = self.exchange.history, self.exchange.history.cutoff_ns()
        markets = [m for m in self.exchange.markets.values() if not history.market(m, cut)]
        status = q.get("status")
        if status:
            if status not in STATUS_FILTERS:
                raise bad_request(f"status must be one of {', '.join(STATUS_FILTERS)}, got {status!r}")
            markets = [m for m in markets if m.status in STATUS_FILTERS[status]]
        if q.get("event_ticker"):
            wanted = set(q["event_ticker"].split(","))
            markets = [m for m in markets if m.event.event_ticker in wanted]
        if q.get("series_ticker"):
            markets = [m for m in markets if m.series.ticker == q["series_ticker"]]
        if q.get("tickers"):
            wanted = set(q["tickers"].split(","))
            markets = [m for m in markets if m.ticker in wanted]
        for name, attr, op in (
            ("min_close_ts", "close_s", "ge"),
            ("max_close_ts", "close_s", "le"),
            ("min_created_ts", "created_s", "ge"),
            ("max_created_ts", "created_s", "le"),
        ):
            v = query_int(request, name)
            if v is not None:
                markets = [
                    m for m in markets if (getattr(m, attr) >= v if op == "ge" else getattr(m, attr) <= v)
                ]
        v = query_int(request, "min_updated_ts")
        if v is not None:
            markets = [m for m in markets if m.updated_ns // 1_000_000_000 >= v]
        for name, op in (("min_settled_ts", "ge"), ("max_settled_ts", "le")):
            v = query_int(request, name)
            if v is not None:
                markets = [
                    m
                    for m in markets
                    if m.settled_ns is not None
                    and (m.settled_ns // 10**9 >= v if op == "ge" else m.settled_ns // 10**9 <= v)
                ]
        mve = q.get("mve_filter")
        if mve and mve not in ("only", "exclude"):
            raise bad_request(f"mve_filter must be only or exclude, got {mve!r}")
        if mve == "only":
            markets = []
        page, cursor = paginate(request, markets, min_limit=0)
        now = self.exchange.clock.now_ns()
        return web.json_response({"markets": [wire.market_json(m, now) for m in page], "cursor": cursor})

    async def get_market(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        market = self.exchange.market(request.match_info["ticker"])
        return web.json_response({"market": wire.market_json(market, self.exchange.clock.now_ns())})

    async def get_orderbook(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        market = self.exchange.market(request.match_info["ticker"])
        depth = query_int(request, "depth", 0, 0, 100) or 0
        return web.json_response({"orderbook_fp": wire.orderbook_json(market, depth)})

    async def get_orderbooks(self, request: web.Request) -> web.Response:
        self.core.user(request)
        tickers = [t for raw in request.query.getall("tickers", []) for t in raw.split(",") if t]
        if not 1 <= len(tickers) <= 100:
            raise bad_request("tickers: give 1 to 100 market tickers (repeat the parameter)")
        books = [{"ticker": t, "orderbook_fp": wire.orderbook_json(self.exchange.market(t))} for t in tickers]
        return web.json_response({"orderbooks": books})

    async def get_trades(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        ticker = request.query.get("ticker")
        markets = [self.exchange.market(ticker)] if ticker else list(self.exchange.markets.values())
        history, cut = self.exchange.history, self.exchange.history.cutoff_ns()
        trades = [t for m in markets for t in m.trades if not history.fill(t, cut)]
        trades = in_time_window(request, trades)
        trades.sort(key=lambda t: t.ts_ns, reverse=True)
        page, cursor = paginate(request, trades, min_limit=0)
        return web.json_response({"trades": [wire.trade_json(t) for t in page], "cursor": cursor})

    def _event_json(self, ev: Any, nested: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_ticker": ev.event_ticker,
            "series_ticker": ev.series_ticker,
            "sub_title": ev.sub_title,
            "title": ev.title,
            "collateral_return_type": ev.collateral_return_type,
            "mutually_exclusive": ev.mutually_exclusive,
            "category": ev.category,
            "available_on_brokers": True,
            "product_metadata": {},
            "exchange_index": ev.exchange_index,
            "strike_period": "",
            "settlement_sources": _SOURCES,
            "last_updated_ts": wire.iso_s(self.exchange.start_s),
            "fee_type_override": ev.fee_type_override,
            "fee_multiplier_override": ev.fee_multiplier_override,
        }
        if nested:
            now = self.exchange.clock.now_ns()
            out["markets"] = [
                wire.market_json(m, now)
                for m in self.exchange.markets.values()
                if m.event.event_ticker == ev.event_ticker
            ]
        return out

    async def get_events(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        q = request.query
        events = list(self.exchange.events.values())
        if q.get("series_ticker"):
            events = [e for e in events if e.series_ticker == q["series_ticker"]]
        status = q.get("status")
        if status:
            if status not in ("open", "closed", "settled", "unopened"):
                raise bad_request(f"status must be one of open, closed, settled, unopened, got {status!r}")
            events = [
                e
                for e in events
                if any(
                    m.status in STATUS_FILTERS[status] for m in self.exchange.markets.values() if m.event is e
                )
            ]
        nested = q.get("with_nested_markets", "false").lower() == "true"
        page, cursor = paginate(request, events, default_limit=200, max_limit=200)
        return web.json_response({"events": [self._event_json(e, nested) for e in page], "cursor": cursor})

    def _event(self, request: web.Request) -> Any:
        """The event the path names (404 when unknown)."""
        self.core.optional_user(request)
        ev = self.exchange.events.get(request.match_info["event_ticker"])
        if ev is None:
            raise SimError(
                404, "not_found", "not found", f"event {request.match_info['event_ticker']!r} not found"
            )
        return ev

    async def get_event(self, request: web.Request) -> web.Response:
        ev = self._event(request)
        now = self.exchange.clock.now_ns()
        markets = [wire.market_json(m, now) for m in self.exchange.markets.values() if m.event is ev]
        return web.json_response({"event": self._event_json(ev, False), "markets": markets})

    async def get_event_metadata(self, request: web.Request) -> web.Response:
        ev = self._event(request)
        details = [
            {"market_ticker": m.ticker, "image_url": "", "color_code": _COLORS[i % len(_COLORS)]}
            for i, m in enumerate(m for m in self.exchange.markets.values() if m.event is ev)
        ]
        return web.json_response(
            {
                "image_url": "",
                "featured_image_url": "",
                "settlement_sources": _SOURCES,
                "market_details": details,
                "competition": None,
                "competition_scope": None,
            }
        )

    def _series_json(self, s: Any) -> dict[str, Any]:
        return {
            "ticker": s.ticker,
            "frequency": s.frequency,
            "title": s.title,
            "category": s.category,
            "tags": [],
            "settlement_sources": _SOURCES,
            "contract_url": "",
            "contract_terms_url": "",
            "product_metadata": {},
            "fee_type": s.fee_type,
            "fee_multiplier": s.fee_multiplier,
            "additional_prohibitions": [],
            "volume_fp": format_size(sum(m.volume for m in self.exchange.markets.values() if m.series is s)),
        }

    async def get_series(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        s = self.exchange.series.get(request.match_info["series_ticker"])
        if s is None:
            raise SimError(
                404, "not_found", "not found", f"series {request.match_info['series_ticker']!r} not found"
            )
        return web.json_response({"series": self._series_json(s)})

    async def get_series_list(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        items = list(self.exchange.series.values())
        if request.query.get("category"):
            items = [s for s in items if s.category == request.query["category"]]
        return web.json_response({"series": [self._series_json(s) for s in items]})
