"""``centbook record`` against the embedded exchange with flow: lossless, and replayed exactly.

Real sockets on 127.0.0.1; the sim runs synthetic flow and the fault under test. After the flow
is paused and every feed has applied the last seq the sim reports for each of its subscriptions,
three books must agree level by level: the live feeds', the sim's REST order books, and the
books :func:`centbook.replay.replay` rebuilds from the recording alone.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import KalshiTestClient, wait_for
from test_feed import FAST, conn_id, sim_config

from centbook.auth import Credentials
from centbook.books import FrameKind
from centbook.grid import PriceGrid
from centbook.record.markets import MarketDirectory
from centbook.record.recorder import Recorder
from centbook.record.segment import Kind, SegmentWriter, iter_records, segment_paths
from centbook.replay import books_at, build_checkpoints, replay, replay_books
from centbook.sim import run_sim
from tests.unit.test_replay_checkpoints import state_of, states_at

BOOK_FRAMES = (FrameKind.ORDERBOOK_DELTA, FrameKind.ORDERBOOK_SNAPSHOT)


async def settle(sim: Any, recorder: Recorder) -> None:
    """Pause the flow; wait until every feed applied the last seq of each of its book sids."""
    await wait_for(lambda: all(f.books[t].is_live for f in recorder.feeds for t in f.tickers), 15)
    sim.admin.streams.pause_flow()
    await asyncio.sleep(0)
    for feed in recorder.feeds:
        target = sim.admin.streams.seqs()[conn_id(sim, feed)]
        sids = [s for s, sub in feed.subscriptions.by_sid.items() if sub.channel == "orderbook_delta"]
        def applied(f: Any = feed, ss: list[int] = sids, tg: dict[int, int] = target) -> bool:
            return (all(f.books.subscription_seq(s) == tg[s] for s in ss)
                    and all(f.books[t].is_live for t in f.tickers))

        await wait_for(applied, 15)


LATE = "KXDEMO-26DEC31-T80"   # a market that opens while the recorder runs


async def record_with_flow(out: Path, fault: str | None) -> tuple[dict[str, Any], dict[str, Any], Recorder]:
    async with run_sim_with_flow() as (sim, rest, directory, markets):
        creds = Credentials(sim.api_key_id, sim.private_key_pem)
        writer = SegmentWriter(out, segment_bytes=8 << 10, block_bytes=4 << 10)
        follow = (lambda ticker: True) if fault == "open_market" else None
        recorder = Recorder(sim.ws_url, creds, markets, writer, connections=2, config=FAST,
                            flush_interval_s=0.05, seed=3, directory=directory, follow=follow)
        task = asyncio.get_running_loop().create_task(recorder.run())
        feeds = recorder.feeds
        await wait_for(lambda: sum(f.listener.book_frames for f in feeds) > 300, 20)
        if fault == "open_market":
            assert LATE not in markets
            await wait_for(lambda: recorder.watcher is not None and recorder.watcher.transport is not None
                           and recorder.watcher.subscriptions.by_sid, 15)
            sim.admin.streams.lifecycle({"ticker": LATE, "action": "open"})
            await wait_for(lambda: LATE in recorder.markets and recorder.feeds[-1].books[LATE].is_live, 20)
            frames = recorder.feeds[-1].listener.book_frames
            await wait_for(lambda: recorder.feeds[-1].listener.book_frames > frames + 20, 30)
        elif fault == "price_structure":
            ticker = next(iter(recorder.feeds[0].tickers))
            sim.admin.streams.lifecycle({"ticker": ticker, "action": "price_structure",
                                         "price_level_structure": "deci_cent"})
            await wait_for(lambda: recorder.markets[ticker]["price_level_structure"] == "deci_cent", 20)
            frames = sum(f.listener.book_frames for f in feeds)
            await wait_for(lambda: sum(f.listener.book_frames for f in feeds) > frames + 100, 20)
        elif fault is not None:
            feed = feeds[1]
            getattr(sim.admin.streams, fault)(conn=conn_id(sim, feed))
            frames = feed.listener.book_frames
            await wait_for(lambda: feed.listener.book_frames > frames + 100, 20)
        await settle(sim, recorder)
        live = {t: f.books[t].as_wire() for f in feeds for t in f.tickers}
        exchange = {}
        for ticker in recorder.markets:
            body = await rest.get(f"/markets/{ticker}/orderbook", params={"depth": 0})
            want = body["orderbook_fp"]
            exchange[ticker] = {"yes_dollars": want.get("yes_dollars") or [],
                                "no_dollars": want.get("no_dollars") or []}
        recorder.stop()
        await task
        return live, exchange, recorder


def late_market_config() -> dict[str, Any]:
    cfg = sim_config()
    cfg["markets"].append({"ticker": LATE, "event_ticker": "KXDEMO-26DEC31",
                           "price_level_structure": "linear_cent", "yes_sub_title": "Above 80",
                           "no_sub_title": "80 or below", "open_offset_s": 86400})
    return cfg


@contextlib.asynccontextmanager
async def run_sim_with_flow() -> AsyncIterator[tuple[Any, KalshiTestClient, MarketDirectory, dict[str, Any]]]:
    """The sim with flow, a test REST client, a market directory and the open markets' JSON."""
    async with run_sim(late_market_config(), seed=5) as sim, aiohttp.ClientSession() as http:
        rest = KalshiTestClient(http, sim.rest_url, sim.api_key_id, sim.private_key_pem)
        directory = MarketDirectory(sim.rest_url, http)
        markets = await directory.select(every_open=True)
        await rest.get(f"/markets/{next(iter(markets))}/orderbook")   # loads the schemas before any feed
        yield sim, rest, directory, markets


