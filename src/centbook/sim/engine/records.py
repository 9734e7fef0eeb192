"""The embedded exchange's records: the plain objects the engine keeps and its subscribers read.

Units are the engine's (see :mod:`centbook.sim.engine.accounts` for the money model): prices in
basis points of $1, sizes in hundredths of a contract, money in micro-dollars, times in Unix ns.

Parts: the constants shared by the engine's parts (``MAX_BP``, ``GROUP_WINDOW_NS``, the event
kinds, the status filters), :class:`Clock`, :class:`EngineEvent`, and the records
:class:`Series`, :class:`Event`, :class:`Market`, :class:`Order`, :class:`EngineFill` (the sim's
own fill record, distinct from the REST ``PortfolioFill`` and the WebSocket ``UserFill``),
:class:`Trade`, :class:`Position`, :class:`Account`, :class:`Settlement`, :class:`OrderGroup`,
:class:`User`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from centbook.book import OrderSide
from centbook.grid import PriceGrid
from centbook.sim.config import PRICE_STRUCTURES

__all__ = [
    "Account",
    "Clock",
    "EVENT_KINDS",
    "EngineEvent",
    "EngineFill",
    "Event",
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
    "STRIKE_BOUNDS",
    "Series",
    "Settlement",
    "Trade",
    "User",
    "strike_bounds",
]

MAX_BP = 10000
ONE_DOLLAR_PER_C100 = MAX_BP  # $1 on a size in hundredths is MAX_BP micro-dollars per hundredth
GROUP_WINDOW_NS = 15_000_000_000
EVENT_KINDS = (
    "book_delta", "trade", "fill", "order", "position", "lifecycle", "order_group", "exchange_status",
)  # fmt: skip

# ``Order.last_update_reason`` values that Kalshi documents for ``user_order`` (PROTOCOL.md 2.8).
# The engine also uses its own, more specific ones (``Cancel``, ``ImmediateOrCancel``,
# ``FillOrKillCancel``, ``OrderGroupCancel``); a publisher should send only documented values.
KALSHI_UPDATE_REASONS = frozenset({
    "Decrease", "Amend", "MarginCancel", "SelfTradeCancel", "ExpiryCancel", "CloseCancel", "HaltCancel",
    "Trade", "PostOnlyCrossCancel", "ReduceOnlyCancel",
})  # fmt: skip
MAX_SUBACCOUNT = 63

# Market statuses (response values) and the GET /markets status filter words mapped onto them.
STATUS_FILTERS: dict[str, frozenset[str]] = {
    "unopened": frozenset({"initialized"}),
    "open": frozenset({"active"}),
    "paused": frozenset({"inactive"}),
    "closed": frozenset({"closed"}),
    "settled": frozenset({"determined", "disputed", "amended", "finalized"}),
}


class Clock:
    """The exchange's wall clock: Unix time plus an offset an admin can shift.

    Parameters
    ----------
    offset_ns : int
        Added to the host's ``time.time_ns()``.
    """

    def __init__(self, offset_ns: int = 0) -> None:
        self.offset_ns = offset_ns

    def now_ns(self) -> int:
        """Return the exchange time in Unix nanoseconds."""
        return time.time_ns() + self.offset_ns

    def now_ms(self) -> int:
        """Return the exchange time in Unix milliseconds."""
        return self.now_ns() // 1_000_000

    def shift(self, seconds: float) -> None:
        """Move the exchange clock by ``seconds`` (negative moves it back)."""
        self.offset_ns += int(seconds * 1e9)


@dataclass(slots=True)
class EngineEvent:
    """One change inside the exchange, for subscribers (the WebSocket layer, tests).

    Attributes
    ----------
    kind : str
        ``book_delta``, ``trade``, ``fill``, ``order``, ``position``, ``lifecycle``,
        ``order_group``, ``exchange_status``.
    ts_ns : int
        Exchange time of the change.
    data : dict
        Kind-specific fields, integers in the engine's units:

        * ``book_delta``: ``ticker``, ``side`` (the resting order's :class:`OrderSide`: ``BID``
          on the YES bids, ``ASK`` on the YES asks), ``price_bp`` (YES
          price), ``delta`` (signed hundredths), the resting order's ``order_id``, ``user_id``,
          ``client_order_id``, ``subaccount``, and ``cause_order_id``, ``cause_user_id``,
          ``cause_client_order_id`` of the request that caused it (the taker for a trade).
        * ``trade``: ``trade`` (:class:`Trade`). ``fill``: ``fill`` (:class:`EngineFill`, one per side).
        * ``order``: ``order`` (:class:`Order`, after the change; ``last_update_reason`` says why).
        * ``position``: ``ticker``, ``subaccount``, ``position``, ``cost_micro``, ``realized_micro``,
          ``fees_micro``, ``volume_micro`` (or ``settled`` and ``revenue_micro`` at settlement).
        * ``lifecycle``: ``ticker``, ``event_type`` (``activated``, ``deactivated``,
          ``determined``, ``settled``), ``status``, and ``result`` when determined.
        * ``order_group``: ``event_type`` (``created``, ``triggered``, ``reset``, ``deleted``,
          ``limit_updated``), ``order_group_id``, ``contracts_limit`` on created/limit_updated.
        * ``exchange_status``: ``exchange_index``, ``exchange_active``, ``trading_active``.

        Objects are live: serialise them inside the callback.
    user_id : str or None
        The user a private event belongs to; None for public events.
    """

    kind: str
    ts_ns: int
    data: dict[str, Any]
    user_id: str | None = None


@dataclass(slots=True)
class Series:
    ticker: str
    title: str
    category: str
    frequency: str
    fee_type: str
    fee_multiplier: float
    fee_ppm: int


@dataclass(slots=True)
class Event:
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str
    exchange_index: int
    mutually_exclusive: bool
    category: str
    collateral_return_type: str = ""
    # replace the series' fee type and multiplier for this event's markets when set
    fee_type_override: str | None = None
    fee_multiplier_override: float | None = None


@dataclass(eq=False, slots=True)
class Order:
    order_id: str
    user_id: str
    subaccount: int
    ticker: str
    exchange_index: int
    side: OrderSide  # BID buys YES, ASK sells YES
    price_bp: int
    initial: int
    filled: int = 0
    remaining: int = 0
    status: str = "resting"
    client_order_id: str = ""
    time_in_force: str = "good_till_canceled"
    stp: str = "taker_at_cross"
    post_only: bool = False
    reduce_only: bool = False
    cancel_on_pause: bool = False
    order_group_id: str | None = None
    expiration_s: int | None = None
    created_ns: int = 0
    updated_ns: int = 0
    seq: int = 0
    taker_cost_micro: int = 0
    maker_cost_micro: int = 0
    taker_fees_micro: int = 0
    maker_fees_micro: int = 0
    reserved_micro: int = 0
    rounding_accum_micro: int = 0
    last_update_reason: str = ""
    # the (user, subaccount, shard) balance it reserves on, found once (accounts are never replaced)
    account: Account | None = field(default=None, repr=False)


@dataclass(slots=True)
class EngineFill:
    """One side of a trade as the engine records it (the maker's or the taker's)."""

    fill_id: str
    trade_id: str
    order_id: str
    user_id: str
    subaccount: int
    ticker: str
    exchange_index: int
    side: OrderSide  # the side of the order that filled
    price_bp: int
    size: int
    is_taker: bool
    fee_micro: int
    ts_ns: int
    client_order_id: str
    post_position: int


@dataclass(slots=True)
class Trade:
    trade_id: str
    ticker: str
    price_bp: int
    size: int
    taker_side: OrderSide  # the side of the taker's order
    ts_ns: int
    open_interest: int = 0  # the market's open interest right after this trade


@dataclass(slots=True)
class Position:
    ticker: str
    exchange_index: int
    position: int = 0
    cost_micro: int = 0  # what the current position cost (market exposure)
    total_traded_micro: int = 0
    realized_micro: int = 0
    fees_micro: int = 0
    updated_ns: int = 0


@dataclass(slots=True)
class Account:
    """One (user, subaccount, shard) balance."""

    cash_micro: int = 0
    reserved_micro: int = 0

    @property
    def available_micro(self) -> int:
        return self.cash_micro - self.reserved_micro


@dataclass(slots=True)
class Settlement:
    ticker: str
    event_ticker: str
    result: str
    yes_count: int
    yes_cost_micro: int
    no_count: int
    no_cost_micro: int
    revenue_micro: int
    fee_micro: int
    ts_ns: int
    subaccount: int
    exchange_index: int
    yes_payout_bp: int = MAX_BP  # what one YES contract paid: settlement value minus the floor


@dataclass(eq=False, slots=True)
class OrderGroup:
    order_group_id: str
    user_id: str
    subaccount: int
    exchange_index: int
    limit: int  # hundredths of a contract
    triggered: bool = False
    window: deque = field(default_factory=deque)  # (ts_ns, size)

    def volume(self, now_ns: int) -> int:
        while self.window and self.window[0][0] <= now_ns - GROUP_WINDOW_NS:
            self.window.popleft()
        return sum(size for _, size in self.window)


@dataclass(eq=False, slots=True)
class User:
    user_id: str
    name: str
    tier: str
    subaccounts: set[int] = field(default_factory=lambda: {0})
    client_order_ids: dict[str, Order] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    fills: list[EngineFill] = field(default_factory=list)
    settlements: list[Settlement] = field(default_factory=list)
    groups: dict[str, OrderGroup] = field(default_factory=dict)
    transfers: set[str] = field(default_factory=set)


# strike_type -> which of floor_strike / cap_strike it needs (docs' Market schema)
STRIKE_BOUNDS: dict[str, tuple[bool, bool]] = {
    "greater": (True, False),
    "greater_or_equal": (True, False),
    "less": (False, True),
    "less_or_equal": (False, True),
    "between": (True, True),
    "functional": (False, False),
    "custom": (False, False),
    "structured": (False, False),
}


def strike_bounds(ticker: str, spec: dict[str, Any]) -> tuple[str, float | None, float | None]:
    """Return a market spec's ``(strike_type, floor_strike, cap_strike)``, checked."""
    strike_type = spec.get("strike_type", "custom")
    if strike_type not in STRIKE_BOUNDS:
        raise ValueError(
            f"market {ticker}: strike_type must be one of {', '.join(STRIKE_BOUNDS)}, got {strike_type!r}"
        )
    bounds = []
    for name, needed in zip(("floor_strike", "cap_strike"), STRIKE_BOUNDS[strike_type], strict=True):
        value = spec.get(name)
        if needed and not isinstance(value, int | float):
            raise ValueError(f"market {ticker}: strike_type {strike_type!r} needs a number {name}")
        bounds.append(None if value is None else float(value))
    return strike_type, bounds[0], bounds[1]


