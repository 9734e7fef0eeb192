"""The REST client's public market-data reads: the tape, candlesticks, books, events, series and
multivariate event collections.

:class:`MarketData` sends each ``GET`` through the transport and returns typed models
(:mod:`centbook.protocol.marketdata`); list endpoints are async generators over every page.
Markets nested in events fill the client's market cache, as market reads do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from centbook.protocol.marketdata import (
    Event,
    EventCandlesticks,
    EventMetadata,
    MarketCandlesticks,
    MultivariateCollection,
    PublicTrade,
    Series,
)
from centbook.protocol.markets import Market, Orderbook

__all__ = ["CANDLE_PERIODS_MIN", "MAX_BATCH_MARKETS", "MarketData"]

#: candlestick periods Kalshi offers, in minutes: a minute, an hour, a day
CANDLE_PERIODS_MIN = (1, 60, 1440)
#: at most this many markets in one batch read (orderbooks, candlesticks)
MAX_BATCH_MARKETS = 100


def _candle_params(start_ts: int, end_ts: int, period_interval: int, latest: bool | None) -> dict[str, Any]:
    if period_interval not in CANDLE_PERIODS_MIN:
        raise ValueError(f"period_interval must be 1, 60 or 1440 (minutes), got {period_interval!r}")
    if start_ts > end_ts:
        raise ValueError(f"start_ts {start_ts} is after end_ts {end_ts}")
    return {
        "start_ts": start_ts,
        "end_ts": end_ts,
        "period_interval": period_interval,
        "include_latest_before_start": latest,
    }


def _batch(tickers: list[str], what: str) -> list[str]:
    if not 1 <= len(tickers) <= MAX_BATCH_MARKETS:
        raise ValueError(f"{what}: give 1 to {MAX_BATCH_MARKETS} market tickers, got {len(tickers)}")
    return list(tickers)


class MarketData:
    """The market-data reads of :class:`~centbook.rest.client.RestClient`.

    Parameters
    ----------
    request, pages : callable
        The transport's ``request`` and ``pages``.
    markets : dict
        ``ticker -> Market``: the client's cache, filled by the markets nested in events.
    """

    def __init__(self, request: Callable[..., Any], pages: Callable[..., AsyncIterator[Any]],
                 markets: dict[str, Market]) -> None:
        self._request = request
        self._pages = pages
        self.markets = markets

    def _cache(self, markets: list[Market]) -> None:
        for market in markets:
            self.markets[market.ticker] = market

    # -- the tape and the books ---------------------------------------------------------------------
    async def get_trades(
        self,
        *,
        ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        is_block_trade: bool | None = None,
        limit: int = 1000,
    ) -> AsyncIterator[PublicTrade]:
        """Iterate over public trades, newest first, every page (``GET /markets/trades``).

        ``min_ts`` and ``max_ts`` are Unix seconds.
        """
        params = {
            "ticker": ticker, "min_ts": min_ts, "max_ts": max_ts, "is_block_trade": is_block_trade,
            "limit": limit,
        }  # fmt: skip
        async for item in self._pages("/markets/trades", "trades", params, auth=False):
            yield PublicTrade.from_json(item)

    async def get_orderbooks(self, tickers: list[str]) -> dict[str, Orderbook]:
        """Return the books of up to 100 markets by ticker (``GET /markets/orderbooks``, signed)."""
        params = {"tickers": _batch(tickers, "get_orderbooks")}
        doc = await self._request("GET", "/markets/orderbooks", params=params)
        books = (Orderbook.from_json(str(b.get("ticker")), b) for b in doc.get("orderbooks") or [])
        return {book.ticker: book for book in books}

    # -- candlesticks -------------------------------------------------------------------------------
    async def get_market_candlesticks(
        self, series_ticker: str, ticker: str, *, start_ts: int, end_ts: int, period_interval: int,
        include_latest_before_start: bool | None = None,
    ) -> MarketCandlesticks:
        """Return one market's candles ending in ``[start_ts, end_ts]`` (Unix seconds).

        ``period_interval`` is one of :data:`CANDLE_PERIODS_MIN` (minutes).
        """
        params = _candle_params(start_ts, end_ts, period_interval, include_latest_before_start)
        path = f"/series/{series_ticker}/markets/{ticker}/candlesticks"
        return MarketCandlesticks.from_json(await self._request("GET", path, params=params, auth=False))

    async def get_batch_candlesticks(
        self, tickers: list[str], *, start_ts: int, end_ts: int, period_interval: int,
        include_latest_before_start: bool | None = None,
    ) -> list[MarketCandlesticks]:
        """Return the candles of up to 100 markets (``GET /markets/candlesticks``)."""
        params = {
            "market_tickers": ",".join(_batch(tickers, "get_batch_candlesticks")),
            **_candle_params(start_ts, end_ts, period_interval, include_latest_before_start),
        }
        doc = await self._request("GET", "/markets/candlesticks", params=params, auth=False)
        return [MarketCandlesticks.from_json(m, "market_ticker") for m in doc.get("markets") or []]

    async def get_event_candlesticks(
        self, series_ticker: str, event_ticker: str, *, start_ts: int, end_ts: int, period_interval: int
    ) -> EventCandlesticks:
        """Return the candles of every market of an event (Kalshi may cut the range short)."""
        params = _candle_params(start_ts, end_ts, period_interval, None)
        path = f"/series/{series_ticker}/events/{event_ticker}/candlesticks"
        return EventCandlesticks.from_json(await self._request("GET", path, params=params, auth=False))

    # -- events and series --------------------------------------------------------------------------
    async def get_events(
        self,
        *,
        series_ticker: str | None = None,
        status: str | None = None,
        with_nested_markets: bool | None = None,
        limit: int = 200,
        **filters: Any,
    ) -> AsyncIterator[Event]:
        """Iterate over events, every page (``GET /events``); ``filters`` pass through as sent."""
        params = {
            "series_ticker": series_ticker, "status": status, "with_nested_markets": with_nested_markets,
            "limit": limit, **filters,
        }  # fmt: skip
        async for item in self._pages("/events", "events", params, auth=False):
            event = Event.from_json(item)
            self._cache(event.markets)
            yield event

    async def get_event(self, event_ticker: str) -> Event:
        """Return one event with its markets (``GET /events/{ticker}``)."""
        doc = await self._request("GET", f"/events/{event_ticker}", auth=False)
        event = Event.from_json(doc.get("event"), doc.get("markets") or [])
        self._cache(event.markets)
        return event

    async def get_event_metadata(self, event_ticker: str) -> EventMetadata:
        """Return an event's images, sources and market colours (``GET /events/{ticker}/metadata``)."""
        doc = await self._request("GET", f"/events/{event_ticker}/metadata", auth=False)
        return EventMetadata.from_json(doc)

    async def get_series_list(self, *, category: str | None = None, tags: str | None = None,
                              **filters: Any) -> list[Series]:
        """Return every series, filtered (``GET /series``)."""
        params = {"category": category, "tags": tags, **filters}
        doc = await self._request("GET", "/series", params=params, auth=False)
        return [Series.from_json(s) for s in doc.get("series") or []]

    async def get_series(self, series_ticker: str) -> Series:
        """Return one series, with its fee type and multiplier (``GET /series/{ticker}``)."""
        doc = await self._request("GET", f"/series/{series_ticker}", auth=False)
        return Series.from_json(doc.get("series"))

    async def get_multivariate_collections(
        self,
        *,
        status: str | None = None,
        series_ticker: str | None = None,
        associated_event_ticker: str | None = None,
        limit: int = 200,
    ) -> AsyncIterator[MultivariateCollection]:
        """Iterate over multivariate event collections, every page (``status``: ``unopened``,
        ``open`` or ``closed``)."""
        params = {
            "status": status, "series_ticker": series_ticker,
            "associated_event_ticker": associated_event_ticker, "limit": limit,
        }  # fmt: skip
        path = "/multivariate_event_collections"
        async for item in self._pages(path, "multivariate_contracts", params, auth=False):
            yield MultivariateCollection.from_json(item)

    async def get_multivariate_collection(self, collection_ticker: str) -> MultivariateCollection:
        """Return one multivariate event collection."""
        doc = await self._request("GET", f"/multivariate_event_collections/{collection_ticker}", auth=False)
        return MultivariateCollection.from_json(doc.get("multivariate_contract"))
