"""Kalshi's REST answers about markets, the exchange and the account, in centbook's units.

- markets: :class:`Market` (its price grid and settlement bounds), :class:`Orderbook`;
- the exchange: :class:`ShardStatus`, :class:`ExchangeStatus`, :class:`UserDataTimestamp`;
- the account: :class:`Balance`, :class:`AccountLimits`, :class:`EndpointCost`,
  :class:`EndpointCostList`.

Units and parsing are described once, in :mod:`centbook.protocol.models`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from centbook.fixed import parse_price_bp, parse_size
from centbook.grid import PriceGrid
from centbook.protocol.fields import (
    ProtocolError,
    convert,
    money_field,
    optional_str,
    parse_time_ns,
    price_field,
    required,
    size_field,
)

__all__ = [
    "AccountLimits", "Balance", "EndpointCost", "EndpointCostList", "ExchangeStatus", "Market",
    "Orderbook", "ShardStatus", "UserDataTimestamp",
]


# -- markets and exchange -------------------------------------------------------------------------
class Market(msgspec.Struct, frozen=True, kw_only=True):
    """A market's metadata (every field of Kalshi's 3.28 ``Market``) in centbook's units.

    Prices in bp (``*_dollars`` -> ``*_bp``), sizes in hundredths (``*_fp``), money in
    micro-dollars, times in Unix ns (``*_time`` -> ``*_time_ns``; None when absent).

    The strike fields say what settles the market YES: ``strike_type`` (``greater``,
    ``greater_or_equal``, ``less``, ``less_or_equal``, ``between``, ``functional``, ``custom``,
    ``structured``; empty when Kalshi sends none), ``floor_strike`` and ``cap_strike`` in the
    underlying's own units (numbers as Kalshi sends them, not prices), ``functional_strike`` and
    ``custom_strike`` for the other kinds.

    ``settlement_bounds_type`` is ``default`` or ``floor``; ``settlement_floor_bp`` is the
    floor of a ``floor`` market (from ``settlement_floor_dollars``, exact), None when the answer
    carries none. See :meth:`floor_refuses`.
    """

    ticker: str
    event_ticker: str
    market_type: str
    status: str
    title: str
    yes_bid_bp: int
    yes_ask_bp: int
    no_bid_bp: int
    no_ask_bp: int
    yes_bid_size: int | None
    yes_ask_size: int | None
    last_price_bp: int
    volume: int
    volume_24h: int
    open_interest: int
    notional_value_micro: int
    price_level_structure: str
    price_ranges: list[dict[str, str]]
    exchange_index: int
    open_time_ns: int | None = None
    close_time_ns: int | None = None
    result: str = ""
    can_close_early: bool = False
    settlement_value_bp: int | None = None
    settlement_bounds_type: str = "default"
    settlement_floor_bp: int | None = None
    subtitle: str = ""
    yes_sub_title: str = ""
    no_sub_title: str = ""
    created_time_ns: int | None = None
    updated_time_ns: int | None = None
    expected_expiration_time_ns: int | None = None
    expiration_time_ns: int | None = None
    latest_expiration_time_ns: int | None = None
    settlement_timer_seconds: int = 0
    previous_yes_bid_bp: int | None = None
    previous_yes_ask_bp: int | None = None
    previous_price_bp: int | None = None
    liquidity_micro: int = 0
    settlement_ts_ns: int | None = None
    expiration_value: str = ""
    occurrence_time_ns: int | None = None
    fee_waiver_expiration_time_ns: int | None = None
    early_close_condition: str | None = None
    strike_type: str = ""
    floor_strike: float | None = None
    cap_strike: float | None = None
    functional_strike: str | None = None
    custom_strike: dict[str, Any] | None = None
    rules_primary: str = ""
    rules_secondary: str = ""
    mve_collection_ticker: str = ""
    mve_selected_legs: list[dict[str, Any]] = msgspec.field(default_factory=list)
    primary_participant_key: str | None = None
    is_provisional: bool = False

    def grid(self) -> PriceGrid:
        """Return the market's :class:`~centbook.grid.PriceGrid` (from ``price_ranges``)."""
        return PriceGrid.from_ranges(self.price_ranges)

    @classmethod
    def from_json(cls, d: Any) -> Market:
        return cls(
            ticker=str(required(d, "ticker")),
            event_ticker=str(required(d, "event_ticker")),
            market_type=str(d.get("market_type") or ""),
            status=str(required(d, "status")),
            title=str(d.get("title") or ""),
            yes_bid_bp=price_field(d, "yes_bid_dollars"),
            yes_ask_bp=price_field(d, "yes_ask_dollars"),
            no_bid_bp=price_field(d, "no_bid_dollars"),
            no_ask_bp=price_field(d, "no_ask_dollars"),
            yes_bid_size=size_field(d, "yes_bid_size_fp", True),
            yes_ask_size=size_field(d, "yes_ask_size_fp", True),
            last_price_bp=price_field(d, "last_price_dollars"),
            volume=size_field(d, "volume_fp"),
            volume_24h=size_field(d, "volume_24h_fp"),
            open_interest=size_field(d, "open_interest_fp"),
            notional_value_micro=money_field(d, "notional_value_dollars"),
            price_level_structure=str(d.get("price_level_structure") or ""),
            price_ranges=[
                {"start": str(r["start"]), "end": str(r["end"]), "step": str(r["step"])}
                for r in required(d, "price_ranges")
            ],
            exchange_index=int(d.get("exchange_index") or 0),
            open_time_ns=parse_time_ns(d.get("open_time")),
            close_time_ns=parse_time_ns(d.get("close_time")),
            result=str(d.get("result") or ""),
            can_close_early=bool(d.get("can_close_early", False)),
            settlement_value_bp=price_field(d, "settlement_value_dollars", True),
            settlement_bounds_type=_bounds_type(d),
            settlement_floor_bp=price_field(d, "settlement_floor_dollars", True),
            **_market_details(d),
        )

    def floor_refuses(self, price_bp: int) -> bool:
        """Whether a YES price is at or below this market's settlement floor (Kalshi rejects it).

        Only ``floor`` markets with a known ``settlement_floor_bp`` refuse anything; the rule
        holds for both book sides (a NO price must be below $1 minus the floor, the same bound).
        """
        floor = self.settlement_floor_bp
        return self.settlement_bounds_type == "floor" and floor is not None and price_bp <= floor


