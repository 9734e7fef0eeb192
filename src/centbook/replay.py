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

:func:`replay` makes an :class:`Event` per record. :func:`books_at` and :func:`replay_books`,
for callers that want only the books, apply each block's frames in one compiled loop
(:func:`centbook.record.tap.apply_block`), and :func:`books_at` starts from the last checkpoint
before its time (:mod:`centbook.record.checkpoint`: the replay's whole state, kept beside each
closed segment).

Parts: :class:`Event`, :class:`Replayer`, :func:`replay`, :func:`books_at`, :func:`replay_books`,
:func:`build_checkpoints`, :func:`checkpoints`, :func:`renumber_sid`.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from centbook.book import BookState
from centbook.books import Books, FrameKind
from centbook.grid import PriceGrid
from centbook.record.checkpoint import Checkpoint, read_checkpoints, write_checkpoints
from centbook.record.segment import RECORD, Kind, Record, index_path, iter_blocks, iter_records, segment_paths
from centbook.record.tap import DONE, PYTHON, STOP, apply_block

__all__ = ["CHECKPOINT_BYTES", "SID_STRIDE", "Event", "Replayer", "books_at", "build_checkpoints",
           "checkpoints", "renumber_sid", "replay", "replay_books"]

SID_STRIDE = 1_000_000
#: Record bytes between two checkpoints (:func:`build_checkpoints`): a few ms of replay.
CHECKPOINT_BYTES = 4 << 20
_FRAME, _ACTION, _META, _COVERAGE = int(Kind.FRAME), int(Kind.ACTION), int(Kind.META), int(Kind.COVERAGE)
_NONE = int(FrameKind.NONE)
_NEVER = (1 << 63) - 1


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
        #: shared_seq as one flag per connection, for the compiled loop
        self.shared_flags = bytearray(1 << 16)

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
        for connection in self.shared_seq:
            self.shared_flags[connection] = 1
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
        self.follow(connection, kind, data)
        return kind

    def follow(self, connection: int, kind: int, data: bytes) -> None:
        """Do what follows an applied frame (``data``: as applied, its sid renumbered)."""
        books = self.books
        if kind == FrameKind.ORDERBOOK_SNAPSHOT:
            ticker = books.last_ticker
            if ticker is not None:
                self.markets_of[connection].add(ticker)
        elif kind == FrameKind.SUBSCRIBED or kind == FrameKind.MARKET_LIFECYCLE_V2:
            self._control(connection, kind, json.loads(data))
        if books.resync_pending:
            books.take_resync()   # the live recorder asked for the snapshot: it is further on

    def apply_block(self, raw: bytes, pos: int = 0, stop_ns: int = _NEVER) -> int:
        """Apply the records of a decompressed block from byte ``pos``, frames in compiled code.

        The books end as :meth:`apply` one record at a time leaves them (no events are made).

        Returns
        -------
        int
            -1 when the whole block is applied, else the offset of the first record received
            after ``stop_ns`` (not applied).
        """
        end = len(raw)
        books, shared, header = self.books, self.shared_flags, RECORD.size
        while True:
            status, pos, start, kind = apply_block(books, raw, pos, end, stop_ns, shared, SID_STRIDE)
            if status == DONE:
                return -1
            if status == STOP:
                return pos
            if status == PYTHON:
                kind, connection, wall, mono, n = RECORD.unpack_from(raw, pos)
                pos += header
                self.apply(Record(kind, connection, wall, mono, raw[pos:pos + n]))
                pos += n
            else:
                connection = RECORD.unpack_from(raw, start)[1]
                data = raw[start + header:pos]
                if connection and not shared[connection]:
                    data = renumber_sid(data, connection * SID_STRIDE)
                self.follow(connection, kind, data)

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
                self.shared_flags[connection] = 1
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
    for number, segment in enumerate(segments):
        for info, raw in iter_blocks(segment):
            if since >= every_bytes:
                points.append(Checkpoint(number, info.offset, 0, wall_max, state.save()))
                since = 0
            state.apply_block(raw)
            wall_max = max(wall_max, info.last_wall_ns)
            since += len(raw)
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


def _blocks_from(segments: list[Path], point: Checkpoint | None) -> Iterator[tuple[bytes, int]]:
    """``(raw block, offset to start at)`` of every block from a checkpoint (None: the start)."""
    first = 0 if point is None else point.segment
    for number in range(first, len(segments)):
        at_point = point is not None and number == point.segment
        for info, raw in iter_blocks(segments[number], point.offset if at_point else 0):
            yield raw, point.position if at_point and info.offset == point.offset else 0


def _resume(path: str | os.PathLike[str], t_ns: int,
            tickers: Iterable[str] | None) -> tuple[Replayer, Checkpoint | None]:
    """A replayer at the last checkpoint a replay stopped at ``t_ns`` passes (None: the start)."""
    state = Replayer(tickers)
    start = None
    for point in checkpoints(path):
        if point.wall_ns > t_ns:
            break
        start = point
    if start is not None:
        state.restore(start.state)
    return state, start


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
    state, start = _resume(path, t_ns, tickers)
    for raw, pos in _blocks_from(segment_paths(path), start):
        if state.apply_block(raw, pos, t_ns) >= 0:
            break
    return state.books


def replay_books(path: str | os.PathLike[str], every_ns: int, tickers: Iterable[str] | None = None,
                 start_ns: int | None = None) -> Iterator[tuple[int, Books]]:
    """Iterate a recording's books at regular receive times, frames applied in compiled code.

    The fast way through a recording when only the books matter: no event is made per record,
    and the books at each time equal those :func:`replay` has after the last event received at or
    before it.

    Parameters
    ----------
    path : str or PathLike
        A recording.
    every_ns : int
        Time between two yields, ns (> 0).
    tickers : iterable of str, optional
        Only these markets.
    start_ns : int, optional
        The first time is ``start_ns + every_ns`` (default: the first record's receive time);
        the replay jumps to the checkpoint before ``start_ns``.

    Yields
    ------
    (int, Books)
        ``t_ns`` and the books with every record received at or before it applied, for
        ``t_ns = start + every_ns, start + 2 * every_ns, ...`` up to the first at or after the
        last record (the same ``Books`` object every time).
    """
    if every_ns <= 0:
        raise ValueError(f"every_ns must be > 0, got {every_ns}")
    segments = segment_paths(path)
    if start_ns is None:
        first = next(iter_records(segments), None)
        if first is None:
            return
        start_ns = first.wall_ns
    state, point = _resume(path, start_ns, tickers)
    t = start_ns + every_ns
    started = False
    for raw, pos in _blocks_from(segments, point):
        if not started:   # what was received up to start_ns: applied, not yielded
            pos = state.apply_block(raw, pos, start_ns)
            if pos < 0:
                continue
            started = True
        while (pos := state.apply_block(raw, pos, t)) >= 0:
            yield t, state.books
            t += every_ns
    yield t, state.books
