"""The REST client's read endpoints: orders, fills, positions, balance, markets, exchange, account.

:class:`Reads` sends each ``GET`` through the transport and returns typed models
(:mod:`centbook.protocol.models`); list endpoints are async generators over every page. Market
reads fill the client's market cache, which the write path uses for shards and price floors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from centbook.protocol.models import (
    AccountLimits,
    Balance,
    EndpointCostList,
    EventPosition,
    ExchangeStatus,
    Market,
    MarketPosition,
    Order,
    Orderbook,
    PortfolioFill,
    Settlement,
    UserDataTimestamp,
)

__all__ = ["Reads"]


class Reads:
    """The read endpoints of :class:`~centbook.rest.client.RestClient`.

    Parameters
    ----------
    request : callable
        The transport's ``request`` (:meth:`centbook.rest.transport.Transport.request`).
    pages : callable
        The transport's ``pages`` (:meth:`centbook.rest.transport.Transport.pages`).
    markets : dict
        ``ticker -> Market``: the cache shared with the client, filled by market reads.
    signed : bool
        Sign the endpoints Kalshi lists as signed but answers unsigned (order book, user data
        timestamp): True when the client holds credentials.
    """

    def __init__(self, request: Callable[..., Any], pages: Callable[..., AsyncIterator[Any]],
                 markets: dict[str, Market], signed: bool) -> None:
        self._request = request
        self._pages = pages
        self.markets = markets
        self.signed = signed

    # -- orders, fills, portfolio -------------------------------------------------------------------
    async def get_order(self, order_id: str) -> Order:
        """Return one order (``GET /portfolio/orders/{id}``)."""
        doc = await self._request("GET", f"/portfolio/orders/{order_id}")
        return Order.from_json(doc.get("order"))

    async def get_orders(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        status: str | None = None,
        subaccount: int | None = None,
        exchange_index: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[Order]:
        """Iterate over the user's orders, every page (``GET /portfolio/orders``)."""
        params = {
            "ticker": ticker,
            "event_ticker": event_ticker,
            "min_ts": min_ts,
            "max_ts": max_ts,
            "status": status,
            "subaccount": subaccount,
            "exchange_index": exchange_index,
            "limit": limit,
        }
        async for item in self._pages("/portfolio/orders", "orders", params):
            yield Order.from_json(item)

    async def get_fills(
        self,
        *,
        ticker: str | None = None,
        order_id: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        subaccount: int | None = None,
        exchange_index: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[PortfolioFill]:
        """Iterate over the user's fills, every page (``GET /portfolio/fills``)."""
        params = {
            "ticker": ticker,
            "order_id": order_id,
            "min_ts": min_ts,
            "max_ts": max_ts,
            "subaccount": subaccount,
            "exchange_index": exchange_index,
            "limit": limit,
        }
        async for item in self._pages("/portfolio/fills", "fills", params):
            yield PortfolioFill.from_json(item)

    async def get_positions(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        count_filter: str | None = None,
        subaccount: int | None = None,
        exchange_index: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[MarketPosition]:
        """Iterate over market positions, every page (``GET /portfolio/positions``)."""
        params = {
            "ticker": ticker,
            "event_ticker": event_ticker,
            "count_filter": count_filter,
            "subaccount": subaccount,
            "exchange_index": exchange_index,
            "limit": limit,
        }
        async for item in self._pages("/portfolio/positions", "market_positions", params):
            yield MarketPosition.from_json(item)

    async def get_event_positions(
        self, *, event_ticker: str | None = None, subaccount: int | None = None, limit: int = 200
    ) -> AsyncIterator[EventPosition]:
        """Iterate over event positions, every page (``GET /portfolio/positions``)."""
        params = {"event_ticker": event_ticker, "subaccount": subaccount, "limit": limit}
        async for item in self._pages("/portfolio/positions", "event_positions", params):
            yield EventPosition.from_json(item)

    async def get_balance(
        self, *, subaccount: int | None = None, exchange_index: int | None = None
    ) -> Balance:
        """Return the available balance (micro-dollars), with the per-shard breakdown."""
        doc = await self._request(
            "GET", "/portfolio/balance", params={"subaccount": subaccount, "exchange_index": exchange_index}
        )
        return Balance.from_json(doc)

    async def get_settlements(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        subaccount: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[Settlement]:
        """Iterate over the user's settlements, every page (``GET /portfolio/settlements``)."""
        params = {
            "ticker": ticker,
            "event_ticker": event_ticker,
            "min_ts": min_ts,
            "max_ts": max_ts,
            "subaccount": subaccount,
            "limit": limit,
        }
        async for item in self._pages("/portfolio/settlements", "settlements", params):
            yield Settlement.from_json(item)

    # -- markets and exchange -----------------------------------------------------------------------
    async def get_markets(
        self,
        *,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        status: str | None = None,
        tickers: list[str] | None = None,
        limit: int = 200,
        **filters: Any,
    ) -> AsyncIterator[Market]:
        """Iterate over markets, every page (``GET /markets``, public); caches each market's shard."""
        params = {
            "event_ticker": event_ticker,
            "series_ticker": series_ticker,
            "status": status,
            "tickers": ",".join(tickers) if tickers else None,
            "limit": limit,
            **filters,
        }
        async for item in self._pages("/markets", "markets", params, auth=False):
            market = Market.from_json(item)
            self.markets[market.ticker] = market
            yield market

    async def get_market(self, ticker: str) -> Market:
        """Return one market (``GET /markets/{ticker}``, public) and cache it."""
        doc = await self._request("GET", f"/markets/{ticker}", auth=False)
        market = Market.from_json(doc.get("market"))
        self.markets[ticker] = market
        return market

    async def get_market_orderbook(self, ticker: str, depth: int | None = None) -> Orderbook:
        """Return a market's book (``GET /markets/{ticker}/orderbook``; signed, as the spec lists)."""
        doc = await self._request(
            "GET", f"/markets/{ticker}/orderbook", params={"depth": depth}, auth=self.signed
        )
        return Orderbook.from_json(ticker, doc)

    async def get_exchange_status(self) -> ExchangeStatus:
        """Return the exchange status (``GET /exchange/status``, public)."""
        return ExchangeStatus.from_json(await self._request("GET", "/exchange/status", auth=False))

    async def get_user_data_timestamp(self) -> UserDataTimestamp:
        """Return how fresh the REST portfolio data is (``GET /exchange/user_data_timestamp``)."""
        doc = await self._request("GET", "/exchange/user_data_timestamp", auth=self.signed)
        return UserDataTimestamp.from_json(doc)

    async def get_account_api_limits(self) -> AccountLimits:
        """Return the user's tier and bucket sizes (``GET /account/limits``)."""
        return AccountLimits.from_json(await self._request("GET", "/account/limits"))

    async def get_account_endpoint_costs(self) -> EndpointCostList:
        """Return the non-default endpoint costs (``GET /account/endpoint_costs``, public)."""
        return EndpointCostList.from_json(await self._request("GET", "/account/endpoint_costs", auth=False))
