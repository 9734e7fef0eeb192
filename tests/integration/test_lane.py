"""The order lane (:mod:`centbook.rest.lane`): HTTP/1.1 framing against real servers on 127.0.0.1.

A small asyncio server answers each request with bytes the test chooses (Content-Length,
chunked, end-of-connection framing, interim 1xx, broken answers, silence), so every framing case
and every failure is met over a real socket; then the REST client's writes go through the lane
against the embedded exchange, and its failures keep their meaning (not sent / outcome unknown).
"""
from __future__ import annotations

import asyncio
import re
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

import centbook
from centbook.rest.budget import CREATE as CREATE_PRIORITY
from centbook.rest.budget import bucket_for
from centbook.rest.lane import LaneLostError, LaneNotSentError, OrderLane
from centbook.sim import run_sim

T = "KXDEMO-26DEC31-T50"
CREATE = r"^/portfolio/events/orders$"

Answer = Callable[[bytes], bytes | None]   # request bytes -> what to send back (None: close)
NEVER = b""                                 # in a script: read the request, never answer
CLOSE = object()                            # in a script: close the connection after the last answer


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


class RawServer:
    """Answers requests in order with scripted bytes; records what it received."""

    def __init__(self, answers: list[Any], ssl: Any = None) -> None:
        self.ssl = ssl
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.AbstractServer | None = None
        self.silent = asyncio.Event()  # set on exit: handlers that never answer stop

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.silent.set()
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if self.ssl else 'http'}://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                try:
                    request = await _read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.requests.append(request)
                answer = self.answers.pop(0)
                out = answer(request) if callable(answer) else answer
                if out is None:
                    return  # close without answering
                if isinstance(out, tuple):  # (bytes, CLOSE): answer, then close
                    writer.write(out[0])
                    await writer.drain()
                    return
                if out == NEVER:
                    await self.silent.wait()
                    return
                writer.write(out)
                await writer.drain()
        finally:
            writer.close()


async def until(condition: Callable[[], bool], budget_s: float = 20.0) -> None:
    """Wait for ``condition`` (a generous budget: the machine may be loaded)."""
    deadline = asyncio.get_running_loop().time() + budget_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def serving(handler: Any) -> AsyncIterator[str]:
    """A plain asyncio server on 127.0.0.1 running ``handler`` per connection; yields its URL."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


def gated(gate: asyncio.Event) -> Any:
    """A handler that answers each request with 200 once ``gate`` is set."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await _read_request(reader)
                await gate.wait()
                writer.write(_ok())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
    return handle


