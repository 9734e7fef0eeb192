"""``centbook import`` of the real Kalshi captures, replayed against an exact-Decimal reference.

The reference (:class:`DecimalBook`, from the decoder's capture test) is built from the raw JSON
of each event with Python's ``Decimal``, independent of the compiled decoder; the replayed books
must equal it after every book frame, across the three files merged in receive order.
"""
from __future__ import annotations

import gzip
import json

import pytest

from centbook.books import FrameKind
from centbook.cli import main
from centbook.record.segment import Kind, iter_records
from centbook.replay import books_at, replay
from tests.unit.test_decode_captures import CAPTURES, FILES, DecimalBook, events

METADATA = CAPTURES.parent / "metadata"
pytestmark = pytest.mark.skipif(not FILES, reason=f"captures not found at {CAPTURES}")


def test_import_is_lossless_and_in_receive_order(imported):
    records = list(iter_records(imported))
    by_connection: dict[int, list[bytes]] = {}
    last_ns = 0
    for r in records:
        if r.kind == Kind.FRAME:
            by_connection.setdefault(r.connection, []).append(r.payload)
            assert r.wall_ns >= last_ns
            last_ns = r.wall_ns
    assert [by_connection[c] for c in range(len(FILES))] == [events(p) for p in FILES]
    imports = [r.json() for r in records if r.kind == Kind.ACTION]
    assert [i["source"] for i in imports] == [p.name for p in FILES]
    assert all(i["seq"] == "shared" for i in imports)
    metas = [r.json() for r in records if r.kind == Kind.META]
    assert sorted(m["ticker"] for m in metas) == sorted(p.name[:24] for p in FILES)
    assert all(m["price_ranges"] for m in metas)


def test_replayed_books_equal_the_decimal_reference_at_every_frame(imported):
    refs: dict[str, DecimalBook] = {}
    checked = snapshots = 0
    books = None
    for event, books in replay(imported):
        if event.kind != Kind.FRAME:
            continue
        assert event.frame_kind != FrameKind.INVALID, books.last_error
        message = json.loads(event.payload)
        if message["type"] == "orderbook_snapshot":
            refs.setdefault(event.ticker, DecimalBook()).snapshot(message["msg"])
            snapshots += 1
        elif message["type"] == "orderbook_delta":
            refs[event.ticker].delta(message["msg"])
        else:
            continue
        book, ref = books[event.ticker], refs[event.ticker]
        assert book.levels(0) == ref.levels(0) and book.levels(1) == ref.levels(1)
        assert book.is_live
        checked += 1
    assert books is not None and snapshots == 7 and checked > 79_000
    assert books.gaps == 0 and books.decode_errors == 0
    for ticker in refs:          # the markets settled: every final book is empty
        assert books[ticker].levels(0) == [] == books[ticker].levels(1)


def test_coverage_shows_the_mid_file_reconnects(imported):
    summaries = {r.json()["ticker"]: r.json() for r in iter_records(imported)
                 if r.kind == Kind.COVERAGE and r.json().get("summary")}
    assert sorted(len(s["gaps"]) for s in summaries.values()) == [1, 1, 2]
    for s in summaries.values():
        assert all(g["cause"] == "reconnect" and g["to_ns"] >= g["from_ns"] for g in s["gaps"])
        assert len(s["live"]) == len(s["gaps"]) + 1


def test_books_at_a_time_equals_the_replay_up_to_it(imported):
    times = [r.wall_ns for r in iter_records(imported) if r.kind == Kind.FRAME]
    t = times[len(times) // 3]
    expected = {}
    for event, books in replay(imported):
        if event.wall_ns > t:
            break
        if event.kind == Kind.FRAME and event.ticker is not None:
            expected[event.ticker] = (books[event.ticker].levels(0), books[event.ticker].levels(1))
    got = books_at(imported, t)
    assert expected and {k: (got[k].levels(0), got[k].levels(1)) for k in expected} == expected


def test_bad_captures_are_named_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.ndjson.gz"
    with gzip.open(bad, "wb") as fh:
        fh.write(b'{"recv_ms": 1, "event": {"type": "trade"}}\n{"event": {}, "recv_ms": 2}\n')
    assert main(["import", str(bad), "--metadata", str(METADATA), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("centbook import: ") and "bad.ndjson.gz:2" in err and "\n" not in err
    assert main(["import", str(FILES[0]), "--metadata", str(tmp_path), "--out", str(tmp_path / "p")]) == 2
    assert "no metadata for KXGOLD15M-26AUG050800-00" in capsys.readouterr().err
