"""Which markets a recording follows, and their REST metadata.

:class:`MarketDirectory` reads ``GET /markets`` (public market data, unsigned): the markets named,
those of a series, or every open market of the exchange, each as the exchange's ``Market`` JSON
(its ``price_ranges`` give the book's grid; its settlement fields travel with the recording).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp

__all__ = ["MarketDirectory", "MarketSelectionError"]

OPEN_STATUSES = ("active", "open")


class MarketSelectionError(ValueError):
    """The markets asked for do not exist, or none matched."""


class MarketDirectory:
    """Look markets up on an exchange's REST API.

    Parameters
    ----------
    rest_url : str
        ``.../trade-api/v2``.
    session : aiohttp.ClientSession
    """

    def __init__(self, rest_url: str, session: aiohttp.ClientSession) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.session = session

    async def _pages(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = ""
        while True:
            query = dict(params, limit=1000)
            if cursor:
                query["cursor"] = cursor
            async with self.session.get(self.rest_url + "/markets", params=query) as resp:
                resp.raise_for_status()
                body = await resp.json()
            out.extend(body.get("markets") or [])
            cursor = body.get("cursor") or ""
            if not cursor:
                return out

    async def select(self, *, tickers: Sequence[str] = (), series: str | None = None,
                     every_open: bool = False) -> dict[str, dict[str, Any]]:
        """Return ``{ticker: market JSON}`` for the tickers, the open markets of a series, or all open.

        Raises
        ------
        MarketSelectionError
            Naming the tickers the exchange does not know, or when nothing matched.
        """
        if tickers:
            markets: list[dict[str, Any]] = []
            for i in range(0, len(tickers), 100):
                markets += await self._pages({"tickers": ",".join(tickers[i:i + 100])})
            found = {m["ticker"]: m for m in markets}
            missing = [t for t in tickers if t not in found]
            if missing:
                raise MarketSelectionError(f"unknown markets: {', '.join(missing)}")
            return {t: found[t] for t in tickers}
        params = {"series_ticker": series} if series else {}
        if not (series or every_open):
            raise MarketSelectionError("no markets chosen: give tickers, a series or every open market")
        found = {m["ticker"]: m for m in await self._pages(params) if m.get("status") in OPEN_STATUSES}
        if not found:
            where = f"series {series}" if series else "the exchange"
            raise MarketSelectionError(f"no open market in {where}")
        return found

    async def get(self, ticker: str) -> dict[str, Any] | None:
        """Return one market's JSON (None when the exchange does not know it)."""
        async with self.session.get(f"{self.rest_url}/markets/{ticker}") as resp:
            if resp.status == 404:
                return None
            resp.raise_for_status()
            body = await resp.json()
        return body.get("market")
