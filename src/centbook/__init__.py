"""centbook: the market-data and execution core for Kalshi bots.

The compiled core (the order book, the books registry and its decoder, price grids, fixed-point
parsing) is imported here at once and loads numpy alone. The network layers (the REST client,
credentials, the typed WebSocket messages, the exchange's errors) load on first use of one of
their names (PEP 562), so ``import centbook.book`` or ``from centbook import OrderBook`` never
imports aiohttp, cryptography, picows or msgspec.
"""
import importlib

from centbook.book import BookFault, BookState, OrderBook, OrderSide, Side
from centbook.books import Books, DecodeError, FrameKind
from centbook.fixed import (
    format_money,
    format_price,
    format_size,
    parse_money,
    parse_price_bp,
    parse_size,
)
from centbook.grid import PriceGrid

# name -> the module that defines it, imported when the name is first used
_LAZY = {
    "Credentials": "centbook.auth",
    "CredentialsError": "centbook.auth",
    "AuthenticationError": "centbook.protocol.errors",
    "ExchangeError": "centbook.protocol.errors",
    "KalshiError": "centbook.protocol.errors",
    "OrderNotPlacedError": "centbook.protocol.errors",
    "OutcomeUnknownError": "centbook.protocol.errors",
    "RateLimitedError": "centbook.protocol.errors",
    "RejectedError": "centbook.protocol.errors",
    "ServerError": "centbook.protocol.errors",
    "decode": "centbook.protocol.messages",
    "RestClient": "centbook.rest.client",
}

__all__ = [
    "AuthenticationError", "BookFault", "BookState", "Books", "Credentials", "CredentialsError",
    "DecodeError", "ExchangeError", "FrameKind", "KalshiError", "OrderBook", "OrderNotPlacedError",
    "OrderSide", "OutcomeUnknownError", "PriceGrid", "RateLimitedError", "RejectedError", "RestClient",
    "ServerError", "Side", "decode", "format_money", "format_price", "format_size", "parse_money",
    "parse_price_bp", "parse_size",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'centbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
