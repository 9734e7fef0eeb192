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
from centbook.protocol.errors import WriteNotAppliedError
from centbook.sim import run_sim

T = "KXDEMO-26DEC31-T50"
T_B = "KXBTCD-26DEC3117-T110000"
CREATE = r"^/portfolio/events/orders$"
BATCH = r"^/portfolio/events/orders/batched$"
CANCEL = r"^/portfolio/events/orders/(?!batched$)[^/]+$"
AMEND = r"^/portfolio/events/orders/[^/]+/amend$"
DECREASE = r"^/portfolio/events/orders/[^/]+/decrease$"


def _client(url: str, key_id: str, pem: str, **kw: Any) -> centbook.RestClient:
    return centbook.RestClient(url, centbook.Credentials(key_id, pem), **kw)


def _resolving_client(sim: Any) -> centbook.RestClient:
    """The demo user's client with short timeouts: a lost answer is an unknown outcome within 1 s,
    and REST data counts as complete 0.2 s past a send (the sim's data lags 0.1 s)."""
    return _client(
        sim.rest_url,
        sim.api_key_id,
        sim.private_key_pem,
        timeout_s=1.0,
        resolve_margin_s=0.2,
        resolve_timeout_s=20,
    )


def _engine_coids(sim: Any) -> Counter[str]:
    uid = sim.exchange.users_by_name["demo"].user_id
    return Counter(o.client_order_id for o in sim.exchange.users[uid].orders)


def test_dropped_and_failed_writes_resolve_without_duplicates(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=41, tier="unlimited") as sim:
            sim.admin.set_user_data_lag(0.1)
            async with _resolving_client(sim) as me:
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

                # 5. a cancel whose answer is dropped is resolved by reading the order back
                victim = next(iter(placed.values()))
                sim.admin.add_fault(r"^/portfolio/events/orders/[^/]+$", "drop", method="DELETE", times=1)
                cancelled = await me.cancel_order(victim)
                assert (cancelled.resolved, cancelled.outcome, cancelled.resent) == (True, "canceled", 0)
                assert cancelled.reduced_by is None and cancelled.order is not None
                assert sim.exchange.orders[victim].status == "canceled"

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


def _injected(sim: Any) -> Counter[str]:
    return Counter(e["kind"] for e in sim.admin.fault_log if e["kind"].startswith("injected_"))


