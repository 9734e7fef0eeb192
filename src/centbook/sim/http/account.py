"""The sim's account routes: the user's rate-limit tier and the endpoint cost table.

Parts: :class:`AccountRoutes`.
"""

from __future__ import annotations

from aiohttp import web

from centbook.sim.http.core import HttpCore, RouteFamily
from centbook.sim.ratelimit import DEFAULT_COST, ENDPOINT_COSTS

__all__ = ["AccountRoutes"]


class AccountRoutes(RouteFamily):
    """Handlers of ``/account/limits`` and ``/account/endpoint_costs``."""

    def __init__(self, core: HttpCore) -> None:
        super().__init__(core)
        self.limiter = core.limiter

    async def account_limits(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
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
        self.core.optional_user(request)
        return web.json_response(
            {
                "default_cost": DEFAULT_COST,
                "endpoint_costs": [{"method": m, "path": p, "cost": c} for m, p, c in ENDPOINT_COSTS],
            }
        )
