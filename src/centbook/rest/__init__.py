"""The REST client: orders, cancels, reads and order groups over Kalshi's V2 API.

- :mod:`~centbook.rest.client`: :class:`RestClient`, the facade;
- :mod:`~centbook.rest.budget`: the client-side token buckets;
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

__all__ = [
    "AuthenticationError", "ExchangeError", "OrderNotPlacedError", "OutcomeUnknownError",
    "RateLimitedError", "RejectedError", "ServerError",
    "ENVIRONMENTS", "environment_url", "ArmedWrite", "StartedWrite", "RestClient",
]