def test_unknown_cancels_amends_decreases_resolve_to_their_true_state(arun1: Any) -> None:
    """``drop`` executes the write and loses the answer; ``status`` 503 answers before executing.
    Every write below comes back as its true state, checked against the sim's engine."""

    async def body() -> None:
        async with run_sim(seed=44, tier="unlimited") as sim:
            sim.admin.set_user_data_lag(0.1)
            other_key = sim.admin.add_user("other", tier="unlimited", funding={0: "5000", 2: "5000"})
            async with (
                _resolving_client(sim) as me,
                _client(sim.rest_url, other_key.api_key_id, other_key.private_key_pem) as other,
            ):
                engine = sim.exchange.orders
                made = [await me.create_order(T, "bid", 1000 + 100 * i, 500) for i in range(12)]
                ids = [m.order_id for m in made]

                # cancel: executed, answer dropped -> canceled, no second DELETE
                sim.admin.add_fault(CANCEL, "drop", method="DELETE", times=1)
                r = await me.cancel_order(ids[0], ticker=T)
                assert (r.resolved, r.outcome, r.resent, r.reduced_by) == (True, "canceled", 0, None)
                assert engine[ids[0]].status == "canceled"
                # cancel: 503 before executing -> still resting -> sent again (the default)
                sim.admin.add_fault(CANCEL, "status", method="DELETE", status=503, times=1)
                r = await me.cancel_order(ids[1], ticker=T)
                assert (r.resolved, r.outcome, r.resent, r.reduced_by) == (True, "canceled", 1, 500)
                assert engine[ids[1]].status == "canceled"
                # cancel: held and dropped unexecuted, resend off -> not applied, still resting
                sim.admin.add_fault(CANCEL, "timeout", method="DELETE", delay_s=2.0, times=1)
                with pytest.raises(WriteNotAppliedError) as not_applied:
                    await me.cancel_order(ids[2], ticker=T, resend=False)
                assert not_applied.value.order_id == ids[2] and not_applied.value.state.status == "resting"
                assert engine[ids[2]].status == "resting"
                # cancel of an order that filled meanwhile: the sim refuses it, the answer is lost
                ids[3] = (await me.create_order(T, "bid", 3000, 500)).order_id  # the best bid
                take = await other.create_order(T, "ask", 3000, 500, time_in_force="immediate_or_cancel")
                assert take.fill_count == 500 and engine[ids[3]].status == "executed"
                sim.admin.add_fault(CANCEL, "drop", method="DELETE", times=1)
                r = await me.cancel_order(ids[3], ticker=T)
                assert (r.resolved, r.outcome, r.reduced_by) == (True, "executed", 0)

                # decrease reduce_to: dropped answer -> applied; 503 -> not applied
                sim.admin.add_fault(DECREASE, "drop", method="POST", times=1)
                d = await me.decrease_order(ids[4], reduce_to=200, ticker=T)
                assert (d.resolved, d.outcome, d.remaining_count) == (True, "applied", 200)
                assert engine[ids[4]].remaining == 200
                sim.admin.add_fault(DECREASE, "status", method="POST", status=503, times=1)
                with pytest.raises(WriteNotAppliedError):
                    await me.decrease_order(ids[5], reduce_to=200, ticker=T)
                assert engine[ids[5]].remaining == 500
                # decrease reduce_by, from the counts of the create answer (and fills since)
                sim.admin.add_fault(DECREASE, "drop", method="POST", times=1)
                d = await me.decrease_order(ids[6], reduce_by=150, ticker=T)
                assert (d.resolved, d.remaining_count) == (True, 350) and engine[ids[6]].remaining == 350
                sim.admin.add_fault(DECREASE, "status", method="POST", status=503, times=1)
                with pytest.raises(WriteNotAppliedError):
                    await me.decrease_order(ids[7], reduce_by=150, ticker=T)
                assert engine[ids[7]].remaining == 500
                # the resolution read is a fresh baseline: a second reduce_by resolves too
                sim.admin.add_fault(DECREASE, "drop", method="POST", times=1)
                d = await me.decrease_order(ids[6], reduce_by=50, ticker=T)
                assert (d.resolved, d.remaining_count) == (True, 300) and engine[ids[6]].remaining == 300
                # after a plain answer (remaining only, no fills) there is none: honest "unknown"
                assert (await me.decrease_order(ids[6], reduce_by=50, ticker=T)).remaining_count == 250
                sim.admin.add_fault(DECREASE, "drop", method="POST", times=1)
                with pytest.raises(centbook.OutcomeUnknownError) as info:
                    await me.decrease_order(ids[6], reduce_by=50, ticker=T)
                assert "cannot be resolved" in info.value.cause
                assert engine[ids[6]].remaining == 200  # it did happen, once

                # reduce_by with fills between the known counts and the decrease: fills counted
                fx = (await me.create_order(T, "bid", 3500, 500)).order_id  # the best bid
                await other.create_order(T, "ask", 3500, 200, time_in_force="immediate_or_cancel")
                sim.admin.add_fault(DECREASE, "drop", method="POST", times=1)
                d = await me.decrease_order(fx, reduce_by=100, ticker=T)
                assert (d.resolved, d.remaining_count) == (True, 200) and engine[fx].remaining == 200
                await other.create_order(T, "ask", 3500, 50, time_in_force="immediate_or_cancel")
                sim.admin.add_fault(DECREASE, "status", method="POST", status=503, times=1)
                with pytest.raises(WriteNotAppliedError) as not_applied:
                    await me.decrease_order(fx, reduce_by=100, ticker=T)
                assert not_applied.value.state.remaining_count == 150 and engine[fx].remaining == 150

                # amend with a new client_order_id: dropped answer -> applied, same order id
                sim.admin.add_fault(AMEND, "drop", method="POST", times=1)
                a = await me.amend_order(ids[8], T, "bid", 900, 800, updated_client_order_id="amended-8")
                assert (a.resolved, a.outcome, a.order_id, a.client_order_id) == (
                    True, "applied", ids[8], "amended-8",
                )
                assert (engine[ids[8]].price_bp, engine[ids[8]].remaining) == (900, 800)
                # amend of size only, answer dropped -> applied (price and total match)
                sim.admin.add_fault(AMEND, "drop", method="POST", times=1)
                a = await me.amend_order(ids[9], T, "bid", 1900, 300)
                assert (a.resolved, a.remaining_count) == (True, 300) and engine[ids[9]].remaining == 300
                # amend refused with 503 before executing -> not applied, never re-sent
                sim.admin.add_fault(AMEND, "status", method="POST", status=503, times=1)
                with pytest.raises(WriteNotAppliedError) as not_applied:
                    await me.amend_order(ids[10], T, "bid", 800, 500)
                assert not_applied.value.state.yes_price_bp == 2000 and engine[ids[10]].price_bp == 2000

                # batch cancel: dropped answer -> resolved per order; 503 -> sent again once
                sim.admin.add_fault(BATCH, "drop", method="DELETE", times=1)
                items = await me.batch_cancel_orders([ids[2], ids[4]])
                assert [(it.order_id, it.ok, it.resolved, it.outcome) for it in items] == [
                    (ids[2], True, True, "canceled"),
                    (ids[4], True, True, "canceled"),
                ]
                sim.admin.add_fault(BATCH, "status", method="DELETE", status=503, times=1)
                items = await me.batch_cancel_orders([ids[5], ids[7]])
                assert [(it.ok, it.resent, it.reduced_by) for it in items] == [(True, 1, 500), (True, 1, 500)]
                assert all(engine[i].status == "canceled" for i in (ids[2], ids[4], ids[5], ids[7]))
                sim.admin.add_fault(BATCH, "status", method="DELETE", status=503, times=1)
                items = await me.batch_cancel_orders([ids[9], ids[11]], resend=False)
                assert [(it.ok, it.error_code, it.order.status) for it in items if it.order] == [
                    (False, "not_applied", "resting"),
                    (False, "not_applied", "resting"),
                ]
                assert engine[ids[9]].status == engine[ids[11]].status == "resting"
                # cancel executed, answered after the client gave up -> canceled, not re-sent
                sim.admin.add_fault(CANCEL, "delay", method="DELETE", delay_s=2.0, times=1)
                r = await me.cancel_order(ids[10], ticker=T)
                assert (r.resolved, r.outcome, r.resent) == (True, "canceled", 0)

                assert me.stats["unknown"] == 19
            # no write happened twice: every create once, each injected fault hit once
            assert set(_engine_coids(sim).values()) == {1}
            assert _injected(sim) == Counter(
                injected_drop=10, injected_status=7, injected_timeout=1, injected_delay=1
            )

    arun1(body())


