"""Reconnect backoff: capped exponential with full jitter, driven by a fake clock."""
import asyncio
import random
import socket

from centbook.feed.connection import Feed, FeedConfig, backoff_delay


def test_backoff_bounds_and_jitter():
    rng = random.Random(1)
    for attempt in range(40):
        cap = min(30.0, 1.0 * 2 ** attempt)
        delays = [backoff_delay(attempt, 1.0, 30.0, rng) for _ in range(200)]
        assert all(0.0 <= d <= cap for d in delays)
        assert max(delays) > 0.8 * cap and min(delays) < 0.2 * cap      # spread over the range


def test_reconnect_loop_uses_the_backoff_with_a_fake_clock():
    # a port nobody listens on, on loopback: every attempt fails at once
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main():
        cfg = FeedConfig(backoff_start_s=0.05, backoff_cap_s=0.5, handshake_timeout_s=1.0)
        feed = Feed(f"ws://127.0.0.1:{port}/trade-api/ws/v2", None, ["KX-A"], config=cfg, seed=7)
        slept = []
        done = asyncio.Event()

        async def fake_sleep(delay):
            slept.append(delay)
            if len(slept) == 12:
                feed._stopping = True
                done.set()
            await asyncio.sleep(0)
        feed._sleep = fake_sleep
        await feed.start()
        await asyncio.wait_for(done.wait(), 20)
        await feed.close()
        return feed, slept

    feed, slept = asyncio.run(main())
    assert len(slept) == 12 and feed.counts["connect_failures"] >= 12
    for attempt, delay in enumerate(slept):
        assert 0.0 <= delay <= min(0.5, 0.05 * 2 ** attempt)
    assert max(slept[4:]) > 0.25                     # it reached the cap's range
    assert feed.books["KX-A"].state.name == "STALE"


def test_bad_config_is_refused_with_the_field_named():
    import pytest
    with pytest.raises(ValueError, match="ping_reply_s .* cannot exceed ping_idle_s"):
        FeedConfig(ping_idle_s=1.0, ping_reply_s=2.0)
    with pytest.raises(ValueError, match="snapshot_timeout_s must be > 0"):
        FeedConfig(snapshot_timeout_s=0)
