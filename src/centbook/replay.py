"""Replay a recording through the compiled books, exactly as the live feed built them.

:func:`replay` reads a recording (made by ``centbook record`` or ``centbook import``) in receive
order and applies every frame to one :class:`~centbook.books.Books` with the feed's own rules:
seq is tracked per subscription by the compiled decoder (a gap marks the books GAPPED until the
snapshot the live recorder asked for, which is in the recording), a ``subscribed`` reply
registers its subscription with the recording's ``use_yes_price``, a reconnect forgets the
connection's subscriptions and makes its books STALE until their new snapshots, and a lifecycle
event carrying new ``price_ranges`` regrids the book. Market metadata records give each book its
grid before its first frame, so no exchange is needed.

Two details keep different connections and imported captures apart:

- subscription ids are per connection, so frames of connection ``c > 0`` are applied with their
  first ``"sid":N`` renumbered to ``N + c * SID_STRIDE`` (the yielded payload is the original);
- an imported capture whose seq counts a subscription shared with markets outside the file
  (``"seq": "shared"`` in its import record) has its seq tracker reset after each frame, so the
  jumps are not gaps; its mid-file snapshots re-base the books as they did live.

Parts: :class:`Event`, :class:`Replayer`, :func:`replay`, :func:`books_at`, :func:`renumber_sid`.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from centbook.book import BookState
from centbook.books import Books, FrameKind
from centbook.grid import PriceGrid
from centbook.record.segment import Kind, Record, iter_records

__all__ = ["SID_STRIDE", "Event", "Replayer", "books_at", "renumber_sid", "replay"]

SID_STRIDE = 1_000_000
_FRAME, _ACTION, _META, _COVERAGE = int(Kind.FRAME), int(Kind.ACTION), int(Kind.META), int(Kind.COVERAGE)
_NONE = int(FrameKind.NONE)


class Event(NamedTuple):
    """One record of a recording, as replayed.

    Attributes
    ----------
    kind : int
        The record's :class:`~centbook.record.segment.Kind` (FRAME, ACTION, META, COVERAGE).
    frame_kind : int
        For a FRAME, what the decoder made of it (:class:`~centbook.books.FrameKind`); NONE otherwise.
    connection : int
    wall_ns, mono_ns : int
        Local receive time of the socket read (wall clock and monotonic ns).
    payload : bytes
        The frame as received, or the record's JSON.
    ticker : str or None
        The market of a book frame, lifecycle, trade or metadata record when it names one.
    """
    kind: int
    frame_kind: int
    connection: int
    wall_ns: int
    mono_ns: int
    payload: bytes
    ticker: str | None


def renumber_sid(payload: bytes, offset: int) -> bytes:
    """Return ``payload`` with its first ``"sid":N`` made ``N + offset`` (unchanged without one)."""
    i = payload.find(b'"sid":')
    if i < 0:
        return payload
    j = k = i + 6
    end = len(payload)
    while k < end and 48 <= payload[k] <= 57:
        k += 1
    if k == j:
        return payload
    return b"%s%d%s" % (payload[:j], int(payload[j:k]) + offset, payload[k:])


class Replayer:
    """Apply records one by one to a :class:`~centbook.books.Books` (what :func:`replay` drives).

    Parameters
    ----------
    tickers : iterable of str, optional
        Only these markets (None: every market, books created as they appear).

    Attributes
    ----------
    books : Books
    mirrored : set of int
        The subscriptions (as renumbered, see :data:`SID_STRIDE`) registered with
        ``use_yes_price``: their NO prices are mirrored into NO-leg prices.
    """

    def __init__(self, tickers: Iterable[str] | None) -> None:
        self.wanted = None if tickers is None else set(tickers)
        self.books = Books(auto_create=self.wanted is None)
        self.use_yes_price = True
        self.shared_seq: set[int] = set()
        self.sids: dict[int, set[int]] = defaultdict(set)
        self.markets_of: dict[int, set[str]] = defaultdict(set)
        self.mirrored: set[int] = set()

    def frame(self, connection: int, payload: bytes) -> int:
        """Apply one frame received on ``connection``; return its :class:`FrameKind`."""
        books = self.books
        shared = connection in self.shared_seq
        data = renumber_sid(payload, connection * SID_STRIDE) if connection and not shared else payload
        kind = books.apply_frame(data)
        if shared:
            sid = books.last_sid
            if sid is not None:
                books.forget_subscription(sid)   # the next frame sets a new base: jumps are no gaps
        if kind == FrameKind.ORDERBOOK_SNAPSHOT:
            ticker = books.last_ticker
            if ticker is not None:
                self.markets_of[connection].add(ticker)
        elif kind == FrameKind.SUBSCRIBED or kind == FrameKind.MARKET_LIFECYCLE_V2:
            self._control(connection, kind, json.loads(data))
        if books.resync_pending:
            books.take_resync()   # the live recorder asked for the snapshot: it is further on
        return kind

    def _control(self, connection: int, kind: int, message: dict[str, Any]) -> None:
        msg = message.get("msg") or {}
        if kind == FrameKind.SUBSCRIBED:
            if msg.get("channel") == "orderbook_delta" and msg.get("sid") is not None:
                sid = int(msg["sid"])
                self.books.register_subscription(sid, use_yes_price=self.use_yes_price)
                self.sids[connection].add(sid)
                if self.use_yes_price:
                    self.mirrored.add(sid)
            return
        ranges = msg.get("price_ranges")
        ticker = msg.get("market_ticker")
        book = self.books.get(ticker) if ticker else None
        if ranges and book is not None:
            try:
                book.regrid(PriceGrid.from_ranges(ranges))
            except ValueError:
                pass   # levels off the new grid: the live feed kept its grid until the snapshot too

    def action(self, connection: int, body: dict[str, Any]) -> None:
        """Follow one recorder action (start, import, connected, disconnected)."""
        what = body.get("action")
        if what == "start":
            self.use_yes_price = bool(body.get("use_yes_price", True))
        elif what == "import":
            self.use_yes_price = bool(body.get("use_yes_price", False))
            if body.get("seq") == "shared":
                self.shared_seq.add(connection)
        elif what in ("connected", "disconnected"):
            for sid in self.sids.pop(connection, ()):
                self.books.forget_subscription(sid)
                self.mirrored.discard(sid)
            state = BookState.SYNCING if what == "connected" else BookState.STALE
            for ticker in self.markets_of.get(connection, ()):
                book = self.books.get(ticker)
                if book is not None and book.state != BookState.EMPTY:
                    book.set_state(state)

    def apply(self, record: Record) -> Event | None:
        """Apply one record; return its event, or None when it concerns a market not wanted."""
        kind, connection, wall, mono, payload = record
        wanted = self.wanted
        if kind == _FRAME:
            frame_kind = self.frame(connection, payload)
            ticker = self.books.last_ticker
            if wanted is not None and ticker is not None and ticker not in wanted:
                return None
            return Event(kind, frame_kind, connection, wall, mono, payload, ticker)
        ticker = None
        if kind == _META:
            ticker = self.meta(json.loads(payload))
        elif kind == _ACTION:
            self.action(connection, json.loads(payload))
        elif kind == _COVERAGE:
            ticker = json.loads(payload).get("ticker")
        if wanted is not None and ticker is not None and ticker not in wanted:
            return None
        return Event(kind, _NONE, connection, wall, mono, payload, ticker)

    def meta(self, market: dict[str, Any]) -> str | None:
        """Put a market's book on the grid of its metadata (created if new); return its ticker."""
        ticker = market.get("ticker")
        if not ticker or (self.wanted is not None and ticker not in self.wanted):
            return ticker
        grid = PriceGrid.from_ranges(market["price_ranges"]) if market.get("price_ranges") else None
        book = self.books.get(ticker)
        if book is None:
            self.books.add(ticker, grid)
        elif grid is not None and book.grid != grid:
            try:
                book.regrid(grid)
            except ValueError:
                pass
        return ticker


