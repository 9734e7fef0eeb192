"""Stream faults of the sim: each does what it says, and a docs-written client keeps (or regains) the
REST book through the ones that keep continuity."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from conftest import wait_for
from test_sim_ws import ALL, T50, T60, assert_books_match, caught_up, config, conn_id, session, subscriber


async def _flowing(sim: Any, http: Any, rate: int = 400, **kw: Any) -> Any:
    sub = await subscriber(sim, http, **kw)
    await sub.reply(await sub.subscribe(["orderbook_delta"], [T50, T60]), "subscribed")
    await sub.wait(lambda: len(sub.of("orderbook_delta")) > 20)
    return sub


async def _settle(sim: Any, rest: Any, sub: Any) -> None:
    sim.admin.streams.pause_flow()
    await caught_up(sim, sub, [1])
    await assert_books_match(rest, sub, 1, [T50, T60])


def test_seq_gap_repeat_and_reorder_then_resync(arun1: Any) -> None:
    async def main() -> None:
        async with session(config(rate=400, markets=[T50, T60])) as (sim, http, rest):
            sub = await _flowing(sim, http)
            cid = conn_id(sim, sub)
            # skip: exactly one gap, at the seq the sim skipped; the client resyncs by get_snapshot
            sim.admin.streams.skip_seq(cid, sid=1)
            await sub.wait(lambda: sub.gaps)
            (sid, expected, got) = sub.gaps[0]
            assert sid == 1 and got == expected + 1
            skipped = [e for e in sim.admin.fault_log if e["kind"] == "ws_seq_skipped"]
            assert skipped[0]["skipped"] == expected
            await sub.wait(lambda: not sub.stale and any(m.get("id") for m in sub.of("orderbook_snapshot")))
            n = len(sub.of("orderbook_delta"))
            await sub.wait(lambda: len(sub.of("orderbook_delta")) > n + 20)
            await _settle(sim, rest, sub)
            assert len(sub.gaps) == 1
            sim.admin.streams.resume_flow()
            # repeat: the same seq twice on the wire; dropping the copy keeps the book right
            sim.admin.streams.repeat_seq(cid, sid=1)
            await sub.wait(lambda: sub.duplicates)
            assert len(sub.gaps) == 1
            n = len(sub.of("orderbook_delta"))
            await sub.wait(lambda: len(sub.of("orderbook_delta")) > n + 20)
            await _settle(sim, rest, sub)
            sim.admin.streams.resume_flow()
            # reorder: two messages swap on the wire (seen as a gap then a late one), resync heals
            gaps_before = len(sub.gaps)
            sim.admin.streams.reorder(cid)
            await sub.wait(lambda: len(sub.gaps) > gaps_before)
            sid, expected, got = sub.gaps[gaps_before]
            assert got == expected + 1
            await sub.wait(lambda: (1, expected) in sub.duplicates)  # the late one, dropped
            n = len(sub.of("orderbook_delta"))
            await sub.wait(lambda: len(sub.of("orderbook_delta")) > n + 20)
            await _settle(sim, rest, sub)
            await sub.close()

    arun1(main())


def test_stall_delay_pings_and_odd_frames_keep_continuity(arun1: Any) -> None:
    async def main() -> None:
        async with session(config(rate=300, markets=[T50, T60])) as (sim, http, rest):
            sub = await _flowing(sim, http)
            cid = conn_id(sim, sub)
            assert sub.ws is not None

            # stall: the sim sends nothing for a while, yet our ping is answered
            def sent() -> int:
                c = next(c for c in sim.admin.streams.state()["connections"] if c["conn_id"] == cid)
                return int(c["sent_messages"])

            sim.admin.streams.stall(600, cid)
            t0 = time.monotonic()
            before = sent()
            await sub.ws.ping(b"during-stall")
            await sub.wait(lambda: b"during-stall" in sub.pongs)
            assert sent() == before
            await sub.wait(lambda: sent() > before + 5)
            assert time.monotonic() - t0 >= 0.5
            # delay: still gapless, just late
            sim.admin.streams.delay(300, cid)
            t0 = time.monotonic()
            reply = await sub.send("list_subscriptions")
            await sub.reply(reply, "ok")
            assert time.monotonic() - t0 >= 0.3  # the reply left 300 ms after it was made
            sim.admin.streams.delay(0, cid)
            # odd frames: not JSON, truncated JSON, an unknown type; counted, nothing lost
            sim.admin.streams.malformed(cid)
            sim.admin.streams.malformed(cid, truncated=True)
            sim.admin.streams.unknown_type(cid)
            await sub.wait(lambda: len(sub.raw_bad) == 2 and len(sub.unknown) == 1)
            # pings stop and start again
            sim.admin.streams.stop_pings(cid)
            pings = len(sub.pings)
            n = len(sub.messages)
            await sub.wait(lambda: len(sub.messages) > n + 60)  # well over a heartbeat at 300/s
            assert len(sub.pings) <= pings + 1
            sim.admin.streams.resume_pings(cid)
            await sub.wait(lambda: len(sub.pings) >= pings + 2)
            await _settle(sim, rest, sub)
            assert sub.gaps == [] and sub.duplicates == []
            kinds = {e["kind"] for e in sim.admin.fault_log}
            assert {"ws_stall", "ws_delay", "ws_malformed", "ws_truncated", "ws_unknown_type"} <= kinds
            assert all("ts_ms" in e for e in sim.admin.fault_log)
            await sub.close()

    arun1(main())


def test_terminal_channel_errors(arun1: Any) -> None:
    async def main() -> None:
        async with session(config(rate=300, markets=[T50, T60])) as (sim, http, rest):
            sub = await _flowing(sim, http)
            await sub.reply(await sub.subscribe(["trade"]), "subscribed")
            cid = conn_id(sim, sub)
            for sid, code in ((1, 10), (2, 25)):
                sim.admin.streams.channel_error(sid, code, cid)
                err = await sub.wait(lambda s=sid: [m for m in sub.of("error") if m.get("sid") == s])
                assert err[0]["msg"]["code"] == code
            n = len(sub.messages)
            await wait_for(
                lambda: sim.exchange.markets[T50].trades and len(sim.admin.streams.seqs()[cid]) == 0
            )
            idx = next(
                i for i, m in enumerate(sub.messages) if m.get("type") == "error" and m.get("sid") == 2
            )
            later = [m for m in sub.messages[idx + 1 :] if m.get("sid") in (1, 2)]
            assert later == [], later
            cmd = await sub.send("list_subscriptions")
            assert (await sub.reply(cmd, "ok"))["msg"] == []
            assert len(sub.messages) >= n
            await sub.close()

    arun1(main())


def test_slow_reader_gets_error_25(arun1: Any) -> None:
    async def main() -> None:
        cfg = config(rate=1000, markets=ALL)
        cfg["streams"].update({"send_queue": 50, "socket_sndbuf": 4096})
        async with session(cfg) as (sim, http, rest):
            # a reader that stops reading: aiohttp stops reading the socket once its queue is full
            ws = await http.ws_connect(
                sim.ws_url,
                headers=__import__("kalshi_ws").ws_headers(sim.api_key_id, sim.private_key_pem),
                max_msg_size=0,
            )
            await ws.send_json(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {"channels": ["orderbook_delta"], "market_tickers": ALL},
                }
            )
            await wait_for(
                lambda: any(e["kind"] == "ws_buffer_overflow" for e in sim.admin.fault_log), timeout_s=30
            )
            sim.admin.streams.pause_flow()
            # now read everything: the stream of sid 1 ends with error 25
            last = None
            while True:
                msg = await ws.receive(timeout=10)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = msg.json()
                if data.get("type") == "error":
                    last = data
                    break
            assert last["sid"] == 1 and last["msg"]["code"] == 25
            await ws.close()

    arun1(main())


def test_drop_and_close_with_code(arun1: Any) -> None:
    async def main() -> None:
        async with session(config(rate=200, markets=[T50])) as (sim, http, rest):
            a = await subscriber(sim, http)
            b = await subscriber(sim, http)
            await a.reply(await a.subscribe(["trade"]), "subscribed")
            await b.reply(await b.subscribe(["trade"]), "subscribed")
            sim.admin.streams.drop(conn_id(sim, a))
            await a.wait(lambda: a.closed is not None)
            assert a.closed is not None and a.closed[0] != 1001
            sim.admin.streams.close(conn_id(sim, b), code=1001, reason="maintenance")
            await b.wait(lambda: b.closed is not None)
            assert b.closed is not None and b.closed[0] == 1001
            await wait_for(lambda: not sim.admin.streams.state()["connections"])
            kinds = [e["kind"] for e in sim.admin.fault_log]
            assert "ws_drop" in kinds and "ws_close" in kinds

    arun1(main())
