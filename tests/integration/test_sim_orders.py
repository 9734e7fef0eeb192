"""V2 order entry against the sim over real sockets, every answer validated against the schemas."""

from __future__ import annotations

import random

import aiohttp
from conftest import KalshiTestClient

from centbook.sim import run_sim

T = "KXDEMO-26DEC31-T50"
TB = "KXBTCD-26DEC3117-T110000"
TC = "KXBTCD-26DEC3117-T100000"


async def _pair(s, sim):
    me = KalshiTestClient(s, sim.rest_url, sim.api_key_id, sim.private_key_pem)
    cred = sim.admin.add_user("other", tier="unlimited", funding={0: "5000", 2: "5000"})
    other = KalshiTestClient(s, sim.rest_url, cred.api_key_id, cred.private_key_pem)
    return me, other


def test_order_lifecycle_over_rest(arun):
    async def body():
        async with run_sim(seed=11, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            me, other = await _pair(s, sim)
            st, made = await other.order(T, "ask", "10", "0.55", client_order_id="mk-1")
            assert st == 201 and made["fill_count"] == "0.00" and made["remaining_count"] == "10.00"
            assert isinstance(made["ts_ms"], int)
            st, res = await me.order(T, "bid", "4", "0.50", client_order_id="b-1")
            assert st == 201
            oid = res["order_id"]
            order = (await me.get(f"/portfolio/orders/{oid}"))["order"]
            assert (
                order["status"] == "resting"
                and order["book_side"] == "bid"
                and order["outcome_side"] == "yes"
            )
            assert order["yes_price_dollars"] == "0.5000" and order["no_price_dollars"] == "0.5000"
            assert (await me.get(f"/portfolio/orders/{oid}/queue_position"))["queue_position_fp"] == "0.00"
            qp = await me.get("/portfolio/orders/queue_positions", params={"market_tickers": T})
            assert qp["queue_positions"][0]["order_id"] == oid
            # duplicate client_order_id
            st, err = await me.order(T, "bid", "1", "0.40", client_order_id="b-1")
            assert st == 409
            # post-only crossing
            st, err = await me.order(T, "bid", "1", "0.55", post_only=True)
            assert st == 400 and err["error"]["details"] == "post only cross"
            # amend: count is the new total; crossing fills at the resting price
            amended = await me.post(
                f"/portfolio/events/orders/{oid}/amend",
                {"ticker": T, "side": "bid", "price": "0.55", "count": "6"},
                expect=200,
            )
            assert amended["fill_count"] == "6.00" and amended["remaining_count"] == "0.00"
            assert amended["average_fill_price"] == "0.550000"
            st, err = await me.request(
                "POST",
                f"/portfolio/events/orders/{oid}/amend",
                json={"ticker": T, "side": "bid", "price": "0.55"},
            )
            assert st == 400 and "count" in err["error"]["details"]
            # decrease and cancel
            st, res = await me.order(T, "bid", "5", "0.45", client_order_id="b-2")
            oid2 = res["order_id"]
            dec = await me.post(f"/portfolio/events/orders/{oid2}/decrease", {"reduce_by": "2"}, expect=200)
            assert dec["remaining_count"] == "3.00"
            dec = await me.post(f"/portfolio/events/orders/{oid2}/decrease", {"reduce_to": "1.5"}, expect=200)
            assert dec["remaining_count"] == "1.50"
            canc = await me.delete(f"/portfolio/events/orders/{oid2}", expect=200)
            assert canc["reduced_by"] == "1.50" and canc["client_order_id"] == "b-2"
            st, _ = await me.request("DELETE", f"/portfolio/events/orders/{oid2}")
            assert st == 404
            got = (await me.get(f"/portfolio/orders/{oid2}"))["order"]
            assert got["status"] == "canceled"
            # orders listing with filters (no client_order_id filter in Kalshi's API)
            all_orders = (await me.get("/portfolio/orders"))["orders"]
            assert {o["order_id"] for o in all_orders} == {oid, oid2}
            assert [
                o["order_id"]
                for o in (await me.get("/portfolio/orders", params={"status": "canceled"}))["orders"]
            ] == [oid2]
            assert (await me.get("/portfolio/orders", params={"event_ticker": "KXBTCD-26DEC3117"}))[
                "orders"
            ] == []
            page = await me.get("/portfolio/orders", params={"limit": 1})
            assert len(page["orders"]) == 1 and page["cursor"]
            # fills and positions
            fills = (await me.get("/portfolio/fills", params={"ticker": T}))["fills"]
            assert sum(float(f["count_fp"]) for f in fills) == 6.0
            assert all(f["fee_cost"] for f in fills)
            positions = (await me.get("/portfolio/positions"))["market_positions"]
            assert positions[0]["position_fp"] == "6.00"
            # IOC / FOK over REST
            st, res = await me.order(T, "bid", "10", "0.55", time_in_force="immediate_or_cancel")
            assert res["fill_count"] == "4.00" and res["remaining_count"] == "0.00"
            st, res = await me.order(T, "bid", "10", "0.55", time_in_force="fill_or_kill")
            assert st == 201 and res["fill_count"] == "0.00"
            # cancel-all
            await me.order(T, "bid", "1", "0.10")
            await me.order(T, "bid", "1", "0.11")
            out = await me.delete("/portfolio/events/orders", expect=200)
            assert len(out["orders"]) == 2
            assert (await me.get("/portfolio/orders", params={"status": "resting"}))["orders"] == []
            sim.exchange.check_invariants()

    arun(body())


def test_batches_each_item_its_result(arun):
    async def body():
        async with run_sim(seed=12, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            me, _ = await _pair(s, sim)
            good = {
                "ticker": T,
                "side": "bid",
                "count": "1",
                "price": "0.30",
                "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "maker",
                "client_order_id": "g1",
            }
            off_grid = {**good, "price": "0.305", "client_order_id": "bad1"}
            missing = {k: v for k, v in good.items() if k != "side"}
            out = await me.post(
                "/portfolio/events/orders/batched", {"orders": [good, off_grid, missing]}, expect=201
            )
            items = out["orders"]
            assert items[0]["error"] is None and items[0]["remaining_count"] == "1.00"
            assert items[1]["error"]["code"] == "invalid_order" and items[1]["client_order_id"] == "bad1"
            assert "side" in items[2]["error"]["details"]
            out = await me.request(
                "DELETE",
                "/portfolio/events/orders/batched",
                json={"orders": [{"order_id": items[0]["order_id"]}, {"order_id": "nope"}]},
            )
            assert out[0] == 200
            res = out[1]["orders"]
            assert res[0]["reduced_by"] == "1.00" and res[0]["error"] is None
            assert res[1]["error"]["code"] == "order_not_found" and res[1]["reduced_by"] == "0.00"
            st, err = await me.request("POST", "/portfolio/events/orders/batched", json={"orders": []})
            assert st == 400

    arun(body())


def test_shard_routing_over_rest(arun):
    async def body():
        async with run_sim(seed=13, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            me, other = await _pair(s, sim)
            # create auto-routes by ticker; an explicit wrong shard fails on collateral
            st, res = await me.order(TB, "bid", "2", "0.40")
            assert st == 201
            oid = res["order_id"]
            st, err = await me.order(TB, "bid", "2", "0.40", exchange_index=0)
            assert st == 400 and err["error"]["code"] == "insufficient_balance"
            # a cancel with neither exchange_index nor market_ticker goes to shard 0 and misses
            st, err = await me.request("DELETE", f"/portfolio/events/orders/{oid}")
            assert st == 404 and "shard" in err["error"]["details"]
            st, err = await me.request(
                "POST", f"/portfolio/events/orders/{oid}/decrease", json={"reduce_by": "1"}
            )
            assert st == 404
            dec = await me.post(
                f"/portfolio/events/orders/{oid}/decrease",
                {"reduce_by": "1", "market_ticker": TB},
                expect=200,
            )
            assert dec["remaining_count"] == "1.00"
            await me.request(
                "DELETE", f"/portfolio/events/orders/{oid}", params={"exchange_index": 2}, expect=200
            )
            # balances move on the market's shard only
            await other.order(TC, "ask", "10", "0.3333", exchange_index=2)
            before = await me.get("/portfolio/balance")
            await me.order(TC, "bid", "3", "0.3333", exchange_index=-1)
            after = await me.get("/portfolio/balance")
            b0 = {x["exchange_index"]: x["balance"] for x in before["balance_breakdown"]}
            a0 = {x["exchange_index"]: x["balance"] for x in after["balance_breakdown"]}
            assert a0[0] == b0[0] and float(a0[2]) < float(b0[2])
            pos = (await me.get("/portfolio/positions", params={"exchange_index": 2}))["market_positions"]
            assert pos[0]["ticker"] == TC and pos[0]["exchange_index"] == 2
            assert (await me.get("/portfolio/positions", params={"exchange_index": 0}))[
                "market_positions"
            ] == []
            # an order group lives on one shard
            g = (
                await me.post(
                    "/portfolio/order_groups/create", {"contracts_limit": 5, "exchange_index": 2}, expect=201
                )
            )["order_group_id"]
            st, err = await me.order(T, "bid", "1", "0.30", order_group_id=g)
            assert st == 400
            sim.exchange.check_invariants()

    arun(body())


def test_order_groups_and_pauses_over_rest(arun):
    async def body():
        async with run_sim(seed=14, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            me, other = await _pair(s, sim)
            g = (await me.post("/portfolio/order_groups/create", {"contracts_limit": 3}, expect=201))[
                "order_group_id"
            ]
            groups = (await me.get("/portfolio/order_groups"))["order_groups"]
            assert groups[0]["id"] == g and groups[0]["contracts_limit_fp"] == "3.00"
            st, res = await me.order(T, "bid", "10", "0.40", order_group_id=g)
            oid = res["order_id"]
            assert (await me.get(f"/portfolio/order_groups/{g}"))["orders"] == [oid]
            await other.order(T, "ask", "4", "0.40")  # 4 > 3 within 15 s: auto-trigger
            assert (await me.get(f"/portfolio/orders/{oid}"))["order"]["status"] == "canceled"
            info = await me.get(f"/portfolio/order_groups/{g}")
            assert info["is_auto_cancel_enabled"] is False and info["orders"] == []
            st, err = await me.order(T, "bid", "1", "0.40", order_group_id=g)
            assert st == 400 and err["error"]["code"] == "order_group_triggered"
            await me.request("PUT", f"/portfolio/order_groups/{g}/reset", json={}, expect=200)
            st, res = await me.order(T, "bid", "1", "0.30", order_group_id=g)
            assert st == 201
            await me.request("PUT", f"/portfolio/order_groups/{g}/trigger", json={}, expect=200)
            assert (await me.get(f"/portfolio/orders/{res['order_id']}"))["order"]["status"] == "canceled"
            await me.request("PUT", f"/portfolio/order_groups/{g}/reset", json={}, expect=200)
            await me.request(
                "PUT", f"/portfolio/order_groups/{g}/limit", json={"contracts_limit_fp": "100"}, expect=200
            )
            await me.request("DELETE", f"/portfolio/order_groups/{g}", expect=200)
            st, _ = await me.request("GET", f"/portfolio/order_groups/{g}")
            assert st == 404
            # trading pause: creates refused, cancels allowed, cancel_order_on_pause orders cancelled
            st, keep = await me.order(T, "bid", "1", "0.20")
            st, gone = await me.order(T, "bid", "1", "0.21", cancel_order_on_pause=True)
            sim.admin.pause_trading(0)
            assert (await me.get(f"/portfolio/orders/{gone['order_id']}"))["order"]["status"] == "canceled"
            st, err = await me.order(T, "bid", "1", "0.20")
            assert st == 400 and err["error"]["code"] == "trading_is_paused"
            st, err = await me.request(
                "POST",
                f"/portfolio/events/orders/{keep['order_id']}/amend",
                json={"ticker": T, "side": "bid", "price": "0.25", "count": "1"},
            )
            assert st == 400
            sim.admin.resume_trading(0)
            sim.admin.pause_exchange(0)
            st, err = await me.request("DELETE", f"/portfolio/events/orders/{keep['order_id']}")
            assert st == 503
            assert (await me.get("/exchange/status", auth=False))["exchange_active"] is False
            sim.admin.resume_exchange(0)
            await me.request("DELETE", f"/portfolio/events/orders/{keep['order_id']}", expect=200)
            # settlement over REST
            await other.order(T, "ask", "2", "0.60")
            await me.order(T, "bid", "2", "0.60")
            sim.admin.settle_market(T, "yes")
            settle = (await me.get("/portfolio/settlements"))["settlements"]
            assert settle[0]["ticker"] == T and settle[0]["market_result"] == "yes"
            market = (await me.get(f"/markets/{T}", auth=False))["market"]
            assert market["status"] == "finalized" and market["result"] == "yes"
            st, err = await me.order(T, "bid", "1", "0.20")
            assert st == 400 and err["error"]["code"] == "market_closed"
            sim.exchange.check_invariants()

    arun(body())


def test_rest_orderbook_equals_engine_under_random_flow(arun1):
    """Random flow from three users over HTTP; the REST book equals one rebuilt from their orders."""

    async def body():
        async with run_sim(seed=15, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            clients = [KalshiTestClient(s, sim.rest_url, sim.api_key_id, sim.private_key_pem)]
            for name in ("u1", "u2"):
                cred = sim.admin.add_user(name, tier="unlimited", funding={0: "5000", 2: "5000"})
                clients.append(KalshiTestClient(s, sim.rest_url, cred.api_key_id, cred.private_key_pem))
            r = random.Random(5)
            for ticker in ("KXDEMO-26DEC31-T70", TC):
                step = sim.exchange.markets[ticker].grid.step_at(5000)
                for _ in range(120):
                    c = r.choice(clients)
                    side = r.choice(["bid", "ask"])
                    k = r.randint(-6, 6)
                    price_bp = 5000 + (k if side == "bid" else -k) * step
                    roll = r.random()
                    if roll < 0.7:
                        await c.order(
                            ticker,
                            side,
                            str(r.randint(1, 30)),
                            f"0.{price_bp:04d}",
                            stp=r.choice(["maker", "taker_at_cross"]),
                            time_in_force=r.choice(["good_till_canceled"] * 3 + ["immediate_or_cancel"]),
                        )
                    else:
                        resting = await c.get(
                            "/portfolio/orders", params={"status": "resting", "ticker": ticker}
                        )
                        if resting["orders"]:
                            o = r.choice(resting["orders"])
                            if roll < 0.85:
                                await c.request(
                                    "DELETE",
                                    f"/portfolio/events/orders/{o['order_id']}",
                                    params={"market_ticker": ticker},
                                    expect=200,
                                )
                            else:
                                await c.post(
                                    f"/portfolio/events/orders/{o['order_id']}/amend",
                                    {
                                        "ticker": ticker,
                                        "side": o["book_side"],
                                        "price": f"0.{price_bp:04d}",
                                        "count": o["initial_count_fp"],
                                    },
                                    expect=(200, 400),
                                )
                # rebuild the book from every user's resting orders and compare
                levels = {"bid": {}, "ask": {}}
                for c in clients:
                    resting = await c.get(
                        "/portfolio/orders", params={"status": "resting", "ticker": ticker, "limit": 1000}
                    )
                    for o in resting["orders"]:
                        p = o["yes_price_dollars"]
                        levels[o["book_side"]][p] = levels[o["book_side"]].get(p, 0) + round(
                            float(o["remaining_count_fp"]) * 100
                        )
                book = (await clients[0].get(f"/markets/{ticker}/orderbook", auth=False))["orderbook_fp"]
                yes = {p: round(float(sz) * 100) for p, sz in book["yes_dollars"]}
                assert yes == levels["bid"]
                no = {f"{1 - float(p):.4f}": round(float(sz) * 100) for p, sz in book["no_dollars"]}
                assert no == levels["ask"]
                prices = [float(p) for p, _ in book["yes_dollars"]]
                assert prices == sorted(prices)
                best_bid = max(yes, key=float) if yes else None
                best_ask = min(no, key=float) if no else None
                assert best_bid is None or best_ask is None or float(best_bid) < float(best_ask)
                assert sim.exchange.markets[ticker].trades, "the flow should have traded"
            sim.exchange.check_invariants()

    arun1(body())


_ODD = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**63,
    10**30,
    1.5,
    float("1e308"),
    "",
    " ",
    "0",
    "1",
    "-1",
    "0.5",
    "0.50",
    "0.5000",
    "0.50001",
    "1.00",
    "1.0001",
    "2",
    "1e3",
    "NaN",
    "inf",
    "10.001",
    "0x10",
    "99999999999999999999",
    "\u0661",
    "bid",
    "ask",
    "yes",
    [],
    {},
    ["bid"],
    {"a": 1},
    "x" * 100,
    "good_till_canceled",
    "immediate_or_cancel",
    "fill_or_kill",
    "maker",
    "taker_at_cross",
    T,
    TB,
]
_FIELDS = [
    "ticker",
    "side",
    "count",
    "price",
    "time_in_force",
    "self_trade_prevention_type",
    "client_order_id",
    "expiration_time",
    "post_only",
    "reduce_only",
    "cancel_order_on_pause",
    "order_group_id",
    "subaccount",
    "exchange_index",
]


def test_malformed_writes_never_500(arun1):
    """Hundreds of odd bodies and parameters: each gets a 2xx or a clean 4xx, never a 500."""

    async def body():
        async with run_sim(seed=16, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            me, other = await _pair(s, sim)
            await other.order(T, "ask", "5", "0.50")
            st, res = await me.order(T, "bid", "1", "0.10")
            oid = res["order_id"]
            r = random.Random(3)
            base = {
                "ticker": T,
                "side": "bid",
                "count": "1",
                "price": "0.20",
                "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "maker",
            }
            for i in range(200):
                order = dict(base)
                for f in r.sample(_FIELDS, r.randint(1, 3)):
                    if r.random() < 0.15:
                        order.pop(f, None)
                    else:
                        order[f] = r.choice(_ODD)
                st, _ = await me.request("POST", "/portfolio/events/orders", json=order)
                assert st in (201, 400, 404, 409), (order, st)
                amend = {
                    k: order.get(k)
                    for k in ("ticker", "side", "price", "count", "exchange_index", "client_order_id")
                    if k in order
                }
                st, _ = await me.request("POST", f"/portfolio/events/orders/{oid}/amend", json=amend)
                assert st in (200, 400, 404, 409), (amend, st)
                dec = {
                    r.choice(["reduce_by", "reduce_to", "exchange_index", "market_ticker"]): r.choice(_ODD)
                }
                st, _ = await me.request("POST", f"/portfolio/events/orders/{oid}/decrease", json=dec)
                assert st in (200, 400, 404), (dec, st)
                if i % 5:
                    continue
                params = {
                    r.choice(
                        [
                            "exchange_index",
                            "subaccount",
                            "market_ticker",
                            "limit",
                            "cursor",
                            "status",
                            "depth",
                            "min_ts",
                        ]
                    ): str(r.choice(_ODD))
                }
                for path in (
                    f"/portfolio/events/orders/{oid}",
                    "/portfolio/orders",
                    f"/markets/{T}/orderbook",
                    "/portfolio/positions",
                    "/portfolio/balance",
                    "/portfolio/fills",
                ):
                    method = "DELETE" if path.startswith("/portfolio/events") and r.random() < 0.3 else "GET"
                    if method == "GET" and path.startswith("/portfolio/events"):
                        continue
                    st, _ = await me.request(method, path, params=params)
                    assert st in (200, 400, 404), (path, params, st)
                st, _ = await me.request(
                    "POST", "/portfolio/events/orders/batched", json={"orders": [order, r.choice(_ODD)]}
                )
                assert st in (201, 400), st
                st, _ = await me.request(
                    "DELETE",
                    "/portfolio/events/orders/batched",
                    json={"orders": [{"order_id": r.choice(_ODD)}, r.choice(_ODD)]},
                )
                assert st in (200, 400), st
                st, _ = await me.request(
                    "POST",
                    "/portfolio/order_groups/create",
                    json={
                        r.choice(
                            ["contracts_limit", "contracts_limit_fp", "subaccount", "exchange_index"]
                        ): r.choice(_ODD)
                    },
                )
                assert st in (201, 400, 503), st
            # every order the fuzz created serialises
            await me.get("/portfolio/orders", params={"limit": 1000})
            await me.get("/portfolio/fills", params={"limit": 1000})
            await me.get("/portfolio/positions")
            sim.exchange.check_invariants()

    arun1(body())
