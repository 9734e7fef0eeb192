"""Decode + apply benchmarks: Kalshi orderbook frames into a book, five ways.

Run: ``.venv/bin/python -m pytest benchmarks/bench_decode.py --benchmark-only``
(with ``-s`` to see the per-frame summary). Not part of ``make test``.

One seeded stream of ~220-byte fixed-point ``orderbook_delta`` frames (the shape of the real
captures: 4-decimal prices, signed 2-decimal deltas, market_id, ts_ms; without the deprecated
``ts``, which the capture benchmark keeps) with a snapshot every 2,000 deltas, applied by:

1. ``json.loads`` + a dict book (exact: Decimal sizes keyed by price string);
2. ``orjson.loads`` + the same dict book;
3. msgspec typed decoding (centbook.protocol.messages Structs) + centbook OrderBook;
4. centbook ``Books.apply_frame``, one call per frame;
5. centbook ``Books.apply_frames`` over the list.

Plus a 100-level-per-side snapshot (ns per level) and the real captures (ns per frame). Every
benchmark checks the book it built against the exact reference after timing: a fast wrong answer
fails.
"""
import gzip
import json
import random
import re
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from centbook import OrderBook
from centbook.books import Books, FrameKind
from centbook.protocol.messages import OrderbookDelta, OrderbookSnapshot, dec_hook

orjson = pytest.importorskip("orjson")

TICKER = "KXGOLD15M-26AUG101830-30"
MARKET_ID = "cc8473bc-c478-4f58-9fa9-8afbefd21d91"
N_DELTAS = 20_000
SNAPSHOT_EVERY = 2_000
CAPTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "kalshi" / "captures" / "events"
RESULTS = {}


def _price(bp):
    return f"{bp // 10000}.{bp % 10000:04d}"


def _size(c100):
    sign = "-" if c100 < 0 else ""
    return f"{sign}{abs(c100) // 100}.{abs(c100) % 100:02d}"


def make_stream(seed=20260810):
    """Frames, and the exact final book as {side: {price_bp: size_c100}}."""
    rnd = random.Random(seed)
    book = [{}, {}]
    frames = []
    seq = 0
    ts_ms = 1786400182317

    def snapshot():
        nonlocal seq
        for side in (0, 1):
            book[side] = {p: rnd.randint(1, 50000) for p in rnd.sample(range(100, 10000, 100), 30)}
        seq += 1
        msg = {"market_ticker": TICKER, "market_id": MARKET_ID,
               "yes_dollars_fp": [[_price(p), _size(s)] for p, s in sorted(book[0].items())],
               "no_dollars_fp": [[_price(p), _size(s)] for p, s in sorted(book[1].items())]}
        frames.append(json.dumps({"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": msg},
                                 separators=(",", ":")).encode())

    snapshot()
    for i in range(1, N_DELTAS + 1):
        side = rnd.randint(0, 1)
        price = rnd.randrange(100, 10000, 100)
        old = book[side].get(price, 0)
        delta = rnd.randint(1, 20000) if old == 0 or rnd.random() < 0.55 else -rnd.randint(1, old)
        new = old + delta
        if new:
            book[side][price] = new
        else:
            book[side].pop(price, None)
        seq += 1
        ts_ms += rnd.randint(0, 40)
        frames.append(
            b'{"type":"orderbook_delta","sid":1,"seq":%d,"msg":{"market_ticker":"%s","market_id":"%s",'
            b'"price_dollars":"%s","delta_fp":"%s","side":"%s","ts_ms":%d}}'
            % (seq, TICKER.encode(), MARKET_ID.encode(), _price(price).encode(), _size(delta).encode(),
               b"yes" if side == 0 else b"no", ts_ms))
        if i % SNAPSHOT_EVERY == 0 and i < N_DELTAS:
            snapshot()
    return frames, [dict(book[0]), dict(book[1])]


FRAMES, FINAL = make_stream()
N_FRAMES = len(FRAMES)
DELTA_BYTES = sum(len(f) for f in FRAMES if b"orderbook_delta" in f) / N_DELTAS


