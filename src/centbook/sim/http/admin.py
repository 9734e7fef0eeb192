"""The sim's ``/admin`` routes for tests and demos: users, tiers, REST faults, shard status, the
clock, market close, settle, floor and halt, and request arrivals.

The API is off unless the configuration turns it on (``config["server"]["admin"]``, ``centbook sim
--admin``); when on, every call needs ``Authorization: Bearer <token>``.

Parts: :class:`AdminGate` (whether a request may reach ``/admin``) and :class:`AdminRoutes`.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any

from aiohttp import web

from centbook.fixed import format_price
from centbook.sim.errors import SimError, bad_request
from centbook.sim.http.core import HttpCore, RouteFamily
from centbook.sim.http.faults import FaultInjector
from centbook.sim.http.params import int_field, parse_price, str_field

__all__ = ["AdminGate", "AdminRoutes"]


class AdminGate:
    """Whether the ``/admin`` API is on, and the token each call must bear.

    Parameters
    ----------
    enabled : bool
        False answers every ``/admin`` path 404 as if it did not exist.
    token : str or None
        The bearer token; None draws a random one (read it from :attr:`token`).
    """

    def __init__(self, enabled: bool, token: str | None = None) -> None:
        self.enabled = bool(enabled)
        self.token = (token or secrets.token_urlsafe(24)) if self.enabled else None

    @property
    def headers(self) -> dict[str, str]:
        """The header an admin call sends (empty when the API is off)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def check(self, request: web.Request) -> None:
        """Let an ``/admin`` request through, or raise 404 (API off) or 401 (no or wrong token)."""
        if not self.enabled or self.token is None:
            raise SimError(
                404, "not_found", "not found", "the admin API is off; start the sim with --admin to use it"
            )
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise SimError(
                401,
                "authentication_error",
                "authentication error",
                "the admin API needs the header Authorization: Bearer <token>",
            )


class AdminRoutes(RouteFamily):
    """Handlers of ``/admin/*``; they change the sim and log each change as a fault entry.

    Parameters
    ----------
    core : HttpCore
        What the route families share.
    injector : FaultInjector
        The REST faults and the fault log.
    """

    def __init__(self, core: HttpCore, injector: FaultInjector) -> None:
        super().__init__(core)
        self.keys = core.keys
        self.limiter = core.limiter
        self.injector = injector

    async def _admin_body(self, request: web.Request) -> dict[str, Any]:
        return await self.core.body(request) if request.can_read_body else {}

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
        self.injector.log_fault("user_added", name=name, tier=tier)
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
        self.injector.log_fault("tier_set", user=body["user"], tier=body["tier"])
        return web.json_response({})

    async def admin_fault(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        try:
            fid = self.injector.add_fault(
                body.get("method", "*"),
                str_field(body, "path", required=True) or "",
                str_field(body, "action", required=True) or "",
                status=int(body.get("status", 503)),
                delay_s=float(body.get("delay_s", 30.0)),
                times=body.get("times", 1),
            )
        except (TypeError, ValueError, re.error) as exc:
            raise bad_request(str(exc)) from None
        return web.json_response({"fault_id": fid}, status=201)

    async def admin_clear_faults(self, request: web.Request) -> web.Response:
        self.injector.clear_faults()
        return web.json_response({})

    async def admin_fault_log(self, request: web.Request) -> web.Response:
        return web.json_response({"log": self.injector.fault_log})

    async def admin_exchange(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        shard = int_field(body, "exchange_index", 0) or 0
        trading = body.get("trading_active")
        exchange = body.get("exchange_active")
        self.exchange.set_shard_status(shard, trading_active=trading, exchange_active=exchange)
        self.injector.log_fault(
            "exchange_status", exchange_index=shard, trading_active=trading, exchange_active=exchange
        )
        return web.json_response(self.exchange.shards[shard])

    async def admin_clock(self, request: web.Request) -> web.Response:
        body = await self._admin_body(request)
        shift = body.get("shift_s")
        if isinstance(shift, bool) or not isinstance(shift, (int, float)):
            raise bad_request("shift_s must be a number of seconds")
        self.exchange.clock.shift(shift)
        self.injector.log_fault("clock_shifted", shift_s=shift, offset_ns=self.exchange.clock.offset_ns)
        return web.json_response({"offset_ns": self.exchange.clock.offset_ns})

    async def admin_close(self, request: web.Request) -> web.Response:
        self.exchange.close_market(request.match_info["ticker"])
        self.injector.log_fault("market_closed", ticker=request.match_info["ticker"])
        return web.json_response({})

    async def admin_create_event(self, request: web.Request) -> web.Response:
        """A config ``events`` entry: lists the event and announces it (``event_lifecycle``)."""
        body = await self._admin_body(request)
        try:
            self.exchange.add_event(body)
        except (KeyError, ValueError) as exc:
            raise bad_request(f"event: {exc}") from None
        return web.json_response({}, status=201)

    async def admin_create_market(self, request: web.Request) -> web.Response:
        """A config ``markets`` entry: lists the market and announces it (``created``)."""
        body = await self._admin_body(request)
        try:
            self.exchange.add_market(body)
        except (KeyError, ValueError) as exc:
            raise bad_request(f"market: {exc}") from None
        self.exchange.tick()  # opens it now when its open time has come
        return web.json_response({}, status=201)

    async def admin_market_metadata(self, request: web.Request) -> web.Response:
        """Titles and strikes to change (``metadata_updated``)."""
        body = await self._admin_body(request)
        try:
            self.exchange.update_market_metadata(request.match_info["ticker"], **body)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
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
        self.injector.log_fault(
            "market_settled", ticker=request.match_info["ticker"], result=body.get("result"), value=value
        )
        return web.json_response({})

    async def admin_settlement_floor(self, request: web.Request) -> web.Response:
        """``{"floor": "0.3000"}``: raise or lower a floor market's settlement floor."""
        body = await self._admin_body(request)
        ticker = request.match_info["ticker"]
        floor_bp = parse_price(body.get("floor"), "floor")
        cancelled = self.exchange.set_settlement_floor(ticker, floor_bp)
        self.injector.log_fault(
            "settlement_floor", ticker=ticker, floor=body.get("floor"), cancelled=len(cancelled)
        )
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
        self.injector.log_fault("market_halted", ticker=request.match_info["ticker"], halted=halted)
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
