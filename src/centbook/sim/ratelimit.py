"""Kalshi's token buckets (PROTOCOL.md section 5), per user: read, write, and write per shard.

Every authenticated request costs tokens (default 10). Reads draw on the read bucket; order
writes and order-group calls on the write bucket; single order writes that name
``exchange_index >= 1`` on that shard's own write bucket; batches always on the unscoped write
bucket and must fit whole. An empty bucket answers 429 ``{"error": "too many requests"}``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from centbook.sim.config import TIERS

__all__ = ["DEFAULT_COST", "ENDPOINT_COSTS", "Bucket", "RateLimiter", "cost_of"]

DEFAULT_COST = 10

# Non-default costs, as GET /account/endpoint_costs lists them: (method, path template, cost).
# Batch endpoints are listed with their per-order cost.
ENDPOINT_COSTS: list[tuple[str, str, int]] = [
    ("DELETE", "/trade-api/v2/portfolio/events/orders/{order_id}", 2),
    ("DELETE", "/trade-api/v2/portfolio/events/orders/batched", 2),
    ("GET", "/trade-api/v2/portfolio/orders/{order_id}", 2),
    ("POST", "/trade-api/v2/portfolio/orders", 100),
    ("DELETE", "/trade-api/v2/portfolio/orders/{order_id}", 20),
    ("POST", "/trade-api/v2/portfolio/orders/{order_id}/amend", 100),
    ("POST", "/trade-api/v2/portfolio/orders/{order_id}/decrease", 100),
    ("POST", "/trade-api/v2/portfolio/orders/batched", 100),
    ("DELETE", "/trade-api/v2/portfolio/orders/batched", 20),
]

_COMPILED = [
    (m, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p, c) for m, p, c in ENDPOINT_COSTS
]
_LITERALS = ("/batched", "/queue_positions")
_WRITE_PREFIXES = (
    "/trade-api/v2/portfolio/events/orders",
    "/trade-api/v2/portfolio/orders",
    "/trade-api/v2/portfolio/order_groups",
)


def cost_of(method: str, path: str) -> tuple[int, bool]:
    """Return ``(cost per unit, is_write)`` of a request (batches: per order)."""
    is_write = method != "GET" and path.startswith(_WRITE_PREFIXES)
    for m, rx, template, cost in _COMPILED:
        # a literal route ("batched", "queue_positions") is not an {order_id}
        if m == method and rx.match(path) and ("{" not in template or not path.endswith(_LITERALS)):
            return cost, is_write
    return DEFAULT_COST, is_write


@dataclass(slots=True)
class Bucket:
    """A continuously refilling token bucket (starts full)."""

    rate: float
    capacity: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, cost: float, now: float | None = None) -> bool:
        """Take ``cost`` tokens if the bucket holds them all; return whether it did."""
        self._refill(time.monotonic() if now is None else now)
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


@dataclass(slots=True)
class Arrival:
    """One request as the limiter saw it arrive."""

    monotonic_ns: int
    wall_ns: int
    method: str
    path: str
    cost: int
    bucket: str
    admitted: bool


class RateLimiter:
    """Buckets of every user, their tiers, and the arrival log of every request.

    Parameters
    ----------
    tiers : dict, optional
        Tier name -> (read rate, read capacity, write rate, write capacity); default
        :data:`centbook.sim.config.TIERS`.
    """

    def __init__(self, tiers: dict[str, tuple[int, int, int, int]] | None = None) -> None:
        self.tiers = dict(TIERS if tiers is None else tiers)
        self.user_tier: dict[str, str] = {}
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.arrivals: dict[str, list[Arrival]] = {}

    def set_tier(self, user_id: str, tier: str) -> None:
        """Set a user's tier; its buckets restart full at the new size."""
        if tier not in self.tiers:
            raise ValueError(f"unknown tier {tier!r}; known: {sorted(self.tiers)}")
        self.user_tier[user_id] = tier
        for key in [k for k in self.buckets if k[0] == user_id]:
            del self.buckets[key]

    def limits(self, user_id: str) -> tuple[str, tuple[int, int, int, int]]:
        tier = self.user_tier.get(user_id, "basic")
        return tier, self.tiers[tier]

    def bucket(self, user_id: str, name: str) -> Bucket:
        key = (user_id, name)
        bucket = self.buckets.get(key)
        if bucket is None:
            _, (rr, rc, wr, wc) = self.limits(user_id)
            bucket = Bucket(rr, rc) if name == "read" else Bucket(wr, wc)
            self.buckets[key] = bucket
        return bucket

    def admit(
        self,
        user_id: str,
        method: str,
        path: str,
        units: int = 1,
        exchange_index: int | None = None,
        batch: bool = False,
    ) -> bool:
        """Charge a request; return False (answer 429) if its bucket cannot cover it whole.

        Parameters
        ----------
        units : int
            Orders in a batch (the cost is per order), else 1.
        exchange_index : int, optional
            The shard a single order write names explicitly; ``>= 1`` uses that shard's bucket.
        batch : bool
            Batches always bill the unscoped write bucket.
        """
        cost, is_write = cost_of(method, path)
        total = cost * max(units, 1)
        if not is_write:
            name = "read"
        elif not batch and exchange_index is not None and exchange_index >= 1:
            name = f"write:{exchange_index}"
        else:
            name = "write"
        ok = self.bucket(user_id, name).take(total)
        self.arrivals.setdefault(user_id, []).append(
            Arrival(time.monotonic_ns(), time.time_ns(), method, path, total, name, ok)
        )
        return ok
