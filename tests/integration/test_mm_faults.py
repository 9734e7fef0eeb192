"""The market maker under faults and leftovers, end to end against the embedded exchange.

Writes whose response is lost (UNKNOWN, resolved by user_orders or REST), the start-up sweep of an
earlier session's orders, automatic order-group triggers (halt or reset), the market_positions
cross-check, the requote modes and the "written" hook's presign split. Every check waits on a
condition with a time budget (conftest.wait_for); nothing asserts on timing.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from conftest import wait_for
from test_mm import MarketMakerRest, all_quoted, mm_config, session, sim_config

from centbook.mm import OrderState
from centbook.sim import run_sim

CREATE = r"^/portfolio/events/orders$"


@asynccontextmanager
async def quoting(sim: Any, wait_all: bool = True, risk: dict[str, Any] | None = None,
                  **settings: Any) -> AsyncIterator[Any]:
    """A maker on ``sim`` (mm_config plus ``settings``); on exit it is closed and nothing of it rests."""
    cfg = mm_config(**(risk or {}))
    for key, value in settings.items():
        setattr(cfg, key, value)
    mm = await session(sim, cfg, wait_all=wait_all)
    try:
        yield mm
    finally:
        await mm.close()
    assert mm.left_resting == 0


def no_unknown(mm: Any) -> bool:
    return all(s.live is None or s.live.state is not OrderState.UNKNOWN for s in mm.slots.values())


async def session_orders(mm: Any) -> dict[tuple[str, str], list[Any]]:
    """Resting orders of this session on the sim, per quote slot."""
    out: dict[tuple[str, str], list[Any]] = {}
    async for o in mm.rest.get_orders(status="resting"):
        if o.client_order_id.startswith(mm.prefix):
            out.setdefault((o.ticker, o.book_side), []).append(o)
    return out


async def agrees_with_sim(mm: Any) -> None:
    """At most one resting order per slot on the sim, and it is the one the order manager holds."""
    on_sim = await session_orders(mm)
    for key, orders in on_sim.items():
        assert len(orders) == 1, (key, orders)
        live = mm.slots[key].live
        if live is not None and live.state is OrderState.RESTING and not mm.slots[key].busy:
            assert live.order_id == orders[0].order_id, (key, live, orders[0])


def test_create_response_lost_after_execution_is_resolved_without_duplicate(arun1):
    async def go() -> None:
        # cancel_create: every requote creates, so the next create meets the fault
        async with run_sim(sim_config(), seed=21) as sim, quoting(sim, requote="cancel_create") as mm:
            creates = mm.counts["creates"]
            sim.admin.add_fault(CREATE, "drop", method="POST")  # executed, then no answer
            await wait_for(lambda: mm.counts["unknown"] >= 1, 30)
            # the order exists on the sim: user_orders (or REST) turns UNKNOWN into RESTING
            await wait_for(lambda: no_unknown(mm) and mm.counts["creates"] > creates, 30)
            await wait_for(lambda: all_quoted(mm), 20)
            await agrees_with_sim(mm)
            assert mm.halted is None
            assert any("outcome unknown" in e for e in mm.events)

    arun1(go())


def test_a_cancel_refused_with_401_leaves_the_order_to_be_resolved_not_taken_for_gone(arun1):
    """A 401 (or 429) says nothing about the order: it still rests, and its slot must not place a
    second one beside it before it is resolved and cancelled (the compiled path writes these
    cancels, on signatures made ahead)."""
    async def go() -> None:
        async with run_sim(sim_config(), seed=24) as sim, quoting(sim, requote="cancel_create") as mm:
            assert mm.quoter is not None
            sim.admin.add_fault(r"^/portfolio/events/orders/[^/]+$", "status", method="DELETE", status=401)

            def refused() -> list[str]:
                return [e["path"].rsplit("/", 1)[-1] for e in sim.admin.fault_log
                        if e["kind"] == "injected_status"]
            await wait_for(lambda: refused(), 30)
            old = sim.exchange.orders[refused()[0]]  # the order the refused cancel left resting
            most = 0

            def resolved_and_cancelled() -> bool:
                nonlocal most  # the slot's resting orders on the exchange, sampled all along
                most = max(most, sum(1 for o in sim.exchange.orders.values()
                                     if o.status == "resting" and o.client_order_id.startswith(mm.prefix)
                                     and (o.ticker, o.side) == (old.ticker, old.side)))
                return no_unknown(mm) and old.status != "resting"
            await wait_for(resolved_and_cancelled, 30)
            assert most == 1, f"{most} orders rested at once on the slot of {old.order_id}"
            assert old.status == "canceled" or mm.counts["fills"] > 0  # by the maker (or filled)
            cancels = mm.latency.requote_cancel_create.count
            await wait_for(lambda: mm.latency.requote_cancel_create.count > cancels, 30)  # quoting goes on
            await wait_for(lambda: all_quoted(mm), 20)
            await agrees_with_sim(mm)
            assert mm.halted is None

    arun1(go())


def test_create_refused_with_503_is_resolved_over_rest_as_not_placed(arun1):
    async def go() -> None:
        async with run_sim(sim_config(), seed=22) as sim, quoting(sim, requote="cancel_create") as mm:
            sim.admin.add_fault(CREATE, "status", method="POST", status=503)  # not executed
            await wait_for(lambda: mm.counts["unknown"] >= 1, 30)
            # no user_orders message can come: REST says "not placed" once its user data is past
            # the send time (RestClient.resolve_create), then the slot quotes again
            await wait_for(lambda: mm.counts["resolved"] >= 1, 30)
            assert any("not placed" in e for e in mm.events), mm.events[-10:]
            await wait_for(lambda: all_quoted(mm), 20)
            await agrees_with_sim(mm)
            assert mm.halted is None

    arun1(go())


def test_amend_response_lost_is_resolved_and_the_slot_keeps_one_order(arun1):
    async def go() -> None:
        async with run_sim(sim_config(), seed=23) as sim, quoting(sim, requote="amend") as mm:
            await wait_for(lambda: mm.counts["amends"] >= 1, 30)
            sim.admin.add_fault(r"^/portfolio/events/orders/[^/]+/amend$", "drop", method="POST")
            await wait_for(lambda: mm.counts["unknown"] >= 1, 30)
            await wait_for(lambda: no_unknown(mm), 30)
            amends = mm.counts["amends"]
            await wait_for(lambda: mm.counts["amends"] > amends and all_quoted(mm), 30)
            await agrees_with_sim(mm)
            assert mm.halted is None

    arun1(go())


def test_startup_sweep_cancels_leftovers_by_prefix_or_group_and_nothing_else(arun1):
    async def go() -> None:
        quiet = sim_config()
        quiet["flow"]["enabled"] = False  # nothing trades against the leftovers
        ticker = "KXDEMO-26DEC31-T50"
        async with run_sim(quiet, seed=24) as sim:
            async with MarketMakerRest(sim) as rest:
                group = await rest.create_order_group(100000, exchange_index=0)
                # an earlier session of the maker (its client_order_id root), one order in an
                # order group of an earlier session, one order of someone else: far from the market
                old = await rest.create_order(ticker, "bid", 100, 100, client_order_id="cbmm00001-1",
                                              post_only=True)
                grouped = await rest.create_order(ticker, "bid", 200, 100, client_order_id="other-grouped-1",
                                                  post_only=True, order_group_id=group)
                foreign = await rest.create_order(ticker, "bid", 300, 100, client_order_id="other-1",
                                                  post_only=True)
            # the earlier session is dead: its orders are older than the guard's heartbeat timeout
            # (younger ones would be a live session's, and the maker would refuse to start)
            placed_ns = time.time_ns()
            await wait_for(lambda: time.time_ns() - placed_ns > mm_config().guard.timeout_s * 1.5e9, 10)
            async with quoting(sim, wait_all=False) as mm:
                assert mm.counts["swept"] == 2
                status = {o.order_id: o.status async for o in mm.rest.get_orders(ticker=ticker)}
                assert status[old.order_id] == "canceled"
                assert status[grouped.order_id] == "canceled"
                assert status[foreign.order_id] == "resting"  # never cancel-all at start-up
            async with MarketMakerRest(sim) as rest:
                left = [o.order_id async for o in rest.get_orders(status="resting")]
            assert left == [foreign.order_id]  # shutdown took this session's orders only

    arun1(go())


def test_automatic_group_trigger_halts_by_default(arun1):
    async def go() -> None:
        # a group limit of one contract: the first fill triggers it
        async with run_sim(sim_config(300), seed=25) as sim, \
                quoting(sim, wait_all=False, risk={"group_contracts_limit": 100}) as mm:
            await wait_for(lambda: mm.halted is not None, 60)
            assert "triggered by the exchange" in mm.halted, mm.halted
            assert mm.counts["group_triggers"] >= 1
            await wait_for(lambda: all(s.live is None and not s.busy for s in mm.slots.values()), 20)

    arun1(go())


def test_automatic_group_trigger_reset_policy_quotes_again(arun1):
    async def go() -> None:
        limit = {"group_contracts_limit": 100}
        async with run_sim(sim_config(300), seed=26) as sim, \
                quoting(sim, wait_all=False, risk=limit, on_group_trigger="reset") as mm:
            await wait_for(lambda: mm.counts["group_triggers"] >= 1, 60)
            creates = mm.counts["creates"]
            await wait_for(lambda: mm.counts["creates"] > creates, 30)  # placed in the reset group
            assert mm.halted is None
            assert any("triggered: reset" in e for e in mm.events)

    arun1(go())


def test_market_positions_disagreeing_with_the_ledger_halts_with_the_reason(arun1):
    async def go() -> None:
        # REST reconciliation out of the way: the channel must catch it
        async with run_sim(sim_config(300), seed=27) as sim, \
                quoting(sim, wait_all=False, reconcile_s=10**6, risk={"position_check_s": 0.3}) as mm:
            await wait_for(lambda: any(m.ws_position is not None for m in mm.markets.values()), 60)
            info = next(m for m in mm.markets.values() if m.ws_position is not None)
            await wait_for(lambda: info.ws_mismatch_since is None, 10)  # channel and ledger agree
            assert mm.halted is None
            mm.ledger.market(info.ticker).position += 100  # a fill the ledger never saw
            await wait_for(lambda: mm.halted is not None, 20)
            assert "market_positions" in mm.halted and info.ticker in mm.halted, mm.halted

    arun1(go())


@pytest.mark.parametrize("order_lane", [True, False], ids=["lane", "aiohttp"])
def test_written_hook_splits_presigned_and_sign_on_demand(arun, order_lane):
    """Under asyncio and uvloop: the eager start of a slot's write (mm.stamp.eager_task) on both,
    with the writes on the order lane (its on_written hook) or on aiohttp (StampedRequest)."""
    async def one(sim: Any, presign: bool) -> None:
        async with quoting(sim, presign=presign, order_lane=order_lane) as mm:
            lat = mm.latency
            # the start-up creates (one per slot, six) follow snapshots, which carry no ts_ms: wait
            # for a timed write after a delta too, not only for five writes
            await wait_for(lambda: lat.tick_to_trade.count >= 5 and lat.exchange_to_written.count >= 1, 30)
            assert mm.rest.presign is presign
            assert (mm.rest.lane is not None) is order_lane
            if presign:
                assert lat.tick_to_trade_presigned.count >= 1
            else:
                assert lat.tick_to_trade_presigned.count == 0
                assert lat.tick_to_trade_signed.count == lat.tick_to_trade.count
            # every timed write was stamped after its decision and before its response
            assert lat.decision_to_written.min >= 0 and lat.written_to_response.min > 0
            assert lat.tick_to_trade.count == lat.decision_to_written.count
            # the exchange's ts_ms of a timed decision's read (absent when the read's last book frame
            # was a snapshot): the sim shares this host's clock, so it is a few ms old at most
            # (seconds on a loaded machine)
            assert 1 <= lat.exchange_to_written.count <= lat.tick_to_trade.count
            # the first write of each read is one of the timed writes
            assert 1 <= lat.tick_to_first_write.count <= lat.tick_to_trade.count
            assert lat.tick_to_first_write_presigned.count <= lat.tick_to_trade_presigned.count
            assert lat.tick_to_first_write.min >= lat.tick_to_trade.min
            assert lat.exchange_to_written.max < 30e9

    async def go() -> None:
        async with run_sim(sim_config(), seed=28) as sim:
            await one(sim, True)
            await one(sim, False)

    arun(go())


def test_requote_modes_amend_in_place_or_cancel_and_create(arun1):
    async def one(sim: Any, mode: str, compiled: bool = True) -> None:
        async with quoting(sim, requote=mode, compiled_amend=compiled) as mm:
            if mode == "amend":  # (a target that would cross is still placed by cancel + create)
                await wait_for(lambda: mm.counts["amends"] >= 1 and mm.latency.requote_amend.count >= 1, 30)
                # written from the read callback: by compiled code (centbook.mm.quoter) unless it is
                # off, else by Python (an idle lane connection, a pre-made signature, tokens)
                assert (mm.quoter is not None) == compiled
                done = "amends_compiled" if compiled else "amends_now"
                await wait_for(lambda: mm.counts[done] >= 3, 30)
                if not compiled:
                    assert mm.counts["amends_compiled"] == 0
            else:
                await wait_for(lambda: mm.latency.requote_cancel_create.count >= 1, 30)
                assert mm.counts["amends"] == mm.counts["amends_now"] == mm.counts["amends_compiled"] == 0
                # the cancels written by compiled code, each followed by the slot task's create
                assert (mm.quoter is not None) == compiled
                if compiled:
                    await wait_for(lambda: mm.counts["cancels_compiled"] >= 3, 30)
                else:
                    assert mm.counts["cancels_compiled"] == 0
            await wait_for(lambda: all_quoted(mm), 20)
            await agrees_with_sim(mm)
            assert mm.halted is None

    async def go() -> None:
        async with run_sim(sim_config(), seed=29) as sim:
            await one(sim, "amend")
            await one(sim, "amend", compiled=False)
            await one(sim, "cancel_create")
            await one(sim, "cancel_create", compiled=False)

    arun1(go())


def test_bad_requote_mode_is_refused_with_its_name():
    from centbook.mm import load_config

    for key, value in (("requote", "sometimes"), ("on_group_trigger", "panic")):
        try:
            load_config(None, {key: value})
        except ValueError as exc:
            assert key in str(exc) and value in str(exc)
        else:
            raise AssertionError(f"{key}={value!r} was accepted")


def test_eager_task_runs_to_its_first_suspension_in_the_caller(arun):
    import asyncio

    import pytest

    from centbook.mm.stamp import current_stamp, eager_task

    async def go() -> None:
        seen: list[Any] = []

        async def steps() -> int:
            seen.append(asyncio.current_task())
            current_stamp.set(None)  # stays in the task's own context
            await asyncio.sleep(0)
            seen.append("resumed")
            return 7

        outer = asyncio.current_task()
        task = eager_task(steps())
        assert seen == [task]  # ran now, as the current task (aiohttp's timeouts need one)
        assert asyncio.current_task() is outer  # the caller's task is current again
        assert await task == 7 and seen[-1] == "resumed"

        async def fails() -> None:
            raise ValueError("first step")

        with pytest.raises(ValueError, match="first step"):
            await eager_task(fails())  # raised by the task, as a lazy start would

        async def waits() -> None:
            await asyncio.sleep(30)

        sleeper = eager_task(waits())
        sleeper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sleeper

        # from a plain loop callback (no current task), as the feed's read callback calls it
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def callback() -> None:
            started = eager_task(steps())
            done.set_result((started, seen[-1] is started, asyncio.current_task()))

        seen.clear()
        asyncio.get_running_loop().call_soon(callback)
        started, ran_first, current = await done
        assert ran_first and current is None
        assert await started == 7

    arun(go())


def test_quotes_at_or_below_a_settlement_floor_are_pulled(arun1):
    async def go() -> None:
        async with run_sim(sim_config(), seed=30) as sim, quoting(sim) as mm:
            ticker = next(iter(mm.markets))
            mm.markets[ticker].floor_bp = 9990  # as if the market had a floor above every quote
            await wait_for(lambda: all(mm.slots[(ticker, s)].live is None for s in ("bid", "ask")), 20)
            assert all(mm.slots[(ticker, s)].target is None for s in ("bid", "ask"))
            assert mm.halted is None
            mm.markets[ticker].floor_bp = None
            await wait_for(lambda: all_quoted(mm), 20)

    arun1(go())


def test_the_compiled_path_is_disarmed_by_whatever_moves_our_orders_or_position(arun1):
    """Armed slots are taken off the compiled path at once by an order update of their market,
    by a fill in any market (the position limits span markets), and by a halt; what they
    reserved goes back to the lane and the pool; an order update's market is armed again."""
    import json

    from centbook.protocol.messages import decode

    def armed_markets(mm: Any) -> set[str]:
        return {s.ticker for s in mm.slots.values() if s.armed is not None and s.armed.armed}

    async def go() -> None:
        quiet = sim_config(rate=40)
        async with run_sim(quiet, seed=31) as sim, quoting(sim, requote="amend") as mm:
            assert mm.quoter is not None
            await wait_for(lambda: len(armed_markets(mm)) >= 2, 30)
            armed = sorted(armed_markets(mm))
            first = next(s for s in mm.slots.values() if s.ticker == armed[0] and s.armed is not None)
            live = first.live
            assert live is not None
            update = {"type": "user_order", "sid": 3, "msg": {
                "order_id": live.order_id, "user_id": "u", "ticker": live.ticker, "status": "resting",
                "yes_price_dollars": f"{live.price_bp / 10000:.4f}",
                "fill_count_fp": f"{live.filled / 100:.2f}", "remaining_count_fp": f"{live.size / 100:.2f}",
                "initial_count_fp": f"{(live.size + live.filled) / 100:.2f}"}}
            mm.event_handler.on_message(decode(json.dumps(update).encode()))
            now = armed_markets(mm)
            assert armed[0] not in now and set(armed[1:]) <= now  # that market only
            await wait_for(lambda: armed[0] in armed_markets(mm), 20)  # decided again at the read's end
            # a fair model of one's own, set while running: the compiled microprice stands down
            from centbook.mm.strategy import Microprice

            class Mine(Microprice):
                pass

            mm.strategy.fair_model = Mine()
            await wait_for(lambda: mm.quoter.armed == 0, 20)
            compiled, by_python = mm.counts["amends_compiled"], mm.counts["amends_now"] + mm.counts["amends"]
            await wait_for(lambda: mm.counts["amends_now"] + mm.counts["amends"] > by_python + 3, 30)
            assert mm.counts["amends_compiled"] == compiled and not armed_markets(mm)
            mm.strategy.fair_model = Microprice()
            await wait_for(lambda: len(armed_markets(mm)) >= 2, 30)
            # last (the ledger then differs from the exchange by the made-up fill: a halt may follow)
            idle_before = mm.rest.lane.idle
            mm.event_handler.apply_fill("test-fill-1", live.order_id, live.ticker, live.side, live.price_bp,
                                        1, 0)
            assert not armed_markets(mm) and mm.quoter.armed == 0  # every market, at once
            assert mm.rest.lane.idle >= idle_before + 2  # the reserved connections came back
            mm.risk.halt("test halt")
            assert not armed_markets(mm) and mm.quoter.armed == 0

    arun1(go())


def test_a_price_structure_change_moves_the_quotes_onto_the_new_grid(arun1):
    """Kalshi may change a market's grid (price_level_structure_updated): the feed regrids the
    book, and the maker's quotes (Python's and the compiled path's) snap to the new grid."""
    from centbook.grid import PriceGrid
    from centbook.sim.config import PRICE_STRUCTURES

    async def go() -> None:
        async with run_sim(sim_config(), seed=32) as sim, quoting(sim, requote="amend") as mm:
            ticker = next(t for t, m in mm.markets.items() if not m.grid.is_valid(150))  # a cent grid
            fine = PriceGrid.from_ranges(PRICE_STRUCTURES["deci_cent"])
            sim.exchange.set_price_structure(ticker, "deci_cent")
            await wait_for(lambda: mm.markets[ticker].grid == fine and mm.feed.books[ticker].is_live, 20)

            def off_cents() -> bool:  # a quote only the finer grid allows
                return any(s.live is not None and s.live.state is OrderState.RESTING
                           and s.live.price_bp % 100 != 0 for s in mm.markets[ticker].slots)

            await wait_for(off_cents, 30)
            await agrees_with_sim(mm)
            assert mm.halted is None

    arun1(go())
