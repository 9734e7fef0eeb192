"""Typed results of the REST client, in centbook's integer units.

Field names follow Kalshi's (OpenAPI 3.28) with the unit in the name where it changed: prices in
basis points (``*_bp``), contract counts in hundredths (``count``, ``fill_count`` ... are
hundredths, as the ``_fp`` strings are read exactly), money in micro-dollars (``*_micro``).
Kalshi's strings are parsed once here by :mod:`centbook.fixed` (exact integer code, no float).

Each ``from_json`` takes the decoded JSON object of one item and raises
:class:`ProtocolError` naming the field when a required one is missing or malformed.

The models live in two modules, re-exported here:

- :mod:`~centbook.protocol.orders`: order writes, orders, fills, positions, settlements, order
  groups;
- :mod:`~centbook.protocol.markets`: markets, the exchange's status, the account;
- :mod:`~centbook.protocol.marketdata`: public trades, candlesticks, events, series;
- :mod:`~centbook.protocol.portfolio`: queue positions, resting value, subaccount balances, the
  exchange's schedule, announcements, fee changes and incentive programs;
- :mod:`~centbook.protocol.fields`: :class:`ProtocolError` and the field parsers they share.
"""

from centbook.protocol.fields import ProtocolError, parse_time_ns
from centbook.protocol.marketdata import (
    Candlestick,
    Event,
    EventCandlesticks,
    EventMetadata,
    HistoricalCutoff,
    MarketCandlesticks,
    MultivariateCollection,
    Ohlc,
    PublicTrade,
    Series,
    SettlementSource,
)
from centbook.protocol.markets import (
    AccountLimits,
    Balance,
    EndpointCost,
    EndpointCostList,
    ExchangeStatus,
    Market,
    Orderbook,
    ShardStatus,
    UserDataTimestamp,
)
from centbook.protocol.orders import (
    AmendResult,
    BatchCancelItem,
    BatchCreateItem,
    CancelResult,
    CreateOrderResult,
    DecreaseResult,
    EventPosition,
    Fill,
    MarketPosition,
    Order,
    OrderGroup,
    PortfolioFill,
    Settlement,
)
from centbook.protocol.portfolio import (
    Announcement,
    ExchangeSchedule,
    IncentiveProgram,
    QueuePosition,
    RestingOrderValue,
    SeriesFeeChange,
    SubaccountBalance,
)

__all__ = [
    "Announcement",
    "ExchangeSchedule",
    "IncentiveProgram",
    "QueuePosition",
    "RestingOrderValue",
    "SeriesFeeChange",
    "SubaccountBalance",
    "Candlestick",
    "Event",
    "EventCandlesticks",
    "EventMetadata",
    "HistoricalCutoff",
    "MarketCandlesticks",
    "MultivariateCollection",
    "Ohlc",
    "PublicTrade",
    "Series",
    "SettlementSource",
    "AccountLimits",
    "AmendResult",
    "Balance",
    "BatchCancelItem",
    "BatchCreateItem",
    "CancelResult",
    "CreateOrderResult",
    "DecreaseResult",
    "EndpointCost",
    "EndpointCostList",
    "EventPosition",
    "ExchangeStatus",
    "Fill",
    "PortfolioFill",
    "Market",
    "MarketPosition",
    "Order",
    "OrderGroup",
    "Orderbook",
    "ProtocolError",
    "Settlement",
    "ShardStatus",
    "UserDataTimestamp",
    "parse_time_ns",
]
