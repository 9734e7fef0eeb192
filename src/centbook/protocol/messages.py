"""Typed messages for every server-to-client message of Kalshi's WebSocket API (off the hot path).

:func:`decode` turns one frame into a msgspec Struct: :class:`OrderbookDelta`, :class:`Trade`,
:class:`UserFill`, :class:`UserOrder`, :class:`MarketLifecycleV2`, ... (:data:`Message` is their
union). Prices, sizes and money arrive converted to centbook's integer units by the exact
parsers of :mod:`centbook.fixed`; the attribute names say the unit:

- ``*_bp``: basis points of $1 (``price_dollars`` -> ``price_bp``),
- ``*_c100``: hundredths of a contract (``count_fp`` -> ``count_c100``),
- ``*_micro``: micro-dollars (``fee_cost`` -> ``fee_cost_micro``).

An order's direction (``book_side``, ``taker_book_side``) decodes to
:class:`centbook.book.OrderSide`, whose members equal the wire strings ``"bid"`` and ``"ask"``.

Every other field keeps its wire name, deprecated ones included while Kalshi still sends them
(``ts``, ``side``, ``action``, ``taker_side``, ``is_yes``, ``created_time``, ...). Fields that are
required by the schema but missing from Kalshi's own examples are optional here.

Nothing is dropped silently: a field this module does not know is kept in the message's
``unknown`` dict (``{"msg.new_field": value}``) and counted by the decoder; a message type it does
not know decodes to :class:`UnknownMessage` and is counted. The legacy integer-cent orderbook and
trade formats (sent before 2026-03-12) raise :class:`LegacyFormatError`: no current server sends
them, and guessing their units would be worse than refusing.

This module shares no code with the embedded exchange (``centbook.sim``). The order-book hot
path does not come through here: see :class:`centbook.books.Books`.
"""
from __future__ import annotations

import types
import typing
from collections import Counter
from enum import IntEnum
from typing import Any, Literal, Union

import msgspec

from centbook.book import OrderSide
from centbook.books import DecodeError
from centbook.fixed import parse_money, parse_price_bp, parse_size
from centbook.grid import PriceGrid

__all__ = [
    "decode", "MessageDecoder", "Message", "LegacyFormatError", "ErrorCode", "PriceBp", "SizeC100",
    "MicroDollars", "PriceRange", "Subscribed", "Unsubscribed", "Ok", "Error", "OrderbookSnapshot",
    "OrderbookDelta", "Ticker", "Trade", "UserFill", "Fill", "MarketPosition", "UserOrder",
    "OrderGroupUpdates",
    "MarketLifecycleV2", "MultivariateMarketLifecycle", "EventLifecycle", "EventFeeUpdate",
    "RfqCreated", "RfqDeleted", "QuoteCreated", "QuoteAccepted", "QuoteExecuted",
    "CfbenchmarksValue", "CfbenchmarksIndexList", "PythValue", "PythUnderlyingList", "UnknownMessage",
]


# ----------------------------------------------------------------------------- units

class PriceBp(int):
    """A price in basis points of $1, decoded from a dollar string (``"0.9600"`` -> 9600)."""


class SizeC100(int):
    """A contract count in hundredths, decoded from a ``*_fp`` string (``"13.55"`` -> 1355)."""


class MicroDollars(int):
    """An amount of money in micro-dollars, decoded from a dollar string (``"0.010000"`` -> 10000)."""


_PARSERS = {PriceBp: parse_price_bp, SizeC100: parse_size, MicroDollars: parse_money}


def dec_hook(tp: type, obj: Any) -> Any:
    parse = _PARSERS.get(tp)
    if parse is None:
        raise NotImplementedError(tp)
    if isinstance(obj, bool) or not isinstance(obj, (str, int)):
        raise TypeError(f"expected a decimal string, got {type(obj).__name__}")
    return tp(parse(str(obj)))


class LegacyFormatError(DecodeError):
    """A message in the integer-cent format Kalshi stopped sending on 2026-03-12."""

    def __init__(self, message: str):
        super().__init__(message, "legacy")


