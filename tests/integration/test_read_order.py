"""The order in which a read's other frames reach Python around the compiled hook.

A picows server on 127.0.0.1 writes several WebSocket frames in one socket write, so the reader
gets them in one read. With a hook whose ``defer_public`` is set, public trades and tickers reach
``on_message`` after the hook, unless a frame that must come first follows them (then they go
before it, in their order); own orders, fills, positions, lifecycle and anything else reach it
before the hook, as they came; a lifecycle frame waits only when its market has no armed slot
(``Quoter.watches_c``). Each ``on_message`` call records how many hooks the reader had
called by then (``hooked_reads``: counted before the call), which tells before from after.
"""
from __future__ import annotations

import asyncio
import json

import picows
import pytest

from centbook.book import OrderBook
from centbook.books import Books, FrameKind
from centbook.feed.reader import BookListener
from centbook.grid import PriceGrid
from centbook.hooks import ReadHook
from centbook.mm.quoter import ArmedAmend, Quoter
from tests.unit.test_books import delta, snap

TICKER = "KX-ORDER"


def _msg(kind: str, sid: int, seq: int, **msg) -> bytes:
    body = {"type": kind, "sid": sid, "seq": seq, "msg": {"market_ticker": TICKER, **msg}}
    return json.dumps(body).encode()


def trade(seq: int) -> bytes:
    return _msg("trade", 7, seq, trade_id=f"t{seq}", yes_price_dollars="0.5000", count_fp="1.00")


def ticker(seq: int) -> bytes:
    return _msg("ticker", 8, seq, price_dollars="0.5000")


def fill(seq: int) -> bytes:
    return _msg("fill", 9, seq, trade_id=f"f{seq}", order_id="o1", side="yes")


def user_order(seq: int) -> bytes:
    return json.dumps({"type": "user_order", "sid": 10, "seq": seq,
                       "msg": {"ticker": TICKER, "order_id": "o1", "status": "resting"}}).encode()


def lifecycle(seq: int, market: str = TICKER) -> bytes:
    body = {"type": "market_lifecycle_v2", "sid": 11, "seq": seq,
            "msg": {"event_type": "deactivated", "market_ticker": market}}
    return json.dumps(body).encode()


def _ws_frames(payloads: list[bytes]) -> bytes:
    """Server-to-client text frames (unmasked), back to back."""
    out = bytearray()
    for p in payloads:
        out.append(0x81)
        if len(p) < 126:
            out.append(len(p))
        else:
            out += bytes([126]) + len(p).to_bytes(2, "big")
        out += p
    return bytes(out)


class Server(picows.WSListener):
    def __init__(self, reads: list[list[bytes]]) -> None:
        self.reads = reads

    def on_ws_connected(self, transport):
        transport.send(picows.WSMsgType.TEXT, snap(TICKER, yes=[("0.5000", "3.00")], no=[("0.4000", "2.00")]))

    def on_ws_frame(self, transport, frame):
        n = int(frame.get_payload_as_bytes())  # "send read n": all its frames in one socket write
        transport.underlying_transport.write(_ws_frames(self.reads[n]))


def run_reads(hook: ReadHook | None, reads: list[list[bytes]]) -> tuple[BookListener, list[list[tuple]]]:
    """Send each read's frames in one write; per read, the (kind, hooks called before) of every
    ``on_message`` call, in call order."""
    seen: list[tuple] = []

    async def main():
        server = await picows.ws_create_server(lambda request: Server(reads), "127.0.0.1", 0)
        books = Books()
        books.add(TICKER, PriceGrid.linear_cent())
        listener = BookListener(
            books, on_message=lambda kind, payload: seen.append((kind, listener.hooked_reads)))
        listener.hook = hook
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        transport, _ = await picows.ws_connect(lambda: listener, url)
        per_read = []
        try:
            while not books[TICKER].is_live:
                await asyncio.sleep(0.01)
            for i, frames in enumerate(reads):
                start, reads_before = len(seen), listener.reads
                transport.send(picows.WSMsgType.TEXT, str(i).encode())
                want = sum(b"orderbook_" not in f for f in frames)
                while len(seen) - start < want or listener.reads == reads_before:
                    await asyncio.sleep(0.005)
                assert listener.reads == reads_before + 1, "the frames came in more than one read"
                per_read.append([(kind, hooked - listener.hooked_reads) for kind, hooked in seen[start:]])
        finally:
            transport.disconnect()
            server.close()
        return listener, per_read

    return asyncio.run(asyncio.wait_for(main(), 30))


BEFORE, AFTER = -1, 0  # hooked_reads at the call, relative to after the read (one hook per read)


