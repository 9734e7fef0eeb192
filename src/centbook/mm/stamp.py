"""The market maker's "request written" hook: when a write's bytes are handed to the transport.

aiohttp sends a request in the task that awaits it (headers, and on Python 3.11 the body in a
task started from it, which inherits the caller's context). So a :class:`contextvars.ContextVar`
set by the slot's task tells :class:`StampedRequest` which decision the request belongs to, with
no lookup and no allocation per request: the slot's :class:`WriteStamp` is armed before the REST
call and stamped, once, by the request when its bytes are out.

Where the bytes go out in aiohttp 3.14 (``client_reqrep.ClientRequest``): ``send`` buffers the
status line and headers; with no body they are written to the transport before ``send`` returns;
with a body, ``write_bytes`` writes headers and body together (``StreamWriter.write`` calls
``transport.write``), in a task (eager on Python 3.12+). The stamp is taken right after that,
whichever comes first; an eager body write stamps once only.

On Python 3.11 that task is not eager: the body waited for the next turn of the event loop, which
on a busy loop (frames, other responses) was the largest part of decision -> written (p50 about
1.3 ms of 1.8 ms, measured with benchmarks/bench_mm.py). :class:`StampedRequest` runs the body
write to its first suspension at once, inside ``send`` (:class:`_Started`), as 3.12's eager
tasks do; a small body never suspends, so its bytes go out with the headers, in one write.

Whether the request's signature was made ahead of use: :class:`PresignTracker` is the REST
client's :attr:`~centbook.auth.PresignedPool.on_take` hook and remembers the signatures the pool
handed out; the request's ``KALSHI-ACCESS-SIGNATURE`` header is looked up there.
"""
from __future__ import annotations

import asyncio
import contextvars
import sys
import time
from collections.abc import Coroutine, Generator, Mapping
from contextvars import ContextVar
from typing import Any

import aiohttp

__all__ = ["WriteStamp", "StampedRequest", "PresignTracker", "current_stamp", "make_session", "eager_task",
           "stamp_written"]

#: The stamp of the write the current task is making (set once per slot task).
current_stamp: ContextVar[WriteStamp | None] = ContextVar("centbook_mm_write_stamp", default=None)

_SIGNATURE = "KALSHI-ACCESS-SIGNATURE"


class PresignTracker:
    """Remember the signatures a :class:`~centbook.auth.PresignedPool` hands out (one instance).

    Parameters
    ----------
    pool : centbook.auth.PresignedPool
        The REST client's pool; the tracker becomes its ``on_take`` hook.
    """

    #: Bound on remembered signatures (a request that never went out leaves its own behind).
    LIMIT = 4096

    def __init__(self, pool: Any) -> None:
        self.handed: set[str] = set()
        pool.on_take = self._taken

    def _taken(self, signature: str) -> None:
        if len(self.handed) >= self.LIMIT:
            self.handed.clear()
        self.handed.add(signature)

    def was_presigned(self, signature: str | None) -> bool:
        """True (once) when ``signature`` came from the pool."""
        if signature is None or signature not in self.handed:
            return False
        self.handed.discard(signature)
        return True


class WriteStamp:
    """One slot's current write: armed before the REST call, stamped when its bytes are out.

    Attributes
    ----------
    armed : bool
        Waiting for the request of ``method`` to go out.
    method : str
        ``POST`` (create, amend) or ``DELETE`` (cancel).
    written_ns : int
        ``time.monotonic_ns()`` right after the request's bytes were handed to the transport
        (0 while not written).
    presigned : bool
        The request carried a signature made ahead of use.
    read_ns, applied_ns, decided_ns : int
        The decision this write carries out (monotonic ns; ``read_ns`` 0 = not timed): first
        frame of its socket read, books applied, targets decided. Set by the order manager.
    exchange_ts_ms : int
        ``ts_ms`` (exchange clock, Unix ms) of the last book delta of that read (0: none).
    first : bool
        The first write that read's decisions started.
    queued : bool
        The decision found the slot's previous write still in flight.
    """

    __slots__ = ("armed", "method", "written_ns", "presigned", "tracker", "read_ns", "applied_ns",
                 "decided_ns", "queued", "exchange_ts_ms", "first")

    def __init__(self, tracker: PresignTracker | None = None) -> None:
        self.armed = False
        self.method = ""
        self.written_ns = 0
        self.presigned = False
        self.tracker = tracker
        self.read_ns = self.applied_ns = self.decided_ns = 0
        self.queued = False
        self.exchange_ts_ms = 0
        self.first = False

    def arm(self, method: str) -> None:
        """Wait for the next request of ``method`` made by this task."""
        self.armed = True
        self.method = method
        self.written_ns = 0
        self.presigned = False


