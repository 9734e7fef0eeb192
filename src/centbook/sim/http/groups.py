"""The sim's order-group routes: create, list, read, delete, reset, trigger and limit.

Parts: :class:`GroupRoutes`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from centbook.fixed import format_size
from centbook.sim.errors import SimError
from centbook.sim.http.core import RouteFamily
from centbook.sim.http.params import int_field, parse_count

__all__ = ["GroupRoutes"]


class GroupRoutes(RouteFamily):
    """Handlers of ``/portfolio/order_groups*``."""

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
        user_id = self.core.user(request, charge=False)
        body = await self.core.body(request)
        # the user's write bucket, never a shard's: Kalshi bills only single order creates,
        # cancels, amends and decreases to the per-shard buckets
        self.core.charge(request, user_id, 1, None)
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
        user_id = self.core.user(request)
        sub = self.core.subaccount_q(request, user_id, None)
        groups = [
            g for g in self.exchange.users[user_id].groups.values() if sub is None or g.subaccount == sub
        ]
        return web.json_response({"order_groups": [self._group_json(g) for g in groups]})

    async def get_group(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        group = self._group(request, user_id)
        return web.json_response(
            {
                "is_auto_cancel_enabled": not group.triggered,
                "contracts_limit_fp": format_size(group.limit),
                "orders": [o.order_id for o in self.exchange.group_orders(group) if o.status == "resting"],
            }
        )

    async def delete_group(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        self.exchange.delete_group(self._group(request, user_id))
        return web.json_response({})

    async def reset_group(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        self.exchange.reset_group(self._group(request, user_id))
        return web.json_response({})

    async def trigger_group(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        self.exchange.trigger_group(self._group(request, user_id))
        return web.json_response({})

    async def limit_group(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        group = self._group(request, user_id)
        body = await self.core.body(request)
        self.exchange.set_group_limit(group, self._limit_from(body))
        return web.json_response({})
