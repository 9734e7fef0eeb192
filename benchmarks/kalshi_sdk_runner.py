"""Replay a centbook benchmark stream through kalshi-sdk's own order book and time it.

Run by ``benchmarks/bench_kalshi_sdk.py`` under the sdk venv's interpreter (kalshi-sdk needs
Python >= 3.12; centbook's venv is 3.11), so this file imports nothing from centbook, numpy or
the benchmarks package: the standard library, and kalshi-sdk inside the functions that use it
(so that :func:`write_stream`, the other half of the file format, imports under 3.11 too).

Usage: ``python kalshi_sdk_runner.py STREAM_FILE ROUNDS``. STREAM_FILE is written by
:func:`write_stream`: one JSON header line (``n``, ``tick_bp``, the snapshot, the reference's
final book and best-price checksum), then the stream's sides (uint8), prices (int32, basis points)
and deltas (int64, hundredths of a contract) as raw native-endian arrays. Prints one JSON object
on stdout.

The book is fed the way the SDK's WebSocket client feeds it (``KalshiWebSocket._process_frame``):
each frame's text goes through the client's default ``json.loads``, then
``OrderbookDeltaMessage.model_validate`` (pydantic), then
``OrderbookManager._apply_delta_inplace``; the best levels are read the way a user of the SDK
reads them, ``OrderbookManager.get(ticker)`` (what its ``orderbook()`` iterator yields after every
update), whose ``yes`` / ``no`` lists are sorted ascending, so the best bid is the last level.
(The public ``OrderbookManager.apply_delta`` does the same two steps in one call.)

Timed, per delta: apply + ``get`` + reading the top of the delta's side, plus one Decimal add of
that price into the checksum (well under 1 µs against the 100-300 µs a delta costs here; the
checksum is what proves each timed round right). Not timed: building the frame text,
``json.loads`` and pydantic validation, done chunk by chunk before the timed loop over the chunk;
their cost is reported on its own (``decode_round_ns``) because the SDK's receive loop pays it on
every frame too. Every round is checked against the reference (the same final book and the same
checksum of best prices after each delta) and the run stops with an error, before any figure is
printed, if one differs.
"""
from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from array import array
from decimal import Decimal
from importlib import metadata
from typing import Any

TICKER = "KXBENCH-26DEC31-T50"
MARKET_ID = "cc8473bc-c478-4f58-9fa9-8afbefd21d91"
CHUNK = 20_000   # deltas validated ahead of each timed loop: bounds memory (~2 KB per message)
BP_PER_DOLLAR = Decimal(10_000)
C100_PER_CONTRACT = Decimal(100)


def _price(bp: int) -> str:
    return f"{bp // 10000}.{bp % 10000:04d}"


def _size(c100: int) -> str:
    sign = "-" if c100 < 0 else ""
    return f"{sign}{abs(c100) // 100}.{abs(c100) % 100:02d}"


def write_stream(path: str, stream: Any, final: Any, checksum: int) -> None:
    """Write a ``benchmarks.streams.Stream`` and the reference's answer for the runner.

    ``final`` is the reference's final book (``[yes, no]``, each ascending ``(price_bp,
    size_c100)`` pairs) and ``checksum`` its sum of the delta side's best bid after each delta.
    The stream's arrays are NumPy arrays (only their ``astype`` / ``tobytes`` are used here).
    """
    header = {"n": len(stream), "tick_bp": int(stream.tick_bp),
              "snapshot_yes": [[int(p), int(s)] for p, s in stream.snapshot_yes],
              "snapshot_no": [[int(p), int(s)] for p, s in stream.snapshot_no],
              "expected_final": [[[int(p), int(s)] for p, s in side] for side in final],
              "expected_checksum": int(checksum)}
    with open(path, "wb") as fh:
        fh.write(json.dumps(header).encode() + b"\n")
        for values, dtype in ((stream.sides, "=u1"), (stream.prices, "=i4"), (stream.deltas, "=i8")):
            fh.write(values.astype(dtype, copy=False).tobytes())


