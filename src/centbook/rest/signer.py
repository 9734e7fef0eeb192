"""Where the REST client's signatures are made.

- :class:`Signer`: signs batches inline, in a thread, or in a helper process that feeds the
  client's :class:`~centbook.auth.PresignedPool`;
- :data:`HELPER_CHUNK`: signatures per message to the helper.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing.connection
import socket
import subprocess
import sys
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import msgspec

from centbook.auth import Credentials
from centbook.children import spawn_options

__all__ = ["HELPER_CHUNK", "Signer"]

log = logging.getLogger("centbook.rest")

#: Signatures per helper message: ~3.6 kB, written whole, so a read never waits.
HELPER_CHUNK = 10
_HELPER_ANSWER = msgspec.msgpack.Decoder(tuple[int, list[str]]).decode
_HELPER_JOBS = msgspec.msgpack.Encoder().encode


class Signer:
    """Where signatures are made: inline, in a thread, or in a helper process.

    Measured with cryptography 50 (``benchmarks/bench_rest.py``, event-loop lag rows): an RSA
    signature holds the GIL for its whole ~250 us, so a signer *thread* takes the same time from
    the loop as inline signing, only at other moments; it signs one signature per GIL hold and
    sleeps briefly between them so the loop waits for one signature at most, never a batch.
    The helper *process* is the one that takes signing off the loop: it is spawned (no inherited
    sockets), niced, and talks over one socket the loop reads directly (``add_reader``): no
    executor threads in this process, whose pickling and pipe reads held the GIL before.
    """

    def __init__(self, credentials: Credentials, mode: str) -> None:
        if mode not in ("inline", "thread", "process"):
            raise ValueError("signer must be inline, thread or process")
        self.credentials = credentials
        self.mode = mode
        self.cpu_s = 0.0  # CPU time of signing in this process's threads (the GIL is held)
        self.loop_s = 0.0  # loop-thread CPU spent sending jobs to / reading the helper process
        self.executor: Executor | None = None
        if mode == "thread":
            self.executor = ThreadPoolExecutor(1, thread_name_prefix="centbook-sign")
        self._conn: Any = None
        self._proc: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, asyncio.Future[list[str]]] = {}
        self._batch_ids = itertools.count(1)
        self._failed: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the helper process is gone (signatures are then made inline)."""
        return self._failed is not None

    def _batch_inline(self, jobs: list[tuple[int, str, str]]) -> list[str]:
        c = self.credentials
        t0 = time.thread_time()
        out = [c.sign(ts, m, p) for ts, m, p in jobs]
        self.cpu_s += time.thread_time() - t0
        return out

    def _batch_yielding(self, jobs: list[tuple[int, str, str]]) -> list[str]:
        # In the signer thread: one signature per GIL hold, then a real sleep (a zero sleep
        # lets this thread take the GIL straight back before a waiting loop thread wakes).
        out = []
        for job in jobs:
            out.extend(self._batch_inline([job]))
            time.sleep(0.0002)
        return out

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        # A fresh interpreter, not a fork (which would share this process's sockets) and not
        # multiprocessing's "spawn" (which re-imports the caller's __main__: an unguarded
        # trading script would run a second time inside the helper).
        # Its own session (a terminal's Ctrl-C is for the client, which closes it after its own
        # shutdown) and it dies with this process (centbook.children says how).
        mine, theirs = socket.socketpair()
        code = ("import sys; from centbook.children import die_with_parent; die_with_parent(); "
                "from centbook.auth import signing_helper_main as m; m(int(sys.argv[1]))")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            **spawn_options(die_with_parent=True),
        )
        theirs.close()
        self._conn = multiprocessing.connection.Connection(mine.detach())
        self._conn.send_bytes(self.credentials.pem_bytes())  # over the socket, never argv
        self._loop = loop
        loop.add_reader(self._conn.fileno(), self._on_answer)

    def _on_answer(self) -> None:
        t0 = time.thread_time()
        try:
            while self._conn.poll():
                batch_id, sigs = _HELPER_ANSWER(self._conn.recv_bytes())
                fut = self._pending.pop(batch_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(sigs)
        except (EOFError, OSError, msgspec.DecodeError) as exc:
            self._fail(f"the signing helper process stopped answering ({type(exc).__name__})")
        self.loop_s += time.thread_time() - t0

    def _fail(self, why: str) -> None:
        if self._failed is None:
            log.warning("%s; signing inline from now on", why)
        self._failed = why
        if self._loop is not None and self._conn is not None:
            self._loop.remove_reader(self._conn.fileno())
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(RuntimeError(why))
        self._pending.clear()

    async def sign_batch(self, jobs: list[tuple[int, str, str]]) -> list[str]:
        """Sign ``(timestamp_ms, method, path)`` jobs; return the signatures in their order."""
        loop = asyncio.get_running_loop()
        if self.mode == "thread":
            return await loop.run_in_executor(self.executor, self._batch_yielding, jobs)
        if self.mode == "inline":
            return self._batch_inline(jobs)
        if self._failed is not None:
            raise RuntimeError(self._failed)
        if self._conn is None:
            self._start(loop)
        futs = []
        t0 = time.thread_time()
        try:
            for i in range(0, len(jobs), HELPER_CHUNK):
                batch_id = next(self._batch_ids)
                fut: asyncio.Future[list[str]] = loop.create_future()
                self._pending[batch_id] = fut
                futs.append(fut)
                self._conn.send_bytes(_HELPER_JOBS((batch_id, jobs[i : i + HELPER_CHUNK])))
        except OSError as exc:
            self._fail(f"cannot write to the signing helper process ({exc})")
        self.loop_s += time.thread_time() - t0
        out: list[str] = []
        for part in await asyncio.gather(*futs):
            out.extend(part)
        return out

    def close(self) -> None:
        """Stop the thread or the helper process (it reads EOF and exits)."""
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if self._conn is not None:
            self._failed = self._failed or "the client closed"  # (no warning for a normal close)
            self._fail(self._failed)
            self._conn.close()  # the helper reads EOF and exits
            self._conn = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:  # pragma: no cover - it exits on EOF
                self._proc.kill()
                self._proc.wait()
            self._proc = None
