"""The embedded exchange's HTTP face: Kalshi's REST v2 under ``/trade-api/v2``, a WebSocket route,
and ``/admin`` for tests and demos (faults, tiers, pauses, clock, settlement; off unless the
configuration turns it on, and then only with its bearer token).

Facing hostile clients (``docs/hostile-input.md``): every failure is answered in JSON (the error
envelope; Kalshi's top-level shape and the envelope together for an unparseable body, a 413 for
one over 4 MB); bodies are decoded within :mod:`centbook.sim.safejson`'s bounds; a request head
not received whole within ``header_timeout_s`` closes the connection, a body not received whole
within ``body_timeout_s`` gets 408.

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
  guide's ``exchange_index``) are simulated. Not simulated: intra-exchange (cross-shard) transfers,
  RFQ/quotes, block trades, multivariate markets, historical positions and the
  other operations :mod:`~centbook.sim.http.unsimulated` lists (answered with Kalshi's error
  envelope), ``Accept-Language``.

Parts: :class:`SimServer` (the aiohttp app, its middleware for REST faults and error bodies,
the route table and lifecycle) over the route families it holds:
:class:`~centbook.sim.http.markets.MarketRoutes`, :class:`~centbook.sim.http.candles.CandleRoutes`,
:class:`~centbook.sim.http.historical.HistoricalRoutes`, :class:`~centbook.sim.http.calendar.CalendarRoutes`,
:class:`~centbook.sim.http.unsimulated.UnsimulatedRoutes`,
:class:`~centbook.sim.http.account.AccountRoutes`,
:class:`~centbook.sim.http.portfolio.PortfolioRoutes`, :class:`~centbook.sim.http.orders.OrderRoutes`,
:class:`~centbook.sim.http.groups.GroupRoutes` and :class:`~centbook.sim.http.admin.AdminRoutes`,
which share a :class:`~centbook.sim.http.core.HttpCore`; REST faults are
:class:`~centbook.sim.http.faults.FaultInjector`'s.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from centbook.sim.auth import KeyRing
from centbook.sim.config import SERVER_DEFAULTS
from centbook.sim.engine import Exchange
from centbook.sim.errors import SimError
from centbook.sim.flow import Flow
from centbook.sim.http.account import AccountRoutes
from centbook.sim.http.admin import AdminGate, AdminRoutes
from centbook.sim.http.calendar import CalendarRoutes
from centbook.sim.http.candles import CandleRoutes
from centbook.sim.http.core import BodyError, HttpCore, TooManyRequests
from centbook.sim.http.faults import Fault, FaultInjector
from centbook.sim.http.groups import GroupRoutes
from centbook.sim.http.historical import HistoricalRoutes
from centbook.sim.http.markets import MarketRoutes
from centbook.sim.http.orders import OrderRoutes
from centbook.sim.http.portfolio import PortfolioRoutes
from centbook.sim.http.unsimulated import UnsimulatedRoutes
from centbook.sim.ratelimit import RateLimiter
from centbook.sim.ws import StreamHub

__all__ = ["API", "WS_PATH", "BodyError", "Fault", "SimServer"]

log = logging.getLogger("centbook.sim")

API = "/trade-api/v2"
WS_PATH = "/trade-api/ws/v2"

#: the route families of :class:`SimServer`, by attribute name
ROUTE_FAMILIES = (
    "markets", "candles", "historical", "calendar", "account", "portfolio", "orders", "groups", "admin",
    "unsimulated",
)


class SimServer:
    """The aiohttp application of one embedded exchange, with its engine, keys, limits and faults.

    The route handlers live on the family parts named in :data:`ROUTE_FAMILIES`; each is also
    reachable as an attribute of the server under its handler name (``server.create_order``).

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
        #: what the route families share: signature checks, metering, bodies
        self.core = HttpCore(exchange, keys, limiter)
        #: REST faults and the fault log
        self.injector = FaultInjector(exchange)
        self.faults: list[Fault] = self.injector.faults
        self.fault_log: list[dict[str, Any]] = self.injector.fault_log
        self.markets = MarketRoutes(self.core)
        self.candles = CandleRoutes(self.core)
        self.historical = HistoricalRoutes(self.core)
        self.calendar = CalendarRoutes(self.core)
        self.unsimulated = UnsimulatedRoutes(self.core)
        self.account = AccountRoutes(self.core)
        self.portfolio = PortfolioRoutes(self.core)
        self.orders = OrderRoutes(self.core)
        self.groups = GroupRoutes(self.core)
        self.admin = AdminRoutes(self.core, self.injector)
        #: ``config["server"]`` over :data:`~centbook.sim.config.SERVER_DEFAULTS`
        self.settings: dict[str, Any] = {**SERVER_DEFAULTS, **exchange.config.get("server", {})}
        #: whether ``/admin`` answers, and its token
        self.admin_gate = AdminGate(self.settings["admin"], self.settings["admin_token"])
        self.ws_connections: set[web.WebSocketResponse] = set()
        #: the REST requests received as ``(method, path under the API, query pairs, body)``
        #: once a test sets it to a list (conformance checks of clients); None records nothing
        self.recorded: list[tuple[str, str, list[tuple[str, str]], bytes]] | None = None
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

    def runner(self) -> web.AppRunner:
        """Return an :class:`aiohttp.web.AppRunner` of the app that times out idle or half-sent
        request heads after ``header_timeout_s``."""
        # aiohttp's keep-alive timer runs from the connection's start (and from each response)
        # until a whole request head has arrived, whatever bytes trickle in meanwhile
        return web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=float(self.settings["header_timeout_s"]),
        )

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

    # -- route handlers by their names on the server ------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # reached only for names the server itself lacks: the handlers of its route families
        if not name.startswith("_"):
            for family in ROUTE_FAMILIES:
                handler = getattr(self.__dict__.get(family), name, None)
                if callable(handler):
                    return handler
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def user_data_lag_s(self) -> float:
        """Seconds ``/exchange/user_data_timestamp`` reports user data as lagging behind the clock."""
        return self.core.user_data_lag_s

    @user_data_lag_s.setter
    def user_data_lag_s(self, seconds: float) -> None:
        self.core.user_data_lag_s = seconds

    # -- faults -------------------------------------------------------------------------------------
    def add_fault(self, *args: Any, **kwargs: Any) -> int:
        """Inject a REST fault; see :meth:`FaultInjector.add_fault`. Return its id."""
        return self.injector.add_fault(*args, **kwargs)

    def clear_faults(self) -> None:
        """Remove every injected REST fault."""
        self.injector.clear_faults()

    def log_fault(self, kind: str, **data: Any) -> None:
        """Record an injected fault (or admin change) with wall and exchange timestamps."""
        self.injector.log_fault(kind, **data)

    # -- middleware ---------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        fault = None
        if path.startswith(API + "/"):
            fault = self.injector.take_fault(request.method, path[len(API) :])
            if fault is not None:
                self.log_fault(
                    f"injected_{fault.action}", method=request.method, path=path, fault_id=fault.fault_id
                )
                if fault.action == "status":
                    return _error(
                        fault.status,
                        "internal_server_error" if fault.status == 500 else "service_unavailable",
                        "injected fault",
                    )
                if fault.action == "timeout":
                    await asyncio.sleep(fault.delay_s)
                    self._abort(request)
                    return web.Response(status=504)
        try:
            if path == "/admin" or path.startswith("/admin/"):
                self.admin_gate.check(request)
            response = await handler(request)
        except Exception as exc:  # every failure is answered in Kalshi's shapes, never as text
            response = self._error_response(request, exc)
        if self.recorded is not None and path.startswith(API + "/"):
            # the handler has read any body: read() now returns aiohttp's cached bytes
            body = await request.read() if request.body_exists else b""
            self.recorded.append((request.method, path[len(API) :], list(request.query.items()), body))
        if fault is not None and fault.action == "drop":
            self._abort(request)
            return response
        if fault is not None and fault.action == "delay":
            await asyncio.sleep(fault.delay_s)
        return response

    @staticmethod
    def _error_response(request: web.Request, exc: Exception) -> web.Response:
        """Answer a handler's exception: Kalshi's error envelope, or its shapes for 400 and 429."""
        if isinstance(exc, BodyError):
            # Kalshi answers an unparseable body with a top-level error (PROTOCOL.md 4.9); the same
            # triple is repeated in the ``error`` envelope every other rejection uses, so a client
            # reading either shape finds the code
            inner = {"code": "bad_request", "message": "bad request", "details": str(exc)}
            return web.json_response({**inner, "error": inner}, status=400)
        if isinstance(exc, TooManyRequests):
            return web.json_response({"error": "too many requests"}, status=429)
        if isinstance(exc, SimError):
            return web.json_response({"error": exc.body()}, status=exc.status)
        if isinstance(exc, web.HTTPException):
            if exc.status == 404:
                return _error(404, "not_found", "not found", f"no route {request.method} {request.path}")
            if exc.status == 405:
                return _error(
                    405, "method_not_allowed", "method not allowed", f"{request.method} {request.path}"
                )
            code = (exc.reason or "error").lower().replace(" ", "_")
            return _error(exc.status, code, (exc.reason or "error").lower(), exc.text or "")
        log.exception("unexpected error on %s %s", request.method, request.path, exc_info=exc)
        return _error(500, "internal_server_error", "internal server error")

    @staticmethod
    def _abort(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort() if hasattr(transport, "abort") else transport.close()

    # -- routes ------------------------------------------------------------------------------------
    def _routes(self) -> None:
        r = self.app.router
        g = API
        self.unsimulated.add_routes(r, g)
        r.add_get(g + "/exchange/status", self.markets.exchange_status)
        r.add_get(g + "/exchange/schedule", self.calendar.schedule)
        r.add_get(g + "/exchange/announcements", self.calendar.announcements)
        r.add_get(g + "/series/fee_changes", self.calendar.fee_changes)
        r.add_get(g + "/incentive_programs", self.calendar.incentive_programs)
        r.add_get(g + "/exchange/user_data_timestamp", self.markets.user_data_timestamp)
        r.add_get(g + "/account/limits", self.account.account_limits)
        r.add_get(g + "/account/endpoint_costs", self.account.endpoint_costs)
        r.add_get(g + "/markets", self.markets.get_markets)
        r.add_get(g + "/markets/trades", self.markets.get_trades)
        r.add_get(g + "/markets/orderbooks", self.markets.get_orderbooks)
        r.add_get(g + "/markets/candlesticks", self.candles.batch_candles)
        r.add_get(g + "/series/{series_ticker}/markets/{ticker}/candlesticks", self.candles.market_candles)
        r.add_get(g + "/series/{series_ticker}/events/{ticker}/candlesticks", self.candles.event_candles)
        r.add_get(g + "/markets/{ticker}", self.markets.get_market)
        r.add_get(g + "/markets/{ticker}/orderbook", self.markets.get_orderbook)
        r.add_get(g + "/events", self.markets.get_events)
        r.add_get(g + "/events/{event_ticker}", self.markets.get_event)
        r.add_get(g + "/events/{event_ticker}/metadata", self.markets.get_event_metadata)
        r.add_get(g + "/series", self.markets.get_series_list)
        r.add_get(g + "/series/{series_ticker}", self.markets.get_series)
        r.add_get(g + "/historical/cutoff", self.historical.cutoff)
        r.add_get(g + "/historical/markets", self.historical.markets)
        r.add_get(g + "/historical/markets/{ticker}", self.historical.market)
        r.add_get(g + "/historical/markets/{ticker}/candlesticks", self.historical.market_candles)
        r.add_get(g + "/historical/trades", self.historical.trades)
        r.add_get(g + "/historical/fills", self.historical.fills)
        r.add_get(g + "/historical/orders", self.historical.orders)
        r.add_get(g + "/portfolio/balance", self.portfolio.get_balance)
        r.add_get(g + "/portfolio/positions", self.portfolio.get_positions)
        r.add_get(g + "/portfolio/fills", self.portfolio.get_fills)
        r.add_get(g + "/portfolio/settlements", self.portfolio.get_settlements)
        r.add_post(g + "/portfolio/subaccounts", self.portfolio.create_subaccount)
        r.add_get(g + "/portfolio/subaccounts/balances", self.portfolio.subaccount_balances)
        r.add_get(
            g + "/portfolio/summary/total_resting_order_value", self.portfolio.total_resting_order_value
        )
        r.add_post(g + "/portfolio/subaccounts/transfer", self.portfolio.subaccount_transfer)
        # orders: reads
        r.add_get(g + "/portfolio/orders", self.orders.get_orders)
        r.add_get(g + "/portfolio/orders/queue_positions", self.orders.queue_positions)
        r.add_get(g + "/portfolio/orders/{order_id}", self.orders.get_order)
        r.add_get(g + "/portfolio/orders/{order_id}/queue_position", self.orders.queue_position)
        # orders: V2 writes
        r.add_post(g + "/portfolio/events/orders", self.orders.create_order)
        r.add_delete(g + "/portfolio/events/orders", self.orders.cancel_all)
        r.add_post(g + "/portfolio/events/orders/batched", self.orders.batch_create)
        r.add_delete(g + "/portfolio/events/orders/batched", self.orders.batch_cancel)
        r.add_delete(g + "/portfolio/events/orders/{order_id}", self.orders.cancel_order)
        r.add_post(g + "/portfolio/events/orders/{order_id}/amend", self.orders.amend_order)
        r.add_post(g + "/portfolio/events/orders/{order_id}/decrease", self.orders.decrease_order)
        # legacy V1 writes: deprecated
        r.add_post(g + "/portfolio/orders", self.orders.legacy_write)
        r.add_post(g + "/portfolio/orders/batched", self.orders.legacy_write)
        r.add_delete(g + "/portfolio/orders/batched", self.orders.legacy_write)
        r.add_delete(g + "/portfolio/orders/{order_id}", self.orders.legacy_write)
        r.add_post(g + "/portfolio/orders/{order_id}/amend", self.orders.legacy_write)
        r.add_post(g + "/portfolio/orders/{order_id}/decrease", self.orders.legacy_write)
        # order groups
        r.add_get(g + "/portfolio/order_groups", self.groups.get_groups)
        r.add_post(g + "/portfolio/order_groups/create", self.groups.create_group)
        r.add_get(g + "/portfolio/order_groups/{group_id}", self.groups.get_group)
        r.add_delete(g + "/portfolio/order_groups/{group_id}", self.groups.delete_group)
        r.add_put(g + "/portfolio/order_groups/{group_id}/reset", self.groups.reset_group)
        r.add_put(g + "/portfolio/order_groups/{group_id}/trigger", self.groups.trigger_group)
        r.add_put(g + "/portfolio/order_groups/{group_id}/limit", self.groups.limit_group)
        # websocket (part 3 fills in the channels)
        r.add_get(WS_PATH, self.websocket)
        # admin
        r.add_get("/admin/state", self.admin.admin_state)
        r.add_post("/admin/users", self.admin.admin_add_user)
        r.add_post("/admin/tier", self.admin.admin_tier)
        r.add_post("/admin/faults", self.admin.admin_fault)
        r.add_delete("/admin/faults", self.admin.admin_clear_faults)
        r.add_get("/admin/faults/log", self.admin.admin_fault_log)
        r.add_post("/admin/exchange", self.admin.admin_exchange)
        r.add_post("/admin/clock", self.admin.admin_clock)
        r.add_post("/admin/events", self.admin.admin_create_event)
        r.add_post("/admin/markets", self.admin.admin_create_market)
        r.add_post("/admin/markets/{ticker}/metadata", self.admin.admin_market_metadata)
        r.add_post("/admin/markets/{ticker}/close", self.admin.admin_close)
        r.add_post("/admin/markets/{ticker}/settle", self.admin.admin_settle)
        r.add_post("/admin/markets/{ticker}/settlement_floor", self.admin.admin_settlement_floor)
        r.add_post("/admin/markets/{ticker}/halt", self.admin.admin_halt)
        r.add_get("/admin/arrivals/{user}", self.admin.admin_arrivals)

    async def _date_header(self, request: web.Request, response: web.StreamResponse) -> None:
        """Date from the exchange clock, so a shifted clock shows as skew to clients."""
        response.headers["Date"] = email.utils.formatdate(self.exchange.clock.now_ns() / 1e9, usegmt=True)

    # -- websocket: Kalshi's channels live in centbook.sim.stream --------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        return await self.streams.handle(request)


def _error(status: int, code: str, message: str, details: str = "") -> web.Response:
    """Return Kalshi's error envelope ``{"error": {code, message, details}}`` with ``status``."""
    return web.json_response({"error": {"code": code, "message": message, "details": details}}, status=status)
