"""The client's rate budget against the sim's token buckets: no 429 in normal operation, the
tier's sustained rate, Basic-tier pacing read from the sim's arrival log, and recovery when the
exchange is stricter than the client believes.

Arrival times come from the sim (``admin.arrivals``): they are checked against the token-bucket
envelope of the tier (a correctness property of the pacing), not against wall-clock budgets.
"""

from __future__ import annotations

import asyncio
from typing import Any

import centbook
from centbook.sim import TIERS, run_sim

T = "KXDEMO-26DEC31-T50"


def _client(sim: Any, **kw: Any) -> centbook.RestClient:
    return centbook.RestClient(sim.rest_url, centbook.Credentials(sim.api_key_id, sim.private_key_pem), **kw)


def _write_arrivals(sim: Any) -> list[Any]:
    return [a for a in sim.admin.arrivals("demo") if a.bucket == "write"]


def _within_envelope(arrivals: list[Any], rate: float, capacity: float) -> bool:
    """Whether every run of arrivals fits ``capacity + rate * span`` tokens (token-bucket envelope)."""
    times = [a.monotonic_ns / 1e9 for a in arrivals]
    costs = [a.cost for a in arrivals]
    for i in range(len(times)):
        spent = 0.0
        for j in range(i, len(times)):
            spent += costs[j]
            if spent > capacity + rate * (times[j] - times[i]) + 1e-6:
                return False
    return True


def _sustained_rate(arrivals: list[Any], burst_tokens: float) -> float:
    """Tokens per second beyond the initial burst: (all tokens - burst) / time from first to last."""
    span = (arrivals[-1].monotonic_ns - arrivals[0].monotonic_ns) / 1e9
    return (sum(a.cost for a in arrivals) - burst_tokens) / span


def test_scaled_tier_200_orders_no_429_at_the_tier_rate(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=31, tier="expert") as sim:  # write 600/s, capacity 1200
            async with _client(sim, margin=0.9) as me:
                results = await asyncio.gather(
                    *(me.create_order(T, "bid", 100 * (1 + i % 50), 100) for i in range(200))
                )
                assert len({r.order_id for r in results}) == 200
                assert me.stats["rate_limited"] == 0
            writes = _write_arrivals(sim)
            assert len(writes) == 200 and all(a.admitted for a in writes)
            _, _, rate, capacity = TIERS["expert"]
            assert _within_envelope(writes, rate, capacity)
            # After the burst (capacity * margin / 10 = 108 orders at once) the client runs at its
            # share of the refill rate: not above the tier's rate, and not far below it.
            sustained = _sustained_rate(writes, capacity * 0.9)
            assert 0.5 * rate * 0.9 < sustained <= rate

    arun1(body())


def test_basic_tier_numbers_from_the_sims_arrival_log(arun: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=32) as sim:  # Basic: write 100/s, capacity 100 (one second)
            async with _client(sim, margin=0.9) as me:
                assert me.budget.core.limits.tier == "basic"
                for i in range(25):
                    await me.create_order(T, "bid", 100 + 100 * i, 100)
                assert me.stats["rate_limited"] == 0
            writes = _write_arrivals(sim)
            assert len(writes) == 25 and all(a.admitted for a in writes) and {a.cost for a in writes} == {10}
            assert _within_envelope(writes, 100, 100)
            # 10 tokens per order at 100 tokens/s: at most 10 orders/s once the first 90 tokens
            # (the client's 90 % of the one-second bucket) are spent.
            assert not _within_envelope(writes, 100, 50)  # it did burst: the bucket was used
            assert _sustained_rate(writes, 90) <= 100

    arun(body())


def test_stricter_exchange_429s_are_absorbed_and_the_budget_recalibrates(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=33, tier="advanced") as sim:  # write 300/s, capacity 600
            async with _client(sim, margin=0.9) as me:
                assert me.budget.core.limits.tier == "advanced"
                sim.admin.set_tier("demo", "basic")  # the exchange is now 3-6x stricter
                first = await asyncio.gather(
                    *(me.create_order(T, "bid", 100 * (1 + i % 40), 100) for i in range(30))
                )
                assert me.stats["rate_limited"] > 0  # it met the real limit...
                assert me.budget.core.limits.tier == "basic"  # ...and re-read /account/limits
                seen = me.stats["rate_limited"]
                await asyncio.sleep(1.1)  # let the exchange's bucket refill whole once
                second = await asyncio.gather(
                    *(me.create_order(T, "bid", 100 * (1 + i), 100) for i in range(10))
                )
                assert me.stats["rate_limited"] == seen  # recalibrated: no further 429
                ids = {r.order_id for r in first + second}
                coids = [o.client_order_id async for o in me.get_orders(ticker=T)]
            assert len(ids) == 40 and len(coids) == 40 and len(set(coids)) == 40  # each placed once
            refused = [a for a in _write_arrivals(sim) if not a.admitted]
            assert len(refused) == seen

    arun1(body())


def test_two_processes_split_the_budget_with_budget_share(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=34) as sim:  # Basic: write 100/s, capacity 100
            async with _client(sim, budget_share=0.5) as a, _client(sim, budget_share=0.5) as b:

                async def stream(c: centbook.RestClient, base: int) -> None:
                    for i in range(12):
                        await c.create_order(T, "bid", 100 * (base + i), 100)

                await asyncio.gather(stream(a, 1), stream(b, 50))
                assert a.stats["rate_limited"] == b.stats["rate_limited"] == 0
            writes = _write_arrivals(sim)
            assert len(writes) == 24 and all(w.admitted for w in writes)
            assert _within_envelope(writes, 100, 100)

    arun1(body())
