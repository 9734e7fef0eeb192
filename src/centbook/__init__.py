"""centbook: the market-data and execution core for Kalshi bots.

The order book imports nothing from the network layers: ``import centbook.book`` works alone.
"""
from centbook.book import BookFault, BookState, OrderBook, Side
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
from centbook.messages import decode

__all__ = [
    "BookFault", "BookState", "Books", "DecodeError", "FrameKind", "OrderBook", "PriceGrid", "Side",
    "decode", "format_money", "format_price", "format_size", "parse_money", "parse_price_bp", "parse_size",
]
__version__ = "0.1.0"
