"""Loopback feed throughput: WebSocket frames over 127.0.0.1 into order books, five ways, one run.

Run: ``.venv/bin/python -m pytest benchmarks/bench_feed.py --benchmark-only -s``
(``-s`` prints the summary: msgs/s per contender and the ratios to the targets). Not part of
``make test``.

A pusher process (multiprocessing, pinned to the other core when there is one) serves a plain
asyncio WebSocket server on 127.0.0.1. On each connection it writes one pre-built blob: a
snapshot, ``N`` fixed-point ``orderbook_delta`` frames (seeded, valid: :func:`streams.make_stream`,
seq increasing) and an end marker, as fast as the socket takes it. Contenders:

1. ``centbook``: :class:`centbook.feed.reader.BookListener` + :class:`centbook.books.Books`, no
   Python subscriber (frames decoded and applied inside picows' callback);
2. ``centbook+sub``: the same with one Python ``on_read`` subscriber (called once per socket read);
3. ``picows_floor_cython``: :class:`centbook.feed.reader.CountingListener`, a Cython picows
   listener that counts frames and bytes and decodes nothing (the receive-only floor: same
   socket, same framing, the same one C call per frame as centbook);
4. ``picows_floor``: the same count done by a Python ``WSListener`` subclass, one Python call per
   frame (slower than centbook itself: what a pure-Python listener costs, not a floor);
5. ``websockets_json``: websockets + ``json.loads`` + a Decimal dict book (the tutorial stack);
6. ``aiohttp_msgspec``: aiohttp's WS client + msgspec typed decoding + an int dict book.

Every contender's final book is checked against the exact reference before its rate is recorded
(the floors check their frame count, the Cython floor its byte count too). Each benchmark
records ``extra_info["ops"]`` (messages per round), ``extra_info["msgs_per_s"]`` and
``extra_info["ns_per_msg"]``; centbook's also ``extra_info["x_floor"]``, its time per message
over the Cython floor's in the same run (target <= 2.5x), when the floor ran first.
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
from decimal import Decimal

import msgspec
import picows
import pytest

from benchmarks.streams import make_stream
from centbook.books import Books
from centbook.feed.reader import BookListener, CountingListener
from centbook.protocol.messages import OrderbookDelta, OrderbookSnapshot, dec_hook

websockets = pytest.importorskip("websockets")
aiohttp = pytest.importorskip("aiohttp")

N = 100_000
TICKER = "KXBENCH-26DEC31-T50"
END = b'{"type":"end_of_stream"}'
RESULTS: dict[str, float] = {}


def _price(bp: int) -> str:
    return f"{bp // 10000}.{bp % 10000:04d}"


def _size(c100: int) -> str:
    sign = "-" if c100 < 0 else ""
    return f"{sign}{abs(c100) // 100}.{abs(c100) % 100:02d}"


def make_frames(n: int = N) -> tuple[list[bytes], list[dict[int, int]]]:
    """Return the frames (a snapshot, ``n`` deltas, the end marker) and the exact final book."""
    stream = make_stream(n)
    book = [dict(stream.snapshot_yes), dict(stream.snapshot_no)]
    snap = {"type": "orderbook_snapshot", "sid": 1, "seq": 1, "msg": {
        "market_ticker": TICKER,
        "yes_dollars_fp": [[_price(p), _size(s)] for p, s in sorted(book[0].items())],
        "no_dollars_fp": [[_price(p), _size(s)] for p, s in sorted(book[1].items())]}}
    frames = [json.dumps(snap, separators=(",", ":")).encode()]
    ts_ms = 1795000000000
    for i, (side, price, delta) in enumerate(zip(*stream.as_lists(), strict=True)):
        new = book[side].get(price, 0) + delta
        if new:
            book[side][price] = new
        else:
            del book[side][price]
        frames.append(
            b'{"type":"orderbook_delta","sid":1,"seq":%d,"msg":{"market_ticker":"%s",'
            b'"price_dollars":"%s","delta_fp":"%s","side":"%s","ts_ms":%d}}'
            % (i + 2, TICKER.encode(), _price(price).encode(), _size(delta).encode(),
               b"yes" if side == 0 else b"no", ts_ms + i // 64))
    frames.append(END)
    return frames, book


def _ws_frame(payload: bytes) -> bytes:
    """One unmasked server TEXT frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + payload


