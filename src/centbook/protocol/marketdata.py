"""Kalshi's public market-data answers in centbook's units: trades, candlesticks, events, series.

- the tape: :class:`PublicTrade` (``GET /markets/trades``);
- candlesticks: :class:`Ohlc`, :class:`Candlestick`, :class:`MarketCandlesticks`,
  :class:`EventCandlesticks` (one market, a batch, an event);
- the historical tier: :class:`HistoricalCutoff`;
- combos: :class:`MultivariateCollection`;
- the listing: :class:`SettlementSource`, :class:`Event`, :class:`EventMetadata`,
  :class:`Series` (fee type and multiplier, the multiplier in parts per million).

Units and parsing are described once, in :mod:`centbook.protocol.models`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from centbook.protocol.fields import (
    ProtocolError,
    convert,
    optional_str,
    parse_time_ns,
    price_field,
    required,
    size_field,
)
from centbook.protocol.markets import Market

__all__ = [
    "Candlestick", "Event", "EventCandlesticks", "EventMetadata", "HistoricalCutoff",
    "MarketCandlesticks", "MultivariateCollection", "Ohlc",
    "PublicTrade", "Series", "SettlementSource",
]


def _ppm(value: Any) -> int:
    """Return a decimal multiplier (``0.07``) in parts per million, rounded to the nearest."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {value!r}")
    return round(float(value) * 1_000_000)


class PublicTrade(msgspec.Struct, frozen=True, kw_only=True):
    """One trade on the public tape: YES price in bp, size in hundredths, time in Unix ns.

    ``taker_book_side`` is ``bid`` when the taker bought YES, ``ask`` when it sold YES.
    """

    trade_id: str
    ticker: str
    count: int
    yes_price_bp: int
    no_price_bp: int
    taker_outcome_side: str
    taker_book_side: str
    created_time_ns: int
    is_block_trade: bool

    @classmethod
    def from_json(cls, d: Any) -> PublicTrade:
        created = parse_time_ns(str(required(d, "created_time")))
        assert created is not None
        return cls(
            trade_id=str(required(d, "trade_id")),
            ticker=str(required(d, "ticker")),
            count=size_field(d, "count_fp"),
            yes_price_bp=price_field(d, "yes_price_dollars"),
            no_price_bp=price_field(d, "no_price_dollars"),
            taker_outcome_side=str(required(d, "taker_outcome_side")),
            taker_book_side=str(required(d, "taker_book_side")),
            created_time_ns=created,
            is_block_trade=bool(required(d, "is_block_trade")),
        )


class Ohlc(msgspec.Struct, frozen=True, array_like=True):
    """Open, low, high and close of one price over a candle, in bp."""

    open_bp: int
    low_bp: int
    high_bp: int
    close_bp: int

    @classmethod
    def from_json(cls, d: Any, name: str, suffix: str = "_dollars") -> Ohlc:
        dist = required(d, name)
        values = [price_field(dist, f"{k}{suffix}") for k in ("open", "low", "high", "close")]
        return cls(*values)


class Candlestick(msgspec.Struct, frozen=True, kw_only=True):
    """One period of one market (it ends at ``end_period_ts``, Unix seconds).

    ``price`` is the traded YES price over the period, None when nothing traded;
    ``mean_price_bp`` its mean; ``previous_price_bp`` the last trade before the period (None
    before any trade). ``volume`` and ``open_interest`` in hundredths.
    """

    end_period_ts: int
    yes_bid: Ohlc
    yes_ask: Ohlc
    price: Ohlc | None
    mean_price_bp: int | None
    previous_price_bp: int | None
    volume: int
    open_interest: int

    @classmethod
    def from_json(cls, d: Any, historical: bool = False) -> Candlestick:
        """Read a live ``MarketCandlestick`` or, with ``historical``, the historical tier's shape
        (the same figures without the ``_dollars`` and ``_fp`` suffixes)."""
        money, count = ("", "") if historical else ("_dollars", "_fp")
        price = d.get("price") or {}
        traded = price.get(f"open{money}") is not None
        return cls(
            end_period_ts=convert(int, d, "end_period_ts"),
            yes_bid=Ohlc.from_json(d, "yes_bid", money),
            yes_ask=Ohlc.from_json(d, "yes_ask", money),
            price=Ohlc.from_json(d, "price", money) if traded else None,
            mean_price_bp=price_field(price, f"mean{money}", True),
            previous_price_bp=price_field(price, f"previous{money}", True),
            volume=size_field(d, f"volume{count}"),
            open_interest=size_field(d, f"open_interest{count}"),
        )


