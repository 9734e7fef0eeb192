"""The kill switch: pull every order of one session and prove over REST that nothing of it rests.

Used by the market maker (shutdown, halts) and by the dead-man guard (:mod:`centbook.mm.guard`),
so it depends only on a :class:`~centbook.rest.client.RestClient`, the session's
client_order_id prefix, its order groups and the order ids it knows.

Steps, repeated until REST shows nothing of the session resting or the deadline passes:

1. trigger each order group not yet triggered (a group is triggered once; a failed trigger is
   retried after its backoff, never in a loop);
2. wait until ``/exchange/user_data_timestamp`` is past the last write, then list the resting
   orders and keep the session's (its prefix, its order ids or its groups);
3. none: done. Otherwise cancel-all, then cancel one by one what the list showed.

Every step that fails waits a capped exponential backoff with full jitter (a random wait between
zero and the cap) before it is tried again, so retries stay inside the rate budget; no exception
ends the loop. Each REST call is bounded by what is left of the deadline.

Parts: :class:`KillResult` (what rests, the summary line, the JSON, the exit code),
:class:`Backoff` and :class:`KillSwitch`; :data:`EXIT_MAY_REST`.
"""
from __future__ import annotations

import asyncio
import functools
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from centbook.protocol.errors import RejectedError

if TYPE_CHECKING:  # only for annotations: the client is handed in
    from centbook.protocol.orders import Order
    from centbook.rest.client import RestClient

__all__ = ["EXIT_MAY_REST", "Backoff", "KillResult", "KillSwitch"]

EXIT_MAY_REST = 3  # exit status of a process whose orders may still rest (0: verified none rests)

T = TypeVar("T")


