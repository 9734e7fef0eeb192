"""Kalshi's REST answers about orders and the portfolio, in centbook's integer units.

- order writes: :class:`CreateOrderResult`, :class:`BatchCreateItem`, :class:`CancelResult`,
  :class:`BatchCancelItem`, :class:`AmendResult`, :class:`DecreaseResult`;
- the portfolio: :class:`Order`, :class:`PortfolioFill` (``Fill``), :class:`MarketPosition`,
  :class:`EventPosition`, :class:`Settlement`, :class:`OrderGroup`.

Units and parsing are described once, in :mod:`centbook.protocol.models`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from centbook.protocol.errors import error_from_item
from centbook.protocol.fields import (
    money_field,
    optional_str,
    parse_time_ns,
    price_field,
    required,
    size_field,
)

__all__ = [
    "AmendResult", "BatchCancelItem", "BatchCreateItem", "CancelResult", "CreateOrderResult",
    "DecreaseResult", "EventPosition", "Fill", "MarketPosition", "Order", "OrderGroup",
    "PortfolioFill", "Settlement",
]


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
            order_id=str(required(d, "order_id")),
            client_order_id=str(d.get("client_order_id") or ""),
            ticker=ticker,
            side=side,
            price_bp=price_bp,
            fill_count=size_field(d, "fill_count"),
            remaining_count=size_field(d, "remaining_count"),
            average_fill_price_micro=money_field(d, "average_fill_price", True),
            average_fee_paid_micro=money_field(d, "average_fee_paid", True),
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
            code, message, details = error_from_item(err)
            return cls(
                client_order_id=str(d.get("client_order_id") or client_order_id),
                error_code=code or "error",
                error_message=message,
                error_details=details,
            )
        return cls(
            client_order_id=str(d.get("client_order_id") or client_order_id),
            order_id=str(required(d, "order_id")),
            fill_count=size_field(d, "fill_count", True),
            remaining_count=size_field(d, "remaining_count", True),
            average_fill_price_micro=money_field(d, "average_fill_price", True),
            average_fee_paid_micro=money_field(d, "average_fee_paid", True),
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
            order_id=str(required(d, "order_id")),
            client_order_id=str(d.get("client_order_id") or ""),
            reduced_by=size_field(d, "reduced_by"),
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
            code, message, details = error_from_item(err)
            code = code or "error"
        return cls(
            order_id=str(d.get("order_id") or ""),
            client_order_id=str(d.get("client_order_id") or ""),
            reduced_by=size_field(d, "reduced_by", True) or 0,
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
            order_id=str(required(d, "order_id")),
            client_order_id=str(d.get("client_order_id") or ""),
            remaining_count=size_field(d, "remaining_count", True),
            fill_count=size_field(d, "fill_count", True),
            average_fill_price_micro=money_field(d, "average_fill_price", True),
            average_fee_paid_micro=money_field(d, "average_fee_paid", True),
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
            order_id=str(required(d, "order_id")),
            client_order_id=str(d.get("client_order_id") or ""),
            remaining_count=size_field(d, "remaining_count"),
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
            order_id=str(required(d, "order_id")),
            user_id=str(d.get("user_id") or ""),
            client_order_id=str(d.get("client_order_id") or ""),
            ticker=str(required(d, "ticker")),
            outcome_side=str(required(d, "outcome_side")),
            book_side=str(required(d, "book_side")),
            type=str(d.get("type") or "limit"),
            status=str(required(d, "status")),
            yes_price_bp=price_field(d, "yes_price_dollars"),
            no_price_bp=price_field(d, "no_price_dollars"),
            fill_count=size_field(d, "fill_count_fp"),
            remaining_count=size_field(d, "remaining_count_fp"),
            initial_count=size_field(d, "initial_count_fp"),
            taker_fill_cost_micro=money_field(d, "taker_fill_cost_dollars"),
            maker_fill_cost_micro=money_field(d, "maker_fill_cost_dollars"),
            taker_fees_micro=money_field(d, "taker_fees_dollars"),
            maker_fees_micro=money_field(d, "maker_fees_dollars"),
            expiration_time=optional_str(d, "expiration_time"),
            created_time_ns=parse_time_ns(d.get("created_time")),
            last_update_time_ns=parse_time_ns(d.get("last_update_time")),
            self_trade_prevention_type=optional_str(d, "self_trade_prevention_type"),
            order_group_id=optional_str(d, "order_group_id"),
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
            fill_id=str(required(d, "fill_id")),
            trade_id=str(d.get("trade_id") or ""),
            order_id=str(required(d, "order_id")),
            ticker=str(required(d, "ticker")),
            outcome_side=str(required(d, "outcome_side")),
            book_side=str(required(d, "book_side")),
            count=size_field(d, "count_fp"),
            yes_price_bp=price_field(d, "yes_price_dollars"),
            no_price_bp=price_field(d, "no_price_dollars"),
            is_taker=bool(required(d, "is_taker")),
            fee_cost_micro=money_field(d, "fee_cost"),
            exchange_index=d.get("exchange_index"),
            created_time_ns=parse_time_ns(d.get("created_time")),
            subaccount_number=d.get("subaccount_number"),
            ts=d.get("ts"),
        )



Fill = PortfolioFill  # an alias, kept as a public name


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
            ticker=str(required(d, "ticker")),
            exchange_index=d.get("exchange_index"),
            total_traded_micro=money_field(d, "total_traded_dollars"),
            position=size_field(d, "position_fp"),
            market_exposure_micro=money_field(d, "market_exposure_dollars"),
            realized_pnl_micro=money_field(d, "realized_pnl_dollars"),
            fees_paid_micro=money_field(d, "fees_paid_dollars"),
            last_updated_ts=optional_str(d, "last_updated_ts"),
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
            event_ticker=str(required(d, "event_ticker")),
            total_cost_micro=money_field(d, "total_cost_dollars"),
            total_cost_shares=size_field(d, "total_cost_shares_fp"),
            event_exposure_micro=money_field(d, "event_exposure_dollars"),
            realized_pnl_micro=money_field(d, "realized_pnl_dollars"),
            fees_paid_micro=money_field(d, "fees_paid_dollars"),
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
            ticker=str(required(d, "ticker")),
            event_ticker=str(required(d, "event_ticker")),
            market_result=str(required(d, "market_result")),
            yes_count=size_field(d, "yes_count_fp"),
            yes_total_cost_micro=money_field(d, "yes_total_cost_dollars"),
            no_count=size_field(d, "no_count_fp"),
            no_total_cost_micro=money_field(d, "no_total_cost_dollars"),
            revenue_cents=int(required(d, "revenue")),
            settled_time_ns=parse_time_ns(d.get("settled_time")),
            fee_cost_micro=money_field(d, "fee_cost"),
            value=d.get("value"),
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
            order_group_id=str(order_group_id if order_group_id is not None else required(d, "id")),
            is_auto_cancel_enabled=bool(required(d, "is_auto_cancel_enabled")),
            contracts_limit=size_field(d, "contracts_limit_fp", True),
            order_ids=[str(o) for o in d.get("orders") or []],
        )
