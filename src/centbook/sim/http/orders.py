"""The sim's order routes: V2 create, amend, decrease, cancel and batch writes, cancel-all, the
deprecated V1 writes, and order and queue-position reads.

Parts: :class:`OrderRoutes` (the handlers, create-body parsing and the fill summary of a
write's answer).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from centbook.book import OrderSide
from centbook.fixed import format_size
from centbook.sim import wire
from centbook.sim.engine import Order
from centbook.sim.errors import SimError, bad_request
from centbook.sim.http.core import RouteFamily
from centbook.sim.http.params import (
    bool_field,
    enum_field,
    expiration_field,
    in_time_window,
    int_field,
    paginate,
    parse_count,
    parse_price,
    query_int,
    required_field,
    str_field,
)

__all__ = ["OrderRoutes"]


class OrderRoutes(RouteFamily):
    """Handlers of ``/portfolio/orders*`` (reads, deprecated writes) and ``/portfolio/events/orders*``."""

    async def get_orders(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        sub = self.core.subaccount_q(request, user_id, None)
        shard = self.core.shard_q(request)
        q = request.query
        history, cut = self.exchange.history, self.exchange.history.cutoff_ns()
        orders = [o for o in self.exchange.users[user_id].orders if not history.order(o, cut)]
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
        orders = in_time_window(request, orders, "created_ns")
        orders.reverse()
        page, cursor = paginate(request, orders)
        return web.json_response({"orders": [wire.order_json(o) for o in page], "cursor": cursor})

    async def get_order(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        order = self.exchange.get_order(user_id, request.match_info["order_id"])
        return web.json_response({"order": wire.order_json(order)})

    async def queue_position(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        order = self.exchange.get_order(user_id, request.match_info["order_id"])
        return web.json_response({"queue_position_fp": format_size(self.exchange.queue_position(order))})

    async def queue_positions(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        sub = self.core.subaccount_q(request, user_id)
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

    def _parse_create(self, body: Any, user_id: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("each order must be a JSON object")
        ticker = str_field(body, "ticker", required=True)
        side = OrderSide(enum_field(body, "side", ("bid", "ask")))
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
        user_id = self.core.user(request, charge=False)
        body = await self.core.body(request)
        raw_index = body.get("exchange_index")
        self.core.charge(request, user_id, 1, raw_index if isinstance(raw_index, int) else None)
        params = self._parse_create(body, user_id)
        order, fills = self.exchange.create_order(user_id, **params)
        return web.json_response(self._create_result(order, fills), status=201)

    async def batch_create(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request, charge=False)
        body = await self.core.body(request)
        orders = body.get("orders")
        if not isinstance(orders, list) or not orders:
            raise bad_request("orders must be a non-empty array of orders")
        self.core.charge(request, user_id, len(orders), batch=True)
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
        user_id = self.core.user(request, exchange_index=raw_index)
        sub = self.core.subaccount_q(request, user_id)
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
        user_id = self.core.user(request, charge=False)
        body = await self.core.body(request)
        orders = body.get("orders")
        if not isinstance(orders, list) or not orders:
            raise bad_request("orders must be a non-empty array of {order_id, subaccount?, exchange_index?}")
        self.core.charge(request, user_id, len(orders), batch=True)
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
        user_id = self.core.user(request)
        sub = self.core.subaccount_q(request, user_id, None)
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
        user_id = self.core.user(request, charge=False)
        body = await self.core.body(request)
        raw_index = body.get("exchange_index")
        self.core.charge(request, user_id, 1, raw_index if isinstance(raw_index, int) else None)
        sub = self.core.subaccount_q(request, user_id)
        ticker = str_field(body, "ticker", required=True)
        side = OrderSide(enum_field(body, "side", ("bid", "ask")))
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
        user_id = self.core.user(request, charge=False)
        body = await self.core.body(request)
        raw_index = body.get("exchange_index")
        self.core.charge(request, user_id, 1, raw_index if isinstance(raw_index, int) else None)
        sub = self.core.subaccount_q(request, user_id)
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
        self.core.user(request)
        raise SimError(
            410,
            "deprecated_endpoint",
            "Please switch to the V2 endpoints",
            f"{request.method} {request.path} is deprecated; use /trade-api/v2/portfolio/events/orders",
        )
