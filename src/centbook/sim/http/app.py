"""The embedded exchange's HTTP face: Kalshi's REST v2 under ``/trade-api/v2``, a WebSocket route,
and ``/admin`` for tests and demos (faults, tiers, pauses, clock, settlement).

Choices where Kalshi's documents are silent (also listed in ``centbook.sim`` docs):

* Duplicate ``client_order_id`` -> 409 ``order_already_exists``.
* Legacy V1 writes (``POST/DELETE /portfolio/orders*``) are deprecated: they are billed at their
  10x token cost and answer 410 ``deprecated_endpoint`` "Please switch to the V2 endpoints".
* A FoK order that cannot fill whole is accepted (201) with ``fill_count`` 0 and status
  ``canceled``; a post-only order that would cross is rejected 400 ``invalid_order`` /
  ``post only cross``.
* Public market-data GETs need no signature; if signing headers are sent they must verify.
* A write routed to the wrong shard fails there: create -> 400 ``insufficient_balance``, cancel or
  decrease -> 404 ``order_not_found`` (the order is unknown on that shard).
* Trading pause: creates and amends -> 400 ``trading_is_paused``; cancels and decreases pass.
  Exchange pause: every order write -> 503 ``exchange_unavailable``; reads keep working.
* A closed, unopened, halted or settled market refuses orders with 400 ``market_closed``.
* ``balance`` / ``balance_dollars`` are the available balance: cash less the collateral reserved
  by resting orders (full collateral, positions not netted against it) and less a bound on their
  fees; ``portfolio_value`` marks positions at the last trade (0.50 before any trade).
* Only signed requests are metered (buckets belong to a user); unsigned public GETs are free.
  Arrival times of metered requests are recorded per user (``Admin.arrivals``).
* ``DELETE /portfolio/events/orders`` (cancel-all, newer than every saved spec) answers
  ``{"orders": [{order_id, client_order_id, reduced_by, ts_ms, error}]}`` like batch cancel.
* Order groups: ``exchange_index`` in the create body picks the shard (default 0); orders of
  another shard cannot join. A group triggers when its rolling 15 s fills exceed the limit.
* Subaccount transfers (``POST /portfolio/subaccounts/transfer``, 3.13 schema plus the sharding
  guide's ``exchange_index``) are simulated. Not simulated: intra-exchange (cross-shard) transfers
  (their request schema is not in the saved docs), RFQ/quotes, block trades, multivariate
  markets, historical endpoints, ``Accept-Language``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from centbook.fixed import format_price, format_size
from centbook.sim import wire
from centbook.sim.auth import KeyRing
from centbook.sim.engine import STATUS_FILTERS, Exchange, Order
from centbook.sim.errors import SimError, bad_request
from centbook.sim.flow import Flow
from centbook.sim.http.params import (
    bool_field,
    enum_field,
    expiration_field,
    int_field,
    paginate,
    parse_count,
    parse_price,
    query_int,
    required_field,
    str_field,
)
from centbook.sim.ratelimit import DEFAULT_COST, ENDPOINT_COSTS, RateLimiter
from centbook.sim.ws import StreamHub

__all__ = ["SimServer", "Fault"]

log = logging.getLogger("centbook.sim")

API = "/trade-api/v2"
WS_PATH = "/trade-api/ws/v2"


class BodyError(Exception):
    """An unparseable request body: answered with a top-level ``{"code": "bad_request", ...}``."""


@dataclass
class Fault:
    """An injected REST fault.

    Attributes
    ----------
    method : str
        HTTP method to match, or ``*``.
    path : str
        Regular expression matched (``re.search``) against the path after ``/trade-api/v2``.
    action : str
        ``status`` (answer ``status`` without processing), ``timeout`` (hold the request
        ``delay_s`` seconds, then close the connection unanswered), ``drop`` (process it, then close
        the connection without answering), ``delay`` (process it, answer after ``delay_s``).
    status : int
        The status for ``status`` faults (5xx).
    delay_s : float
        Seconds for ``timeout`` and ``delay``.
    times : int or None
        How many requests it hits before it expires; None = until removed.
    """

    method: str
    path: str
    action: str
    status: int = 503
    delay_s: float = 30.0
    times: int | None = 1
    fault_id: int = 0
    _rx: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, sub_path: str) -> bool:
        if self._rx is None:
            self._rx = re.compile(self.path)
        return (self.method in ("*", method)) and bool(self._rx.search(sub_path))


class SimServer:
    """The aiohttp application of one embedded exchange, with its engine, keys, limits and faults.

    Parameters
    ----------
    exchange : Exchange
        The engine.
    keys : KeyRing
        API keys.
    limiter : RateLimiter
        Token buckets.
    """

    def __init__(self, exchange: Exchange, keys: KeyRing, limiter: RateLimiter) -> None:
        self.exchange = exchange
        self.keys = keys
        self.limiter = limiter
        self.faults: list[Fault] = []
        self.fault_log: list[dict[str, Any]] = []
        self._fault_ids = 0
        self.ws_connections: set[web.WebSocketResponse] = set()
        self.user_data_lag_s = 0.0
        self.app = web.Application(middlewares=[self._middleware], client_max_size=4 * 1024 * 1024)
        self.app.on_response_prepare.append(self._date_header)
        self._routes()
        #: synthetic order flow, started with the app when ``config["flow"]["enabled"]``
        self.flow = Flow(exchange, exchange.config.get("flow", {}), log=self.log_fault)
        self.app.on_startup.append(self._start_flow)
        self.app.on_shutdown.append(self._stop_flow)
        #: WebSocket channels and stream faults (:mod:`centbook.sim.stream`)
        self.streams = StreamHub(exchange, keys, self.log_fault, self.ws_connections, self.flow)
        self.streams.attach(self.app)
        self._ticker: asyncio.Task[None] | None = None
        self.app.on_startup.append(self._start_ticker)
        self.app.on_shutdown.append(self._stop)

    # -- lifecycle ----------------------------------------------------------------------------------
    async def _start_flow(self, app: web.Application) -> None:
        if self.flow.config.get("enabled"):
            self.flow.start()

    async def _stop_flow(self, app: web.Application) -> None:
        await self.flow.stop()

    async def _start_ticker(self, app: web.Application) -> None:
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            try:
                self.exchange.tick()
            except Exception:  # pragma: no cover - never let the scheduler die silently
                log.exception("scheduler tick failed")

    async def _stop(self, app: web.Application) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for ws in list(self.ws_connections):
            await ws.close()

    # -- faults -------------------------------------------------------------------------------------
    def add_fault(
        self,
        method: str,
        path: str,
        action: str,
        *,
        status: int = 503,
        delay_s: float = 30.0,
        times: int | None = 1,
    ) -> int:
        """Inject a REST fault (see :class:`Fault`); return its id."""
        if action not in ("status", "timeout", "drop", "delay"):
            raise ValueError(f"unknown fault action {action!r}")
        re.compile(path)
        self._fault_ids += 1
        self.faults.append(Fault(method.upper(), path, action, status, delay_s, times, self._fault_ids))
        self.log_fault(
            "fault_added",
            method=method,
            path=path,
            action=action,
            status=status,
            delay_s=delay_s,
            times=times,
            fault_id=self._fault_ids,
        )
        return self._fault_ids

    def clear_faults(self) -> None:
        """Remove every injected REST fault."""
        self.faults.clear()
        self.log_fault("faults_cleared")

    def log_fault(self, kind: str, **data: Any) -> None:
        """Record an injected fault (or admin change) with wall and exchange timestamps."""
        entry = {
            "ts_ms": int(time.time() * 1000),
            "exchange_ts_ms": self.exchange.clock.now_ms(),
            "kind": kind,
            **data,
        }
        self.fault_log.append(entry)
        log.info("sim fault: %s", entry)

    def _take_fault(self, method: str, sub_path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, sub_path):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # -- middleware ---------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        fault = None
        if path.startswith(API + "/"):
            fault = self._take_fault(request.method, path[len(API) :])
            if fault is not None:
                self.log_fault(
                    f"injected_{fault.action}", method=request.method, path=path, fault_id=fault.fault_id
                )
                if fault.action == "status":
                    return web.json_response(
                        {
                            "error": {
                                "code": "internal_server_error"
                                if fault.status == 500
                                else "service_unavailable",
                                "message": "injected fault",
                                "details": "",
                            }
                        },
                        status=fault.status,
                    )
                if fault.action == "timeout":
                    await asyncio.sleep(fault.delay_s)
                    self._abort(request)
                    return web.Response(status=504)
        try:
            response = await handler(request)
        except BodyError as exc:
            response = web.json_response(
                {"code": "bad_request", "message": "bad request", "details": str(exc)}, status=400
            )
        except _TooMany:
            response = web.json_response({"error": "too many requests"}, status=429)
        except SimError as exc:
            response = web.json_response({"error": exc.body()}, status=exc.status)
        except web.HTTPException as exc:
            if exc.status == 404:
                response = web.json_response(
                    {
                        "error": {
                            "code": "not_found",
                            "message": "not found",
                            "details": f"no route {request.method} {path}",
                        }
                    },
                    status=404,
                )
            elif exc.status == 405:
                response = web.json_response(
                    {
                        "error": {
                            "code": "method_not_allowed",
                            "message": "method not allowed",
                            "details": f"{request.method} {path}",
                        }
                    },
                    status=405,
                )
            else:
                raise
        except Exception:
            log.exception("unexpected error on %s %s", request.method, path)
            response = web.json_response(
                {
                    "error": {
                        "code": "internal_server_error",
                        "message": "internal server error",
                        "details": "",
                    }
                },
                status=500,
            )
        if fault is not None and fault.action == "drop":
            self._abort(request)
            return response
        if fault is not None and fault.action == "delay":
            await asyncio.sleep(fault.delay_s)
        return response

    @staticmethod
    def _abort(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort() if hasattr(transport, "abort") else transport.close()

    # -- auth, rate limits, bodies --------------------------------------------------------------------
    def _user(
        self,
        request: web.Request,
        *,
        units: int = 1,
        exchange_index: int | None = None,
        batch: bool = False,
        charge: bool = True,
    ) -> str:
        user_id = self.keys.verify(
            request.headers, request.method, request.path, self.exchange.clock.now_ms()
        )
        if charge:
            self._charge(request, user_id, units, exchange_index, batch)
        return user_id

    def _charge(
        self,
        request: web.Request,
        user_id: str,
        units: int = 1,
        exchange_index: int | None = None,
        batch: bool = False,
    ) -> None:
        if not self.limiter.admit(user_id, request.method, request.path, units, exchange_index, batch):
            raise _TooMany()

    def _optional_user(self, request: web.Request) -> str | None:
        if not any(
            h in request.headers
            for h in ("KALSHI-ACCESS-KEY", "KALSHI-ACCESS-SIGNATURE", "KALSHI-ACCESS-TIMESTAMP")
        ):
            return None
        return self._user(request)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw:
            raise BodyError("request body is empty; a JSON object is required")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BodyError(f"request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BodyError("request body must be a JSON object")
        return body

    # -- routes -------------------------------------------------------------------------------------
    def _routes(self) -> None:
        r = self.app.router
        g = API
        r.add_get(g + "/exchange/status", self.exchange_status)
        r.add_get(g + "/exchange/schedule", self.exchange_schedule)
        r.add_get(g + "/exchange/user_data_timestamp", self.user_data_timestamp)
        r.add_get(g + "/account/limits", self.account_limits)
        r.add_get(g + "/account/endpoint_costs", self.endpoint_costs)
        r.add_get(g + "/markets", self.get_markets)
        r.add_get(g + "/markets/trades", self.get_trades)
        r.add_get(g + "/markets/orderbooks", self.get_orderbooks)
        r.add_get(g + "/markets/{ticker}", self.get_market)
        r.add_get(g + "/markets/{ticker}/orderbook", self.get_orderbook)
        r.add_get(g + "/events", self.get_events)
        r.add_get(g + "/events/{event_ticker}", self.get_event)
        r.add_get(g + "/series", self.get_series_list)
        r.add_get(g + "/series/{series_ticker}", self.get_series)
        r.add_get(g + "/portfolio/balance", self.get_balance)
        r.add_get(g + "/portfolio/positions", self.get_positions)
        r.add_get(g + "/portfolio/fills", self.get_fills)
        r.add_get(g + "/portfolio/settlements", self.get_settlements)
        r.add_post(g + "/portfolio/subaccounts", self.create_subaccount)
        r.add_get(g + "/portfolio/subaccounts/balances", self.subaccount_balances)
        r.add_post(g + "/portfolio/subaccounts/transfer", self.subaccount_transfer)
        # orders: reads
        r.add_get(g + "/portfolio/orders", self.get_orders)
        r.add_get(g + "/portfolio/orders/queue_positions", self.queue_positions)
        r.add_get(g + "/portfolio/orders/{order_id}", self.get_order)
        r.add_get(g + "/portfolio/orders/{order_id}/queue_position", self.queue_position)
        # orders: V2 writes
        r.add_post(g + "/portfolio/events/orders", self.create_order)
        r.add_delete(g + "/portfolio/events/orders", self.cancel_all)
        r.add_post(g + "/portfolio/events/orders/batched", self.batch_create)
        r.add_delete(g + "/portfolio/events/orders/batched", self.batch_cancel)
        r.add_delete(g + "/portfolio/events/orders/{order_id}", self.cancel_order)
        r.add_post(g + "/portfolio/events/orders/{order_id}/amend", self.amend_order)
        r.add_post(g + "/portfolio/events/orders/{order_id}/decrease", self.decrease_order)
        # legacy V1 writes: deprecated
        r.add_post(g + "/portfolio/orders", self.legacy_write)
        r.add_post(g + "/portfolio/orders/batched", self.legacy_write)
        r.add_delete(g + "/portfolio/orders/batched", self.legacy_write)
        r.add_delete(g + "/portfolio/orders/{order_id}", self.legacy_write)
        r.add_post(g + "/portfolio/orders/{order_id}/amend", self.legacy_write)
        r.add_post(g + "/portfolio/orders/{order_id}/decrease", self.legacy_write)
        # order groups
        r.add_get(g + "/portfolio/order_groups", self.get_groups)
        r.add_post(g + "/portfolio/order_groups/create", self.create_group)
        r.add_get(g + "/portfolio/order_groups/{group_id}", self.get_group)
        r.add_delete(g + "/portfolio/order_groups/{group_id}", self.delete_group)
        r.add_put(g + "/portfolio/order_groups/{group_id}/reset", self.reset_group)
        r.add_put(g + "/portfolio/order_groups/{group_id}/trigger", self.trigger_group)
        r.add_put(g + "/portfolio/order_groups/{group_id}/limit", self.limit_group)
        # websocket (part 3 fills in the channels)
        r.add_get(WS_PATH, self.websocket)
        # admin
        r.add_get("/admin/state", self.admin_state)
        r.add_post("/admin/users", self.admin_add_user)
        r.add_post("/admin/tier", self.admin_tier)
        r.add_post("/admin/faults", self.admin_fault)
        r.add_delete("/admin/faults", self.admin_clear_faults)
        r.add_get("/admin/faults/log", self.admin_fault_log)
        r.add_post("/admin/exchange", self.admin_exchange)
        r.add_post("/admin/clock", self.admin_clock)
        r.add_post("/admin/markets/{ticker}/close", self.admin_close)
        r.add_post("/admin/markets/{ticker}/settle", self.admin_settle)
        r.add_post("/admin/markets/{ticker}/settlement_floor", self.admin_settlement_floor)
        r.add_post("/admin/markets/{ticker}/halt", self.admin_halt)
        r.add_get("/admin/arrivals/{user}", self.admin_arrivals)

    # -- exchange / account -------------------------------------------------------------------------
    async def exchange_status(self, request: web.Request) -> web.Response:
        self._optional_user(request)
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

    async def exchange_schedule(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        day = [{"open_time": "00:00", "close_time": "23:59"}]
        week = {
            d: day for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        }
        return web.json_response(
            {
                "schedule": {
                    "standard_hours": [
                        {"start_time": "2026-01-01T00:00:00Z", "end_time": "2030-01-01T00:00:00Z", **week}
                    ],
                    "maintenance_windows": [],
                }
            }
        )

    async def _date_header(self, request: web.Request, response: web.StreamResponse) -> None:
        """Date from the exchange clock, so a shifted clock shows as skew to clients."""
        response.headers["Date"] = email.utils.formatdate(self.exchange.clock.now_ns() / 1e9, usegmt=True)

    async def user_data_timestamp(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        # The sim serves every read straight from the engine, so user data is complete as of
        # the exchange's now (less an optional reported lag, to exercise clients' margins).
        as_of = self.exchange.clock.now_ns() - int(self.user_data_lag_s * 1e9)
        return web.json_response({"as_of_time": wire.iso(as_of)})

    async def account_limits(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        tier, (rr, rc, wr, wc) = self.limiter.limits(user_id)
        return web.json_response(
            {
                "usage_tier": tier,
                "read": {"refill_rate": rr, "bucket_capacity": rc},
                "write": {"refill_rate": wr, "bucket_capacity": wc},
                "grants": [{"exchange_instance": "event_contract", "level": tier, "source": "manual"}],
            }
        )

    async def endpoint_costs(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        return web.json_response(
            {
                "default_cost": DEFAULT_COST,
                "endpoint_costs": [{"method": m, "path": p, "cost": c} for m, p, c in ENDPOINT_COSTS],
            }
        )

    # -- market data --------------------------------------------------------------------------------
    async def get_markets(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        q = request.query
        markets = list(self.exchange.markets.values())
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
        return web.json_response({"markets": [wire.market_json(m) for m in page], "cursor": cursor})

    async def get_market(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        return web.json_response(
            {"market": wire.market_json(self.exchange.market(request.match_info["ticker"]))}
        )

    async def get_orderbook(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        market = self.exchange.market(request.match_info["ticker"])
        depth = query_int(request, "depth", 0, 0, 100) or 0
        return web.json_response({"orderbook_fp": wire.orderbook_json(market, depth)})

    async def get_orderbooks(self, request: web.Request) -> web.Response:
        self._user(request)
        tickers = [t for raw in request.query.getall("tickers", []) for t in raw.split(",") if t]
        if not 1 <= len(tickers) <= 100:
            raise bad_request("tickers: give 1 to 100 market tickers (repeat the parameter)")
        books = [{"ticker": t, "orderbook_fp": wire.orderbook_json(self.exchange.market(t))} for t in tickers]
        return web.json_response({"orderbooks": books})

    async def get_trades(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        ticker = request.query.get("ticker")
        markets = [self.exchange.market(ticker)] if ticker else list(self.exchange.markets.values())
        trades = [t for m in markets for t in m.trades]
        lo, hi = query_int(request, "min_ts"), query_int(request, "max_ts")
        trades = [
            t
            for t in trades
            if (lo is None or t.ts_ns // 10**9 >= lo) and (hi is None or t.ts_ns // 10**9 <= hi)
        ]
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
            "settlement_sources": [{"name": "centbook sim", "url": "http://127.0.0.1/"}],
            "last_updated_ts": wire.iso_s(self.exchange.start_s),
        }
        if nested:
            out["markets"] = [
                wire.market_json(m)
                for m in self.exchange.markets.values()
                if m.event.event_ticker == ev.event_ticker
            ]
        return out

    async def get_events(self, request: web.Request) -> web.Response:
        self._optional_user(request)
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

    async def get_event(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        ev = self.exchange.events.get(request.match_info["event_ticker"])
        if ev is None:
            raise SimError(
                404, "not_found", "not found", f"event {request.match_info['event_ticker']!r} not found"
            )
        markets = [wire.market_json(m) for m in self.exchange.markets.values() if m.event is ev]
        return web.json_response({"event": self._event_json(ev, False), "markets": markets})

    def _series_json(self, s: Any) -> dict[str, Any]:
        return {
            "ticker": s.ticker,
            "frequency": s.frequency,
            "title": s.title,
            "category": s.category,
            "tags": [],
            "settlement_sources": [{"name": "centbook sim", "url": "http://127.0.0.1/"}],
            "contract_url": "",
            "contract_terms_url": "",
            "product_metadata": {},
            "fee_type": s.fee_type,
            "fee_multiplier": s.fee_multiplier,
            "additional_prohibitions": [],
            "volume_fp": format_size(sum(m.volume for m in self.exchange.markets.values() if m.series is s)),
        }

    async def get_series(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        s = self.exchange.series.get(request.match_info["series_ticker"])
        if s is None:
            raise SimError(
                404, "not_found", "not found", f"series {request.match_info['series_ticker']!r} not found"
            )
        return web.json_response({"series": self._series_json(s)})

    async def get_series_list(self, request: web.Request) -> web.Response:
        self._optional_user(request)
        items = list(self.exchange.series.values())
        if request.query.get("category"):
            items = [s for s in items if s.category == request.query["category"]]
        return web.json_response({"series": [self._series_json(s) for s in items]})

    # -- portfolio ----------------------------------------------------------------------------------
    def _subaccount_q(self, request: web.Request, user_id: str, default: int | None = 0) -> int | None:
        sub = query_int(request, "subaccount", default, 0, 63)
        if sub is not None:
            self.exchange.check_subaccount(user_id, sub)
        return sub

    def _shard_q(self, request: web.Request) -> int | None:
        shard = query_int(request, "exchange_index", None, 0, None)
        if shard is not None and shard not in self.exchange.shards:
            raise bad_request(
                f"unknown exchange_index {shard}",
                code="invalid_exchange_index",
                message="invalid exchange index",
            )
        return shard

    async def get_balance(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        sub = self._subaccount_q(request, user_id)
        shard = self._shard_q(request)
        ex = self.exchange
        shards = [shard] if shard is not None else sorted(ex.shards)
        available = {i: ex.account(user_id, sub or 0, i).available_micro for i in shards}
        total = sum(available.values())
        value = 0
        for (uid, s, ticker), pos in ex.positions.items():
            if uid == user_id and s == (sub or 0) and pos.exchange_index in shards and pos.position:
                m = ex.markets[ticker]
                mark = m.last_price_bp if m.last_price_bp is not None else 5000
                value += pos.position * mark if pos.position > 0 else -pos.position * (10000 - mark)
        return web.json_response(
            {
                "balance": total // 10_000,
                "balance_dollars": wire.dollars4(total),
                "portfolio_value": value // 10_000,
                "updated_ts": ex.last_user_data_ns // 1_000_000_000,
                "balance_breakdown": [
                    {"exchange_index": i, "balance": wire.dollars4(v)} for i, v in available.items()
                ],
            }
        )

    async def get_positions(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        sub = self._subaccount_q(request, user_id)
        shard = self._shard_q(request)
        q = request.query
        count_filter = q.get("count_filter")
        if count_filter:
            for word in count_filter.split(","):
                if word not in ("position", "total_traded"):
                    raise bad_request(f"count_filter must be position and/or total_traded, got {word!r}")
        positions = [p for (uid, s, _), p in self.exchange.positions.items() if uid == user_id and s == sub]
        if shard is not None:
            positions = [p for p in positions if p.exchange_index == shard]
        if q.get("ticker"):
            positions = [p for p in positions if p.ticker == q["ticker"]]
        if q.get("event_ticker"):
            wanted = set(q["event_ticker"].split(","))
            positions = [p for p in positions if self.exchange.markets[p.ticker].event.event_ticker in wanted]
        if count_filter and "position" in count_filter and "total_traded" not in count_filter:
            positions = [p for p in positions if p.position != 0]
        elif count_filter:
            positions = [p for p in positions if p.position != 0 or p.total_traded_micro]
        positions.sort(key=lambda p: p.ticker)
        page, cursor = paginate(request, positions)
        return web.json_response(
            {
                "market_positions": [wire.position_json(p) for p in page],
                "event_positions": wire.event_positions_json(self.exchange, page),
                "cursor": cursor,
            }
        )

    async def get_fills(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        sub = self._subaccount_q(request, user_id, None)
        shard = self._shard_q(request)
        q = request.query
        fills = list(self.exchange.users[user_id].fills)
        if sub is not None:
            fills = [f for f in fills if f.subaccount == sub]
        if shard is not None:
            fills = [f for f in fills if f.exchange_index == shard]
        if q.get("ticker"):
            fills = [f for f in fills if f.ticker == q["ticker"]]
        if q.get("order_id"):
            fills = [f for f in fills if f.order_id == q["order_id"]]
        lo, hi = query_int(request, "min_ts"), query_int(request, "max_ts")
        fills = [
            f
            for f in fills
            if (lo is None or f.ts_ns // 10**9 >= lo) and (hi is None or f.ts_ns // 10**9 <= hi)
        ]
        fills.reverse()
        page, cursor = paginate(request, fills)
        return web.json_response({"fills": [wire.fill_json(f) for f in page], "cursor": cursor})

    async def get_settlements(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        sub = self._subaccount_q(request, user_id, None)
        q = request.query
        items = list(self.exchange.users[user_id].settlements)
        if sub is not None:
            items = [s for s in items if s.subaccount == sub]
        if q.get("ticker"):
            items = [s for s in items if s.ticker == q["ticker"]]
        if q.get("event_ticker"):
            items = [s for s in items if s.event_ticker == q["event_ticker"]]
        items.reverse()
        page, cursor = paginate(request, items)
        return web.json_response({"settlements": [wire.settlement_json(s) for s in page], "cursor": cursor})

    async def create_subaccount(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        return web.json_response({"subaccount_number": self.exchange.create_subaccount(user_id)}, status=201)

    async def subaccount_transfer(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        body = await self._body(request)
        transfer_id = str_field(body, "client_transfer_id", required=True) or ""
        from_sub = int_field(body, "from_subaccount", 0)
        to_sub = int_field(body, "to_subaccount", 0)
        amount = int_field(body, "amount_cents", 1)
        if from_sub is None or to_sub is None or amount is None:
            raise SimError(
                400,
                "missing_parameters",
                "missing parameters",
                "from_subaccount, to_subaccount and amount_cents are required",
            )
        shard = int_field(body, "exchange_index", 0) or 0
        if shard not in self.exchange.shards:
            raise bad_request(f"unknown exchange_index {shard}")
        self.exchange.transfer(user_id, transfer_id, from_sub, to_sub, amount * 10_000, shard)
        return web.json_response({})

    async def subaccount_balances(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        ex = self.exchange
        out = []
        for sub in sorted(ex.users[user_id].subaccounts):
            for shard in ex.shards:  # one row per (subaccount, exchange_index), as Kalshi's 3.28
                out.append(
                    {
                        "subaccount_number": sub,
                        "exchange_index": shard,
                        "balance": wire.dollars4(ex.account(user_id, sub, shard).available_micro),
                        "updated_ts": ex.last_user_data_ns // 10**9,
                    }
                )
        return web.json_response({"subaccount_balances": out})

    # -- orders: reads ------------------------------------------------------------------------------
    async def get_orders(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        sub = self._subaccount_q(request, user_id, None)
        shard = self._shard_q(request)
        q = request.query
        orders = list(self.exchange.users[user_id].orders)
        if sub is not None:
            orders = [o for o in orders if o.subaccount == sub]
        if shard is not None:
            orders = [o for o in orders if o.exchange_index == shard]
        if q.get("ticker"):
            orders = [o for o in orders if o.ticker == q["ticker"]]
        if q.get("event_ticker"):
            wanted = set(q["event_ticker"].split(","))
            if len(wanted) > 10:
                raise bad_request("event_ticker accepts at most 10 tickers")
            orders = [o for o in orders if self.exchange.markets[o.ticker].event.event_ticker in wanted]
        status = q.get("status")
        if status:
            if status not in ("resting", "canceled", "executed"):
                raise bad_request(f"status must be resting, canceled or executed, got {status!r}")
            orders = [o for o in orders if o.status == status]
        lo, hi = query_int(request, "min_ts"), query_int(request, "max_ts")
        orders = [
            o
            for o in orders
            if (lo is None or o.created_ns // 10**9 >= lo) and (hi is None or o.created_ns // 10**9 <= hi)
        ]
        orders.reverse()
        page, cursor = paginate(request, orders)
        return web.json_response({"orders": [wire.order_json(o) for o in page], "cursor": cursor})

    async def get_order(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        order = self.exchange.get_order(user_id, request.match_info["order_id"])
        return web.json_response({"order": wire.order_json(order)})

    async def queue_position(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        order = self.exchange.get_order(user_id, request.match_info["order_id"])
        return web.json_response({"queue_position_fp": format_size(self.exchange.queue_position(order))})

    async def queue_positions(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        sub = self._subaccount_q(request, user_id)
        q = request.query
        tickers = {t for t in q.get("market_tickers", "").split(",") if t}
        event = q.get("event_ticker")
        if not tickers and not event:
            raise bad_request("give market_tickers or event_ticker")
        orders = [
            o
            for o in self.exchange.users[user_id].orders
            if o.status == "resting"
            and o.subaccount == sub
            and (
                o.ticker in tickers or (event and self.exchange.markets[o.ticker].event.event_ticker == event)
            )
        ]
        return web.json_response(
            {
                "queue_positions": [
                    {
                        "order_id": o.order_id,
                        "market_ticker": o.ticker,
                        "queue_position_fp": format_size(self.exchange.queue_position(o)),
                    }
                    for o in orders
                ]
            }
        )

    # -- orders: V2 writes --------------------------------------------------------------------------
    def _parse_create(self, body: Any, user_id: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("each order must be a JSON object")
        ticker = str_field(body, "ticker", required=True)
        side = enum_field(body, "side", ("bid", "ask"))
        count = parse_count(required_field(body, "count"), "count")
        price_bp = parse_price(required_field(body, "price"), "price")
        tif = enum_field(body, "time_in_force", ("fill_or_kill", "good_till_canceled", "immediate_or_cancel"))
        stp = enum_field(body, "self_trade_prevention_type", ("taker_at_cross", "maker"))
        client_order_id = str_field(body, "client_order_id") or ""
        if len(client_order_id) > 64:
            raise bad_request("client_order_id must be at most 64 characters")
        exchange_index = body.get("exchange_index")
        if exchange_index is not None:
            int_field(body, "exchange_index", -1)
        return dict(
            ticker=ticker,
            side=side,
            count=count,
            price_bp=price_bp,
            time_in_force=tif,
            stp=stp,
            client_order_id=client_order_id,
            expiration_s=expiration_field(body),
            post_only=bool_field(body, "post_only"),
            reduce_only=bool_field(body, "reduce_only"),
            cancel_on_pause=bool_field(body, "cancel_order_on_pause"),
            order_group_id=str_field(body, "order_group_id"),
            subaccount=int_field(body, "subaccount", 0) or 0,
            exchange_index=self.exchange.route(exchange_index, ticker),
        )

    @staticmethod
    def _fill_summary(out: dict[str, Any], fills: list[Any]) -> None:
        size = sum(f.size for f in fills)
        if size:
            # a volume-weighted average need not sit on the grid: dollars to 6 decimals, rounded
            # half up (FixedPointDollars), as fills at 0.42 x 1 and 0.43 x 2 give "0.426667"
            avg_micro = (sum(f.price_bp * f.size for f in fills) * 200 + size) // (2 * size)
            fee_per = sum(f.fee_micro for f in fills) * 100 // size  # micro per contract
            out["average_fill_price"] = f"{avg_micro // 1_000_000}.{avg_micro % 1_000_000:06d}"
            out["average_fee_paid"] = f"{fee_per // 1_000_000}.{fee_per % 1_000_000:06d}"

    def _create_result(self, order: Order, fills: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "fill_count": format_size(sum(f.size for f in fills)),
            "remaining_count": format_size(order.remaining),
            "ts_ms": order.updated_ns // 1_000_000,
        }
        self._fill_summary(out, fills)
        return out

    async def create_order(self, request: web.Request) -> web.Response:
        user_id = self._user(request, charge=False)
        body = await self._body(request)
        raw_index = body.get("exchange_index")
        self._charge(request, user_id, 1, raw_index if isinstance(raw_index, int) else None)
        params = self._parse_create(body, user_id)
        order, fills = self.exchange.create_order(user_id, **params)
        return web.json_response(self._create_result(order, fills), status=201)

    async def batch_create(self, request: web.Request) -> web.Response:
        user_id = self._user(request, charge=False)
        body = await self._body(request)
        orders = body.get("orders")
        if not isinstance(orders, list) or not orders:
            raise bad_request("orders must be a non-empty array of orders")
        self._charge(request, user_id, len(orders), batch=True)
        results = []
        for item in orders:
            try:
                params = self._parse_create(item, user_id)
                order, fills = self.exchange.create_order(user_id, **params)
                result = self._create_result(order, fills)
                result["error"] = None
            except SimError as exc:
                coid = item.get("client_order_id") if isinstance(item, dict) else None
                result = {
                    "order_id": "",
                    "client_order_id": coid if isinstance(coid, str) else None,
                    "fill_count": None,
                    "remaining_count": None,
                    "ts_ms": None,
                    "error": exc.body(),
                }
            results.append(result)
        return web.json_response({"orders": results}, status=201)

    def _route_existing(self, exchange_index: Any, market_ticker: Any) -> int:
        if market_ticker is not None and not isinstance(market_ticker, str):
            raise bad_request("market_ticker must be a string")
        return self.exchange.route(exchange_index, market_ticker or None)

    async def cancel_order(self, request: web.Request) -> web.Response:
        raw_index = query_int(request, "exchange_index", None, -1, None)
        user_id = self._user(request, exchange_index=raw_index)
        sub = self._subaccount_q(request, user_id)
        shard = self._route_existing(raw_index, request.query.get("market_ticker"))
        order, size = self.exchange.cancel_order(user_id, request.match_info["order_id"], sub or 0, shard)
        return web.json_response(
            {
                "order_id": order.order_id,
                "client_order_id": order.client_order_id,
                "reduced_by": format_size(size),
                "ts_ms": order.updated_ns // 1_000_000,
            }
        )

    async def batch_cancel(self, request: web.Request) -> web.Response:
        user_id = self._user(request, charge=False)
        body = await self._body(request)
        orders = body.get("orders")
        if not isinstance(orders, list) or not orders:
            raise bad_request("orders must be a non-empty array of {order_id, subaccount?, exchange_index?}")
        self._charge(request, user_id, len(orders), batch=True)
        results = []
        for item in orders:
            order_id = item.get("order_id") if isinstance(item, dict) else None
            try:
                if not isinstance(order_id, str) or not order_id:
                    raise SimError(400, "missing_parameters", "missing parameters", "order_id is required")
                sub = int_field(item, "subaccount", 0) or 0
                shard = self._route_existing(item.get("exchange_index"), item.get("market_ticker"))
                order, size = self.exchange.cancel_order(user_id, order_id, sub, shard)
                results.append(
                    {
                        "order_id": order.order_id,
                        "client_order_id": order.client_order_id,
                        "reduced_by": format_size(size),
                        "ts_ms": order.updated_ns // 1_000_000,
                        "error": None,
                    }
                )
            except SimError as exc:
                results.append(
                    {
                        "order_id": order_id if isinstance(order_id, str) else "",
                        "client_order_id": None,
                        "reduced_by": "0.00",
                        "ts_ms": None,
                        "error": exc.body(),
                    }
                )
        return web.json_response({"orders": results})

    async def cancel_all(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        sub = self._subaccount_q(request, user_id, None)
        done = self.exchange.cancel_all(user_id, sub)
        now = self.exchange.clock.now_ms()
        return web.json_response(
            {
                "orders": [
                    {
                        "order_id": o.order_id,
                        "client_order_id": o.client_order_id,
                        "reduced_by": format_size(size),
                        "ts_ms": now,
                        "error": None,
                    }
                    for o, size in done
                ]
            }
        )

    async def amend_order(self, request: web.Request) -> web.Response:
        user_id = self._user(request, charge=False)
        body = await self._body(request)
        raw_index = body.get("exchange_index")
        self._charge(request, user_id, 1, raw_index if isinstance(raw_index, int) else None)
        sub = self._subaccount_q(request, user_id)
        ticker = str_field(body, "ticker", required=True)
        side = enum_field(body, "side", ("bid", "ask"))
        price_bp = parse_price(required_field(body, "price"), "price")
        count = parse_count(required_field(body, "count"), "count")
        if raw_index is not None:
            int_field(body, "exchange_index", -1)
        shard = self.exchange.route(raw_index, ticker)
        order, fills = self.exchange.amend_order(
            user_id,
            request.match_info["order_id"],
            sub or 0,
            shard,
            ticker=ticker or "",
            side=side,
            price_bp=price_bp,
            count=count,
            client_order_id=str_field(body, "client_order_id"),
            updated_client_order_id=str_field(body, "updated_client_order_id"),
        )
        out: dict[str, Any] = {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "remaining_count": format_size(order.remaining),
            "fill_count": format_size(sum(f.size for f in fills)),
            "ts_ms": order.updated_ns // 1_000_000,
        }
        self._fill_summary(out, fills)
        return web.json_response(out)

    async def decrease_order(self, request: web.Request) -> web.Response:
        user_id = self._user(request, charge=False)
        body = await self._body(request)
        raw_index = body.get("exchange_index")
        self._charge(request, user_id, 1, raw_index if isinstance(raw_index, int) else None)
        sub = self._subaccount_q(request, user_id)
        has_by, has_to = body.get("reduce_by") is not None, body.get("reduce_to") is not None
        if has_by == has_to:
            raise bad_request("give exactly one of reduce_by and reduce_to")
        reduce_by = parse_count(body["reduce_by"], "reduce_by") if has_by else None
        reduce_to = parse_count(body["reduce_to"], "reduce_to", allow_zero=True) if has_to else None
        if raw_index is not None:
            int_field(body, "exchange_index", -1)
        shard = self._route_existing(raw_index, body.get("market_ticker"))
        order = self.exchange.decrease_order(
            user_id, request.match_info["order_id"], sub or 0, shard, reduce_by, reduce_to
        )
        return web.json_response(
            {
                "order_id": order.order_id,
                "client_order_id": order.client_order_id,
                "remaining_count": format_size(order.remaining),
                "ts_ms": order.updated_ns // 1_000_000,
            }
        )

    async def legacy_write(self, request: web.Request) -> web.Response:
        self._user(request)
        raise SimError(
            410,
            "deprecated_endpoint",
            "Please switch to the V2 endpoints",
            f"{request.method} {request.path} is deprecated; use /trade-api/v2/portfolio/events/orders",
        )

    # -- order groups -------------------------------------------------------------------------------
    def _group(self, request: web.Request, user_id: str) -> Any:
        return self.exchange.get_group(user_id, request.match_info["group_id"])

    @staticmethod
    def _limit_from(body: dict[str, Any]) -> int:
        if body.get("contracts_limit_fp") is not None:
            return parse_count(body["contracts_limit_fp"], "contracts_limit_fp")
        limit = int_field(body, "contracts_limit", 1)
        if limit is None:
            raise SimError(
                400,
                "missing_parameters",
                "missing parameters",
                "contracts_limit or contracts_limit_fp is required",
            )
        return limit * 100

    async def create_group(self, request: web.Request) -> web.Response:
        user_id = self._user(request, charge=False)
        body = await self._body(request)
        # the user's write bucket, never a shard's: Kalshi bills only single order creates,
        # cancels, amends and decreases to the per-shard buckets
        self._charge(request, user_id, 1, None)
        limit = self._limit_from(body)
        sub = int_field(body, "subaccount", 0) or 0
        shard = self.exchange.route(int_field(body, "exchange_index", 0), None)
        group = self.exchange.create_group(user_id, limit, sub, shard)
        return web.json_response({"order_group_id": group.order_group_id, "subaccount": sub}, status=201)

    def _group_json(self, group: Any) -> dict[str, Any]:
        return {
            "id": group.order_group_id,
            "contracts_limit_fp": format_size(group.limit),
            "is_auto_cancel_enabled": not group.triggered,
            "exchange_index": group.exchange_index,
        }

    async def get_groups(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        sub = self._subaccount_q(request, user_id, None)
        groups = [
            g for g in self.exchange.users[user_id].groups.values() if sub is None or g.subaccount == sub
        ]
        return web.json_response({"order_groups": [self._group_json(g) for g in groups]})

    async def get_group(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        group = self._group(request, user_id)
        return web.json_response(
            {
                "is_auto_cancel_enabled": not group.triggered,
                "contracts_limit_fp": format_size(group.limit),
                "orders": [o.order_id for o in self.exchange.group_orders(group) if o.status == "resting"],
            }
        )

    async def delete_group(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        self.exchange.delete_group(self._group(request, user_id))
        return web.json_response({})

    async def reset_group(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        self.exchange.reset_group(self._group(request, user_id))
        return web.json_response({})

    async def trigger_group(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        self.exchange.trigger_group(self._group(request, user_id))
        return web.json_response({})

    async def limit_group(self, request: web.Request) -> web.Response:
        user_id = self._user(request)
        group = self._group(request, user_id)
        body = await self._body(request)
        self.exchange.set_group_limit(group, self._limit_from(body))
        return web.json_response({})

    # -- websocket: Kalshi's channels live in centbook.sim.stream --------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        return await self.streams.handle(request)

    # -- admin --------------------------------------------------------------------------------------
    async def _admin_body(self, request: web.Request) -> dict[str, Any]:
        return await self._body(request) if request.can_read_body else {}

    def _admin_user(self, name: str) -> str:
        user = self.exchange.users_by_name.get(name)
        if user is None:
            raise SimError(404, "not_found", "not found", f"user {name!r} not found")
        return user.user_id

    async def admin_state(self, request: web.Request) -> web.Response:
        ex = self.exchange
        return web.json_response(
            {
                "users": {
                    u.name: {"user_id": u.user_id, "tier": self.limiter.limits(u.user_id)[0]}
                    for u in ex.users.values()
                },
                "shards": {str(i): s for i, s in ex.shards.items()},
                "clock_offset_ns": ex.clock.offset_ns,
                "markets": {t: m.status for t, m in ex.markets.items()},
            }
        )

    async def admin_add_user(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        name = str_field(body, "name", required=True) or ""
        tier = body.get("tier", "basic")
        funding = body.get("funding", {})
        if tier not in self.limiter.tiers:
            raise bad_request(f"unknown tier {tier!r}; known: {', '.join(self.limiter.tiers)}")
        try:
            user_id = self.exchange.add_user(name, tier=tier, funding=funding)
            self.limiter.set_tier(user_id, tier)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        key_id, private_pem = self.keys.create(user_id)
        self.log_fault("user_added", name=name, tier=tier)
        return web.json_response(
            {"user_id": user_id, "api_key_id": key_id, "private_key_pem": private_pem}, status=201
        )

    async def admin_tier(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        user_id = self._admin_user(str_field(body, "user", required=True) or "")
        try:
            self.limiter.set_tier(user_id, str_field(body, "tier", required=True) or "")
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        self.log_fault("tier_set", user=body["user"], tier=body["tier"])
        return web.json_response({})

    async def admin_fault(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        try:
            fid = self.add_fault(
                body.get("method", "*"),
                str_field(body, "path", required=True) or "",
                str_field(body, "action", required=True) or "",
                status=int(body.get("status", 503)),
                delay_s=float(body.get("delay_s", 30.0)),
                times=body.get("times", 1),
            )
        except (ValueError, re.error) as exc:
            raise bad_request(str(exc)) from None
        return web.json_response({"fault_id": fid}, status=201)

    async def admin_clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.json_response({})

    async def admin_fault_log(self, request: web.Request) -> web.Response:
        return web.json_response({"log": self.fault_log})

    async def admin_exchange(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        shard = int_field(body, "exchange_index", 0) or 0
        trading = body.get("trading_active")
        exchange = body.get("exchange_active")
        self.exchange.set_shard_status(shard, trading_active=trading, exchange_active=exchange)
        self.log_fault(
            "exchange_status", exchange_index=shard, trading_active=trading, exchange_active=exchange
        )
        return web.json_response(self.exchange.shards[shard])

    async def admin_clock(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        shift = body.get("shift_s")
        if isinstance(shift, bool) or not isinstance(shift, (int, float)):
            raise bad_request("shift_s must be a number of seconds")
        self.exchange.clock.shift(shift)
        self.log_fault("clock_shifted", shift_s=shift, offset_ns=self.exchange.clock.offset_ns)
        return web.json_response({"offset_ns": self.exchange.clock.offset_ns})

    async def admin_close(self, request: web.Request) -> web.Response:
        self.exchange.close_market(request.match_info["ticker"])
        self.log_fault("market_closed", ticker=request.match_info["ticker"])
        return web.json_response({})

    async def admin_settle(self, request: web.Request) -> web.Response:
        """``{"result": "yes" | "no" | "scalar", "settlement_value": "0.5000"}`` (value optional
        with yes/no, required with scalar)."""
        body = await self._admin_body(request)
        value = body.get("settlement_value")
        value_bp = parse_price(value, "settlement_value") if value is not None else None
        try:
            self.exchange.settle_market(request.match_info["ticker"], body.get("result", ""), value_bp)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        self.log_fault(
            "market_settled", ticker=request.match_info["ticker"], result=body.get("result"), value=value
        )
        return web.json_response({})

    async def admin_settlement_floor(self, request: web.Request) -> web.Response:
        """``{"floor": "0.3000"}``: raise or lower a floor market's settlement floor."""
        body = await self._admin_body(request)
        ticker = request.match_info["ticker"]
        floor_bp = parse_price(body.get("floor"), "floor")
        cancelled = self.exchange.set_settlement_floor(ticker, floor_bp)
        self.log_fault("settlement_floor", ticker=ticker, floor=body.get("floor"), cancelled=len(cancelled))
        return web.json_response(
            {
                "settlement_floor_dollars": format_price(floor_bp),
                "cancelled_order_ids": [o.order_id for o in cancelled],
            }
        )

    async def admin_halt(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        halted = body.get("halted", True)
        self.exchange.set_market_halted(request.match_info["ticker"], bool(halted))
        self.log_fault("market_halted", ticker=request.match_info["ticker"], halted=halted)
        return web.json_response({})

    async def admin_arrivals(self, request: web.Request) -> web.Response:
        user_id = self._admin_user(request.match_info["user"])
        return web.json_response(
            {
                "arrivals": [
                    {
                        "monotonic_ns": a.monotonic_ns,
                        "wall_ns": a.wall_ns,
                        "method": a.method,
                        "path": a.path,
                        "cost": a.cost,
                        "bucket": a.bucket,
                        "admitted": a.admitted,
                    }
                    for a in self.limiter.arrivals.get(user_id, [])
                ]
            }
        )


class _TooMany(SimError):
    def __init__(self) -> None:
        super().__init__(429, "too_many_requests", "too many requests")


_SHARD_NAMES = {0: "Default", 1: "Exotics", 2: "Crypto", 3: "Tennis and Baseball"}
