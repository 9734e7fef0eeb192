"""The import path ``centbook.models``: the public names of :mod:`centbook.protocol.models`."""
from centbook.protocol.models import (
    AccountLimits,
    AmendResult,
    Balance,
    BatchCancelItem,
    BatchCreateItem,
    CancelResult,
    CreateOrderResult,
    DecreaseResult,
    EndpointCost,
    EndpointCostList,
    EventPosition,
    ExchangeStatus,
    Fill,
    Market,
    MarketPosition,
    Order,
    Orderbook,
    OrderGroup,
    ProtocolError,
    Settlement,
    ShardStatus,
    UserDataTimestamp,
    parse_time_ns,
)

__all__ = [
    "ProtocolError", "parse_time_ns", "CreateOrderResult", "BatchCreateItem", "CancelResult",
    "BatchCancelItem", "AmendResult", "DecreaseResult", "Order", "Fill", "MarketPosition",
    "EventPosition", "Balance", "Settlement", "Market", "Orderbook", "ShardStatus",
    "ExchangeStatus", "UserDataTimestamp", "AccountLimits", "EndpointCost", "EndpointCostList",
    "OrderGroup",
]
