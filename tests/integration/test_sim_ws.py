"""The sim's WebSocket streams against a subscriber written from Kalshi's docs (kalshi_ws.py).

Real sockets on 127.0.0.1, the sim started by each test, short heartbeats and low flow rates.
Every message received is validated against the AsyncAPI payload schemas when the spec is present
(see ``kalshi_ws`` for the two relaxations). Waits are on conditions and admin-reported seqs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from conftest import KalshiTestClient, wait_for
from kalshi_ws import Subscriber, rest_book, spec_available, validate

from centbook.sim import SimHandle, default_config, run_sim

T50 = "KXDEMO-26DEC31-T50"  # linear cent
T60 = "KXDEMO-26DEC31-T60"  # deci-cent
T70 = "KXDEMO-26DEC31-T70"  # tapered deci-cent
BTC = "KXBTCD-26DEC3117-T100000"  # centi-cent
ALL = [T50, T60, T70, BTC, "KXBTCD-26DEC3117-T110000"]


def config(**flow: Any) -> dict[str, Any]:
    cfg = default_config()
    cfg["streams"] = {"heartbeat_s": 0.2}
    cfg["flow"] = {"enabled": bool(flow), "rate": 400, "seed": 7, "tick_s": 0.01, **flow}
    cfg["users"][0]["tier"] = "unlimited"
    return cfg


@contextlib.asynccontextmanager
async def session(
    cfg: dict[str, Any], admin: bool = False
) -> AsyncIterator[tuple[SimHandle, aiohttp.ClientSession, KalshiTestClient]]:
    async with (
        run_sim(cfg, seed=3, admin=admin) as sim,
        aiohttp.ClientSession(headers=sim.admin_headers) as http,
    ):
        yield sim, http, KalshiTestClient(http, sim.rest_url, sim.api_key_id, sim.private_key_pem)


async def subscriber(sim: SimHandle, http: aiohttp.ClientSession, **kw: Any) -> Subscriber:
    return await Subscriber(http, sim.ws_url, sim.api_key_id, sim.private_key_pem, **kw).connect()


def conn_id(sim: SimHandle, sub: Subscriber) -> int:
    for c in sim.admin.streams.state()["connections"]:
        if c["peer_port"] == sub.local_port:
            return int(c["conn_id"])
    raise AssertionError("connection not found")


async def caught_up(sim: SimHandle, sub: Subscriber, sids: list[int]) -> None:
    """Wait until the client applied the last seq the sim assigned on each sid."""
    cid = conn_id(sim, sub)
    target = sim.admin.streams.seqs()[cid]
    await sub.wait(lambda: all(sub.last_seq.get(s) == target[s] for s in sids) and not sub.stale)


async def assert_books_match(rest: KalshiTestClient, sub: Subscriber, sid: int, tickers: list[str]) -> int:
    levels = 0
    for t in tickers:
        body = await rest.get(f"/markets/{t}/orderbook", params={"depth": 0})
        want = rest_book(body["orderbook_fp"])
        got = sub.book_as_rest(sid, t)
        assert got == want, (t, got, want)
        levels += len(want["yes"]) + len(want["no"])
    return levels


def test_commands_replies_and_errors(arun: Any) -> None:
    async def main() -> None:
        async with session(config()) as (sim, http, rest):
            sub = await subscriber(sim, http)
            cid = await sub.subscribe(["orderbook_delta"], [T50])
            assert (await sub.reply(cid, "subscribed"))["msg"] == {"channel": "orderbook_delta", "sid": 1}
            snap = await sub.wait(lambda: sub.of("orderbook_snapshot"))
            assert snap[0]["seq"] == 1 and snap[0]["sid"] == 1
            # idempotent: same ticker = ok without new snapshot; a new ticker is added, one snapshot
            cid = await sub.subscribe(["orderbook_delta"], [T50, T60])
            ok = await sub.reply(cid, "ok")
            assert ok["sid"] == 1 and ok["seq"] == 2 and ok["msg"]["market_tickers"] == sorted([T50, T60])
            await sub.wait(lambda: len(sub.of("orderbook_snapshot")) == 2)
            assert sub.of("orderbook_snapshot")[1]["seq"] == 3
            # ticker channel by market id with an initial snapshot
            from centbook.sim.stream import market_id

            cid = await sub.send(
                "subscribe",
                {"channels": ["ticker"], "market_ids": [market_id(T70)], "send_initial_snapshot": True},
            )
            sid_t = (await sub.reply(cid, "subscribed"))["msg"]["sid"]
            tick = await sub.wait(lambda: [m for m in sub.of("ticker") if m["sid"] == sid_t])
            assert tick[0]["msg"]["market_ticker"] == T70 and "seq" not in tick[0]
            # update_subscription: add, delete, get_snapshot (carries id and the next seq)
            cid = await sub.send(
                "update_subscription", {"sids": [1], "market_tickers": [T70], "action": "add_markets"}
            )
            ok = await sub.reply(cid, "ok")
            assert ok["seq"] == 4 and T70 in ok["msg"]["market_tickers"]
            cid = await sub.send(
                "update_subscription", {"sid": 1, "market_ticker": T60, "action": "delete_markets"}
            )
            ok = await sub.reply(cid, "ok")
            assert ok["seq"] == 6 and ok["msg"]["market_tickers"] == sorted([T50, T70])
            cid = await sub.send(
                "update_subscription", {"sids": [1], "market_tickers": [T50], "action": "get_snapshot"}
            )
            snap = await sub.reply(cid, "orderbook_snapshot")
            assert snap["seq"] == 7 and snap["msg"]["market_ticker"] == T50
            cid = await sub.send("list_subscriptions")
            lst = await sub.reply(cid, "ok")
            assert lst["msg"] == [
                {"channel": "orderbook_delta", "sid": 1},
                {"channel": "ticker", "sid": sid_t},
            ]
            cid = await sub.send("unsubscribe", {"sids": [1, 99]})
            unsub = await sub.reply(cid, "unsubscribed")
            assert unsub == {"id": cid, "sid": 1, "seq": 8, "type": "unsubscribed"}
            assert (await sub.reply(cid, "error"))["msg"]["code"] == 7
            assert sub.gaps == [] and sub.duplicates == []

            # error codes, one command each
            async def code(cmd: str, params: Any = None, raw: str | None = None) -> int:
                if raw is not None:
                    assert sub.ws is not None
                    n = len(sub.of("error"))
                    await sub.ws.send_str(raw)
                    return (await sub.wait(lambda: sub.of("error")[n:]))[0]["msg"]["code"]  # type: ignore[no-any-return]
                c = await sub.send(cmd, params)
                return (await sub.reply(c, "error"))["msg"]["code"]  # type: ignore[no-any-return]

            assert await code("", raw="not json") == 1
            assert await code("subscribe") == 2
            assert await code("subscribe", {"channels": []}) == 3
            assert await code("unsubscribe", {}) == 4
            assert await code("dance", {}) == 5
            assert await code("subscribe", {"channels": ["multivariate"]}) == 8
            assert await code("subscribe", {"channels": ["orderbook_delta"]}) == 14
            assert await code("subscribe", {"channels": ["orderbook_delta"], "market_ticker": "NOPE-1"}) == 16
            assert await code("update_subscription", {"sids": [1, 2], "action": "add_markets"}) == 12
            assert await code("update_subscription", {"sid": sid_t, "market_tickers": [T50]}) == 15
            assert await code("update_subscription", {"sid": 42, "action": "add_markets"}) == 7
            assert (
                await code(
                    "update_subscription", {"sid": sid_t, "market_tickers": [T50], "action": "get_snapshot"}
                )
                == 13
            )
            assert await code("subscribe", {"channels": ["ticker"], "market_ids": ["x"]}) == 16
            sim.admin.streams.set_limits(max_markets=2)
            assert await code("subscribe", {"channels": ["orderbook_delta"], "market_tickers": ALL[:3]}) == 26
            sim.admin.streams.set_limits(command_rate=3)
            replies = []
            for _ in range(6):
                replies.append(await sub.send("list_subscriptions"))
            errs = await sub.wait(lambda: [m for m in sub.of("error") if m.get("id") in replies])
            assert errs[0]["msg"]["code"] == 27
            await sub.close()
            if spec_available():
                assert sub.validated > 20

    arun(main())


def test_book_matches_rest_after_random_flow(arun1: Any) -> None:
    """Both NO-price conventions, every grid type, own-order annotations, pause and compare."""

    async def main() -> None:
        async with session(config(rate=600)) as (sim, http, rest):
            a = await subscriber(sim, http, keep_raw=True)
            b = await subscriber(sim, http)
            await a.reply(await a.subscribe(["orderbook_delta"], ALL), "subscribed")
            cid = await b.subscribe(["orderbook_delta"], [BTC, T60], use_yes_price=True)
            await b.reply(cid, "subscribed")
            b.use_yes[1] = True
            await b.reply(await b.subscribe(["ticker"], [BTC]), "subscribed")
            # our own orders while the flow runs: annotated deltas on our connection only
            for i in range(3):
                status, _ = await rest.order(T50, "bid", "1.50", "0.0200", client_order_id=f"mine-{i}")
                assert status == 201
            await a.wait(
                lambda: sum(1 for m in a.of("orderbook_delta") if m["msg"].get("client_order_id")) >= 3
            )
            markets = [sim.exchange.markets[t] for t in ALL]
            await a.wait(lambda: sum(len(m.bids) + len(m.asks) for m in markets) > 100)
            seqs = sim.admin.streams.pause_flow()
            assert seqs
            await caught_up(sim, a, [1])
            await caught_up(sim, b, [1])
            levels = await assert_books_match(rest, a, 1, ALL)
            assert levels > 40, levels  # books look real
            await assert_books_match(rest, b, 1, [BTC, T60])
            assert a.gaps == [] and b.gaps == [] and a.duplicates == []
            # use_yes_price: NO levels are above every YES bid in YES terms on a non-crossed book
            no_yes_terms = b.books[(1, BTC)]["no"]
            if no_yes_terms and b.books[(1, BTC)]["yes"]:
                assert min(no_yes_terms) > max(b.books[(1, BTC)]["yes"])
            assert not any(m["msg"].get("client_order_id") for m in b.of("orderbook_delta"))
            # the last ticker message agrees with the REST market
            market = (await rest.get(f"/markets/{BTC}"))["market"]
            fields = ("yes_bid_dollars", "yes_ask_dollars", "yes_bid_size_fp", "yes_ask_size_fp", "volume_fp")

            def last_ticker_matches() -> bool:
                ticks = [m["msg"] for m in b.of("ticker") if m["msg"]["market_ticker"] == BTC]
                return bool(ticks) and all(ticks[-1][f] == market[f] for f in fields)

            await b.wait(last_ticker_matches)
            assert len([m for m in b.of("ticker") if m["msg"]["market_ticker"] == BTC]) > 5  # a live top
            # sub-cent prices really happen on the centi-cent market
            prices = {
                Decimal(m["msg"]["price_dollars"])
                for m in a.of("orderbook_delta")
                if m["msg"]["market_ticker"] == BTC
            }
            assert any((p * 100) % 1 for p in prices)
            # the exact bytes: compact JSON with Kalshi's key order, whether the sim built the
            # message from a dict (own orders, snapshots) or from its pre-built delta pieces
            assert a.raw
            for text in a.raw:
                m = json.loads(text)
                assert text == json.dumps(m, separators=(",", ":")), text
                if m["type"] == "orderbook_delta":
                    assert list(m) == ["type", "sid", "seq", "msg"], text
                    keys = ["market_ticker", "market_id", "price_dollars", "delta_fp", "side", "ts_ms"]
                    own = [k for k in ("client_order_id", "subaccount") if k in m["msg"]]
                    assert list(m["msg"]) == keys + own, text
            # seq: gapless 1..N per sid
            seqs_a = [m["seq"] for m in a.messages if m.get("sid") == 1 and "seq" in m]
            assert seqs_a == list(range(1, len(seqs_a) + 1))
            # resume, then pause again and compare once more
            sim.admin.streams.resume_flow()
            n = len(a.of("orderbook_delta"))
            await a.wait(lambda: len(a.of("orderbook_delta")) > n + 100)
            sim.admin.streams.pause_flow()
            await caught_up(sim, a, [1])
            await assert_books_match(rest, a, 1, ALL)
            # the engine's own invariants hold under flow, also after the flow forgot its history
            sim.exchange.check_invariants()
            assert sim.server.streams.flow.prune() > 0
            sim.exchange.check_invariants()
            await a.close()
            await b.close()

    arun1(main())


def test_compressed_connection_gets_the_same_stream(arun1: Any) -> None:
    """With permessage-deflate negotiated the sim sends through aiohttp's compressing writer
    (not its own batched frames): same seqs, same books."""

    async def main() -> None:
        async with session(config(rate=400)) as (sim, http, rest):
            plain = await subscriber(sim, http)
            packed = await Subscriber(http, sim.ws_url, sim.api_key_id, sim.private_key_pem).connect(
                compress=15
            )
            assert packed.ws is not None and packed.ws.compress == 15
            for sub in (plain, packed):
                await sub.reply(await sub.subscribe(["orderbook_delta"], ALL), "subscribed")
            await packed.wait(lambda: len(packed.of("orderbook_delta")) > 200)
            sim.admin.streams.pause_flow()
            await caught_up(sim, plain, [1])
            await caught_up(sim, packed, [1])
            assert plain.gaps == [] and packed.gaps == []
            await assert_books_match(rest, packed, 1, ALL)
            # the compressed connection subscribed second: its deltas are the tail of the other's
            got = [m["msg"] for m in packed.of("orderbook_delta")]
            assert got == [m["msg"] for m in plain.of("orderbook_delta")][-len(got) :]
            await plain.close()
            await packed.close()

    arun1(main())


def test_private_channels_and_trades(arun1: Any) -> None:
    async def main() -> None:
        async with session(config(rate=300, markets=[T50])) as (sim, http, rest):
            sub = await subscriber(sim, http)
            cid = await sub.subscribe(
                ["fill", "user_orders", "market_positions", "order_group_updates", "trade"], [T50]
            )
            await sub.wait(lambda: len([m for m in sub.messages if m.get("id") == cid]) == 5)
            await sub.wait(lambda: sub.of("trade"))  # flow trades
            group = await rest.post("/portfolio/order_groups/create", {"contracts_limit": 100}, expect=201)
            gid = group["order_group_id"]
            ga = await sub.wait(lambda: sub.of("order_group_updates"))
            assert ga[0]["msg"] == {
                "event_type": "created", "order_group_id": gid, "contracts_limit_fp": "100.00",
                "ts_ms": ga[0]["msg"]["ts_ms"],
            }  # fmt: skip
            # take liquidity from the flow: buy at the best ask
            await wait_for(lambda: len(sim.exchange.markets[T50].asks) >= 3)
            sim.admin.streams.pause_flow()
            book = (await rest.get(f"/markets/{T50}/orderbook"))["orderbook_fp"]
            assert book["no_dollars"], book
            best_ask = Decimal(1) - Decimal(book["no_dollars"][-1][0])
            # at most the best level's size (flow sizes are fractional): one fill at one price
            count = f'{min(Decimal(book["no_dollars"][-1][1]), Decimal("1.00")):.2f}'
            status, body = await rest.order(
                T50,
                "bid",
                count,
                f"{best_ask:.4f}",
                client_order_id="take-1",
                time_in_force="immediate_or_cancel",
            )
            assert status == 201, body
            fill = (await sub.wait(lambda: sub.of("fill")))[0]["msg"]
            assert fill["client_order_id"] == "take-1" and fill["is_taker"] and fill["book_side"] == "bid"
            assert fill["count_fp"] == count and fill["post_position_fp"] == count
            pos = (await sub.wait(lambda: sub.of("market_position")))[-1]["msg"]
            assert pos["position_fp"] == count and pos["market_ticker"] == T50
            orders = await sub.wait(
                lambda: [m for m in sub.of("user_order") if m["msg"]["client_order_id"] == "take-1"]
            )
            assert orders[-1]["msg"]["status"] in ("executed", "canceled")
            documented = set(
                "Decrease Amend MarginCancel SelfTradeCancel ExpiryCancel CloseCancel HaltCancel Trade "
                "PostOnlyCrossCancel ReduceOnlyCancel".split()
            )  # PROTOCOL.md 2.8
            reasons = {m["msg"].get("last_update_reason", "Trade") for m in sub.of("user_order")}
            assert reasons <= documented, reasons
            # only our own private events: the flow's fills never show up
            assert all(m["msg"]["client_order_id"] == "take-1" for m in sub.of("fill"))
            trades = await sub.wait(lambda: [m for m in sub.of("trade") if m["msg"]["count_fp"] == count])
            assert trades[-1]["msg"]["taker_book_side"] == "bid"
            await sub.close()

    arun1(main())


def test_lifecycle_schedule_and_price_structure_race(arun1: Any) -> None:
    async def main() -> None:
        schedule = [
            {"at_s": 0.3, "ticker": T50, "action": "price_structure", "price_level_structure": "deci_cent",
             "race_ticks": 3},
            {"at_s": 0.6, "ticker": T50, "action": "pause"},
            {"at_s": 0.8, "ticker": T50, "action": "resume"},
            {"at_s": 1.0, "ticker": T50, "action": "settle", "result": "yes"},
        ]  # fmt: skip
        async with session(config(enabled=False, rate=300, markets=[T50], schedule=schedule)) as (
            sim,
            http,
            rest,
        ):
            sub = await subscriber(sim, http)
            await sub.reply(await sub.subscribe(["orderbook_delta"], [T50]), "subscribed")
            await sub.reply(await sub.subscribe(["market_lifecycle_v2"]), "subscribed")
            sim.admin.streams.start_flow()  # the schedule counts from here
            await sub.wait(
                lambda: any(m["msg"]["event_type"] == "settled" for m in sub.of("market_lifecycle_v2"))
            )
            events = [m["msg"] for m in sub.of("market_lifecycle_v2")]
            kinds = [e["event_type"] for e in events]
            assert kinds[:3] == ["price_level_structure_updated", "deactivated", "activated"], kinds
            assert kinds[-2:] == ["determined", "settled"]
            plsu = events[0]
            assert plsu["price_level_structure"] == "deci_cent"
            assert plsu["price_ranges"] == [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}]
            assert events[1]["is_deactivated"] is True and events[2]["is_deactivated"] is False
            det = next(e for e in events if e["event_type"] == "determined")
            assert det["result"] == "yes" and det["settlement_value"] == "1.0000"
            # the race: a delta at a sub-cent price arrives before the structure event
            order = [m for m in sub.messages if m["type"] in ("orderbook_delta", "market_lifecycle_v2")]
            first_plsu = next(i for i, m in enumerate(order) if m["type"] == "market_lifecycle_v2")
            fine = [
                m for m in order[:first_plsu]
                if m["type"] == "orderbook_delta" and (Decimal(m["msg"]["price_dollars"]) * 100) % 1
            ]  # fmt: skip
            assert fine, "no delta at a finer price before price_level_structure_updated"
            market = (await rest.get(f"/markets/{T50}"))["market"]
            assert market["price_level_structure"] == "deci_cent" and market["result"] == "yes"
            # the book emptied (close cancels resting orders) and the client agrees with REST
            await caught_up(sim, sub, [1])
            await assert_books_match(rest, sub, 1, [T50])
            assert sub.books[(1, T50)] == {"yes": {}, "no": {}}
            await sub.close()

    arun1(main())


def test_heartbeat_and_client_ping(arun: Any) -> None:
    async def main() -> None:
        async with session(config()) as (sim, http, rest):
            sub = await Subscriber(http, sim.ws_url, sim.api_key_id, sim.private_key_pem).connect(
                autoping=False
            )
            await sub.wait(lambda: len(sub.pings) >= 2)
            assert set(sub.pings) == {b"heartbeat"}
            assert sub.ws is not None
            await sub.ws.ping(b"hello")
            await sub.wait(lambda: b"hello" in sub.pongs)
            await sub.close()

    arun(main())


def test_unauthenticated_upgrade_refused(arun1: Any) -> None:
    async def main() -> None:
        async with session(config()) as (sim, http, rest):
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await http.ws_connect(sim.ws_url)
            assert info.value.status == 401

    arun1(main())


def test_anonymous_connection_private_channel_needs_auth(arun1: Any) -> None:
    async def main() -> None:
        cfg = config()
        cfg["streams"]["allow_anonymous"] = True
        async with session(cfg) as (sim, http, rest):
            async with http.ws_connect(sim.ws_url) as ws:
                await ws.send_json({"id": 1, "cmd": "subscribe", "params": {"channels": ["fill"]}})
                reply = await ws.receive_json(timeout=5)
                if spec_available():
                    validate(reply)
                assert reply["msg"]["code"] == 9
                await ws.send_json({"id": 2, "cmd": "subscribe", "params": {"channels": ["trade"]}})
                assert (await ws.receive_json(timeout=5))["type"] == "subscribed"

    arun1(main())


def test_admin_http_flow_and_state(arun1: Any) -> None:
    async def main() -> None:
        async with session(config(rate=200), admin=True) as (sim, http, rest):
            sub = await subscriber(sim, http)
            await sub.reply(await sub.subscribe(["orderbook_delta"], [T60]), "subscribed")
            await sub.wait(lambda: len(sub.of("orderbook_delta")) > 10)
            async with http.post(sim.base_url + "/admin/flow", json={"action": "pause"}) as r:
                assert r.status == 200
                state = await r.json()
            assert state["paused"] is True
            conns = state["streams"]["connections"]
            me = next(c for c in conns if c["peer_port"] == sub.local_port)
            target = me["subscriptions"]["1"]["seq"]
            await sub.wait(lambda: sub.last_seq.get(1) == target)
            await assert_books_match(rest, sub, 1, [T60])
            async with http.post(
                sim.base_url + "/admin/streams/faults", json={"fault": "unknown_type", "conn": me["conn_id"]}
            ) as r:
                assert r.status == 200 and (await r.json())["connections"] == [me["conn_id"]]
            await sub.wait(lambda: sub.unknown)
            async with http.post(sim.base_url + "/admin/streams/faults", json={"fault": "nope"}) as r:
                assert r.status == 400
            async with http.post(sim.base_url + "/admin/streams/limits", json={"max_markets": 7}) as r:
                assert (await r.json())["max_markets"] == 7
            async with http.post(sim.base_url + "/admin/flow", json={"action": "rate", "rate": 50}) as r:
                assert (await r.json())["rate"] == 50
            entry = {"ticker": T60, "action": "pause"}
            async with http.post(
                sim.base_url + "/admin/flow", json={"action": "lifecycle", "entry": entry}
            ) as r:
                assert r.status == 200
            assert (await rest.get(f"/markets/{T60}"))["market"]["status"] == "inactive"
            async with http.get(sim.base_url + "/admin/faults/log") as r:
                kinds = [e["kind"] for e in (await r.json())["log"]]
            assert "flow_paused" in kinds and "ws_unknown_type" in kinds
            await sub.close()

    arun1(main())


def test_cli_flow_streams(tmp_path: Any) -> None:
    """``centbook sim --flow`` prints the WS URL and streams live books."""
    import asyncio

    from centbook.sim import SimProcess

    with SimProcess(seed=2, args=["--flow", "--flow-rate", "300", "--ws-anonymous"]) as proc:
        assert f"  WebSocket URL  {proc.ws_url} (unsigned connections accepted)" in proc.banner, proc.banner

        async def main() -> None:
            async with aiohttp.ClientSession() as http:
                sub = await Subscriber(http, proc.ws_url, proc.api_key_id, proc.private_key_pem).connect()
                await sub.subscribe(["orderbook_delta"], [T50])
                await sub.wait(lambda: len(sub.of("orderbook_delta")) >= 5)
                await sub.close()
                # any WebSocket client, unsigned, can watch the books
                async with http.ws_connect(proc.ws_url) as ws:
                    await ws.send_json(
                        {
                            "id": 1,
                            "cmd": "subscribe",
                            "params": {"channels": ["orderbook_delta"], "market_ticker": T60},
                        }
                    )
                    kinds = set()
                    while "orderbook_delta" not in kinds:
                        kinds.add((await ws.receive_json(timeout=10))["type"])
                    assert {"subscribed", "orderbook_snapshot"} <= kinds

        asyncio.run(main())


def test_scheduled_open_and_multivariate_lifecycle(arun1: Any) -> None:
    """A combo (KXMVE) market opens and closes on the flow's schedule; its lifecycle goes to the
    multivariate channel only."""

    async def main() -> None:
        cfg = config(enabled=False, rate=200, schedule=[
            {"at_s": 0.2, "ticker": "KXMVECROSS-26DEC31-A1", "action": "open"},
            {"at_s": 0.5, "ticker": "KXMVECROSS-26DEC31-A1", "action": "close"},
        ])  # fmt: skip
        cfg["series"].append(
            {"ticker": "KXMVECROSS", "title": "Combos", "category": "Sports", "frequency": "custom",
             "fee_type": "quadratic", "fee_multiplier": 0.07}
        )  # fmt: skip
        cfg["events"].append(
            {"event_ticker": "KXMVECROSS-26DEC31", "series_ticker": "KXMVECROSS", "title": "Combo",
             "sub_title": "combo", "exchange_index": 0, "mutually_exclusive": False}
        )  # fmt: skip
        mve = "KXMVECROSS-26DEC31-A1"
        cfg["markets"].append(
            {"ticker": mve, "event_ticker": "KXMVECROSS-26DEC31",
             "price_level_structure": "center_deci_edge_centi_cent", "open_offset_s": 3600}
        )  # fmt: skip
        async with session(cfg) as (sim, http, rest):
            sub = await subscriber(sim, http)
            await sub.reply(await sub.subscribe(["market_lifecycle_v2"]), "subscribed")
            await sub.reply(await sub.subscribe(["multivariate_market_lifecycle"]), "subscribed")
            await sub.reply(await sub.subscribe(["orderbook_delta"], [mve]), "subscribed")
            sim.admin.streams.start_flow()  # the schedule counts from here
            mv = await sub.wait(
                lambda: (
                    len(sub.of("multivariate_market_lifecycle")) >= 2
                    and sub.of("multivariate_market_lifecycle")
                )
            )
            assert [m["msg"]["event_type"] for m in mv] == ["activated", "deactivated"]
            assert all(m["msg"]["market_ticker"] == mve for m in mv)
            assert [m["seq"] for m in mv] == [1, 2]
            assert not [m for m in sub.of("market_lifecycle_v2") if m["msg"]["market_ticker"] == mve]
            # the flow quoted it while it was open (sub-cent combo grid), and the book agrees with REST
            assert sub.of("orderbook_delta")
            await caught_up(sim, sub, [3])
            await assert_books_match(rest, sub, 3, [mve])
            await sub.close()

    arun1(main())
