"""centbook.RestClient against the embedded exchange over loopback: every method, units, pages,
errors and authentication failures.

The client shares no code with the sim: the sim is started and steered through its in-process
admin API only; what the client sends and reads is checked by the sim's own engine state.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import centbook
from centbook.protocol.models import Order
from centbook.sim import run_sim

T = "KXDEMO-26DEC31-T50"  # linear cent, shard 0
T_DECI = "KXDEMO-26DEC31-T60"  # deci cent, shard 0
T_CENTI = "KXBTCD-26DEC3117-T100000"  # centi cent, shard 2
T_B = "KXBTCD-26DEC3117-T110000"  # linear cent, shard 2


def _client(url: str, key_id: str, pem: str, **kw: Any) -> centbook.RestClient:
    kw.setdefault("timeout_s", 5.0)
    return centbook.RestClient(url, centbook.Credentials(key_id, pem), **kw)


def test_every_method_against_the_sim(arun: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=21, tier="unlimited") as sim:
            other_key = sim.admin.add_user("other", tier="unlimited", funding={0: "5000", 2: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other_key.api_key_id, other_key.private_key_pem) as other,
            ):
                # public and account reads
                status = await me.get_exchange_status()
                assert status.trading_active and {0, 2} <= {s.exchange_index for s in status.shards}
                limits = await me.get_account_api_limits()
                assert limits.usage_tier == "unlimited"
                costs = await me.get_account_endpoint_costs()
                assert costs.default_cost == 10
                markets = [m async for m in me.get_markets(limit=2)]  # 5 markets over 3 pages
                assert {m.ticker for m in markets} == set(sim.exchange.markets)
                centi = await me.get_market(T_CENTI)
                assert centi.exchange_index == 2 and centi.grid().tick_bp == 1
                assert (centi.settlement_bounds_type, centi.settlement_floor_bp) == ("default", None)
                assert (await me.get_user_data_timestamp()).as_of_unix_ns > 0
                balance = await me.get_balance()
                assert balance.balance_micro == 20_000 * 1_000_000
                funded = {k: v for k, v in balance.by_exchange_index.items() if v}
                assert funded == {0: 10_000_000_000, 2: 10_000_000_000}

                # create / read / amend / decrease / cancel, sub-cent price and fractional size
                made = await me.create_order(T_CENTI, "bid", 4321, 1234, client_order_id="every-1")
                assert (made.client_order_id, made.fill_count, made.remaining_count) == ("every-1", 0, 1234)
                assert made.exchange_index == 2
                order = await me.get_order(made.order_id)
                assert (order.yes_price_bp, order.no_price_bp, order.remaining_count) == (4321, 5679, 1234)
                assert order.book_side == "bid" and order.exchange_index == 2 and order.status == "resting"
                engine_order = sim.exchange.orders[made.order_id]
                assert (engine_order.price_bp, engine_order.remaining) == (4321, 1234)
                amended = await me.amend_order(made.order_id, T_CENTI, "bid", 4322, 1000)
                assert amended.remaining_count == 1000
                decreased = await me.decrease_order(made.order_id, reduce_to=250, ticker=T_CENTI)
                assert decreased.remaining_count == 250
                cancelled = await me.cancel_order(made.order_id, ticker=T_CENTI)
                assert cancelled.reduced_by == 250
                assert (await me.get_order(made.order_id)).status == "canceled"

                # a trade: fills, positions, both sides' money in micro-dollars
                ask = await other.create_order(T_DECI, "ask", 6170, 550)
                take = await me.create_order(T_DECI, "bid", 6200, 300, time_in_force="immediate_or_cancel")
                assert take.fill_count == 300 and take.remaining_count == 0
                assert take.average_fill_price_micro == 617_000 and take.average_fee_paid_micro is not None
                fills = [f async for f in me.get_fills(ticker=T_DECI)]
                assert len(fills) == 1 and fills[0].count == 300 and fills[0].yes_price_bp == 6170
                assert fills[0].is_taker and fills[0].fee_cost_micro > 0
                positions = [p async for p in me.get_positions()]
                assert [(p.ticker, p.position) for p in positions] == [(T_DECI, 300)]
                assert [e.event_ticker async for e in me.get_event_positions()] == ["KXDEMO-26DEC31"]
                book = await me.get_market_orderbook(T_DECI)
                assert book.no == [(10000 - 6170, 250)] and book.yes == []

                # batches
                batch = await me.batch_create_orders(
                    [
                        {"ticker": T, "side": "bid", "price_bp": 1000, "count": 100},
                        {"ticker": T_B, "side": "ask", "price_bp": 9900, "count": 250},
                        {"ticker": T, "side": "bid", "price_bp": 1005, "count": 100},  # off grid
                    ]
                )
                assert [b.ok for b in batch] == [True, True, False]
                assert batch[2].error_code == "invalid_order" and "grid" in batch[2].error_details
                assert sim.exchange.orders[batch[1].order_id].exchange_index == 2
                cancels = await me.batch_cancel_orders([batch[0].order_id, batch[1].order_id])
                assert [(c.ok, c.reduced_by) for c in cancels] == [(True, 100), (True, 250)]

                # cancel all
                a = await me.create_order(T, "bid", 500, 100)
                b = await me.create_order(T_B, "bid", 500, 100)
                assert set(await me.cancel_all_orders()) == {a.order_id, b.order_id}

                # order groups
                gid = await me.create_order_group(500)
                in_group = await me.create_order(T, "bid", 700, 100, order_group_id=gid)
                group = await me.get_order_group(gid)
                assert group.contracts_limit == 500 and group.order_ids == [in_group.order_id]
                assert [g.order_group_id for g in await me.get_order_groups()] == [gid]
                await me.update_order_group_limit(gid, 300)
                await me.trigger_order_group(gid)
                assert not (await me.get_order_group(gid)).is_auto_cancel_enabled
                assert (await me.get_order(in_group.order_id)).status == "canceled"
                await me.reset_order_group(gid)
                assert (await me.get_order_group(gid)).is_auto_cancel_enabled
                await me.delete_order_group(gid)
                assert await me.get_order_groups() == []

                # settlement
                sim.admin.settle_market(T_DECI, "yes")
                settlements = [s async for s in me.get_settlements()]
                assert len(settlements) == 1 and settlements[0].market_result == "yes"
                assert settlements[0].yes_count == 300
                assert me.stats["rate_limited"] == 0 and ask.order_id

    arun(body())


def test_pagination_walks_every_page(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=22, tier="unlimited") as sim:
            async with _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me:
                made = await me.batch_create_orders(
                    [{"ticker": T, "side": "bid", "price_bp": 100 * (i + 1), "count": 100} for i in range(23)]
                )
                assert all(m.ok for m in made)
                seen = [o.order_id async for o in me.get_orders(ticker=T, limit=5)]
                assert sorted(seen) == sorted(m.order_id for m in made) and len(seen) == 23
                assert [o async for o in me.get_orders(ticker=T_B)] == []

    arun1(body())


def test_exchange_index_is_sent_on_every_write(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=23, tier="unlimited") as sim:
            async with _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me:
                made = await me.create_order(T_B, "bid", 4200, 100)
                await me.amend_order(made.order_id, T_B, "bid", 4300, 100)
                await me.decrease_order(made.order_id, reduce_by=50)
                await me.cancel_order(made.order_id)
                uid = sim.exchange.users_by_name["demo"].user_id
                writes = [a for a in sim.server.limiter.arrivals[uid] if a.bucket.startswith("write")]
                # single writes naming shard 2 bill the shard's own bucket (so they carried it)
                assert [a.bucket for a in writes] == ["write:2"] * 4

    arun1(body())


def test_rejections_are_typed(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=24, tier="unlimited") as sim:
            async with _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me:
                with pytest.raises(centbook.RejectedError) as info:
                    await me.create_order(T, "bid", 4205, 100)  # off the whole-cent grid
                err = info.value
                assert (err.status, err.code) == (400, "invalid_order") and "grid" in err.details
                made = await me.create_order(T, "bid", 4200, 100, client_order_id="dup-1")
                with pytest.raises(centbook.RejectedError) as info:
                    await me.create_order(T, "bid", 4200, 100, client_order_id="dup-1")
                assert info.value.status == 409
                with pytest.raises(centbook.RejectedError) as info:
                    await me.cancel_order("no-such-order", exchange_index=0)
                assert info.value.status == 404 and info.value.code
                assert made.order_id in sim.exchange.orders
                with pytest.raises(ValueError):
                    await me.create_order(T, "buy", 4200, 100)

    arun1(body())


def _wrong_salt(creds: centbook.Credentials) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    creds._pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20)


def test_authentication_failures_are_clear(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=25, tier="unlimited") as sim:
            # wrong salt length
            client = _client(sim.rest_url, sim.api_key_id, sim.private_key_pem, auto_limits=False)
            _wrong_salt(client.credentials)  # type: ignore[arg-type]
            async with client:
                with pytest.raises(centbook.AuthenticationError) as info:
                    await client.get_balance()
            err = info.value
            assert err.status == 401 and "signature" in err.body and err.key_bits == 2048
            assert "authentication failed" in str(err) and sim.private_key_pem.splitlines()[3] not in str(err)
            assert err.clock_skew_s is not None and abs(err.clock_skew_s) < 5

            # a key the exchange does not have for this key id
            stranger = sim.admin.add_user("stranger")
            async with _client(sim.rest_url, sim.api_key_id, stranger.private_key_pem) as client:
                pytest.fail("opening reads /account/limits and must fail")  # pragma: no cover
        raise AssertionError("unreachable")  # pragma: no cover

    with pytest.raises(centbook.AuthenticationError, match="does not verify|signature"):
        arun1(body())


def test_unknown_key_id_and_stale_clock(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=26, tier="unlimited") as sim:
            async with _client(sim.rest_url, "not-a-uuid", sim.private_key_pem, auto_limits=False) as c:
                with pytest.raises(centbook.AuthenticationError) as info:
                    await c.get_balance()
                assert not info.value.key_id_well_formed and "NOT a UUID" in str(info.value)
            sim.admin.shift_clock(-120)  # the exchange's clock is two minutes behind ours
            async with _client(sim.rest_url, sim.api_key_id, sim.private_key_pem, auto_limits=False) as c:
                with pytest.raises(centbook.AuthenticationError) as info:
                    await c.create_order(T, "bid", 4200, 100)
                assert "timestamp" in info.value.body and "server clock - local clock" in str(info.value)
                # measured from the Date header, which follows the exchange's (shifted) clock
                assert info.value.clock_skew_s is not None and -125 < info.value.clock_skew_s < -115
            assert not [o for o in sim.exchange.orders.values()]

    arun1(body())


def test_presigned_signatures_are_accepted_and_used_once(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=27, tier="unlimited") as sim:
            async with _client(
                sim.rest_url,
                sim.api_key_id,
                sim.private_key_pem,
                presign=True,
                signer="thread",
                presign_order_paths=("cancel", "amend", "decrease"),
            ) as me:
                made = []
                for i in range(6):
                    made.append(await me.create_order(T, "bid", 1000 + 100 * i, 200))
                # the pool fills in the background: wait for the order paths, not for a time
                first = made[0].order_id
                prefix = me.path_prefix + "/portfolio/events/orders/" + first
                for method, path in (("POST", prefix + "/amend"), ("POST", prefix + "/decrease")):
                    while me.pool.needs(method, path, 0):
                        await asyncio.sleep(0.01)
                hits = me.pool.hits
                await me.amend_order(first, T, "bid", 900, 200)
                await me.decrease_order(first, reduce_by=100)
                assert me.pool.hits == hits + 2  # both went out with pre-made signatures
                for m in made:
                    await me.cancel_order(m.order_id)
                assert me.pool.paths() == [] or all(first not in p for _, p in me.pool.paths())
                orders: list[Order] = [o async for o in me.get_orders(ticker=T)]
                assert len(orders) == 6 and all(o.status == "canceled" for o in orders)
                with pytest.raises(ValueError):
                    centbook.RestClient.for_environment("sim", me.credentials)
                assert centbook.RestClient.for_environment("demo", me.credentials).base_url.startswith(
                    "https://external-api.demo.kalshi.co/trade-api/v2"
                )

    arun1(body())


def test_presigning_helper_process_and_its_loss(arun1: Any) -> None:
    """Signatures from the helper process are accepted; if it dies, orders are signed inline."""

    async def body() -> None:
        async with run_sim(seed=29, tier="unlimited") as sim:
            async with _client(sim.rest_url, sim.api_key_id, sim.private_key_pem, presign=True) as me:
                signer = me.presigner.signer
                assert signer is not None and signer.mode == "process"  # the default
                path = me.path_prefix + "/portfolio/events/orders"
                while me.pool.needs("POST", path, 0):  # filled in the background
                    await asyncio.sleep(0.01)
                hits = me.pool.hits
                first = await me.create_order(T, "bid", 1000, 100)
                assert me.pool.hits == hits + 1 and me.stats["presign_signatures"] > 0
                proc = signer._proc
                proc.kill()  # the helper this client started
                proc.wait(10)
                while me.presign:  # the next refill finds the pipe closed and turns pre-signing off
                    me.pool.forget("POST", path)
                    await me.create_order(T, "bid", 1100, 100)
                    await asyncio.sleep(0.01)
                misses = me.pool.misses
                last = await me.create_order(T, "bid", 1200, 100)  # signed inline, accepted
                assert signer.failed and me.pool.misses == misses
                assert sim.exchange.orders[first.order_id].status == "resting"
                assert sim.exchange.orders[last.order_id].status == "resting"

    arun1(body())


def test_reads_are_retried_and_writes_are_not(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=28, tier="unlimited") as sim:
            async with _client(sim.rest_url, sim.api_key_id, sim.private_key_pem, timeout_s=1.0) as me:
                sim.admin.add_fault(r"^/portfolio/balance$", "status", method="GET", status=503, times=2)
                assert (await me.get_balance()).balance_micro > 0
                assert me.stats["retried_reads"] == 2
                sim.admin.add_fault(r"^/portfolio/balance$", "drop", method="GET", times=1)
                assert (await me.get_balance()).balance_micro > 0  # a dropped read is re-sent too
                assert me.stats["retried_reads"] == 3
                sim.admin.add_fault(r"^/portfolio/balance$", "status", method="GET", status=500, times=None)
                with pytest.raises(centbook.ServerError) as info:
                    await me.get_balance()
                assert info.value.status == 500
                sim.admin.clear_faults()
                made = await me.create_order(T, "bid", 4200, 100)
                sim.admin.add_fault(r"^/portfolio/order_groups/create$", "status", method="POST", times=1)
                with pytest.raises(centbook.OutcomeUnknownError):
                    await me.create_order_group(100)  # a write: reported, never re-sent
                uid = sim.exchange.users_by_name["demo"].user_id
                group_posts = [a for a in sim.server.limiter.arrivals[uid] if a.path.endswith("/create")]
                assert group_posts == [] and made.order_id

    arun1(body())


def test_average_fill_price_of_a_sweep_is_exact_money(arun: Any) -> None:
    """A bid sweeping 0.42 x 1 and 0.43 x 2 fills at a volume-weighted 0.426667: not a grid price."""
    async def body() -> None:
        async with run_sim(seed=23, tier="unlimited") as sim:
            other_key = sim.admin.add_user("other", tier="unlimited", funding={0: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other_key.api_key_id, other_key.private_key_pem) as other,
            ):
                await other.create_order(T, "ask", 4200, 100)
                await other.create_order(T, "ask", 4300, 200)
                take = await me.create_order(T, "bid", 4300, 300, time_in_force="immediate_or_cancel")
                assert (take.fill_count, take.remaining_count) == (300, 0)
                assert take.average_fill_price_micro == 426_667
                prices = sorted(f.yes_price_bp for f in [f async for f in me.get_fills(ticker=T)])
                assert prices == [4200, 4300]
    arun(body())
