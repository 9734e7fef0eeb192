"""The ReadHook example of docs/hooks.md, built from the page and run on a live reader."""
import asyncio
import re
import sys
from pathlib import Path

import picows
import pytest
from Cython.Build import cythonize
from setuptools import Distribution, Extension

from centbook.book import Side
from centbook.books import Books
from centbook.feed.reader import BookListener
from centbook.grid import PriceGrid
from tests.unit.test_books import delta, snap

ROOT = Path(__file__).resolve().parents[2]


def build_example(tmp_path):
    page = (ROOT / "docs" / "hooks.md").read_text()
    (code,) = re.findall(r"```cython\n(.*?)```", page, re.S)
    pyx = tmp_path / "bid_alarm.pyx"
    pyx.write_text(code)
    ext = Extension("bid_alarm", [str(pyx)], include_dirs=[str(ROOT / "csrc")])
    dist = Distribution({"ext_modules": cythonize([ext], include_path=[str(ROOT / "src")], quiet=True,
                                                  build_dir=str(tmp_path / "c"))})
    dist.script_args = ["build_ext", "-b", str(tmp_path), "-t", str(tmp_path / "t")]
    dist.parse_command_line()
    dist.run_commands()
    sys.path.insert(0, str(tmp_path))
    try:
        return __import__("bid_alarm")
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.timeout(180)
def test_docs_example_hook_runs_in_the_reader(tmp_path):
    bid_alarm = build_example(tmp_path)
    ticker = "KX-HOOK"

    class Server(picows.WSListener):
        def on_ws_connected(self, transport):
            book = snap(ticker, yes=[("0.5000", "3.00")], no=[("0.4000", "2.00")])
            transport.send(picows.WSMsgType.TEXT, book)

        def on_ws_frame(self, transport, frame):
            if frame.get_payload_as_bytes() == b"go":  # below the level, then at it: one hit
                transport.send(picows.WSMsgType.TEXT, delta(ticker, seq=2, price="0.5400", d="1.00"))
                transport.send(picows.WSMsgType.TEXT, delta(ticker, seq=3, price="0.5500", d="1.00"))

    async def main():
        server = await picows.ws_create_server(lambda request: Server(), "127.0.0.1", 0)
        books = Books()
        books.add(ticker, PriceGrid.linear_cent())
        reads = []
        listener = BookListener(
            books, on_read=lambda tickers, ns: reads.append((books[ticker].best_bid_bp(Side.YES), ns)))
        alarm = bid_alarm.BidAlarm()
        alarm.level_bp = 5500
        listener.hook = alarm
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        transport, _ = await picows.ws_connect(lambda: listener, url)
        while not books[ticker].is_live:
            await asyncio.sleep(0.01)
        assert alarm.hits == 0  # the snapshot's best bid is $0.50
        transport.send(picows.WSMsgType.TEXT, b"go")
        while books[ticker].last_seq < 3:
            await asyncio.sleep(0.01)
        transport.disconnect()
        server.close()
        return alarm, reads

    alarm, reads = asyncio.run(main())
    hit_reads = [ns for price, ns in reads if price >= 5500]
    assert alarm.hits == len(hit_reads) >= 1
    assert alarm.last_read_ns == hit_reads[-1]
