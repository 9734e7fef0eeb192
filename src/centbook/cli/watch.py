"""``centbook watch``: a live terminal ladder per market (rich), fed by :class:`centbook.feed.Feed`.

Each market shows its best YES bids and YES asks (an ask is $1 minus a NO bid) in dollars with
their sizes in contracts, the spread, the last public trades (``trade`` channel), the book's state
and the messages per second of the whole feed. The screen is redrawn in place (``rich.live``);
the markets are laid out to the terminal's width and height, and a line says how many do not fit
and how to see them (``--page``, or name the markets).

The exchange is chosen as every centbook command chooses one (:mod:`centbook.cli.exchange`):
``--url`` of a running exchange (what ``centbook sim`` prints), ``--env sim`` (a private embedded
exchange with synthetic flow, also ``--sim``) or ``--env demo|prod`` with a key.
``--duration S`` stops by itself after ``S`` seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from centbook.auth import Credentials
from centbook.book import BookState, OrderBook, Side
from centbook.cli.errors import RUNTIME, CommandError, refused_key
from centbook.cli.exchange import ExchangeSettings, add_exchange_options, choose, open_exchange
from centbook.feed.connection import Feed
from centbook.grid import PriceGrid
from centbook.mm.config import fill, read_toml
from centbook.protocol.messages import Trade

__all__ = ["MARKET_HEIGHT", "MARKET_WIDTH", "WatchConfig", "Watcher", "check_key", "fetch_grids", "layout",
           "main", "render_market"]

DEPTH = 5
TRADES = 5
MARKET_WIDTH = 50  # columns of one market's ladder, with a gap
MARKET_HEIGHT = DEPTH + 7  # lines: title, borders, header, DEPTH rows, caption (spread, trades)
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
        raise CommandError(f"unknown market(s) on this exchange: {', '.join(missing)}; run without "
                           "tickers to watch the open ones")
    return grids


async def check_key(rest_url: str, credentials: Credentials) -> None:
    """Make one signed read (``GET /portfolio/balance``) so that a refused key fails at once.

    A WebSocket handshake refused with 401 is retried by the feed like any failed connection; a
    person who typed the wrong key wants to hear it instead.

    Raises
    ------
    CommandError
        The exchange answered 401.
    """
    path = urlsplit(rest_url).path + "/portfolio/balance"
    async with aiohttp.ClientSession() as http, \
            http.get(rest_url + "/portfolio/balance", headers=credentials.headers("GET", path)) as resp:
        if resp.status == 401:
            raise CommandError(refused_key(credentials.key_id), RUNTIME)


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
    table.caption = Text("\n".join(caption), no_wrap=True, overflow="ellipsis")  # one line each: see layout
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

    def render(self, width: int = 120, height: int = 40, page: int = 1) -> Group:
        """Render the markets that fit ``width`` x ``height`` (page ``page``) plus status lines.

        Updates the msgs/s figure.
        """
        now = time.monotonic()
        count = self.messages
        if now - self._rate_at >= 0.5:
            self.rate = (count - self._rate_count) / (now - self._rate_at)
            self._rate_at, self._rate_count = now, count
        tickers = self.feed.tickers
        live = sum(1 for t in tickers if self.feed.books[t].is_live)
        status = Text(f"{len(tickers)} markets, {live} LIVE, {count} messages, {self.rate:,.0f} msgs/s")
        shown, columns, note = layout(len(tickers), width, height, page)
        grid = Table.grid(padding=(0, 1))
        for _ in range(columns):
            grid.add_column()
        cells = [render_market(self.feed.books[t], self.trades[t]) for t in tickers[shown]]
        for i in range(0, len(cells), columns):
            grid.add_row(*cells[i : i + columns])
        return Group(status, grid, *([Text(note, style="dim")] if note else []))


def layout(markets: int, width: int, height: int, page: int = 1) -> tuple[slice, int, str]:
    """Lay ``markets`` ladders out on a ``width`` x ``height`` terminal.

    Parameters
    ----------
    markets : int
        How many markets there are.
    width, height : int
        The terminal's size in columns and lines.
    page : int
        Which screenful to show (1 = the first; a page past the last shows the last).

    Returns
    -------
    tuple of (slice, int, str)
        The markets shown, the ladders per row, and a line saying how many are hidden and how to
        see them (empty when all fit).
    """
    columns = max(1, width // MARKET_WIDTH)
    rows = max(1, (height - 3) // MARKET_HEIGHT)  # status line, hidden line, a spare
    per_page = columns * rows
    pages = max(1, math.ceil(markets / per_page))
    page = min(max(page, 1), pages)
    shown = slice((page - 1) * per_page, min(page * per_page, markets))
    if pages == 1:
        return shown, columns, ""
    hidden = markets - (shown.stop - shown.start)
    return shown, columns, (f"markets {shown.start + 1}-{shown.stop} of {markets} (page {page}/{pages}); "
                            f"{hidden} hidden: --page N, name markets (watch TICKER ...) or enlarge")


async def watch(ws_url: str, credentials: Any, grids: Mapping[str, PriceGrid], *,
                duration: float | None = None, console: Console | None = None, fps: float = 4.0,
                page: int = 1) -> int:
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
    page : int
        Which screenful of markets to show when they do not all fit (see :func:`layout`).

    Returns
    -------
    int
        The exit status (0).
    """
    feed = Feed(ws_url, credentials, dict(grids), channels=["trade"])
    watcher = Watcher(feed)
    deadline = None if duration is None else time.monotonic() + duration
    console = console or Console()

    def frame() -> Group:
        return watcher.render(console.size.width, console.size.height, page)  # read each time: resizes

    async with feed:
        with Live(frame(), console=console, refresh_per_second=fps, auto_refresh=False) as live:
            while deadline is None or time.monotonic() < deadline:
                await asyncio.sleep(1.0 / fps)
                live.update(frame(), refresh=True)
    return 0


