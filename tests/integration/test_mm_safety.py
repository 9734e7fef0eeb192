"""The kill switch under stacked faults, one maker per client_order_id root, order groups cleaned.

Every check reads the exchange's own records (the sim's engine) or waits on a condition
(conftest.wait_for); nothing asserts on timing.
"""
from __future__ import annotations

import json
import tempfile
from typing import Any

import pytest
from conftest import wait_for
from test_mm import MarketMakerRest, mm_config, session, sim_config

from centbook.auth import Credentials
from centbook.mm import MarketMaker
from centbook.mm.kill import EXIT_MAY_REST
from centbook.mm.lock import InstanceLock, InstanceRunningError
from centbook.sim import run_sim

TRIGGER = r"^/portfolio/order_groups/[^/]+/trigger$"
CANCEL_ALL = r"^/portfolio/events/orders$"
CANCEL_ONE = r"^/portfolio/events/orders/[^/]+$"


def resting_of(sim: Any, prefix: str) -> list[Any]:
    """The exchange's own resting orders of a session."""
    return [o for o in sim.exchange.orders.values()
            if o.status == "resting" and o.client_order_id.startswith(prefix)]


def hits(sim: Any, pattern: str) -> int:
    """Requests a fault answered on paths containing ``pattern``."""
    return sum(1 for e in sim.admin.fault_log if e["kind"].startswith("injected_") and pattern in e["path"])


def stack_cancel_faults(sim: Any, times: int | None) -> None:
    """5xx on the group trigger, on cancel-all and on single cancels, ``times`` each (None: always)."""
    sim.admin.add_fault(TRIGGER, "status", method="PUT", status=503, times=times)
    sim.admin.add_fault(CANCEL_ALL, "status", method="DELETE", status=503, times=times)
    sim.admin.add_fault(CANCEL_ONE, "status", method="DELETE", status=500, times=times)


def test_kill_switch_retries_stacked_5xx_until_nothing_rests(arun1):
    async def go() -> None:
        quiet = sim_config(rate=20)
        async with run_sim(quiet, seed=41) as sim:
            mm = await session(sim, mm_config())
            assert len(resting_of(sim, mm.prefix)) == 6
            groups = len(mm.groups)
            stack_cancel_faults(sim, times=3)
            await mm.close()  # never raises: the result says what happened
            result = mm.kill_result
            assert result is not None and result.verified, result
            assert mm.left_resting == 0 and result.exit_code == 0 and result.resting == []
            assert resting_of(sim, mm.prefix) == []
            assert "verified, nothing rests" in result.summary()
            # each group's trigger: 3 refused, then one that went through, never re-sent after it
            assert hits(sim, "/trigger") == 3
            # (a request a fault answers never reaches the rate limiter's arrivals)
            triggers = [a for a in sim.admin.arrivals("demo") if a.path.endswith("/trigger")]
            assert len(triggers) == groups, [a.path for a in triggers]
            json.loads(result.to_json())

    arun1(go())


def test_kill_switch_that_cannot_cancel_reports_what_may_rest_and_exits_non_zero(arun1):
    async def go() -> None:
        quiet = sim_config(rate=20)
        async with run_sim(quiet, seed=42) as sim:
            cfg = mm_config(kill_deadline_s=2.0)
            mm = await session(sim, cfg)
            sim.admin.streams.pause_flow()  # nothing trades against the quotes from here on
            await wait_for(lambda: not any(s.busy for s in mm.slots.values()), 10)
            stack_cancel_faults(sim, times=None)
            await mm.close()
            result = mm.kill_result
            assert result is not None and not result.verified
            assert result.exit_code == EXIT_MAY_REST != 0
            on_exchange = {o.order_id: o for o in resting_of(sim, mm.prefix)}
            assert len(on_exchange) >= 1
            listed = {e["order_id"]: e for e in result.resting}
            assert listed.keys() == on_exchange.keys()
            for order_id, e in listed.items():
                assert e["ticker"] == on_exchange[order_id].ticker
                assert e["price_bp"] == on_exchange[order_id].price_bp
            assert f"NOT verified, {len(listed)} orders may rest" in result.summary()
            assert json.loads(result.to_json())["resting"] == result.resting
            # the trigger was retried with backoff, not in a loop of writes
            assert hits(sim, "/trigger") <= 20 * len(mm.groups), hits(sim, "/trigger")
            sim.admin.clear_faults()
            async with MarketMakerRest(sim) as rest:
                await rest.cancel_all_orders()

    arun1(go())


