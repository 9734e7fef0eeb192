"""The REST client: orders, cancels, reads and order groups over Kalshi's V2 API.

- :mod:`~centbook.rest.client`: :class:`RestClient`, the facade over the parts below;
- :mod:`~centbook.rest.settings`: :class:`RestSettings`, every option of the client;
- :mod:`~centbook.rest.orders`: :class:`Orders`, creates (one or a batch), amends, decreases;
- :mod:`~centbook.rest.cancels`: :class:`Cancels`, the cancels (one, a batch, all);
- :mod:`~centbook.rest.reads`: :class:`Reads`, the read endpoints (``get_*``);
- :mod:`~centbook.rest.marketdata`: :class:`MarketData`, the public market-data reads (the tape,
  candlesticks, books, events, series);
- :mod:`~centbook.rest.history`: :class:`History`, the historical tier and the fills and orders
  since a time across both tiers;
- :mod:`~centbook.rest.portfolio`: :class:`Portfolio`, queue positions, resting order value,
  subaccounts, and the exchange's schedule and notices;
- :mod:`~centbook.rest.groups`: :class:`OrderGroups`, the order-group endpoints;
- :mod:`~centbook.rest.transport`: one request through the budget, retries, unknown outcomes;
- :mod:`~centbook.rest.outcome`: the read-back resolution of unknown outcomes;
- :mod:`~centbook.rest.presign`: :class:`Presigner`, each request's auth headers and the
  signatures made ahead of use;
- :mod:`~centbook.rest.signer`: where signatures are made (inline, thread, helper process);
- :mod:`~centbook.rest.armed`: :class:`Armer`, order writes prepared ahead of sending;
- :mod:`~centbook.rest.budget`: the client-side token buckets;
- :mod:`~centbook.rest.upkeep`: :class:`BudgetUpkeep`, the budget sized from the account's limits;
- :mod:`~centbook.rest.lane`: the order lane, raw keep-alive connections for writes.
"""
from centbook.protocol.errors import (
    AuthenticationError,
    ExchangeError,
    OrderNotPlacedError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    ServerError,
)
from centbook.rest.client import (
    ENVIRONMENTS,
    ArmedWrite,
    RestClient,
    StartedWrite,
    environment_url,
)
from centbook.rest.settings import RestSettings

__all__ = [
    "AuthenticationError", "ExchangeError", "OrderNotPlacedError", "OutcomeUnknownError",
    "RateLimitedError", "RejectedError", "ServerError",
    "ENVIRONMENTS", "environment_url", "ArmedWrite", "StartedWrite", "RestClient", "RestSettings",
]
