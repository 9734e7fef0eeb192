"""Book validity for the feed: state transitions and the resync decisions that restore LIVE.

- :class:`StateChange`: one book's move from one state to another, as listeners hear it;
- :class:`Validity`: after each socket read, which books need a snapshot (a seq gap, a fault,
  a crossed book that persists past one read); a targeted ``get_snapshot`` with a deadline,
  falling back to recreating the subscription; an off-grid price waits for the new grid
  (lifecycle event or a REST lookup) before its snapshot; a terminal error makes its
  subscription's books STALE and subscribes them anew.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, NamedTuple

from centbook.book import BookState
from centbook.books import Books
from centbook.feed.subscriptions import BOOK_CHANNEL, Subscription, Subscriptions
from centbook.grid import PriceGrid

__all__ = ["StateChange", "Validity"]

log = logging.getLogger("centbook.feed")


class StateChange(NamedTuple):
    """A book moved from one state to another (``generation`` after the move)."""
    ticker: str
    old: BookState
    new: BookState
    generation: int


class Validity:
    """Keep the feed's books valid: notice what went wrong after a read and resync it.

    Parameters
    ----------
    books : Books
        The feed's books.
    tickers : list of str
        The feed's markets (the list :meth:`mark_all` walks).
    subscriptions : Subscriptions
        The registry and command sender snapshots and resubscriptions go through.
    config : FeedConfig
        ``snapshot_timeout_s`` is read from it.
    counts : mutable mapping of str to int
        The feed's counters (resyncs, regrids, state transitions, ...).
    last_change_ns : mutable mapping of str to int
        Written with each changed book's read time (monotonic ns) on every read.
    rest : object, optional
        A REST client with ``get_market(ticker)``, for the grid after an off-grid price.

    Attributes
    ----------
    listeners : list of callable
        ``listener(change: StateChange)`` on every state or generation change of a book.
    snapshot_deadline : dict of str to float
        Markets waiting for a snapshot, with the monotonic time past which their subscription
        is recreated instead.
    waiting_grid : dict of str to float
        Markets waiting for a new grid after an off-grid price, with the time past which a
        snapshot on the current grid is asked for.
    """

    def __init__(self, books: Books, tickers: list[str], subscriptions: Subscriptions, config: Any,
                 counts: MutableMapping[str, int], last_change_ns: MutableMapping[str, int],
                 rest: Any = None) -> None:
        self.books = books
        self.tickers = tickers
        self.subscriptions = subscriptions
        self.config = config
        self.counts = counts
        self.last_change_ns = last_change_ns
        self.rest = rest
        self.listeners: list[Callable[[StateChange], Any]] = []
        self.snapshot_deadline: dict[str, float] = {}
        self.waiting_grid: dict[str, float] = {}
        self._crossed: set[str] = set()
        self._known: dict[str, tuple[BookState, int]] = {t: (books[t].state, books[t].generation)
                                                         for t in tickers}

    # ------------------------------------------------------------------ after a read (inside picows)

    def after_read(self, tickers: list[str], read_start_ns: int) -> None:
        """Judge the books changed by one socket read and start the resyncs they need."""
        books = self.books
        suspects = []
        last_change = self.last_change_ns
        for ticker in tickers:
            last_change[ticker] = read_start_ns
            book = books[ticker]
            if book.is_live:
                self.snapshot_deadline.pop(ticker, None)
                if book.is_crossed:
                    if ticker in self._crossed:       # crossed past one read: resync
                        self._crossed.discard(ticker)
                        suspects.append(ticker)
                    else:
                        self._crossed.add(ticker)
                else:
                    self._crossed.discard(ticker)
            elif book.state is BookState.FAULTED and ticker not in self.snapshot_deadline:
                suspects.append(ticker)
        resync = books.take_resync() if books.resync_pending else []
        self.check_states(tickers)
        if resync:
            self.counts["gap_resyncs"] += 1
            self.check_states(resync)
        todo = [t for t in dict.fromkeys(resync + suspects) if t not in self.waiting_grid]
        off_grid = [t for t in todo
                    if books[t].last_fault == "off_grid" and books[t].state is BookState.FAULTED]
        for ticker in off_grid:
            self._await_grid(ticker)
        todo = [t for t in todo if t not in off_grid]
        if todo:
            self.counts["resyncs"] += len(todo)
            asyncio.get_running_loop().create_task(self.request_snapshots(todo))

    # ------------------------------------------------------------------ grids

    def _await_grid(self, ticker: str) -> None:
        """An off-grid price: the market's grid changed. Get the new grid, then a snapshot."""
        self.waiting_grid[ticker] = time.monotonic() + self.config.snapshot_timeout_s
        self.counts["off_grid"] += 1
        if self.rest is not None:
            asyncio.get_running_loop().create_task(self._fetch_grid(ticker))

    async def _fetch_grid(self, ticker: str) -> None:
        try:
            market = await self.rest.get_market(ticker)
            grid = market.grid() if hasattr(market, "grid") else PriceGrid.from_ranges(market["price_ranges"])
        except Exception as exc:  # noqa: BLE001 - the lifecycle event or the timeout still resyncs
            log.warning("%s: could not fetch the new grid: %s", ticker, exc)
            return
        self.regrid(ticker, grid)

    def regrid(self, ticker: str, grid: PriceGrid) -> None:
        """Put ``ticker``'s book on ``grid`` and ask for its snapshot."""
        book = self.books[ticker]
        if book.grid is not grid:
            try:
                book.regrid(grid)
            except ValueError as exc:
                log.info("%s: %s", ticker, exc)
            self.counts["regrids"] += 1
        self.waiting_grid.pop(ticker, None)
        self.check_states([ticker])
        asyncio.get_running_loop().create_task(self.request_snapshots([ticker]))

    # ------------------------------------------------------------------ resyncs

    async def request_snapshots(self, tickers: list[str]) -> None:
        """Ask for snapshots of ``tickers``, one ``get_snapshot`` per subscription, with deadlines."""
        by_sid: dict[int, list[str]] = defaultdict(list)
        for ticker in tickers:
            sid = self.subscriptions.sid_of(ticker)
            if sid is not None:
                by_sid[sid].append(ticker)
        for sid, group in by_sid.items():
            deadline = time.monotonic() + self.config.snapshot_timeout_s
            for ticker in group:
                self.snapshot_deadline[ticker] = deadline
            self.counts["snapshot_requests"] += 1
            try:
                await self.subscriptions.get_snapshot(sid, group)
            except ConnectionError:
                return

    async def check_deadlines(self, now: float) -> None:
        """Recreate the subscriptions whose snapshot is late; resync markets whose grid never came."""
        for ticker, deadline in list(self.snapshot_deadline.items()):
            # a market recreated with an earlier one of its subscription has no deadline now:
            # one resubscribe per subscription, however many of its markets were late
            if now > deadline and ticker in self.snapshot_deadline:
                await self.recreate_subscription_of(ticker)
        for ticker, deadline in list(self.waiting_grid.items()):
            if now > deadline:
                # the new grid never came: ask for a snapshot on the grid we have
                del self.waiting_grid[ticker]
                await self.request_snapshots([ticker])

    async def recreate_subscription_of(self, ticker: str) -> None:
        """The snapshot did not come: unsubscribe the market's sid and subscribe its markets anew."""
        subscriptions = self.subscriptions
        sid = subscriptions.sid_of(ticker)
        self.counts["resubscribes"] += 1
        if sid is None:
            self.snapshot_deadline.pop(ticker, None)
            return
        sub = subscriptions.pop(sid)
        for t in sub.tickers:
            self.snapshot_deadline.pop(t, None)
            self.set_state(t, BookState.SYNCING)
        self.books.forget_subscription(sid)
        try:
            await subscriptions.unsubscribe(sid)
            await subscriptions.subscribe_books(sub.tickers)
        except ConnectionError:
            pass

    def on_terminal(self, sub: Subscription) -> None:
        """A terminal error ended ``sub``: its books go STALE and it is subscribed anew."""
        if sub.channel == BOOK_CHANNEL:
            self.books.forget_subscription(sub.sid)
            for ticker in sub.tickers:
                self.snapshot_deadline.pop(ticker, None)
                self.set_state(ticker, BookState.STALE)
            asyncio.get_running_loop().create_task(self._resubscribe_books(sub.tickers))
        else:
            asyncio.get_running_loop().create_task(self.subscriptions.resubscribe_channel(sub.channel))

    async def _resubscribe_books(self, tickers: list[str]) -> None:
        for ticker in tickers:
            self.set_state(ticker, BookState.SYNCING)
        try:
            await self.subscriptions.subscribe_books(tickers)
        except ConnectionError:
            pass

    # ------------------------------------------------------------------ states

    def mark_all(self, state: BookState) -> None:
        """Move every book of the feed to ``state`` (where the book allows it)."""
        for ticker in self.tickers:
            self.set_state(ticker, state)

    def set_state(self, ticker: str, state: BookState) -> None:
        """Move ``ticker``'s book to ``state`` (where the book allows it) and report the change."""
        book = self.books[ticker]
        try:
            book.set_state(state)
        except ValueError:
            pass  # e.g. a FAULTED book stays FAULTED until it is resynced
        self.check_states([ticker])

    def check_states(self, tickers: Iterable[str]) -> None:
        """Report to the listeners every book of ``tickers`` whose state or generation moved."""
        for ticker in tickers:
            book = self.books[ticker]
            now = (book.state, book.generation)
            before = self._known.get(ticker)
            if before != now:
                self._known[ticker] = now
                change = StateChange(ticker, before[0] if before else BookState.EMPTY, now[0], now[1])
                self.counts[f"to_{now[0].name.lower()}"] += 1
                for listener in self.listeners:
                    listener(change)
