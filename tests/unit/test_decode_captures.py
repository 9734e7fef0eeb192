"""Real Kalshi captures (August 2026) replayed through Books against an exact-Decimal reference.

The captures live beside the repository (``<repo>/../shared/kalshi/captures``, as CI lays it out).
Each file holds one market of a recorder subscribed to many markets on sid 1 (books) and sid 2
(trades), so seq jumps thousands of times within a file: the replay renumbers seq per sid
(consecutive, in file order) so that a jump is not a gap, and a second replay on the original
numbers checks that every jump is reported as a gap without changing a level.
"""
import gzip
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from centbook import BookState
from centbook.books import Books, FrameKind

CAPTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "kalshi" / "captures" / "events"
FILES = sorted(CAPTURES.glob("*.ndjson.gz")) if CAPTURES.is_dir() else []
SEQ = re.compile(rb'"seq":(\d+)')

# CI lays shared/ beside the repository and sets this: there, missing captures fail every module
# that reads them instead of skipping it; a clone without shared/ skips those tests and says why
if os.environ.get("CENTBOOK_REQUIRE_CAPTURES") == "1" and not FILES:
    raise RuntimeError(f"CENTBOOK_REQUIRE_CAPTURES=1 but no captures at {CAPTURES}")

pytestmark = pytest.mark.skipif(
    not FILES, reason=f"captures not found at {CAPTURES} (shared/ beside the repo)")


def events(path):
    """The raw bytes of each captured WebSocket message, as received (no re-serialisation)."""
    out = []
    with gzip.open(path, "rb") as fh:
        for line in fh:
            line = line.rstrip(b"\n")
            start = line.index(b'"event":') + len(b'"event":')
            assert line.endswith(b"}")
            out.append(line[start:-1])
    return out


def renumber(frames):
    """Consecutive seq per sid, in file order (the only bytes changed are the seq digits)."""
    next_seq = {}
    out = []
    for f in frames:
        sid = json.loads(f)["sid"]
        next_seq[sid] = next_seq.get(sid, 0) + 1
        out.append(SEQ.sub(b'"seq":%d' % next_seq[sid], f, count=1))
    return out


class DecimalBook:
    """The reference: {Decimal price: Decimal size} per side, and its image in integer units."""

    def __init__(self):
        self.sides = [{}, {}]
        self.units = [{}, {}]

    @staticmethod
    def _units(price, size):
        bp, c100 = price * 10000, size * 100
        assert bp == int(bp) and c100 == int(c100), (price, size)
        return int(bp), int(c100)

    def snapshot(self, msg):
        self.sides = [{}, {}]
        self.units = [{}, {}]
        for side, key in ((0, "yes_dollars_fp"), (1, "no_dollars_fp")):
            for price, size in msg.get(key, []):
                p, s = Decimal(price), Decimal(size)
                assert p not in self.sides[side] and s >= 0
                if s:
                    self.sides[side][p] = s
                    bp, c100 = self._units(p, s)
                    self.units[side][bp] = c100

    def delta(self, msg):
        side = {"yes": 0, "no": 1}[msg["side"]]
        p = Decimal(msg["price_dollars"])
        new = self.sides[side].get(p, Decimal(0)) + Decimal(msg["delta_fp"])
        assert new >= 0, msg
        bp, c100 = self._units(p, new)
        if new:
            self.sides[side][p] = new
            self.units[side][bp] = c100
        else:
            self.sides[side].pop(p, None)
            self.units[side].pop(bp, None)

    def levels(self, side):
        return sorted(self.units[side].items())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name.split(".")[0])
def test_capture_replays_exactly(path):
    frames = events(path)
    renumbered = renumber(frames)
    books = Books()
    ref = DecimalBook()
    ticker = None
    counts = {"orderbook_snapshot": 0, "orderbook_delta": 0, "trade": 0}
    for raw, frame in zip(frames, renumbered, strict=True):
        message = json.loads(raw)
        kind = books.apply_frame(frame)
        assert kind != FrameKind.INVALID, books.last_error
        counts[message["type"]] += 1
        if message["type"] == "orderbook_snapshot":
            ticker = message["msg"]["market_ticker"]
            ref.snapshot(message["msg"])
        elif message["type"] == "orderbook_delta":
            assert message["msg"]["market_ticker"] == ticker
            ref.delta(message["msg"])
        else:
            assert kind == FrameKind.TRADE
            continue
        book = books[ticker]
        assert book.levels(0) == ref.levels(0)
        assert book.levels(1) == ref.levels(1)
        assert book.state == BookState.LIVE
    c = books.counters
    assert c["decode_errors"] == 0 and c["gaps"] == 0
    assert (c["snapshots"], c["deltas"], c["other"]) == (
        counts["orderbook_snapshot"], counts["orderbook_delta"], counts["trade"])
    # the markets settle at the end of the file: the final book is empty
    assert books[ticker].levels(0) == [] and books[ticker].levels(1) == []


@pytest.mark.parametrize("path", FILES[:1], ids=lambda p: p.name.split(".")[0])
def test_capture_seq_jumps_are_gaps(path):
    frames = events(path)
    expected_gaps = 0
    last = {}
    for f in frames:
        m = json.loads(f)
        if m["sid"] in last and m["seq"] != last[m["sid"]] + 1:
            expected_gaps += 1
        last[m["sid"]] = m["seq"]
    renumbered = Books()
    assert renumbered.apply_frames(renumber(frames)) == 0
    original = Books()
    last_seq = {}
    for f in frames:
        m = json.loads(f)
        assert original.apply_frame(f) != FrameKind.INVALID
        jumped = m["sid"] in last_seq and m["seq"] != last_seq[m["sid"]] + 1
        last_seq[m["sid"]] = m["seq"]
        if m["type"] == "orderbook_delta":
            book = original[m["msg"]["market_ticker"]]
            if jumped:
                assert book.state == BookState.GAPPED
                assert original.take_resync() == [book.ticker]
    assert original.gaps == expected_gaps > 1000
    assert original.counters["deltas"] == renumbered.counters["deltas"]
    assert original.decode_errors == 0
