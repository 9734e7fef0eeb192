"""``centbook export``: the real captures to Parquet, checked against the raw JSON, and the
DuckDB queries of docs/recording.md run as written and checked against independent results."""
from __future__ import annotations

import json
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from centbook.cli import main
from centbook.record.exporter import SCHEMAS
from centbook.record.importer import load_metadata, read_capture
from centbook.record.segment import Kind, SegmentWriter, iter_records
from centbook.replay import books_at, replay
from tests.unit.test_decode_captures import CAPTURES, FILES, DecimalBook, events

METADATA = CAPTURES.parent / "metadata"
DOC = Path(__file__).resolve().parents[2] / "docs" / "recording.md"
pytestmark = pytest.mark.skipif(not FILES, reason=f"captures not found at {CAPTURES}")
MINUTE_NS = 60_000_000_000


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    base = tmp_path_factory.mktemp("export")
    assert main(["import", *map(str, FILES), "--metadata", str(METADATA), "--out", str(base / "rec")]) == 0
    assert main(["export", str(base / "rec"), "--parquet", str(base / "lake")]) == 0
    return base / "rec", base / "lake"


def table(lake: Path, name: str):
    return ds.dataset(lake / name, format="parquet", partitioning="hive").to_table()


def test_integer_types_throughout_and_hive_partitions(lake):
    _, out = lake
    for name, schema in SCHEMAS.items():
        for field in schema:
            assert not str(field.type).startswith(("float", "double", "decimal")), (name, field)
    parts = sorted(p.relative_to(out).parts[:3] for p in out.glob("book_deltas/*/*/*.parquet"))
    assert {p[1] for p in parts} == {"date=2026-08-05", "date=2026-08-10"}
    assert {p[2] for p in parts} == {"series=KXGOLD15M"}
    con = duckdb.connect()
    kinds = {row[1] for row in con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{out}/book_deltas/**/*.parquet', hive_partitioning = true)"
    ).fetchall()}
    assert kinds <= {"BIGINT", "INTEGER", "VARCHAR", "DATE"}


def test_deltas_and_trades_equal_the_raw_json(lake):
    _, out = lake
    deltas = table(out, "book_deltas").sort_by("record_no").to_pylist()
    trades = table(out, "trades").to_pylist()
    by_ticker = defaultdict(list)
    for row in deltas:
        by_ticker[row["ticker"]].append(row)
    n_trades = 0
    for path in FILES:
        ref = DecimalBook()
        rows = iter(by_ticker[json.loads(events(path)[0])["msg"]["market_ticker"]])
        for raw in events(path):
            message = json.loads(raw)
            if message["type"] == "orderbook_snapshot":
                ref.snapshot(message["msg"])
            elif message["type"] == "orderbook_delta":
                msg = message["msg"]
                ref.delta(msg)
                row = next(rows)
                side = {"yes": 0, "no": 1}[msg["side"]]
                price = int(Decimal(msg["price_dollars"]) * 10000)
                assert (row["side"], row["price_bp"], row["delta_c100"], row["seq"], row["ts_ms"]) == (
                    msg["side"], price, int(Decimal(msg["delta_fp"]) * 100), message["seq"], msg["ts_ms"])
                assert row["size_after_c100"] == dict(ref.levels(side)).get(price, 0)
            else:
                n_trades += 1
        assert next(rows, None) is None
    assert len(trades) == n_trades
    assert {t["trade_id"] for t in trades} == {
        json.loads(r)["msg"]["trade_id"] for p in FILES for r in events(p) if b'"type":"trade"' in r}


