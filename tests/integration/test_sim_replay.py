"""``centbook sim --replay``: the sim serves a recording's markets, their books played as recorded.

A prefix of two of the real Kalshi captures is imported into a recording (so the books are not
empty at its end), served by a ``centbook sim --replay`` process in a few seconds, and watched with
a :class:`~centbook.feed.connection.Feed` over the sim's WebSocket: the Feed's books (snapshot,
then the sim's own deltas, seq and sid) end equal to :func:`centbook.replay.replay`'s, and the
REST market data describes the recorded markets, which ``centbook watch --url`` shows.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import wait_for
from kalshi_ws import ws_headers

from centbook.auth import Credentials
from centbook.cli import main
from centbook.feed.connection import Feed
from centbook.record.segment import Kind, iter_records
from centbook.replay import replay
from centbook.sim import SimProcess
from tests.unit.test_decode_captures import CAPTURES, FILES

METADATA = CAPTURES.parent / "metadata"
pytestmark = pytest.mark.skipif(len(FILES) < 2, reason=f"captures not found at {CAPTURES}")
LINES = 4000
PLAY_S = 3.0


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("replayed")
    captures = []
    for path in FILES[:2]:
        with gzip.open(path, "rb") as fh:
            head = [fh.readline() for _ in range(LINES)]
        captures.append(tmp / path.name)
        with gzip.open(captures[-1], "wb") as out:
            out.writelines(head)
    assert main(["import", *map(str, captures), "--metadata", str(METADATA), "--out", str(tmp / "rec")]) == 0
    return tmp / "rec"


def test_a_feed_of_the_replaying_sim_ends_with_the_replayed_books(arun1, recording):
    *_, (_event, books) = replay(recording)
    expected = {t: books[t].as_wire() for t in books}
    assert all(w["yes_dollars"] and w["no_dollars"] for w in expected.values()) and len(expected) == 2
    walls = [r.wall_ns for r in iter_records(recording)]
    speed = (walls[-1] - walls[0]) / 1e9 / PLAY_S

    async def watch(sim: SimProcess) -> tuple[dict[str, Any], int, list[str], list[dict[str, Any]]]:
        async with aiohttp.ClientSession() as http:
            async with http.get(sim.rest_url + "/markets", params={"limit": 100}) as resp:
                listed = [m["ticker"] for m in (await resp.json())["markets"]]
            # a plain client: the recorded trades predate fields today's schema requires
            ws = await http.ws_connect(sim.ws_url, headers=ws_headers(sim.api_key_id, sim.private_key_pem))
            await ws.send_json({"id": 1, "cmd": "subscribe",
                                "params": {"channels": ["trade"], "market_tickers": sorted(expected)}})
            trades: list[dict[str, Any]] = []
            reader = asyncio.get_running_loop().create_task(collect(ws, trades))
            await wait_for(lambda: any(m.get("type") == "subscribed" for m in trades), 10)
            creds = Credentials(sim.api_key_id, sim.private_key_pem)
            feed = Feed(sim.ws_url, creds, sorted(expected), seed=1)
            async with feed:
                await feed.wait_live(timeout=15)
                start = feed.listener.book_frames
                def caught_up() -> bool:
                    return all(feed.books[t].as_wire() == w for t, w in expected.items())
                await wait_for(caught_up, 30)
                got = {t: feed.books[t].as_wire() for t in expected}
            await ws.close()
            await reader
        return got, feed.listener.book_frames - start, listed, trades

    with SimProcess(seed=1, args=["--replay", str(recording), "--speed", str(speed)]) as sim:
        got, deltas, listed, trades = arun1(watch(sim))
        # and a person watching it sees the recorded markets, live
        env = {**os.environ, "COLUMNS": "160", "TERM": "dumb"}
        shown = subprocess.run([sys.executable, "-m", "centbook.cli", "watch", "--url", sim.base_url,
                                "--credentials", str(sim.credentials_file), "--duration", "2"],
                               capture_output=True, text=True, timeout=60, env=env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert all(t in shown.stdout for t in expected) and "LIVE" in shown.stdout, shown.stdout[-2000:]
    assert got == expected
    assert deltas > 100           # the books moved while the Feed watched: deltas, not only snapshots
    assert sorted(listed) == sorted(expected)
    # the recorded trades, sent on as recorded, in order, with the subscription's own seq
    frames = [json.loads(r.payload) for r in iter_records(recording) if r.kind == Kind.FRAME]
    recorded = [f["msg"] for f in frames if f["type"] == "trade"]
    relayed = [m for m in trades if m["type"] == "trade"]
    assert len(relayed) > 10
    first = recorded.index(relayed[0]["msg"])
    assert [m["msg"] for m in relayed] == recorded[first:first + len(relayed)]
    assert [m["seq"] for m in relayed] == list(range(1, len(relayed) + 1))
    assert {m["sid"] for m in relayed} == {trades[0]["msg"]["sid"]}


async def collect(ws: aiohttp.ClientWebSocketResponse, into: list[dict[str, Any]]) -> None:
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            into.append(json.loads(message.data))


def test_replay_mistakes_are_one_line(tmp_path):
    for args, says in ((["--replay", str(tmp_path / "none")], "--replay "),
                       (["--replay", str(tmp_path), "--flow"], "without --config and --flow"),
                       (["--replay", str(tmp_path), "--speed", "0"], "--speed must be > 0")):
        proc = subprocess.run([sys.executable, "-m", "centbook.cli", "sim", *args], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 2 and proc.stderr.startswith("centbook sim: ") and says in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