def stamp_written(method: str, headers: Mapping[str, str]) -> None:
    """Stamp the current task's armed :class:`WriteStamp`: a ``method`` request's bytes are out.

    The hook of both transports: :class:`StampedRequest` (aiohttp) and the order lane's
    ``on_written`` (:class:`centbook.rest.lane.OrderLane`).
    """
    stamp = current_stamp.get()
    if stamp is None or not stamp.armed or stamp.method != method:
        return
    stamp.written_ns = time.monotonic_ns()
    stamp.armed = False
    tracker = stamp.tracker
    stamp.presigned = tracker is not None and tracker.was_presigned(headers.get(_SIGNATURE))


def _stamp(request: aiohttp.ClientRequest) -> None:
    stamp_written(request.method, request.headers)


_NOTHING: Any = object()
_enter_task: Any = getattr(asyncio.tasks, "_enter_task", None)
_leave_task: Any = getattr(asyncio.tasks, "_leave_task", None)


class _Started(Coroutine[Any, Any, None]):
    """A coroutine already run to its first suspension, to be finished by the task that drives it.

    What ``asyncio.Task(..., eager_start=True)`` does on Python 3.12+: the first step runs in the
    caller, synchronously; the task then resumes from the future it yielded (or just ends).
    """

    __slots__ = ("_coro", "_pending", "_error", "_done")

    def __init__(self, coro: Coroutine[Any, Any, None], start: bool = True) -> None:
        self._coro = coro
        self._pending = _NOTHING
        self._error: BaseException | None = None
        self._done = False
        if start:
            self.start()

    def start(self) -> None:
        """Run the first step (to the first suspension, or to the end)."""
        coro = self._coro
        try:
            self._pending = coro.send(None)
        except StopIteration:
            self._done = True
        except BaseException as exc:  # noqa: BLE001 - raised in the task, as a lazy start would
            self._error = exc
            self._done = True

    def send(self, value: Any) -> Any:
        if self._done:
            error, self._error = self._error, None
            if error is not None:
                raise error
            raise StopIteration
        pending = self._pending
        if pending is not _NOTHING:
            self._pending = _NOTHING
            return pending
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if self._done:
            raise typ if val is None else val
        self._pending = _NOTHING
        return self._coro.throw(typ if val is None else val)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, None]:
        return self  # type: ignore[return-value]

    def __next__(self) -> Any:
        return self.send(None)


def eager_task(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Start ``coro`` now, in the caller, up to its first suspension; its task finishes it.

    The market maker starts each slot's write this way from the feed's synchronous read callback,
    so the request goes out before the callback returns instead of one event-loop turn later
    (which was p50 about 0.4 ms on a busy loop). The coroutine runs in a copy of the caller's
    context (what it sets, :data:`current_stamp`, stays with it) and, during the first step, as
    the current task (aiohttp's timeouts need one). Python 3.12+ does exactly this with
    ``eager_start=True``; on 3.11 the step is run here, with asyncio's task bookkeeping
    (``asyncio.tasks._enter_task``/``_leave_task``) set as an eager start would set it.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    if sys.version_info >= (3, 12):
        return asyncio.Task(coro, loop=loop, context=context, eager_start=True)  # type: ignore[call-arg]
    started = _Started(coro, start=False)
    task = loop.create_task(started, context=context)
    outer = asyncio.current_task(loop)
    if outer is not None:
        _leave_task(loop, outer)
    _enter_task(loop, task)
    try:
        context.run(started.start)
    finally:
        _leave_task(loop, task)
        if outer is not None:
            _enter_task(loop, outer)
    return task


class StampedRequest(aiohttp.ClientRequest):
    """An aiohttp request that stamps the armed :class:`WriteStamp` once its bytes are written."""

    async def send(self, conn: Any) -> aiohttp.ClientResponse:
        response = await super().send(conn)
        if self._writer is None:  # no body task pending: everything was handed to the transport
            _stamp(self)
        return response

    async def _write_and_stamp(self, writer: Any, conn: Any, content_length: int | None) -> None:
        await super().write_bytes(writer, conn, content_length)
        _stamp(self)

    if sys.version_info < (3, 12):
        def write_bytes(self, writer: Any, conn: Any,  # type: ignore[override]
                        content_length: int | None = None) -> Coroutine[Any, Any, None]:
            return _Started(self._write_and_stamp(writer, conn, content_length))
    else:  # aiohttp starts the body task eagerly itself
        def write_bytes(self, writer: Any, conn: Any,  # type: ignore[override]
                        content_length: int | None = None) -> Coroutine[Any, Any, None]:
            return self._write_and_stamp(writer, conn, content_length)


def make_session(timeout_s: float) -> aiohttp.ClientSession:
    """A keep-alive session whose requests are :class:`StampedRequest` (call inside a running loop).

    The connector mirrors :class:`centbook.rest.RestClient`'s own (64 connections, 60 s keep-alive).
    """
    connector = aiohttp.TCPConnector(limit=64, keepalive_timeout=60, enable_cleanup_closed=True)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s),
                                 request_class=StampedRequest)