def _pusher(ready: mp.Queue, n: int) -> None:  # pragma: no cover - runs in the child process
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {os.cpu_count() - 1})
    frames, _ = make_frames(n)
    blob = b"".join(_ws_frame(f) for f in frames)

    async def main() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            import base64
            import hashlib

            head = await reader.readuntil(b"\r\n\r\n")
            key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                      .digest())
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            writer.write(blob)
            await writer.drain()
            try:
                # the client's close frame (any bytes after the stream): answer it with a close frame
                # at once, so that clients waiting for the closing handshake do not time out
                await reader.read(1)
                writer.write(b"\x88\x02\x03\xe8")
                await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        ready.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


@pytest.fixture(scope="module")
def pusher():
    """Start the pusher process; yield ``(url, final book, messages, payload bytes)``."""
    frames, book = make_frames(N)          # also fills the stream cache for the child
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    proc = ctx.Process(target=_pusher, args=(ready, N), daemon=True)
    proc.start()
    port = ready.get(timeout=60)
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {0})
    yield f"ws://127.0.0.1:{port}/", book, len(frames) - 1, sum(len(f) for f in frames)
    proc.kill()
    proc.join()


# ----------------------------------------------------------------------------- contenders

def _books_levels(books: Books) -> list[dict[int, int]]:
    return [dict(books[TICKER].levels(0)), dict(books[TICKER].levels(1))]


async def centbook_feed(url: str, subscriber: bool = False) -> list[dict[int, int]]:
    books = Books(auto_create=False)
    books.add(TICKER)
    done = asyncio.get_running_loop().create_future()
    reads = [0]

    def on_message(kind: int, payload: bytes) -> None:
        if payload == END and not done.done():
            done.set_result(None)

    def on_read(tickers: list[str], start_ns: int) -> None:
        reads[0] += 1

    listener = BookListener(books, on_read=on_read if subscriber else None, on_message=on_message,
                            sample_every=1 << 30)
    transport, _ = await picows.ws_connect(lambda: listener, url)
    await done
    transport.disconnect()
    assert books.decode_errors == 0 and books.gaps == 0
    assert not subscriber or reads[0] > 0
    return _books_levels(books)


class _Counter(picows.WSListener):
    def __init__(self, done: asyncio.Future) -> None:
        self.done, self.frames = done, 0

    def on_ws_frame(self, transport, frame) -> None:
        self.frames += 1
        if frame.payload_size == len(END) and frame.get_payload_as_bytes() == END:
            self.done.set_result(self.frames)


async def picows_floor(url: str) -> int:
    done = asyncio.get_running_loop().create_future()
    transport, _ = await picows.ws_connect(lambda: _Counter(done), url)
    frames = await done
    transport.disconnect()
    return frames


async def picows_floor_cython(url: str, frames: int) -> tuple[int, int]:
    """Receive the stream with the counting listener; return (frames, payload bytes)."""
    done = asyncio.get_running_loop().create_future()
    listener = CountingListener(stop_after=frames, on_stop=lambda counter: done.set_result(None))
    transport, _ = await picows.ws_connect(lambda: listener, url)
    await done
    transport.disconnect()
    return listener.frames, listener.bytes_in


def _apply_dict(book: list[dict], side: int, price, delta) -> None:
    level = book[side]
    new = level.get(price, 0) + delta
    if new < 0:
        raise ValueError("negative level")
    if new:
        level[price] = new
    else:
        del level[price]


async def websockets_json(url: str) -> list[dict[int, int]]:
    book: list[dict] = [{}, {}]
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        async for raw in ws:
            m = json.loads(raw)
            msg = m.get("msg")
            kind = m["type"]
            if kind == "orderbook_delta":
                _apply_dict(book, 0 if msg["side"] == "yes" else 1, msg["price_dollars"],
                            Decimal(msg["delta_fp"]))
            elif kind == "orderbook_snapshot":
                book = [{p: Decimal(s) for p, s in msg.get("yes_dollars_fp", [])},
                        {p: Decimal(s) for p, s in msg.get("no_dollars_fp", [])}]
            elif kind == "end_of_stream":
                break
    return [{int(Decimal(p) * 10000): int(s * 100) for p, s in side.items()} for side in book]


