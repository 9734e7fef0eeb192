"""Every request centbook's REST client sends, judged by Kalshi's 3.28 request schemas.

The sim records what it receives (``conforming_sim``); each request's query parameters and body
are checked against the page of its operation when the client is done (``kalshi_requests``).
The reads have theirs checked in ``test_reads*``; here the writes, the portfolio reads and the
paths a write can take (the order lane, the armed writes).
"""

from __future__ import annotations

from typing import Any

from conftest import conforming_sim

import centbook

T = "KXDEMO-26DEC31-T50"  # linear cent, shard 0
T_B = "KXBTCD-26DEC3117-T110000"  # linear cent, shard 2


def test_every_client_write_conforms(arun1: Any, specs: Any) -> None:
    async def body() -> None:
        async with conforming_sim(seed=41, tier="unlimited") as sim:
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "5000", 2: "5000"})
            creds = centbook.Credentials(sim.api_key_id, sim.private_key_pem)
            async with (
                centbook.RestClient(sim.rest_url, creds, timeout_s=5.0) as me,
                centbook.RestClient(
                    sim.rest_url, centbook.Credentials(other.api_key_id, other.private_key_pem), timeout_s=5.0
                ) as them,
            ):
                await them.create_order(T, "ask", 4500, 300)
                made = await me.create_order(T, "bid", 4000, 200, client_order_id="c-1", post_only=True)
                await me.amend_order(made.order_id, T, "bid", 4100, 150)
                await me.decrease_order(made.order_id, reduce_to=100, ticker=T)
                await me.cancel_order(made.order_id, ticker=T)
                await me.create_order(T, "bid", 4500, 100, time_in_force="immediate_or_cancel")
                batch = await me.batch_create_orders(
                    [
                        {"ticker": T, "side": "bid", "price_bp": 1000, "count": 100},
                        {"ticker": T_B, "side": "ask", "price_bp": 9900, "count": 250},
                    ]
                )
                await me.batch_cancel_orders([b.order_id for b in batch])
                await me.create_order(T_B, "bid", 500, 100)
                await me.cancel_all_orders()
                gid = await me.create_order_group(500)
                await me.create_order(T, "bid", 700, 100, order_group_id=gid)
                await me.get_order_groups()
                await me.get_order_group(gid)
                await me.update_order_group_limit(gid, 300)
                await me.trigger_order_group(gid)
                await me.reset_order_group(gid)
                await me.delete_order_group(gid)
                resting = await me.create_order(T, "bid", 3000, 100)
                # an amend written at once when the lane can take it, its answer awaited as usual
                started = me.start_amend(resting.order_id, T, "bid", 3100, 100)
                await me.amend_order(resting.order_id, T, "bid", 3100, 100, started=started)
                await me.get_order(resting.order_id)
                assert [o async for o in me.get_orders(status="resting", limit=5)]
                assert [f async for f in me.get_fills(limit=5)]
                assert [p async for p in me.get_positions(count_filter="position")]
                await me.get_balance()
                await me.get_account_api_limits()
                await me.get_user_data_timestamp()
                await me.get_market_orderbook(T, depth=5)
                assert {m.ticker async for m in me.get_markets(status="open", limit=2)}
            assert len(sim.server.recorded) > 30  # checked on the way out of conforming_sim

    arun1(body())
