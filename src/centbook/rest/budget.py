"""Client-side token buckets that mirror Kalshi's rate budget, so the client waits instead of 429.

Kalshi's model (PROTOCOL.md 5, docs getting_started/rate_limits): every authenticated request
costs tokens (default 10; non-default costs from ``GET /account/endpoint_costs``); a *read* and a
*write* bucket refill continuously at the tier's rate up to a capacity (``GET /account/limits``);
single order writes that name ``exchange_index >= 1`` draw on that shard's own write bucket with
the full tier budget; batches bill their whole per-order cost to the unscoped write bucket and
must fit at once.

This module keeps one bucket per Kalshi bucket, scaled by ``budget_share`` (several processes of
one user split the budget) and a safety ``margin``. Requests that cannot go now wait in a queue
ordered by priority (cancels, then amends, then creates, then reads), FIFO within a priority. The
decision logic (:class:`BudgetCore`) is synchronous and takes the time as an argument, so it is
tested with a fake clock; :class:`RateBudget` drives it on an event loop.

A 429 still happens (another process of the user, a tier change, the exchange's own idea of the
bucket): :meth:`BudgetCore.on_rate_limited` empties the bucket and lowers a calibration factor;
the client then re-reads ``/account/limits``; clean stretches raise the factor back.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AMEND",
    "CANCEL",
    "CREATE",
    "READ",
    "BudgetCore",
    "BudgetTooSmallError",
    "EndpointCosts",
    "Limits",
    "RateBudget",
    "TokenBucket",
    "bucket_for",
]

# Priorities: smaller goes first.
CANCEL = 0  # cancels, decreases, batch cancels, cancel-all, order-group trigger: reduce exposure
AMEND = 1
CREATE = 2  # creates, batch creates, other order-group writes
READ = 3

API_PREFIX = "/trade-api/v2"
_WRITE_PREFIXES = (
    "/portfolio/events/orders",
    "/portfolio/orders",
    "/portfolio/order_groups",
    "/communications",
)


class BudgetTooSmallError(ValueError):
    """A request costs more than its bucket can ever hold (e.g. a batch too big for the tier)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """A user's bucket sizes, as ``GET /account/limits`` reports them (tokens, tokens/s)."""

    read_rate: float
    read_capacity: float
    write_rate: float
    write_capacity: float
    tier: str = ""

    @classmethod
    def basic(cls) -> Limits:
        """Kalshi's Basic tier: read 200/s (capacity 400), write 100/s (capacity 100)."""
        return cls(200, 400, 100, 100, "basic")


class EndpointCosts:
    """Token cost of each endpoint (``GET /account/endpoint_costs``), default cost otherwise.

    Parameters
    ----------
    default_cost : int
        Cost of endpoints not listed (10 on Kalshi).
    entries : iterable of (method, path template, cost)
        Paths as Kalshi lists them (``/trade-api/v2/portfolio/events/orders/{order_id}``); batch
        endpoints carry their per-order cost.
    """

    def __init__(self, default_cost: int = 10, entries: Iterable[tuple[str, str, int]] = ()) -> None:
        self.default_cost = default_cost
        self._literal: dict[tuple[str, str], int] = {}
        self._templates: list[tuple[str, re.Pattern[str], int]] = []
        for method, path, cost in entries:
            method = method.upper()
            if "{" in path:
                rx = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)) + "$")
                self._templates.append((method, rx, int(cost)))
            else:
                self._literal[(method, path)] = int(cost)
        self._cache: dict[tuple[str, str], int] = {}

    @classmethod
    def kalshi_defaults(cls) -> EndpointCosts:
        """Costs documented on 2026-08-21 (used until ``/account/endpoint_costs`` is read)."""
        p = API_PREFIX
        return cls(
            10,
            [
                ("DELETE", p + "/portfolio/events/orders/{order_id}", 2),
                ("DELETE", p + "/portfolio/events/orders/batched", 2),
                ("GET", p + "/portfolio/orders/{order_id}", 2),
            ],
        )

    def cost(self, method: str, path: str) -> int:
        """Return the per-unit cost of ``method path`` (full path, no query)."""
        key = (method, path)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        cost = self._literal.get(key)
        if cost is None:
            cost = self.default_cost
            for m, rx, c in self._templates:
                if m == method and rx.match(path):
                    cost = c
                    break
        if len(self._cache) < 4096:  # order ids make paths unique; keep the cache bounded
            self._cache[key] = cost
        return cost