@pytest.mark.parametrize("fault", [None, "drop", "skip_seq", "price_structure", "open_market"])
def test_recording_replays_to_the_live_and_exchange_books(arun1, tmp_path, fault):
    live, exchange, recorder = arun1(record_with_flow(tmp_path, fault))
    assert len(segment_paths(tmp_path)) > 1          # rotated by size
    books = None
    frames = 0
    live_at_last_frame: dict[str, bool] = {}
    for event, books in replay(tmp_path):
        if event.kind == Kind.FRAME:
            frames += 1
            live_at_last_frame = {t: books[t].is_live for t in books}
    assert books is not None
    tickers = sorted(live)
    assert sum(len(w["yes_dollars"]) + len(w["no_dollars"]) for w in live.values()) > 0
    for ticker in tickers:
        assert live[ticker] == exchange[ticker], ticker
        assert books[ticker].as_wire() == live[ticker], ticker
        assert live_at_last_frame[ticker], ticker     # STALE after, when the recorder disconnected
    # lossless: every frame the feeds received is in the recording
    assert frames == sum(f.listener.frames for f in recorder.feeds)
    if fault == "skip_seq":
        assert books.gaps >= 1
    actions = [r.json()["action"] for r in iter_records(tmp_path) if r.kind == Kind.ACTION]
    assert actions[0] == "start" and actions[-1] == "stop"
    if fault == "drop":
        assert actions.count("connected") >= 3     # two connections, one reconnect
    summaries = [r.json() for r in iter_records(tmp_path)
                 if r.kind == Kind.COVERAGE and r.json().get("summary")]
    assert sorted(s["ticker"] for s in summaries) == tickers
    if fault in ("drop", "skip_seq"):
        assert any(g["cause"] in ("disconnect", "seq_gap", "resync") for s in summaries for g in s["gaps"])
    if fault == "open_market":          # added on a connection of its own, after its metadata
        assert LATE in live
        added = [r for r in iter_records(tmp_path) if r.kind != Kind.FRAME and LATE.encode() in r.payload]
        assert [r.kind for r in added[:2]] == [Kind.ACTION, Kind.META]
        assert added[0].json() == {"action": "market_added", "ticker": LATE, "connection": 3}
    if fault == "price_structure":      # the new metadata was recorded, and the replay used its grid
        metas = [r.json() for r in iter_records(tmp_path) if r.kind == Kind.META]
        assert sorted({m["ticker"] for m in metas}) == tickers
        ticker = recorder.feeds[0].tickers[0]
        mine = [m for m in metas if m["ticker"] == ticker]
        assert len(mine) >= 2 and mine[0]["price_level_structure"] != "deci_cent"
        assert mine[-1]["price_level_structure"] == "deci_cent"
        assert books[ticker].grid == PriceGrid.from_ranges(mine[-1]["price_ranges"])
    # books_at, from checkpoints every few blocks, equals the replay from the start at any time
    points = build_checkpoints(tmp_path, every_bytes=16 << 10)
    assert len(points) > 5 and any(subs for p in points for subs in p.state["subscriptions"])
    walls = [r.wall_ns for r in iter_records(tmp_path)]
    times = [walls[len(walls) * k // 9] for k in range(1, 9)]
    expected = states_at(tmp_path, times)
    for t in times:
        assert state_of(books_at(tmp_path, t)) == expected[t], t
    # and replay_books, at regular times, frames applied in compiled code (sids renumbered)
    every = (max(walls) - walls[0]) // 7 + 1
    got = [(t, state_of(books)) for t, books in replay_books(tmp_path, every)]
    expected = states_at(tmp_path, [t for t, _ in got])
    assert len(got) == 7 and [state for _, state in got] == [expected[t] for t, _ in got]


def test_replay_filters_markets_and_books_at_stops_at_a_time(arun1, tmp_path):
    live, _, _ = arun1(record_with_flow(tmp_path, None))
    one = sorted(live)[0]
    seen = set()
    count = 0
    filtered = None
    for event, books in replay(tmp_path, tickers=[one]):
        filtered = books
        if event.kind == Kind.FRAME and event.frame_kind in BOOK_FRAMES:
            seen.add(event.ticker)
            count += 1
    assert seen == {one} and count > 0
    assert filtered is not None and list(filtered) == [one]
    assert filtered[one].as_wire() == live[one]
    # at a time in the middle: the books equal a replay stopped by hand at the same record
    times = [r.wall_ns for r in iter_records(tmp_path) if r.kind == Kind.FRAME]
    middle = times[len(times) // 2]
    expected = None
    for event, books in replay(tmp_path):
        if event.wall_ns > middle:
            break
        expected = {t: books[t].as_wire() for t in books}
    got = books_at(tmp_path, middle)
    assert expected is not None and {t: got[t].as_wire() for t in got} == expected
