"""``centbook watch``: a live terminal ladder per market (rich), fed by :class:`centbook.feed.Feed`.

Each market shows its best YES bids and YES asks (an ask is $1 minus a NO bid) in dollars with
their sizes in contracts, the spread, the last public trades (``trade`` channel), the book's state
and the messages per second of the whole feed. The screen is redrawn in place (``rich.live``).

``--sim`` starts the embedded exchange with synthetic flow (``centbook sim --flow``) in a
subprocess and watches its markets; ``--env demo|prod`` watches Kalshi with the credentials of
:meth:`centbook.Credentials.from_env`. ``--duration S`` stops by itself after ``S`` seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from centbook.auth import Credentials
from centbook.book import BookState, OrderBook, Side
from centbook.feed.connection import Feed
from centbook.grid import PriceGrid
from centbook.protocol.environments import REST_URLS, WS_URLS
from centbook.protocol.messages import Trade
from centbook.sim import SimProcess

__all__ = ["Watcher", "fetch_grids", "main", "render_market"]

DEPTH = 5
TRADES = 5
STATE_STYLE = {BookState.LIVE: "bold green", BookState.SYNCING: "yellow", BookState.STALE: "magenta",
               BookState.FAULTED: "bold red", BookState.EMPTY: "dim"}


def dollars(price_bp: int) -> str:
    """Format a price in basis points of $1 as dollars (``4250`` -> ``"$0.4250"``)."""
    return f"${price_bp / 10000:.4f}"


def contracts(size_c100: int) -> str:
    """Format a size in hundredths of a contract (``1050`` -> ``"10.50"``)."""
    return f"{size_c100 / 100:.2f}"


async def fetch_grids(rest_url: str, tickers: Sequence[str] = (), limit: int = 8) -> dict[str, PriceGrid]:
    """Return ``{ticker: PriceGrid}`` from ``GET /markets`` (public market data, unsigned).

    Parameters
    ----------
    rest_url : str
        ``.../trade-api/v2``.
    tickers : sequence of str, optional
        The markets to watch; when empty, up to ``limit`` open markets.
    limit : int
        How many markets to take when none are named.

    Returns
    -------
    dict of str to PriceGrid
    """
    params: dict[str, Any] = {"limit": 200 if tickers else max(limit, 1) * 4}
    if tickers:
        params["tickers"] = ",".join(tickers)
    async with aiohttp.ClientSession() as http, http.get(rest_url + "/markets", params=params) as resp:
        resp.raise_for_status()
        body = await resp.json()
    grids: dict[str, PriceGrid] = {}
    for market in body.get("markets", []):
        if not tickers and market.get("status") not in ("active", "open"):
            continue
        if market.get("price_ranges"):
            grids[market["ticker"]] = PriceGrid.from_ranges(market["price_ranges"])
        if not tickers and len(grids) >= limit:
            break
    missing = [t for t in tickers if t not in grids]
    if missing:
        raise SystemExit(f"unknown markets: {', '.join(missing)}")
    return grids


def render_market(book: OrderBook, trades: Sequence[Trade], depth: int = DEPTH) -> Table:
    """Render one market as a ladder: YES bids | YES asks, then spread, state and last trades.

    Parameters
    ----------
    book : OrderBook
    trades : sequence of Trade
        The most recent trades of this market, newest first.
    depth : int
        Levels per side.

    Returns
    -------
    rich.table.Table
    """
    state = book.state
    title = Text.assemble((book.ticker, "bold"), "  ", (state.name, STATE_STYLE.get(state, "")),
                          f"  gen {book.generation}")
    table = Table(title=title, title_justify="left", expand=False, show_edge=True, min_width=48)
    table.add_column("bid size", justify="right", style="green")
    table.add_column("YES bid", justify="right", style="green")
    table.add_column("YES ask", justify="left", style="red")
    table.add_column("ask size", justify="left", style="red")
    bids = book.depth(Side.YES, depth)
    asks = [(10000 - p, s) for p, s in book.depth(Side.NO, depth)]   # a NO bid at p is a YES ask at 1 - p
    for i in range(max(len(bids), len(asks), 1)):
        b = bids[i] if i < len(bids) else None
        a = asks[i] if i < len(asks) else None
        table.add_row(contracts(b[1]) if b else "", dollars(b[0]) if b else "",
                      dollars(a[0]) if a else "", contracts(a[1]) if a else "")
    spread = book.spread()
    caption = [f"spread {dollars(spread) if spread is not None else '-'}"]
    if trades:
        caption.append("last trades: " + "  ".join(
            f"{contracts(t.msg.count_c100)}@{dollars(t.msg.yes_price_bp)}"
            f"{'' if t.msg.taker_side is None else ' ' + t.msg.taker_side}" for t in trades))
    table.caption = "\n".join(caption)
    table.caption_justify = "left"
    return table


class Watcher:
    """Keep the feed's books, the recent trades and a message rate; render them.

    Parameters
    ----------
    feed : Feed
        A feed subscribed to ``orderbook_delta`` and ``trade``.
    """

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.trades: dict[str, collections.deque[Trade]] = {
            t: collections.deque(maxlen=TRADES) for t in feed.tickers}
        self.other_messages = 0
        self._rate_at = time.monotonic()
        self._rate_count = 0
        self.rate = 0.0
        feed.message_listeners.append(self._on_message)

    def _on_message(self, message: Any) -> None:
        self.other_messages += 1
        if isinstance(message, Trade):
            queue = self.trades.get(message.msg.market_ticker)
            if queue is not None:
                queue.appendleft(message)

    @property
    def messages(self) -> int:
        """Messages received so far (book frames and the others)."""
        return int(self.feed.listener.book_frames) + self.other_messages

    def render(self) -> Group:
        """Render every market plus a status line; updates the msgs/s figure."""
        now = time.monotonic()
        count = self.messages
        if now - self._rate_at >= 0.5:
            self.rate = (count - self._rate_count) / (now - self._rate_at)
            self._rate_at, self._rate_count = now, count
        live = sum(1 for t in self.feed.tickers if self.feed.books[t].is_live)
        status = Text(f"{len(self.feed.tickers)} markets, {live} LIVE, {count} messages, "
                      f"{self.rate:,.0f} msgs/s")
        return Group(status, *(render_market(self.feed.books[t], self.trades[t]) for t in self.feed.tickers))


async def watch(ws_url: str, credentials: Any, grids: Mapping[str, PriceGrid], *,
                duration: float | None = None, console: Console | None = None, fps: float = 4.0) -> int:
    """Watch ``grids``' markets until ``duration`` seconds pass (or forever / Ctrl-C).

    Parameters
    ----------
    ws_url : str
        The WebSocket URL.
    credentials : Credentials
        Signs the WebSocket handshake.
    grids : mapping of str to PriceGrid
        The markets and their grids.
    duration : float, optional
        Stop after this many seconds.
    console : rich.console.Console, optional
    fps : float
        Redraws per second.

    Returns
    -------
    int
        The exit status (0).
    """
    feed = Feed(ws_url, credentials, dict(grids), channels=["trade"])
    watcher = Watcher(feed)
    deadline = None if duration is None else time.monotonic() + duration
    async with feed:
        with Live(watcher.render(), console=console, refresh_per_second=fps, auto_refresh=False) as live:
            while deadline is None or time.monotonic() < deadline:
                await asyncio.sleep(1.0 / fps)
                live.update(watcher.render(), refresh=True)
    return 0


def add_parser(sub: Any) -> None:
    """Add the ``watch`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("watch", help="live terminal ladder of markets",
                       description="A live terminal ladder per market: best levels, spread, trades, "
                                   "book state and msgs/s.")
    p.add_argument("tickers", nargs="*", metavar="TICKER", help="markets (default: the open ones)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--sim", action="store_true", help="start the embedded exchange with flow")
    where.add_argument("--env", choices=["demo", "prod"], default="demo",
                       help="Kalshi environment (credentials from KALSHI_API_KEY_ID / "
                            "KALSHI_PRIVATE_KEY_PATH)")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    p.add_argument("--markets", type=int, default=8, metavar="N",
                   help="how many markets when none are named (default 8)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run ``centbook watch``; return the exit status."""
    try:
        if args.sim:
            with SimProcess(seed=1, args=["--flow"]) as sim:
                creds = Credentials(sim.api_key_id, sim.private_key_pem)
                return asyncio.run(_watch(sim.rest_url, sim.ws_url, creds, args))
        creds = Credentials.from_env()
        return asyncio.run(_watch(REST_URLS[args.env], WS_URLS[args.env], creds, args))
    except KeyboardInterrupt:
        return 0


async def _watch(rest_url: str, ws_url: str, creds: Any, args: argparse.Namespace) -> int:
    grids = await fetch_grids(rest_url, args.tickers, args.markets)
    if not grids:
        raise SystemExit("no markets to watch")
    return await watch(ws_url, creds, grids, duration=args.duration)
