"""`make demo` until the market maker exists: real Kalshi traffic replayed into centbook books.

Replays a WebSocket capture recorded from Kalshi (``../shared/kalshi/captures``, gzipped NDJSON)
into one OrderBook per market, re-basing on every snapshot, prints the ladder as the market
moves, and ends with a summary: messages applied, faults, and the final book. The messages are
parsed here with ``json`` and centbook's exact fixed-point parsers; the compiled frame decoder
replaces that when it lands.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

from centbook import BookFault, OrderBook, Side, format_price, format_size, parse_price_bp, parse_size

DEFAULT_CAPTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "kalshi" / "captures" / "events"


def ladder(book: OrderBook, depth: int = 5) -> str:
    """Render the YES ladder: asks (from NO bids) above, bids below, in dollars."""
    asks = [(10000 - p, s) for p, s in book.depth(Side.NO, depth)]
    lines = [f"  {book.ticker}  state={book.state.name}  gen={book.generation}  seq={book.last_seq}"]
    for price, size in reversed(asks):
        lines.append(f"      ask {format_price(price)}  {format_size(size):>12}")
    spread = book.spread()
    lines.append(f"      ---- spread {'n/a' if spread is None else format_price(spread)} ----")
    for price, size in book.depth(Side.YES, depth):
        lines.append(f"      bid {format_price(price)}  {format_size(size):>12}")
    return "\n".join(lines)


def replay(path: Path, every: int, out=sys.stdout) -> dict[str, int]:
    books: dict[str, OrderBook] = {}
    counts = {"snapshots": 0, "deltas": 0, "faults": 0, "other": 0}
    started = time.perf_counter()
    with gzip.open(path, "rt") as lines:
        for line in lines:
            event = json.loads(line)["event"]
            kind, msg = event.get("type"), event.get("msg", {})
            if kind == "orderbook_snapshot":
                book = books.setdefault(msg["market_ticker"], OrderBook(msg["market_ticker"]))
                book.apply_snapshot(msg.get("yes_dollars_fp"), msg.get("no_dollars_fp"))
                counts["snapshots"] += 1
            elif kind == "orderbook_delta":
                book = books[msg["market_ticker"]]
                side = Side.YES if msg["side"] == "yes" else Side.NO
                try:
                    book.apply_delta(side, parse_price_bp(msg["price_dollars"]), parse_size(msg["delta_fp"]))
                except BookFault as fault:
                    counts["faults"] += 1
                    print(f"  fault: {fault}", file=out)
                counts["deltas"] += 1
            else:
                counts["other"] += 1
                continue
            book.last_seq = event.get("seq", book.last_seq)
            applied = counts["snapshots"] + counts["deltas"]
            if every and applied % every == 0:
                print(ladder(book), file=out)
    elapsed = time.perf_counter() - started
    for book in books.values():
        print(ladder(book), file=out)
    counts["seconds_ms"] = int(elapsed * 1000)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="centbook-demo", description=__doc__.splitlines()[0])
    parser.add_argument("captures", nargs="*", type=Path, help="capture files (.ndjson.gz)")
    parser.add_argument("--every", type=int, default=10_000, help="print the ladder every N messages")
    args = parser.parse_args(argv)
    files = args.captures or sorted(DEFAULT_CAPTURES.glob("*.ndjson.gz"))
    if not files:
        where = os.path.normpath(DEFAULT_CAPTURES)
        print(f"no capture files given and none found in {where}", file=sys.stderr)
        return 2
    for path in files:
        print(f"replaying {path.name}")
        counts = replay(path, args.every)
        print(f"  {counts['snapshots']} snapshots, {counts['deltas']} deltas, {counts['other']} other "
              f"messages, {counts['faults']} faults, {counts['seconds_ms']} ms (json + exact parsing)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
