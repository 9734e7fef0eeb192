"""The sim as a server facing hostile input: each abuse gets a JSON error or a WebSocket error
message, memory per connection stays bounded, and the server keeps serving.

Cases (docs/hostile-input.md lists them with their answers): deeply nested JSON bodies and
commands, absurd integers, oversized bodies, malformed JSON, binary and non-JSON frames flooding
a connection that does not read, half-sent request heads, and the admin API's gate. Every client
here is a real socket on 127.0.0.1: aiohttp, or raw asyncio streams speaking HTTP/1.1 and
RFC 6455 by hand where a test must misbehave below what a client library allows.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from conftest import KalshiTestClient, wait_for
from hypothesis import given
from hypothesis import strategies as st

from centbook.sim import SimProcess, default_config, run_sim
from centbook.sim.safejson import MAX_DEPTH, MAX_INT_DIGITS

ORDERS = "/portfolio/events/orders"
TICKER = "KXDEMO-26DEC31-T50"


def _client(session: aiohttp.ClientSession, sim: Any) -> KalshiTestClient:
    return KalshiTestClient(session, sim.rest_url, sim.api_key_id, sim.private_key_pem)


def _config(**server: Any) -> dict[str, Any]:
    config = default_config()
    config["server"] = server
    return config


def _assert_body_error(status: int, body: Any, needle: str) -> None:
    assert status == 400, body
    assert body["error"]["code"] == "bad_request" and body["code"] == "bad_request", body
    assert needle in body["error"]["details"], body


def _with_client(run: Any, check: Any) -> None:
    """Run ``check(client)`` against a fresh sim (unlimited tier) under ``run``."""

    async def body() -> None:
        async with run_sim(seed=1, tier="unlimited") as sim, aiohttp.ClientSession() as s:
            await check(_client(s, sim))

    run(body())


# -- REST bodies -----------------------------------------------------------------------------------
def test_deeply_nested_body_is_400(arun: Any) -> None:
    async def check(c: KalshiTestClient) -> None:
        deep = b"[" * 100_000 + b"]" * 100_000
        st, err = await c.request("POST", ORDERS, data=deep)
        _assert_body_error(st, err, "nested 100000 levels deep")
        objects = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
        st, err = await c.request("POST", ORDERS, data=objects)
        _assert_body_error(st, err, f"at most {MAX_DEPTH}")
        # brackets inside strings do not nest; at the limit the body is parsed (and refused
        # for what it lacks, not for its shape)
        quoted = json.dumps({"ticker": "[" * 10_000}).encode()
        st, err = await c.request("POST", ORDERS, data=quoted)
        assert st == 400 and "nested" not in json.dumps(err), err
        at_limit = b'{"x":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
        st, err = await c.request("POST", ORDERS, data=at_limit)
        assert st == 400 and err["error"]["code"] == "missing_parameters", err
        assert (await c.get("/exchange/status", auth=False))["exchange_active"] is True

    _with_client(arun, check)


def test_absurd_integers_are_refused(arun1: Any) -> None:
    async def check(c: KalshiTestClient) -> None:
        huge = "9" * 4_400
        order = {"ticker": TICKER, "side": "bid", "count": "1.00", "price": "0.4000"}
        raw = json.dumps(order)[:-1] + f', "expiration_time": {huge}}}'
        st, err = await c.request("POST", ORDERS, data=raw.encode())
        _assert_body_error(st, err, f"an integer has 4400 digits; at most {MAX_INT_DIGITS}")
        # below Python's 4,300-digit limit, still refused before any arithmetic
        raw = json.dumps(order)[:-1] + f', "expiration_time": {huge[:4000]}}}'
        st, err = await c.request("POST", ORDERS, data=raw.encode())
        _assert_body_error(st, err, "4000 digits")
        st, err = await c.request("POST", ORDERS, data=b'{"ticker": NaN}')
        _assert_body_error(st, err, "NaN is not JSON")
        # the signature's timestamp header
        for stamp in (huge, "1" * 20, "\u00b2"):
            st, err = await c.request("GET", "/portfolio/balance", headers={"KALSHI-ACCESS-TIMESTAMP": stamp})
            assert st == 401 and err["error"]["code"] == "authentication_error", err
            assert "at most 19 digits" in err["error"]["details"], err
        # integer query fields
        for path in ("/portfolio/fills", "/portfolio/orders", "/markets/trades"):
            st, err = await c.request("GET", f"{path}?min_ts={huge}")
            assert st == 400 and "min_ts" in err["error"]["details"], (path, err)
        st, err = await c.request("GET", f"/markets?cursor={huge}", auth=False)
        assert st == 400 and "cursor" in err["error"]["details"], err

    _with_client(arun1, check)


def test_body_over_4mb_is_json_413(arun1: Any) -> None:
    async def check(c: KalshiTestClient) -> None:
        big = b'{"ticker": "' + b"x" * (4 * 1024 * 1024) + b'"}'
        st, err = await c.request("POST", ORDERS, data=big)
        assert st == 413, err
        assert err["error"]["code"] == "request_entity_too_large", err
        assert "4194304" in err["error"]["details"], err
        assert (await c.get("/exchange/status", auth=False))["exchange_active"] is True

    _with_client(arun1, check)


def test_malformed_json_gets_the_error_wrapper(arun1: Any) -> None:
    async def check(c: KalshiTestClient) -> None:
        for data, needle in (
            (b"{not json", "not valid JSON"),
            (b"\xff\xfe\x00garbage", "not valid JSON"),
            (b"", "empty"),
            (b"[1, 2]", "JSON object"),
        ):
            st, err = await c.request("POST", ORDERS, data=data)
            _assert_body_error(st, err, needle)

    _with_client(arun1, check)


# -- half-sent request heads -----------------------------------------------------------------------
def test_half_sent_headers_time_out(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=1, config=_config(header_timeout_s=0.3)) as sim:
            port = int(sim.base_url.rsplit(":", 1)[1])
            # a whole request is answered
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"GET /trade-api/v2/exchange/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            answer = await asyncio.wait_for(reader.read(), 10)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
            writer.close()
            # half a head: the server closes the connection without an answer
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /trade-api/v2/exchange/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            assert await asyncio.wait_for(_closed_without_answer(reader), 10)
            writer.close()
            # a head trickled a byte at a time is closed as well, long before it ends
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /trade-api/v2/exchange/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            eof = asyncio.ensure_future(_closed_without_answer(reader))
            sent = 0
            while not eof.done() and sent < 1000:
                with contextlib.suppress(ConnectionError):
                    writer.write(b"a")
                sent += 1
                await asyncio.wait([eof], timeout=0.02)
            assert eof.done() and eof.result() and sent < 1000, sent
            writer.close()

    arun1(body())


async def _closed_without_answer(reader: asyncio.StreamReader) -> bool:
    """Wait until the server ends the connection; True if it did so without a byte of answer."""
    try:
        return await reader.read() == b""
    except ConnectionResetError:  # closed with our unread bytes in its buffer
        return True


# -- WebSocket -------------------------------------------------------------------------------------
async def _ws(session: aiohttp.ClientSession, sim: Any) -> aiohttp.ClientWebSocketResponse:
    c = _client(session, sim)
    headers = c.headers("GET", "", sign_path="/trade-api/ws/v2")
    return await session.ws_connect(sim.ws_url, headers=headers)


async def _reply(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


def test_ws_deeply_nested_command_keeps_the_connection(arun: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=1) as sim, aiohttp.ClientSession() as s:
            ws = await _ws(s, sim)
            await ws.send_str(
                '{"id": 1, "cmd": "subscribe", "params": ' + "[" * 100_000 + "]" * 100_000 + "}"
            )
            err = await _reply(ws)
            assert err["type"] == "error" and err["msg"]["code"] == 1, err
            assert "nested" in err["msg"]["msg"], err
            await ws.send_str('{"id": 2, "cmd": "subscribe", "params": {"channels": ["ticker"]}}')
            ok = await _reply(ws)
            assert ok["type"] == "subscribed" and ok["id"] == 2, ok
            await ws.send_str('{"id": 3, "cmd": "list_subscriptions", "params": {"x": ' + "9" * 5000 + "}}")
            err = await _reply(ws)
            assert err["type"] == "error" and "5000 digits" in err["msg"]["msg"], err
            await ws.close()

    arun(body())


def test_ws_command_that_fails_inside_is_answered(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=1) as sim, aiohttp.ClientSession() as s:

            def broken(*args: Any) -> None:
                raise KeyError("a bug")

            sim.server.streams._list = broken  # a handler with a bug in it
            ws = await _ws(s, sim)
            await ws.send_str('{"id": 5, "cmd": "list_subscriptions"}')
            err = await _reply(ws)
            assert err == {
                "id": 5,
                "type": "error",
                "msg": {"code": 1, "msg": "Unable to process message: internal error"},
            }
            await ws.send_str('{"id": 6, "cmd": "subscribe", "params": {"channels": ["ticker"]}}')
            assert (await _reply(ws))["type"] == "subscribed"
            await ws.close()

    arun1(body())


def test_ws_binary_frames_count_against_the_command_rate(arun1: Any) -> None:
    async def body() -> None:
        config = default_config()
        config["streams"] = {"command_rate": 50}
        async with run_sim(seed=1, config=config) as sim, aiohttp.ClientSession() as s:
            ws = await _ws(s, sim)
            for _ in range(90):
                await ws.send_bytes(b"\x00")
            codes = [(await _reply(ws))["msg"]["code"] for _ in range(90)]
            assert codes.count(1) >= 50 and codes.count(27) >= 30, codes
            # text commands share the bucket: the next one is refused too, or answered once
            # tokens are back, never ignored
            await ws.send_str('{"id": 9, "cmd": "list_subscriptions"}')
            reply = await _reply(ws)
            assert reply["id"] in (0, 9) and (reply["type"] == "ok" or reply["msg"]["code"] == 27), reply
            # a flood (over twice the rate) ends the connection
            (conn,) = sim.server.streams.connections.values()
            for _ in range(500):
                if ws.closed:
                    break
                with contextlib.suppress(ConnectionError):
                    await ws.send_bytes(b"\x00")
            await wait_for(lambda: not sim.server.streams.connections)
            assert conn.aborted
            flood = [e for e in sim.admin.fault_log if e["kind"] == "ws_command_flood"]
            assert flood and flood[-1]["conn"] == conn.conn_id and flood[-1]["command_rate"] == 50, flood
            await ws.close()

    arun1(body())


def _ws_frame(payload: bytes, opcode: int) -> bytes:
    """A masked client frame (RFC 6455 5.2) of at most 125 bytes; the mask is zero."""
    return struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + b"\x00\x00\x00\x00" + payload


async def _raw_ws(sim: Any, rcvbuf: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open the WebSocket with a hand-written upgrade on a socket with a small receive buffer."""
    port = int(sim.base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    async with aiohttp.ClientSession() as s:
        signed = _client(s, sim).headers("GET", "", sign_path="/trade-api/ws/v2")
    key = base64.b64encode(os.urandom(16)).decode()
    head = (
        "GET /trade-api/ws/v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in signed.items())
        + "\r\n"
    )
    writer.write(head.encode())
    status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert status.startswith(b"HTTP/1.1 101"), status
    return reader, writer


def test_ws_error_replies_obey_the_send_queue_bound(arun1: Any) -> None:
    async def body() -> None:
        config = default_config()
        bound = 64
        config["streams"] = {"send_queue": bound, "socket_sndbuf": 4096, "command_rate": 10**9}
        async with run_sim(seed=1, config=config) as sim:
            hub = sim.server.streams
            reader, writer = await _raw_ws(sim, rcvbuf=4096)
            await wait_for(lambda: hub.connections)
            (conn,) = hub.connections.values()
            highest = 0
            # binary and non-JSON text frames, never reading a reply: each reply is queued until
            # the socket's buffers fill, then the queue meets its bound and the connection ends
            frames = (_ws_frame(b"\x00", 0x2) + _ws_frame(b"{", 0x1)) * 500
            for _ in range(200):
                if conn.closed:
                    break
                writer.write(frames)
                await writer.drain()
                highest = max(highest, len(conn.queue))
                await asyncio.sleep(0)
            assert conn.closed and conn.aborted, (len(conn.queue), conn.sent_messages)
            assert highest <= bound
            await wait_for(lambda: not hub.connections)
            log = [e for e in sim.admin.fault_log if e["kind"] == "ws_buffer_overflow"]
            assert log and log[-1]["sid"] is None and log[-1]["conn"] == conn.conn_id, log
            writer.close()

    arun1(body())


# -- the admin API ---------------------------------------------------------------------------------
def test_admin_api_is_off_unless_asked_for(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=1) as sim, aiohttp.ClientSession() as s:
            assert sim.admin_headers == {}
            for method, path in (
                ("GET", "/admin/state"),
                ("POST", "/admin/streams/faults"),
                ("GET", "/admin"),
            ):
                async with s.request(method, sim.base_url + path, json={"fault": "drop"}) as r:
                    assert r.status == 404 and r.content_type == "application/json"
                    err = await r.json()
                    assert "admin API is off" in err["error"]["details"], err

    arun1(body())


def test_admin_api_needs_its_token(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=1, admin=True) as sim, aiohttp.ClientSession() as s:
            token = sim.admin_headers["Authorization"].split(" ", 1)[1]
            assert len(token) >= 32
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
                async with s.get(sim.base_url + "/admin/state", headers=headers) as r:
                    assert r.status == 401, headers
                    assert (await r.json())["error"]["code"] == "authentication_error"
            async with s.get(sim.base_url + "/admin/state", headers=sim.admin_headers) as r:
                assert r.status == 200 and "users" in await r.json()
            async with s.get(sim.base_url + "/admin/streams", headers=sim.admin_headers) as r:
                assert r.status == 200

    arun1(body())


def test_admin_api_of_the_cli(arun1: Any) -> None:
    async def body(sim: SimProcess) -> None:
        async with aiohttp.ClientSession() as s:
            async with s.get(sim.base_url + "/admin/state") as r:
                assert r.status == 401
            async with s.get(sim.base_url + "/admin/state", headers=sim.admin_headers) as r:
                assert r.status == 200

    with SimProcess(seed=1, admin=True) as sim:
        arun1(body(sim))
    with SimProcess(seed=1) as sim:
        assert sim.admin_headers == {}
        arun1(_expect_status(sim.base_url + "/admin/state", 404))


async def _expect_status(url: str, status: int) -> None:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        assert r.status == status


# -- fuzzing the parsers ---------------------------------------------------------------------------
# A sim in a thread of its own serves every example of a module: hypothesis drives examples from
# the test's thread and each one runs as a coroutine on the sim's loop.
_JSON_SOUP = '[]{}":,0123456789-+eE.tfnaluNI \\\u00e9\u2028'


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12), _containers, max_leaves=20
)
_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(alphabet=_JSON_SOUP, max_size=300).map(str.encode),
    _json_values.map(lambda v: json.dumps(v).encode()),
    # truncated or spliced JSON objects shaped like orders
    st.tuples(
        st.fixed_dictionaries(
            {"ticker": st.sampled_from([TICKER, "", "X" * 300]), "side": st.sampled_from(["bid", "ask", 1])},
            optional={"count": _json_values, "price": _json_values, "expiration_time": _json_values},
        ),
        st.integers(0, 200),
    ).map(lambda t: json.dumps(t[0]).encode()[: t[1] or None]),
)
_WRITES = (
    ("POST", ORDERS),
    ("POST", ORDERS + "/batched"),
    ("DELETE", ORDERS + "/batched"),
    ("POST", ORDERS + "/NOPE/amend"),
    ("POST", ORDERS + "/NOPE/decrease"),
    ("POST", "/portfolio/order_groups/create"),
    ("POST", "/portfolio/subaccounts/transfer"),
)