def expected_levels(side):
    return sorted(FINAL[side].items())


def dict_levels(book, side):
    """A dict book's side in centbook units, for the correctness check."""
    return sorted((int(Decimal(p) * 10000), int(s * 100)) for p, s in book[side].items() if s)


def _dict_apply(loads, frames):
    book = [{}, {}]
    for f in frames:
        m = loads(f)
        msg = m["msg"]
        if m["type"] == "orderbook_delta":
            side = book[0] if msg["side"] == "yes" else book[1]
            p = msg["price_dollars"]
            new = side.get(p, 0) + Decimal(msg["delta_fp"])
            if new < 0:
                raise ValueError("negative level")
            if new:
                side[p] = new
            else:
                del side[p]
        elif m["type"] == "orderbook_snapshot":
            book = [{p: Decimal(s) for p, s in msg.get("yes_dollars_fp", [])},
                    {p: Decimal(s) for p, s in msg.get("no_dollars_fp", [])}]
    return book


_typed = msgspec.json.Decoder(OrderbookSnapshot | OrderbookDelta, dec_hook=dec_hook)


def _msgspec_apply(frames):
    book = OrderBook(TICKER)
    decode = _typed.decode
    for f in frames:
        m = decode(f)
        if type(m) is OrderbookDelta:
            book.apply_delta(0 if m.msg.side == "yes" else 1, m.msg.price_bp, m.msg.delta_c100)
        else:
            book.apply_snapshot_bp(m.msg.yes, m.msg.no)
    return book


def _books_one_call(frames):
    books = Books()
    apply = books.apply_frame
    for f in frames:
        apply(f)
    return books


def _books_list(frames):
    books = Books()
    assert books.apply_frames(frames) == 0
    return books


def _record(benchmark, name, n, unit="frame"):
    stats = benchmark.stats.stats
    per = stats.median / n * 1e9
    benchmark.extra_info["ops"] = n   # the report's per-operation figures: ns per frame (or level)
    benchmark.extra_info[f"ns_per_{unit}_median"] = round(per, 1)
    benchmark.extra_info[f"ns_per_{unit}_min"] = round(stats.min / n * 1e9, 1)
    RESULTS[name] = (per, stats.min / n * 1e9, unit)


def test_json_dict(benchmark):
    book = benchmark.pedantic(_dict_apply, args=(json.loads, FRAMES), rounds=5, iterations=1)
    assert dict_levels(book, 0) == expected_levels(0) and dict_levels(book, 1) == expected_levels(1)
    _record(benchmark, "json.loads + dict book", N_FRAMES)


def test_orjson_dict(benchmark):
    book = benchmark.pedantic(_dict_apply, args=(orjson.loads, FRAMES), rounds=5, iterations=1)
    assert dict_levels(book, 0) == expected_levels(0) and dict_levels(book, 1) == expected_levels(1)
    _record(benchmark, "orjson + dict book", N_FRAMES)


def test_msgspec_dict(benchmark):
    book = benchmark.pedantic(_dict_apply, args=(msgspec.json.decode, FRAMES), rounds=5, iterations=1)
    assert dict_levels(book, 0) == expected_levels(0) and dict_levels(book, 1) == expected_levels(1)
    _record(benchmark, "msgspec + dict book", N_FRAMES)


def test_msgspec_centbook_book(benchmark):
    book = benchmark.pedantic(_msgspec_apply, args=(FRAMES,), rounds=10, iterations=1)
    assert book.levels(0) == expected_levels(0) and book.levels(1) == expected_levels(1)
    _record(benchmark, "msgspec typed + centbook OrderBook", N_FRAMES)


def test_books_apply_frame(benchmark):
    books = benchmark.pedantic(_books_one_call, args=(FRAMES,), rounds=20, iterations=1)
    assert books.decode_errors == 0 and books.gaps == 0
    assert books[TICKER].levels(0) == expected_levels(0) and books[TICKER].levels(1) == expected_levels(1)
    _record(benchmark, "centbook Books.apply_frame (one call per frame)", N_FRAMES)


