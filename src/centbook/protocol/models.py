"""Typed results of the REST client, in centbook's integer units.

Field names follow Kalshi's (OpenAPI 3.28) with the unit in the name where it changed: prices in
basis points (``*_bp``), contract counts in hundredths (``count``, ``fill_count`` ... are
hundredths, as the ``_fp`` strings are read exactly), money in micro-dollars (``*_micro``).
Kalshi's strings are parsed once here by :mod:`centbook.fixed` (exact integer code, no float).

Each ``from_json`` takes the decoded JSON object of one item and raises
:class:`ProtocolError` naming the field when a required one is missing or malformed.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import msgspec

from centbook.fixed import parse_money, parse_price_bp, parse_size
from centbook.grid import PriceGrid

__all__ = [
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


class ProtocolError(ValueError):
    """A response did not have the shape Kalshi's spec gives it."""


def _get(d: Any, name: str) -> Any:
    try:
        value = d[name]
    except (KeyError, TypeError):
        raise ProtocolError(f"response lacks required field {name!r}") from None
    if value is None:
        raise ProtocolError(f"required field {name!r} is null")
    return value


def _conv(fn: Any, d: Any, name: str, optional: bool = False) -> Any:
    value = d.get(name) if optional else _get(d, name)
    if value is None:
        return None
    try:
        return fn(value)
    except (ValueError, TypeError) as exc:
        raise ProtocolError(f"field {name!r}: {exc}") from None


def _price(d: Any, name: str, optional: bool = False) -> Any:
    return _conv(parse_price_bp, d, name, optional)


def _size(d: Any, name: str, optional: bool = False) -> Any:
    return _conv(parse_size, d, name, optional)


def _money(d: Any, name: str, optional: bool = False) -> Any:
    return _conv(parse_money, d, name, optional)


