"""Writes whose outcome is unknown: the sim executes writes and drops the answers (or drops the
requests, or answers 5xx, or answers too late), and the client must place no duplicate and resolve
every order to its true state.

The sim reports its user data 0.1 s old (``admin.set_user_data_lag``), so the "not placed"
verdict (``/exchange/user_data_timestamp`` past the send time plus a margin) has a lag to wait out.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import centbook
from centbook.sim import run_sim

T = "KXDEMO-26DEC31-T50"
T_B = "KXBTCD-26DEC3117-T110000"
CREATE = r"^/portfolio/events/orders$"
BATCH = r"^/portfolio/events/orders/batched$"


def _client(url: str, key_id: str, pem: str, **kw: Any) -> centbook.RestClient:
    return centbook.RestClient(url, centbook.Credentials(key_id, pem), **kw)


def _engine_coids(sim: Any) -> Counter[str]:
    uid = sim.exchange.users_by_name["demo"].user_id
    return Counter(o.client_order_id for o in sim.exchange.users[uid].orders)


def test_dropped_and_failed_writes_resolve_without_duplicates(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=41, tier="unlimited") as sim:
            sim.admin.set_user_data_lag(0.1)
            async with _client(
                sim.rest_url,
                sim.api_key_id,
                sim.private_key_pem,
                timeout_s=1.0,
                resolve_margin_s=0.2,
                resolve_timeout_s=20,
            ) as me:
                placed: dict[str, str] = {}  # client_order_id -> order_id
                not_placed: list[str] = []

                # 1. executed, answer dropped (connection closed)
                sim.admin.add_fault(CREATE, "drop", method="POST", times=None)
                for i in range(6):
                    r = await me.create_order(T, "bid", 1000 + 100 * i, 100)
                    assert r.resolved and r.remaining_count == 100
                    placed[r.client_order_id] = r.order_id
                sim.admin.clear_faults()

                # 2. executed, answered after the client gave up
                sim.admin.add_fault(CREATE, "delay", method="POST", delay_s=2.0, times=2)
                for i in range(2):
                    r = await me.create_order(T, "bid", 2000 + 100 * i, 100)
                    assert r.resolved
                    placed[r.client_order_id] = r.order_id

                # 3. not executed: 503, and a request held then dropped unanswered
                sim.admin.add_fault(CREATE, "status", method="POST", status=503, times=2)
                sim.admin.add_fault(CREATE, "timeout", method="POST", delay_s=2.0, times=1)
                for i in range(3):
                    with pytest.raises(centbook.OrderNotPlacedError) as info:
                        await me.create_order(T, "bid", 3000 + 100 * i, 100)
                    not_placed.append(info.value.client_order_id)
                assert not set(not_placed) & set(_engine_coids(sim))

                # resending with the same client_order_id is safe, and now places each once
                for i, coid in enumerate(not_placed):
                    r = await me.create_order(T, "bid", 3000 + 100 * i, 100, client_order_id=coid)
                    assert not r.resolved
                    placed[coid] = r.order_id

                # 4. batch create with the answer dropped: resolved per order
                sim.admin.add_fault(BATCH, "drop", method="POST", times=1)
                items = await me.batch_create_orders(
                    [{"ticker": T, "side": "ask", "price_bp": 9000 + 100 * i, "count": 100} for i in range(3)]
                )
                assert all(it.ok for it in items)
                placed.update({it.client_order_id: it.order_id for it in items})

                # 5. a cancel whose answer is dropped is reported unknown, not retried
                victim = next(iter(placed.values()))
                sim.admin.add_fault(r"^/portfolio/events/orders/[^/]+$", "drop", method="DELETE", times=1)
                with pytest.raises(centbook.OutcomeUnknownError) as unknown:
                    await me.cancel_order(victim)
                assert unknown.value.order_id == victim
                assert (await me.get_order(victim)).status == "canceled"

                assert me.unresolved == {}
                assert me.stats["unknown"] == 6 + 2 + 3 + 1 + 1

            # zero duplicates; every order resolved to its true state
            engine = _engine_coids(sim)
            assert set(engine) == set(placed) and set(engine.values()) == {1}
            for coid, oid in placed.items():
                assert sim.exchange.orders[oid].client_order_id == coid
            injected = [e for e in sim.admin.fault_log if e["kind"].startswith("injected_")]
            assert len(injected) == 6 + 2 + 2 + 1 + 1 + 1

    arun1(body())


def test_unresolvable_outcome_stays_unknown(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=42, tier="unlimited") as sim:
            async with _client(
                sim.rest_url,
                sim.api_key_id,
                sim.private_key_pem,
                timeout_s=1.0,
                resolve_margin_s=30.0,  # the timestamp cannot get that far in this test
                resolve_timeout_s=0.5,
            ) as me:
                sim.admin.add_fault(CREATE, "status", method="POST", status=503, times=1)
                with pytest.raises(centbook.OutcomeUnknownError) as info:
                    await me.create_order(T, "bid", 1000, 100, client_order_id="maybe-1")
                assert info.value.client_order_ids == ["maybe-1"]
                assert "maybe-1" in me.unresolved  # never re-sent, still tracked
            assert _engine_coids(sim) == Counter()
            uid = sim.exchange.users_by_name["demo"].user_id
            creates = [a for a in sim.server.limiter.arrivals[uid] if a.path.endswith("/events/orders")]
            assert creates == []  # the 503 came before billing: the create never reached the engine

    arun1(body())


def test_resolve_false_raises_at_once(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=43, tier="unlimited") as sim:
            async with _client(sim.rest_url, sim.api_key_id, sim.private_key_pem, timeout_s=1.0) as me:
                sim.admin.add_fault(CREATE, "drop", method="POST", times=1)
                with pytest.raises(centbook.OutcomeUnknownError) as info:
                    await me.create_order(T, "bid", 1000, 100, client_order_id="x-1", resolve=False)
                assert "x-1" in me.unresolved
                found = await me.resolve_create(info.value)
                assert found["x-1"] is not None and found["x-1"].status == "resting"
                assert me.unresolved == {}

    arun1(body())