def test_a_halt_during_the_session_pulls_everything_through_faults(arun1):
    async def go() -> None:
        async with run_sim(sim_config(rate=20), seed=43) as sim:
            mm = await session(sim, mm_config())
            try:
                stack_cancel_faults(sim, times=2)
                mm.risk.halt("test: limit breach")
                await wait_for(lambda: mm.kill_result is not None, 30)
                assert mm.kill_result.verified, mm.kill_result
                assert mm.kill_result.reason == "test: limit breach"
                assert resting_of(sim, mm.prefix) == []
                assert mm.halted == "test: limit breach"
            finally:
                await mm.close()
            assert mm.left_resting == 0

    arun1(go())


async def refused_start(sim: Any, cfg: Any, lock_directory: str | None = None) -> str:
    """Start a second maker (its lock in ``lock_directory``: another host); return why it refused."""
    second = MarketMaker(cfg, sim.rest_url, sim.ws_url, Credentials(sim.api_key_id, sim.private_key_pem))
    if lock_directory is not None:
        second.lock = InstanceLock(cfg.client_order_id_root, sim.rest_url, directory=lock_directory)
    try:
        with pytest.raises(InstanceRunningError) as refused:
            await second.start()
    finally:
        await second.close()
    assert second.counts["swept"] == 0 and not second.groups
    return str(refused.value)


def test_a_second_maker_of_the_same_root_refuses_and_leaves_the_first_alone(arun1):
    async def go() -> None:
        async with run_sim(sim_config(rate=20), seed=44) as sim:
            first = await session(sim, mm_config())
            try:
                sim.admin.streams.pause_flow()  # the first one's quotes stand still from here on
                await wait_for(lambda: not any(s.busy for s in first.slots.values()), 10)
                quotes = {o.order_id for o in resting_of(sim, first.prefix)}
                assert len(quotes) == 6
                # on this host: the file lock
                why = await refused_start(sim, mm_config())
                assert first.prefix in why and "\n" not in why, why
                # from elsewhere (another lock directory): REST shows the first session alive
                second_cfg = mm_config()
                second_cfg.guard.timeout_s = 600.0  # any order of the last ten minutes is alive
                with tempfile.TemporaryDirectory() as other_host:
                    why = await refused_start(sim, second_cfg, other_host)
                assert first.prefix in why and "\n" not in why, why
                # the first one's quotes were not swept: the very same orders rest
                assert {o.order_id for o in resting_of(sim, first.prefix)} == quotes
                assert first.halted is None and first.counts["swept"] == 0
            finally:
                await first.close()
            assert first.left_resting == 0

    arun1(go())


def test_order_groups_are_deleted_at_a_clean_end_and_leftovers_by_the_sweep(arun1):
    async def go() -> None:
        async with run_sim(sim_config(rate=20), seed=45) as sim:
            async with MarketMakerRest(sim) as rest:
                dead = await rest.create_order_group(100000, exchange_index=0)  # a dead session's
            mm = await session(sim, mm_config())
            try:
                listed = {g.order_group_id for g in await mm.rest.get_order_groups()}
                assert dead not in listed
                assert listed == set(mm.groups.values())
            finally:
                await mm.close()
            assert mm.left_resting == 0 and mm.counts["groups_deleted"] >= 1 + len(listed)
            async with MarketMakerRest(sim) as rest:
                assert await rest.get_order_groups() == []

    arun1(go())


def test_a_trigger_failing_every_time_is_resent_with_a_growing_wait(arun1):
    """An order-group trigger whose every copy gets a 503 is resent until the resolve timeout,
    each wait longer than the last (capped): a handful of copies, not one every few ms."""
    from centbook.protocol.errors import OutcomeUnknownError

    async def go() -> None:
        async with run_sim(sim_config(rate=0), seed=46) as sim, MarketMakerRest(sim) as rest:
            group = await rest.create_order_group(100000, exchange_index=0)
            sim.admin.add_fault(TRIGGER, "status", method="PUT", status=503, times=None)
            rest.resolve_timeout_s = 3.0
            with pytest.raises(OutcomeUnknownError):
                await rest.trigger_order_group(group)
            # waits of 25-50, 50-100, 100-200, 200-400, 400-800 ms, then up to 1 s each
            assert 3 <= hits(sim, "/trigger") <= 12, hits(sim, "/trigger")

    arun1(go())