@pytest.mark.timeout(60)
def test_trades_and_tickers_reach_python_after_a_deferring_hook():
    hook = Quoter()  # the market maker's hook defers them
    assert hook.defer_public
    reads = [
        [trade(1), delta(TICKER, seq=2, price="0.5100"), ticker(1)],
        [ticker(2), trade(2), delta(TICKER, seq=3, price="0.5200")],
    ]
    listener, got = run_reads(hook, reads)
    assert got[0] == [(FrameKind.TRADE, AFTER), (FrameKind.TICKER, AFTER)]
    assert got[1] == [(FrameKind.TICKER, AFTER), (FrameKind.TRADE, AFTER)]
    assert listener.deferred_frames == 4 and listener.hooked_reads == 2


@pytest.mark.timeout(60)
def test_own_orders_fills_and_lifecycle_keep_their_place_before_the_hook():
    hook = _armed_quoter(0)  # lifecycle: of a market with an armed slot
    reads = [
        [fill(1), delta(TICKER, seq=2, price="0.5100")],
        [user_order(1), delta(TICKER, seq=3, price="0.5200"), lifecycle(1)],
        # mixed: the trade before the fill goes before it, the one after the book goes after
        [trade(1), fill(2), delta(TICKER, seq=4, price="0.5300"), trade(2), ticker(1)],
    ]
    listener, got = run_reads(hook, reads)
    assert got[0] == [(FrameKind.FILL, BEFORE)]
    assert got[1] == [(FrameKind.USER_ORDER, BEFORE), (FrameKind.MARKET_LIFECYCLE_V2, BEFORE)]
    assert got[2] == [(FrameKind.TRADE, BEFORE), (FrameKind.FILL, BEFORE), (FrameKind.TRADE, AFTER),
                      (FrameKind.TICKER, AFTER)]
    assert listener.deferred_frames == 3


def _armed_quoter(market: int = 0) -> Quoter:
    """A Quoter with a slot armed on ``market`` (never fired here: nothing in these reads makes
    the book reach it, and its connection would refuse the write)."""
    a = ArmedAmend()
    grid = PriceGrid.linear_cent()
    a.book, a.grid, a.market, a.side = OrderBook(TICKER, grid), grid, market, 0  # never LIVE: declines
    q = Quoter()
    q.arm(a)
    return q


def test_a_quoter_watches_the_markets_it_has_armed_slots_on():
    q = _armed_quoter(1)
    assert q.watches(1) and not q.watches(0) and not q.watches(2) and not q.watches(-1)
    assert not Quoter().watches(0)


@pytest.mark.timeout(60)
def test_lifecycle_of_an_unwatched_market_waits_an_armed_markets_does_not():
    other = "KX-ELSEWHERE"
    reads = [
        [lifecycle(1, other), delta(TICKER, seq=2, price="0.5100")],   # no book, no slot: after
        [lifecycle(2, TICKER), delta(TICKER, seq=3, price="0.5200")],  # TICKER is index 0, not armed
    ]
    listener, got = run_reads(Quoter(), reads)
    assert got[0] == [(FrameKind.MARKET_LIFECYCLE_V2, AFTER)]
    assert got[1] == [(FrameKind.MARKET_LIFECYCLE_V2, AFTER)]
    reads = [[lifecycle(1, TICKER), delta(TICKER, seq=2, price="0.5100")],
             [lifecycle(2, other), trade(1), delta(TICKER, seq=3, price="0.5200")]]
    listener, got = run_reads(_armed_quoter(0), reads)
    assert got[0] == [(FrameKind.MARKET_LIFECYCLE_V2, BEFORE)]  # about the armed market: first
    assert got[1] == [(FrameKind.MARKET_LIFECYCLE_V2, AFTER), (FrameKind.TRADE, AFTER)]
    # a lifecycle frame with no readable market counts as about every market
    escaped = lifecycle(3).replace(TICKER.encode(), b"KX\\u002dORDER")
    listener, got = run_reads(Quoter(), [[escaped, delta(TICKER, seq=2, price="0.5100")]])
    assert got[0] == [(FrameKind.MARKET_LIFECYCLE_V2, BEFORE)]


@pytest.mark.timeout(60)
def test_a_hook_that_does_not_defer_gets_every_frame_first():
    hook = ReadHook()
    assert not hook.defer_public
    listener, got = run_reads(hook, [[trade(1), ticker(1), delta(TICKER, seq=2, price="0.5100")]])
    assert got[0] == [(FrameKind.TRADE, BEFORE), (FrameKind.TICKER, BEFORE)]
    assert listener.deferred_frames == 0


@pytest.mark.timeout(60)
def test_held_back_frames_of_a_read_without_a_book_change_still_arrive():
    listener, got = run_reads(Quoter(), [[trade(1), ticker(1)]])
    # no book changed: no hook ran; the frames reached Python at the end of the read, in order
    assert got[0] == [(FrameKind.TRADE, AFTER), (FrameKind.TICKER, AFTER)]
    assert listener.hooked_reads == 0 and listener.deferred_frames == 2
