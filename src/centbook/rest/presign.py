"""The REST client's signatures: made on demand, or ahead of use and kept in a pool.

- :class:`Presigner`: signs each request (a pre-made signature when there is one, else inline),
  keeps the :class:`~centbook.auth.PresignedPool` filled by the :class:`~centbook.rest.signer.Signer`
  and tracks the recent orders whose cancel (and amend) paths are signed ahead;
- :data:`ORDERS_PATH`, :data:`ORDERS_BATCH_PATH`: the order endpoints, below the base URL.
"""

from __future__ import annotations

import asyncio
import logging
import time

from centbook.auth import Credentials, PresignedPool
from centbook.rest.signer import HELPER_CHUNK, Signer

__all__ = ["ORDERS_BATCH_PATH", "ORDERS_PATH", "Presigner"]

log = logging.getLogger("centbook.rest")

#: Create (POST) and cancel-all (DELETE); ``/{order_id}`` one order's cancel, amend, decrease.
ORDERS_PATH = "/portfolio/events/orders"
#: Batch create (POST) and batch cancel (DELETE).
ORDERS_BATCH_PATH = "/portfolio/events/orders/batched"


class Presigner:
    """The auth headers of every request, and the pool of signatures made ahead of use.

    Parameters
    ----------
    credentials : Credentials, optional
        Whose signatures; without them nothing is signed and nothing is pre-signed.
    path_prefix : str
        The base URL's path (part of every signed path).
    stats : dict
        The client's counters; ``presign_batches`` and ``presign_signatures`` are counted here.
    presign : bool
        Sign ahead of use (needs ``credentials``).
    max_age_s, depth, orders, order_paths : see :class:`~centbook.rest.settings.RestSettings`
        (``presign_max_age_s``, ``presign_depth``, ``presign_orders``, ``presign_order_paths``).
    signer : str, optional
        Where signatures are made (:class:`~centbook.rest.signer.Signer`); the default is the
        helper process when pre-signing, else inline.

    Attributes
    ----------
    presign : bool
        Pre-signed signatures are used; turned off for good when the signing helper is lost.
    pool : PresignedPool
    signer : Signer or None
    orders : int
        How many recent orders get their paths signed ahead.
    order_paths : tuple of str
        Which paths of such an order (``"cancel"``, ``"amend"``, ``"decrease"``).
    """

    def __init__(self, credentials: Credentials | None, path_prefix: str, stats: dict[str, int], *,
                 presign: bool, max_age_s: float, depth: int, orders: int,
                 order_paths: tuple[str, ...], signer: str | None) -> None:
        self.credentials = credentials
        self.path_prefix = path_prefix
        self.stats = stats
        self.presign = presign and credentials is not None
        self.pool = PresignedPool(max_age_s, depth=1)
        self.pool.set_depth("POST", path_prefix + ORDERS_PATH, depth)
        self.order_paths = order_paths
        self.orders = orders
        self.recent: list[str] = []  # the tracked orders, oldest first
        mode = signer or ("process" if self.presign else "inline")
        self.signer = Signer(credentials, mode) if credentials is not None else None
        self._sign_inline = credentials.sign if credentials is not None else None
        self._fill_task: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None

    # -- signing a request --------------------------------------------------------------------------
    def auth_headers(self, method: str, full_path: str) -> dict[str, str]:
        """The three auth headers of one request, in a new dict."""
        headers: dict[str, str] = {}
        self.sign_into(headers, method, full_path)
        return headers

    def sign_into(self, headers: dict[str, str], method: str, full_path: str) -> None:
        """Put the three auth headers into ``headers`` (a pre-made signature when there is one)."""
        assert self.credentials is not None and self._sign_inline is not None
        pre = self.take(method, full_path) if self.presign else None
        if pre is not None:
            ts, sig = pre
        else:
            ts = int(time.time() * 1000)
            sig = self._sign_inline(ts, method, full_path)
        self.put_auth(headers, ts, sig)

    def put_auth(self, headers: dict[str, str], ts: int, sig: str) -> dict[str, str]:
        """Add the three auth headers to ``headers``, in the one order every request of the client
        has them (the armed writes' bytes match the client's own that way); return it."""
        assert self.credentials is not None
        headers["KALSHI-ACCESS-KEY"] = self.credentials.key_id
        headers["KALSHI-ACCESS-TIMESTAMP"] = str(ts)
        headers["KALSHI-ACCESS-SIGNATURE"] = sig
        return headers

    def take(self, method: str, full_path: str, refill: bool = True) -> tuple[int, str] | None:
        """A pre-made ``(timestamp_ms, signature)`` for the path, or None; refills the pool
        (``refill=False``: the caller calls :meth:`refill_if_low` itself, later)."""
        pre = self.pool.take(method, full_path)
        if refill:
            self.refill_if_low(method, full_path, pre is None)
        return pre

    def refill_if_low(self, method: str, full_path: str, missed: bool = False) -> None:
        """Start a refill when the path missed or holds half its depth or less."""
        # Refill in batches (one helper round trip per several signatures), not per use.
        pool = self.pool
        if missed or pool.count(method, full_path) * 2 <= pool.depth_of(method, full_path):
            self.kick()

    # -- the pool's upkeep --------------------------------------------------------------------------
    async def start(self) -> None:
        """Fill the pool once, then keep it filled in the background (when pre-signing)."""
        if self.presign:
            await self.fill()
            self._loop_task = asyncio.get_running_loop().create_task(self._loop())

    def tasks(self) -> list[asyncio.Task[None] | None]:
        """The background tasks (to cancel on close)."""
        return [self._loop_task, self._fill_task]

    def targets(self) -> list[tuple[str, str]]:
        """Every ``(METHOD, full path)`` kept signed ahead."""
        # Creates get ``depth`` signatures; batch paths and each recent order's cancel (and
        # amend, if asked) one each: every kept signature is re-made once per max age.
        p = self.path_prefix
        targets = [("POST", p + ORDERS_PATH), ("POST", p + ORDERS_BATCH_PATH),
                   ("DELETE", p + ORDERS_BATCH_PATH)]
        for oid in self.recent:
            targets.extend(self.paths_of(oid))
        return targets

    def paths_of(self, order_id: str) -> list[tuple[str, str]]:
        """The ``(METHOD, full path)`` of an order's writes that are signed ahead."""
        base = f"{self.path_prefix}{ORDERS_PATH}/{order_id}"
        out = []
        for kind in self.order_paths:
            out.append(("DELETE", base) if kind == "cancel" else ("POST", f"{base}/{kind}"))
        return out

    async def fill(self) -> None:
        """Sign what the targets lack, the emptiest paths first."""
        assert self.signer is not None
        margin_ms = int(self.pool.max_age_ms * 0.4)
        now_ms = int(time.time() * 1000)
        jobs: list[tuple[int, str, str]] = []
        for method, path in self.targets():
            jobs.extend((now_ms, method, path) for _ in range(self.pool.needs(method, path, margin_ms)))
        if not jobs:
            return
        self.stats["presign_batches"] += 1
        self.stats["presign_signatures"] += len(jobs)
        # The emptiest paths first, and into the pool chunk by chunk: a path that is running out
        # (back-to-back amends of one order) gets its signatures after one chunk's signing, not
        # after the whole refill's (tens of signatures, several ms).
        count = self.pool.count
        jobs.sort(key=lambda job: count(job[1], job[2]))
        for i in range(0, len(jobs), HELPER_CHUNK):
            part = jobs[i : i + HELPER_CHUNK]
            sigs = await self.signer.sign_batch(part)
            # An order cancelled while its signatures were being made is no target any more:
            # putting them would bring its forgotten paths back into the pool.
            still = set(self.targets())
            for (ts, method, path), sig in zip(part, sigs, strict=True):
                if (method, path) in still:
                    self.pool.put(method, path, ts, sig)

    def kick(self) -> None:
        """Refill the pool in the background (one fill at a time)."""
        task = self._fill_task
        if task is None or task.done():
            self._fill_task = asyncio.get_running_loop().create_task(self._fill_safe())

    async def _fill_safe(self) -> None:
        try:
            await self.fill()
        except Exception as exc:  # inline signing covers any gap
            if self.signer is not None and self.signer.failed:
                self.presign = False  # the helper is gone (said once, by the signer): sign inline
            else:
                log.warning("pre-signing failed: %s", type(exc).__name__)

    async def _loop(self) -> None:
        period = self.pool.max_age_ms / 1000 / 4
        while True:
            await asyncio.sleep(period)
            self.kick()

    # -- the tracked orders -------------------------------------------------------------------------
    def track(self, order_id: str) -> None:
        """Sign an order's paths ahead from now on (the oldest tracked order makes room)."""
        if not self.presign:
            return
        self.recent.append(order_id)
        if len(self.recent) > self.orders:
            self.forget(self.recent[0])
        self.kick()

    def forget(self, order_id: str) -> None:
        """Stop signing an order's paths ahead; its pre-made signatures go."""
        if order_id in self.recent:
            self.recent.remove(order_id)
            for method, path in self.paths_of(order_id):
                self.pool.forget(method, path)
