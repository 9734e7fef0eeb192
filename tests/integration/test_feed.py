"""The feed against the embedded exchange: books equal the exchange's own after flow and faults.

Real sockets on 127.0.0.1, the sim started by each test with synthetic order flow, a fast-clock
configuration (pings 0.5 s, heartbeat 0.2 s, backoff 0.05-0.5 s). Every check waits for the seq
numbers the sim's admin API reports, never for time.
"""
from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from conftest import KalshiTestClient, wait_for

from centbook.auth import Credentials
from centbook.book import BookState
from centbook.feed.connection import Feed, FeedConfig, StateChange
from centbook.grid import PriceGrid
from centbook.sim import default_config, run_sim

FAST = FeedConfig(ping_idle_s=0.5, ping_reply_s=0.5, heartbeat_timeout_s=2.0, backoff_start_s=0.05,
                  backoff_cap_s=0.5, snapshot_timeout_s=1.5, command_timeout_s=2.0, status_poll_s=0,
                  markets_per_subscription=2, sample_every=1)


def sim_config(rate: float = 300) -> dict[str, Any]:
    cfg = default_config()
    cfg["streams"] = {"heartbeat_s": 0.2}
    cfg["flow"] = {"enabled": True, "rate": rate, "seed": 11, "tick_s": 0.01}
    cfg["users"][0]["tier"] = "unlimited"
    return cfg


async def grids(rest: KalshiTestClient) -> dict[str, PriceGrid]:
    body = await rest.get("/markets", params={"limit": 100})
    return {m["ticker"]: PriceGrid.from_ranges(m["price_ranges"]) for m in body["markets"]
            if m["status"] == "active"}


def conn_id(sim: Any, feed: Feed) -> int:
    port = feed.transport.underlying_transport.get_extra_info("sockname")[1]
    for c in sim.admin.streams.state()["connections"]:
        if c["peer_port"] == port:
            return int(c["conn_id"])
    raise AssertionError("the feed's connection is not in the sim's list")


async def settle_and_compare(sim: Any, feed: Feed, rest: KalshiTestClient) -> int:
    """Pause the flow, wait until the feed applied the last seq of each of its sids, compare."""
    await wait_for(lambda: all(feed.books[t].is_live for t in feed.tickers), 15)
    sim.admin.streams.pause_flow()
    await asyncio.sleep(0)
    cid = conn_id(sim, feed)
    target = sim.admin.streams.seqs()[cid]
    book_sids = [sid for sid, sub in feed.subscriptions.by_sid.items() if sub.channel == "orderbook_delta"]
    await wait_for(lambda: all(feed.books.subscription_seq(s) == target[s] for s in book_sids)
                   and all(feed.books[t].is_live for t in feed.tickers), 15)
    levels = 0
    for ticker in feed.tickers:
        body = await rest.get(f"/markets/{ticker}/orderbook", params={"depth": 0})
        want = body["orderbook_fp"]
        got = feed.books[ticker].as_wire()
        assert got["yes_dollars"] == (want.get("yes_dollars") or []), ticker
        assert got["no_dollars"] == (want.get("no_dollars") or []), ticker
        levels += len(got["yes_dollars"]) + len(got["no_dollars"])
    sim.admin.streams.resume_flow()
    return levels


async def run_feed(fault: str | None, arg: dict[str, Any]) -> tuple[Feed, list[StateChange]]:
    async with run_sim(sim_config(), seed=5) as sim, aiohttp.ClientSession() as http:
        rest = KalshiTestClient(http, sim.rest_url, sim.api_key_id, sim.private_key_pem)
        markets = await grids(rest)
        credentials = Credentials(sim.api_key_id, sim.private_key_pem)
        feed = Feed(sim.ws_url, credentials, markets, config=FAST, seed=1,
                    channels=["trade", "market_lifecycle_v2"])
        changes: list[StateChange] = []
        feed.state_listeners.append(changes.append)
        async with feed:
            await feed.wait_live(timeout=15)
            await wait_for(lambda: feed.listener.book_frames > 150, 15)
            assert await settle_and_compare(sim, feed, rest) > 0
            if fault is not None:
                before = {t: feed.books[t].generation for t in feed.tickers}
                cid = conn_id(sim, feed)
                if fault == "channel_error":
                    arg = {"sid": next(iter(feed.subscriptions.by_sid)), **arg}
                getattr(sim.admin.streams, fault)(conn=cid, **arg)
                frames = feed.listener.book_frames
                await wait_for(lambda: feed.listener.book_frames > frames + 100, 15)
                assert await settle_and_compare(sim, feed, rest) > 0
                if fault in ("drop", "close", "skip_seq", "repeat_seq", "channel_error"):
                    # a continuity break: some book was resynced from a fresh snapshot
                    assert any(feed.books[t].generation > before[t] for t in feed.tickers)
        return feed, changes