class MarketCandlesticks(msgspec.Struct, frozen=True, kw_only=True):
    """The candles of one market, oldest first."""

    ticker: str
    candlesticks: list[Candlestick]

    @classmethod
    def from_json(cls, d: Any, ticker_field: str = "ticker") -> MarketCandlesticks:
        return cls(
            ticker=str(required(d, ticker_field)),
            candlesticks=[Candlestick.from_json(c) for c in required(d, "candlesticks")],
        )


class EventCandlesticks(msgspec.Struct, frozen=True, kw_only=True):
    """An event's markets' candles; ``adjusted_end_ts`` is where Kalshi cut a range too long."""

    markets: list[MarketCandlesticks]
    adjusted_end_ts: int

    @classmethod
    def from_json(cls, d: Any) -> EventCandlesticks:
        tickers = required(d, "market_tickers")
        series = required(d, "market_candlesticks")
        if len(tickers) != len(series):
            raise ProtocolError(
                f"market_tickers has {len(tickers)} entries, market_candlesticks {len(series)}"
            )
        return cls(
            markets=[
                MarketCandlesticks(ticker=str(t), candlesticks=[Candlestick.from_json(c) for c in cs])
                for t, cs in zip(tickers, series, strict=True)
            ],
            adjusted_end_ts=convert(int, d, "adjusted_end_ts"),
        )


class SettlementSource(msgspec.Struct, frozen=True):
    """Where a market's outcome is read."""

    name: str
    url: str

    @classmethod
    def list_from(cls, d: Any) -> list[SettlementSource]:
        sources = d.get("settlement_sources") or []
        return [cls(str(s.get("name") or ""), str(s.get("url") or "")) for s in sources]


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """An event: its markets share a series and, when ``mutually_exclusive``, one outcome.

    ``markets`` holds the nested markets (``with_nested_markets``, or the markets
    ``GET /events/{ticker}`` lists beside the event); empty otherwise. The fee overrides, when
    set, replace the series' fee type and multiplier (ppm) for this event's markets.
    """

    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str
    collateral_return_type: str
    mutually_exclusive: bool
    category: str
    strike_date_ns: int | None
    strike_period: str | None
    settlement_sources: list[SettlementSource]
    last_updated_ns: int | None
    fee_type_override: str | None
    fee_multiplier_override_ppm: int | None
    exchange_index: int
    markets: list[Market]

    @classmethod
    def from_json(cls, d: Any, markets: Any = None) -> Event:
        nested = d.get("markets") if markets is None else markets
        return cls(
            event_ticker=str(required(d, "event_ticker")),
            series_ticker=str(required(d, "series_ticker")),
            title=str(required(d, "title")),
            sub_title=str(required(d, "sub_title")),
            collateral_return_type=str(required(d, "collateral_return_type")),
            mutually_exclusive=bool(required(d, "mutually_exclusive")),
            category=str(d.get("category") or ""),
            strike_date_ns=parse_time_ns(d.get("strike_date")),
            strike_period=optional_str(d, "strike_period"),
            settlement_sources=SettlementSource.list_from(d),
            last_updated_ns=parse_time_ns(d.get("last_updated_ts")),
            fee_type_override=optional_str(d, "fee_type_override"),
            fee_multiplier_override_ppm=convert(_ppm, d, "fee_multiplier_override", True),
            exchange_index=int(d.get("exchange_index") or 0),
            markets=[Market.from_json(m) for m in nested or []],
        )


class EventMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /events/{ticker}/metadata``: images, sources and each market's colour."""

    image_url: str
    featured_image_url: str
    settlement_sources: list[SettlementSource]
    market_details: list[dict[str, str]]
    competition: str | None
    competition_scope: str | None

    @classmethod
    def from_json(cls, d: Any) -> EventMetadata:
        required(d, "settlement_sources")
        return cls(
            image_url=str(required(d, "image_url")),
            featured_image_url=str(d.get("featured_image_url") or ""),
            settlement_sources=SettlementSource.list_from(d),
            market_details=[
                {k: str(required(m, k)) for k in ("market_ticker", "image_url", "color_code")}
                for m in required(d, "market_details")
            ],
            competition=optional_str(d, "competition"),
            competition_scope=optional_str(d, "competition_scope"),
        )


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """A series: a template its events repeat, with the fee schedule of their markets.

    ``fee_type`` is Kalshi's (``quadratic``, ``quadratic_with_maker_fees``, ``flat``);
    ``fee_multiplier_ppm`` its multiplier in parts per million (0.07 -> 70000).
    """

    ticker: str
    frequency: str
    title: str
    category: str
    tags: list[str]
    settlement_sources: list[SettlementSource]
    contract_url: str
    contract_terms_url: str
    fee_type: str
    fee_multiplier_ppm: int
    additional_prohibitions: list[str]
    volume: int | None
    last_updated_ns: int | None
    exchange_index: int

    @classmethod
    def from_json(cls, d: Any) -> Series:
        return cls(
            ticker=str(required(d, "ticker")),
            frequency=str(required(d, "frequency")),
            title=str(required(d, "title")),
            category=str(required(d, "category")),
            tags=[str(t) for t in d.get("tags") or []],
            settlement_sources=SettlementSource.list_from(d),
            contract_url=str(d.get("contract_url") or ""),
            contract_terms_url=str(d.get("contract_terms_url") or ""),
            fee_type=str(required(d, "fee_type")),
            fee_multiplier_ppm=convert(_ppm, d, "fee_multiplier"),
            additional_prohibitions=[str(p) for p in d.get("additional_prohibitions") or []],
            volume=size_field(d, "volume_fp", True),
            last_updated_ns=parse_time_ns(d.get("last_updated_ts")),
            exchange_index=int(d.get("exchange_index") or 0),
        )


class HistoricalCutoff(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /historical/cutoff``: what is older than these times (Unix ns) is only historical.

    Markets settled before ``market_settled_ns``, fills before ``trades_created_ns`` and orders
    cancelled or executed before ``orders_updated_ns`` are served by ``/historical/*`` alone.
    """

    market_settled_ns: int
    trades_created_ns: int
    orders_updated_ns: int
    market_positions_last_updated_ns: int | None

    @classmethod
    def from_json(cls, d: Any) -> HistoricalCutoff:
        def at(name: str) -> int:
            ns = parse_time_ns(str(required(d, name)))
            assert ns is not None
            return ns

        return cls(
            market_settled_ns=at("market_settled_ts"),
            trades_created_ns=at("trades_created_ts"),
            orders_updated_ns=at("orders_updated_ts"),
            market_positions_last_updated_ns=parse_time_ns(d.get("market_positions_last_updated_ts")),
        )


class MultivariateCollection(msgspec.Struct, frozen=True, kw_only=True):
    """A multivariate event collection: the events whose markets combine into combo markets.

    ``associated_events`` keeps Kalshi's entries as sent (``ticker``, ``is_yes_only``, the size
    bounds, ``active_quoters``); times in Unix ns.
    """

    collection_ticker: str
    series_ticker: str
    title: str
    description: str
    open_date_ns: int | None
    close_date_ns: int | None
    associated_event_tickers: list[str]
    associated_events: list[dict[str, Any]]
    is_ordered: bool
    is_single_market_per_event: bool
    is_all_yes: bool
    size_min: int
    size_max: int
    functional_description: str
    exchange_index: int

    @classmethod
    def from_json(cls, d: Any) -> MultivariateCollection:
        return cls(
            collection_ticker=str(required(d, "collection_ticker")),
            series_ticker=str(required(d, "series_ticker")),
            title=str(required(d, "title")),
            description=str(required(d, "description")),
            open_date_ns=parse_time_ns(str(required(d, "open_date"))),
            close_date_ns=parse_time_ns(str(required(d, "close_date"))),
            associated_event_tickers=[str(t) for t in required(d, "associated_event_tickers")],
            associated_events=[dict(e) for e in required(d, "associated_events")],
            is_ordered=bool(required(d, "is_ordered")),
            is_single_market_per_event=bool(required(d, "is_single_market_per_event")),
            is_all_yes=bool(required(d, "is_all_yes")),
            size_min=convert(int, d, "size_min"),
            size_max=convert(int, d, "size_max"),
            functional_description=str(required(d, "functional_description")),
            exchange_index=int(d.get("exchange_index") or 0),
        )
