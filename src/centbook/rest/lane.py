"""The order lane: order writes as HTTP/1.1 bytes on warm keep-alive connections.

:class:`~centbook.rest.RestClient` sends its writes (create, amend, decrease, cancel, order-group
writes) here when made with ``order_lane=True``; reads stay on aiohttp. The lane exists for one
reason: time to the wire. A request through aiohttp passes its connector, its request and
response classes and, for a body, a writer task before a byte goes out (a median of about 100 µs
of Python on this machine, and one event-loop turn more when a step suspends); here the request
is formatted and handed to ``transport.write`` in the caller's own step, before the first
``await``, so a write started from a socket-read callback is on the wire when the callback
returns (``benchmarks/bench_mm.py``).

What it does and does not do:

- One request in flight per connection (no pipelining: a lost connection then leaves exactly one
  write's outcome unknown). Connections are opened at :meth:`OrderLane.open` and kept warm; when
  all are busy a new one is opened, up to ``max_connections``, then callers wait for one to free.
- Responses: status line, headers, a body framed by ``Content-Length``, ``Transfer-Encoding:
  chunked`` or the end of the connection; ``Connection: close`` is honoured. No compression is
  asked for, no redirects are followed, no cookies are kept, nothing is ever re-sent.
- Failures are told apart by whether the request's bytes were written:
  :class:`LaneNotSentError` (nothing went out: no connection could be made, or the lane is
  closed) and :class:`LaneLostError` (the connection failed after the write, or the answer was
  malformed). A timeout after the write raises :class:`TimeoutError`. Whoever sent a write must
  treat the last two as an unknown outcome; the REST client does.
- ``https`` URLs use TLS (the default context verifies the server; pass ``ssl_context`` to trust
  another CA).
"""
from __future__ import annotations

import asyncio
import logging
import re
import ssl as _ssl
from collections.abc import Callable
from urllib.parse import urlsplit

__all__ = ["OrderLane", "LaneResponse", "LaneWrite", "LaneError", "LaneNotSentError", "LaneLostError"]

log = logging.getLogger(__name__)

_MAX_HEAD = 64 * 1024          # refuse a response head larger than this (a broken peer)
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")  # a chunk-size, without extensions
_MAX_BODY = 64 * 1024 * 1024   # refuse a response body larger than this


class LaneError(Exception):
    """An order-lane request failed; see the two subclasses for whether it was sent."""


class LaneNotSentError(LaneError):
    """Nothing of the request was written: it cannot have reached the exchange."""


class LaneLostError(LaneError):
    """The request was written, then the connection failed or answered garbage: outcome unknown."""


class LaneResponse:
    """One answer: ``status``, ``headers`` (names lower-cased; a repeated name keeps its last
    value) and the raw ``body``."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"LaneResponse({self.status}, {len(self.body)} bytes)"


class LaneWrite:
    """A request :meth:`OrderLane.start` wrote: its connection, the answer's future, the timeout."""

    __slots__ = ("conn", "waiter", "timer")

    def __init__(self, conn: _Conn, waiter: asyncio.Future[LaneResponse], timer: asyncio.TimerHandle) -> None:
        self.conn = conn
        self.waiter = waiter
        self.timer = timer