_typed = msgspec.json.Decoder(OrderbookSnapshot | OrderbookDelta, dec_hook=dec_hook)


async def aiohttp_msgspec(url: str) -> list[dict[int, int]]:
    book: list[dict[int, int]] = [{}, {}]
    async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0,
                                                                 compress=0) as ws:
        async for raw in ws:
            data = raw.data
            if data == END.decode():
                break
            m = _typed.decode(data)
            if type(m) is OrderbookDelta:
                body = m.msg
                _apply_dict(book, 0 if body.side == "yes" else 1, body.price_bp, body.delta_c100)
            else:
                book = [dict(m.msg.yes), dict(m.msg.no)]
    return book


# ----------------------------------------------------------------------------- benchmarks

def _run(coro_fn, *args):
    return asyncio.run(coro_fn(*args))


def _bench(benchmark, name, messages, fn, want, rounds):
    """Time ``fn`` (one connection, the whole stream); check its book; then record the rate."""
    result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
    assert result == want, f"{name}: wrong final book"
    rate = messages / benchmark.stats.stats.min
    benchmark.extra_info["ops"] = messages
    benchmark.extra_info["msgs_per_s"] = round(rate)
    benchmark.extra_info["ns_per_msg"] = round(1e9 / rate, 1)
    RESULTS[name] = rate


def test_picows_floor_cython(benchmark, pusher):
    url, _, messages, payload_bytes = pusher
    _bench(benchmark, "picows_floor_cython", messages, lambda: _run(picows_floor_cython, url, messages + 1),
           (messages + 1, payload_bytes), rounds=7)


@pytest.mark.parametrize("subscriber", [False, True], ids=["no_subscriber", "one_subscriber"])
def test_centbook_feed(benchmark, pusher, subscriber):
    url, want, messages, _ = pusher
    name = "centbook+sub" if subscriber else "centbook"
    _bench(benchmark, name, messages, lambda: _run(centbook_feed, url, subscriber), want, rounds=7)
    if "picows_floor_cython" in RESULTS:   # defined above, so it ran first in this run
        benchmark.extra_info["x_floor"] = round(RESULTS["picows_floor_cython"] / RESULTS[name], 2)


def test_picows_floor(benchmark, pusher):
    url, _, messages, _ = pusher
    _bench(benchmark, "picows_floor", messages, lambda: _run(picows_floor, url), messages + 1,
           rounds=7)


def test_websockets_json(benchmark, pusher):
    url, want, messages, _ = pusher
    _bench(benchmark, "websockets_json", messages, lambda: _run(websockets_json, url), want, rounds=3)


def test_aiohttp_msgspec(benchmark, pusher):
    url, want, messages, _ = pusher
    _bench(benchmark, "aiohttp_msgspec", messages, lambda: _run(aiohttp_msgspec, url), want, rounds=3)


def teardown_module(module):
    if not RESULTS:
        return
    print("\nloopback feed throughput (best round, msgs/s):")
    for name, rate in sorted(RESULTS.items(), key=lambda kv: -kv[1]):
        print(f"  {name:16s} {rate:12,.0f} msgs/s  {1e9 / rate:8.1f} ns/msg")
    base = RESULTS.get("centbook")
    if base:
        print(f"  target >= 2.5M msgs/s (no subscriber): {base / 1e6:.2f}M")
        if "picows_floor_cython" in RESULTS:
            print(f"  decode+apply / receive-only floor (time per message): "
                  f"{RESULTS['picows_floor_cython'] / base:.2f}x (target <= 2.5x)")
        if "websockets_json" in RESULTS:
            print(f"  vs tutorial stack: {base / RESULTS['websockets_json']:.1f}x (target >= 20x)")
        if "aiohttp_msgspec" in RESULTS:
            print(f"  vs aiohttp + msgspec: {base / RESULTS['aiohttp_msgspec']:.1f}x")
