"""The WebSocket feed: one connection, the books it follows, and their validity.

- :mod:`~centbook.feed.connection`: :class:`Feed` (the connection and its life cycle, a facade
  over the parts below), its configuration and its errors;
- :mod:`~centbook.feed.subscriptions`: the subscriptions and the command sender;
- :mod:`~centbook.feed.validity`: book states and the resyncs that restore LIVE;
- :mod:`~centbook.feed.tradability`: market and shard tradability;
- :mod:`~centbook.feed.events`: typed events, their listeners and quiet markets;
- :mod:`~centbook.feed.reader`: the compiled picows listener that decodes frames into the books.
"""
from centbook.feed.connection import (
    ENVIRONMENTS,
    LIFECYCLE_CHANNELS,
    LIMIT_ERRORS,
    PRIVATE_CHANNELS,
    TERMINAL_ERRORS,
    Feed,
    FeedConfig,
    FeedError,
    backoff_delay,
)
from centbook.feed.events import Events, MarketQuiet
from centbook.feed.subscriptions import BOOK_CHANNEL, Subscription, Subscriptions
from centbook.feed.tradability import Tradability
from centbook.feed.validity import StateChange, Validity
from centbook.protocol.environments import WS_PATH

__all__ = [
    "WS_PATH", "ENVIRONMENTS", "TERMINAL_ERRORS", "LIMIT_ERRORS", "BOOK_CHANNEL",
    "PRIVATE_CHANNELS", "LIFECYCLE_CHANNELS", "FeedConfig", "FeedError", "MarketQuiet",
    "StateChange", "backoff_delay", "Feed", "Events", "Subscription", "Subscriptions",
    "Tradability", "Validity",
]
