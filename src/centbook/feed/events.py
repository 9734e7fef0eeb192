"""The feed's typed events: every message that is not an orderbook frame, and quiet markets.

- :class:`MarketQuiet`: a LIVE market whose book has not changed for a while;
- :class:`Events`: hands each event to the listeners and, while someone iterates
  :meth:`Events.messages`, to a bounded queue; tracks when each book last changed.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, MutableMapping
from typing import Any, NamedTuple

from centbook.books import Books

__all__ = ["Events", "MarketQuiet"]

log = logging.getLogger("centbook.feed")


class MarketQuiet(NamedTuple):
    """A LIVE market's book has not changed for ``quiet_s`` seconds (``FeedConfig.quiet_alert_s``)."""
    ticker: str
    quiet_s: float


class Events:
    """Deliver the feed's typed events to listeners and to :meth:`messages`.

    Parameters
    ----------
    books : Books
        The feed's books (only LIVE ones are reported quiet).
    tickers : iterable of str
        The feed's markets; each counts as changed when this is made.
    events_max : int
        Most events kept for a :meth:`messages` reader that falls behind.
    counts : mutable mapping of str to int
        The feed's counters (``events_dropped``, ``quiet_alerts``).

    Attributes
    ----------
    listeners : list of callable
        ``listener(message)`` for every event, whether or not anyone iterates.
    last_change_ns : dict of str to int
        Monotonic ns of each book's last change (written by the feed on every read).
    """

    def __init__(self, books: Books, tickers: Iterable[str], events_max: int,
                 counts: MutableMapping[str, int]) -> None:
        self.books = books
        self.counts = counts
        self.listeners: list[Callable[[Any], Any]] = []
        self.last_change_ns: dict[str, int] = {t: time.monotonic_ns() for t in tickers}
        # Filled only while someone iterates messages(): with nobody reading, a queue of every
        # trade and ticker message would grow without bound.
        self._queue: collections.deque[Any] = collections.deque(maxlen=events_max)
        self._wakeup: asyncio.Event | None = None
        self._readers = 0
        self._quiet_reported: set[str] = set()

    def emit(self, message: Any) -> None:
        """Hand a typed event to the listeners and, while someone iterates it, to messages()."""
        if self._readers:
            events = self._queue
            if len(events) == events.maxlen:
                self.counts["events_dropped"] += 1
                if self.counts["events_dropped"] == 1 or self.counts["events_dropped"] % 10_000 == 0:
                    log.warning("messages() reader is %d events behind: dropped %d oldest so far",
                                len(events), self.counts["events_dropped"])
            events.append(message)
            if self._wakeup is not None:
                self._wakeup.set()
        for listener in self.listeners:
            listener(message)

    async def messages(self) -> AsyncIterator[Any]:
        """Every event from the moment iteration starts (see :meth:`centbook.feed.Feed.messages`)."""
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        wakeup = self._wakeup
        self._readers += 1
        try:
            while True:
                while self._queue:
                    yield self._queue.popleft()
                wakeup.clear()
                await wakeup.wait()
        finally:
            self._readers -= 1

    def quiet_s(self, ticker: str) -> float:
        """Seconds since the book of ``ticker`` last changed (or since this was made)."""
        return (time.monotonic_ns() - self.last_change_ns[ticker]) / 1e9

    def report_quiet(self, alert_s: float) -> None:
        """Emit a :class:`MarketQuiet` for each LIVE book unchanged for ``alert_s``, once a spell."""
        now_ns = time.monotonic_ns()
        limit_ns = int(alert_s * 1e9)
        for ticker, last_ns in self.last_change_ns.items():
            if now_ns - last_ns < limit_ns or not self.books[ticker].is_live:
                self._quiet_reported.discard(ticker)
            elif ticker not in self._quiet_reported:
                self._quiet_reported.add(ticker)
                self.counts["quiet_alerts"] += 1
                self.emit(MarketQuiet(ticker, (now_ns - last_ns) / 1e9))