class ErrorCode(IntEnum):
    """Codes of the ``error`` message (:attr:`Error.code`); see PROTOCOL.md 1.4."""
    UNABLE_TO_PROCESS = 1
    PARAMS_REQUIRED = 2
    CHANNELS_REQUIRED = 3
    SUBSCRIPTION_IDS_REQUIRED = 4
    UNKNOWN_COMMAND = 5
    ALREADY_SUBSCRIBED = 6
    UNKNOWN_SUBSCRIPTION_ID = 7
    UNKNOWN_CHANNEL = 8
    AUTHENTICATION_REQUIRED = 9
    CHANNEL_ERROR = 10
    INVALID_PARAMETER = 11
    EXACTLY_ONE_SUBSCRIPTION_ID = 12
    UNSUPPORTED_ACTION = 13
    MARKET_TICKER_REQUIRED = 14
    ACTION_REQUIRED = 15
    MARKET_NOT_FOUND = 16
    INTERNAL_ERROR = 17
    COMMAND_TIMEOUT = 18
    SHARD_FACTOR_POSITIVE = 19
    SHARD_FACTOR_REQUIRED = 20
    SHARD_KEY_RANGE = 21
    SHARD_FACTOR_MAX = 22
    MATCH_IDS_REQUIRED = 23
    INDEX_IDS_REQUIRED = 24
    SUBSCRIPTION_BUFFER_OVERFLOW = 25
    SUBSCRIPTION_MARKET_LIMIT = 26
    TOO_MANY_REQUESTS = 27
    UNDERLYING_TICKERS_REQUIRED = 28


# Errors after which the subscription is dead and must be re-created.
TERMINAL_ERROR_CODES = frozenset({ErrorCode.CHANNEL_ERROR, ErrorCode.INTERNAL_ERROR,
                                  ErrorCode.SUBSCRIPTION_BUFFER_OVERFLOW})


def _f(name: str, default: Any = msgspec.NODEFAULT) -> Any:
    return msgspec.field(name=name, default=default)


def _opt(name: str) -> Any:
    return msgspec.field(name=name, default=None)


class _Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of message bodies and nested objects."""


class _Envelope(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True):
    """Base of every message: the envelope fields, and what the decoder did not know."""
    # fields this module does not know, by path ("msg.new_field"); None when there were none
    unknown: dict[str, Any] | None = _opt("__centbook_unknown__")


# ----------------------------------------------------------------------------- control replies

class SubscriptionInfo(_Body, kw_only=True):
    channel: str
    sid: int


class Subscribed(_Envelope, tag="subscribed", kw_only=True):
    """Reply to ``subscribe``: one per channel, with the new subscription id."""
    msg: SubscriptionInfo
    id: int | None = None


class Unsubscribed(_Envelope, tag="unsubscribed", kw_only=True):
    """Reply to ``unsubscribe``: one per sid; it carries the sid's last seq."""
    sid: int
    seq: int
    id: int | None = None


class OkMarkets(_Body, kw_only=True):
    market_tickers: list[str] | None = None
    market_ids: list[str] | None = None


class Ok(_Envelope, tag="ok", kw_only=True):
    """Reply to ``update_subscription`` (``msg`` an :class:`OkMarkets`, omitted with
    ``skip_ticker_ack``) or ``list_subscriptions`` (``msg`` a list of :class:`SubscriptionInfo`)."""
    id: int | None = None
    sid: int | None = None
    seq: int | None = None
    msg: OkMarkets | list[SubscriptionInfo] | None = None


class ErrorBody(_Body, kw_only=True):
    code: int
    msg: str
    market_ticker: str | None = None
    market_tickers: list[str] | None = None
    market_id: str | None = None


class Error(_Envelope, tag="error", kw_only=True):
    """A refused command (or a subscription-scoped failure when ``sid`` is set)."""
    msg: ErrorBody
    id: int | None = None
    sid: int | None = None
    seq: int | None = None

    @property
    def code(self) -> ErrorCode | int:
        """The code as an :class:`ErrorCode`, or the plain int for a code this version lacks."""
        try:
            return ErrorCode(self.msg.code)
        except ValueError:
            return self.msg.code

    @property
    def is_terminal(self) -> bool:
        """True for the errors after which the subscription must be re-created (10, 17, 25)."""
        return self.msg.code in TERMINAL_ERROR_CODES


