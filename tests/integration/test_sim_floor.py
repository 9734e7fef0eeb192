"""Settlement floors in the sim (docs getting_started/settlement_bounds), over real sockets.

A ``floor`` market starts at ``settlement_floor_dollars`` "0.0000"; the admin API raises or
lowers the floor. Orders need a YES price above the floor; a raise cancels resting orders at or
below it; YES holders are paid the floor at the raise and the settlement value minus the floor
at settlement; NO holders get $1 minus the value. Fees are left out (a zero-fee series), as in
the docs' worked example, whose balances the first test reproduces step by step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from conftest import KalshiTestClient, wait_for
from kalshi_ws import Subscriber

from centbook.sim import default_config, run_sim
from centbook.sim.engine import Exchange

SHUT = "KXSHUT-26DEC-DAYS"  # floor market (linear cent)
OTHER = "KXSHUT-26DEC-OTHER"  # default market of the same zero-fee series


def config() -> dict[str, Any]:
    cfg = default_config()
    cfg["series"].append(
        {"ticker": "KXSHUT", "title": "Shutdown days", "fee_type": "quadratic", "fee_multiplier": 0}
    )
    cfg["events"].append(
        {"event_ticker": "KXSHUT-26DEC", "series_ticker": "KXSHUT", "title": "Shutdown", "exchange_index": 0}
    )
    cfg["markets"] += [
        {"ticker": SHUT, "event_ticker": "KXSHUT-26DEC", "settlement_bounds_type": "floor"},
        {"ticker": OTHER, "event_ticker": "KXSHUT-26DEC"},
    ]
    cfg["users"][0]["tier"] = "unlimited"
    return cfg


async def clients(sim: Any, http: aiohttp.ClientSession, *names: str, funding: str = "1000") -> list[Any]:
    out = []
    for name in names:
        cred = sim.admin.add_user(name, tier="unlimited", funding={0: funding})
        client = KalshiTestClient(http, sim.rest_url, cred.api_key_id, cred.private_key_pem)
        client.pem = cred.private_key_pem  # type: ignore[attr-defined]  # for a WebSocket of the user
        out.append(client)
    return out


async def balance(client: KalshiTestClient, subaccount: int | None = None) -> Decimal:
    params = {"subaccount": subaccount} if subaccount is not None else None
    body = await client.get("/portfolio/balance", params=params)
    return Decimal(body["balance_dollars"])


async def floor_http(http: aiohttp.ClientSession, sim: Any, floor: str) -> tuple[int, Any]:
    async with http.post(f"{sim.base_url}/admin/markets/{SHUT}/settlement_floor", json={"floor": floor}) as r:
        return r.status, await r.json()


def test_floor_configuration_is_checked() -> None:
    cfg = config()
    cfg["markets"][-2]["settlement_bounds_type"] = "ceiling"
    with pytest.raises(ValueError, match="settlement_bounds_type must be 'default' or 'floor'"):
        Exchange(cfg)
    cfg = config()
    cfg["events"][-1]["collateral_return_type"] = "MECNET"  # such events are always 'default'
    with pytest.raises(ValueError, match="MECNET"):
        Exchange(cfg)
    cfg["markets"][-2].pop("settlement_bounds_type")
    assert Exchange(cfg).markets[SHUT].settlement_bounds_type == "default"


def test_worked_example_of_the_docs(arun1: Any) -> None:
    async def main() -> None:
        async with (
            run_sim(config(), seed=5, admin=True) as sim,
            aiohttp.ClientSession(headers=sim.admin_headers) as http,
        ):
            a, b, c = await clients(sim, http, "A", "B", "C")
            market = (await a.get(f"/markets/{SHUT}"))["market"]
            assert market["settlement_bounds_type"] == "floor"
            assert market["settlement_floor_dollars"] == "0.0000"
            plain = (await a.get(f"/markets/{OTHER}"))["market"]
            assert plain["settlement_bounds_type"] == "default" and "settlement_floor_dollars" not in plain
            # 1. A buys 100 YES at $0.40, B the other side (100 NO at $0.60)
            st, _ = await b.order(SHUT, "ask", "100", "0.40")
            assert st == 201
            st, _ = await a.order(SHUT, "bid", "100", "0.40")
            assert st == 201
            assert await balance(a) == Decimal("960") and await balance(b) == Decimal("940")
            # 2. the floor goes to $0.30: A is paid $30 at once, B nothing
            st, body = await floor_http(http, sim, "0.30")
            assert st == 200, body
            assert (await a.get(f"/markets/{SHUT}"))["market"]["settlement_floor_dollars"] == "0.3000"
            assert await balance(a) == Decimal("990") and await balance(b) == Decimal("940")
            # 3. A sells 50 YES at $0.45 to C: A gets $0.45 - $0.30 per contract, C pays the same
            st, _ = await a.order(SHUT, "ask", "50", "0.45")
            assert st == 201
            st, _ = await c.order(SHUT, "bid", "50", "0.45")
            assert st == 201
            assert await balance(a) == Decimal("997.50") and await balance(c) == Decimal("992.50")
            # 4.-6. settles at $0.50: YES gets $0.50 - $0.30, NO gets $1 - $0.50
            sim.admin.settle_market(SHUT, "scalar", "0.50")
            assert await balance(a) == Decimal("1007.50")  # paid 40, got back 30 + 7.50 + 10
            assert await balance(c) == Decimal("1002.50")  # paid 7.50, got back 10
            assert await balance(b) == Decimal("990")  # paid 60, got back 50
            settled = (await a.get(f"/markets/{SHUT}"))["market"]
            assert settled["result"] == "scalar" and settled["settlement_value_dollars"] == "0.5000"
            sim.exchange.check_invariants()

    arun1(main())


def test_orders_above_the_floor_and_raise_cancels(arun1: Any) -> None:
    async def main() -> None:
        async with (
            run_sim(config(), seed=6, admin=True) as sim,
            aiohttp.ClientSession(headers=sim.admin_headers) as http,
        ):
            (a,) = await clients(sim, http, "A")
            sub = await Subscriber(http, sim.ws_url, a.key_id, a.pem).connect()
            await sub.reply(await sub.subscribe(["orderbook_delta"], [SHUT]), "subscribed")
            await sub.reply(await sub.subscribe(["user_orders"]), "subscribed")
            await wait_for(lambda: sub.of("orderbook_snapshot"))
            assert (await floor_http(http, sim, "0.20"))[0] == 200
            # at or below the floor: a YES price of $0.20, a NO price of $0.80 (= $1 - floor)
            for side, price in (("bid", "0.20"), ("ask", "0.20"), ("bid", "0.10")):
                st, err = await a.order(SHUT, side, "1", price)
                assert st == 400 and err["error"]["code"] == "invalid_order", (side, price, err)
                assert "settlement floor" in err["error"]["details"]
            ids = {}
            for side, price in (("bid", "0.32"), ("ask", "0.38"), ("ask", "0.55"), ("bid", "0.21")):
                st, body = await a.order(SHUT, side, "2", price)
                assert st == 201, body
                ids[(side, price)] = body["order_id"]
            # raise to $0.38: the bids at 0.32 and 0.21 and the ask at YES 0.38 (NO 0.62) go
            assert (await floor_http(http, sim, "0.38"))[0] == 200
            gone = {ids[("bid", "0.32")], ids[("ask", "0.38")], ids[("bid", "0.21")]}
            for oid in gone:
                order = (await a.get(f"/portfolio/orders/{oid}"))["order"]
                assert order["status"] == "canceled" and order["remaining_count_fp"] == "0.00"
            kept = (await a.get(f"/portfolio/orders/{ids[('ask', '0.55')]}"))["order"]
            assert kept["status"] == "resting"
            await wait_for(
                lambda: (
                    {m["msg"]["order_id"] for m in sub.of("user_order") if m["msg"]["status"] == "canceled"}
                    >= gone
                )
            )
            # the stream's book is the REST book: only the ask at 0.55 (a NO bid at 0.45) rests
            cid = next(c["conn_id"] for c in sim.admin.streams.state()["connections"])
            target = sim.admin.streams.seqs()[cid][1]
            await wait_for(lambda: sub.last_seq.get(1) == target)
            rest = (await a.get(f"/markets/{SHUT}/orderbook", params={"depth": 0}))["orderbook_fp"]
            assert rest == {"yes_dollars": [], "no_dollars": [["0.4500", "2.00"]]}
            assert sub.book_as_rest(1, SHUT) == {"yes": {}, "no": {Decimal("0.4500"): Decimal("2.00")}}
            # a bad floor is refused with the reason; a default market has none
            for bad in ("1.00", "-0.01", "abc"):
                st, body = await floor_http(http, sim, bad)
                assert st == 400 and body["error"]["details"], (bad, body)
            async with http.post(
                f"{sim.base_url}/admin/markets/{OTHER}/settlement_floor", json={"floor": "0.10"}
            ) as r:
                assert r.status == 400 and "default" in (await r.json())["error"]["details"]
            await sub.close()
            sim.exchange.check_invariants()

    arun1(main())


def test_lowering_takes_back_and_cancels_what_cannot_be_paid(arun1: Any) -> None:
    async def main() -> None:
        slack = Decimal("0.0002")  # what an order reserves beyond its cost (the sim's fee bound)
        async with (
            run_sim(config(), seed=8, admin=True) as sim,
            aiohttp.ClientSession(headers=sim.admin_headers) as http,
        ):
            (maker,) = await clients(sim, http, "maker")
            (a,) = await clients(sim, http, "A", funding="40.0002")
            # A spends $40 on 100 YES at $0.40
            assert (await maker.order(SHUT, "ask", "100", "0.40"))[0] == 201
            assert (await a.order(SHUT, "bid", "100", "0.40"))[0] == 201
            assert await balance(a) == slack
            assert (await floor_http(http, sim, "0.30"))[0] == 200
            assert await balance(a) == 30 + slack
            # a resting bid for 50 at $0.50 reserves ($0.50 - $0.30) * 50 = $10 (+ slack)
            st, resting = await a.order(SHUT, "bid", "50", "0.50")
            assert st == 201
            assert await balance(a) == 20
            # lowering to $0.10 takes $0.20 * 100 back and the bid would need $20: it is canceled
            st, body = await floor_http(http, sim, "0.10")
            assert st == 200 and body["cancelled_order_ids"] == [resting["order_id"]]
            order = (await a.get(f"/portfolio/orders/{resting['order_id']}"))["order"]
            assert order["status"] == "canceled"
            assert await balance(a) == 10 + slack
            # $6 moved to a subaccount: lowering to 0 takes $10 from the primary, which goes
            # negative and is covered by the subaccount
            st, _ = await a.request("POST", "/portfolio/subaccounts", json={})
            assert st == 201
            transfer = {
                "client_transfer_id": "t-1",
                "from_subaccount": 0,
                "to_subaccount": 1,
                "amount_cents": 600,
            }
            st, body = await a.request("POST", "/portfolio/subaccounts/transfer", json=transfer)
            assert st == 200, body
            assert await balance(a) == 4 + slack and await balance(a, 1) == 6
            assert (await floor_http(http, sim, "0.00"))[0] == 200
            assert await balance(a) == 0 and await balance(a, 1) == slack
            sim.exchange.check_invariants()
            # with too little left to cover it, a negative balance stays on the primary and
            # blocks every order
            assert (await floor_http(http, sim, "0.25"))[0] == 200  # A gets $25
            assert (await maker.order(OTHER, "ask", "50", "0.50"))[0] == 201
            assert (await a.order(OTHER, "bid", "49", "0.50"))[0] == 201  # spends $24.50
            assert await balance(a) == Decimal("0.50")
            assert (await floor_http(http, sim, "0.05"))[0] == 200  # takes $20 back
            assert await balance(a) == Decimal("-19.50") + slack and await balance(a, 1) == 0
            st, err = await a.order(OTHER, "ask", "1", "0.60")  # even one that closes a position
            assert st == 400 and err["error"]["code"] == "insufficient_balance"
            sim.exchange.check_invariants()

    arun1(main())