def _ok(body: bytes = b'{"ok": true}', extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{extra}\r\n").encode() + body


def test_framings_and_keep_alive(arun: Any) -> None:
    chunked = (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4;ext=1\r\n{\"a\"\r\n6\r\n: 1.5}\r\n0\r\nX-Trailer: t\r\n\r\n")
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + _ok(b"{}")
    answers: list[Any] = [_ok(), chunked, interim, b"HTTP/1.1 204 No Content\r\n\r\n",
                                            _ok(b'{"last": 1}', "Connection: close\r\n")]

    async def body() -> None:
        async with RawServer(answers) as srv:
            lane = OrderLane(srv.url, connections=1, timeout_s=5)
            await lane.open()
            try:
                r = await lane.request("POST", "/x?y=1", {"Content-Type": "application/json"}, b'{"q": 1}')
                assert (r.status, r.body) == (200, b'{"ok": true}')
                assert r.headers["content-type"] == "application/json"
                r = await lane.request("DELETE", "/x/1")
                assert (r.status, r.body, r.headers["x-trailer"] if "x-trailer" in r.headers else None) == (
                    201, b'{"a": 1.5}', None)
                r = await lane.request("PUT", "/x/2", body=b"")
                assert (r.status, r.body) == (200, b"{}")
                r = await lane.request("DELETE", "/x/3")
                assert (r.status, r.body) == (204, b"")
                r = await lane.request("POST", "/x/4", body=b"{}")
                assert (r.status, r.body) == (200, b'{"last": 1}')
                # one connection carried all five (keep-alive), the last one closed by the server
                assert srv.connections == 1 and lane.stats["connects"] == 1
            finally:
                await lane.close()
            first = srv.requests[0]
            assert first.startswith(b"POST /x?y=1 HTTP/1.1\r\n")
            assert b"\r\nHost: 127.0.0.1:" in first and b"\r\nContent-Length: 8\r\n" in first
            assert first.endswith(b'\r\n\r\n{"q": 1}')
            assert b"Content-Length" not in srv.requests[1]  # no body, no length

    arun(body())


def test_body_framed_by_the_end_of_the_connection(arun: Any) -> None:
    async def body() -> None:
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
        async with RawServer([(answer, CLOSE)]) as srv:
            lane = OrderLane(srv.url, connections=1, timeout_s=5)
            try:
                r = await lane.request("POST", "/x", body=b"{}")
                assert (r.status, r.body) == (200, b"until the end")
            finally:
                await lane.close()

    arun(body())


@pytest.mark.parametrize("answer, match", [  # each answered once, then the next request gets 200
    (None, "connection lost before the whole answer"),
    ((b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", CLOSE), "connection lost before the whole"),
    (b"SMTP ready\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n", "chunk not followed by CRLF"),
])
def test_broken_answers_are_lost_not_retried(arun1: Any, answer: Any, match: str) -> None:
    async def body() -> None:
        async with RawServer([answer, _ok()]) as srv:
            lane = OrderLane(srv.url, connections=1, timeout_s=5)
            try:
                with pytest.raises(LaneLostError, match=match):
                    await lane.request("POST", "/orders", body=b"{}")
                assert len(srv.requests) == 1  # written once, never re-sent
                # the broken connection is dropped; the next request gets a fresh one
                r = await lane.request("POST", "/orders", body=b"{}")
                assert r.status == 200 and lane.stats["connects"] >= 2
            finally:
                await lane.close()

    arun1(body())


def test_silence_times_out_and_data_after_the_answer_drops_the_connection(arun1: Any) -> None:
    async def body() -> None:
        async with RawServer([NEVER, _ok() + b"HTTP/1.1 200 OK\r\n", _ok()]) as srv:
            lane = OrderLane(srv.url, connections=1, timeout_s=0.3)
            try:
                with pytest.raises(TimeoutError, match="no answer within 0.3 s"):
                    await lane.request("POST", "/orders", body=b"{}")
                lane.timeout_s = 10  # the rest must not depend on a quiet machine
                r = await lane.request("POST", "/orders", body=b"{}")  # a new connection
                assert r.status == 200
                r = await lane.request("POST", "/orders", body=b"{}")  # the extra bytes closed the last
                assert r.status == 200 and srv.connections == 3
            finally:
                await lane.close()

    arun1(body())


def test_not_sent_when_nothing_listens_and_bad_input_is_refused(arun1: Any) -> None:
    async def body() -> None:
        async with RawServer([]) as srv:
            url = srv.url
        lane = OrderLane(url, connections=1, timeout_s=1)  # the port is closed now
        with pytest.raises(LaneNotSentError, match="cannot connect to 127.0.0.1"):
            await lane.open()
        with pytest.raises(LaneNotSentError, match="cannot connect"):
            await lane.request("POST", "/orders", body=b"{}")
        with pytest.raises(ValueError, match="line break"):
            await lane.request("POST", "/orders", {"X-Evil": "a\r\nHost: elsewhere"}, b"{}")
        with pytest.raises(ValueError, match="must start with '/'"):
            await lane.request("POST", "orders")
        await lane.close()
        with pytest.raises(LaneNotSentError, match="closed"):
            await lane.request("POST", "/orders", body=b"{}")
        with pytest.raises(ValueError, match="http"):
            OrderLane("ws://127.0.0.1:1")

    arun1(body())


def _self_signed(tmp_path: Any) -> tuple[Any, Any]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and a client context
    that trusts exactly that certificate."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = tmp_path / "cert.pem"
    key_pem = tmp_path / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_pem, key_pem)
    client = ssl.create_default_context(cafile=str(cert_pem))
    return server, client


def test_tls_verified_against_the_servers_certificate(arun: Any, tmp_path: Any) -> None:
    server_ctx, client_ctx = _self_signed(tmp_path)

    async def body() -> None:
        async with RawServer([_ok(b'{"tls": true}'), _ok()], ssl=server_ctx) as srv:
            assert srv.url.startswith("https://")
            lane = OrderLane(srv.url, connections=1, timeout_s=5, ssl_context=client_ctx)
            try:
                r = await lane.request("POST", "/orders", {"Content-Type": "application/json"}, b"{}")
                assert (r.status, r.body) == (200, b'{"tls": true}')
                assert srv.requests[0].startswith(b"POST /orders HTTP/1.1\r\n")
            finally:
                await lane.close()
            # the system's trust store does not know this certificate: refused, nothing sent
            strict = OrderLane(srv.url, connections=1, timeout_s=5)
            with pytest.raises(LaneNotSentError, match="CERTIFICATE_VERIFY_FAILED|certificate verify"):
                await strict.request("POST", "/orders", body=b"{}")
            await strict.close()
            assert len(srv.requests) == 1

    arun(body())


def test_idle_connections_are_retired_and_replaced(arun1: Any) -> None:
    async def body() -> None:
        async with RawServer([_ok(), _ok()]) as srv:
            lane = OrderLane(srv.url, connections=1, timeout_s=5, idle_s=0.15)
            await lane.open()
            try:
                # the warm connection outlives idle_s: it is closed and a fresh one opened
                await until(lambda: lane.stats["retired"] >= 1 and lane.idle >= 1)
                assert lane.stats["connects"] >= 2
                r = await lane.request("POST", "/orders", body=b"{}")
                assert r.status == 200 and len(srv.requests) == 1
            finally:
                await lane.close()

    arun1(body())


def book_at_5100(ticker: str = "KX-Q") -> Any:
    """A whole-cent book, YES bid 4500 x 3 and YES ask 5500 x 2: microprice 5100."""
    from centbook import OrderBook, PriceGrid

    book = OrderBook(ticker, PriceGrid.linear_cent())
    book.apply_snapshot_bp([(4500, 300)], [(10000 - 5500, 200)])
    return book


def armed_amend(book: Any, conn: Any, head: bytes, body: tuple[bytes, bytes, bytes], **fields: Any) -> Any:
    """An ArmedAmend for ``book``'s bid (market 0) on ``conn``, as the market maker arms one:
    tradable, young, tokens there; ``fields`` set the rest (or override these)."""
    from centbook.mm.quoter import ArmedAmend

    a = ArmedAmend()
    a.key, a.market, a.side, a.book, a.grid = (book.ticker, "bid"), 0, 0, book, book.grid
    a.threshold_bp, a.size_threshold, a.fresh_until_ns = 1, 100, 2**62
    a.tradable, a.shard_trading, a.ticker, a.shard = {book.ticker: True}, {}, book.ticker, None
    a.conn, a.transport, a.head = conn, conn.transport, head
    a.body_pre, a.body_mid, a.body_post = body
    a.try_acquire, a.bucket, a.cost = (lambda bucket, cost: True), "write", 10
    for name, value in fields.items():
        setattr(a, name, value)
    return a


def armed_on(rest: Any, write: Any, book: Any, **fields: Any) -> tuple[Any, Any, list[Any]]:
    """What the market maker does with a RestClient's ArmedWrite: an ArmedAmend on its connection
    and bytes, armed on a Quoter that hands what fires to ``rest.armed_sent`` (into the list)."""
    from centbook.mm.quoter import Quoter

    a = armed_amend(book, write.conn, write.head, (write.body_pre, write.body_mid, write.body_post),
                    write=write, try_acquire=rest.budget.try_acquire, bucket=write.bucket, cost=write.cost,
                    fresh_until_ns=write.fresh_until_ns, **fields)
    started: list[Any] = []
    q = Quoter(lambda fired: started.extend(rest.armed_sent(f.write, f.sent_ms, f.written_ns) for f in fired))
    q.arm(a)
    return a, q, started


def test_concurrent_requests_open_connections_up_to_the_limit(arun1: Any) -> None:
    async def body() -> None:
        gate = asyncio.Event()
        async with serving(gated(gate)) as url:
            lane = OrderLane(url, connections=1, max_connections=2, timeout_s=5)
            try:
                tasks = [asyncio.ensure_future(lane.request("POST", f"/o/{i}", body=b"{}")) for i in range(4)]
                await until(lambda: lane.stats["waited"] >= 2)  # two in flight, two waiting
                assert lane.stats["requests"] == 2
                gate.set()
                assert [r.status for r in await asyncio.gather(*tasks)] == [200] * 4
                assert lane.stats["connects"] == 2 and lane.stats["requests"] == 4
            finally:
                await lane.close()

    arun1(body())


def test_rest_writes_on_the_lane_against_the_sim(arun: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=5, tier="unlimited") as sim:
            creds = centbook.Credentials(sim.api_key_id, sim.private_key_pem)
            written: list[str] = []
            async with centbook.RestClient(sim.rest_url, creds, order_lane=True, presign=True) as rest:
                assert rest.lane is not None
                rest.lane.on_written = lambda method, headers: written.append(method)
                r = await rest.create_order(T, "bid", 4000, 300)
                a = await rest.amend_order(r.order_id, T, "bid", 4100, 300)
                assert (a.outcome, a.remaining_count) == ("applied", 300)
                got = await rest.get_order(r.order_id)  # a read: aiohttp, not the lane
                assert (got.yes_price_bp, got.remaining_count) == (4100, 300)
                c = await rest.cancel_order(r.order_id)
                assert c.outcome == "canceled"
                assert written == ["POST", "POST", "DELETE"]
                assert rest.lane.stats["requests"] == 3 and rest.lane.stats["lost"] == 0
            assert sim.exchange.orders[r.order_id].status == "canceled"

    arun(body())


def test_lane_failures_keep_their_meaning(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=6, tier="unlimited") as sim:
            sim.admin.set_user_data_lag(0.1)
            creds = centbook.Credentials(sim.api_key_id, sim.private_key_pem)
            async with centbook.RestClient(sim.rest_url, creds, order_lane=True, timeout_s=1.0,
                                           resolve_margin_s=0.2, resolve_timeout_s=20) as rest:
                # executed, answer dropped: unknown, then resolved to placed (exactly once)
                sim.admin.add_fault(CREATE, "drop", method="POST", times=1)
                with pytest.raises(centbook.OutcomeUnknownError):
                    await rest.create_order(T, "bid", 3000, 100, resolve=False)
                r = await rest.create_order(T, "bid", 3100, 100)
                sim.admin.add_fault(CREATE, "drop", method="POST", times=1)
                placed = await rest.create_order(T, "bid", 3200, 100)
                assert placed.resolved and placed.remaining_count == 100
                # executed, answered after the lane gave up (its timeout): unknown, resolved placed
                sim.admin.add_fault(CREATE, "delay", method="POST", delay_s=2.0, times=1)
                late = await rest.create_order(T, "bid", 3300, 100)
                assert late.resolved and late.remaining_count == 100
                assert sim.exchange.orders[late.order_id].client_order_id == late.client_order_id
                # a 503 on a write: unknown, resolved to not placed
                sim.admin.add_fault(CREATE, "status", method="POST", status=503, times=1)
                with pytest.raises(centbook.OrderNotPlacedError):
                    await rest.create_order(T, "bid", 3400, 100)
                assert rest.lane is not None and rest.lane.stats["lost"] >= 3
                coids = [o.client_order_id for o in sim.exchange.orders.values()]
                assert len(coids) == len(set(coids)) == 4 and r.order_id in sim.exchange.orders

    arun1(body())


def test_interim_answer_then_a_body_framed_by_the_end(arun1: Any) -> None:
    final = b'HTTP/1.1 201 Created\r\nConnection: keep-alive, Close\r\n\r\n{"order_id": "x"}'
    answer = (b"HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n" + final, CLOSE)

    async def body() -> None:
        async with RawServer([answer]) as srv:
            lane = OrderLane(srv.url, connections=1, timeout_s=10)
            try:
                r = await lane.request("POST", "/orders", body=b"{}")
                assert (r.status, r.body) == (201, b'{"order_id": "x"}')
            finally:
                await lane.close()

    arun1(body())


def test_connection_close_token_and_a_reset_cut_body(arun1: Any) -> None:
    keep_close = _ok(b"{}", "Connection: keep-alive, close\r\n")

    async def reset_after_partial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\n\r\n{"or')
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")  # linger 0: close() sends a reset, not a FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def body() -> None:
        async with RawServer([keep_close, _ok()]) as srv:
            lane = OrderLane(srv.url, connections=1, timeout_s=10)
            try:
                assert (await lane.request("POST", "/a", body=b"{}")).status == 200
                assert (await lane.request("POST", "/b", body=b"{}")).status == 200
                assert srv.connections == 2  # "close" among the tokens closed the first one
            finally:
                await lane.close()
        async with serving(reset_after_partial) as url:
            lane = OrderLane(url, connections=1, timeout_s=10)
            try:
                with pytest.raises(LaneLostError, match="connection lost"):
                    await lane.request("POST", "/c", body=b"{}")
            finally:
                await lane.close()

    arun1(body())


def test_a_server_closing_an_idle_connection_never_eats_a_write(arun: Any) -> None:
    async def close_after_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_ok())
        await writer.drain()
        writer.close()  # keep-alive promised, then closed while idle (a server's idle timeout)

    async def body() -> None:
        async with serving(close_after_one) as url:
            lane = OrderLane(url, connections=1, timeout_s=10)
            try:
                for i in range(5):
                    r = await lane.request("POST", f"/o/{i}", body=b"{}")
                    assert r.status == 200
                    used = lane._idle[-1]  # given back: keep-alive was promised
                    # the server closes it; once its FIN is in (closed, maybe before
                    # connection_lost), the next request goes out on another connection
                    await until(lambda used=used: used.closed)  # type: ignore[misc]
                assert lane.stats["lost"] == 0 and lane.stats["requests"] == 5
            finally:
                await lane.close()

    arun(body())


def test_waiting_for_a_connection_is_bounded_and_survives_a_cancelled_waiter(arun1: Any) -> None:
    async def body() -> None:
        gate = asyncio.Event()
        async with serving(gated(gate)) as url:
            await with_one_connection(url, gate)

    async def with_one_connection(url: str, gate: asyncio.Event) -> None:
        lane = OrderLane(url, connections=1, max_connections=1, timeout_s=10)
        try:
            busy = asyncio.ensure_future(lane.request("POST", "/busy", body=b"{}"))
            await until(lambda: lane.stats["requests"] == 1)
            a = asyncio.ensure_future(lane.request("POST", "/a", body=b"{}"))
            b = asyncio.ensure_future(lane.request("POST", "/b", body=b"{}"))
            await until(lambda: lane.stats["waited"] >= 2)
            give_back = lane._give_back

            def give_back_then_cancel_a(conn: Any) -> None:
                give_back(conn)  # the waiters are woken...
                a.cancel()       # ...and the first is cancelled before it ran
                lane._give_back = give_back  # type: ignore[method-assign]

            lane._give_back = give_back_then_cancel_a  # type: ignore[method-assign]
            gate.set()
            assert (await busy).status == 200
            assert (await b).status == 200  # b still got the connection
            with pytest.raises(asyncio.CancelledError):
                await a
            # the one connection busy and never freed: a bounded wait, then "not sent"
            gate.clear()
            stuck = asyncio.ensure_future(lane.request("POST", "/stuck", body=b"{}"))
            await until(lambda: lane.stats["requests"] == 3)
            lane.timeout_s = 0.2
            with pytest.raises(LaneNotSentError, match="free within 0.2 s"):
                await lane.request("POST", "/late", body=b"{}")
            gate.set()
            lane.timeout_s = 10
            assert (await stuck).status == 200
        finally:
            await lane.close()

    arun1(body())


def test_a_write_that_cannot_connect_is_not_sent_and_says_so(arun1: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=8, tier="unlimited") as sim:
            creds = centbook.Credentials(sim.api_key_id, sim.private_key_pem)
            async with centbook.RestClient(sim.rest_url, creds, order_lane=True, read_retries=1) as rest:
                assert rest.lane is not None
                rest.lane.port = 1  # nothing listens there: every connect is refused
                for conn in list(rest.lane._idle):
                    conn.close()
                await until(lambda: rest.lane is not None and rest.lane.idle == 0)
                with pytest.raises(centbook.KalshiError, match="cannot connect") as info:
                    await rest.create_order(T, "bid", 3000, 100)
                assert not isinstance(info.value, centbook.OutcomeUnknownError)
                assert rest.stats["unknown"] == 0 and rest.unresolved == {}
            assert not sim.exchange.orders

    arun1(body())


def test_a_failing_hook_loses_nothing_and_a_closed_lane_opens_again(
        arun1: Any, caplog: pytest.LogCaptureFixture) -> None:
    def broken(method: str, headers: dict[str, str]) -> None:
        raise RuntimeError("hook bug")

    async def body() -> None:
        async with RawServer([_ok(b'{"a": 1}'), _ok(b'{"b": 2}')]) as srv:
            lane = OrderLane(srv.url, connections=1, timeout_s=10, on_written=broken)
            await lane.open()
            r = await lane.request("POST", "/orders", body=b"{}")
            assert (r.status, r.body) == (200, b'{"a": 1}')  # the answer, not the hook's error
            assert "on_written hook failed" in caplog.text
            await lane.close()
            await lane.open()  # a closed lane can be opened again (RestClient.open after close)
            r = await lane.request("POST", "/orders", body=b"{}")
            assert (r.status, r.body) == (200, b'{"b": 2}')
            await lane.close()

    arun1(body())


def test_a_client_for_many_markets_gets_enough_connections() -> None:
    # the market maker keeps a warm connection per quote slot: 9 markets = 18 (it failed at 16)
    rest = centbook.RestClient("http://127.0.0.1:1/trade-api/v2", order_lane=True, order_lane_connections=18)
    assert rest.lane is not None and rest.lane.connections == 18 and rest.lane.max_connections >= 18


def test_start_writes_in_the_callers_step_and_finish_answers(arun1: Any) -> None:
    async def body() -> None:
        async with RawServer([_ok(b'{"n": 1}'), _ok(b'{"n": 2}')]) as server:
            lane = OrderLane(server.url, connections=1, max_connections=1, timeout_s=5)
            await lane.open()
            try:
                first = lane.start("POST", "/o/1", {"X-A": "1"}, b"{}")
                assert first is not None and lane.stats["requests"] == 1 and lane.idle == 0
                # the one connection is busy: nothing is written, and nothing waits
                assert lane.start("POST", "/o/2", None, b"{}") is None
                assert lane.stats["requests"] == 1 and lane.stats["waited"] == 0
                with pytest.raises(ValueError, match="line break"):
                    lane.start("POST", "/o/3", {"X-B": "1\r\nX-C: 2"}, b"{}")
                answer = await lane.finish(first)
                assert (answer.status, answer.body) == (200, b'{"n": 1}') and lane.idle == 1
                assert server.requests[0].startswith(b"POST /o/1 HTTP/1.1\r\n")
                assert b"\r\nX-A: 1\r\n" in server.requests[0] and server.requests[0].endswith(b"\r\n\r\n{}")
                second = lane.start("DELETE", "/o/2")  # the connection came back: it goes now
                assert second is not None
                assert (await lane.finish(second)).body == b'{"n": 2}'
                assert len(server.requests) == 2 and server.connections == 1
            finally:
                await lane.close()
            assert lane.start("POST", "/o/4", None, b"{}") is None  # closed: nothing written

    arun1(body())


def test_rest_start_amend_writes_at_once_or_not_at_all(arun: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=9, tier="basic") as sim:  # 10 writes/s: the budget can run dry
            creds = centbook.Credentials(sim.api_key_id, sim.private_key_pem)
            async with centbook.RestClient(sim.rest_url, creds, order_lane=True, presign=True,
                                           presign_order_paths=("cancel", "amend")) as rest:
                assert rest.lane is not None
                r = await rest.create_order(T, "bid", 4000, 300)
                path = f"{rest.path_prefix}/portfolio/events/orders/{r.order_id}/amend"
                await until(lambda: rest.pool.count("POST", path) >= 1)  # the helper signed ahead
                requests, held = rest.lane.stats["requests"], rest.pool.count("POST", path)
                # refused without sending: a bad side; a budget that would have to wait
                assert rest.start_amend(r.order_id, T, "buy", 4100, 300) is None
                bucket = bucket_for("POST", path, rest.orders.shards.get(r.order_id))
                core, clock = rest.budget.core, rest.budget.clock
                full = core.bucket(bucket, clock()).capacity
                ticket = core.request(bucket, full, CREATE_PRIORITY, clock())
                while ticket.admitted:  # it took the whole bucket: the next one queues
                    ticket = core.request(bucket, full, CREATE_PRIORITY, clock())
                assert rest.start_amend(r.order_id, T, "bid", 4100, 300) is None  # never overtakes
                assert rest.pool.count("POST", path) == held  # the signature went back, unused
                assert rest.lane.stats["requests"] == requests
                core.queues.pop(bucket)  # withdrawn (nobody pumps this test's ticket)

                def refilled() -> bool:
                    b = core.bucket(bucket, clock())
                    b.refill(clock())
                    return b.tokens >= 20
                await until(refilled)
                started = rest.start_amend(r.order_id, T, "bid", 4100, 300)
                assert started is not None  # written before any await
                assert rest.lane.stats["requests"] == requests + 1
                assert rest.pool.count("POST", path) == held - 1
                a = await rest.amend_order(r.order_id, T, "bid", 4100, 300, started=started)
                assert (a.outcome, a.remaining_count) == ("applied", 300)
                assert rest.lane.stats["requests"] == requests + 1  # awaited, not sent again
                assert (sim.exchange.orders[r.order_id].price_bp, rest.stats["unknown"]) == (4100, 0)
            async with centbook.RestClient(sim.rest_url, creds, order_lane=False) as plain:
                assert plain.start_amend(r.order_id, T, "bid", 4200, 300) is None  # no lane

    arun(body())


def test_the_compiled_amend_fires_once_with_the_clients_own_bytes_or_declines(arun1: Any) -> None:
    from centbook.fixed import format_price, format_size
    from centbook.mm.quoter import Quoter
    from centbook.rest.armed import amend_body
    from centbook.rest.client import RestClient
    from centbook.rest.transport import encode_json

    async def body() -> None:
        async with RawServer([_ok()]) as server:
            lane = OrderLane(server.url, connections=1, max_connections=1, timeout_s=5)
            await lane.open()
            try:
                book = book_at_5100()
                conn = lane.reserve()
                assert conn is not None and lane.idle == 0
                target = "/trade-api/v2/portfolio/events/orders/O1/amend"
                headers = {"Content-Type": "application/json", "KALSHI-ACCESS-SIGNATURE": "c2ln"}
                pre, mid, post = RestClient.amend_template("KX-Q", "bid", 0)
                tokens = {"there": False}
                a = armed_amend(book, conn, lane.head("POST", target, headers), (pre, mid, post),
                                live_price=4700, live_size=500, filled=100, half_spread_bp=150, size=500,
                                tradable={"KX-Q": False}, try_acquire=lambda bucket, cost: tokens["there"],
                                fresh_until_ns=0)  # the signature's (or the connection's) age limit: passed
                fired: list[Any] = []
                q = Quoter(fired.extend)
                q.arm(a)
                for reason, change in (("stale", {"fresh_until_ns": 2**62}),
                                       ("untradable", {"tradable": {"KX-Q": True}}),
                                       ("quote_life", {"not_before_ns": 0}),
                                       ("floor", {"floor_bp": -1}),
                                       ("crosses", {"skew_bp_per_contract": 0.0, "position": 0}),
                                       ("closing", {"close_limit_ns": 0}),
                                       ("budget", {})):
                    if reason == "quote_life":
                        a.not_before_ns = 2**62
                    if reason == "floor":
                        a.floor_bp = 4900  # the target is 4900: at the floor
                    if reason == "crosses":  # short 1,000 contracts: the skew lifts the bid to 5900,
                        a.skew_bp_per_contract, a.position = 1.0, -100_000  # above the 5500 ask
                    if reason == "closing":
                        a.close_limit_ns = 1  # long past
                    q.on_read([0])
                    assert q.declines[reason] == 1 and a.armed and not fired, reason
                    for name, value in change.items():
                        setattr(a, name, value)
                tokens["there"] = True
                a.live_price, a.live_size = 4900, 500  # already where the strategy wants it
                q.on_read([0])
                assert q.unchanged == 1 and a.armed and not fired
                a.live_price = 4700
                q.on_read([0, 3])  # market 3 has nothing armed
                assert fired == [a] and not a.armed and q.fired == 1 and q.armed == 0
                assert (a.fired_price, a.fired_count) == (4900, 600) and a.written_ns > 0
                q.on_read([0])  # fires once per arming
                assert q.fired == 1 and fired == [a]
                answer = await lane.finish(lane.adopt(conn, "POST"))
                assert answer.status == 200 and lane.idle == 1
                body = encode_json(amend_body("KX-Q", "bid", format_price(4900), format_size(600),
                                              None, None, 0))
                assert server.requests == [lane.render("POST", target, headers, body)]
                # a connection closed meanwhile is never written to
                conn = lane.reserve()
                assert conn is not None
                a.conn, a.transport = conn, conn.transport
                q.arm(a)
                conn.close()
                q.on_read([0])
                assert q.declines["connection"] == 1 and a.armed and q.fired == 1
                assert q.disarm(a) and not q.disarm(a) and q.armed == 0
            finally:
                await lane.close()

    arun1(body())


def test_amends_written_in_a_read_reach_the_order_manager_when_a_later_slot_raises(arun1: Any) -> None:
    from centbook.mm.quoter import Quoter

    async def body() -> None:
        async with RawServer([_ok()]) as server:
            lane = OrderLane(server.url, connections=2, max_connections=2, timeout_s=5)
            await lane.open()
            try:
                book = book_at_5100()  # quotes at 150 bp: bid 4900, ask 5300
                parts = (b'{"price":"', b'","count":"', b'"}')

                def broken(bucket: str, cost: float) -> bool:
                    raise RuntimeError("budget exploded")

                bid = armed_amend(book, lane.reserve(), lane.head("POST", "/o/b/amend"), parts,
                                  live_price=4700, live_size=500, size=500, half_spread_bp=150)
                ask = armed_amend(book, lane.reserve(), lane.head("POST", "/o/a/amend"), parts, side=1,
                                  key=("KX-Q", "ask"), live_price=5500, live_size=500, size=500,
                                  half_spread_bp=150, try_acquire=broken)
                handed: list[Any] = []
                writes: list[Any] = []

                def on_fired(fired: list[Any]) -> None:
                    handed.extend(fired)
                    writes.extend(lane.adopt(f.conn, "POST") for f in fired)

                q = Quoter(on_fired)
                q.arm(bid)
                q.arm(ask)
                q.on_read([0])  # the bid goes out; the ask's budget call raises before its write
                assert handed == [bid] and q.fired == 1 and q.declines["error"] == 1
                assert "budget exploded" in (q.last_error or "") and ask.armed and not bid.armed
                assert (await lane.finish(writes[0])).status == 200
                assert server.requests[0].startswith(b"POST /o/b/amend ")
                assert q.disarm(ask) and q.armed == 0
                lane.release(ask.conn)
            finally:
                await lane.close()

    arun1(body())


@pytest.mark.parametrize("pair", [False, True], ids=["one_by_one", "paired"])
def test_both_quotes_of_a_read_are_written_paired_or_one_by_one(arun1: Any, pair: bool) -> None:
    from centbook.mm.quoter import Quoter

    async def body() -> None:
        async with RawServer([_ok(), _ok()]) as server:
            lane = OrderLane(server.url, connections=2, max_connections=2, timeout_s=5)
            await lane.open()
            try:
                book = book_at_5100()  # quotes at 150 bp: bid 4900, ask 5300
                parts = (b'{"price":"', b'","count":"', b'"}')
                bid = armed_amend(book, lane.reserve(), lane.head("POST", "/o/b/amend"), parts,
                                  live_price=4700, live_size=500, size=500, half_spread_bp=150)
                ask = armed_amend(book, lane.reserve(), lane.head("POST", "/o/a/amend"), parts, side=1,
                                  key=("KX-Q", "ask"), live_price=5500, live_size=500, size=500,
                                  half_spread_bp=150)
                writes: list[Any] = []
                q = Quoter(lambda fired: writes.extend(lane.adopt(f.conn, "POST") for f in fired))
                q.pair_writes = pair
                q.arm(bid)
                q.arm(ask)
                q.on_read([0], 123)
                assert q.fired == 2 and (bid.nth, ask.nth) == (0, 1) and bid.read_ns == ask.read_ns == 123
                assert (bid.fired_price, ask.fired_price) == (4900, 5300)
                # paired: the ask's request was made before the bid's write; else after it
                assert (ask.made_ns <= bid.written_ns) is pair
                assert bid.decided_ns <= bid.made_ns <= bid.written_ns <= ask.written_ns
                assert [(await lane.finish(w)).status for w in writes] == [200, 200]
                assert sorted(r.split(b" ")[1] for r in server.requests) == [b"/o/a/amend", b"/o/b/amend"]
                assert all(b'"price":"0.' in r for r in server.requests)
            finally:
                await lane.close()

    arun1(body())


def test_a_reserved_connection_keeps_its_idle_age_and_is_retired_when_too_old(arun1: Any) -> None:
    async def body() -> None:
        async with RawServer([NEVER]) as server:  # keeps the connection open, answers nothing
            lane = OrderLane(server.url, connections=1, max_connections=2, timeout_s=5, idle_s=0.2)
            await lane.open()
            try:
                conn = lane.reserve()
                assert conn is not None and lane.idle == 0
                since = conn.idle_since
                assert lane.fresh_until(conn) == since + 0.2
                lane.release(conn)  # nothing was written: idle since its last answer, not since now
                assert lane.idle == 1 and conn.idle_since == since
                conn = lane.reserve()
                assert conn is not None
                loop = asyncio.get_running_loop()
                await until(lambda: loop.time() > lane.fresh_until(conn))
                lane.release(conn)  # too old to be written to: closed, not given back
                assert conn.closed and lane.stats["retired"] >= 1 and conn not in lane._idle
            finally:
                await lane.close()

    arun1(body())


def test_an_armed_amend_fires_with_the_clients_bytes_and_the_exchange_applies_it(arun: Any) -> None:
    async def body() -> None:
        async with run_sim(seed=10, tier="unlimited") as sim:
            creds = centbook.Credentials(sim.api_key_id, sim.private_key_pem)
            async with centbook.RestClient(sim.rest_url, creds, order_lane=True, presign=True,
                                           presign_order_paths=("cancel", "amend")) as rest:
                assert rest.lane is not None
                r = await rest.create_order(T, "bid", 4000, 300)
                path = f"{rest.path_prefix}/portfolio/events/orders/{r.order_id}/amend"
                await until(lambda: rest.pool.count("POST", path) >= 1)
                idle, held = rest.lane.idle, rest.pool.count("POST", path)
                write = rest.arm_amend(r.order_id, T, "bid")
                assert write is not None
                assert (rest.lane.idle, rest.pool.count("POST", path)) == (idle - 1, held - 1)
                rest.disarm(write)  # back: the connection and the signature
                assert (rest.lane.idle, rest.pool.count("POST", path)) == (idle, held)
                write = rest.arm_amend(r.order_id, T, "bid")
                assert write is not None
                # a book whose microprice puts our bid at 4100: (4500 x 2 + 5500 x 3) / 5 = 5100
                book = book_at_5100(T)
                a, q, started = armed_on(rest, write, book, live_price=4000, live_size=300, size=300,
                                         half_spread_bp=1000)
                q.on_read([0])
                assert q.fired == 1 and len(started) == 1 and a.fired_price == 4100
                got = await rest.amend_order(r.order_id, T, "bid", 4100, 300, started=started[0])
                assert (got.outcome, got.remaining_count) == ("applied", 300)
                assert sim.exchange.orders[r.order_id].price_bp == 4100 and rest.stats["unknown"] == 0
                assert rest.lane.stats["lost"] == 0 and rest.lane.idle >= idle  # the connection is back
                await rest.cancel_order(r.order_id)

    arun(body())


def test_an_armed_cancel_fires_even_where_an_amend_would_cross_and_the_exchange_cancels(arun: Any) -> None:
    """requote = cancel_create: the compiled path writes the cancel (RestClient.arm_cancel); the
    create that follows is post-only, so a target through the book does not hold the cancel."""
    async def body() -> None:
        async with run_sim(seed=12, tier="unlimited") as sim:
            creds = centbook.Credentials(sim.api_key_id, sim.private_key_pem)
            async with centbook.RestClient(sim.rest_url, creds, order_lane=True, presign=True) as rest:
                assert rest.lane is not None
                r = await rest.create_order(T, "bid", 4000, 300)
                path = f"{rest.path_prefix}/portfolio/events/orders/{r.order_id}"
                await until(lambda: rest.pool.count("DELETE", path) >= 1)
                idle = rest.lane.idle
                write = rest.arm_cancel(r.order_id, T)
                assert write is not None and write.method == "DELETE"
                assert (rest.lane.idle, rest.pool.count("DELETE", path)) == (idle - 1, 0)
                assert write.head.startswith(b"DELETE " + path.encode() + b"?")
                assert write.head.endswith(b"\r\n\r\n")
                assert b"Content-Length" not in write.head and write.body_pre == write.body_mid == b""
                rest.disarm(write)
                assert (rest.lane.idle, rest.pool.count("DELETE", path)) == (idle, 1)
                write = rest.arm_cancel(r.order_id, T)
                assert write is not None
                # skewed far up (short 1,000 contracts): the bid target 5900 is through the 5500 ask
                a, q, started = armed_on(rest, write, book_at_5100(T), cancel=True, live_price=4000,
                                         live_size=300, size=300, half_spread_bp=150,
                                         skew_bp_per_contract=1.0, position=-100_000)
                requests = rest.stats["requests"]
                q.on_read([0])
                assert q.fired == 1 and q.declines["crosses"] == 0 and a.fired_price == 5900
                got = await rest.cancel_order(r.order_id, ticker=T, started=started[0])
                assert got.order_id == r.order_id and rest.stats["requests"] == requests + 1
                assert sim.exchange.orders[r.order_id].status == "canceled" and rest.stats["unknown"] == 0
                assert rest.lane.stats["lost"] == 0 and rest.lane.idle >= idle
                # byte for byte what cancel_order writes itself, but for the order id and signature
                r2 = await rest.create_order(T, "bid", 4000, 300)
                path2 = f"{rest.path_prefix}/portfolio/events/orders/{r2.order_id}"
                await until(lambda: rest.pool.count("DELETE", path2) >= 1)
                armed = rest.arm_cancel(r2.order_id, T)
                assert armed is not None
                rest.disarm(armed)
                rendered: list[bytes] = []
                render = rest.lane.render
                rest.lane.render = (  # type: ignore[method-assign]
                    lambda *args: rendered.append(render(*args)) or rendered[-1])
                await rest.cancel_order(r2.order_id, ticker=T)

                def masked(data: bytes, order_id: str, signature: bytes, stamp: bytes) -> bytes:
                    data = data.replace(order_id.encode(), b"ID").replace(signature, b"SIG")
                    return data.replace(stamp, b"TS")
                sent = rendered[-1]
                ts = re.search(rb"KALSHI-ACCESS-TIMESTAMP: (\d+)", sent)
                sig = re.search(rb"KALSHI-ACCESS-SIGNATURE: (\S+)", sent)
                assert ts and sig
                armed_bytes = masked(write.head, r.order_id, write.signature.encode(),
                                     str(write.timestamp_ms).encode())
                assert armed_bytes == masked(sent, r2.order_id, sig.group(1), ts.group(1))

    arun(body())