# ----------------------------------------------------------------------------- market data

class SnapshotBody(_Body, kw_only=True):
    market_ticker: str
    market_id: str | None = None
    yes: list[tuple[PriceBp, SizeC100]] = _f("yes_dollars_fp", [])
    no: list[tuple[PriceBp, SizeC100]] = _f("no_dollars_fp", [])


class OrderbookSnapshot(_Envelope, tag="orderbook_snapshot", kw_only=True):
    """The whole book of one market: YES bids and NO bids as (price_bp, size_c100) pairs.

    NO prices are as sent: NO-leg prices unless the subscription asked for ``use_yes_price``.
    """
    sid: int
    seq: int
    msg: SnapshotBody
    id: int | None = None


class DeltaBody(_Body, kw_only=True):
    market_ticker: str
    price_bp: PriceBp = _f("price_dollars")
    delta_c100: SizeC100 = _f("delta_fp")
    side: Literal["yes", "no"]
    market_id: str | None = None
    client_order_id: str | None = None
    subaccount: int | None = None
    ts_ms: int | None = None
    ts: str | None = None


class OrderbookDelta(_Envelope, tag="orderbook_delta", kw_only=True):
    """A signed change of one level (``delta_c100`` is added to the level)."""
    sid: int
    seq: int
    msg: DeltaBody


class TickerBody(_Body, kw_only=True):
    market_ticker: str
    market_id: str | None = None
    price_bp: PriceBp = _f("price_dollars")
    yes_bid_bp: PriceBp = _f("yes_bid_dollars")
    yes_ask_bp: PriceBp = _f("yes_ask_dollars")
    volume_c100: SizeC100 = _f("volume_fp")
    open_interest_c100: SizeC100 = _f("open_interest_fp")
    dollar_volume: int | None = None
    dollar_open_interest: int | None = None
    yes_bid_size_c100: SizeC100 | None = _opt("yes_bid_size_fp")
    yes_ask_size_c100: SizeC100 | None = _opt("yes_ask_size_fp")
    last_trade_size_c100: SizeC100 | None = _opt("last_trade_size_fp")
    ts: int | None = None
    ts_ms: int | None = None
    time: str | None = None


class Ticker(_Envelope, tag="ticker", kw_only=True):
    """Top of book, last trade, volume and open interest of one market."""
    sid: int
    msg: TickerBody
    seq: int | None = None


class TradeBody(_Body, kw_only=True):
    trade_id: str
    market_ticker: str
    yes_price_bp: PriceBp = _f("yes_price_dollars")
    no_price_bp: PriceBp = _f("no_price_dollars")
    count_c100: SizeC100 = _f("count_fp")
    taker_side: Literal["yes", "no"] | None = None
    taker_outcome_side: Literal["yes", "no"] | None = None
    taker_book_side: OrderSide | None = None
    is_block_trade: bool | None = None
    ts: int | None = None
    ts_ms: int | None = None


class Trade(_Envelope, tag="trade", kw_only=True):
    """A public trade."""
    sid: int
    msg: TradeBody
    seq: int | None = None


class FillBody(_Body, kw_only=True):
    trade_id: str
    order_id: str
    market_ticker: str
    is_taker: bool
    yes_price_bp: PriceBp = _f("yes_price_dollars")
    count_c100: SizeC100 = _f("count_fp")
    fee_cost_micro: MicroDollars | None = _opt("fee_cost")
    post_position_c100: SizeC100 | None = _opt("post_position_fp")
    outcome_side: Literal["yes", "no"] | None = None
    book_side: OrderSide | None = None
    exchange_index: int | None = None
    client_order_id: str | None = None
    subaccount: int | None = None
    ts_ms: int | None = None
    side: Literal["yes", "no"] | None = None
    action: str | None = None
    purchased_side: Literal["yes", "no"] | None = None
    ts: int | None = None


class UserFill(_Envelope, tag="fill", kw_only=True):
    """One of your fills, from the ``fill`` channel (only the YES price is sent: NO price = 10000 -
    yes_price_bp). The REST fills history is :class:`centbook.protocol.models.PortfolioFill`."""
    sid: int
    msg: FillBody
    seq: int | None = None