_BOUNDS_TYPES = ("default", "floor")
_STRIKE_TYPES = (
    "", "greater", "greater_or_equal", "less", "less_or_equal", "between", "functional", "custom",
    "structured",
)  # fmt: skip


def _market_details(d: Any) -> dict[str, Any]:
    """Return the descriptive fields of a ``Market`` (titles, times, strikes, rules)."""
    strike_type = str(d.get("strike_type") or "")
    if strike_type not in _STRIKE_TYPES:
        raise ProtocolError(f"field 'strike_type': unknown value {strike_type!r}")
    custom = d.get("custom_strike")
    if custom is not None and not isinstance(custom, dict):
        raise ProtocolError(f"field 'custom_strike': expected an object, got {custom!r}")
    return {
        "subtitle": str(d.get("subtitle") or ""),
        "yes_sub_title": str(d.get("yes_sub_title") or ""),
        "no_sub_title": str(d.get("no_sub_title") or ""),
        **{f"{name}_ns": parse_time_ns(d.get(name)) for name in _MARKET_TIMES},
        "occurrence_time_ns": parse_time_ns(d.get("occurrence_datetime")),
        "settlement_ts_ns": parse_time_ns(d.get("settlement_ts")),
        "settlement_timer_seconds": convert(int, d, "settlement_timer_seconds", True) or 0,
        "previous_yes_bid_bp": price_field(d, "previous_yes_bid_dollars", True),
        "previous_yes_ask_bp": price_field(d, "previous_yes_ask_dollars", True),
        "previous_price_bp": price_field(d, "previous_price_dollars", True),
        "liquidity_micro": money_field(d, "liquidity_dollars", True) or 0,
        "expiration_value": str(d.get("expiration_value") or ""),
        "early_close_condition": optional_str(d, "early_close_condition"),
        "strike_type": strike_type,
        "floor_strike": convert(float, d, "floor_strike", True),
        "cap_strike": convert(float, d, "cap_strike", True),
        "functional_strike": optional_str(d, "functional_strike"),
        "custom_strike": custom,
        "rules_primary": str(d.get("rules_primary") or ""),
        "rules_secondary": str(d.get("rules_secondary") or ""),
        "mve_collection_ticker": str(d.get("mve_collection_ticker") or ""),
        "mve_selected_legs": [dict(leg) for leg in d.get("mve_selected_legs") or []],
        "primary_participant_key": optional_str(d, "primary_participant_key"),
        "is_provisional": bool(d.get("is_provisional", False)),
    }


_MARKET_TIMES = (
    "created_time", "updated_time", "expected_expiration_time", "expiration_time",
    "latest_expiration_time", "fee_waiver_expiration_time",
)  # fmt: skip


def _bounds_type(d: Any) -> str:
    # Required in the October 2026 schemas; absent in older answers (and the 2026-08 spec),
    # where it can only mean "default": no floor was ever applied before the field existed.
    value = d.get("settlement_bounds_type")
    if value is None:
        return "default"
    if value not in _BOUNDS_TYPES:
        raise ProtocolError(f"field 'settlement_bounds_type': {value!r} is not 'default' or 'floor'")
    return str(value)


