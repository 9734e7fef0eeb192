"""What the sim's WebSocket side speaks: channels, error codes, limits, faults and message helpers.

Parts: :data:`WS_PATH`, the channel tables (:data:`CHANNELS`, :data:`PRIVATE`, :data:`SEQUENCED`,
:data:`FILTERED`, :data:`UPDATABLE`, :data:`NOT_SIMULATED`), :data:`ERRORS`,
:data:`UPDATE_REASONS`, the connection :data:`DEFAULTS`, the fault names :data:`FAULTS`,
:func:`market_id`, :func:`dumps` and :class:`CommandError`. The choices behind them are
explained once, in :mod:`centbook.sim.ws`.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

WS_PATH = "/trade-api/ws/v2"

# channel -> message type(s) it carries
CHANNELS = {
    "orderbook_delta": "orderbook_delta",
    "ticker": "ticker",
    "trade": "trade",
    "fill": "fill",
    "market_positions": "market_position",
    "market_lifecycle_v2": "market_lifecycle_v2",
    "multivariate_market_lifecycle": "multivariate_market_lifecycle",
    "user_orders": "user_order",
    "order_group_updates": "order_group_updates",
}
NOT_SIMULATED = frozenset({"communications", "cfbenchmarks_value", "cfbenchmarks_value_5hz", "pyth_value"})
# refused (error 9) on an unsigned connection (only possible with ``allow_anonymous``); the book
# itself is public, so ``orderbook_delta`` is allowed there (without own-order annotations)
PRIVATE = frozenset({"fill", "market_positions", "user_orders", "order_group_updates"})
SEQUENCED = frozenset(
    {
        "orderbook_delta",
        "order_group_updates",
        "trade",
        "market_lifecycle_v2",
        "multivariate_market_lifecycle",
    }
)
FILTERED = frozenset({"orderbook_delta", "ticker", "trade", "fill", "market_positions", "user_orders"})
UPDATABLE = {
    "orderbook_delta": frozenset({"add_markets", "delete_markets", "get_snapshot"}),
    "ticker": frozenset({"add_markets", "delete_markets"}),
    "fill": frozenset({"add_markets", "delete_markets"}),
    "user_orders": frozenset({"add_markets", "delete_markets"}),
    "trade": frozenset({"add_markets", "delete_markets"}),
    "market_positions": frozenset({"add_markets", "delete_markets"}),
}
ERRORS = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    9: "Authentication required",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    16: "Market not found",
    25: "Subscription buffer overflow",
    26: "Subscription market limit exceeded",
    27: "Too many requests",
}
# ``last_update_reason`` values Kalshi documents for ``user_order`` (PROTOCOL.md 2.8); the engine's
# own finer reasons (``Cancel``, ``ImmediateOrCancel``, ...) are not sent.
UPDATE_REASONS = frozenset(
    {"Decrease", "Amend", "MarginCancel", "SelfTradeCancel", "ExpiryCancel", "CloseCancel", "HaltCancel",
     "Trade", "PostOnlyCrossCancel", "ReduceOnlyCancel"}
)  # fmt: skip
DEFAULTS: dict[str, Any] = {
    "heartbeat_s": 10.0,
    "send_queue": 100_000,
    "max_markets": 500_000,
    "command_rate": 10_000,
    "allow_anonymous": False,
    "socket_sndbuf": 0,  # 0 keeps the OS default; tests shrink it to meet a slow reader sooner
}
FAULTS = (
    "drop",
    "close",
    "skip_seq",
    "repeat_seq",
    "reorder",
    "stall",
    "stop_pings",
    "resume_pings",
    "malformed",
    "truncated",
    "unknown_type",
    "delay",
    "channel_error",
)


@functools.lru_cache(maxsize=65536)
def market_id(ticker: str) -> str:
    """Return the sim's stable market UUID of a ticker (uuid5 of the ticker)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "centbook-sim:" + ticker))


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class CommandError(Exception):
    """A command failed with a WebSocket error code."""

    def __init__(self, code: int, detail: str = "", **extra: Any) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.extra = extra