Fill = UserFill  # an alias, kept as a public name


class MarketPositionBody(_Body, kw_only=True):
    user_id: str
    market_ticker: str
    position_c100: SizeC100 = _f("position_fp")
    position_cost_micro: MicroDollars = _f("position_cost_dollars")
    realized_pnl_micro: MicroDollars = _f("realized_pnl_dollars")
    fees_paid_micro: MicroDollars = _f("fees_paid_dollars")
    position_fee_cost_micro: MicroDollars | None = _opt("position_fee_cost_dollars")
    volume_c100: SizeC100 | None = _opt("volume_fp")
    subaccount: int | None = None


class MarketPosition(_Envelope, tag="market_position", kw_only=True):
    """Your position in one market (channel ``market_positions``)."""
    sid: int
    msg: MarketPositionBody
    seq: int | None = None


class UserOrderBody(_Body, kw_only=True):
    order_id: str
    user_id: str
    ticker: str
    status: str
    yes_price_bp: PriceBp = _f("yes_price_dollars")
    fill_count_c100: SizeC100 = _f("fill_count_fp")
    remaining_count_c100: SizeC100 = _f("remaining_count_fp")
    initial_count_c100: SizeC100 = _f("initial_count_fp")
    taker_fill_cost_micro: MicroDollars | None = _opt("taker_fill_cost_dollars")
    maker_fill_cost_micro: MicroDollars | None = _opt("maker_fill_cost_dollars")
    taker_fees_micro: MicroDollars | None = _opt("taker_fees_dollars")
    maker_fees_micro: MicroDollars | None = _opt("maker_fees_dollars")
    outcome_side: Literal["yes", "no"] | None = None
    book_side: OrderSide | None = None
    exchange_index: int | None = None
    client_order_id: str | None = None
    order_group_id: str | None = None
    self_trade_prevention_type: str | None = None
    last_update_reason: str | None = None
    created_ts_ms: int | None = None
    last_updated_ts_ms: int | None = None
    expiration_ts_ms: int | None = None
    subaccount_number: int | None = None
    side: Literal["yes", "no"] | None = None
    is_yes: bool | None = None
    created_time: str | None = None
    last_update_time: str | None = None
    expiration_time: str | None = None


class UserOrder(_Envelope, tag="user_order", kw_only=True):
    """A change of one of your orders (channel ``user_orders``; the ticker field is ``ticker``)."""
    sid: int
    msg: UserOrderBody
    seq: int | None = None


class OrderGroupBody(_Body, kw_only=True):
    event_type: str
    order_group_id: str
    contracts_limit_c100: SizeC100 | None = _opt("contracts_limit_fp")
    ts_ms: int | None = None


class OrderGroupUpdates(_Envelope, tag="order_group_updates", kw_only=True):
    """An order group was created, triggered, reset, deleted or had its limit changed."""
    sid: int
    seq: int
    msg: OrderGroupBody


class PriceRange(_Body, kw_only=True):
    """One band of a market's ``price_ranges``, in basis points."""
    start_bp: PriceBp = _f("start")
    end_bp: PriceBp = _f("end")
    step_bp: PriceBp = _f("step")


class LifecycleBody(_Body, kw_only=True):
    event_type: str
    market_ticker: str
    exchange_index: int | None = None
    open_ts: int | None = None
    close_ts: int | None = None
    result: str | None = None
    determination_ts: int | None = None
    settlement_value_bp: PriceBp | None = _opt("settlement_value")
    settled_ts: int | None = None
    is_deactivated: bool | None = None
    price_level_structure: str | None = None
    price_ranges: list[PriceRange] | None = None
    strike_type: str | None = None
    floor_strike: float | None = None
    cap_strike: float | None = None
    custom_strike: dict[str, Any] | None = None
    yes_sub_title: str | None = None
    additional_metadata: dict[str, Any] | None = None

    def grid(self) -> PriceGrid | None:
        """Return the market's new :class:`~centbook.grid.PriceGrid` (for
        :meth:`OrderBook.regrid <centbook.book.OrderBook.regrid>`), or None without ``price_ranges``."""
        if not self.price_ranges:
            return None
        return PriceGrid.from_bands([(r.start_bp, r.end_bp, r.step_bp) for r in self.price_ranges])


