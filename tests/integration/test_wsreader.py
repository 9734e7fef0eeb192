"""The picows listeners over a real socket: a server on 127.0.0.1 replays real Kalshi frames.

The book listener must end with exactly the books that applying the same frames directly gives,
and hear about changed markets once per socket read; the counting listener must count every
frame and payload byte the server sent.
"""
import asyncio
import gzip
import json
from pathlib import Path

import picows
import pytest

from centbook.books import Books
from centbook.wsreader import BookListener, CountingListener

CAPTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "kalshi" / "captures" / "events"


def capture_frames(limit=6000):
    files = sorted(CAPTURES.glob("*.ndjson.gz"))
    if not files:
        pytest.skip(f"no captures in {CAPTURES} (shared/ is beside the repository in CI)")
    frames, seqs = [], {}
    with gzip.open(files[0], "rt") as lines:
        for line in lines:
            event = json.loads(line)["event"]
            if "seq" in event:
                # one market of a many-market subscription: renumber seq per sid so it is gapless
                seqs[event["sid"]] = event["seq"] = seqs.get(event["sid"], 0) + 1
            frames.append(json.dumps(event, separators=(",", ":")).encode())
            if len(frames) >= limit:
                break
    return frames


class Replay(picows.WSListener):
    def __init__(self, frames, done):
        self.frames, self.done = frames, done

    def on_ws_connected(self, transport):
        for i, frame in enumerate(self.frames):
            transport.send(picows.WSMsgType.TEXT, frame)
            if i % 500 == 499:
                transport.send_ping(b"heartbeat")
        transport.send(picows.WSMsgType.TEXT, b'{"type":"end_of_replay"}')


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_listener_applies_frames_like_direct_application(loop_kind):
    frames = capture_frames()
    direct = Books()
    for frame in frames:
        direct.apply_frame(frame)

    async def main():
        server = await picows.ws_create_server(lambda request: Replay(frames, None), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        books = Books()
        reads, changed, others = [], set(), []
        finished = asyncio.get_running_loop().create_future()

        def on_read(tickers, start_ns):
            reads.append(tickers)
            assert len(tickers) == len(set(tickers))      # each market once per read
            changed.update(tickers)

        def on_message(kind, payload):
            others.append(payload)
            if b"end_of_replay" in payload and not finished.done():
                finished.set_result(None)

        listener = BookListener(books, on_read=on_read, on_message=on_message, sample_every=1)
        transport, _ = await picows.ws_connect(lambda: listener, f"ws://127.0.0.1:{port}/")
        await asyncio.wait_for(finished, 30)
        transport.disconnect()
        server.close()
        return books, listener, reads, changed, others

    if loop_kind == "uvloop":
        import uvloop
        books, listener, reads, changed, others = uvloop.run(main())
    else:
        books, listener, reads, changed, others = asyncio.run(main())

    assert books.tickers() == direct.tickers() and changed == set(direct.tickers())
    for ticker in direct.tickers():
        assert books[ticker].levels(0) == direct[ticker].levels(0)
        assert books[ticker].levels(1) == direct[ticker].levels(1)
        assert books[ticker].state == direct[ticker].state
    assert books.counters["decode_errors"] == 0 and books.counters["gaps"] == 0
    book_frames = sum(1 for f in frames if f.startswith(b'{"type":"orderbook'))
    assert listener.book_frames == book_frames
    assert listener.other_frames == len(frames) - book_frames + 1 == len(others)
    assert 0 < len(reads) <= listener.reads < len(frames)   # frames were batched per socket read
    assert listener.apply_latency.count == book_frames


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_counting_listener_counts_every_frame_and_byte(loop_kind):
    frames = capture_frames(3000)
    sent = frames + [b'{"type":"end_of_replay"}']

    async def main():
        server = await picows.ws_create_server(lambda request: Replay(frames, None), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        done = asyncio.get_running_loop().create_future()
        stops = []

        def on_stop(counter):
            stops.append(counter.frames)
            done.set_result(None)

        listener = CountingListener(stop_after=len(sent), on_stop=on_stop)
        transport, _ = await picows.ws_connect(lambda: listener, f"ws://127.0.0.1:{port}/")
        await asyncio.wait_for(done, 30)
        transport.disconnect()
        server.close()
        return listener, stops

    if loop_kind == "uvloop":
        import uvloop
        listener, stops = uvloop.run(main())
    else:
        listener, stops = asyncio.run(main())
    assert stops == [len(sent)]                 # on_stop once, at exactly the stop_after-th frame
    assert listener.frames == len(sent)         # pings are not data frames
    assert listener.bytes_in == sum(len(f) for f in sent)
    assert 0 < listener.reads <= len(sent)
    assert listener.elapsed_ns == listener.last_ns - listener.first_ns >= 0
    assert listener.stats() == {"frames": len(sent), "bytes_in": listener.bytes_in,
                                "reads": listener.reads, "elapsed_ns": listener.elapsed_ns}


def test_counting_listener_refuses_a_negative_stop_after():
    with pytest.raises(ValueError, match="stop_after must be >= 0"):
        CountingListener(stop_after=-1)
