"""centbook: the market-data and execution core for Kalshi bots.

The order book imports nothing from the network layers: ``import centbook.book`` works alone.
"""
from centbook.auth import Credentials, CredentialsError
from centbook.book import BookFault, BookState, OrderBook, Side
from centbook.books import Books, DecodeError, FrameKind
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
from centbook.messages import decode
from centbook.rest import RestClient

__all__ = [
    "AuthenticationError", "BookFault", "BookState", "Books", "Credentials", "CredentialsError",
    "DecodeError", "ExchangeError", "FrameKind", "KalshiError", "OrderBook", "OrderNotPlacedError",
    "OutcomeUnknownError", "PriceGrid", "RateLimitedError", "RejectedError", "RestClient",
    "ServerError", "Side", "decode", "format_money", "format_price", "format_size", "parse_money",
    "parse_price_bp", "parse_size",
]
__version__ = "0.1.0"
