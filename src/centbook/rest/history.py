"""The REST client's historical tier, and the reads that span it and the live one.

Kalshi serves settled markets, old fills and finished orders only from ``/historical/*`` once
they are older than its cutoff (``GET /historical/cutoff``). :class:`History` reads that tier and
merges it with the live reads: :meth:`History.fills_since` and :meth:`History.orders_since`
yield everything since a time once, newest first, whichever tier holds it, so a reconciliation
never misses what moved to the historical tier.

Why the merge cannot miss or repeat: records only move from live to historical. The live pages
are read first; a record absent from them had already moved and is in the historical pages read
after; a record that moves between the two reads is met twice and yielded once (by its id).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from centbook.protocol.marketdata import Candlestick, HistoricalCutoff, MarketCandlesticks, PublicTrade
from centbook.protocol.markets import Market
from centbook.protocol.orders import Order, PortfolioFill
from centbook.rest.marketdata import CANDLE_PERIODS_MIN
from centbook.rest.reads import Reads

__all__ = ["History"]

_NS = 1_000_000_000


class History:
    """The historical reads of :class:`~centbook.rest.client.RestClient`.

    Parameters
    ----------
    request, pages : callable
        The transport's ``request`` and ``pages``.
    reads : Reads
        The live reads the merged streams start from.
    """

    def __init__(self, request: Callable[..., Any], pages: Callable[..., AsyncIterator[Any]],
                 reads: Reads) -> None:
        self._request = request
        self._pages = pages
        self._reads = reads

    async def get_historical_cutoff(self) -> HistoricalCutoff:
        """Return the times before which records are only historical (``GET /historical/cutoff``)."""
        return HistoricalCutoff.from_json(await self._request("GET", "/historical/cutoff", auth=False))

    async def get_historical_markets(
        self,
        *,
        tickers: list[str] | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        limit: int = 1000,
    ) -> AsyncIterator[Market]:
        """Iterate over the markets archived to the historical tier, every page."""
        params = {
            "tickers": ",".join(tickers) if tickers else None, "event_ticker": event_ticker,
            "series_ticker": series_ticker, "limit": limit,
        }  # fmt: skip
        async for item in self._pages("/historical/markets", "markets", params, auth=False):
            yield Market.from_json(item)

    async def get_historical_market(self, ticker: str) -> Market:
        """Return one archived market (``GET /historical/markets/{ticker}``)."""
        doc = await self._request("GET", f"/historical/markets/{ticker}", auth=False)
        return Market.from_json(doc.get("market"))

    async def get_historical_market_candlesticks(
        self, ticker: str, *, start_ts: int, end_ts: int, period_interval: int
    ) -> MarketCandlesticks:
        """Return an archived market's candles ending in ``[start_ts, end_ts]`` (Unix seconds)."""
        if period_interval not in CANDLE_PERIODS_MIN:
            raise ValueError(f"period_interval must be 1, 60 or 1440 (minutes), got {period_interval!r}")
        params = {"start_ts": start_ts, "end_ts": end_ts, "period_interval": period_interval}
        path = f"/historical/markets/{ticker}/candlesticks"
        doc = await self._request("GET", path, params=params, auth=False)
        return MarketCandlesticks(
            ticker=str(doc.get("ticker")),
            candlesticks=[Candlestick.from_json(c, historical=True) for c in doc.get("candlesticks") or []],
        )

    async def get_historical_trades(
        self, *, ticker: str | None = None, min_ts: int | None = None, max_ts: int | None = None,
        limit: int = 1000,
    ) -> AsyncIterator[PublicTrade]:
        """Iterate over the public trades before the cutoff, newest first (times in Unix seconds)."""
        params = {"ticker": ticker, "min_ts": min_ts, "max_ts": max_ts, "limit": limit}
        async for item in self._pages("/historical/trades", "trades", params, auth=False):
            yield PublicTrade.from_json(item)

    async def get_historical_fills(
        self, *, ticker: str | None = None, max_ts: int | None = None, limit: int = 1000
    ) -> AsyncIterator[PortfolioFill]:
        """Iterate over the user's fills before the cutoff, newest first."""
        params = {"ticker": ticker, "max_ts": max_ts, "limit": limit}
        async for item in self._pages("/historical/fills", "fills", params):
            yield PortfolioFill.from_json(item)

    async def get_historical_orders(
        self, *, ticker: str | None = None, max_ts: int | None = None, limit: int = 1000
    ) -> AsyncIterator[Order]:
        """Iterate over the user's orders finished before the cutoff, newest first."""
        params = {"ticker": ticker, "max_ts": max_ts, "limit": limit}
        async for item in self._pages("/historical/orders", "orders", params):
            yield Order.from_json(item)

    # -- across both tiers --------------------------------------------------------------------------
    async def fills_since(self, min_ts: int, *, ticker: str | None = None) -> AsyncIterator[PortfolioFill]:
        """Iterate over the user's fills since ``min_ts`` (Unix seconds), live and historical.

        Newest first, each fill once (see the module notes). The historical pages are read only
        when ``min_ts`` is before the cutoff, and only down to ``min_ts``.
        """
        seen: set[str] = set()
        async for fill in self._reads.get_fills(ticker=ticker, min_ts=min_ts):
            seen.add(fill.fill_id)
            yield fill
        if (await self.get_historical_cutoff()).trades_created_ns <= min_ts * _NS:
            return
        async for fill in self.get_historical_fills(ticker=ticker):
            if fill.created_time_ns is not None and fill.created_time_ns < min_ts * _NS:
                return  # newest first: the rest is older still
            if fill.fill_id not in seen:
                seen.add(fill.fill_id)
                yield fill

    async def orders_since(self, min_ts: int, *, ticker: str | None = None) -> AsyncIterator[Order]:
        """Iterate over the user's orders created since ``min_ts`` (Unix seconds), both tiers.

        The live orders first (newest first), then the historical ones created since ``min_ts``,
        each order once. The historical tier is read whole when ``min_ts`` is before the cutoff:
        an order created long ago may have finished only recently.
        """
        seen: set[str] = set()
        async for order in self._reads.get_orders(ticker=ticker, min_ts=min_ts):
            seen.add(order.order_id)
            yield order
        if (await self.get_historical_cutoff()).orders_updated_ns <= min_ts * _NS:
            return
        async for order in self.get_historical_orders(ticker=ticker):
            created = order.created_time_ns
            if order.order_id not in seen and (created is None or created >= min_ts * _NS):
                seen.add(order.order_id)
                yield order
