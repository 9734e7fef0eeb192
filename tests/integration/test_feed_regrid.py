"""A market's price grid changes under the feed, its deltas racing the announcement.

Kalshi may publish deltas at the new (finer) prices before the ``price_level_structure_updated``
lifecycle event. The feed's book then faults off-grid, waits for the new grid, resnapshots and is
LIVE again on the new grid, equal to the exchange's book at the seq the sim's admin API reports.
Every wait is on a condition (states, counters, seqs), never on time.
"""
from __future__ import annotations

from typing import Any

import aiohttp
from conftest import KalshiTestClient, wait_for
from test_feed import FAST, conn_id, grids, settle_and_compare, sim_config

from centbook.auth import Credentials
from centbook.book import BookState
from centbook.feed.connection import Feed, StateChange
from centbook.grid import PriceGrid
from centbook.sim import run_sim
from centbook.sim.config import PRICE_STRUCTURES

FINE = "deci_cent"


async def run_regrid() -> tuple[Feed, list[StateChange], str, PriceGrid]:
    async with run_sim(sim_config(), seed=5) as sim, aiohttp.ClientSession() as http:
        rest = KalshiTestClient(http, sim.rest_url, sim.api_key_id, sim.private_key_pem)
        markets = await grids(rest)
        fine = PriceGrid.from_ranges(PRICE_STRUCTURES[FINE])
        # a market on a coarser grid than the fine one (its grid cannot already allow 150 bp)
        ticker = next(t for t, g in sorted(markets.items()) if not g.is_valid(150, 0))
        credentials = Credentials(sim.api_key_id, sim.private_key_pem)
        feed = Feed(sim.ws_url, credentials, markets, config=FAST, seed=1,
                    channels=["trade", "market_lifecycle_v2"])
        changes: list[StateChange] = []
        feed.state_listeners.append(changes.append)
        async with feed:
            await feed.wait_live(timeout=15)
            await wait_for(lambda: feed.listener.book_frames > 50, 15)
            assert await settle_and_compare(sim, feed, rest) > 0
            generation = feed.books[ticker].generation
            # 1. the grid changes silently; a resting bid at a new finer price (150 bp) is
            #    published as a delta before any lifecycle event
            sim.admin.exchange.set_price_structure(ticker, FINE, announce=False)
            status, body = await rest.order(ticker, "bid", "3", "0.0150", client_order_id="fine-1")
            assert status in (200, 201), body
            await wait_for(lambda: feed.counts["off_grid"] >= 1, 15)
            assert feed.books[ticker].state is BookState.FAULTED
            assert feed.books[ticker].last_fault == "off_grid"
            assert ticker in feed.validity.waiting_grid or feed.books[ticker].grid == fine
            # 2. the announcement: the feed regrids, resnapshots, goes LIVE on the new grid
            sim.admin.exchange.announce_price_structure(ticker)
            await wait_for(lambda: feed.books[ticker].is_live and feed.books[ticker].grid == fine, 15)
            assert feed.books[ticker].generation > generation
            assert feed.counts["regrids"] >= 1
            # 3. more flow on the new grid, then the book equals the exchange's at the admin seq
            frames = feed.listener.book_frames
            await wait_for(lambda: feed.listener.book_frames > frames + 50, 15)
            assert await settle_and_compare(sim, feed, rest) > 0
            assert feed.books[ticker].grid == fine
            assert conn_id(sim, feed) >= 0
        return feed, changes, ticker, fine


def test_regrid_racing_its_deltas(arun1: Any) -> None:
    feed, changes, ticker, fine = arun1(run_regrid())
    # the off-grid deltas were refused by the decoder (counted by Books and the feed) and handled
    assert feed.books.decode_errors >= 1 and feed.counts["off_grid"] >= 1
    states = [c.new for c in changes if c.ticker == ticker]
    # LIVE, then FAULTED (off-grid), then back to LIVE
    first_fault = states.index(BookState.FAULTED)
    assert BookState.LIVE in states[:first_fault] and BookState.LIVE in states[first_fault:]
    # only that market was touched
    assert all(c.new is not BookState.FAULTED for c in changes if c.ticker != ticker)


def test_feed_transport_under_both_loops(arun: Any) -> None:
    """The feed over a real socket, under asyncio and uvloop: LIVE and equal to the exchange."""

    async def run() -> Feed:
        async with run_sim(sim_config(), seed=5) as sim, aiohttp.ClientSession() as http:
            rest = KalshiTestClient(http, sim.rest_url, sim.api_key_id, sim.private_key_pem)
            feed = Feed(sim.ws_url, Credentials(sim.api_key_id, sim.private_key_pem), await grids(rest),
                        config=FAST, seed=1, channels=["trade"])
            async with feed:
                await feed.wait_live(timeout=15)
                await wait_for(lambda: feed.listener.book_frames > 50, 15)
                assert await settle_and_compare(sim, feed, rest) > 0
            return feed

    feed = arun(run())
    assert feed.books.decode_errors == 0 and feed.books.gaps == 0
