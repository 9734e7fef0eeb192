"""Which Kalshi operation each method of :class:`~centbook.rest.client.RestClient` sends.

:data:`OPERATIONS` maps a client method to the ``(HTTP method, path template)`` of the operation
it calls (the templates as Kalshi's reference writes them); the merged historical reads call two.
``scripts/conformance_doc.py`` builds ``docs/conformance.md`` from it, and the conformance tests
check it against the requests the client really sends.
"""

from __future__ import annotations

__all__ = ["OPERATIONS"]

_ORDERS = "/portfolio/events/orders"

#: client method -> the operations it sends
OPERATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    # order entry
    "create_order": (("POST", _ORDERS),),
    "amend_order": (("POST", _ORDERS + "/{order_id}/amend"),),
    "decrease_order": (("POST", _ORDERS + "/{order_id}/decrease"),),
    "batch_create_orders": (("POST", _ORDERS + "/batched"),),
    "cancel_order": (("DELETE", _ORDERS + "/{order_id}"),),
    "batch_cancel_orders": (("DELETE", _ORDERS + "/batched"),),
    "cancel_all_orders": (("DELETE", _ORDERS),),
    # order groups
    "create_order_group": (("POST", "/portfolio/order_groups/create"),),
    "get_order_groups": (("GET", "/portfolio/order_groups"),),
    "get_order_group": (("GET", "/portfolio/order_groups/{order_group_id}"),),
    "trigger_order_group": (("PUT", "/portfolio/order_groups/{order_group_id}/trigger"),),
    "reset_order_group": (("PUT", "/portfolio/order_groups/{order_group_id}/reset"),),
    "delete_order_group": (("DELETE", "/portfolio/order_groups/{order_group_id}"),),
    "update_order_group_limit": (("PUT", "/portfolio/order_groups/{order_group_id}/limit"),),
    # portfolio
    "get_order": (("GET", "/portfolio/orders/{order_id}"),),
    "get_orders": (("GET", "/portfolio/orders"),),
    "get_fills": (("GET", "/portfolio/fills"),),
    "get_positions": (("GET", "/portfolio/positions"),),
    "get_event_positions": (("GET", "/portfolio/positions"),),
    "get_balance": (("GET", "/portfolio/balance"),),
    "get_settlements": (("GET", "/portfolio/settlements"),),
    "get_queue_position": (("GET", "/portfolio/orders/{order_id}/queue_position"),),
    "get_queue_positions": (("GET", "/portfolio/orders/queue_positions"),),
    "get_total_resting_order_value": (("GET", "/portfolio/summary/total_resting_order_value"),),
    "get_subaccount_balances": (("GET", "/portfolio/subaccounts/balances"),),
    "create_subaccount": (("POST", "/portfolio/subaccounts"),),
    "transfer_between_subaccounts": (("POST", "/portfolio/subaccounts/transfer"),),
    # markets and market data
    "get_markets": (("GET", "/markets"),),
    "get_market": (("GET", "/markets/{ticker}"),),
    "get_market_orderbook": (("GET", "/markets/{ticker}/orderbook"),),
    "get_orderbooks": (("GET", "/markets/orderbooks"),),
    "get_trades": (("GET", "/markets/trades"),),
    "get_market_candlesticks": (("GET", "/series/{series_ticker}/markets/{ticker}/candlesticks"),),
    "get_batch_candlesticks": (("GET", "/markets/candlesticks"),),
    "get_event_candlesticks": (("GET", "/series/{series_ticker}/events/{ticker}/candlesticks"),),
    "get_events": (("GET", "/events"),),
    "get_event": (("GET", "/events/{event_ticker}"),),
    "get_event_metadata": (("GET", "/events/{event_ticker}/metadata"),),
    "get_series_list": (("GET", "/series"),),
    "get_series": (("GET", "/series/{series_ticker}"),),
    "get_multivariate_collections": (("GET", "/multivariate_event_collections"),),
    "get_multivariate_collection": (("GET", "/multivariate_event_collections/{collection_ticker}"),),
    # the historical tier
    "get_historical_cutoff": (("GET", "/historical/cutoff"),),
    "get_historical_markets": (("GET", "/historical/markets"),),
    "get_historical_market": (("GET", "/historical/markets/{ticker}"),),
    "get_historical_market_candlesticks": (("GET", "/historical/markets/{ticker}/candlesticks"),),
    "get_historical_trades": (("GET", "/historical/trades"),),
    "get_historical_fills": (("GET", "/historical/fills"),),
    "get_historical_orders": (("GET", "/historical/orders"),),
    "fills_since": (("GET", "/portfolio/fills"), ("GET", "/historical/cutoff"), ("GET", "/historical/fills")),
    "orders_since": (
        ("GET", "/portfolio/orders"), ("GET", "/historical/cutoff"), ("GET", "/historical/orders"),
    ),
    # the exchange and the account
    "get_exchange_status": (("GET", "/exchange/status"),),
    "get_exchange_schedule": (("GET", "/exchange/schedule"),),
    "get_exchange_announcements": (("GET", "/exchange/announcements"),),
    "get_series_fee_changes": (("GET", "/series/fee_changes"),),
    "get_incentive_programs": (("GET", "/incentive_programs"),),
    "get_user_data_timestamp": (("GET", "/exchange/user_data_timestamp"),),
    "get_account_api_limits": (("GET", "/account/limits"),),
    "get_account_endpoint_costs": (("GET", "/account/endpoint_costs"),),
}
