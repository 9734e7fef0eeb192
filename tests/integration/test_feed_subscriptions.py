"""The feed's subscription registry and command sender against the embedded exchange.

Real sockets on 127.0.0.1: the sim's own record of the connection's subscriptions is compared
with :class:`centbook.feed.Subscriptions`, commands are answered by id, and a refused command
fails with the exchange's code.
"""
from __future__ import annotations

import pytest
from conftest import wait_for

from centbook.auth import Credentials
from centbook.feed import BOOK_CHANNEL, Feed, FeedConfig, FeedError
from centbook.protocol import commands
from centbook.protocol.messages import Ok, SubscriptionInfo
from centbook.sim import default_config, run_sim

# whole-cent markets, so no grid is needed
TICKERS = ["KXDEMO-26DEC31-T50", "KXBTCD-26DEC3117-T110000"]
CONFIG = FeedConfig(backoff_start_s=0.05, backoff_cap_s=0.5, snapshot_timeout_s=1.5,
                    command_timeout_s=2.0, status_poll_s=0, markets_per_subscription=1)


async def exercise() -> dict[str, object]:
    cfg = default_config()
    cfg["users"][0]["tier"] = "unlimited"
    async with run_sim(cfg, seed=3) as sim:
        feed = Feed(sim.ws_url, Credentials(sim.api_key_id, sim.private_key_pem), TICKERS,
                    config=CONFIG, seed=1, channels=["trade"])
        async with feed:
            await feed.wait_live(timeout=15)
            subs = feed.subscriptions
            await wait_for(lambda: not subs.pending, 10)
            command_id = subs.next_id()
            listed = await subs.send(commands.list_subscriptions(command_id), command_id)
            command_id = subs.next_id()
            with pytest.raises(FeedError) as refused:
                await subs.send(commands.unsubscribe(command_id, [987654]), command_id)
            return {"by_sid": {sid: (sub.channel, list(sub.tickers)) for sid, sub in subs.by_sid.items()},
                    "sid_of": {t: subs.sid_of(t) for t in TICKERS}, "listed": listed,
                    "refused": refused.value, "replies_left": dict(subs.replies),
                    "commands": feed.counts["commands"]}


def test_the_registry_matches_what_the_exchange_lists(arun):
    got = arun(exercise())
    by_sid = got["by_sid"]
    # Kalshi's subscribe is idempotent per channel: both markets end in one orderbook sid
    book_sids = {sid for sid, (channel, _) in by_sid.items() if channel == BOOK_CHANNEL}
    assert len(book_sids) == 1
    (book_sid,) = book_sids
    assert sorted(by_sid[book_sid][1]) == sorted(TICKERS)
    assert got["sid_of"] == {t: book_sid for t in TICKERS}
    assert {channel for channel, _ in by_sid.values()} == {BOOK_CHANNEL, "trade"}
    listed = got["listed"]
    assert isinstance(listed, Ok) and isinstance(listed.msg, list)
    assert all(isinstance(info, SubscriptionInfo) for info in listed.msg)
    assert {(info.sid, info.channel) for info in listed.msg} == {(s, c) for s, (c, _) in by_sid.items()}
    assert isinstance(got["refused"], FeedError) and got["refused"].code > 0
    assert got["replies_left"] == {}                    # answered commands leave no future behind
    assert got["commands"] >= 5                         # 2 book subscribes, trade, list, unsubscribe