class MarketLifecycleV2(_Envelope, tag="market_lifecycle_v2", kw_only=True):
    """A market was created, (de)activated, re-dated, determined, settled or re-gridded.

    On ``event_type == "price_level_structure_updated"``, ``msg.grid()`` is the new grid.
    """
    sid: int
    msg: LifecycleBody
    seq: int | None = None


class MultivariateMarketLifecycle(_Envelope, tag="multivariate_market_lifecycle", kw_only=True):
    """As :class:`MarketLifecycleV2`, for combo (KXMVE) markets."""
    sid: int
    msg: LifecycleBody
    seq: int | None = None


class EventLifecycleBody(_Body, kw_only=True):
    event_ticker: str
    title: str
    subtitle: str
    series_ticker: str
    exchange_index: int | None = None
    collateral_return_type: str | None = None
    strike_date: int | None = None
    strike_period: str | None = None


class EventLifecycle(_Envelope, tag="event_lifecycle", kw_only=True):
    """An event was created (channels ``market_lifecycle_v2``, ``multivariate_market_lifecycle``)."""
    sid: int
    msg: EventLifecycleBody
    seq: int | None = None


class EventFeeBody(_Body, kw_only=True):
    event_ticker: str
    fee_type_override: str | None = None
    fee_multiplier_override: float | None = None


class EventFeeUpdate(_Envelope, tag="event_fee_update", kw_only=True):
    """An event's fee override changed (both fields None when it was cleared)."""
    sid: int
    msg: EventFeeBody
    seq: int | None = None


# ----------------------------------------------------------------------------- communications (RFQ)

class MveLeg(_Body, kw_only=True):
    event_ticker: str | None = None
    market_ticker: str | None = None
    side: str | None = None
    yes_settlement_value_bp: PriceBp | None = _opt("yes_settlement_value_dollars")


class RfqCreatedBody(_Body, kw_only=True):
    id: str
    creator_id: str
    market_ticker: str
    created_ts: str
    event_ticker: str | None = None
    contracts_c100: SizeC100 | None = _opt("contracts_fp")
    target_cost_micro: MicroDollars | None = _opt("target_cost_dollars")
    mve_collection_ticker: str | None = None
    mve_selected_legs: list[MveLeg] | None = None


class RfqCreated(_Envelope, tag="rfq_created", kw_only=True):
    sid: int
    msg: RfqCreatedBody
    seq: int | None = None


class RfqDeletedBody(_Body, kw_only=True):
    id: str
    creator_id: str
    market_ticker: str
    deleted_ts: str
    event_ticker: str | None = None
    contracts_c100: SizeC100 | None = _opt("contracts_fp")
    target_cost_micro: MicroDollars | None = _opt("target_cost_dollars")


class RfqDeleted(_Envelope, tag="rfq_deleted", kw_only=True):
    sid: int
    msg: RfqDeletedBody
    seq: int | None = None


class QuoteBody(_Body, kw_only=True):
    quote_id: str
    rfq_id: str
    quote_creator_id: str
    market_ticker: str
    yes_bid_bp: PriceBp = _f("yes_bid_dollars")
    no_bid_bp: PriceBp = _f("no_bid_dollars")
    rfq_creator_id: str | None = None
    event_ticker: str | None = None
    yes_contracts_offered_c100: SizeC100 | None = _opt("yes_contracts_offered_fp")
    no_contracts_offered_c100: SizeC100 | None = _opt("no_contracts_offered_fp")
    rfq_target_cost_micro: MicroDollars | None = _opt("rfq_target_cost_dollars")
    created_ts: str | None = None
    accepted_side: Literal["yes", "no"] | None = None
    contracts_accepted_c100: SizeC100 | None = _opt("contracts_accepted_fp")
    subaccount: int | None = None


class QuoteCreated(_Envelope, tag="quote_created", kw_only=True):
    sid: int
    msg: QuoteBody
    seq: int | None = None


class QuoteAccepted(_Envelope, tag="quote_accepted", kw_only=True):
    sid: int
    msg: QuoteBody
    seq: int | None = None


