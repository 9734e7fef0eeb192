"""The operations of Kalshi's API the sim does not simulate, answered as Kalshi answers refusals.

RFQs and quotes, block trades, API keys, FCM reads, live data, milestones, search, structured
targets, deposits and withdrawals, subaccount netting and locks, cross-shard transfers and the
rest listed in :data:`UNSIMULATED` get Kalshi's error envelope (never the router's bare 404),
with the status the operation's 3.28 page documents for a refusal: 403 where it lists one (the
account may not use the operation), else 404, else 400; 404 for the few pages that list only
401 and 500. ``details`` says the sim does not simulate it.

The multivariate reads answer as an exchange with no multivariate collection would (empty lists,
404 for one collection). ``tests/integration/test_conformance_ops.py`` checks that every
documented operation is routed by the sim or listed here, with a documented status.

Parts: :data:`UNSIMULATED`, :class:`UnsimulatedRoutes`.
"""

from __future__ import annotations

from aiohttp import web

from centbook.sim.errors import SimError, not_found
from centbook.sim.http.core import RouteFamily

__all__ = ["UNSIMULATED", "UnsimulatedRoutes"]

_CODES = {
    403: ("forbidden", "forbidden"),
    404: ("not_found", "not found"),
    400: ("bad_request", "bad request"),
}

#: ``(method, path template, status)`` of each operation the sim refuses
UNSIMULATED: tuple[tuple[str, str, int], ...] = (
    ("POST", "/account/api_usage_level/upgrade", 403),
    ("GET", "/account/api_usage_level/volume_progress", 404),
    ("GET", "/account/limits/perps", 404),
    ("GET", "/api_keys", 404),
    ("POST", "/api_keys", 403),
    ("POST", "/api_keys/generate", 400),
    ("DELETE", "/api_keys/{api_key}", 404),
    ("GET", "/communications/block-trade-proposals", 400),
    ("POST", "/communications/block-trade-proposals", 403),
    ("POST", "/communications/block-trade-proposals/{block_trade_proposal_id}/accept", 404),
    ("GET", "/communications/id", 404),
    ("GET", "/communications/quotes", 404),
    ("POST", "/communications/quotes", 400),
    ("DELETE", "/communications/quotes/{quote_id}", 404),
    ("GET", "/communications/quotes/{quote_id}", 404),
    ("PUT", "/communications/quotes/{quote_id}/accept", 404),
    ("PUT", "/communications/quotes/{quote_id}/confirm", 404),
    ("GET", "/communications/rfqs", 404),
    ("POST", "/communications/rfqs", 400),
    ("DELETE", "/communications/rfqs/{rfq_id}", 404),
    ("GET", "/communications/rfqs/{rfq_id}", 404),
    ("DELETE", "/communications/rfqs/{rfq_id}/quotes/{quote_id}", 404),
    ("GET", "/communications/rfqs/{rfq_id}/quotes/{quote_id}", 404),
    ("PUT", "/communications/rfqs/{rfq_id}/quotes/{quote_id}/accept", 404),
    ("PUT", "/communications/rfqs/{rfq_id}/quotes/{quote_id}/confirm", 404),
    ("GET", "/events/candlesticks", 400),
    ("GET", "/events/fee_changes", 400),
    ("GET", "/fcm/orders", 404),
    ("GET", "/fcm/positions", 404),
    ("GET", "/historical/positions", 400),
    ("GET", "/live_data/batch", 404),
    ("GET", "/live_data/events/{event_ticker}", 404),
    ("GET", "/live_data/milestone/{milestone_id}", 404),
    ("GET", "/live_data/milestone/{milestone_id}/game_stats", 404),
    ("GET", "/live_data/weather/{city}", 400),
    ("GET", "/live_data/{type}/milestone/{milestone_id}", 404),
    ("GET", "/milestones", 400),
    ("GET", "/milestones/{milestone_id}", 404),
    ("POST", "/multivariate_event_collections/{collection_ticker}", 400),
    ("GET", "/multivariate_event_collections/{collection_ticker}/lookup", 400),
    ("PUT", "/multivariate_event_collections/{collection_ticker}/lookup", 404),
    ("GET", "/portfolio/deposits", 400),
    ("POST", "/portfolio/intra_exchange_instance_transfer", 403),
    ("GET", "/portfolio/intra_exchange_instance_transfers", 400),
    ("GET", "/portfolio/intra_exchange_instance_transfers/{transfer_id}", 404),
    ("GET", "/portfolio/subaccounts/netting", 404),
    ("PUT", "/portfolio/subaccounts/netting", 400),
    ("POST", "/portfolio/subaccounts/positions/transfer", 400),
    ("DELETE", "/portfolio/subaccounts/settlement-advance-lock", 400),
    ("PUT", "/portfolio/subaccounts/settlement-advance-lock", 400),
    ("GET", "/portfolio/subaccounts/transfers", 404),
    ("GET", "/portfolio/target_balance_allocation", 403),
    ("POST", "/portfolio/target_balance_allocation", 403),
    ("GET", "/portfolio/withdrawals", 400),
    ("GET", "/search/filters_by_sport", 404),
    ("GET", "/search/tags_by_categories", 404),
    ("GET", "/series/{series_ticker}/events/{ticker}/forecast_percentile_history", 400),
    ("GET", "/structured_targets", 404),
    ("GET", "/structured_targets/{structured_target_id}", 404),
)


class UnsimulatedRoutes(RouteFamily):
    """Handlers of the operations the sim does not simulate, and of the multivariate reads."""

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        """Register every route of this family under ``prefix`` (before the others: a literal
        path such as ``/events/candlesticks`` must not fall to ``/events/{event_ticker}``)."""
        router.add_get(prefix + "/multivariate_event_collections", self.collections)
        router.add_get(prefix + "/multivariate_event_collections/{collection_ticker}", self.collection)
        router.add_get(prefix + "/events/multivariate", self.multivariate_events)
        for method, template, status in UNSIMULATED:
            router.add_route(method, prefix + template, self._refusal(method, template, status))

    def _refusal(self, method: str, template: str, status: int) -> web.RequestHandler:
        code, message = _CODES[status]

        async def refuse(request: web.Request) -> web.Response:
            self.core.optional_user(request)
            raise SimError(status, code, message, f"centbook sim does not simulate {method} {template}")

        return refuse

    async def collections(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        return web.json_response({"multivariate_contracts": [], "cursor": ""})

    async def collection(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        ticker = request.match_info["collection_ticker"]
        raise not_found(f"multivariate event collection {ticker!r} not found (the sim lists none)")

    async def multivariate_events(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        return web.json_response({"events": [], "cursor": ""})
