"""The sim's market-data answers judged by Kalshi's 3.28 pages: candlesticks, trades, events.

Each answer the independent test client receives is validated against the OpenAPI excerpt of
its page (``kalshi_schemas``); every call here must be judged by a 3.28 page, none by the older
spec file and none left unjudged.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from conftest import KalshiTestClient

from centbook.sim import default_config, run_sim

T = "KXDEMO-26DEC31-T50"
DAYS = "start_ts=0&end_ts=2000000000&period_interval=1440"  # every day candle up to 2033


async def _judged_by_pages(c: KalshiTestClient, calls: list[tuple[str, Any, bool]]) -> list[Any]:
    """GET each ``(path, params, auth)``; assert a 3.28 page judged every answer; return them."""
    start = len(c.sources)
    answers = [await c.get(path, params=params, auth=auth) for path, params, auth in calls]
    judged = list(zip(calls, c.sources[start:], strict=True))
    assert c.sources[start:] == ["docs-3.28"] * len(calls), judged
    return answers


def test_candlesticks_trades_and_events_conform(arun1: Any, specs: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=11, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            c = KalshiTestClient(s, sim.rest_url, sim.api_key_id, sim.private_key_pem)
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "100"})
            o = KalshiTestClient(s, sim.rest_url, other.api_key_id, other.private_key_pem)
            await o.order(T, "ask", "2", "0.40")
            await c.order(T, "bid", "1", "0.40", time_in_force="immediate_or_cancel")
            now = sim.exchange.clock.now_ns() // 10**9
            span = {"start_ts": now - 3600, "end_ts": now + 60}
            calls = [
                (f"/series/KXDEMO/markets/{T}/candlesticks", {**span, "period_interval": 1}),
                (f"/series/KXDEMO/markets/{T}/candlesticks", {**span, "period_interval": 60}),
                (
                    f"/series/KXDEMO/markets/{T}/candlesticks",
                    {"start_ts": now + 1, "end_ts": now + 120, "period_interval": 1,
                     "include_latest_before_start": "true"},
                ),
                (
                    "/markets/candlesticks",
                    {**span, "period_interval": 1440, "market_tickers": f"{T},KXDEMO-26DEC31-T60"},
                ),
                ("/series/KXDEMO/events/KXDEMO-26DEC31/candlesticks", {**span, "period_interval": 1}),
                ("/markets/trades", {"ticker": T, "min_ts": now - 60}),
                ("/events", {"with_nested_markets": "true", "limit": 1}),
                ("/events/KXDEMO-26DEC31/metadata", None),
                ("/series", {"category": "Crypto"}),
            ]
            answers = await _judged_by_pages(c, [(path, params, False) for path, params in calls])
            minute = answers[0]["candlesticks"][-1]
            assert minute["price"]["close_dollars"] == "0.4000" and minute["volume_fp"] == "1.00"
            synthetic = answers[2]["candlesticks"][0]
            assert synthetic["price"]["close_dollars"] is None
            assert synthetic["price"]["previous_dollars"] == "0.4000"
            # refusals in Kalshi's error envelope, judged as such
            for params in ({**span, "period_interval": 5}, {"start_ts": now, "period_interval": 1}):
                status, _ = await c.request(
                    "GET", f"/series/KXDEMO/markets/{T}/candlesticks", params=params, auth=False
                )
                assert status == 400
            status, _ = await c.request(
                "GET", "/series/KXBTCD/events/KXDEMO-26DEC31/candlesticks",
                params={**span, "period_interval": 1}, auth=False,
            )
            assert status == 404
            assert c.sources[-3:] == ["protocol"] * 3

    arun1(body())


def test_historical_tier_conforms(arun1: Any, specs: Any) -> None:
    async def body() -> None:
        config = default_config()
        config["historical"] = {"cutoff_age_s": 60}
        sim_run = run_sim(config, seed=12, tier="unlimited", max_skew_ms=86_400_000)
        async with sim_run as sim, aiohttp.ClientSession() as s:
            c = KalshiTestClient(s, sim.rest_url, sim.api_key_id, sim.private_key_pem)
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "100"})
            o = KalshiTestClient(s, sim.rest_url, other.api_key_id, other.private_key_pem)
            await o.order(T, "ask", "2", "0.40")
            await c.order(T, "bid", "1", "0.40", time_in_force="immediate_or_cancel")
            sim.admin.settle_market(T, "no")
            sim.admin.shift_clock(120)
            calls = [
                ("/historical/cutoff", False),
                ("/historical/markets", False),
                (f"/historical/markets/{T}", False),
                (f"/historical/markets/{T}/candlesticks?{DAYS}", False),
                ("/historical/trades", False),
                ("/historical/fills", True),
                ("/historical/orders", True),
            ]
            answers = await _judged_by_pages(c, [(path, None, auth) for path, auth in calls])
            assert [m["ticker"] for m in answers[1]["markets"]] == [T]
            traded = [c["volume"] for c in answers[3]["candlesticks"] if c["volume"] != "0.00"]
            assert traded == ["1.00"]
            assert len(answers[4]["trades"]) == 1 and len(answers[5]["fills"]) == 1
            status, _ = await c.request("GET", "/historical/markets/KXDEMO-26DEC31-T60", auth=False)
            assert status == 404 and c.sources[-1] == "protocol"

    arun1(body())


def test_account_extras_and_notices_conform(arun1: Any, specs: Any) -> None:
    async def body() -> None:
        config = default_config()
        config["announcements"] = [{"type": "info", "message": "hello", "delivery_ts": 1_800_000_000}]
        change = {"series_ticker": "KXBTCD", "fee_type": "flat", "fee_multiplier": 0.01}
        config["fee_changes"] = [{**change, "scheduled_ts": 2_000_000_000}]
        config["incentive_programs"] = [
            {"market_ticker": T, "incentive_type": "liquidity", "start_ts": 1_800_000_000,
             "end_ts": 2_000_000_000, "period_reward": 100, "target_size": 5},
        ]  # fmt: skip
        async with run_sim(config, seed=13, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            c = KalshiTestClient(s, sim.rest_url, sim.api_key_id, sim.private_key_pem)
            await c.order(T, "bid", "1", "0.40")
            sim.admin.pause_trading(0)
            calls = [
                ("/exchange/schedule", False),
                ("/exchange/announcements", False),
                ("/series/fee_changes", False),
                ("/incentive_programs", False),
                ("/portfolio/summary/total_resting_order_value", True),
                ("/portfolio/settlements?min_ts=0&max_ts=2000000000", True),
            ]
            answers = await _judged_by_pages(c, [(path, None, auth) for path, auth in calls])
            assert len(answers[0]["schedule"]["maintenance_windows"]) == 5  # the pause and 4 weeks
            assert answers[4]["total_resting_order_value"] == 40
            status, _ = await c.request("GET", "/incentive_programs", params={"status": "soon"}, auth=False)
            assert status == 400 and c.sources[-1] == "protocol"

    arun1(body())