def parse_time_ns(text: str | None) -> int | None:
    """Parse an RFC 3339 time (``2026-08-10T23:00:00.123456Z``) to Unix nanoseconds."""
    if text is None or text == "":
        return None
    try:
        dt = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ProtocolError(f"bad RFC 3339 time {text!r}: {exc}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.UTC)
    delta = dt - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _opt_str(d: Any, name: str) -> str | None:
    v = d.get(name)
    return None if v is None else str(v)


# -- order writes ---------------------------------------------------------------------------------
class CreateOrderResult(msgspec.Struct, frozen=True, kw_only=True):
    """Answer to Create Order (V2): accepted, not necessarily resting.

    Attributes
    ----------
    order_id, client_order_id : str
    ticker : str
    side : str
        ``bid`` (buy YES) or ``ask`` (sell YES).
    price_bp : int
        The YES limit price sent.
    fill_count, remaining_count : int
        Hundredths of a contract filled on placement / left resting (IOC remainder already gone).
    average_fill_price_micro : int or None
        Volume-weighted fill price in micro-dollars (only with fills): an average of fills at
        different prices need not sit on the grid, and Kalshi sends it with up to 6 decimals.
    average_fee_paid_micro : int or None
        Average fee per contract in micro-dollars (only with fills).
    ts_ms : int or None
        Matching engine time (None when recovered from an unknown outcome).
    exchange_index : int or None
        The shard the request named.
    resolved : bool
        True when the request's outcome was unknown and this was read back from the exchange.
    """

    order_id: str
    client_order_id: str
    ticker: str
    side: str
    price_bp: int
    fill_count: int
    remaining_count: int
    average_fill_price_micro: int | None = None
    average_fee_paid_micro: int | None = None
    ts_ms: int | None = None
    exchange_index: int | None = None
    resolved: bool = False

    @classmethod
    def from_json(
        cls, d: Any, ticker: str, side: str, price_bp: int, exchange_index: int | None
    ) -> CreateOrderResult:
        return cls(
            order_id=str(_get(d, "order_id")),
            client_order_id=str(d.get("client_order_id") or ""),
            ticker=ticker,
            side=side,
            price_bp=price_bp,
            fill_count=_size(d, "fill_count"),
            remaining_count=_size(d, "remaining_count"),
            average_fill_price_micro=_money(d, "average_fill_price", True),
            average_fee_paid_micro=_money(d, "average_fee_paid", True),
            ts_ms=d.get("ts_ms"),
            exchange_index=exchange_index,
        )


class BatchCreateItem(msgspec.Struct, frozen=True, kw_only=True):
    """One order of a batch create: a result, or an error (``ok`` says which)."""

    client_order_id: str
    order_id: str = ""
    fill_count: int | None = None
    remaining_count: int | None = None
    average_fill_price_micro: int | None = None
    average_fee_paid_micro: int | None = None
    ts_ms: int | None = None
    error_code: str = ""
    error_message: str = ""
    error_details: str = ""

    @property
    def ok(self) -> bool:
        """Whether the order was accepted."""
        return not self.error_code and not self.error_message and bool(self.order_id)

    @classmethod
    def from_json(cls, d: Any, client_order_id: str) -> BatchCreateItem:
        err = d.get("error")
        if err:
            from centbook.protocol.errors import error_from_item

            code, message, details = error_from_item(err)
            return cls(
                client_order_id=str(d.get("client_order_id") or client_order_id),
                error_code=code or "error",
                error_message=message,
                error_details=details,
            )
        return cls(
            client_order_id=str(d.get("client_order_id") or client_order_id),
            order_id=str(_get(d, "order_id")),
            fill_count=_size(d, "fill_count", True),
            remaining_count=_size(d, "remaining_count", True),
            average_fill_price_micro=_money(d, "average_fill_price", True),
            average_fee_paid_micro=_money(d, "average_fee_paid", True),
            ts_ms=d.get("ts_ms"),
        )


class CancelResult(msgspec.Struct, frozen=True, kw_only=True):
    """Answer to Cancel Order (V2), or the verdict on a cancel whose outcome was unknown.

    Attributes
    ----------
    order_id, client_order_id : str
    reduced_by : int or None
        Hundredths of a contract cancelled; None when resolved by reading the order back (the
        order's state does not say how much this particular request removed).
    ts_ms : int or None
        Matching engine time (None when resolved).
    resolved : bool
        The request's outcome was unknown and this was read back from the exchange.
    outcome : str
        ``canceled`` (the order is canceled), ``executed`` (it had filled completely: nothing
        was left to cancel), or ``not_found`` (the exchange no longer knows the order).
    resent : int
        How many times the client sent the cancel again after seeing the order still resting.
    order : Order or None
        The order as the exchange showed it when resolved.
    """

    order_id: str
    client_order_id: str
    reduced_by: int | None
    ts_ms: int | None
    resolved: bool = False
    outcome: str = "canceled"
    resent: int = 0
    order: Order | None = None

    @classmethod
    def from_json(cls, d: Any) -> CancelResult:
        return cls(
            order_id=str(_get(d, "order_id")),
            client_order_id=str(d.get("client_order_id") or ""),
            reduced_by=_size(d, "reduced_by"),
            ts_ms=d.get("ts_ms"),
        )


class BatchCancelItem(msgspec.Struct, frozen=True, kw_only=True):
    """One order of a batch cancel: ``reduced_by`` (hundredths), or an error.

    After an unknown outcome each item is resolved like :class:`CancelResult` (``resolved``,
    ``outcome``, ``resent``, ``order``; ``reduced_by`` is None then).
    """

    order_id: str
    client_order_id: str = ""
    reduced_by: int | None = 0
    ts_ms: int | None = None
    error_code: str = ""
    error_message: str = ""
    error_details: str = ""
    resolved: bool = False
    outcome: str = ""
    resent: int = 0
    order: Order | None = None

    @property
    def ok(self) -> bool:
        """Whether the cancel went through."""
        return not self.error_code and not self.error_message

    @classmethod
    def from_json(cls, d: Any) -> BatchCancelItem:
        err = d.get("error")
        code = message = details = ""
        if err:
            from centbook.protocol.errors import error_from_item

            code, message, details = error_from_item(err)
            code = code or "error"
        return cls(
            order_id=str(d.get("order_id") or ""),
            client_order_id=str(d.get("client_order_id") or ""),
            reduced_by=_size(d, "reduced_by", True) or 0,
            ts_ms=d.get("ts_ms"),
            error_code=code,
            error_message=message,
            error_details=details,
        )


class AmendResult(msgspec.Struct, frozen=True, kw_only=True):
    """Answer to Amend Order (V2), or the verdict on an amend whose outcome was unknown.

    Counts are present only when the amend filled or resized. ``order_id`` is the amended order's
    id (V2 keeps it); ``client_order_id`` is the order's id after the amend
    (``updated_client_order_id`` when one was given).

    Attributes
    ----------
    resolved : bool
        The request's outcome was unknown and this was read back from the exchange; then
        ``remaining_count`` is the order's current remaining count, ``fill_count`` and the
        averages are None (fills caused by this amend are not told apart), ``ts_ms`` is None.
    outcome : str
        ``applied`` (the order shows the amended price and size), or ``executed`` /
        ``canceled`` / ``not_found`` (the order stopped resting; whether the amend came first is
        not decided).
    order : Order or None
        The order as the exchange showed it when resolved.
    """

    order_id: str
    client_order_id: str
    remaining_count: int | None
    fill_count: int | None
    average_fill_price_micro: int | None
    average_fee_paid_micro: int | None
    ts_ms: int | None
    resolved: bool = False
    outcome: str = "applied"
    order: Order | None = None

    @classmethod
    def from_json(cls, d: Any) -> AmendResult:
        return cls(
            order_id=str(_get(d, "order_id")),
            client_order_id=str(d.get("client_order_id") or ""),
            remaining_count=_size(d, "remaining_count", True),
            fill_count=_size(d, "fill_count", True),
            average_fill_price_micro=_money(d, "average_fill_price", True),
            average_fee_paid_micro=_money(d, "average_fee_paid", True),
            ts_ms=d.get("ts_ms"),
        )


class DecreaseResult(msgspec.Struct, frozen=True, kw_only=True):
    """Answer to Decrease Order (V2), or the verdict on a decrease whose outcome was unknown.

    Attributes
    ----------
    remaining_count : int
        Hundredths of a contract still resting (read back when resolved).
    resolved : bool
        The request's outcome was unknown and this was read back from the exchange.
    outcome : str
        ``applied`` (the order rests with no more than the decrease asked for), ``canceled``,
        ``executed`` or ``not_found`` (nothing rests any more).
    order : Order or None
        The order as the exchange showed it when resolved.
    """

    order_id: str
    client_order_id: str
    remaining_count: int
    ts_ms: int | None
    resolved: bool = False
    outcome: str = "applied"
    order: Order | None = None

    @classmethod
    def from_json(cls, d: Any) -> DecreaseResult:
        return cls(
            order_id=str(_get(d, "order_id")),
            client_order_id=str(d.get("client_order_id") or ""),
            remaining_count=_size(d, "remaining_count"),
            ts_ms=d.get("ts_ms"),
        )


# -- portfolio ------------------------------------------------------------------------------------
class Order(msgspec.Struct, frozen=True, kw_only=True):
    """An order as ``GET /portfolio/orders`` returns it (V2 vocabulary: ``book_side`` bid/ask)."""

    order_id: str
    user_id: str
    client_order_id: str
    ticker: str
    outcome_side: str
    book_side: str
    type: str
    status: str
    yes_price_bp: int
    no_price_bp: int
    fill_count: int
    remaining_count: int
    initial_count: int
    taker_fill_cost_micro: int
    maker_fill_cost_micro: int
    taker_fees_micro: int
    maker_fees_micro: int
    expiration_time: str | None = None
    created_time_ns: int | None = None
    last_update_time_ns: int | None = None
    self_trade_prevention_type: str | None = None
    order_group_id: str | None = None
    cancel_order_on_pause: bool = False
    subaccount_number: int | None = None
    exchange_index: int | None = None

    @classmethod
    def from_json(cls, d: Any) -> Order:
        return cls(
            order_id=str(_get(d, "order_id")),
            user_id=str(d.get("user_id") or ""),
            client_order_id=str(d.get("client_order_id") or ""),
            ticker=str(_get(d, "ticker")),
            outcome_side=str(_get(d, "outcome_side")),
            book_side=str(_get(d, "book_side")),
            type=str(d.get("type") or "limit"),
            status=str(_get(d, "status")),
            yes_price_bp=_price(d, "yes_price_dollars"),
            no_price_bp=_price(d, "no_price_dollars"),
            fill_count=_size(d, "fill_count_fp"),
            remaining_count=_size(d, "remaining_count_fp"),
            initial_count=_size(d, "initial_count_fp"),
            taker_fill_cost_micro=_money(d, "taker_fill_cost_dollars"),
            maker_fill_cost_micro=_money(d, "maker_fill_cost_dollars"),
            taker_fees_micro=_money(d, "taker_fees_dollars"),
            maker_fees_micro=_money(d, "maker_fees_dollars"),
            expiration_time=_opt_str(d, "expiration_time"),
            created_time_ns=parse_time_ns(d.get("created_time")),
            last_update_time_ns=parse_time_ns(d.get("last_update_time")),
            self_trade_prevention_type=_opt_str(d, "self_trade_prevention_type"),
            order_group_id=_opt_str(d, "order_group_id"),
            cancel_order_on_pause=bool(d.get("cancel_order_on_pause", False)),
            subaccount_number=d.get("subaccount_number"),
            exchange_index=d.get("exchange_index"),
        )


class PortfolioFill(msgspec.Struct, frozen=True, kw_only=True):
    """A fill of one of the user's orders from ``GET /portfolio/fills`` (``count`` in hundredths,
    ``fee_cost_micro``). The WebSocket ``fill`` message is :class:`centbook.protocol.messages.UserFill`."""

    fill_id: str
    trade_id: str
    order_id: str
    ticker: str
    outcome_side: str
    book_side: str
    count: int
    yes_price_bp: int
    no_price_bp: int
    is_taker: bool
    fee_cost_micro: int
    exchange_index: int | None = None
    created_time_ns: int | None = None
    subaccount_number: int | None = None
    ts: int | None = None

    @classmethod
    def from_json(cls, d: Any) -> PortfolioFill:
        return cls(
            fill_id=str(_get(d, "fill_id")),
            trade_id=str(d.get("trade_id") or ""),
            order_id=str(_get(d, "order_id")),
            ticker=str(_get(d, "ticker")),
            outcome_side=str(_get(d, "outcome_side")),
            book_side=str(_get(d, "book_side")),
            count=_size(d, "count_fp"),
            yes_price_bp=_price(d, "yes_price_dollars"),
            no_price_bp=_price(d, "no_price_dollars"),
            is_taker=bool(_get(d, "is_taker")),
            fee_cost_micro=_money(d, "fee_cost"),
            exchange_index=d.get("exchange_index"),
            created_time_ns=parse_time_ns(d.get("created_time")),
            subaccount_number=d.get("subaccount_number"),
            ts=d.get("ts"),
        )



Fill = PortfolioFill  # the earlier name


class MarketPosition(msgspec.Struct, frozen=True, kw_only=True):
    """A market position: ``position`` in hundredths (negative = NO), money in micro-dollars."""

    ticker: str
    exchange_index: int | None
    total_traded_micro: int
    position: int
    market_exposure_micro: int
    realized_pnl_micro: int
    fees_paid_micro: int
    last_updated_ts: str | None = None

    @classmethod
    def from_json(cls, d: Any) -> MarketPosition:
        return cls(
            ticker=str(_get(d, "ticker")),
            exchange_index=d.get("exchange_index"),
            total_traded_micro=_money(d, "total_traded_dollars"),
            position=_size(d, "position_fp"),
            market_exposure_micro=_money(d, "market_exposure_dollars"),
            realized_pnl_micro=_money(d, "realized_pnl_dollars"),
            fees_paid_micro=_money(d, "fees_paid_dollars"),
            last_updated_ts=_opt_str(d, "last_updated_ts"),
        )


class EventPosition(msgspec.Struct, frozen=True, kw_only=True):
    """An event position (money in micro-dollars, shares in hundredths)."""

    event_ticker: str
    total_cost_micro: int
    total_cost_shares: int
    event_exposure_micro: int
    realized_pnl_micro: int
    fees_paid_micro: int

    @classmethod
    def from_json(cls, d: Any) -> EventPosition:
        return cls(
            event_ticker=str(_get(d, "event_ticker")),
            total_cost_micro=_money(d, "total_cost_dollars"),
            total_cost_shares=_size(d, "total_cost_shares_fp"),
            event_exposure_micro=_money(d, "event_exposure_dollars"),
            realized_pnl_micro=_money(d, "realized_pnl_dollars"),
            fees_paid_micro=_money(d, "fees_paid_dollars"),
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
            breakdown[int(_get(item, "exchange_index"))] = _money(item, "balance")
        return cls(
            balance_micro=_money(d, "balance_dollars"),
            balance_cents=int(_get(d, "balance")),
            portfolio_value_cents=int(_get(d, "portfolio_value")),
            updated_ts=int(_get(d, "updated_ts")),
            by_exchange_index=breakdown,
        )


class Settlement(msgspec.Struct, frozen=True, kw_only=True):
    """A settled market of the user (counts in hundredths, money in micro-dollars)."""

    ticker: str
    event_ticker: str
    market_result: str
    yes_count: int
    yes_total_cost_micro: int
    no_count: int
    no_total_cost_micro: int
    revenue_cents: int
    settled_time_ns: int | None
    fee_cost_micro: int
    value: int | None = None

    @classmethod
    def from_json(cls, d: Any) -> Settlement:
        return cls(
            ticker=str(_get(d, "ticker")),
            event_ticker=str(_get(d, "event_ticker")),
            market_result=str(_get(d, "market_result")),
            yes_count=_size(d, "yes_count_fp"),
            yes_total_cost_micro=_money(d, "yes_total_cost_dollars"),
            no_count=_size(d, "no_count_fp"),
            no_total_cost_micro=_money(d, "no_total_cost_dollars"),
            revenue_cents=int(_get(d, "revenue")),
            settled_time_ns=parse_time_ns(d.get("settled_time")),
            fee_cost_micro=_money(d, "fee_cost"),
            value=d.get("value"),
        )


# -- markets and exchange -------------------------------------------------------------------------
class Market(msgspec.Struct, frozen=True, kw_only=True):
    """A market's metadata: prices in bp, sizes in hundredths, its grid and its shard.

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

    def grid(self) -> PriceGrid:
        """Return the market's :class:`~centbook.grid.PriceGrid` (from ``price_ranges``)."""
        return PriceGrid.from_ranges(self.price_ranges)

    @classmethod
    def from_json(cls, d: Any) -> Market:
        return cls(
            ticker=str(_get(d, "ticker")),
            event_ticker=str(_get(d, "event_ticker")),
            market_type=str(d.get("market_type") or ""),
            status=str(_get(d, "status")),
            title=str(d.get("title") or ""),
            yes_bid_bp=_price(d, "yes_bid_dollars"),
            yes_ask_bp=_price(d, "yes_ask_dollars"),
            no_bid_bp=_price(d, "no_bid_dollars"),
            no_ask_bp=_price(d, "no_ask_dollars"),
            yes_bid_size=_size(d, "yes_bid_size_fp", True),
            yes_ask_size=_size(d, "yes_ask_size_fp", True),
            last_price_bp=_price(d, "last_price_dollars"),
            volume=_size(d, "volume_fp"),
            volume_24h=_size(d, "volume_24h_fp"),
            open_interest=_size(d, "open_interest_fp"),
            notional_value_micro=_money(d, "notional_value_dollars"),
            price_level_structure=str(d.get("price_level_structure") or ""),
            price_ranges=[
                {"start": str(r["start"]), "end": str(r["end"]), "step": str(r["step"])}
                for r in _get(d, "price_ranges")
            ],
            exchange_index=int(d.get("exchange_index") or 0),
            open_time_ns=parse_time_ns(d.get("open_time")),
            close_time_ns=parse_time_ns(d.get("close_time")),
            result=str(d.get("result") or ""),
            can_close_early=bool(d.get("can_close_early", False)),
            settlement_value_bp=_price(d, "settlement_value_dollars", True),
            settlement_bounds_type=_bounds_type(d),
            settlement_floor_bp=_price(d, "settlement_floor_dollars", True),
        )

    def floor_refuses(self, price_bp: int) -> bool:
        """Whether a YES price is at or below this market's settlement floor (Kalshi rejects it).

        Only ``floor`` markets with a known ``settlement_floor_bp`` refuse anything; the rule
        holds for both book sides (a NO price must be below $1 minus the floor, the same bound).
        """
        floor = self.settlement_floor_bp
        return self.settlement_bounds_type == "floor" and floor is not None and price_bp <= floor


_BOUNDS_TYPES = ("default", "floor")


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
        book = _get(d, "orderbook_fp")

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
            exchange_active=bool(_get(d, "exchange_active")),
            trading_active=bool(_get(d, "trading_active")),
            intra_exchange_transfers_active=d.get("intra_exchange_transfers_active"),
            exchange_estimated_resume_time=_opt_str(d, "exchange_estimated_resume_time"),
            shards=[
                ShardStatus(
                    exchange_index=int(_get(s, "exchange_index")),
                    description=str(s.get("description") or ""),
                    exchange_active=bool(_get(s, "exchange_active")),
                    trading_active=bool(_get(s, "trading_active")),
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
        text = str(_get(d, "as_of_time"))
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
        read, write = _get(d, "read"), _get(d, "write")
        return cls(
            usage_tier=str(_get(d, "usage_tier")),
            read_refill_rate=int(_get(read, "refill_rate")),
            read_bucket_capacity=int(_get(read, "bucket_capacity")),
            write_refill_rate=int(_get(write, "refill_rate")),
            write_bucket_capacity=int(_get(write, "bucket_capacity")),
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
            default_cost=int(_get(d, "default_cost")),
            endpoint_costs=[
                EndpointCost(str(_get(e, "method")), str(_get(e, "path")), int(_get(e, "cost")))
                for e in _get(d, "endpoint_costs")
            ],
        )


class OrderGroup(msgspec.Struct, frozen=True, kw_only=True):
    """An order group; ``contracts_limit`` in hundredths; ``order_ids`` only from get_order_group."""

    order_group_id: str
    is_auto_cancel_enabled: bool
    contracts_limit: int | None = None
    order_ids: list[str] = []

    @classmethod
    def from_json(cls, d: Any, order_group_id: str | None = None) -> OrderGroup:
        return cls(
            order_group_id=str(order_group_id if order_group_id is not None else _get(d, "id")),
            is_auto_cancel_enabled=bool(_get(d, "is_auto_cancel_enabled")),
            contracts_limit=_size(d, "contracts_limit_fp", True),
            order_ids=[str(o) for o in d.get("orders") or []],
        )
