"""centbook: the market-data and execution core for Kalshi bots.

The order book imports nothing from the network layers: ``import centbook.book`` works alone.
"""
from centbook.auth import Credentials, CredentialsError
from centbook.book import BookFault, BookState, OrderBook, Side
from centbook.errors import (
    AuthenticationError,
    ExchangeError,
    KalshiError,
    OrderNotPlacedError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    ServerError,
)
from centbook.fixed import (
    format_money,
    format_price,
    format_size,
    parse_money,
    parse_price_bp,
    parse_size,
)
from centbook.grid import PriceGrid
from centbook.rest import RestClient

__all__ = [
    "AuthenticationError", "Credentials", "CredentialsError", "ExchangeError", "KalshiError",
    "OrderNotPlacedError", "OutcomeUnknownError", "RateLimitedError", "RejectedError", "RestClient",
    "ServerError",
    "BookFault", "BookState", "OrderBook", "PriceGrid", "Side", "format_money", "format_price",
    "format_size", "parse_money", "parse_price_bp", "parse_size",
]
__version__ = "0.1.0"
