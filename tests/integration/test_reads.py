"""The REST client's market-data reads against the embedded exchange over loopback.

Every number the client reads is checked against what the sim's engine did (its trades, its
book, its configuration), so the client and the sim must agree with each other and with Kalshi's
3.28 shapes (the sim's answers are also validated against them in ``test_conformance_reads``).
"""

from __future__ import annotations

from typing import Any

import pytest

import centbook
from centbook.protocol.models import Market, ProtocolError
from centbook.sim import default_config, run_sim

T = "KXDEMO-26DEC31-T50"  # linear cent, shard 0
T_CENTI = "KXBTCD-26DEC3117-T100000"  # centi cent, shard 2


def _client(url: str, key_id: str, pem: str) -> centbook.RestClient:
    return centbook.RestClient(url, centbook.Credentials(key_id, pem), timeout_s=5.0)


def _strike_config() -> dict[str, Any]:
    config = default_config()
    config["markets"].append(
        {
            "ticker": "KXDEMO-26DEC31-B55",
            "event_ticker": "KXDEMO-26DEC31",
            "yes_sub_title": "50 to 60",
            "no_sub_title": "Outside 50 to 60",
            "strike_type": "between",
            "floor_strike": 50,
            "cap_strike": 59.99,
            "early_close_condition": "closes early if the index is published",
        }
    )
    return config


def test_market_carries_every_field_of_the_schema(arun: Any) -> None:
    async def body() -> None:
        async with run_sim(_strike_config(), seed=3, tier="unlimited") as sim:
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other.api_key_id, other.private_key_pem) as them,
            ):
                btc = await me.get_market(T_CENTI)
                strikes = (btc.strike_type, btc.floor_strike, btc.cap_strike)
                assert strikes == ("greater_or_equal", 100000.0, None)
                assert (btc.yes_sub_title, btc.no_sub_title) == ("$100,000 or above", "Below $100,000")
                engine = sim.exchange.markets[T_CENTI]
                assert btc.created_time_ns == engine.created_s * 10**9
                assert btc.latest_expiration_time_ns == (engine.close_s + 7 * 86400) * 10**9
                assert btc.settlement_timer_seconds == engine.settlement_timer_s
                assert btc.rules_primary == engine.rules_primary and btc.rules_secondary

                band = await me.get_market("KXDEMO-26DEC31-B55")
                assert (band.strike_type, band.floor_strike, band.cap_strike) == ("between", 50.0, 59.99)
                assert band.early_close_condition == "closes early if the index is published"

                # the day-ago figures: a trade now counts in the 24-hour volume; a day later it is
                # the previous price and the 24-hour volume is empty again
                await them.create_order(T, "ask", 4300, 500)
                await me.create_order(T, "bid", 4300, 200, time_in_force="immediate_or_cancel")
                now = await me.get_market(T)
                assert (now.volume_24h, now.last_price_bp, now.previous_price_bp) == (200, 4300, 0)
                assert (now.previous_yes_bid_bp, now.previous_yes_ask_bp) == (0, 10000)
                sim.admin.shift_clock(86_400 + 1)
                later = await me.get_market(T)
                assert (later.volume, later.volume_24h, later.previous_price_bp) == (200, 0, 4300)
                assert later.previous_yes_ask_bp == 4300  # the ask left resting a day ago

    arun(body())


def test_market_refuses_a_strike_type_it_does_not_know() -> None:
    market = {
        "ticker": "X", "event_ticker": "E", "status": "active", "price_ranges": [],
        **{f"{k}_dollars": "0.5000" for k in ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price")},
        "volume_fp": "0", "volume_24h_fp": "0", "open_interest_fp": "0", "notional_value_dollars": "1",
        "strike_type": "sideways",
    }  # fmt: skip
    with pytest.raises(ProtocolError, match="strike_type.*sideways"):
        Market.from_json(market)