def test_books_apply_frames(benchmark):
    books = benchmark.pedantic(_books_list, args=(FRAMES,), rounds=20, iterations=1)
    assert books[TICKER].levels(0) == expected_levels(0) and books[TICKER].levels(1) == expected_levels(1)
    _record(benchmark, "centbook Books.apply_frames (list)", N_FRAMES)


def test_snapshot_100_levels(benchmark):
    rnd = random.Random(7)
    grid_prices = rnd.sample(range(1, 10000), 200)
    yes = [(_price(p), _size(rnd.randint(1, 10**6))) for p in sorted(grid_prices[:100])]
    no = [(_price(p), _size(rnd.randint(1, 10**6))) for p in sorted(grid_prices[100:])]
    frame = json.dumps({"type": "orderbook_snapshot", "sid": 1, "seq": 1,
                        "msg": {"market_ticker": "S", "market_id": MARKET_ID, "yes_dollars_fp": yes,
                                "no_dollars_fp": no}}, separators=(",", ":")).encode()
    from centbook import PriceGrid
    books = Books(PriceGrid.from_bands([(0, 10000, 1)]))
    n = 2000

    def run():
        apply = books.apply_frame
        for _ in range(n):
            apply(frame)

    benchmark.pedantic(run, rounds=10, iterations=1)
    book = books["S"]
    assert book.levels(0) == sorted((int(Decimal(p) * 10000), int(Decimal(s) * 100)) for p, s in yes)
    assert book.levels(1) == sorted((int(Decimal(p) * 10000), int(Decimal(s) * 100)) for p, s in no)
    assert books.counters["snapshots"] == n * (benchmark.stats.stats.rounds) and books.decode_errors == 0
    _record(benchmark, "snapshot, 100 levels per side", n * 200, unit="level")


def _capture_frames():
    frames = []
    for path in sorted(CAPTURES.glob("*.ndjson.gz")):
        seq = {}
        with gzip.open(path, "rb") as fh:
            for line in fh:
                raw = line.rstrip(b"\n")[line.index(b'"event":') + 8:-1]
                sid = json.loads(raw)["sid"]
                # renumber per sid (each file is one market of a many-market subscription)
                seq[sid] = seq.get(sid, 0) + 1
                frames.append(re.sub(rb'"seq":\d+', b'"seq":%d' % seq[sid], raw, count=1))
    return frames


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="captures not found beside the repository")
def test_real_captures(benchmark):
    frames = _capture_frames()

    def run():
        books = Books()
        errors = books.apply_frames(frames)
        return books, errors

    books, errors = benchmark.pedantic(run, rounds=5, iterations=1)
    assert errors == 0 and books.counters["deltas"] == 28614 + 28666 + 22024
    # every market settles at the end of its file: the books end empty, exactly as the captures say
    assert all(books[t].levels(0) == [] and books[t].levels(1) == [] for t in books)
    assert books.counters["frames_by_type"]["trade"] == 399 + 1065 + 977
    _record(benchmark, f"real captures ({len(frames)} frames)", len(frames))


def test_zz_summary(benchmark, capsys):
    """Print the figures (run with -s to see them); ratios against the one-call fast path."""
    benchmark(lambda: None)   # a benchmark itself, so that --benchmark-only runs it last
    if not RESULTS:
        pytest.skip("no benchmark ran")
    fast = RESULTS.get("centbook Books.apply_frame (one call per frame)", (None,))[0]
    lines = [f"\nstream: {N_FRAMES} frames ({N_DELTAS} deltas of {DELTA_BYTES:.0f} bytes on average); "
             "median (min) per item"]
    for name, (per, best, unit) in RESULTS.items():
        comparable = fast and unit == "frame" and "captures" not in name
        ratio = f"  ({per / fast:5.1f}x the fast path)" if comparable else ""
        lines.append(f"{name:50s} {per:9.1f} ({best:7.1f}) ns/{unit}{ratio}")
    with capsys.disabled():
        print("\n".join(lines))
    assert FrameKind.ORDERBOOK_DELTA == 3
