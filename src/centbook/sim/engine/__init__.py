"""The embedded exchange's engine: markets, accounts, the single YES book per market, matching.

Parts: :mod:`~centbook.sim.engine.records` (the constants and the records the engine keeps:
orders, the engine's fill record :class:`EngineFill`, trades, positions, accounts, settlements,
order groups, users, markets, series, events, the clock and :class:`EngineEvent`),
:mod:`~centbook.sim.engine.exchange` (:class:`Exchange`, the facade every caller uses) and the
parts behind it: :mod:`~centbook.sim.engine.bus` (events and ids),
:mod:`~centbook.sim.engine.accounts` (balances, positions, fees, with the money model the sim
documents where Kalshi is silent), :mod:`~centbook.sim.engine.matching` (the books and their
trades), :mod:`~centbook.sim.engine.lifecycle` (market status, settlement, shards, routing),
:mod:`~centbook.sim.engine.groups` (order groups) and :mod:`~centbook.sim.engine.orders` (order
requests).
"""

from centbook.sim.engine.exchange import Exchange
from centbook.sim.engine.records import (
    EVENT_KINDS,
    GROUP_WINDOW_NS,
    KALSHI_UPDATE_REASONS,
    MAX_BP,
    MAX_SUBACCOUNT,
    ONE_DOLLAR_PER_C100,
    STATUS_FILTERS,
    Account,
    Clock,
    EngineEvent,
    EngineFill,
    Event,
    Fill,
    Market,
    Order,
    OrderGroup,
    Position,
    Series,
    Settlement,
    Trade,
    User,
)

__all__ = [
    "Account",
    "Clock",
    "EVENT_KINDS",
    "EngineEvent",
    "EngineFill",
    "Event",
    "Exchange",
    "Fill",
    "GROUP_WINDOW_NS",
    "KALSHI_UPDATE_REASONS",
    "MAX_BP",
    "MAX_SUBACCOUNT",
    "Market",
    "ONE_DOLLAR_PER_C100",
    "Order",
    "OrderGroup",
    "Position",
    "STATUS_FILTERS",
    "Series",
    "Settlement",
    "Trade",
    "User",
]