def bucket_for(method: str, path: str, exchange_index: int | None = None, batch: bool = False) -> str:
    """Name the Kalshi bucket a request draws on: ``read``, ``write`` or ``write:N``.

    Parameters
    ----------
    method, path : str
        The request (path from the host root or after ``/trade-api/v2``).
    exchange_index : int, optional
        The shard a *single* order write names; ``>= 1`` bills that shard's write bucket.
    batch : bool
        Batches always bill the unscoped write bucket.
    """
    sub = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path
    if method == "GET" or not sub.startswith(_WRITE_PREFIXES):
        return "read"
    if not batch and exchange_index is not None and exchange_index >= 1:
        return f"write:{exchange_index}"
    return "write"


class TokenBucket:
    """A continuously refilling token bucket.

    Parameters
    ----------
    rate : float
        Tokens per second.
    capacity : float
        Most tokens it holds.
    now : float
        Current time (seconds, any monotonic origin).
    tokens : float, optional
        Starting balance (default: full).
    """

    __slots__ = ("rate", "capacity", "tokens", "stamp")

    def __init__(self, rate: float, capacity: float, now: float, tokens: float | None = None) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self.tokens = float(capacity if tokens is None else tokens)
        self.stamp = now

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last call."""
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, cost: float, now: float) -> float:
        """Seconds from ``now`` until ``cost`` tokens are there (0 if they are)."""
        self.refill(now)
        missing = cost - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate

    def take(self, cost: float, now: float) -> bool:
        """Take ``cost`` tokens if all are there; return whether it did."""
        self.refill(now)
        if self.tokens + 1e-9 >= cost:
            self.tokens -= cost
            return True
        return False

    def resize(self, rate: float, capacity: float, now: float) -> None:
        """Change rate and capacity, keeping the balance (clipped to the new capacity)."""
        self.refill(now)
        self.rate = float(rate)
        self.capacity = float(capacity)
        self.tokens = min(self.tokens, self.capacity)


@dataclass(order=True)
class Ticket:
    """A request waiting for tokens (ordered by priority, then arrival)."""

    priority: int
    seq: int
    bucket: str = field(compare=False)
    cost: float = field(compare=False)
    admitted: bool = field(default=False, compare=False)
    cancelled: bool = field(default=False, compare=False)
    waiter: Any = field(default=None, compare=False)


class BudgetCore:
    """The decisions of the rate budget, free of any event loop (time is an argument).

    Parameters
    ----------
    limits : Limits
        Bucket sizes of the user's tier.
    now : float
        Current time, seconds.
    budget_share : float
        Fraction of the user's budget this process may use (0 < share <= 1).
    margin : float
        Safety factor on rate and capacity (0.9 = use 90 %).

    Notes
    -----
    The effective rate and capacity of every bucket are ``limit * budget_share * margin *
    calibration``; ``calibration`` starts at 1, is cut on each 429 and recovers on clean refreshes.
    """

    MIN_CALIBRATION = 0.25

    def __init__(self, limits: Limits, now: float, budget_share: float = 1.0, margin: float = 0.9) -> None:
        if not 0 < budget_share <= 1:
            raise ValueError("budget_share must be in (0, 1]")
        if not 0 < margin <= 1:
            raise ValueError("margin must be in (0, 1]")
        self.limits = limits
        self.share = budget_share
        self.margin = margin
        self.calibration = 1.0
        self.buckets: dict[str, TokenBucket] = {}
        self.queues: dict[str, list[Ticket]] = {}
        self._seq = itertools.count()
        self.rate_limited = 0
        self.waited = 0
        self._last_429: float | None = None
        self._now0 = now

    # -- sizes ---------------------------------------------------------------------------------------
    def _scale(self) -> float:
        return self.share * self.margin * self.calibration

    def _size(self, name: str) -> tuple[float, float]:
        s = self._scale()
        if name == "read":
            return self.limits.read_rate * s, self.limits.read_capacity * s
        return self.limits.write_rate * s, self.limits.write_capacity * s

    def bucket(self, name: str, now: float) -> TokenBucket:
        """The bucket named ``read``, ``write`` or ``write:N`` (made on first use, full)."""
        b = self.buckets.get(name)
        if b is None:
            rate, cap = self._size(name)
            b = self.buckets[name] = TokenBucket(rate, cap, now)
        return b

    def _resize_all(self, now: float) -> None:
        for name, b in self.buckets.items():
            rate, cap = self._size(name)
            b.resize(rate, cap, now)

    def set_limits(self, limits: Limits, now: float) -> None:
        """Adopt new bucket sizes (after reading ``/account/limits``)."""
        self.limits = limits
        self._resize_all(now)

    # -- admission -------------------------------------------------------------------------------------
    def request(self, name: str, cost: float, priority: int, now: float) -> Ticket:
        """Ask for ``cost`` tokens from bucket ``name``; the ticket is admitted now or queued.

        Raises
        ------
        BudgetTooSmallError
            ``cost`` exceeds the bucket's effective capacity (it could never be admitted).
        """
        b = self.bucket(name, now)
        if cost > b.capacity + 1e-9:
            full = b.capacity / self._scale() if self._scale() else 0
            raise BudgetTooSmallError(
                f"a request of {cost:g} tokens cannot fit the {name} bucket "
                f"({b.capacity:g} usable of {full:g}); split the batch"
            )
        ticket = Ticket(priority, next(self._seq), name, cost)
        queue = self.queues.setdefault(name, [])
        if not queue and b.take(cost, now):
            ticket.admitted = True
            return ticket
        heapq.heappush(queue, ticket)
        self.waited += 1
        return ticket

    def try_take(self, name: str, cost: float, now: float) -> bool:
        """Take ``cost`` tokens now when nobody queues on the bucket and they are there; else
        take nothing and queue nothing (the caller goes the queued way, :meth:`request`)."""
        b = self.bucket(name, now)
        if self.queues.get(name) or cost > b.capacity + 1e-9:
            return False
        return b.take(cost, now)

    def cancel(self, ticket: Ticket) -> None:
        """Withdraw a queued ticket (its caller gave up)."""
        ticket.cancelled = True

    def admit(self, name: str, now: float) -> tuple[list[Ticket], float | None]:
        """Admit queued tickets of a bucket in priority order while tokens last.

        Returns
        -------
        admitted : list of Ticket
        wake_in : float or None
            Seconds until the head of the queue can go (None if the queue is empty).
        """
        queue = self.queues.get(name)
        admitted: list[Ticket] = []
        if not queue:
            return admitted, None
        b = self.bucket(name, now)
        while queue:
            head = queue[0]
            if head.cancelled:
                heapq.heappop(queue)
                continue
            if head.cost > b.capacity + 1e-9:  # the bucket shrank under a queued batch
                heapq.heappop(queue)
                head.cancelled = True
                admitted.append(head)  # the driver reports it as too big
                continue
            if b.take(head.cost, now):
                heapq.heappop(queue)
                head.admitted = True
                admitted.append(head)
                continue
            return admitted, b.wait_time(head.cost, now)
        return admitted, None

    # -- feedback ------------------------------------------------------------------------------------
    def on_rate_limited(self, name: str, now: float) -> None:
        """A 429 came back from bucket ``name``: empty it and lower the calibration."""
        self.rate_limited += 1
        # Several 429s from one burst are one signal: cut at most once per 100 ms.
        if self._last_429 is None or now - self._last_429 > 0.1:
            self.calibration = max(self.MIN_CALIBRATION, self.calibration * 0.7)
            self._resize_all(now)
        self._last_429 = now
        b = self.bucket(name, now)
        b.refill(now)
        b.tokens = 0.0

    def on_refresh(self, limits: Limits, now: float, quiet_s: float = 10.0) -> None:
        """Adopt fresh limits; raise the calibration if no 429 came for ``quiet_s`` seconds."""
        self.limits = limits
        if self._last_429 is None or now - self._last_429 > quiet_s:
            self.calibration = min(1.0, self.calibration * 1.25)
        self._resize_all(now)

    def effective(self, name: str) -> tuple[float, float]:
        """Return the effective ``(rate, capacity)`` of a bucket."""
        return self._size(name)


class RateBudget:
    """:class:`BudgetCore` on an event loop: ``await budget.acquire(...)`` waits for tokens.

    Parameters
    ----------
    limits : Limits, optional
        Starting sizes (Basic until ``/account/limits`` is read).
    costs : EndpointCosts, optional
        Starting costs (Kalshi's documented ones).
    budget_share, margin : float
        See :class:`BudgetCore`.
    clock : callable
        Monotonic seconds (injectable).
    sleep : callable
        ``async sleep(seconds)`` (injectable).
    """

    def __init__(
        self,
        limits: Limits | None = None,
        costs: EndpointCosts | None = None,
        *,
        budget_share: float = 1.0,
        margin: float = 0.9,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.core = BudgetCore(limits or Limits.basic(), clock(), budget_share, margin)
        self.costs = costs or EndpointCosts.kalshi_defaults()
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._events: dict[str, asyncio.Event] = {}

    def cost_of(self, method: str, path: str, units: int = 1) -> int:
        """Tokens a request costs (batches: per-order cost times ``units``)."""
        return self.costs.cost(method, path) * max(units, 1)

    async def acquire(self, name: str, cost: float, priority: int) -> None:
        """Wait until ``cost`` tokens of bucket ``name`` are granted to this caller.

        Raises
        ------
        BudgetTooSmallError
            The request can never fit.
        """
        ticket = self.core.request(name, cost, priority, self.clock())
        if ticket.admitted:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ticket.waiter = fut
        self._kick(name)
        try:
            await fut
        except BaseException:
            self.core.cancel(ticket)
            raise
        if ticket.cancelled:
            raise BudgetTooSmallError(f"the {name} bucket shrank below a queued request of {cost:g} tokens")

    def try_acquire(self, name: str, cost: float) -> bool:
        """Take ``cost`` tokens of bucket ``name`` now, without waiting; False (nothing taken)
        when that would mean waiting or jumping the queue."""
        return self.core.try_take(name, cost, self.clock())

    def _kick(self, name: str) -> None:
        ev = self._events.get(name)
        if ev is None:
            ev = self._events[name] = asyncio.Event()
        ev.set()
        task = self._pumps.get(name)
        if task is None or task.done():
            self._pumps[name] = asyncio.get_running_loop().create_task(self._pump(name, ev))

    async def _pump(self, name: str, ev: asyncio.Event) -> None:
        while True:
            ev.clear()
            admitted, wake_in = self.core.admit(name, self.clock())
            for t in admitted:
                if t.waiter is not None and not t.waiter.done():
                    t.waiter.set_result(None)
            if wake_in is None:
                return
            # Sleep until the head can go, or until something changes (new ticket, resize).
            try:
                await asyncio.wait_for(ev.wait(), timeout=max(wake_in, 0.0005))
            except TimeoutError:
                pass

    def on_rate_limited(self, name: str) -> None:
        """Report a 429 from bucket ``name``."""
        self.core.on_rate_limited(name, self.clock())

    def set_limits(self, limits: Limits) -> None:
        """Adopt new limits (from ``/account/limits``) and recover calibration after quiet time."""
        self.core.on_refresh(limits, self.clock())
        for name in list(self._events):
            if self.core.queues.get(name):
                self._kick(name)

    def close(self) -> None:
        """Stop the queue pumps (waiters still queued are cancelled)."""
        for task in self._pumps.values():
            task.cancel()
        for queue in self.core.queues.values():
            for t in queue:
                if t.waiter is not None and not t.waiter.done():
                    t.waiter.cancel()
