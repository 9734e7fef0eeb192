"""One market maker per client_order_id root: a local file lock and a REST check of live sessions.

Two makers with one root would sweep each other's quotes at start-up and then both quote. The
file lock (``fcntl.flock``, released by the kernel when the process dies, even by ``kill -9``)
covers this host; the REST check covers other hosts: resting orders of the root whose last
update is younger than the guard's heartbeat timeout belong to a session that is alive (a dead
session's guard pulls its orders within that timeout).

Parts: :class:`InstanceRunningError`, :class:`InstanceLock`, :func:`live_sessions`.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: the client is handed in
    from centbook.rest.client import RestClient

__all__ = ["InstanceLock", "InstanceRunningError", "live_sessions", "lock_directory"]


class InstanceRunningError(RuntimeError):
    """Another maker with the same client_order_id root runs (the message names it)."""


def lock_directory() -> str:
    """Where the locks live: ``$CENTBOOK_LOCK_DIR``, else ``$XDG_RUNTIME_DIR/centbook``, else a
    per-user folder in the temporary directory."""
    base = os.environ.get("CENTBOOK_LOCK_DIR")
    if not base:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        base = os.path.join(runtime, "centbook") if runtime else os.path.join(
            tempfile.gettempdir(), f"centbook-{os.getuid()}")
    os.makedirs(base, mode=0o700, exist_ok=True)
    return base


class InstanceLock:
    """An exclusive lock per (exchange URL, subaccount, client_order_id root) on this host.

    Parameters
    ----------
    root : str
        The client_order_id root.
    rest_url : str
        The exchange (``.../trade-api/v2``): one root may run once per exchange.
    subaccount : int, optional
    directory : str, optional
        Default :func:`lock_directory`.
    """

    def __init__(self, root: str, rest_url: str, subaccount: int | None = None,
                 directory: str | None = None) -> None:
        self.root = root
        key = hashlib.sha256(f"{rest_url}|{subaccount}|{root}".encode()).hexdigest()[:20]
        self.path = os.path.join(directory or lock_directory(), f"mm-{key}.lock")
        self._fd: int | None = None

    def acquire(self, info: dict[str, Any]) -> None:
        """Take the lock and write ``info`` (plus the pid) into it.

        Raises
        ------
        InstanceRunningError
            Another process holds it; the message names that process and its session.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with os.fdopen(fd) as fh:
                held = fh.read().strip()
            raise InstanceRunningError(
                f"another market maker runs with client_order_id root {self.root!r}: {held or 'unknown'} "
                f"(lock {self.path}); stop it or choose another client_order_id_root") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), **info}).encode())
        self._fd = fd

    def release(self) -> None:
        """Release the lock (the kernel does it too when the process ends)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


async def live_sessions(rest: RestClient, root: str, own_prefix: str, window_s: float,
                        subaccount: int | None = None) -> dict[str, int]:
    """Sessions of ``root`` (other than ``own_prefix``) whose resting orders changed within ``window_s``.

    Returns
    -------
    dict
        Session prefix (the client_order_id up to its first ``-``) -> age of its newest order (ms).
    """
    # the skew comes from Date headers (whole seconds): only a large one is worth applying
    skew_s = rest.clock_skew_s or 0.0
    now_ns = time.time_ns() + (int(skew_s * 1e9) if abs(skew_s) >= 2 else 0)
    out: dict[str, int] = {}
    async for o in rest.get_orders(status="resting", subaccount=subaccount):
        coid = o.client_order_id
        if not coid.startswith(root) or coid.startswith(own_prefix):
            continue
        changed = o.last_update_time_ns or o.created_time_ns
        if changed is None:
            continue
        age_ms = max(0, (now_ns - changed) // 1_000_000)
        if age_ms <= window_s * 1000:
            prefix = coid.split("-", 1)[0]
            out[prefix] = min(age_ms, out.get(prefix, age_ms))
    return out
