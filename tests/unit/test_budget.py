"""The rate budget's logic with a fake clock: buckets, shards, batches, priorities, 429 feedback."""

from __future__ import annotations

import asyncio

import pytest

from centbook.rest.budget import (
    AMEND,
    CANCEL,
    CREATE,
    BudgetCore,
    BudgetTooSmallError,
    EndpointCosts,
    Limits,
    RateBudget,
    TokenBucket,
    bucket_for,
)

P = "/trade-api/v2"
BASIC = Limits(200, 400, 100, 100, "basic")
PREMIER = Limits(1000, 1000, 1000, 2000, "premier")


def test_bucket_refills_continuously_up_to_capacity() -> None:
    b = TokenBucket(100, 100, now=0.0)
    assert b.take(100, 0.0)
    assert not b.take(10, 0.05)  # 5 tokens back after 50 ms
    assert b.wait_time(10, 0.05) == pytest.approx(0.05)
    assert b.take(10, 0.1)
    b.refill(100.0)
    assert b.tokens == 100  # never above capacity


def test_basic_write_sustains_ten_orders_per_second() -> None:
    core = BudgetCore(BASIC, now=0.0, margin=1.0)
    # capacity 100 = 10 orders at once, then one per 100 ms
    admitted = [core.request("write", 10, CREATE, 0.0).admitted for _ in range(11)]
    assert admitted == [True] * 10 + [False]
    now, times = 0.0, []
    while len(times) < 20:
        done, wake = core.admit("write", now)
        times += [now] * len(done)
        if len(times) < 20:
            core.request("write", 10, CREATE, now) if done else None
        now += wake if wake is not None else 0.001
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(g == pytest.approx(0.1) for g in gaps)


def test_margin_and_share_scale_rate_and_capacity() -> None:
    core = BudgetCore(PREMIER, now=0.0, budget_share=0.5, margin=0.9)
    assert core.effective("write") == pytest.approx((450, 900))
    assert core.effective("read") == pytest.approx((450, 450))


def test_priority_cancels_then_amends_then_creates() -> None:
    core = BudgetCore(BASIC, now=0.0, margin=1.0)
    core.request("write", 100, CREATE, 0.0)  # empties the bucket
    create = core.request("write", 10, CREATE, 0.0)
    amend = core.request("write", 10, AMEND, 0.0)
    cancel = core.request("write", 2, CANCEL, 0.0)
    order = []
    now = 0.0
    while len(order) < 3:
        done, wake = core.admit("write", now)
        order += [t for t in done]
        now += wake or 0.0
    assert order == [cancel, amend, create]


def test_fifo_within_a_priority_and_no_overtaking_by_smaller_requests() -> None:
    core = BudgetCore(PREMIER, now=0.0, margin=1.0)
    core.request("write", 2000, CREATE, 0.0)
    big = core.request("write", 500, CREATE, 0.0)  # a 50-order batch
    small = core.request("write", 10, CREATE, 0.0)
    done, wake = core.admit("write", 0.1)  # 100 tokens: enough for small, not for big
    assert done == [] and wake == pytest.approx(0.4)
    done, _ = core.admit("write", 0.5)
    assert done == [big]
    done, _ = core.admit("write", 0.51)
    assert done == [small]


def test_batches_must_fit_whole_and_too_big_is_an_error() -> None:
    core = BudgetCore(BASIC, now=0.0, margin=0.9)  # usable capacity 90
    with pytest.raises(BudgetTooSmallError):
        core.request("write", 100, CREATE, 0.0)  # 10 orders: can never fit 90
    assert core.request("write", 90, CREATE, 0.0).admitted


def test_shard_buckets_are_separate_and_full_size() -> None:
    core = BudgetCore(BASIC, now=0.0, margin=1.0)
    assert core.request("write", 100, CREATE, 0.0).admitted
    assert core.request("write:2", 100, CREATE, 0.0).admitted
    assert not core.request("write", 10, CREATE, 0.0).admitted
    assert core.request("read", 400, CREATE, 0.0).admitted