class _Conn(asyncio.Protocol):
    """One keep-alive connection: at most one request in flight, its answer parsed as it arrives."""

    def __init__(self, lane: OrderLane) -> None:
        self.lane = lane
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[LaneResponse] | None = None
        self.buf = bytearray()
        self.closed = False
        self.keep = True
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: dict[str, str] | None = None
        self.length = -1        # Content-Length; -1 chunked or until close
        self.chunked = False
        self.chunks = bytearray()

    # -- asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is None:
            self._fail(LaneLostError(f"unsolicited data from the server: {bytes(self.buf[:80])!r}"))
            return
        try:
            self._parse()
        except LaneLostError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        # the server closed its side: nothing may be written here any more (the transport
        # would drop the bytes), even before connection_lost runs on a later loop turn
        self.closed = True
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if exc is None and self.headers is not None and self.length < 0 and not self.chunked:
                # a body framed by the end of the connection, ended cleanly (a reset cuts it)
                self._finish(bytes(self.buf))
            else:
                why = f": {exc}" if exc else ""
                waiter.set_exception(LaneLostError(f"connection lost before the whole answer{why}"))
        self.waiter = None
        self.lane._dropped(self)

    # -- requests -----------------------------------------------------------------------------------
    @property
    def usable(self) -> bool:
        """Open, not closing, and free for a request."""
        t = self.transport
        return not self.closed and self.waiter is None and t is not None and not t.is_closing()

    def send(self, data: bytes, waiter: asyncio.Future[LaneResponse]) -> bool:
        """Write one request; False (nothing written) when the transport refuses it."""
        assert self.transport is not None and self.waiter is None
        try:
            self.transport.write(data)
        except (RuntimeError, OSError):  # closed under us (uvloop raises; asyncio drops)
            self.close()
            return False
        self.sent(waiter)
        return True

    def sent(self, waiter: asyncio.Future[LaneResponse]) -> None:
        """A request is out on this connection (written by :meth:`send` or by whoever reserved
        it): its answer goes to ``waiter``."""
        self.waiter = waiter
        self._reset()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: LaneError) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def _finish(self, body: bytes) -> None:
        waiter = self.waiter
        self.waiter = None
        assert self.headers is not None
        if waiter is not None and not waiter.done():
            waiter.set_result(LaneResponse(self.status, self.headers, body))
        if self.buf:
            self._fail(LaneLostError(f"data after the answer: {bytes(self.buf[:80])!r}"))

    def _parse(self) -> None:
        buf = self.buf
        if self.headers is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    raise LaneLostError(f"response head longer than {_MAX_HEAD} bytes")
                return
            self._head(bytes(buf[:end]).decode("latin-1"))
            del buf[: end + 4]
            if self.status < 200:  # 1xx: an interim answer, the real one follows
                self._reset()
                self._parse()
                return
        if self.chunked:
            self._parse_chunks()
        elif self.length >= 0:
            if len(buf) >= self.length:
                body = bytes(buf[: self.length])
                del buf[: self.length]
                self._finish(body)
        elif len(buf) > _MAX_BODY:
            raise LaneLostError(f"response body longer than {_MAX_BODY} bytes")

    def _head(self, text: str) -> None:
        lines = text.split("\r\n")
        parts = lines[0].split(" ", 2)
        if (len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit()
                or len(parts[1]) != 3):
            raise LaneLostError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        self.status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise LaneLostError(f"malformed header line: {line[:80]!r}")
            headers[name.lower()] = value.strip()
        self.headers = headers
        if self.status < 200:
            return  # an interim answer: no body, and nothing it says about the connection counts
        if parts[0] == "HTTP/1.0" or "close" in _tokens(headers.get("connection", "")):
            self.keep = False
        coding = _tokens(headers.get("transfer-encoding", ""))
        if self.status in (204, 304):
            self.length = 0
        elif coding:
            if coding[-1] == "chunked":
                self.chunked = True
            else:
                self.keep = False  # another coding last: the body is framed by the end
        elif "content-length" in headers:
            value = headers["content-length"]
            if not (value.isascii() and value.isdigit()) or int(value) > _MAX_BODY:
                raise LaneLostError(f"bad Content-Length: {value[:40]!r}")
            self.length = int(value)
        else:
            self.keep = False  # framed by the end of the connection

    def _parse_chunks(self) -> None:
        buf = self.buf
        while True:
            eol = buf.find(b"\r\n")
            if eol < 0:
                if len(buf) > _MAX_HEAD:
                    raise LaneLostError("chunk size line too long")
                return
            size_text = bytes(buf[:eol]).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise LaneLostError(f"bad chunk size: {size_text[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                # the last chunk, then optional trailers, then an empty line
                end = buf.find(b"\r\n\r\n", eol)
                if end < 0:
                    if len(buf) > _MAX_HEAD:
                        raise LaneLostError(f"chunked trailers longer than {_MAX_HEAD} bytes")
                    return  # the trailers or the final CRLF are still to come
                del buf[: end + 4]
                body = bytes(self.chunks)
                self.chunks = bytearray()
                self._finish(body)
                return
            if len(buf) < eol + 2 + size + 2:
                return
            if buf[eol + 2 + size: eol + 4 + size] != b"\r\n":
                raise LaneLostError("chunk not followed by CRLF")
            self.chunks += buf[eol + 2: eol + 2 + size]
            if len(self.chunks) > _MAX_BODY:
                raise LaneLostError(f"response body longer than {_MAX_BODY} bytes")
            del buf[: eol + 4 + size]


class OrderLane:
    """Warm HTTP/1.1 keep-alive connections to one host, for writes that must leave at once.

    Parameters
    ----------
    base_url : str
        ``http://`` or ``https://`` host and port (any path is ignored; requests give theirs).
    connections : int
        Connections opened by :meth:`open` and kept warm.
    max_connections : int
        Most connections at once (one request in flight each).
    timeout_s : float
        Longest wait for an answer after the write (then :class:`TimeoutError`) and for a
        connection to open.
    ssl_context : ssl.SSLContext, optional
        For ``https``: the context to use (default: the system's verifying context).
    on_written : callable, optional
        ``on_written(method, headers)``, called right after a request's bytes were handed to
        the transport, in the sender's context (the market maker's "written" stamp).
    user_agent : str
        The ``User-Agent`` header.
    idle_s : float
        A connection idle this long is never used again: it is closed, and replaced in the
        background (servers and load balancers close idle keep-alive connections; one closed
        just as a write goes out would make that write's outcome unknown). Idle connections are
        also checked every ``idle_s / 3`` once :meth:`open` ran, so that a fresh one is ready.

    Notes
    -----
    :meth:`request` writes before it first suspends when a connection is idle, so a caller that
    starts it eagerly (``asyncio`` eager tasks, :func:`centbook.mm.stamp.eager_task`) has its
    bytes out when that call returns. With no idle connection it first waits for one (a connect,
    or a busy one to free up: at most ``timeout_s``, then :class:`LaneNotSentError`).
    """

    def __init__(self, base_url: str, *, connections: int = 2, max_connections: int = 16,
                 timeout_s: float = 10.0, ssl_context: _ssl.SSLContext | None = None,
                 on_written: Callable[[str, dict[str, str]], None] | None = None,
                 user_agent: str = "centbook", idle_s: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the order lane needs an http(s) URL, got {base_url!r}")
        if connections < 1 or max_connections < connections:
            raise ValueError(f"need 1 <= connections <= max_connections, got {connections}, "
                             f"{max_connections}")
        if idle_s <= 0 or timeout_s <= 0:
            raise ValueError(f"idle_s and timeout_s must be positive, got {idle_s}, {timeout_s}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        default_port = self.port == (443 if parts.scheme == "https" else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if default_port else f"{host}:{self.port}"
        self.ssl: _ssl.SSLContext | None = None
        if parts.scheme == "https":
            self.ssl = ssl_context or _ssl.create_default_context()
        self.connections = connections
        self.max_connections = max_connections
        self.timeout_s = timeout_s
        self.idle_s = idle_s
        self.on_written = on_written
        _check_header("User-Agent", user_agent)
        self._static = f"Host: {self.host_header}\r\nUser-Agent: {user_agent}\r\nAccept: application/json\r\n"
        self._idle: list[_Conn] = []
        self._all: set[_Conn] = set()
        self._opening = 0
        self._free: list[asyncio.Future[None]] = []   # callers waiting for a connection
        self._closed = False
        self._refill: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self.stats = {"requests": 0, "connects": 0, "connect_failures": 0, "lost": 0, "waited": 0,
                      "retired": 0}

    async def open(self) -> None:
        """Open the warm connections (raises :class:`LaneNotSentError` when none can be made)
        and start retiring idle ones."""
        self._closed = False
        if self._keeper is None:
            self._keeper = asyncio.get_running_loop().create_task(self._keep())
        await self._warm()
        if not self._idle:
            raise LaneNotSentError(f"cannot connect to {self.host_header}")

    async def close(self) -> None:
        """Close every connection; requests in flight fail with :class:`LaneLostError`.

        :meth:`open` may be called again afterwards."""
        self._closed = True
        for task in (self._refill, self._keeper):
            if task is not None:
                task.cancel()
        self._refill = self._keeper = None
        for conn in list(self._all):
            conn.close()
        self._all.clear()  # closed: a later open() must not count them (connection_lost comes later)
        self._idle.clear()
        self._wake()

    @property
    def idle(self) -> int:
        """Connections open and free right now."""
        return len(self._idle)

    async def request(self, method: str, target: str, headers: dict[str, str] | None = None,
                      body: bytes | None = None) -> LaneResponse:
        """Send one request and return its answer.

        Parameters
        ----------
        method : str
        target : str
            Path and query (``/trade-api/v2/portfolio/events/orders?x=1``).
        headers : dict, optional
            Extra headers (the lane sets Host, User-Agent, Accept and Content-Length).
        body : bytes, optional

        Raises
        ------
        LaneNotSentError
            Nothing was written (no connection; the lane is closed).
        LaneLostError
            Written, then the connection failed or the answer was malformed: outcome unknown.
        TimeoutError
            Written, and no answer within ``timeout_s``: outcome unknown.
        """
        data = self.render(method, target, headers, body)
        while True:
            conn = self._take()
            if conn is None:
                conn = await self._acquire()
            write = self._send(conn, method, headers, data)
            if write is not None:
                break
            # the connection closed under us and nothing was written: another one
        return await self.finish(write)

    def start(self, method: str, target: str, headers: dict[str, str] | None = None,
              body: bytes | None = None) -> LaneWrite | None:
        """Write one request now, in the caller's step, on an idle connection.

        Returns None when no idle connection takes it: nothing was written, and :meth:`request`
        (which waits for a connection) is the way to send it. Otherwise the bytes are handed to
        the transport before this returns; await :meth:`finish` with the result for the answer
        (the timeout runs from now). Arguments and errors as :meth:`request`.
        """
        data = self.render(method, target, headers, body)
        while True:
            conn = self._take()
            if conn is None:
                return None
            write = self._send(conn, method, headers, data)
            if write is not None:
                return write

    async def finish(self, write: LaneWrite) -> LaneResponse:
        """The answer to a request :meth:`start` wrote (errors as :meth:`request`)."""
        conn = write.conn
        try:
            response = await write.waiter
        except BaseException:
            self.stats["lost"] += 1
            conn.close()  # its answer may still come: the connection cannot carry another request
            raise
        finally:
            write.timer.cancel()
        if conn.keep and not conn.closed and not self._closed:
            self._give_back(conn)
        else:
            conn.close()
        return response

    def reserve(self) -> _Conn | None:
        """Take an idle connection out of the pool for a write made by other code (the market
        maker's compiled amend path), or None. Give it back with :meth:`release`, or after
        writing a request on it, hand it to :meth:`adopt`. It stays idle meanwhile: write on it
        only until :meth:`fresh_until` (after that the server may be closing it)."""
        return self._take()

    def fresh_until(self, conn: _Conn) -> float:
        """The loop time after which an idle ``conn`` is retired instead of written to."""
        return conn.idle_since + self.idle_s

    def release(self, conn: _Conn) -> None:
        """Give back a connection :meth:`reserve` took and nothing was written on (idle since
        its last answer, not since it was reserved: one too old is closed here)."""
        if conn.usable and not self._closed and asyncio.get_running_loop().time() < self.fresh_until(conn):
            self._give_back(conn, conn.idle_since)
        elif not conn.closed:
            self.stats["retired"] += 1
            conn.close()

    def adopt(self, conn: _Conn, method: str, headers: dict[str, str] | None = None) -> LaneWrite:
        """A request was just written on a reserved connection: await :meth:`finish` with the
        result for its answer (the timeout runs from now; ``on_written`` is called)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[LaneResponse] = loop.create_future()
        conn.sent(waiter)
        return self._after_write(conn, method, headers, waiter)

    def render(self, method: str, target: str, headers: dict[str, str] | None, body: bytes | None) -> bytes:
        """The request's bytes as the lane writes them (refusing a target or header that would
        break the framing); no body: no Content-Length either."""
        if body is not None:
            return self.head(method, target, headers) + b"%d\r\n\r\n" % len(body) + body
        return self._start_line(method, target, headers).encode("latin-1") + b"\r\n"

    def head(self, method: str, target: str, headers: dict[str, str] | None = None) -> bytes:
        """A request's bytes up to its ``Content-Length`` value: the caller appends the length,
        ``\\r\\n\\r\\n`` and the body (checks as :meth:`request`)."""
        return (self._start_line(method, target, headers) + "Content-Length: ").encode("latin-1")

    def _start_line(self, method: str, target: str, headers: dict[str, str] | None) -> str:
        if not target.startswith("/") or "\n" in target or "\r" in target or " " in target:
            raise ValueError(f"target must start with '/' and hold no space or line break, got {target!r}")
        extra = ""
        if headers:
            extra = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
            # one line per header: a CR or LF inside a name or value would start another header
            if extra.count("\n") != len(headers) or extra.count("\r") != len(headers):
                bad = next(n for n, v in headers.items() if "\r" in n + v or "\n" in n + v)
                raise ValueError(f"header {bad!r} has a line break where none may be")
        return f"{method} {target} HTTP/1.1\r\n{self._static}{extra}"

    def _send(self, conn: _Conn, method: str, headers: dict[str, str] | None,
              data: bytes) -> LaneWrite | None:
        """Hand ``data`` to ``conn``; None (nothing written) when its transport refuses it."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[LaneResponse] = loop.create_future()
        if not conn.send(data, waiter):
            return None
        return self._after_write(conn, method, headers, waiter)

    def _after_write(self, conn: _Conn, method: str, headers: dict[str, str] | None,
                     waiter: asyncio.Future[LaneResponse]) -> LaneWrite:
        loop = asyncio.get_running_loop()
        self.stats["requests"] += 1
        timer = loop.call_at(loop.time() + self.timeout_s, _expire, conn, waiter, self.timeout_s)
        if self.on_written is not None:
            try:
                self.on_written(method, headers or {})
            except Exception:  # noqa: BLE001 - the write is out; a broken hook must not lose it
                log.exception("order lane: the on_written hook failed")
        return LaneWrite(conn, waiter, timer)

    # -- the pool -----------------------------------------------------------------------------------
    def _take(self) -> _Conn | None:
        """The most recently used idle connection that is still usable and not too old."""
        idle = self._idle
        if not idle:
            return None
        oldest_ok = asyncio.get_running_loop().time() - self.idle_s
        while idle:
            conn = idle.pop()
            if conn.usable and conn.idle_since >= oldest_ok:
                return conn
            if not conn.closed:  # idle too long: the server may be closing it right now
                self.stats["retired"] += 1
                conn.close()
        return None

    async def _acquire(self) -> _Conn:
        """An idle or new connection; waits at most ``timeout_s`` for one to free up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while True:
            if self._closed:
                raise LaneNotSentError("the order lane is closed")
            conn = self._take()
            if conn is not None:
                return conn
            if len(self._all) + self._opening < self.max_connections:
                conn = await self._connect()
                if self._closed:
                    conn.close()
                    raise LaneNotSentError("the order lane is closed")
                if conn.usable:
                    return conn
                continue  # closed before its first use: try again
            left = deadline - loop.time()
            if left <= 0:
                raise LaneNotSentError(f"no connection to {self.host_header} free within "
                                       f"{self.timeout_s:g} s ({self.max_connections} busy)")
            self.stats["waited"] += 1
            fut: asyncio.Future[None] = loop.create_future()
            self._free.append(fut)
            # a plain timer, not wait_for: on 3.11 wait_for can swallow a cancel that arrives
            # together with the wake-up
            timer = loop.call_later(left, _release, fut)
            try:
                await fut
            finally:
                timer.cancel()
                if fut in self._free:
                    self._free.remove(fut)

    def _wake(self) -> None:
        """Wake every caller waiting for a connection (each tries again; there are few)."""
        free, self._free = self._free, []
        for fut in free:
            if not fut.done():
                fut.set_result(None)

    def _give_back(self, conn: _Conn, idle_since: float | None = None) -> None:
        """Back to the idle pool, idle since ``idle_since`` (loop time; default now)."""
        conn.idle_since = asyncio.get_running_loop().time() if idle_since is None else idle_since
        self._idle.append(conn)
        self._wake()

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        self._opening += 1
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Conn(self), self.host, self.port, ssl=self.ssl,
                                       server_hostname=self.host if self.ssl else None),
                self.timeout_s)
        except (OSError, TimeoutError, _ssl.SSLError) as exc:
            self.stats["connect_failures"] += 1
            raise LaneNotSentError(f"cannot connect to {self.host_header}: {exc!r}") from exc
        finally:
            self._opening -= 1
        self.stats["connects"] += 1
        self._all.add(conn)
        return conn

    async def _warm(self) -> None:
        while not self._closed and len(self._all) + self._opening < self.connections:
            try:
                conn = await self._connect()
            except LaneNotSentError:
                return
            if self._closed:
                conn.close()
                return
            self._give_back(conn)

    async def _keep(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            await asyncio.sleep(self.idle_s / 3)
            old = loop.time() - self.idle_s
            for conn in [c for c in self._idle if c.idle_since < old]:
                self._idle.remove(conn)
                self.stats["retired"] += 1
                conn.close()  # connection_lost -> _dropped -> refill

    def _dropped(self, conn: _Conn) -> None:
        self._all.discard(conn)
        if conn in self._idle:
            self._idle.remove(conn)
        self._wake()  # a place for a new connection is free
        if not self._closed and (self._refill is None or self._refill.done()):
            # keep the warm connections warm, so the next write does not wait for a connect
            self._refill = asyncio.get_running_loop().create_task(self._warm())


def _release(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _expire(conn: _Conn, waiter: asyncio.Future[LaneResponse], timeout_s: float) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no answer within {timeout_s:g} s"))
    conn.close()


def _tokens(value: str) -> list[str]:
    """The comma-separated tokens of a header value, lower-cased (``keep-alive, Close``)."""
    return [t.strip().lower() for t in value.split(",") if t.strip()]


def _check_header(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise ValueError(f"header {name!r} has a line break or a colon where none may be")

