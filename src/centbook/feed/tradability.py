"""Whether the feed's markets may be traded, kept apart from whether their books are valid.

- :class:`Tradability`: per market, from lifecycle events (activated, deactivated, determined,
  settled), and per exchange shard, from ``GET /exchange/status``; a lifecycle event that moves
  a market's price grid is handed on to whoever keeps the books.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any

from centbook.grid import PriceGrid
from centbook.protocol.messages import MarketLifecycleV2, MultivariateMarketLifecycle

__all__ = ["Tradability"]

log = logging.getLogger("centbook.feed")


class Tradability:
    """Which markets are open for trading, by lifecycle event and by exchange shard.

    Parameters
    ----------
    tickers : iterable of str
        The markets followed; each starts tradable.
    markets : container of str
        The markets lifecycle events are heeded for (the feed's books).
    market_shards : mapping of str to int, optional
        Each market's ``exchange_index``.
    rest : object, optional
        A REST client with ``get_exchange_status()``.
    on_grid : callable, optional
        ``on_grid(ticker, grid)`` when a lifecycle event gives a market a new price grid.

    Attributes
    ----------
    tradable : dict of str to bool
        Per market, from its lifecycle events.
    shard_trading : dict of int to bool
        Per exchange shard, from the last status poll.
    market_shards : dict of str to int
    """

    def __init__(self, tickers: Iterable[str], markets: Container[str], *,
                 market_shards: Mapping[str, int] | None = None, rest: Any = None,
                 on_grid: Callable[[str, PriceGrid], Any] | None = None) -> None:
        self.markets = markets
        self.market_shards = dict(market_shards or {})
        self.rest = rest
        self.on_grid = on_grid
        self.tradable: dict[str, bool] = {t: True for t in tickers}
        self.shard_trading: dict[int, bool] = {}

    def on_lifecycle(self, message: MarketLifecycleV2 | MultivariateMarketLifecycle) -> None:
        """Apply one lifecycle event of a followed market."""
        body = message.msg
        ticker = body.market_ticker
        if ticker not in self.markets:
            return
        event = body.event_type
        if event == "price_level_structure_updated":
            grid = body.grid()
            if grid is not None and self.on_grid is not None:
                self.on_grid(ticker, grid)
        elif event == "deactivated" or (event == "activated" and body.is_deactivated):
            self.tradable[ticker] = False
        elif event == "activated":
            self.tradable[ticker] = True
        elif event in ("determined", "settled"):
            self.tradable[ticker] = False

    async def poll_exchange_status(self) -> None:
        """Read ``GET /exchange/status`` into :attr:`shard_trading` (best effort)."""
        try:
            status = await self.rest.get_exchange_status()
        except Exception as exc:  # noqa: BLE001 - polling is best effort; books are unaffected
            log.info("exchange status poll failed: %s", exc)
            return
        for shard in getattr(status, "exchange_index_statuses", None) or []:
            self.shard_trading[shard.exchange_index] = bool(shard.exchange_active and shard.trading_active)

    def is_tradable(self, ticker: str) -> bool:
        """True unless the market is paused, closed or determined, or its shard is not trading.

        Separate from book validity: trade only when this and ``books[ticker].is_live`` hold.
        """
        shard = self.market_shards.get(ticker)
        shard_ok = True if shard is None else self.shard_trading.get(shard, True)
        return self.tradable.get(ticker, False) and shard_ok