class Orderbook(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /markets/{ticker}/orderbook``: bids of each leg, ascending, best bid last.

    ``yes`` holds ``(YES price bp, size)``; ``no`` holds ``(NO price bp, size)`` in NO-leg
    prices (the best YES ask is ``10000 - no[-1][0]``).
    """

    ticker: str
    yes: list[tuple[int, int]]
    no: list[tuple[int, int]]

    @classmethod
    def from_json(cls, ticker: str, d: Any) -> Orderbook:
        book = required(d, "orderbook_fp")

        def levels(name: str) -> list[tuple[int, int]]:
            out = []
            for level in book.get(name) or []:
                try:
                    out.append((parse_price_bp(level[0]), parse_size(level[1])))
                except (ValueError, TypeError, IndexError) as exc:
                    raise ProtocolError(f"orderbook_fp.{name}: bad level {level!r}: {exc}") from None
            return out

        return cls(ticker=ticker, yes=levels("yes_dollars"), no=levels("no_dollars"))


class ShardStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Status of one exchange shard."""

    exchange_index: int
    description: str
    exchange_active: bool
    trading_active: bool
    intra_exchange_transfers_active: bool


class ExchangeStatus(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /exchange/status``; the top-level flags describe shard 0."""

    exchange_active: bool
    trading_active: bool
    intra_exchange_transfers_active: bool | None
    exchange_estimated_resume_time: str | None
    shards: list[ShardStatus]

    @classmethod
    def from_json(cls, d: Any) -> ExchangeStatus:
        return cls(
            exchange_active=bool(required(d, "exchange_active")),
            trading_active=bool(required(d, "trading_active")),
            intra_exchange_transfers_active=d.get("intra_exchange_transfers_active"),
            exchange_estimated_resume_time=optional_str(d, "exchange_estimated_resume_time"),
            shards=[
                ShardStatus(
                    exchange_index=int(required(s, "exchange_index")),
                    description=str(s.get("description") or ""),
                    exchange_active=bool(required(s, "exchange_active")),
                    trading_active=bool(required(s, "trading_active")),
                    intra_exchange_transfers_active=bool(s.get("intra_exchange_transfers_active", False)),
                )
                for s in d.get("exchange_index_statuses") or []
            ],
        )


class UserDataTimestamp(msgspec.Struct, frozen=True, kw_only=True):
    """How fresh the REST portfolio data is (``as_of_time`` as Unix ns)."""

    as_of_time: str
    as_of_unix_ns: int

    @classmethod
    def from_json(cls, d: Any) -> UserDataTimestamp:
        text = str(required(d, "as_of_time"))
        ns = parse_time_ns(text)
        assert ns is not None
        return cls(as_of_time=text, as_of_unix_ns=ns)


class AccountLimits(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /account/limits``: tier and bucket sizes (tokens/s and tokens)."""

    usage_tier: str
    read_refill_rate: int
    read_bucket_capacity: int
    write_refill_rate: int
    write_bucket_capacity: int
    grants: list[dict[str, Any]]

    @classmethod
    def from_json(cls, d: Any) -> AccountLimits:
        read, write = required(d, "read"), required(d, "write")
        return cls(
            usage_tier=str(required(d, "usage_tier")),
            read_refill_rate=int(required(read, "refill_rate")),
            read_bucket_capacity=int(required(read, "bucket_capacity")),
            write_refill_rate=int(required(write, "refill_rate")),
            write_bucket_capacity=int(required(write, "bucket_capacity")),
            grants=list(d.get("grants") or []),
        )


class EndpointCost(msgspec.Struct, frozen=True):
    """A non-default endpoint cost."""

    method: str
    path: str
    cost: int


class EndpointCostList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /account/endpoint_costs``."""

    default_cost: int
    endpoint_costs: list[EndpointCost]

    @classmethod
    def from_json(cls, d: Any) -> EndpointCostList:
        return cls(
            default_cost=int(required(d, "default_cost")),
            endpoint_costs=[
                EndpointCost(str(required(e, "method")), str(required(e, "path")), int(required(e, "cost")))
                for e in required(d, "endpoint_costs")
            ],
        )


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    """Available balance in micro-dollars (from ``balance_dollars``), per shard too.

    ``portfolio_value_cents`` and ``balance_cents`` are Kalshi's integer-cent fields, kept as sent.
    """

    balance_micro: int
    balance_cents: int
    portfolio_value_cents: int
    updated_ts: int
    by_exchange_index: dict[int, int]

    @classmethod
    def from_json(cls, d: Any) -> Balance:
        breakdown = {}
        for item in d.get("balance_breakdown") or []:
            breakdown[int(required(item, "exchange_index"))] = money_field(item, "balance")
        return cls(
            balance_micro=money_field(d, "balance_dollars"),
            balance_cents=int(required(d, "balance")),
            portfolio_value_cents=int(required(d, "portfolio_value")),
            updated_ts=int(required(d, "updated_ts")),
            by_exchange_index=breakdown,
        )


