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
from centbook.feed.reader import BookListener, CountingListener

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


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_the_reads_other_frames_reach_python_before_the_compiled_amend_goes_out(loop_kind):
    """A read's non-book frames reach on_message as they come, so what they say (a fill, an order
    update, a paused market, a subscription) holds before the compiled write at the end of the
    read; then on_read."""
    from centbook import PriceGrid
    from centbook.mm.quoter import Quoter
    from centbook.rest.lane import OrderLane
    from tests.integration.test_lane import RawServer, _ok, armed_amend
    from tests.unit.test_books import delta, snap

    ticker = "KX-Q"
    note = b'{"type":"note","n":1}'

    class Server(picows.WSListener):
        def on_ws_connected(self, transport):
            # fair (4500 x 2 + 5500 x 3) / 5 = 5100: a 150 bp half-spread bids 4900
            book = snap(ticker, yes=[("0.4500", "3.00")], no=[("0.4500", "2.00")])
            transport.send(picows.WSMsgType.TEXT, book)

        def on_ws_frame(self, transport, frame):
            if frame.get_payload_as_bytes() == b"go":  # one callback, so one read on the client
                transport.send(picows.WSMsgType.TEXT, note)
                transport.send(picows.WSMsgType.TEXT, delta(ticker, seq=2, price="0.4500", d="1.00"))

    async def main():
        events = []
        async with RawServer([_ok()]) as exchange:
            lane = OrderLane(exchange.url, connections=1, timeout_s=5)
            await lane.open()
            server = await picows.ws_create_server(lambda request: Server(), "127.0.0.1", 0)
            books = Books()
            books.add(ticker, PriceGrid.linear_cent())
            writes = []

            def on_fired(fired):  # as the market maker does: the answer is awaited from here
                events.append(("fired", listener.reads))
                writes.extend(lane.adopt(f.conn, "POST") for f in fired)

            quoter = Quoter(on_fired)
            listener = BookListener(
                books, on_read=lambda tickers, ns: events.append(("read", listener.reads)),
                on_message=lambda kind, payload: events.append(("message", listener.reads, quoter.fired)))
            listener.quoter = quoter
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
            transport, _ = await picows.ws_connect(lambda: listener, url)
            while not books[ticker].is_live:
                await asyncio.sleep(0.01)
            a = armed_amend(books[ticker], lane.reserve(), lane.head("POST", "/o/1/amend"),
                            (b'{"price":"', b'","count":"', b'"}'), market=books.index_of(ticker),
                            live_price=4900, live_size=500, size=500, half_spread_bp=150)
            quoter.arm(a)
            events.clear()
            transport.send(picows.WSMsgType.TEXT, b"go")
            while quoter.fired == 0 or len(events) < 3:
                await asyncio.sleep(0.01)
            assert (await lane.finish(writes[0])).status == 200
            transport.disconnect()
            server.close()
            await lane.close()
            return events, exchange.requests, a.fired_price

    run = __import__("uvloop").run if loop_kind == "uvloop" else asyncio.run
    events, requests, price = run(main())
    (message, r1, fired_then), (fired, r2), (read, r3) = events
    assert (message, fired, read) == ("message", "fired", "read") and r1 == r2 == r3  # one read
    assert fired_then == 0 and price == 5000  # fair 5166.7 after the delta: bid 5016 -> 5000
    assert len(requests) == 1 and requests[0].endswith(b'{"price":"0.5000","count":"5.00"}')
