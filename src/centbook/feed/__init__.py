"""The WebSocket feed: one connection, the books it follows, and their validity.

- :mod:`~centbook.feed.connection`: :class:`Feed`, its configuration and its events;
- :mod:`~centbook.feed.reader`: the compiled picows listener that decodes frames into the books.
"""
from centbook.feed.connection import (
    BOOK_CHANNEL,
    ENVIRONMENTS,
    LIFECYCLE_CHANNELS,
    LIMIT_ERRORS,
    PRIVATE_CHANNELS,
    TERMINAL_ERRORS,
    WS_PATH,
    Feed,
    FeedConfig,
    FeedError,
    MarketQuiet,
    StateChange,
    backoff_delay,
)

__all__ = [
    "WS_PATH", "ENVIRONMENTS", "TERMINAL_ERRORS", "LIMIT_ERRORS", "BOOK_CHANNEL",
    "PRIVATE_CHANNELS", "LIFECYCLE_CHANNELS", "FeedConfig", "FeedError", "MarketQuiet",
    "StateChange", "backoff_delay", "Feed",
]