def test_books_equal_the_exchange_after_random_flow(arun):
    feed, changes = arun(run_feed(None, {}))
    assert feed.books.decode_errors == 0 and feed.books.gaps == 0
    assert feed.metrics()["read_to_book_applied"]["count"] == feed.listener.book_frames
    assert all(c.new in (BookState.SYNCING, BookState.LIVE, BookState.STALE) for c in changes)


@pytest.mark.parametrize(("fault", "arg"), [
    ("drop", {}), ("close", {}), ("skip_seq", {}), ("repeat_seq", {}), ("reorder", {}),
    ("stall", {"ms": 300}), ("stop_pings", {}), ("malformed", {}), ("unknown_type", {}),
    ("channel_error", {"code": 10}), ("delay", {"ms": 20}),
])
def test_books_recover_from_stream_faults(arun1, fault, arg):
    feed, changes = arun1(run_feed(fault, arg))
    # no book was LIVE while its stream was gapped: every way back to LIVE came with a new generation
    last: dict[str, StateChange] = {}
    for change in changes:
        prev = last.get(change.ticker)
        if change.new is BookState.LIVE and prev is not None and prev.new is not BookState.LIVE:
            assert change.generation > prev.generation or prev.new is BookState.SYNCING
        last[change.ticker] = change
    if fault in ("skip_seq", "repeat_seq"):
        # (a reorder may swap a book delta with a message of another sid: no gap then)
        assert feed.books.gaps >= 1 and feed.counts["snapshot_requests"] >= 1
    if fault in ("drop", "close"):
        assert feed.counts["reconnects"] >= 1
    if fault == "malformed":
        assert feed.counts["decode_errors"] >= 1
    if fault == "unknown_type":
        assert feed.counts["unknown_types"] >= 1
    if fault == "channel_error":
        assert feed.counts["terminal_errors"] == 1


def test_quiet_markets_are_reported_once_and_messages_flow_to_a_reader(arun):
    """Flow on one market only: the others are reported quiet (still LIVE); trades reach messages()."""
    from centbook.feed.connection import MarketQuiet
    from centbook.protocol.messages import Trade

    async def body() -> tuple[Feed, str, list[Any]]:
        cfg = sim_config(rate=200)
        busy = cfg["markets"][0]["ticker"]
        cfg["flow"]["markets"] = [busy]
        async with run_sim(cfg, seed=5) as sim, aiohttp.ClientSession() as http:
            rest = KalshiTestClient(http, sim.rest_url, sim.api_key_id, sim.private_key_pem)
            markets = await grids(rest)
            config = FeedConfig(**{**FAST.__dict__, "quiet_alert_s": 0.3, "events_max": 50})
            feed = Feed(sim.ws_url, Credentials(sim.api_key_id, sim.private_key_pem), markets,
                        config=config, seed=1, channels=["trade"])
            got: list[Any] = []

            async def read() -> None:
                async for message in feed.messages():
                    got.append(message)

            async with feed:
                await feed.wait_live(timeout=15)
                reader = asyncio.get_running_loop().create_task(read())
                quiet = [t for t in feed.tickers if t != busy]
                reported = lambda: {m.ticker for m in got if isinstance(m, MarketQuiet)}  # noqa: E731
                await wait_for(lambda: reported() >= set(quiet), 15)
                assert all(feed.books[t].is_live for t in quiet)     # quiet is not stale
                await wait_for(lambda: any(isinstance(m, Trade) for m in got), 15)
                await wait_for(lambda: feed.quiet_s(busy) < 0.3 and feed.quiet_s(quiet[0]) > 0.3, 15)
                reader.cancel()
            return feed, busy, got

    feed, busy, got = arun(body())
    alerts = [m for m in got if isinstance(m, MarketQuiet)]
    # once per quiet spell: a market still quiet is not reported again
    quiet_tickers = [m.ticker for m in alerts if m.ticker != busy]
    assert len(quiet_tickers) == len(set(quiet_tickers))
    assert all(m.quiet_s >= 0.3 for m in alerts)
    assert feed.counts["quiet_alerts"] == len(alerts)
