"""The embedded exchange over real sockets: REST shapes, auth, market data, accounts, limits, faults."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from conftest import KalshiTestClient, wait_for
from cryptography.hazmat.primitives.asymmetric import padding

from centbook.grid import PriceGrid
from centbook.sim import SimProcess, run_sim


async def _client(session, sim, validate=True):
    return KalshiTestClient(session, sim.rest_url, sim.api_key_id, sim.private_key_pem, validate)


def test_markets_and_market_data_conform(arun, specs):
    async def body():
        async with run_sim(seed=1) as sim, aiohttp.ClientSession() as s:
            c = await _client(s, sim)
            markets = (await c.get("/markets", auth=False))["markets"]
            shards = {m["exchange_index"] for m in markets}
            assert {0, 2} <= shards
            structures = {m["price_level_structure"] for m in markets}
            assert {
                "linear_cent",
                "deci_cent",
                "tapered_deci_cent",
                "center_centi_edge_centi_cent",
            } <= structures
            ticks = {PriceGrid.from_ranges(m["price_ranges"]).tick_bp for m in markets}
            assert {100, 10, 1} <= ticks
            t = markets[0]["ticker"]
            assert (await c.get(f"/markets/{t}", auth=False))["market"]["ticker"] == t
            assert (await c.get(f"/markets/{t}/orderbook", auth=False, params={"depth": 5}))[
                "orderbook_fp"
            ] == {"yes_dollars": [], "no_dollars": []}
            books = await c.get(
                "/markets/orderbooks", params=[("tickers", t), ("tickers", markets[1]["ticker"])]
            )
            assert [b["ticker"] for b in books["orderbooks"]] == [t, markets[1]["ticker"]]
            await c.get("/markets/trades", auth=False, params={"ticker": t})
            events = (await c.get("/events", auth=False, params={"with_nested_markets": "true"}))["events"]
            assert len(events) == 2 and all(e["markets"] for e in events)
            await c.get(f"/events/{events[0]['event_ticker']}", auth=False)
            series = (await c.get("/series/KXDEMO", auth=False))["series"]
            assert series["fee_type"] == "quadratic" and series["fee_multiplier"] == 0.07
            status = await c.get("/exchange/status", auth=False)
            assert [x["exchange_index"] for x in status["exchange_index_statuses"]] == [0, 1, 2, 3]
            await c.get("/exchange/schedule", auth=False)
            await c.get("/exchange/user_data_timestamp", auth=False)
            limits = await c.get("/account/limits")
            assert limits["usage_tier"] == "basic" and limits["write"] == {
                "refill_rate": 100,
                "bucket_capacity": 100,
            }
            costs = await c.get("/account/endpoint_costs", auth=False)
            assert costs["default_cost"] == 10
            assert {
                "method": "DELETE",
                "path": "/trade-api/v2/portfolio/events/orders/{order_id}",
                "cost": 2,
            } in costs["endpoint_costs"]
            assert "none" not in c.sources[:3]

    arun(body())


def test_markets_filters_and_pagination(arun):
    async def body():
        async with run_sim(seed=1) as sim, aiohttp.ClientSession() as s:
            c = await _client(s, sim)
            seen, cursor = [], ""
            while True:
                page = await c.get(
                    "/markets", auth=False, params={"limit": 2, **({"cursor": cursor} if cursor else {})}
                )
                seen += [m["ticker"] for m in page["markets"]]
                cursor = page["cursor"]
                if not cursor:
                    break
            assert len(seen) == len(set(seen)) == len(sim.exchange.markets)
            assert len((await c.get("/markets", auth=False, params={"status": "open"}))["markets"]) == len(
                seen
            )
            assert (await c.get("/markets", auth=False, params={"status": "settled"}))["markets"] == []
            crypto = await c.get("/markets", auth=False, params={"series_ticker": "KXBTCD"})
            assert {m["exchange_index"] for m in crypto["markets"]} == {2}
            st, err = await c.request("GET", "/markets", auth=False, params={"status": "active"})
            assert st == 400 and "status" in err["error"]["details"]
            st, err = await c.request("GET", "/markets", auth=False, params={"limit": "x"})
            assert st == 400 and "limit" in err["error"]["details"]
            st, err = await c.request("GET", "/markets/NOPE", auth=False)
            assert st == 404
            # settle one: the status filter maps response values onto filter words
            t = seen[0]
            sim.admin.settle_market(t, "yes")
            settled = (await c.get("/markets", auth=False, params={"status": "settled"}))["markets"]
            assert [m["ticker"] for m in settled] == [t] and settled[0]["status"] == "finalized"
            assert settled[0]["result"] == "yes"

    arun(body())


def test_auth_rules(arun):
    async def body():
        async with run_sim(seed=2, max_skew_ms=5000) as sim, aiohttp.ClientSession() as s:
            c = await _client(s, sim)
            path = "/portfolio/balance"
            st, _ = await c.request("GET", path, expect=200)
            # no headers
            st, err = await c.request("GET", path, auth=False)
            assert st == 401 and "missing" in err["error"]["details"]
            # wrong salt length (max length instead of digest length)
            st, _ = await c.request(
                "GET", path, auth=False, headers=c.headers("GET", path, salt=padding.PSS.MAX_LENGTH)
            )
            assert st == 401
            # signing the query string
            st, _ = await c.request(
                "GET",
                path + "?subaccount=0",
                auth=False,
                headers=c.headers("GET", path, sign_path="/trade-api/v2" + path + "?subaccount=0"),
            )
            assert st == 401
            # the query is not signed: signing the bare path with a query present is right
            st, _ = await c.request("GET", path + "?subaccount=0", expect=200)
            # stale and future timestamps
            import time

            now = int(time.time() * 1000)
            for ts in (now - 60_000, now + 60_000):
                st, err = await c.request("GET", path, auth=False, headers=c.headers("GET", path, ts_ms=ts))
                assert st == 401 and "timestamp" in err["error"]["details"]
            # a shifted server clock makes a correct client stale
            sim.admin.shift_clock(120)
            st, _ = await c.request("GET", path)
            assert st == 401
            sim.admin.shift_clock(-120)
            # unknown key, garbage signature, wrong method signed
            h = c.headers("GET", path)
            st, _ = await c.request("GET", path, auth=False, headers={**h, "KALSHI-ACCESS-KEY": "nope"})
            assert st == 401
            st, _ = await c.request("GET", path, auth=False, headers={**h, "KALSHI-ACCESS-SIGNATURE": "!!"})
            assert st == 401
            st, _ = await c.request("GET", path, auth=False, headers=c.headers("POST", path))
            assert st == 401
            # public data needs no auth, but a bad signature on it is still refused
            await c.get("/markets", auth=False)
            st, _ = await c.request(
                "GET", "/markets", auth=False, headers={**h, "KALSHI-ACCESS-SIGNATURE": "AAAA"}
            )
            assert st == 401

    arun(body())


def test_websocket_upgrade_is_authenticated(arun):
    async def body():
        async with run_sim(seed=3) as sim, aiohttp.ClientSession() as s:
            c = await _client(s, sim)
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await s.ws_connect(sim.ws_url)
            assert info.value.status == 401
            bad = c.headers("GET", "", sign_path="/trade-api/ws/v2?x=1")
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await s.ws_connect(sim.ws_url, headers=bad)
            ws = await s.ws_connect(sim.ws_url, headers=c.headers("GET", "", sign_path="/trade-api/ws/v2"))
            await ws.send_json({"id": 1, "cmd": "list_subscriptions"})
            reply = await ws.receive_json()
            assert reply["id"] == 1 and reply["type"] in ("ok", "error")
            await ws.close()

    arun(body())


def test_accounts_balance_positions_fills(arun):
    async def body():
        async with run_sim(seed=4) as sim, aiohttp.ClientSession() as s:
            c = await _client(s, sim)
            bal = await c.get("/portfolio/balance")
            assert bal["balance"] == 2_000_000 and bal["balance_dollars"] == "20000.0000"
            assert {b["exchange_index"]: b["balance"] for b in bal["balance_breakdown"]} == {
                0: "10000.0000",
                1: "0.0000",
                2: "10000.0000",
                3: "0.0000",
            }
            assert (await c.get("/portfolio/balance", params={"exchange_index": 2}))["balance"] == 1_000_000
            pos = await c.get("/portfolio/positions")
            assert pos["market_positions"] == [] and pos["event_positions"] == []
            assert (await c.get("/portfolio/fills"))["fills"] == []
            assert (await c.get("/portfolio/settlements"))["settlements"] == []
            # a counterparty trades with us so positions and fills exist
            other = sim.admin.add_user("other", funding={0: "1000", 2: "1000"})
            o = KalshiTestClient(s, sim.rest_url, other.api_key_id, other.private_key_pem)
            t = "KXDEMO-26DEC31-T50"
            st, made = await o.order(t, "ask", "5", "0.40", client_order_id="o-1")
            assert st == 201
            st, took = await c.order(t, "bid", "3.5", "0.45", client_order_id="c-1")
            assert st == 201 and took["fill_count"] == "3.50" and took["average_fill_price"] == "0.400000"
            fills = (await c.get("/portfolio/fills"))["fills"]
            assert len(fills) == 1 and fills[0]["is_taker"] and "client_order_id" not in fills[0]
            assert fills[0]["count_fp"] == "3.50" and fills[0]["yes_price_dollars"] == "0.4000"
            pos = await c.get("/portfolio/positions")
            assert pos["market_positions"][0]["position_fp"] == "3.50"
            assert pos["event_positions"][0]["event_ticker"] == "KXDEMO-26DEC31"
            opos = await o.get("/portfolio/positions")
            assert opos["market_positions"][0]["position_fp"] == "-3.50"
            # subaccounts: a new one, empty
            sub = (await c.post("/portfolio/subaccounts", {}, expect=201))["subaccount_number"]
            assert sub == 1
            assert (await c.get("/portfolio/positions", params={"subaccount": 1}))["market_positions"] == []
            st, err = await c.request("GET", "/portfolio/positions", params={"subaccount": 9})
            assert st == 400
            # fund the subaccount from the primary (idempotent per client_transfer_id)
            move = {
                "client_transfer_id": "6f1c2a1e-0000-4000-8000-000000000001",
                "from_subaccount": 0,
                "to_subaccount": 1,
                "amount_cents": 12345,
            }
            await c.request("POST", "/portfolio/subaccounts/transfer", json=move, expect=200)
            await c.request("POST", "/portfolio/subaccounts/transfer", json=move, expect=200)
            sub_bal = await c.get("/portfolio/balance", params={"subaccount": 1})
            assert sub_bal["balance_dollars"] == "123.4500"
            balances = (await c.get("/portfolio/subaccounts/balances"))["subaccount_balances"]
            # one row per subaccount and exchange_index (3.28); the transfer landed on one shard
            assert sorted({b["subaccount_number"] for b in balances}) == [0, 1]
            assert sorted(b["balance"] for b in balances if b["subaccount_number"] == 1)[-1] == "123.4500"
            assert sum(b["balance"] != "0.0000" for b in balances if b["subaccount_number"] == 1) == 1
            st, err = await c.request(
                "POST",
                "/portfolio/subaccounts/transfer",
                json={**move, "client_transfer_id": "x", "amount_cents": 10**12},
            )
            assert st == 400 and err["error"]["code"] == "insufficient_balance"
            # settle: $1 per winning contract; positions move to settlements
            sim.admin.settle_market(t, "yes")
            settle = (await c.get("/portfolio/settlements"))["settlements"]
            assert settle[0]["market_result"] == "yes" and settle[0]["yes_count_fp"] == "3.50"
            assert (await c.get("/portfolio/positions"))["market_positions"] == []
            sim.exchange.check_invariants()

    arun(body())


def test_error_bodies_never_500(arun):
    async def body():
        async with run_sim(seed=5, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            c = await _client(s, sim)
            st, err = await c.request(
                "POST",
                "/portfolio/events/orders",
                data=b"{not json",
                headers={"Content-Type": "application/json"},
            )
            assert st == 400 and err["code"] == "bad_request"
            st, err = await c.request("POST", "/portfolio/events/orders", data=b"[1,2]")
            assert st == 400 and err["code"] == "bad_request"
            bad_orders = [
                ({}, "ticker"),
                ({"ticker": "KXDEMO-26DEC31-T50"}, "side"),
                ({"ticker": "KXDEMO-26DEC31-T50", "side": "buy"}, "side"),
                ({"ticker": "KXDEMO-26DEC31-T50", "side": "bid", "count": 5}, "count"),
                ({"ticker": "KXDEMO-26DEC31-T50", "side": "bid", "count": "1.234"}, "count"),
                (
                    {"ticker": "KXDEMO-26DEC31-T50", "side": "bid", "count": "1", "price": "0.555"},
                    "time_in_force",
                ),
                (
                    {
                        "ticker": "KXDEMO-26DEC31-T50",
                        "side": "bid",
                        "count": "1",
                        "price": "1.5",
                        "time_in_force": "good_till_canceled",
                        "self_trade_prevention_type": "maker",
                    },
                    "price",
                ),
                (
                    {
                        "ticker": "KXDEMO-26DEC31-T50",
                        "side": "bid",
                        "count": "1",
                        "price": "0.555",
                        "time_in_force": "good_till_canceled",
                        "self_trade_prevention_type": "maker",
                    },
                    "grid",
                ),
                (
                    {
                        "ticker": "KXDEMO-26DEC31-T50",
                        "side": "bid",
                        "count": "1",
                        "price": "0.55",
                        "time_in_force": "gtc",
                        "self_trade_prevention_type": "maker",
                    },
                    "time_in_force",
                ),
                (
                    {
                        "ticker": "KXDEMO-26DEC31-T50",
                        "side": "bid",
                        "count": "1",
                        "price": "0.55",
                        "time_in_force": "good_till_canceled",
                        "self_trade_prevention_type": "maker",
                        "post_only": "yes",
                    },
                    "post_only",
                ),
                (
                    {
                        "ticker": "KXDEMO-26DEC31-T50",
                        "side": "bid",
                        "count": "1",
                        "price": "0.55",
                        "time_in_force": "good_till_canceled",
                        "self_trade_prevention_type": "maker",
                        "subaccount": -1,
                    },
                    "subaccount",
                ),
                (
                    {
                        "ticker": "NOPE",
                        "side": "bid",
                        "count": "1",
                        "price": "0.55",
                        "time_in_force": "good_till_canceled",
                        "self_trade_prevention_type": "maker",
                    },
                    "NOPE",
                ),
            ]
            for order, word in bad_orders:
                st, err = await c.request("POST", "/portfolio/events/orders", json=order)
                assert st in (400, 404), (order, st, err)
                assert word in json.dumps(err), (order, err)
            st, err = await c.request("GET", "/portfolio/orders/nope")
            assert st == 404 and err["error"]["code"] == "order_not_found"
            st, err = await c.request(
                "POST", "/portfolio/events/orders/x/decrease", json={"reduce_by": "1", "reduce_to": "1"}
            )
            assert st == 400 and "exactly one" in err["error"]["details"]
            st, _ = await c.request("GET", "/no/such/thing")
            assert st == 404
            # legacy V1 writes: deprecated
            st, err = await c.request("POST", "/portfolio/orders", json={"ticker": "KXDEMO-26DEC31-T50"})
            assert st == 410 and "V2" in err["error"]["message"]

    arun(body())


def test_rate_limits(arun):
    """429s from the write, per-shard write and read buckets; deterministic: a tier refilling 1 token/s."""

    async def body():
        async with run_sim(seed=6) as sim, aiohttp.ClientSession() as s:
            c = await _client(s, sim)
            sim.admin.set_tier("demo", "fast")
            limits = await c.get("/account/limits")
            assert limits["usage_tier"] == "fast"
            # read 60 tokens, write 30 tokens, both refilling 1 token per second
            sim.admin.define_tier("probe", read_rate=1, read_capacity=60, write_rate=1, write_capacity=30)
            sim.admin.set_tier("demo", "probe")
            t = "KXDEMO-26DEC31-T50"
            results = [(await c.order(t, "bid", "1", "0.10", client_order_id=f"rl-{i}"))[0] for i in range(4)]
            assert results == [201, 201, 201, 429]
            # a batch is admitted whole or not at all
            order = {
                "ticker": t,
                "side": "bid",
                "count": "1",
                "price": "0.05",
                "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "maker",
            }
            before = len(sim.exchange.orders)
            st, _ = await c.request("POST", "/portfolio/events/orders/batched", json={"orders": [order]})
            assert st == 429 and len(sim.exchange.orders) == before
            # a single write naming shard 2 draws on shard 2's own write bucket
            bt = "KXBTCD-26DEC3117-T110000"
            assert (await c.order(bt, "bid", "1", "0.10", exchange_index=2))[0] == 201
            # ... but auto-routed (no exchange_index) it bills the unscoped bucket
            assert (await c.order(bt, "bid", "1", "0.10"))[0] == 429
            # an order-group create naming shard 2 bills the user's write bucket, not shard 2's
            st, _ = await c.request("POST", "/portfolio/order_groups/create",
                                    json={"contracts_limit": 10, "exchange_index": 2})
            assert st == 429 and sim.admin.arrivals("demo")[-1].bucket == "write"
            # the read bucket: 60 tokens at 10 per GET (set_tier restarted it full)
            statuses = [(await c.request("GET", "/portfolio/balance"))[0] for _ in range(7)]
            assert statuses == [200] * 6 + [429]
            arrivals = sim.admin.arrivals("demo")
            assert [a.admitted for a in arrivals][-7:] == [True] * 6 + [False]
            assert all(a.wall_ns > 0 and a.monotonic_ns > 0 for a in arrivals)
            # the fast tier refills quickly: wait for a create to pass again (a condition, not a sleep)
            sim.admin.set_tier("demo", "fast")
            user_id = sim.exchange.users_by_name["demo"].user_id
            sim.server.limiter.bucket(user_id, "write").tokens = 0
            statuses = []

            async def create_ok():
                statuses.append((await c.order(t, "bid", "1", "0.10"))[0])
                return statuses[-1] == 201

            deadline = asyncio.get_running_loop().time() + 10
            while not await create_ok():
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.02)
            assert statuses[0] == 429

    arun(body())


def test_faults_and_admin(arun):
    async def body():
        async with run_sim(seed=7, admin=True) as sim, aiohttp.ClientSession(headers=sim.admin_headers) as s:
            c = await _client(s, sim, validate=False)
            t = "KXDEMO-26DEC31-T50"
            sim.admin.add_fault("^/portfolio/balance$", "status", status=503, times=2)
            assert (await c.request("GET", "/portfolio/balance"))[0] == 503
            assert (await c.request("GET", "/portfolio/balance"))[0] == 503
            assert (await c.request("GET", "/portfolio/balance"))[0] == 200
            # a dropped response: the order exists, the client never heard
            sim.admin.add_fault("^/portfolio/events/orders$", "drop", method="POST")
            with pytest.raises(aiohttp.ClientError):
                await c.order(t, "bid", "1", "0.20", client_order_id="lost-1")
            orders = await c.get("/portfolio/orders")
            assert [o["client_order_id"] for o in orders["orders"]] == ["lost-1"]
            # a delayed response arrives late but arrives
            sim.admin.add_fault("^/portfolio/events/orders$", "delay", method="POST", delay_s=0.2)
            st, _ = await c.order(t, "bid", "1", "0.21", client_order_id="late-1")
            assert st == 201
            # a timeout: the client gives up first
            sim.admin.add_fault("^/markets$", "timeout", delay_s=1)
            with pytest.raises((asyncio.TimeoutError, aiohttp.ClientError)):
                async with s.get(sim.rest_url + "/markets", timeout=aiohttp.ClientTimeout(total=0.3)) as r:
                    await r.read()
            kinds = [e["kind"] for e in sim.admin.fault_log]
            assert {"injected_status", "injected_drop", "injected_delay", "injected_timeout"} <= set(kinds)
            assert all("ts_ms" in e for e in sim.admin.fault_log)
            # HTTP admin: trading pause per shard
            async with s.post(
                sim.base_url + "/admin/exchange", json={"exchange_index": 0, "trading_active": False}
            ) as r:
                assert r.status == 200
            st, err = await c.order(t, "bid", "1", "0.22")
            assert st == 400 and err["error"]["code"] == "trading_is_paused"
            st, _ = await c.order("KXBTCD-26DEC3117-T110000", "bid", "1", "0.22")
            assert st == 201
            status = await c.get("/exchange/status", auth=False)
            assert status["trading_active"] is False
            async with s.post(sim.base_url + "/admin/tier", json={"user": "demo", "tier": "nope"}) as r:
                assert r.status == 400
            async with s.post(sim.base_url + "/admin/users", json={"name": "u2", "funding": {"0": "5"}}) as r:
                assert r.status == 201 and "private_key_pem" in await r.json()

    arun(body())


def test_subprocess_cli(tmp_path):
    with SimProcess(seed=3) as sim:

        async def body():
            async with aiohttp.ClientSession() as s:
                c = KalshiTestClient(s, sim.rest_url, sim.api_key_id, sim.private_key_pem)
                assert (await c.get("/portfolio/balance"))["balance"] > 0

        asyncio.run(body())


def test_cli_registers_api_keys(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = tmp_path / "pub.pem"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with SimProcess(seed=4, args=["--api-key", f"my-key={pub}", "--tier", "fast"]) as sim:
        assert sim.api_key_id == ""

        async def body():
            async with aiohttp.ClientSession() as s:
                c = KalshiTestClient(s, sim.rest_url, "my-key", pem)
                assert (await c.get("/account/limits"))["usage_tier"] == "fast"
                bad = KalshiTestClient(s, sim.rest_url, "other-key", pem)
                assert (await bad.request("GET", "/portfolio/balance"))[0] == 401

        asyncio.run(body())


def test_market_schedule_and_status_filters(arun):
    from centbook.sim import default_config

    async def body():
        cfg = default_config()
        cfg["markets"][0].update(open_offset_s=3600)  # not open yet: initialized / unopened
        cfg["markets"][1].update(close_offset_s=1, result="no", settlement_timer_seconds=0)
        async with run_sim(cfg, seed=8) as sim, aiohttp.ClientSession() as s:
            c = await _client(s, sim)
            t0, t1, t2 = (m["ticker"] for m in cfg["markets"][:3])
            unopened = (await c.get("/markets", auth=False, params={"status": "unopened"}))["markets"]
            assert [m["ticker"] for m in unopened] == [t0] and unopened[0]["status"] == "initialized"
            st, err = await c.order(t0, "bid", "1", "0.50")
            assert st == 400 and err["error"]["code"] == "market_closed"
            sim.exchange.set_market_halted(t2, True)
            paused = (await c.get("/markets", auth=False, params={"status": "paused"}))["markets"]
            assert [m["ticker"] for m in paused] == [t2] and paused[0]["status"] == "inactive"
            # t1 closes after a second on the exchange clock and settles itself ("no")
            sim.admin.shift_clock(2)
            await wait_for(lambda: sim.exchange.markets[t1].status == "finalized")
            settled = (await c.get("/markets", auth=False, params={"status": "settled"}))["markets"]
            assert [m["ticker"] for m in settled] == [t1] and settled[0]["result"] == "no"
            sim.admin.shift_clock(-2)

    arun(body())


def test_every_endpoint_conforms(arun1, specs):
    """One call to every Kalshi endpoint the sim serves; each answer is judged by a spec."""

    async def body():
        async with run_sim(seed=9, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            c = await _client(s, sim)
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "100", 2: "100"})
            o = KalshiTestClient(s, sim.rest_url, other.api_key_id, other.private_key_pem)
            t = "KXDEMO-26DEC31-T50"
            await o.order(t, "ask", "2", "0.40")
            _, made = await c.order(t, "bid", "3", "0.40", client_order_id="e-1")
            oid = made["order_id"]
            gid = (await c.post("/portfolio/order_groups/create", {"contracts_limit": 10}, expect=201))[
                "order_group_id"
            ]
            calls = [
                ("GET", "/exchange/status"),
                ("GET", "/exchange/schedule"),
                ("GET", "/exchange/user_data_timestamp"),
                ("GET", "/account/limits"),
                ("GET", "/account/endpoint_costs"),
                ("GET", "/markets"),
                ("GET", f"/markets/{t}"),
                ("GET", f"/markets/{t}/orderbook"),
                ("GET", "/markets/trades"),
                ("GET", f"/markets/orderbooks?tickers={t}"),
                ("GET", "/events"),
                ("GET", "/events/KXDEMO-26DEC31"),
                ("GET", "/series"),
                ("GET", "/series/KXDEMO"),
                ("GET", "/portfolio/balance"),
                ("GET", "/portfolio/positions"),
                ("GET", "/portfolio/fills"),
                ("GET", "/portfolio/settlements"),
                ("GET", "/portfolio/orders"),
                ("GET", f"/portfolio/orders/{oid}"),
                ("GET", f"/portfolio/orders/{oid}/queue_position"),
                ("GET", f"/portfolio/orders/queue_positions?market_tickers={t}"),
                ("GET", "/portfolio/subaccounts/balances"),
                ("GET", "/portfolio/order_groups"),
                ("GET", f"/portfolio/order_groups/{gid}"),
            ]
            start = len(c.sources)
            for method, path in calls:
                await c.request(method, path, expect=200)
            judged = dict(zip([p for _, p in calls], c.sources[start:], strict=True))
            await c.request("POST", "/portfolio/subaccounts", json={}, expect=201)
            await c.request(
                "POST",
                f"/portfolio/events/orders/{oid}/amend",
                json={"ticker": t, "side": "bid", "price": "0.41", "count": "4"},
                expect=200,
            )
            await c.request(
                "POST", f"/portfolio/events/orders/{oid}/decrease", json={"reduce_by": "1"}, expect=200
            )
            await c.request("DELETE", f"/portfolio/events/orders/{oid}", expect=200)
            await c.request(
                "PUT", f"/portfolio/order_groups/{gid}/limit", json={"contracts_limit": 5}, expect=200
            )
            await c.request("PUT", f"/portfolio/order_groups/{gid}/trigger", json={}, expect=200)
            await c.request("PUT", f"/portfolio/order_groups/{gid}/reset", json={}, expect=200)
            await c.request("DELETE", f"/portfolio/order_groups/{gid}", expect=200)
            sim.admin.settle_market(t, "yes")
            await c.request("GET", "/portfolio/settlements", expect=200)
            assert "none" not in c.sources, judged
            assert set(c.sources) <= {"docs-3.28", "3.13", "protocol"}
            # the 2026-08-22 reference documents each of these: none falls back to the 3.13 file
            assert judged[f"/markets/{t}"] == "docs-3.28" and judged["/events"] == "docs-3.28"
            assert judged[f"/markets/orderbooks?tickers={t}"] == "docs-3.28"  # not GET /markets/{ticker}

    arun1(body())