class Market:
    """One binary market: its metadata, its grid and its YES book (bids and asks at YES prices)."""

    def __init__(
        self, spec: dict[str, Any], event: Event, series: Series, start_s: int, defaults: dict[str, Any]
    ) -> None:
        self.ticker: str = spec["ticker"]
        self.event = event
        self.series = series
        self.exchange_index = int(spec.get("exchange_index", event.exchange_index))
        structure = spec.get("price_level_structure", "linear_cent")
        ranges = spec.get("price_ranges") or PRICE_STRUCTURES.get(structure)
        if ranges is None:
            raise ValueError(
                f"market {self.ticker}: unknown price_level_structure {structure!r} and no price_ranges"
            )
        self.price_level_structure = structure
        self.grid = PriceGrid.from_ranges(ranges)
        self.price_ranges = self.grid.to_ranges()
        self.yes_sub_title = spec.get("yes_sub_title", "")
        self.no_sub_title = spec.get("no_sub_title", "")
        self.title = spec.get("title", event.title)
        self.rules_primary = spec.get(
            "rules_primary", f"If {self.yes_sub_title or 'the outcome'} happens, the market resolves to Yes."
        )
        self.created_s = start_s
        self.open_s = int(spec.get("open_ts", start_s + spec.get("open_offset_s", defaults["open_offset_s"])))
        self.close_s = int(
            spec.get("close_ts", start_s + spec.get("close_offset_s", defaults["close_offset_s"]))
        )
        self.settlement_timer_s = int(
            spec.get("settlement_timer_seconds", defaults["settlement_timer_seconds"])
        )
        self.can_close_early = bool(spec.get("can_close_early", True))
        # a configured result settles the market settlement_timer_seconds after close
        self.scheduled_result: str | None = spec.get("result")
        if self.scheduled_result not in (None, "yes", "no"):
            raise ValueError(f"market {self.ticker}: result must be 'yes' or 'no'")
        # settlement bounds (docs getting_started/settlement_bounds): a ``floor`` market pays YES
        # holders at least floor_bp per contract; it starts at $0 and the admin moves it
        self.settlement_bounds_type = spec.get("settlement_bounds_type", "default")
        if self.settlement_bounds_type not in ("default", "floor"):
            raise ValueError(
                f"market {self.ticker}: settlement_bounds_type must be 'default' or 'floor', "
                f"got {self.settlement_bounds_type!r}"
            )
        if self.settlement_bounds_type == "floor" and event.collateral_return_type in ("MECNET", "DIRECNET"):
            raise ValueError(
                f"market {self.ticker}: events with collateral_return_type "
                f"{event.collateral_return_type} have only 'default' settlement bounds"
            )
        self.floor_bp = 0
        self.strike_type, self.floor_strike, self.cap_strike = strike_bounds(self.ticker, spec)
        self.functional_strike: str | None = spec.get("functional_strike")
        self.custom_strike: dict[str, Any] | None = spec.get("custom_strike")
        self.early_close_condition: str | None = spec.get("early_close_condition")
        # the underlying's value at expiration: the sim simulates no underlying, so it stays empty
        self.expiration_value: str = ""
        self.settlement_value_bp: int | None = None
        self.status = "initialized"
        self.halted = False  # admin pause of this market alone (status inactive)
        self.result = ""
        self.settled_ns: int | None = None
        self.determined_ns: int | None = None
        self.updated_ns = start_s * 1_000_000_000
        self.bids: dict[int, list[Order]] = {}
        self.asks: dict[int, list[Order]] = {}
        self.last_price_bp: int | None = None
        self.volume = 0
        self.open_interest = 0
        self.trades: list[Trade] = []
        # (ts_ns, best bid, best ask) each time the top of the book changed, for candlesticks
        self.quotes: list[tuple[int, int | None, int | None]] = [(self.updated_ns, None, None)]

    # -- book reading -------------------------------------------------------------------------------
    def best_bid(self) -> int | None:
        return max(self.bids) if self.bids else None

    def best_ask(self) -> int | None:
        return min(self.asks) if self.asks else None

    def levels(self, side: OrderSide) -> dict[int, list[Order]]:
        """Return the queues of one YES side by price: the bids for ``BID``, the asks for ``ASK``."""
        return self.bids if side == OrderSide.BID else self.asks

    def level_size(self, side: OrderSide, price_bp: int) -> int:
        return sum(o.remaining for o in self.levels(side).get(price_bp, ()))

    def depth(self, side: OrderSide) -> list[tuple[int, int]]:
        """Return ``[(price_bp, size)]`` of one YES side, best first."""
        levels = self.levels(side)
        prices = sorted(levels, reverse=(side == OrderSide.BID))
        return [(p, sum(o.remaining for o in levels[p])) for p in prices]

    def fees(self) -> tuple[str, int]:
        """Return the fee type and multiplier (ppm) this market's fills pay: its event's override
        where set, else its series'."""
        ev, series = self.event, self.series
        fee_type = ev.fee_type_override or series.fee_type
        if ev.fee_multiplier_override is None:
            return fee_type, series.fee_ppm
        return fee_type, round(ev.fee_multiplier_override * 1_000_000)

    def note_quote(self, ts_ns: int) -> None:
        """Record the top of the book at ``ts_ns`` if it changed since the last record."""
        top = (self.best_bid(), self.best_ask())
        last = self.quotes[-1]
        if (last[1], last[2]) != top:
            self.quotes.append((ts_ns, *top))

    def day_before(self, now_ns: int) -> tuple[int | None, int | None, int | None, int]:
        """Return ``(yes bid, yes ask, last price, volume since)`` as of 24 hours before ``now_ns``.

        Prices are None where the book or the tape was empty then.
        """
        then = now_ns - 86_400 * 1_000_000_000
        bid = ask = price = None
        for ts, b, a in self.quotes:
            if ts > then:
                break
            bid, ask = b, a
        volume = 0
        for t in self.trades:
            if t.ts_ns <= then:
                price = t.price_bp
            else:
                volume += t.size
        return bid, ask, price, volume

    @property
    def accepting_orders(self) -> bool:
        return self.status == "active" and not self.halted


Fill = EngineFill  # the short name ``centbook.sim.engine`` also exports
