"""The import path ``centbook.errors``: the public names of :mod:`centbook.protocol.errors`."""
from centbook.protocol.errors import (
    AuthenticationError,
    ExchangeError,
    KalshiError,
    OrderNotPlacedError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    ServerError,
    SettlementFloorError,
    WriteNotAppliedError,
    error_for,
    error_from_item,
    parse_error_body,
)

__all__ = [
    "KalshiError", "ExchangeError", "RejectedError", "RateLimitedError", "ServerError",
    "AuthenticationError", "OutcomeUnknownError", "WriteNotAppliedError", "OrderNotPlacedError",
    "SettlementFloorError", "parse_error_body", "error_for", "error_from_item",
]
