"""A recording (or a directory of recordings) to a Parquet dataset that DuckDB reads as it is.

Every table is its own hive-partitioned dataset under the output directory,
``OUT/<table>/date=YYYY-MM-DD/series=<SERIES>/part-<run>-<n>.parquet`` (date: the UTC day of
the local receive time; series: the ticker up to its first ``-``), so
``read_parquet('OUT/book_deltas/**/*.parquet', hive_partitioning=true)`` works in DuckDB, and
Polars, Spark and Trino read the same files. The tables (:data:`SCHEMAS`):

- ``book_deltas``: one row per applied delta: exchange ``ts_ms``, receive ``recv_ns`` (wall) and
  ``recv_mono_ns``, ticker, side (``yes``/``no``), ``price_bp`` as the book holds it (NO bids at
  NO-leg prices), signed ``delta_c100``, ``size_after_c100``, seq, sid, connection;
- ``book_snapshots``: one row per level of each applied snapshot (``snapshot_no`` numbers the
  snapshots of a market; an empty snapshot is one row with null side and price, size 0);
- ``book_top``: after every book frame, the market's best YES bid and ask (an ask is a NO bid
  at ``10000 - price``) with sizes, the spread, and each side's total size (null when empty);
- ``trades``, ``tickers``, ``lifecycle``: the typed messages' fields in integer units;
- ``markets``: each metadata record (settlement value in bp, the raw JSON beside);
- ``coverage``: each market's LIVE intervals and gaps with cause and duration.

Every row has ``record_no``, the record's position in its recording: the order of receipt,
finer than ``recv_ns`` (which is shared by the frames of one socket read). Integers
throughout: no float ever holds a price or a size. Deltas are replayed through
:class:`centbook.replay.Replayer`, so a delta's size after it is the book's.

Incremental: ``OUT/_centbook_export.json`` keeps, per recording, how many records were exported;
exporting again replays the recording (the books need it) but writes only the rows of records
past that count, as new part files.

Parts: :func:`export`, :func:`find_recordings`, :data:`SCHEMAS`, :class:`ExportError`.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from centbook.book import Side
from centbook.books import FrameKind, parse_frame
from centbook.fixed import parse_price_bp
from centbook.protocol.messages import MarketLifecycleV2, Ticker, Trade, decode
from centbook.record.segment import Kind, RecordingError, iter_records, segment_paths
from centbook.replay import SID_STRIDE, Event, Replayer

__all__ = ["SCHEMAS", "STATE_FILE", "ExportError", "export", "find_recordings"]

STATE_FILE = "_centbook_export.json"
MAX_BP = 10000
_I64, _I32, _STR = pa.int64(), pa.int32(), pa.string()
_RECV = [("record_no", _I64), ("recv_ns", _I64), ("recv_mono_ns", _I64), ("connection", _I32),
         ("ticker", _STR)]
SCHEMAS: dict[str, pa.Schema] = {
    "book_deltas": pa.schema(_RECV + [
        ("ts_ms", _I64), ("side", _STR), ("price_bp", _I32), ("delta_c100", _I64),
        ("size_after_c100", _I64), ("seq", _I64), ("sid", _I64)]),
    "book_snapshots": pa.schema(_RECV + [
        ("snapshot_no", _I64), ("side", _STR), ("price_bp", _I32), ("size_c100", _I64), ("seq", _I64),
        ("sid", _I64)]),
    "book_top": pa.schema(_RECV + [
        ("yes_bid_bp", _I32), ("yes_bid_c100", _I64), ("yes_ask_bp", _I32), ("yes_ask_c100", _I64),
        ("spread_bp", _I32), ("yes_depth_c100", _I64), ("no_depth_c100", _I64)]),
    "trades": pa.schema(_RECV + [
        ("ts_ms", _I64), ("trade_id", _STR), ("yes_price_bp", _I32), ("no_price_bp", _I32),
        ("count_c100", _I64), ("taker_side", _STR)]),
    "tickers": pa.schema(_RECV + [
        ("ts_ms", _I64), ("price_bp", _I32), ("yes_bid_bp", _I32), ("yes_ask_bp", _I32),
        ("volume_c100", _I64), ("open_interest_c100", _I64)]),
    "lifecycle": pa.schema(_RECV + [
        ("event_type", _STR), ("open_ts", _I64), ("close_ts", _I64), ("result", _STR),
        ("settlement_value_bp", _I32), ("determination_ts", _I64), ("settled_ts", _I64)]),
    "markets": pa.schema(_RECV + [
        ("event_ticker", _STR), ("status", _STR), ("price_level_structure", _STR), ("price_ranges", _STR),
        ("close_time", _STR), ("result", _STR), ("settlement_value_bp", _I32), ("raw", _STR)]),
    "coverage": pa.schema(_RECV + [
        ("interval", _STR), ("from_ns", _I64), ("to_ns", _I64), ("duration_ns", _I64), ("cause", _STR)]),
}
SIDES = {int(Side.YES): "yes", int(Side.NO): "no"}
FLUSH_ROWS = 500_000


class ExportError(ValueError):
    """The source is not a recording or a directory of recordings."""


def find_recordings(source: str | os.PathLike[str]) -> list[Path]:
    """The recordings at ``source``: itself, or its subdirectories that hold segments.

    Raises
    ------
    ExportError
        When there is none.
    """
    root = Path(source)
    if not root.is_dir():
        raise ExportError(f"{root}: not a directory")
    if segment_paths(root):
        return [root]
    found = sorted(p for p in root.iterdir() if p.is_dir() and segment_paths(p))
    if not found:
        raise ExportError(f"{root}: no recording in it (no seg-*.cbrec here or one level down)")
    return found


def _series(ticker: str) -> str:
    return ticker.split("-", 1)[0]


def _date(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d")


class _Tables:
    """Rows of every table, as columns, written out in partitioned parts."""

    def __init__(self, out: Path, run: str) -> None:
        self.out, self.run = out, run
        self.columns = {name: {f.name: [] for f in schema} for name, schema in SCHEMAS.items()}
        self.extra = {name: {"date": [], "series": []} for name in SCHEMAS}
        self.rows = dict.fromkeys(SCHEMAS, 0)
        self.parts = 0

    def add(self, table: str, recv: tuple[int, int, int, int, str], values: tuple[Any, ...]) -> None:
        cols = self.columns[table]
        names = SCHEMAS[table].names
        for name, value in zip(names, recv + values, strict=True):
            cols[name].append(value)
        self.extra[table]["date"].append(_date(recv[1]))
        self.extra[table]["series"].append(_series(recv[4]))
        self.rows[table] += 1
        if len(cols["recv_ns"]) >= FLUSH_ROWS:
            self.flush(table)

    def flush(self, table: str) -> None:
        cols = self.columns[table]
        if not cols["recv_ns"]:
            return
        schema = SCHEMAS[table].append(pa.field("date", _STR)).append(pa.field("series", _STR))
        data = pa.table({**cols, **self.extra[table]}, schema=schema)
        ds.write_dataset(data, self.out / table, format="parquet", partitioning=["date", "series"],
                         partitioning_flavor="hive", existing_data_behavior="overwrite_or_ignore",
                         basename_template=f"part-{self.run}-{self.parts}-{{i}}.parquet")
        self.parts += 1
        for values in (*cols.values(), *self.extra[table].values()):
            values.clear()

    def close(self) -> None:
        for table in SCHEMAS:
            self.flush(table)


def _rows(state: Replayer, event: Event, snapshot_no: int) -> Iterator[tuple[str, tuple[Any, ...], str]]:
    """Yield ``(table, values after the receive columns, ticker)`` for one applied event."""
    kind, connection, payload = event.kind, event.connection, event.payload
    books = state.books
    if kind == Kind.FRAME:
        fk = event.frame_kind
        if fk == FrameKind.ORDERBOOK_DELTA:
            f = parse_frame(payload)
            sid = f["sid"] + connection * SID_STRIDE
            price = f["price_bp"]
            if f["side"] == Side.NO and sid in state.mirrored:
                price = MAX_BP - price
            size = books[f["market_ticker"]].size_at(f["side"], price)
            yield "book_deltas", (f.get("ts_ms"), SIDES[f["side"]], price, f["delta"], size, f["seq"],
                                  f["sid"]), f["market_ticker"]
            yield _top(books[f["market_ticker"]])
        elif fk == FrameKind.ORDERBOOK_SNAPSHOT:
            book = books[event.ticker]
            seq, sid = books.last_seq, books.last_sid
            for side in (Side.YES, Side.NO):
                for price, size in book.levels(side):
                    yield "book_snapshots", (snapshot_no, SIDES[side], price, size, seq, sid), event.ticker
            if not book.level_count(Side.YES) and not book.level_count(Side.NO):
                # an empty book is still a snapshot: one row without a level marks it
                yield "book_snapshots", (snapshot_no, None, None, 0, seq, sid), event.ticker
            yield _top(book)
        elif fk in (FrameKind.TRADE, FrameKind.TICKER, FrameKind.MARKET_LIFECYCLE_V2):
            yield from _message_rows(decode(payload))
    elif kind == Kind.META:
        yield from _market_rows(json.loads(payload))
    elif kind == Kind.COVERAGE:
        body = json.loads(payload)
        if body.get("summary"):
            for start, end in body["live"]:
                duration = None if end is None else end - start
                yield "coverage", ("live", start, end, duration, None), body["ticker"]
            for gap in body["gaps"]:
                start, end = gap["from_ns"], gap["to_ns"]
                yield "coverage", ("gap", start, end, None if end is None else end - start,
                                   gap["cause"]), body["ticker"]


def _top(book: Any) -> tuple[str, tuple[Any, ...], str]:
    bid = book.best_bid(Side.YES)
    no_bid = book.best_bid(Side.NO)
    ask = None if no_bid is None else (MAX_BP - no_bid[0], no_bid[1])
    spread = None if bid is None or ask is None else ask[0] - bid[0]
    return "book_top", (None if bid is None else bid[0], None if bid is None else bid[1],
                        None if ask is None else ask[0], None if ask is None else ask[1], spread,
                        book.total_size(Side.YES), book.total_size(Side.NO)), book.ticker


def _message_rows(message: Any) -> Iterator[tuple[str, tuple[Any, ...], str]]:
    m = message.msg
    if isinstance(message, Trade):
        yield "trades", (m.ts_ms, m.trade_id, m.yes_price_bp, m.no_price_bp, m.count_c100,
                         m.taker_side), m.market_ticker
    elif isinstance(message, Ticker):
        yield "tickers", (m.ts_ms, m.price_bp, m.yes_bid_bp, m.yes_ask_bp, m.volume_c100,
                          m.open_interest_c100), m.market_ticker
    elif isinstance(message, MarketLifecycleV2):
        yield "lifecycle", (m.event_type, m.open_ts, m.close_ts, m.result, m.settlement_value_bp,
                            m.determination_ts, m.settled_ts), m.market_ticker


def _market_rows(market: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...], str]]:
    value = market.get("settlement_value_dollars")
    yield "markets", (market.get("event_ticker"), market.get("status"), market.get("price_level_structure"),
                      json.dumps(market.get("price_ranges")), market.get("close_time"),
                      market.get("result") or None, parse_price_bp(value) if value else None,
                      json.dumps(market, sort_keys=True)), market["ticker"]


def export(source: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, int]:
    """Export the recordings at ``source`` to Parquet datasets under ``out`` (incremental).

    Returns
    -------
    dict of str to int
        Rows written per table by this run.

    Raises
    ------
    ExportError
        When ``source`` holds no recording or the export state is unreadable.
    """
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / STATE_FILE
    try:
        done: dict[str, int] = json.loads(state_path.read_text()) if state_path.exists() else {}
    except ValueError as exc:
        raise ExportError(f"{state_path}: unreadable export state ({exc}); "
                          "remove it to export afresh") from None
    tables = _Tables(out_dir, f"{time.time_ns():x}")
    for recording in find_recordings(source):
        key = str(recording.resolve())
        skip = done.get(key, 0)
        state = Replayer(None)
        snapshots: dict[str | None, int] = {}
        count = 0
        try:
            for record in iter_records(recording):
                count += 1
                event = state.apply(record)
                if event is None:
                    continue
                if event.frame_kind == FrameKind.ORDERBOOK_SNAPSHOT:
                    snapshots[event.ticker] = snapshots.get(event.ticker, 0) + 1
                if count <= skip:
                    continue
                recv = (count, record.wall_ns, record.mono_ns, record.connection)
                for table, values, ticker in _rows(state, event, snapshots.get(event.ticker, 0)):
                    tables.add(table, (*recv, ticker), values)
        except RecordingError as exc:
            raise ExportError(str(exc)) from None
        done[key] = max(count, skip)
    tables.close()
    tmp = state_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(done, indent=1))
    os.replace(tmp, state_path)
    return tables.rows
