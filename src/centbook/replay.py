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

:func:`books_at` starts from the last checkpoint before its time (:mod:`centbook.record.checkpoint`:
the replay's whole state, kept beside each closed segment), not from the start.

Parts: :class:`Event`, :class:`Replayer`, :func:`replay`, :func:`books_at`, :func:`build_checkpoints`,
:func:`checkpoints`, :func:`renumber_sid`.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from centbook.book import BookState
from centbook.books import Books, FrameKind
from centbook.grid import PriceGrid
from centbook.record.checkpoint import Checkpoint, read_checkpoints, write_checkpoints
from centbook.record.segment import (
    RECORD,
    Kind,
    Record,
    index_path,
    iter_blocks,
    iter_records,
    read_records,
    segment_paths,
)

__all__ = ["CHECKPOINT_BYTES", "SID_STRIDE", "Event", "Replayer", "books_at", "build_checkpoints",
           "checkpoints", "renumber_sid", "replay"]

SID_STRIDE = 1_000_000
#: Record bytes between two checkpoints (:func:`build_checkpoints`): a few ms of replay.
CHECKPOINT_BYTES = 4 << 20
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
        self.described: set[str] = set()

    def save(self) -> dict[str, Any]:
        """Return the whole replay state as JSON-able data (a checkpoint: :meth:`restore` takes it).

        Every book (grid bands, state, levels, last seq, the sid that last delivered it, whether
        metadata described it), the subscriptions' seq trackers, and what is known of the
        connections. The decoder's counters are not part of it.
        """
        books = self.books
        markets = []
        for ticker in books:
            book = books[ticker]
            sid = books.market_sid(ticker)
            markets.append([ticker, ticker in self.described, [list(b) for b in book.grid.bands],
                            int(book.state), -1 if sid is None else sid, book.last_seq,
                            [list(lv) for lv in book.levels(0)], [list(lv) for lv in book.levels(1)]])
        return {"use_yes_price": self.use_yes_price, "shared_seq": sorted(self.shared_seq),
                "sids": {str(c): sorted(v) for c, v in self.sids.items()},
                "markets_of": {str(c): sorted(v) for c, v in self.markets_of.items()},
                "mirrored": sorted(self.mirrored), "subscriptions": [list(s) for s in books.subscriptions()],
                "markets": markets}

    def restore(self, state: dict[str, Any]) -> None:
        """Take the state :meth:`save` returned (of a replay of every market) into this fresh replayer.

        With ``tickers``, only their books are kept, as a replay of those markets has them.
        """
        self.use_yes_price = state["use_yes_price"]
        self.shared_seq = set(state["shared_seq"])
        self.sids = defaultdict(set, {int(c): set(v) for c, v in state["sids"].items()})
        self.markets_of = defaultdict(set, {int(c): set(v) for c, v in state["markets_of"].items()})
        self.mirrored = set(state["mirrored"])
        books = self.books
        for sid, seq, use_yes_price in state["subscriptions"]:
            books.register_subscription(sid, use_yes_price=use_yes_price, seq=seq)
        for ticker, described, bands, book_state, sid, last_seq, yes, no in state["markets"]:
            if described:
                self.described.add(ticker)
            if self.wanted is not None and (ticker not in self.wanted or not described):
                continue   # a replay of some markets makes books from metadata only
            book = books.add(ticker, PriceGrid.from_bands([tuple(b) for b in bands]))
            if book_state != BookState.EMPTY:
                book.apply_snapshot_bp(yes=[tuple(lv) for lv in yes], no=[tuple(lv) for lv in no])
                if book_state != BookState.LIVE:
                    book.set_state(book_state)
            book.last_seq = last_seq
            books.set_market_sid(ticker, sid)

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
        if ticker:
            self.described.add(ticker)
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


def build_checkpoints(path: str | os.PathLike[str], every_bytes: int = CHECKPOINT_BYTES) -> list[Checkpoint]:
    """Replay a whole recording once and return checkpoints every ``every_bytes`` of records.

    The checkpoints of each closed segment (one with an index) are also kept beside it
    (:func:`~centbook.record.checkpoint.write_checkpoints`) when the directory is writable, so
    later readers find them.

    Parameters
    ----------
    path : str or PathLike
        A recording.
    every_bytes : int
        Record bytes (headers and payloads, uncompressed) between two checkpoints.
    """
    segments = segment_paths(path)
    state = Replayer(None)
    points: list[Checkpoint] = []
    wall_max = 0
    since = 0
    header = RECORD.size
    for number, segment in enumerate(segments):
        for offset, raw in iter_blocks(segment):
            for skip, record in enumerate(read_records(raw)):
                if since >= every_bytes:
                    points.append(Checkpoint(number, offset, skip, wall_max, state.save()))
                    since = 0
                state.apply(record)
                wall_max = max(wall_max, record.wall_ns)
                since += header + len(record.payload)
        if index_path(segment).exists():
            try:
                write_checkpoints(segment, number, points)
            except OSError:
                pass   # a read-only recording: the next reader builds them again
    return points


def checkpoints(path: str | os.PathLike[str]) -> list[Checkpoint]:
    """The checkpoints of a recording: those kept beside its closed segments, built when missing."""
    segments = segment_paths(path)
    points: list[Checkpoint] = []
    for number, segment in enumerate(segments):
        if not index_path(segment).exists():
            break   # the open segment of a running recording: no checkpoints kept for it
        found = read_checkpoints(segment, number)
        if found is None:
            return build_checkpoints(path)
        points.extend(found)
    return points


def _records_from(segments: list[Path], point: Checkpoint) -> Iterator[Record]:
    for number in range(point.segment, len(segments)):
        start = point.offset if number == point.segment else 0
        for offset, raw in iter_blocks(segments[number], start):
            records = read_records(raw)
            if number == point.segment and offset == point.offset:
                records = islice(records, point.skip, None)
            yield from records


def books_at(path: str | os.PathLike[str], t_ns: int, tickers: Iterable[str] | None = None) -> Books:
    """Return the books with every event received at or before ``t_ns`` applied.

    The replay starts from the last checkpoint before ``t_ns`` (:func:`checkpoints`; the first
    call on a recording without them builds them, a whole replay), so its cost is that of the
    records since that checkpoint. The books equal those of a replay from the start, level by
    level, with the same states and seq trackers (the decoder's counters count only what was
    applied here).

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
    segments = segment_paths(path)
    state = Replayer(tickers)
    start = None
    for point in checkpoints(path):
        if point.wall_ns > t_ns:
            break
        start = point
    if start is None:
        records: Iterator[Record] = iter_records(segments)
    else:
        state.restore(start.state)
        records = _records_from(segments, start)
    for record in records:
        if record.wall_ns > t_ns:
            break
        state.apply(record)
    return state.books
