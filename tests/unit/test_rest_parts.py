"""The REST client's parts alone: settings, transport, outcome resolver, signer, reads, order groups.

Each runs against a small aiohttp server on 127.0.0.1 that answers as the test needs, or against
the embedded sim (reads and order groups).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import centbook
from centbook.auth import Credentials, signing_message
from centbook.protocol.errors import KalshiError, OutcomeUnknownError, RejectedError
from centbook.protocol.models import ProtocolError, UserDataTimestamp
from centbook.rest.budget import RateBudget
from centbook.rest.groups import OrderGroups
from centbook.rest.outcome import Resolver, WriteOutcome
from centbook.rest.reads import Reads
from centbook.rest.settings import RestSettings
from centbook.rest.signer import Signer
from centbook.rest.transport import Transport, backoff, encode_json, lane_target, query
from centbook.sim import run_sim

URL = "http://127.0.0.1:9/trade-api/v2"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption())
KEY_ID = "00000000-0000-0000-0000-000000000000"


# -- settings ---------------------------------------------------------------------------------------
def test_keyword_options_fill_the_settings_and_keep_their_attributes() -> None:
    client = centbook.RestClient(URL, auto_limits=False, timeout_s=2.5, read_retries=1,
                                 resolve_margin_s=0.3, presign_order_paths=["cancel", "amend"])
    assert client.settings == RestSettings(auto_limits=False, timeout_s=2.5, read_retries=1,
                                           resolve_margin_s=0.3, presign_order_paths=("cancel", "amend"))
    assert client.read_retries == 1 and client.transport.read_retries == 1
    assert client.resolve_margin_s == 0.3 and client.resolver.resolve_margin_s == 0.3
    assert client.presign_order_paths == ("cancel", "amend")
    assert client.timeout.total == 2.5


def test_keywords_lay_over_a_settings_object() -> None:
    base = RestSettings(auto_limits=False, rate_limit_retries=2)
    client = centbook.RestClient(URL, None, base, rate_limit_retries=5)
    assert client.rate_limit_retries == 5 and client.auto_limits is False
    assert base.rate_limit_retries == 2
    assert centbook.RestClient(URL, settings=base).settings is base


def test_unknown_options_are_refused() -> None:
    with pytest.raises(TypeError, match="nonsense"):
        centbook.RestClient(URL, nonsense=1)
    with pytest.raises(ValueError, match="presign_order_paths"):
        RestSettings(presign_order_paths=("cancel", "fill"))


# -- transport --------------------------------------------------------------------------------------
def test_wire_helpers() -> None:
    assert encode_json({"a": 1, "b": "x"}) == b'{"a":1,"b":"x"}'
    assert query({"a": None, "b": True, "c": 3}) == [("b", "true"), ("c", "3")]
    assert query({"t": ["A", "B"], "u": (None, 1)}) == [("t", "A"), ("t", "B"), ("u", "1")]
    assert lane_target("/p", []) == "/p" and lane_target("/p", [("x", "1 2")]) == "/p?x=1+2"
    assert lane_target("/p", [("t", "A"), ("t", "B")]) == "/p?t=A&t=B"
    for attempt in range(1, 8):
        assert 0.0 < backoff(attempt) <= 1.0


async def _serve(routes: list[web.RouteDef], body: Callable[[str], Awaitable[None]]) -> None:
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await body(f"http://127.0.0.1:{port}/trade-api/v2")
    finally:
        await runner.cleanup()


def _transport(url: str, session: aiohttp.ClientSession, stats: dict[str, int]) -> Transport:
    def sign(headers: dict[str, str], method: str, full_path: str) -> None:
        raise AssertionError("these requests are not signed")

    transport = Transport(url, "/trade-api/v2", None, RateBudget(), None, sign, lambda: None, stats,
                          read_retries=2, rate_limit_retries=3)
    transport.session = session
    return transport


def _stats() -> dict[str, int]:
    return dict.fromkeys(("requests", "rate_limited", "unknown", "resolved", "retried_reads"), 0)


def test_transport_pages_retries_and_classifies() -> None:
    hits: dict[str, int] = {"flaky": 0, "busy": 0}

    async def pages(request: web.Request) -> web.Response:
        cursor = request.query.get("cursor", "")
        nxt = {"": "c1", "c1": "c2", "c2": ""}[cursor]
        return web.json_response({"items": [cursor or "first"], "cursor": nxt})

    async def loop(request: web.Request) -> web.Response:
        return web.json_response({"items": [1], "cursor": "again"})

    async def flaky(request: web.Request) -> web.Response:
        hits["flaky"] += 1
        return web.json_response({"ok": True}) if hits["flaky"] == 2 else web.Response(status=503)

    async def busy(request: web.Request) -> web.Response:
        hits["busy"] += 1
        return web.json_response({}) if hits["busy"] == 3 else web.Response(status=429)

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    async def body(url: str) -> None:
        stats = _stats()
        async with aiohttp.ClientSession() as session:
            t = _transport(url, session, stats)
            assert [i async for i in t.pages("/pages", "items", {}, auth=False)] == ["first", "c1", "c2"]
            with pytest.raises(ProtocolError, match="repeats"):
                [i async for i in t.pages("/loop", "items", {}, auth=False)]
            assert await t.request("GET", "/flaky", auth=False) == {"ok": True}
            assert stats["retried_reads"] == 1
            assert await t.request("GET", "/busy", auth=False) == {}
            assert stats["rate_limited"] == 2
            with pytest.raises(OutcomeUnknownError) as info:
                await t.request("POST", "/broken", body={"x": 1}, auth=False, write=True,
                                unknown={"client_order_ids": ["c-1"], "ticker": "T"})
            assert info.value.cause == "HTTP 500" and t.unresolved == {"c-1": info.value}
            assert stats["unknown"] == 1
            with pytest.raises(KalshiError, match="HTTP 500|500"):
                await t.request("GET", "/broken", auth=False)

    asyncio.run(_serve([web.get("/trade-api/v2/pages", pages), web.get("/trade-api/v2/loop", loop),
                        web.get("/trade-api/v2/flaky", flaky), web.get("/trade-api/v2/busy", busy),
                        web.route("*", "/trade-api/v2/broken", broken)], body))


def test_transport_refuses_to_reach_nobody() -> None:
    async def body() -> None:
        async with aiohttp.ClientSession() as session:
            t = _transport("http://127.0.0.1:9/trade-api/v2", session, _stats())
            t.read_retries = 0
            with pytest.raises(KalshiError, match="cannot connect"):
                await t.request("GET", "/x", auth=False)
            t.session = None
            with pytest.raises(RuntimeError, match="not open"):
                await t.request("GET", "/x", auth=False)

    asyncio.run(body())


# -- outcome resolver -------------------------------------------------------------------------------
def test_resolver_rules() -> None:
    as_of = {"ns": 0}
    orders: dict[str, dict[str, Any]] = {}

    async def timestamp(request: web.Request) -> web.Response:
        ns = as_of["ns"]
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"
        return web.json_response({"as_of_time": text})

    async def order(request: web.Request) -> web.Response:
        found = orders.get(request.match_info["id"])
        return web.json_response({"order": found}) if found else web.json_response(
            {"error": {"code": "not_found", "message": "no"}}, status=404)

    async def body(url: str) -> None:
        stats = _stats()
        async with aiohttp.ClientSession() as session:
            t = _transport(url, session, stats)

            async def read_as_of() -> UserDataTimestamp:
                return UserDataTimestamp.from_json(await t.request("GET", "/exchange/user_data_timestamp",
                                                                   auth=False))

            async def read_order(order_id: str) -> Any:
                await t.request("GET", f"/portfolio/orders/{order_id}", auth=False)
                raise AssertionError("only unknown orders are asked for here")

            def read_orders(**params: Any) -> AsyncIterator[Any]:
                raise AssertionError("not used")

            r = Resolver(t, read_order, read_orders, read_as_of, resolve_margin_s=0.0, resolve_timeout_s=0.3)
            unknown = OutcomeUnknownError("DELETE", "/o/1", "HTTP 500", order_id="1",
                                          sent_unix_ms=int(time.time() * 1000))

            async def yes() -> tuple[bool, str]:
                return True, "state"

            async def no() -> tuple[bool, None]:
                return False, None

            assert await r.settle(unknown, yes) == (True, "state")  # an effect seen is final at once
            with pytest.raises(OutcomeUnknownError):  # no effect yet, but the data is older than the send
                await r.settle(unknown, no)
            as_of["ns"] = (unknown.sent_unix_ms + 1000) * 1_000_000
            assert await r.settle(unknown, no) == (False, None)  # the data is past the send: final
            assert stats["resolved"] == 2
            assert await r.probe_order("gone") is None  # 404: the exchange does not know it
            assert await r.cancel_probe("gone") == (True, None)

    asyncio.run(_serve([web.get("/trade-api/v2/exchange/user_data_timestamp", timestamp),
                        web.get("/trade-api/v2/portfolio/orders/{id}", order)], body))


def test_write_outcome_is_a_named_tuple() -> None:
    doc, took, state, unknown = outcome = WriteOutcome({"a": 1}, True, None, None)
    assert outcome.doc == doc and outcome.took_effect is took and outcome.unknown is unknown


# -- signer -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["inline", "thread", "process"])
def test_signer_modes_make_signatures_that_verify(mode: str) -> None:
    signer = Signer(Credentials(KEY_ID, PEM), mode)
    jobs = [(1_700_000_000_000 + i, "POST", "/trade-api/v2/portfolio/events/orders") for i in range(12)]
    try:
        sigs = asyncio.run(signer.sign_batch(jobs))
        assert len(sigs) == len(jobs) and not signer.failed
    finally:
        signer.close()
    for (ts, method, path), sig in zip(jobs, sigs, strict=True):
        KEY.public_key().verify(base64.b64decode(sig), signing_message(ts, method, path),
                                padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                            salt_length=padding.PSS.DIGEST_LENGTH), hashes.SHA256())


def test_signer_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="inline, thread or process"):
        Signer(Credentials(KEY_ID, PEM), "gpu")


# -- reads and order groups, against the embedded sim -----------------------------------------------
T = "KXDEMO-26DEC31-T50"  # linear cent, shard 0
T_CENTI = "KXBTCD-26DEC3117-T100000"  # centi cent, shard 2


def _signed_transport(url: str, credentials: Credentials, session: aiohttp.ClientSession) -> Transport:
    def sign(headers: dict[str, str], method: str, full_path: str) -> None:
        headers.update(credentials.headers(method, full_path))

    transport = Transport(url, "/trade-api/v2", credentials, RateBudget(), None, sign, lambda: None,
                          _stats(), read_retries=2, rate_limit_retries=3)
    transport.session = session
    return transport


def test_reads_return_typed_models_and_fill_the_market_cache() -> None:
    async def body() -> None:
        async with run_sim(seed=31, tier="unlimited") as sim, aiohttp.ClientSession() as session:
            t = _signed_transport(sim.rest_url, Credentials(sim.api_key_id, sim.private_key_pem), session)
            markets: dict[str, Any] = {}
            reads = Reads(t.request, t.pages, markets, signed=True)
            assert (await reads.get_exchange_status()).trading_active
            assert (await reads.get_account_api_limits()).usage_tier == "unlimited"
            assert (await reads.get_account_endpoint_costs()).default_cost == 10
            assert (await reads.get_user_data_timestamp()).as_of_unix_ns > 0
            assert (await reads.get_balance()).balance_micro == 20_000 * 1_000_000
            listed = [m async for m in reads.get_markets(limit=2)]  # several pages
            assert {m.ticker for m in listed} == set(sim.exchange.markets) == set(markets)
            markets.clear()
            centi = await reads.get_market(T_CENTI)
            assert centi.exchange_index == 2 and markets == {T_CENTI: centi}
            book = await reads.get_market_orderbook(T, depth=3)
            assert book.ticker == T
            assert [o async for o in reads.get_orders(ticker=T)] == []
            assert [f async for f in reads.get_fills(limit=5)] == []
            assert [p async for p in reads.get_settlements()] == []
            assert [p async for p in reads.get_positions()] == []
            assert [p async for p in reads.get_event_positions()] == []
            with pytest.raises(RejectedError):
                await reads.get_order("no-such-order")

    asyncio.run(body())


def test_order_groups_create_read_write_and_delete() -> None:
    async def body() -> None:
        async with run_sim(seed=32, tier="unlimited") as sim, aiohttp.ClientSession() as session:
            t = _signed_transport(sim.rest_url, Credentials(sim.api_key_id, sim.private_key_pem), session)

            async def never(**params: Any) -> Any:
                raise AssertionError("no outcome is unknown here")

            resolver = Resolver(t, never, never, never, resolve_margin_s=0.0, resolve_timeout_s=1.0)
            groups = OrderGroups(t.request, resolver)
            gid = await groups.create_order_group(500)
            assert [g.order_group_id for g in await groups.get_order_groups()] == [gid]
            group = await groups.get_order_group(gid)
            assert group.contracts_limit == 500 and group.is_auto_cancel_enabled
            await groups.update_order_group_limit(gid, 300)
            assert (await groups.get_order_group(gid)).contracts_limit == 300
            await groups.trigger_order_group(gid)
            assert not (await groups.get_order_group(gid)).is_auto_cancel_enabled
            await groups.reset_order_group(gid)
            assert (await groups.get_order_group(gid)).is_auto_cancel_enabled
            await groups.delete_order_group(gid)
            assert await groups.get_order_groups() == []
            with pytest.raises(RejectedError) as err:
                await groups.delete_order_group(gid)
            assert err.value.status == 404

    asyncio.run(body())


def test_the_client_holds_the_parts_it_delegates_to() -> None:
    client = centbook.RestClient(URL, auto_limits=False)
    assert isinstance(client.reads, Reads) and isinstance(client.groups, OrderGroups)
    assert client.reads.markets is client._markets and client.reads.signed is False
    assert client.groups.resolver is client.resolver