def replay(path: str | os.PathLike[str],
           tickers: Iterable[str] | None = None) -> Iterator[tuple[Event, Books]]:
    """Iterate a recording in receive order, with the books as they stood after each event.

    Parameters
    ----------
    path : str or PathLike
        A recording directory (or one of its segment files).
    tickers : iterable of str, optional
        Only these markets: other markets' book frames are skipped and their events not yielded
        (events of no market, such as connections, still are).

    Yields
    ------
    (Event, Books)
        The event, and the one :class:`~centbook.books.Books` of the replay as of that event
        (the same object every time: copy what must outlive the next step).

    Raises
    ------
    centbook.record.segment.RecordingError
        When ``path`` is not a recording.
    """
    state = Replayer(tickers)
    books = state.books
    for record in iter_records(path):
        event = state.apply(record)
        if event is not None:
            yield event, books


def books_at(path: str | os.PathLike[str], t_ns: int, tickers: Iterable[str] | None = None) -> Books:
    """Return the books with every event received at or before ``t_ns`` applied.

    Parameters
    ----------
    path : str or PathLike
        A recording.
    t_ns : int
        Local receive time, wall-clock ns since the Unix epoch.
    tickers : iterable of str, optional
        Only these markets.

    Returns
    -------
    Books
        A fresh registry (owned by the caller).
    """
    state = Replayer(tickers)
    for record in iter_records(path):
        if record.wall_ns > t_ns:
            break
        state.apply(record)
    return state.books