@dataclass
class WatchConfig(ExchangeSettings):
    """The TOML configuration of ``centbook watch``: the exchange settings and the markets."""

    markets: list[str] = field(default_factory=list)


def add_parser(sub: Any) -> None:
    """Add the ``watch`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("watch", help="live terminal ladder of markets", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tickers", nargs="*", metavar="TICKER", help="markets (default: the open ones)")
    p.add_argument("--config", metavar="FILE",
                   help="TOML file with env, url, ws_url, credentials, key_id and markets")
    add_exchange_options(p)
    p.add_argument("--sim", action="store_true", help="the same as --env sim")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    p.add_argument("--markets", type=int, default=8, metavar="N",
                   help="how many markets when none are named (default 8)")
    p.add_argument("--page", type=int, default=1, metavar="N",
                   help="which screenful of markets to show when they do not all fit (default 1)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run ``centbook watch``; return the exit status."""
    config = WatchConfig()
    if args.config:
        fill(config, read_toml(args.config), args.config)
    if args.sim:
        if args.env not in (None, "sim") or args.url:
            raise CommandError("--sim and --env/--url name two exchanges: give one")
        args.env = "sim"
    settings = choose(args, vars(config))
    tickers = args.tickers or config.markets
    exchange = open_exchange(settings, "centbook watch", ["--flow"])
    try:
        return asyncio.run(_watch(exchange.rest_url, exchange.ws_url, exchange.credentials, tickers, args))
    except KeyboardInterrupt:  # how a person stops watching
        return 0
    finally:
        exchange.close()


async def _watch(rest_url: str, ws_url: str, creds: Any, tickers: Sequence[str],
                 args: argparse.Namespace) -> int:
    await check_key(rest_url, creds)
    grids = await fetch_grids(rest_url, tickers, args.markets)
    if not grids:
        raise CommandError("the exchange lists no open market to watch: name one (centbook watch TICKER)",
                           status=1)
    return await watch(ws_url, creds, grids, duration=args.duration, page=args.page)