class _LiveSim:
    """A sim and an HTTP session on an event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.examples = {"REST bodies": 0, "admin bodies": 0, "WebSocket frames": 0}
        self._thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self._serve(),), daemon=True
        )
        self._thread.start()
        assert self.ready.wait(30), "the fuzzing sim did not start"

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with run_sim(seed=1, tier="unlimited", admin=True) as sim, aiohttp.ClientSession() as session:
            self.sim, self.session, self.client = sim, session, _client(session, sim)
            self.client.validate = False  # random bodies: the shape of an error is checked here
            # one connection takes every frame: a frame that ended it would fail every later one
            self.ws = await _ws(session, sim)
            self.ready.set()
            await self._stop.wait()
            await self.ws.close()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.loop.close()


def _fuzzing_sim(what: str) -> Iterator[_LiveSim]:
    live = _LiveSim()
    yield live
    counts = ", ".join(f"{n} {kind}" for kind, n in live.examples.items() if n)
    print(f"\nfuzzed {what}: {counts}")
    live.close()


@pytest.fixture(scope="module")
def live_sim() -> Iterator[_LiveSim]:
    yield from _fuzzing_sim("the sim")


@pytest.fixture(scope="module")
def admin_sim() -> Iterator[_LiveSim]:
    """A sim of its own for the admin fuzz (its bodies change the clock, limits and faults)."""
    yield from _fuzzing_sim("the sim's admin API")


@given(body=_bodies, route=st.sampled_from(_WRITES))
def test_fuzz_http_bodies_never_500(live_sim: Any, body: bytes, route: tuple[str, str]) -> None:
    async def send() -> None:
        # KalshiTestClient.request asserts a JSON answer that is not 500
        status, answer = await live_sim.client.request(route[0], route[1], data=body)
        assert status < 500 and isinstance(answer, dict), (status, answer)
        if status >= 400:
            assert "error" in answer, answer

    live_sim.run(send())
    live_sim.examples["REST bodies"] += 1


_ADMIN = (
    "/admin/users",
    "/admin/tier",
    "/admin/faults",
    "/admin/exchange",
    "/admin/clock",
    f"/admin/markets/{TICKER}/halt",
    f"/admin/markets/{TICKER}/settlement_floor",
    "/admin/streams/faults",
    "/admin/streams/limits",
    "/admin/flow",
)


_ADMIN_FIELDS = (
    "name", "funding", "user", "tier", "method", "path", "action", "status", "delay_s", "times",
    "exchange_index", "trading_active", "exchange_active", "seconds", "floor", "result",
    "settlement_value", "fault", "conn", "sid", "ms", "code", "rate", "entry", "max_markets",
)  # fmt: skip
_admin_bodies = st.one_of(
    _bodies,
    st.dictionaries(st.sampled_from(_ADMIN_FIELDS), _json_values, max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
)


@given(body=_admin_bodies, path=st.sampled_from(_ADMIN))
def test_fuzz_admin_bodies_never_500(admin_sim: Any, body: bytes, path: str) -> None:
    async def send() -> None:
        sim = admin_sim.sim
        async with admin_sim.session.post(sim.base_url + path, data=body, headers=sim.admin_headers) as r:
            assert r.content_type == "application/json", (r.status, await r.text())
            answer = await r.json()
            assert r.status < 500, (r.status, answer)
            if r.status >= 400:
                assert "error" in answer, answer

    admin_sim.run(send())
    admin_sim.examples["admin bodies"] += 1


@given(frame=st.one_of(st.binary(max_size=300), st.text(alphabet=_JSON_SOUP, max_size=300), _json_values))
def test_fuzz_ws_frames_answered_and_connection_kept(live_sim: Any, frame: Any) -> None:
    sentinel = 1_000_000 + live_sim.examples["WebSocket frames"]

    async def send() -> None:
        ws = live_sim.ws
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))
        await ws.send_str(json.dumps({"id": sentinel, "cmd": "list_subscriptions"}))
        while True:  # every frame is answered in JSON, then the sentinel; never a close
            reply = await _reply(ws)
            if reply.get("id") == sentinel and reply["type"] == "ok":
                break

    live_sim.run(send())
    live_sim.examples["WebSocket frames"] += 1
