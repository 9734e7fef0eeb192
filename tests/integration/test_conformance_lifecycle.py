"""Markets and events listed or edited while the sim runs, as Kalshi announces them.

Through the admin HTTP API: a new event gives ``event_lifecycle``, a new market
``market_lifecycle_v2`` ``created`` (then ``activated`` when it opens), an edit of its strikes
``metadata_updated``; every message is validated against Kalshi's AsyncAPI schemas by the
subscriber, and REST then serves the new market with its new metadata.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from kalshi_ws import Subscriber

from centbook.sim import run_sim

NEW = "KXDEMO-27JAN31-T80"


def test_admin_created_and_edited_markets_are_announced(arun1: Any) -> None:
    async def body() -> None:
        async with (
            run_sim(seed=51, admin=True) as sim,
            aiohttp.ClientSession(headers=sim.admin_headers) as http,
        ):
            sub = await Subscriber(http, sim.ws_url, sim.api_key_id, sim.private_key_pem).connect()
            await sub.reply(await sub.subscribe(["market_lifecycle_v2"]), "subscribed")
            base = sim.rest_url.split("/trade-api")[0]
            event = {"event_ticker": "KXDEMO-27JAN31", "series_ticker": "KXDEMO", "title": "Jan 31"}
            async with http.post(base + "/admin/events", json=event) as resp:
                assert resp.status == 201, await resp.text()
            market = {
                "ticker": NEW, "event_ticker": "KXDEMO-27JAN31", "yes_sub_title": "Above 80",
                "strike_type": "greater", "floor_strike": 80, "price_level_structure": "deci_cent",
            }  # fmt: skip
            async with http.post(base + "/admin/markets", json=market) as resp:
                assert resp.status == 201, await resp.text()
            edit = {"strike_type": "between", "floor_strike": 80, "cap_strike": 90}
            edit["yes_sub_title"] = "80 to 90"
            metadata = base + f"/admin/markets/{NEW}/metadata"
            async with http.post(metadata, json=edit) as resp:
                assert resp.status == 200, await resp.text()
            async with http.post(metadata, json={"strike_type": "sideways"}) as resp:
                assert resp.status == 400 and "sideways" in (await resp.json())["error"]["details"]

            lifecycle = lambda: [m["msg"] for m in sub.of("market_lifecycle_v2")]  # noqa: E731
            await sub.wait(lambda: any(m["event_type"] == "metadata_updated" for m in lifecycle()))
            (announced,) = [m["msg"] for m in sub.of("event_lifecycle")]
            assert (announced["event_ticker"], announced["series_ticker"]) == ("KXDEMO-27JAN31", "KXDEMO")
            kinds = [(m["market_ticker"], m["event_type"]) for m in lifecycle()]
            assert kinds == [(NEW, "created"), (NEW, "activated"), (NEW, "metadata_updated")], kinds
            created, _, edited = lifecycle()
            assert (created["price_level_structure"], created["exchange_index"]) == ("deci_cent", 0)
            strikes = (edited["strike_type"], edited["floor_strike"], edited["cap_strike"])
            assert strikes == ("between", 80, 90)
            assert edited["yes_sub_title"] == "80 to 90"

            async with http.get(sim.rest_url + f"/markets/{NEW}") as resp:
                listed = (await resp.json())["market"]
            assert (listed["status"], listed["strike_type"]) == ("active", "between")
            assert listed["cap_strike"] == 90
            await sub.close()

    arun1(body())
