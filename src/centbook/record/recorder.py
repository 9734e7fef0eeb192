"""The recorder: every frame of a set of markets, as received, into a recording.

:class:`Recorder` spreads the markets over ``connections`` :class:`~centbook.feed.Feed` s (one
WebSocket connection each, so a gap resyncs few markets) and taps each feed's compiled listener:
every text frame's bytes go to the :class:`~centbook.record.segment.SegmentWriter` untouched,
stamped with the connection and the read's monotonic ns (the listener's own, one per socket
read) and a wall-clock ns taken once per read. The feeds keep their books valid as usual (gaps
resync, reconnects resubscribe): what they did goes in as ``ACTION`` (connect, disconnect) and
``COVERAGE`` (every book state change with its cause) records, and each market's REST metadata
goes in as a ``META`` record at the start and again whenever a lifecycle event changed it.

The writer is flushed every ``flush_interval_s``; a write error (disk full, unwritable) stops
the recording cleanly with what it has and is raised from :meth:`Recorder.run`.

Parts: :class:`Recorder`, :class:`Coverage` (per-market LIVE intervals and gaps); the compiled
per-frame tap is :class:`centbook.record.tap.FrameTap`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from centbook.book import BookState
from centbook.feed.connection import Feed, FeedConfig
from centbook.feed.validity import StateChange
from centbook.grid import PriceGrid
from centbook.protocol.messages import MarketLifecycleV2
from centbook.record.markets import OPEN_STATUSES
from centbook.record.segment import Kind, RecordingError, SegmentWriter
from centbook.record.tap import FrameTap

__all__ = ["CAUSES", "Coverage", "FrameTap", "Recorder"]

log = logging.getLogger("centbook.record")

DEFAULT_CHANNELS = ("trade", "ticker", "market_lifecycle_v2")
OPENING = frozenset({"created", "activated"})
CLOSING = frozenset({"deactivated", "closed", "determined", "settled"})
CAUSES = {BookState.GAPPED: "seq_gap", BookState.STALE: "disconnect", BookState.FAULTED: "fault",
          BookState.SYNCING: "resync", BookState.LIVE: "snapshot", BookState.EMPTY: "reset"}


class Coverage:
    """When each market's book was LIVE, and each interval it was not, with its cause.

    Attributes
    ----------
    live : dict of str to list of [start_ns, end_ns]
        LIVE intervals (wall-clock ns); an open interval has ``end_ns`` None until :meth:`close`.
    gaps : dict of str to list of dict
        Each time a LIVE book stopped being LIVE: ``{"from_ns", "to_ns", "cause", "state"}``.
    """

    def __init__(self, tickers: Sequence[str]) -> None:
        self.live: dict[str, list[list[int | None]]] = {t: [] for t in tickers}
        self.gaps: dict[str, list[dict[str, Any]]] = {t: [] for t in tickers}

    def change(self, ticker: str, new: BookState, wall_ns: int) -> None:
        """Note a state change of one book."""
        live = self.live.setdefault(ticker, [])
        gaps = self.gaps.setdefault(ticker, [])
        is_open = bool(live) and live[-1][1] is None
        if new == BookState.LIVE and not is_open:
            live.append([wall_ns, None])
            if gaps and gaps[-1]["to_ns"] is None:
                gaps[-1]["to_ns"] = wall_ns
        elif new != BookState.LIVE and is_open:
            live[-1][1] = wall_ns
            gaps.append({"from_ns": wall_ns, "to_ns": None, "cause": CAUSES.get(new, new.name.lower()),
                         "state": new.name})

    def close(self, wall_ns: int) -> None:
        """End every open interval at ``wall_ns`` (the end of the recording)."""
        for live in self.live.values():
            if live and live[-1][1] is None:
                live[-1][1] = wall_ns

    def summary(self, ticker: str) -> dict[str, Any]:
        """The coverage record of one market."""
        return {"ticker": ticker, "summary": True, "live": self.live.get(ticker, []),
                "gaps": self.gaps.get(ticker, [])}


class Recorder:
    """Record markets from an exchange's WebSocket into a recording directory.

    Parameters
    ----------
    ws_url : str
        The WebSocket URL.
    credentials : object
        Anything with ``headers(method, path)`` (:class:`centbook.Credentials`).
    markets : mapping of str to dict
        ``{ticker: market JSON}`` (``price_ranges`` give each book its grid), e.g. from
        :meth:`centbook.record.markets.MarketDirectory.select`.
    writer : SegmentWriter
        Where the records go (the recorder closes it at the end).
    connections : int
        How many WebSocket connections to spread the markets over (round robin).
    channels : sequence of str
        Channels besides ``orderbook_delta``.
    config : FeedConfig, optional
        The feeds' configuration.
    flush_interval_s : float
        The most a crash can lose: the writer is flushed this often.
    directory : object, optional
        A :class:`~centbook.record.markets.MarketDirectory`: a lifecycle event of a recorded
        market makes the recorder read its metadata again and record it when it changed.
    follow : callable, optional
        ``follow(ticker) -> bool``: which markets that open while the recorder runs to add
        (a series' or every market). One more connection then follows ``market_lifecycle_v2``
        for the whole exchange; an opened market it names is looked up (``directory``) and
        recorded on a connection of its own. A recorded market that closes gets a
        ``market_closed`` action; its subscription stays (the exchange stops sending).
    seed : int, optional
        Seeds the feeds' backoff jitter.

    Attributes
    ----------
    feeds : list of Feed
    coverage : Coverage
    """

    def __init__(self, ws_url: str, credentials: Any, markets: Mapping[str, dict[str, Any]],
                 writer: SegmentWriter, *, connections: int = 1, channels: Sequence[str] = DEFAULT_CHANNELS,
                 config: FeedConfig | None = None, flush_interval_s: float = 1.0, directory: Any = None,
                 follow: Callable[[str], bool] | None = None, seed: int | None = None) -> None:
        if connections < 1:
            raise ValueError(f"connections must be >= 1, got {connections}")
        if flush_interval_s <= 0:
            raise ValueError(f"flush_interval_s must be > 0, got {flush_interval_s}")
        if not markets:
            raise ValueError("no markets to record")
        self.ws_url = ws_url
        self.markets = {t: dict(m) for t, m in markets.items()}
        self.writer = writer
        self.channels = tuple(channels)
        self.flush_interval_s = flush_interval_s
        self.directory = directory
        self.coverage = Coverage(list(self.markets))
        self.failure: Exception | None = None
        self._stop = asyncio.Event()
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        tickers = list(self.markets)
        groups = [tickers[i::connections] for i in range(min(connections, len(tickers)))]
        self.connection_of = {t: c for c, group in enumerate(groups) for t in group}
        self.feeds: list[Feed] = []
        self.follow = follow
        self._credentials, self._config, self._seed = credentials, config, seed
        self._running = False
        for group in groups:
            self._add_feed(group, self.channels)
        self.watcher = self._add_feed([], ("market_lifecycle_v2",)) if follow is not None else None

    def _add_feed(self, tickers: list[str], channels: Sequence[str]) -> Feed:
        c = len(self.feeds)
        grids = {t: PriceGrid.from_ranges(self.markets[t]["price_ranges"]) for t in tickers}
        feed = Feed(self.ws_url, self._credentials, grids, channels=channels, config=self._config,
                    seed=None if self._seed is None else self._seed + c)
        self._attach(feed, c)
        self.feeds.append(feed)
        return feed

    def _attach(self, feed: Feed, c: int) -> None:
        listener = feed.listener
        listener.tap = FrameTap(self.writer, c, self._fail)
        lost = listener.on_disconnected_cb

        def connected(transport: Any) -> None:
            self._record(Kind.ACTION, c, {"action": "connected", "connection": c,
                                          "attempt": feed.counts["connections"] + 1})

        def disconnected(transport: Any) -> None:
            self._record(Kind.ACTION, c, {"action": "disconnected", "connection": c,
                                          "close_code": listener.close_code})
            if lost is not None:
                lost(transport)

        def changed(change: StateChange) -> None:
            wall = time.time_ns()
            if not self._closing:   # the books going STALE at the end is no gap
                self.coverage.change(change.ticker, change.new, wall)
            self._record(Kind.COVERAGE, c, {
                "ticker": change.ticker, "old": change.old.name, "new": change.new.name,
                "generation": change.generation, "cause": CAUSES.get(change.new, change.new.name.lower())},
                wall_ns=wall)

        listener.on_connected_cb = connected
        listener.on_disconnected_cb = disconnected
        feed.state_listeners.append(changed)
        feed.message_listeners.append(lambda message: self._on_message(feed, message))

    def _record(self, kind: int, c: int, body: Any, wall_ns: int | None = None) -> None:
        if self.writer.closed:
            return
        try:
            self.writer.add_json(kind, c, body, wall_ns=wall_ns)
        except RecordingError as exc:
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        if self.failure is None:
            self.failure = exc
            log.info("recording stops: %s", exc)   # raised from run(): the caller reports it
        self._stop.set()
        for feed in self.feeds:
            feed.listener.tap = None

    def _on_message(self, feed: Feed, message: Any) -> None:
        if not isinstance(message, MarketLifecycleV2):
            return
        if self.watcher is not None and feed is not self.watcher:
            return   # the watcher hears every market's lifecycle: act once
        ticker, what = message.msg.market_ticker, message.msg.event_type
        if ticker in self.markets:
            if what in CLOSING:
                self._record(Kind.ACTION, self.connection_of[ticker],
                             {"action": "market_closed", "ticker": ticker, "event_type": what})
            if self.directory is not None:
                self._spawn(self._refresh(ticker))
        elif (what in OPENING and self.follow is not None and self.directory is not None
              and self.follow(ticker)):
            self._spawn(self._add_market(ticker))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _add_market(self, ticker: str) -> None:
        try:
            market = await self.directory.get(ticker)
        except Exception as exc:  # noqa: BLE001 - logged; the other markets still record
            log.warning("new market %s not added: %s", ticker, exc)
            return
        if market is None or market.get("status") not in OPEN_STATUSES or ticker in self.markets \
                or self._closing:
            return
        c = len(self.feeds)
        self.markets[ticker] = market
        self.connection_of[ticker] = c
        self._record(Kind.ACTION, c, {"action": "market_added", "ticker": ticker, "connection": c})
        self._record(Kind.META, c, market)
        feed = self._add_feed([ticker], self.channels)
        if self._running:
            await feed.start()

    async def _refresh(self, ticker: str) -> None:
        try:
            market = await self.directory.get(ticker)
        except Exception as exc:  # noqa: BLE001 - a failed lookup is logged; the frames still record
            log.warning("metadata of %s not refreshed: %s", ticker, exc)
            return
        if market is not None and market != self.markets.get(ticker):
            self.markets[ticker] = market
            self._record(Kind.META, self.connection_of[ticker], market)

    def stop(self) -> None:
        """Ask :meth:`run` to finish (what is buffered is written, the recording closed)."""
        self._stop.set()

    async def run(self, duration_s: float | None = None) -> None:
        """Record until :meth:`stop`, ``duration_s`` seconds, or a write error.

        Raises
        ------
        RecordingError
            When the recording could not be written; what was flushed before stays readable.
        """
        self._record(Kind.ACTION, 0, {"action": "start", "url": self.ws_url, "channels": list(self.channels),
                                      "connections": len(self.feeds), "markets": list(self.markets),
                                      "use_yes_price": self.feeds[0].config.use_yes_price})
        for ticker, market in self.markets.items():
            self._record(Kind.META, self.connection_of[ticker], market)
        deadline = None if duration_s is None else time.monotonic() + duration_s
        try:
            self._flush()
            self._running = True
            for feed in list(self.feeds):
                await feed.start()
            while not self._stop.is_set():
                timeout = self.flush_interval_s
                if deadline is not None:
                    timeout = min(timeout, max(deadline - time.monotonic(), 0.0))
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout)
                except TimeoutError:
                    pass
                self._flush()
                if deadline is not None and time.monotonic() >= deadline:
                    break
        finally:
            await self._finish()
        if self.failure is not None:
            raise self.failure

    def _flush(self) -> None:
        if self.writer.closed:
            return
        try:
            self.writer.flush()
        except RecordingError as exc:
            self._fail(exc)

    async def _finish(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for feed in list(self.feeds):
            feed.listener.tap = None
            await feed.close()
        wall = time.time_ns()
        self.coverage.close(wall)
        for ticker in self.markets:
            self._record(Kind.COVERAGE, self.connection_of[ticker], self.coverage.summary(ticker),
                         wall_ns=wall)
        self._record(Kind.ACTION, 0, {"action": "stop", "cause": "error" if self.failure else "done"})
        if not self.writer.closed:
            try:
                self.writer.close()
            except RecordingError as exc:
                self._fail(exc)