class QuoteExecutedBody(_Body, kw_only=True):
    quote_id: str
    rfq_id: str
    quote_creator_id: str
    rfq_creator_id: str
    order_id: str
    client_order_id: str
    market_ticker: str
    executed_ts: str
    subaccount: int | None = None


class QuoteExecuted(_Envelope, tag="quote_executed", kw_only=True):
    """Your quote executed; ``order_id`` / ``client_order_id`` correlate with the fill."""
    sid: int
    msg: QuoteExecutedBody
    seq: int | None = None


# ----------------------------------------------------------------------------- index feeds

class CfbenchmarksAverage(_Body, kw_only=True):
    value: str
    window_size: int
    window_start_ts_ms: int
    window_end_ts_exclusive: int


class CfbenchmarksValueBody(_Body, kw_only=True):
    index_id: str
    received_at: int
    data: str
    avg_60s_data: CfbenchmarksAverage
    last_60s_windowed_average_15min: CfbenchmarksAverage | None = None


class CfbenchmarksValue(_Envelope, tag="cfbenchmarks_value", kw_only=True):
    """An index value (decimal strings kept as sent: they are not prices of a contract)."""
    sid: int
    seq: int
    msg: CfbenchmarksValueBody


class IndexListBody(_Body, kw_only=True):
    index_ids: list[str]


class CfbenchmarksIndexList(_Envelope, tag="cfbenchmarks_value_indexlist", kw_only=True):
    sid: int
    seq: int
    msg: IndexListBody
    id: int | None = None


class PythValueBody(_Body, kw_only=True):
    underlying_ticker: str
    value_usd: str
    source_ts_ms: int
    received_at: int


class PythValue(_Envelope, tag="pyth_value", kw_only=True):
    sid: int
    seq: int
    msg: PythValueBody


class UnderlyingListBody(_Body, kw_only=True):
    underlying_tickers: list[str]


class PythUnderlyingList(_Envelope, tag="pyth_value_underlying_list", kw_only=True):
    sid: int
    seq: int
    msg: UnderlyingListBody
    id: int | None = None


class UnknownMessage(msgspec.Struct, kw_only=True):
    """A message whose ``type`` this version does not know: kept whole, and counted."""
    type: str
    raw: dict[str, Any]
    sid: int | None = None
    seq: int | None = None


Message = (
    Subscribed | Unsubscribed | Ok | Error | OrderbookSnapshot | OrderbookDelta | Ticker | Trade |
    UserFill | MarketPosition | UserOrder | OrderGroupUpdates | MarketLifecycleV2 |
    MultivariateMarketLifecycle | EventLifecycle | EventFeeUpdate | RfqCreated | RfqDeleted |
    QuoteCreated | QuoteAccepted | QuoteExecuted | CfbenchmarksValue | CfbenchmarksIndexList |
    PythValue | PythUnderlyingList
)
MESSAGE_TYPES: dict[str, type] = {
    cls.__struct_config__.tag: cls for cls in typing.get_args(Message)
}

# Fields of the integer-cent format (before 2026-03-12), by message type.
_LEGACY_FIELDS = {
    "orderbook_snapshot": {"yes", "no", "yes_dollars", "no_dollars"},
    "orderbook_delta": {"price", "delta"},
    "trade": {"yes_price", "no_price", "count"},
    "ticker": {"price", "yes_bid", "yes_ask", "volume", "open_interest"},
    "fill": {"yes_price", "no_price", "count"},
    "market_position": {"position", "position_cost", "realized_pnl", "fees_paid"},
}


def _strip_unknown(obj: Any, tp: Any, path: str, found: dict[str, Any]) -> None:
    """Remove (into ``found``) every key of ``obj`` that ``tp`` does not declare, recursively."""
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        for member in typing.get_args(tp):
            if isinstance(obj, dict) and isinstance(member, type) and issubclass(member, msgspec.Struct):
                _strip_unknown(obj, member, path, found)
            elif isinstance(obj, list) and typing.get_origin(member) is list:
                _strip_unknown(obj, member, path, found)
        return
    if origin is list:
        if isinstance(obj, list):
            (item,) = typing.get_args(tp)
            for i, value in enumerate(obj):
                _strip_unknown(value, item, f"{path}[{i}]", found)
        return
    if not (isinstance(tp, type) and issubclass(tp, msgspec.Struct) and isinstance(obj, dict)):
        return
    known = {f.encode_name: f.type for f in msgspec.structs.fields(tp)}
    tag_field = tp.__struct_config__.tag_field
    for key in list(obj):
        if key == tag_field:
            continue
        where = f"{path}.{key}" if path else key
        if key not in known:
            found[where] = obj.pop(key)
        else:
            _strip_unknown(obj[key], known[key], where, found)