def test_unknown_order_group_writes(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=45, tier="unlimited") as sim:
            sim.admin.set_user_data_lag(0.1)
            async with _resolving_client(sim) as me:
                groups = sim.exchange.groups
                gid = await me.create_order_group(1000)
                limit = rf"^/portfolio/order_groups/{gid}/limit$"
                # the limit, read back: dropped answer -> applied; 503 -> not applied
                sim.admin.add_fault(limit, "drop", method="PUT", times=1)
                await me.update_order_group_limit(gid, 2500)
                assert groups[gid].limit == 2500
                sim.admin.add_fault(limit, "status", method="PUT", status=503, times=1)
                with pytest.raises(WriteNotAppliedError) as info:
                    await me.update_order_group_limit(gid, 4000)
                assert info.value.state.contracts_limit == 2500 and groups[gid].limit == 2500
                # trigger: idempotent, so an unknown outcome is settled by triggering again
                order = await me.create_order(T, "bid", 1500, 100, order_group_id=gid)
                trigger = rf"^/portfolio/order_groups/{gid}/trigger$"
                sim.admin.add_fault(trigger, "status", status=503, times=1)
                await me.trigger_order_group(gid)
                assert groups[gid].triggered and sim.exchange.orders[order.order_id].status == "canceled"
                # delete: the first copy deletes, its answer is lost; the second gets a 404 = done
                sim.admin.add_fault(rf"^/portfolio/order_groups/{gid}$", "drop", method="DELETE", times=1)
                await me.delete_order_group(gid)
                assert gid not in groups
                # reset: the counter is not visible over REST: stays unknown
                gid2 = await me.create_order_group(1000)
                sim.admin.add_fault(rf"^/portfolio/order_groups/{gid2}/reset$", "drop", method="PUT", times=1)
                with pytest.raises(centbook.OutcomeUnknownError):
                    await me.reset_order_group(gid2)
            assert _injected(sim) == Counter(injected_drop=3, injected_status=2)

    arun1(body())