@dataclass
class KillResult:
    """The outcome of a kill switch.

    Attributes
    ----------
    reason : str
        Why it ran (shutdown, a halt's reason, the guard's trigger).
    verified : bool
        REST, with its user data past the last write, showed nothing of the session resting.
    resting : list of dict
        The session's orders REST showed resting at the last successful read (order_id, ticker,
        side, price_bp, client_order_id); empty when ``verified``.
    attempts : dict
        Attempts per step (``trigger``, ``list``, ``cancel_all``, ``cancel``) and failures.
    elapsed_s : float
    """

    reason: str
    verified: bool = False
    resting: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 when nothing rests (verified), :data:`EXIT_MAY_REST` when something may."""
        return 0 if self.verified else EXIT_MAY_REST

    @property
    def left_resting(self) -> int:
        """Orders known to rest (0 when verified; -1 when nothing could be read at all)."""
        if self.verified:
            return 0
        return len(self.resting) if self.resting or self.attempts.get("listed", 0) else -1

    def summary(self) -> str:
        """One line: verified or not, what rests, how long it took."""
        if self.verified:
            return f"kill switch ({self.reason}): verified, nothing rests ({self.elapsed_s:.2f}s)"
        what = (f"{len(self.resting)} orders may rest" if self.resting
                else "resting orders could not be verified")
        return f"kill switch ({self.reason}): NOT verified, {what} after {self.elapsed_s:.2f}s"

    def to_json(self) -> str:
        """The result as one JSON object (``verified``, ``resting``, ``attempts``, ``elapsed_s``)."""
        return json.dumps({"reason": self.reason, "verified": self.verified, "resting": self.resting,
                           "attempts": self.attempts, "elapsed_s": round(self.elapsed_s, 3)})


class Backoff:
    """Capped exponential backoff with full jitter: the n-th wait is uniform in [0, min(cap, base * 2**n)].

    Parameters
    ----------
    base_s, cap_s : float
    rng : random.Random, optional
    """

    def __init__(self, base_s: float = 0.05, cap_s: float = 2.0, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        self.rng = rng or random.Random()

    def next_wait(self) -> float:
        """Count a failure and return the wait before the next attempt."""
        bound = min(self.cap_s, self.base_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self.rng.uniform(0.0, bound)

    def reset(self) -> None:
        """A success: the next failure waits from the base again."""
        self.failures = 0


def _order_entry(o: Order) -> dict[str, Any]:
    """The JSON entry of one resting order."""
    return {"order_id": o.order_id, "ticker": o.ticker, "side": o.book_side, "price_bp": o.yes_price_bp,
            "client_order_id": o.client_order_id, "exchange_index": o.exchange_index}


class KillSwitch:
    """Pull every order of one session; see the module docstring for the steps.

    Parameters
    ----------
    rest : RestClient
        An open client with the session's credentials.
    prefix : str
        The session's client_order_id prefix.
    groups : dict
        Shard -> order group id of the session.
    order_ids : callable, optional
        Returns the order ids the session knows (its orders whose client_order_id REST may not
        show).
    last_write_ns : callable, optional
        Returns the Unix ns of the session's last write; REST data must be past it (and past the
        kill switch's own writes) before an empty list counts.
    subaccount : int, optional
    deadline_s : float
        Give up (unverified) after this many seconds; one attempt of a step is bounded by a fifth
        of it (at most 2 s).
    log : callable, optional
        Called with one line per event.
    """

    def __init__(self, rest: RestClient, prefix: str, groups: dict[int, str], *,
                 order_ids: Callable[[], Any] | None = None, last_write_ns: Callable[[], int] | None = None,
                 subaccount: int | None = None, deadline_s: float = 30.0,
                 log: Callable[[str], None] | None = None, rng: random.Random | None = None) -> None:
        self.rest = rest
        self.prefix = prefix
        self.groups = dict(groups)
        self.order_ids = order_ids or (lambda: ())
        self.last_write_ns = last_write_ns or (lambda: 0)
        self.subaccount = subaccount
        self.deadline_s = deadline_s
        self.log = log or (lambda text: None)
        self.rng = rng or random.Random()
        # one attempt of a step waits at most this long (the client may resend inside it)
        self.step_timeout_s = min(2.0, deadline_s / 5)
        self.triggered: set[str] = set()

    async def run(self, reason: str) -> KillResult:
        """Run until verified or the deadline; never raises (but for cancellation of its task)."""
        result = KillResult(reason)
        started = time.monotonic()
        end = started + self.deadline_s
        backoff = Backoff(rng=self.rng)
        own_write_ns = time.time_ns()
        self.log(f"kill switch ({reason})")
        while time.monotonic() < end:
            before = result.attempts.copy()
            own_write_ns = max(own_write_ns, await self._trigger_groups(end, result))
            mine = await self._list(end, max(own_write_ns, self.last_write_ns()), result)
            if mine is not None:
                result.resting = [_order_entry(o) for o in mine]
                if not mine:
                    result.verified = True
                    self.log("verified: nothing of this session rests")
                    break
                self.log(f"{len(mine)} orders of the session still rest: cancel")
                own_write_ns = time.time_ns()
                await self._cancel(mine, end, result)
            if any(n != before.get(k, 0) for k, n in result.attempts.items() if k.endswith("_failed")):
                # something failed this round: wait before the next (never a loop of writes)
                await asyncio.sleep(min(backoff.next_wait(), max(0.0, end - time.monotonic())))
            else:
                backoff.reset()
        result.elapsed_s = time.monotonic() - started
        self.log(result.summary())
        return result

    def _count(self, result: KillResult, key: str) -> None:
        result.attempts[key] = result.attempts.get(key, 0) + 1

    async def _call(self, end: float, result: KillResult, step: str, make: Callable[[], Awaitable[T]]
                    ) -> tuple[bool, T | None]:
        """One attempt of a REST step bounded by the deadline: (succeeded, value); logs a failure."""
        self._count(result, step)
        left = min(end - time.monotonic(), self.step_timeout_s)
        if left <= 0:
            return False, None
        try:
            return True, await asyncio.wait_for(make(), left)
        except Exception as exc:  # noqa: BLE001 - every failure is retried after a backoff
            self._count(result, f"{step}_failed")
            self.log(f"kill switch: {step} failed: {exc!r}")
            return False, None

    async def _trigger_groups(self, end: float, result: KillResult) -> int:
        """Trigger each group not yet triggered; return the Unix ns of the last trigger sent (0: none)."""
        todo = [(shard, group) for shard, group in sorted(self.groups.items()) if group not in self.triggered]
        if not todo:
            return 0
        sent = time.time_ns()
        outcomes = await asyncio.gather(*(self._call(end, result, "trigger", functools.partial(
            self.rest.trigger_order_group, group, subaccount=self.subaccount)) for _, group in todo))
        for (shard, group), (ok, _) in zip(todo, outcomes, strict=True):
            if ok:
                self.triggered.add(group)
                self.log(f"order group {group} on shard {shard} triggered")
        return sent

    def _skew_ns(self) -> int:
        """The exchange clock's measured lead over ours when it matters (2 s or more), in ns."""
        skew_s = self.rest.clock_skew_s or 0.0
        return int(skew_s * 1e9) if abs(skew_s) >= 2 else 0

    def _is_mine(self, o: Order, known: Any) -> bool:
        return (o.client_order_id.startswith(self.prefix) or o.order_id in known
                or (o.order_group_id is not None and o.order_group_id in self.groups.values()))

    async def _list(self, end: float, after_ns: int, result: KillResult) -> list[Order] | None:
        """The session's resting orders once REST's user data is past ``after_ns``; None if unknown."""
        while True:
            ok, stamp = await self._call(end, result, "freshness", self.rest.get_user_data_timestamp)
            if not ok or stamp is None:
                return None
            if stamp.as_of_unix_ns > after_ns + self._skew_ns():
                break
            if time.monotonic() >= end:
                return None
            await asyncio.sleep(min(0.05, max(0.0, end - time.monotonic())))

        async def read() -> list[Order]:
            return [o async for o in self.rest.get_orders(status="resting", subaccount=self.subaccount)]

        ok, orders = await self._call(end, result, "list", read)
        if not ok or orders is None:
            return None
        result.attempts["listed"] = result.attempts.get("listed", 0) + 1
        known = set(self.order_ids())
        return [o for o in orders if self._is_mine(o, known)]

    async def _cancel(self, mine: list[Order], end: float, result: KillResult) -> None:
        """Cancel-all, then each order REST showed (a failure of either is retried next round)."""
        await self._call(end, result, "cancel_all", lambda: self.rest.cancel_all_orders(
            subaccount=self.subaccount))
        for o in mine:
            await self._call(end, result, "cancel", functools.partial(self._cancel_one, o))

    async def _cancel_one(self, o: Order) -> None:
        # a 404 ("already gone") is what the step wants: the next list verifies it
        try:
            await self.rest.cancel_order(o.order_id, ticker=o.ticker, exchange_index=o.exchange_index,
                                         subaccount=self.subaccount)
        except RejectedError:
            pass
