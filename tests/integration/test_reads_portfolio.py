"""The REST client's account extras and the exchange's notices against the embedded exchange.

Queue positions come from the engine's queues, the resting value from its resting orders,
subaccount balances from its ledger, the schedule from Kalshi's weekly maintenance rule, fee
changes from the configuration and then from the fees fills pay.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import conforming_sim

import centbook
from centbook.sim import default_config

T = "KXDEMO-26DEC31-T50"  # linear cent, shard 0
T_CENTI = "KXBTCD-26DEC3117-T100000"  # centi cent, shard 2


def _client(url: str, key_id: str, pem: str) -> centbook.RestClient:
    return centbook.RestClient(url, centbook.Credentials(key_id, pem), timeout_s=5.0)


def test_queue_positions_resting_value_and_subaccounts(arun: Any) -> None:
    async def body() -> None:
        async with conforming_sim(seed=31, tier="unlimited") as sim:
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "5000", 2: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other.api_key_id, other.private_key_pem) as them,
            ):
                await them.create_order(T, "bid", 4000, 250)
                first = await me.create_order(T, "bid", 4000, 100)
                second = await me.create_order(T, "bid", 4000, 300)
                ask = await me.create_order(T_CENTI, "ask", 6123, 150)
                assert await me.get_queue_position(first.order_id) == 250
                assert await me.get_queue_position(second.order_id) == 350
                positions = await me.get_queue_positions(tickers=[T, T_CENTI])
                assert {(q.order_id, q.ticker, q.ahead) for q in positions} == {
                    (first.order_id, T, 250), (second.order_id, T, 350), (ask.order_id, T_CENTI, 0),
                }
                with pytest.raises(ValueError, match="tickers or event_ticker"):
                    await me.get_queue_positions()

                value = await me.get_total_resting_order_value()
                # bids pay their price, an ask (a NO bid) $1 less its price: bp x hundredths = micro
                on_0, on_2 = 4000 * 400, (10000 - 6123) * 150
                assert value.by_exchange_index[0] == on_0 and value.by_exchange_index[2] == on_2
                assert value.total_cents == (on_0 + on_2) // 10_000

                sub = await me.create_subaccount()
                assert sub == 1
                await me.transfer_between_subaccounts("move-1", 0, sub, 12_345)
                await me.transfer_between_subaccounts("move-1", 0, sub, 12_345)  # deduplicated
                listed = await me.get_subaccount_balances()
                balances = {(b.subaccount, b.exchange_index): b for b in listed}
                assert balances[(sub, 0)].balance_micro == 123_450_000
                engine = sim.exchange.account(sim.exchange.user_by_name("demo").user_id, 0, 0)
                assert balances[(0, 0)].balance_micro == engine.available_micro // 100 * 100
                with pytest.raises(ValueError, match="positive"):
                    await me.transfer_between_subaccounts("move-2", 0, sub, 0)

    arun(body())


def test_settlements_time_filters(arun: Any) -> None:
    async def body() -> None:
        async with conforming_sim(seed=32, tier="unlimited", max_skew_ms=86_400_000) as sim:
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "5000", 2: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other.api_key_id, other.private_key_pem) as them,
            ):
                for ticker in (T, T_CENTI):
                    await them.create_order(ticker, "ask", 5000, 100)
                    await me.create_order(ticker, "bid", 5000, 100, time_in_force="immediate_or_cancel")
                sim.admin.settle_market(T, "yes")
                sim.admin.shift_clock(600)
                between = sim.exchange.clock.now_ns() // 10**9 - 300
                sim.admin.settle_market(T_CENTI, "no")
                assert [s.ticker async for s in me.get_settlements(max_ts=between)] == [T]
                assert [s.ticker async for s in me.get_settlements(min_ts=between)] == [T_CENTI]
                assert len([s async for s in me.get_settlements()]) == 2

    arun(body())


def _notices_config(now_s: int) -> dict[str, Any]:
    config = default_config()
    config["announcements"] = [
        {"type": "warning", "message": "maintenance on Thursday", "delivery_ts": now_s - 60},
    ]
    config["fee_changes"] = [
        {"series_ticker": "KXDEMO", "fee_type": "flat", "fee_multiplier": 0.02, "scheduled_ts": now_s + 3600},
    ]
    config["incentive_programs"] = [
        {"market_ticker": T, "incentive_type": "liquidity", "description": "tight quotes",
         "start_ts": now_s - 3600, "end_ts": now_s + 86_400, "period_reward": 500_000, "target_size": 100},
        {"market_ticker": T_CENTI, "incentive_type": "volume", "start_ts": now_s - 7200,
         "end_ts": now_s - 3600, "period_reward": 10_000, "paid_out": True},
    ]  # fmt: skip
    return config


def test_schedule_announcements_fee_changes_and_incentives(arun: Any) -> None:
    async def body() -> None:
        now_s = int(dt.datetime.now(dt.UTC).timestamp())
        sim_run = conforming_sim(_notices_config(now_s), seed=33, tier="unlimited", max_skew_ms=86_400_000)
        async with sim_run as sim:
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other.api_key_id, other.private_key_pem) as them,
            ):
                schedule = await me.get_exchange_schedule()
                assert len(schedule.maintenance_windows) == 4
                for start, end in schedule.maintenance_windows:
                    begins = dt.datetime.fromtimestamp(start / 1e9, dt.UTC)
                    # Thursday 03:00 ET is 08:00 UTC in winter, 07:00 UTC in summer; two hours
                    assert begins.weekday() == 3 and begins.hour in (7, 8) and end - start == 7200 * 10**9
                sim.admin.pause_trading(0)
                paused = await me.get_exchange_schedule()
                assert paused.in_maintenance(sim.exchange.clock.now_ns())

                (note,) = await me.get_exchange_announcements()
                assert (note.type, note.status) == ("warning", "active")
                assert note.message == "maintenance on Thursday"
                assert note.delivery_time_ns == (now_s - 60) * 10**9

                sim.admin.resume_trading(0)
                (change,) = await me.get_series_fee_changes(series_ticker="KXDEMO")
                assert (change.fee_type, change.fee_multiplier_ppm) == ("flat", 20_000)
                assert change.scheduled_ns == (now_s + 3600) * 10**9
                await them.create_order(T, "ask", 5000, 100)
                before = await me.create_order(T, "bid", 5000, 100, time_in_force="immediate_or_cancel")
                sim.admin.shift_clock(3601)
                sim.exchange.tick()  # the sim's periodic tick, run now: the change is due
                assert await me.get_series_fee_changes(series_ticker="KXDEMO") == []
                assert await me.get_series_fee_changes(show_historical=True) == [change]
                assert (await me.get_series("KXDEMO")).fee_type == "flat"
                await them.create_order(T, "ask", 5000, 100)
                after = await me.create_order(T, "bid", 5000, 100, time_in_force="immediate_or_cancel")
                # quadratic 0.07 x 1 x 0.5 x 0.5 = $0.0175; flat 0.02 x 1 / 4 = $0.005 per contract
                fees = [f.fee_cost_micro async for f in me.get_fills(ticker=T)]
                assert fees == [5_000, 17_500]
                assert (before.fill_count, after.fill_count) == (100, 100)

                programs = [p async for p in me.get_incentive_programs(limit=1)]  # two pages
                assert [p.ticker for p in programs] == [T, T_CENTI]
                assert programs[0].period_reward_micro == 50_000_000 and programs[0].target_size == 10_000
                active = [p.ticker async for p in me.get_incentive_programs(status="active")]
                assert active == [T]
                assert [p.paid_out async for p in me.get_incentive_programs(type="volume")] == [True]

    arun(body())


def test_an_events_fee_override_is_what_its_fills_pay(arun: Any) -> None:
    async def body() -> None:
        config = default_config()
        override = {"fee_type_override": "quadratic_with_maker_fees", "fee_multiplier_override": 0.035}
        config["events"][0].update(override)
        async with conforming_sim(config, seed=34, tier="unlimited") as sim:
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "5000", 2: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other.api_key_id, other.private_key_pem) as them,
            ):
                event = await me.get_event("KXDEMO-26DEC31")
                assert (event.fee_type_override, event.fee_multiplier_override_ppm) == (
                    "quadratic_with_maker_fees", 35_000,
                )
                await them.create_order(T, "ask", 5000, 100)
                await me.create_order(T, "bid", 5000, 100, time_in_force="immediate_or_cancel")
                # 0.035 x 1 x 0.5 x 0.5 = $0.00875 -> $0.0088 for the taker; the maker a quarter
                assert [f.fee_cost_micro async for f in me.get_fills()] == [8_800]
                assert [f.fee_cost_micro async for f in them.get_fills()] == [2_200]

    arun(body())