class MessageDecoder:
    """Decode frames into typed messages, counting what it does not know.

    Attributes
    ----------
    messages : int
        Frames decoded.
    unknown_types : collections.Counter
        Message types this version does not know, by type.
    unknown_fields : collections.Counter
        Fields this version does not know, by ``"type:path"`` (``"ticker:msg.new_field"``).
    """

    def __init__(self) -> None:
        self._decoder = msgspec.json.Decoder(Message, dec_hook=dec_hook)
        self.messages = 0
        self.unknown_types: Counter[str] = Counter()
        self.unknown_fields: Counter[str] = Counter()

    def decode(self, frame: bytes | bytearray | memoryview | str) -> Any:
        """Decode one server message.

        Parameters
        ----------
        frame : bytes, bytearray, memoryview or str
            One WebSocket text frame.

        Returns
        -------
        Message or UnknownMessage
            The typed message; ``msg.unknown`` holds fields this version does not know.

        Raises
        ------
        LegacyFormatError
            For the integer-cent format of before 2026-03-12.
        DecodeError
            If the frame is not JSON, not an object, or a field is missing or of the wrong type
            or value (``reason`` is ``"json"`` or ``"schema"``).
        """
        self.messages += 1
        try:
            return self._decoder.decode(frame)
        except msgspec.ValidationError as exc:
            return self._slow(frame, exc)
        except msgspec.DecodeError as exc:
            raise DecodeError(f"not a JSON message: {exc}", "json") from None

    def _slow(self, frame: Any, first: msgspec.ValidationError) -> Any:
        """The frame did not fit its schema as is: unknown type, unknown fields, legacy or bad."""
        raw = msgspec.json.decode(frame)
        if not isinstance(raw, dict):
            raise DecodeError(f"a message is a JSON object, got {type(raw).__name__}", "schema")
        kind = raw.get("type")
        if not isinstance(kind, str):
            raise DecodeError(f"message without a string type: {first}", "schema")
        cls = MESSAGE_TYPES.get(kind)
        if cls is None:
            self.unknown_types[kind] += 1
            sid, seq = raw.get("sid"), raw.get("seq")
            return UnknownMessage(type=kind, raw=raw, sid=sid if isinstance(sid, int) else None,
                                  seq=seq if isinstance(seq, int) else None)
        body = raw.get("msg")
        legacy = _LEGACY_FIELDS.get(kind, set())
        if isinstance(body, dict) and legacy & body.keys():
            fields = sorted(legacy & body.keys())
            raise LegacyFormatError(f"{kind} in the legacy integer-cent format (fields {fields}); "
                                    "not sent since 2026-03-12, not supported")
        found: dict[str, Any] = {}
        _strip_unknown(raw, cls, "", found)
        try:
            message: Any = msgspec.convert(raw, cls, dec_hook=dec_hook)
        except msgspec.ValidationError as exc:
            raise DecodeError(f"{kind}: {exc}", "schema") from None
        if found:
            for path in found:
                self.unknown_fields[f"{kind}:{path}"] += 1
            message.unknown = found
        return message


_default = MessageDecoder()


def decode(frame: bytes | bytearray | memoryview | str) -> Any:
    """Decode one server message into its typed form (see :meth:`MessageDecoder.decode`).

    Counts go to a module-wide :class:`MessageDecoder`, reported by :func:`decoder_stats`.
    """
    return _default.decode(frame)


def decoder_stats() -> dict[str, Any]:
    """Return the module-wide decoder's counters: messages, unknown types and unknown fields."""
    return {"messages": _default.messages, "unknown_types": dict(_default.unknown_types),
            "unknown_fields": dict(_default.unknown_fields)}