def test_a_second_export_writes_only_what_is_new(tmp_path):
    rec, out = tmp_path / "rec", tmp_path / "lake"
    lines = list(read_capture(FILES[0]))
    market = load_metadata(METADATA)[json.loads(lines[0][1])["msg"]["market_ticker"]]
    writer = SegmentWriter(rec, sync=False)
    writer.add_json(Kind.ACTION, 0, {"action": "import", "seq": "shared"}, 0, lines[0][0] * 10**6)
    writer.add_json(Kind.META, 0, market, 0, lines[0][0] * 10**6)
    half = len(lines) // 2
    for ms, raw in lines[:half]:
        writer.add(Kind.FRAME, 0, ms * 10**6, ms * 10**6, raw)
    writer.close()
    assert main(["export", str(rec), "--parquet", str(out)]) == 0
    first = table(out, "book_deltas").num_rows
    assert main(["export", str(rec), "--parquet", str(out)]) == 0
    assert table(out, "book_deltas").num_rows == first
    writer = SegmentWriter(rec, sync=False)          # the archive grows: a new segment
    for ms, raw in lines[half:]:
        writer.add(Kind.FRAME, 0, ms * 10**6, ms * 10**6, raw)
    writer.close()
    assert main(["export", str(rec), "--parquet", str(out)]) == 0
    rows = table(out, "book_deltas").to_pylist()
    want = sum(b'"orderbook_delta"' in raw for _, raw in lines)
    assert first < len(rows) == want == len({r["record_no"] for r in rows})
    # the two runs together wrote exactly what one run over the whole recording writes
    assert main(["export", str(rec), "--parquet", str(tmp_path / "once")]) == 0
    for name in ("book_deltas", "book_snapshots", "book_top", "trades", "markets"):
        key = "record_no"
        assert sorted(table(out, name).to_pylist(), key=lambda r: (r[key], str(r))) == sorted(
            table(tmp_path / "once", name).to_pylist(), key=lambda r: (r[key], str(r))), name


def doc_queries(lake_dir: Path) -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 4
    return [b.replace("LAKE", str(lake_dir)) for b in blocks]


def run_sql(sql: str) -> list[tuple]:
    con = duckdb.connect()
    statements = [s for s in sql.split(";") if s.strip()]
    for s in statements[:-1]:
        con.execute(s)
    return con.execute(statements[-1]).fetchall()


def levels(book) -> list[tuple[str, int, int]]:
    """The book's levels as the query orders them: side (no < yes), then price."""
    return [("no", p, s) for p, s in book.levels(1)] + [("yes", p, s) for p, s in book.levels(0)]


def test_doc_query_book_at_a_time_equals_books_at(lake):
    rec, out = lake
    sql = doc_queries(out)[0]
    ticker = re.search(r"SET VARIABLE ticker = '([^']+)'", sql).group(1)
    t_ns = int(re.search(r"SET VARIABLE t_ns = (\d+)", sql).group(1))
    rows = run_sql(sql)
    book = books_at(rec, t_ns)[ticker]
    assert rows == levels(book) and len(rows) > 5
    # and at other moments of every market
    for r in list(iter_records(rec))[5::9000]:
        sql_at = re.sub(r"t_ns = \d+", f"t_ns = {r.wall_ns}", sql)
        at = books_at(rec, r.wall_ns)
        for other in at:
            book = at[other]
            got = run_sql(sql_at.replace(ticker, other))
            assert got == levels(book)


def test_doc_query_spread_and_depth_by_minute(lake):
    rec, out = lake
    want = {}
    for event, books in replay(rec):
        if event.kind == Kind.FRAME and event.frame_kind in (2, 3):
            book = books[event.ticker]
            want[(event.ticker, event.wall_ns // MINUTE_NS)] = (book.spread(), book.total_size(0),
                                                                book.total_size(1))
    rows = run_sql(doc_queries(out)[1])
    got = {(t, int(m.timestamp()) * 10**9 // MINUTE_NS): (s, y, n) for t, m, s, y, n in rows}
    assert got == want and len(got) > 30


def test_doc_query_volume_by_minute(lake):
    _, out = lake
    want = defaultdict(lambda: [Decimal(0), 0])
    for path in FILES:
        for ms, raw in read_capture(path):
            m = json.loads(raw)
            if m["type"] == "trade":
                key = (m["msg"]["market_ticker"], ms * 10**6 // MINUTE_NS)
                want[key][0] += Decimal(m["msg"]["count_fp"]) * 100
                want[key][1] += 1
    rows = run_sql(doc_queries(out)[2])
    got = {(t, int(m.timestamp()) * 10**9 // MINUTE_NS): [Decimal(v), n] for t, m, v, n in rows}
    assert got == dict(want)


def test_doc_query_gaps_of_a_day(lake):
    rec, out = lake
    rows = run_sql(doc_queries(out)[3])
    want = sorted((s["ticker"], g["from_ns"], g["to_ns"], g["to_ns"] - g["from_ns"], g["cause"])
                  for r in iter_records(rec) if r.kind == Kind.COVERAGE
                  for s in [r.json()] for g in s["gaps"] if g["from_ns"] >= 1786320000 * 10**9)
    assert sorted(rows) == want and len(rows) == 3