def test_bucket_names_follow_kalshi_billing() -> None:
    assert bucket_for("GET", P + "/portfolio/orders") == "read"
    assert bucket_for("GET", P + "/markets/X") == "read"
    assert bucket_for("POST", P + "/portfolio/events/orders", exchange_index=0) == "write"
    assert bucket_for("POST", P + "/portfolio/events/orders", exchange_index=-1) == "write"
    assert bucket_for("POST", P + "/portfolio/events/orders", exchange_index=2) == "write:2"
    assert bucket_for("DELETE", P + "/portfolio/events/orders/abc", exchange_index=3) == "write:3"
    assert bucket_for("POST", P + "/portfolio/events/orders/batched", exchange_index=2, batch=True) == "write"
    assert bucket_for("PUT", P + "/portfolio/order_groups/g/trigger") == "write"


def test_endpoint_costs_literal_beats_template() -> None:
    costs = EndpointCosts.kalshi_defaults()
    assert costs.cost("DELETE", P + "/portfolio/events/orders/abc-123") == 2
    assert costs.cost("DELETE", P + "/portfolio/events/orders/batched") == 2
    assert costs.cost("POST", P + "/portfolio/events/orders") == 10
    assert costs.cost("GET", P + "/portfolio/orders/xyz") == 2
    assert costs.cost("GET", P + "/portfolio/orders") == 10
    custom = EndpointCosts(10, [("POST", P + "/portfolio/events/orders/batched", 7)])
    assert custom.cost("POST", P + "/portfolio/events/orders/batched") == 7


def test_429_empties_the_bucket_and_lowers_calibration_then_recovers() -> None:
    core = BudgetCore(BASIC, now=0.0, margin=1.0)
    core.on_rate_limited("write", 1.0)
    assert core.calibration < 1.0
    assert core.bucket("write", 1.0).tokens == 0
    rate, _ = core.effective("write")
    assert rate < 100
    core.on_rate_limited("write", 1.05)  # same burst: one cut only
    assert core.calibration == pytest.approx(0.7)
    core.on_refresh(Limits(100, 100, 50, 50, "slower"), 30.0)
    assert core.calibration > 0.7
    assert core.effective("write")[0] == pytest.approx(50 * core.calibration)


def test_cancelled_tickets_are_skipped() -> None:
    core = BudgetCore(BASIC, now=0.0, margin=1.0)
    core.request("write", 100, CREATE, 0.0)
    gone = core.request("write", 10, CREATE, 0.0)
    kept = core.request("write", 10, CREATE, 0.0)
    core.cancel(gone)
    done, _ = core.admit("write", 0.1)
    assert done == [kept]


def test_rate_budget_wakes_waiters_in_priority_order() -> None:
    async def main() -> list[str]:
        budget = RateBudget(Limits(1000, 1000, 1000, 100), margin=1.0)
        await budget.acquire("write", 100, CREATE)
        order: list[str] = []

        async def go(name: str, prio: int) -> None:
            await budget.acquire("write", 50, prio)
            order.append(name)

        await asyncio.gather(go("create", CREATE), go("amend", AMEND), go("cancel", CANCEL))
        budget.close()
        return order

    assert asyncio.run(main()) == ["cancel", "amend", "create"]


def test_try_take_takes_now_or_nothing_and_never_jumps_the_queue() -> None:
    core = BudgetCore(BASIC, now=0.0, margin=1.0)
    assert core.try_take("write", 90, 0.0)
    assert not core.try_take("write", 20, 0.0)  # 10 left: nothing taken, nothing queued
    assert core.bucket("write", 0.0).tokens == pytest.approx(10) and not core.queues.get("write")
    queued = core.request("write", 20, CREATE, 0.0)
    assert not queued.admitted
    # tokens for a small write are there, but a create waits ahead of it: no overtaking
    assert not core.try_take("write", 2, 0.0)
    done, _ = core.admit("write", 0.1)  # 10 more tokens: the queued create goes
    assert done == [queued]
    assert not core.try_take("write", 0.5, 0.1)  # the create took what came back
    assert core.try_take("write", 5, 0.2) and not core.queues.get("write")
    assert not core.try_take("write", 101, 1000.0)  # more than the bucket holds: never