def run_runner(python: str, stream_file: str, rounds: int) -> dict[str, Any]:
    """Run this file under ``python`` (the sdk venv's) on ``stream_file``; return its figures.

    Raises AssertionError with the runner's error output when it fails (a wrong book included).
    """
    proc = subprocess.run([python, __file__, stream_file, str(rounds)],
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise AssertionError(f"kalshi-sdk runner failed (exit {proc.returncode}): "
                             f"{proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def load(path: str) -> tuple[dict, array, array, array]:
    """Read the stream file: the header and the three arrays."""
    with open(path, "rb") as fh:
        header = json.loads(fh.readline())
        n = header["n"]
        sides, prices, deltas = array("B"), array("i"), array("q")
        if prices.itemsize != 4 or deltas.itemsize != 8:
            raise SystemExit(f"kalshi_sdk_runner: unexpected C int sizes {prices.itemsize}, "
                             f"{deltas.itemsize}")
        sides.fromfile(fh, n)
        prices.fromfile(fh, n)
        deltas.fromfile(fh, n)
        if fh.read(1):
            raise SystemExit(f"kalshi_sdk_runner: {path} is longer than its header says ({n} deltas)")
    return header, sides, prices, deltas


def snapshot_frame(header: dict) -> bytes:
    msg = {"market_ticker": TICKER, "market_id": MARKET_ID,
           "yes_dollars_fp": [[_price(p), _size(s)] for p, s in header["snapshot_yes"]],
           "no_dollars_fp": [[_price(p), _size(s)] for p, s in header["snapshot_no"]]}
    return json.dumps({"type": "orderbook_snapshot", "sid": 1, "seq": 1, "msg": msg},
                      separators=(",", ":")).encode()


def delta_frames(sides: array, prices: array, deltas: array, start: int, stop: int) -> list[bytes]:
    """Kalshi's fixed-point ``orderbook_delta`` frames for deltas ``start`` to ``stop``."""
    side_names = (b"yes", b"no")
    return [
        b'{"type":"orderbook_delta","sid":1,"seq":%d,"msg":{"market_ticker":"%s","market_id":"%s",'
        b'"price_dollars":"%s","delta_fp":"%s","side":"%s","ts_ms":%d}}'
        % (i + 2, TICKER.encode(), MARKET_ID.encode(), _price(prices[i]).encode(),
           _size(deltas[i]).encode(), side_names[sides[i]], 1795000000000 + i // 64)
        for i in range(start, stop)
    ]


def levels_c100(levels: dict[Decimal, Decimal]) -> list[list[int]]:
    """One side of the SDK's book in centbook units (exact: refuses anything off the grid)."""
    out = []
    for price, qty in sorted(levels.items()):
        bp, c100 = price * BP_PER_DOLLAR, qty * C100_PER_CONTRACT
        if bp != int(bp) or c100 != int(c100):
            raise SystemExit(f"kalshi_sdk_runner: level {price} x {qty} is not whole bp / hundredths")
        out.append([int(bp), int(c100)])
    return out


def one_round(header: dict, sides: array, prices: array, deltas: array) -> dict:
    """Replay the whole stream into a fresh OrderbookManager; return times, book and checksum."""
    from kalshi.ws.models.orderbook_delta import OrderbookDeltaMessage, OrderbookSnapshotMessage
    from kalshi.ws.orderbook import OrderbookManager

    loads = json.loads
    validate = OrderbookDeltaMessage.model_validate
    mgr = OrderbookManager()
    snap = OrderbookSnapshotMessage.model_validate(loads(snapshot_frame(header)))
    mgr._apply_snapshot_inplace(snap, sid=snap.sid)
    apply, get = mgr._apply_delta_inplace, mgr.get
    checksum = Decimal(0)
    timed_ns = decode_ns = 0
    n = header["n"]
    for start in range(0, n, CHUNK):
        frames = delta_frames(sides, prices, deltas, start, min(n, start + CHUNK))
        t0 = time.perf_counter_ns()
        messages = [validate(loads(f)) for f in frames]
        t1 = time.perf_counter_ns()
        for message in messages:
            apply(message)
            book = get(TICKER)
            top = book.yes if message.msg.side == "yes" else book.no
            if top:
                checksum += top[-1].price
        t2 = time.perf_counter_ns()
        decode_ns += t1 - t0
        timed_ns += t2 - t1
    state = mgr._books[TICKER]   # the final book, read once, untimed, for the check
    return {"timed_ns": timed_ns, "decode_ns": decode_ns,
            "final": [levels_c100(state.yes), levels_c100(state.no)],
            "checksum": checksum * BP_PER_DOLLAR}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: kalshi_sdk_runner.py STREAM_FILE ROUNDS", file=sys.stderr)
        return 2
    header, sides, prices, deltas = load(argv[1])
    rounds = int(argv[2])
    if rounds < 1:
        print(f"kalshi_sdk_runner: ROUNDS must be >= 1, not {rounds}", file=sys.stderr)
        return 2
    want_final, want_checksum = header["expected_final"], header["expected_checksum"]
    timed, decode = [], []
    for r in range(rounds):
        got = one_round(header, sides, prices, deltas)
        if got["final"] != want_final:
            print(f"kalshi_sdk_runner: round {r}: final book differs from the reference "
                  f"(yes {len(got['final'][0])} levels, no {len(got['final'][1])}; reference "
                  f"{len(want_final[0])}, {len(want_final[1])})", file=sys.stderr)
            return 1
        if got["checksum"] != want_checksum:
            print(f"kalshi_sdk_runner: round {r}: best-price checksum {got['checksum']} != reference "
                  f"{want_checksum}", file=sys.stderr)
            return 1
        timed.append(got["timed_ns"])
        decode.append(got["decode_ns"])
    n = header["n"]
    json.dump({"deltas": n, "rounds": rounds, "round_ns": timed, "decode_round_ns": decode,
               "final": got["final"], "checksum": int(got["checksum"]),
               "python": platform.python_version(), "kalshi_sdk": metadata.version("kalshi-sdk"),
               "pydantic": metadata.version("pydantic")}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
