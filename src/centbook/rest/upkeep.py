"""The rate budget's upkeep: the account's limits and the endpoint costs, read and re-read.

- :class:`BudgetUpkeep`: reads ``/account/limits`` and ``/account/endpoint_costs`` into the
  :class:`~centbook.rest.budget.RateBudget`, on open, periodically, and again after a 429.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

import aiohttp

from centbook.protocol.errors import KalshiError
from centbook.protocol.models import AccountLimits, EndpointCostList
from centbook.rest.budget import EndpointCosts, Limits, RateBudget
from centbook.rest.reads import Reads

__all__ = ["BudgetUpkeep"]

log = logging.getLogger("centbook.rest")


class BudgetUpkeep:
    """Keeps the budget sized from what the exchange says of the account.

    Parameters
    ----------
    budget : RateBudget
    reads : Reads
        Reads the limits and the costs.
    signed : bool
        The client has credentials (the limits are the account's; the costs are public).
    auto_limits : bool
        Read them at all (see :class:`~centbook.rest.settings.RestSettings`).
    refresh_limits_s : float
        Period of the re-reads.
    """

    def __init__(self, budget: RateBudget, reads: Reads, signed: bool, *, auto_limits: bool,
                 refresh_limits_s: float) -> None:
        self.budget = budget
        self._reads = reads
        self._signed = signed
        self.auto_limits = auto_limits
        self.refresh_limits_s = refresh_limits_s
        self._refresh_task: asyncio.Task[None] | None = None
        self._refresh_pending: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the costs and (signed) the limits; then re-read them in the background."""
        if self.auto_limits:
            await self.refresh_costs()
            if self._signed:
                await self.refresh_limits()
                self._refresh_task = asyncio.get_running_loop().create_task(self._refresh_loop())

    def tasks(self) -> list[asyncio.Task[None] | None]:
        """The background tasks (to cancel on close)."""
        return [self._refresh_task, self._refresh_pending]

    async def refresh_limits(self) -> AccountLimits:
        """Read ``/account/limits`` and size the budget from it."""
        limits = await self._reads.get_account_api_limits()
        self.budget.set_limits(
            Limits(
                limits.read_refill_rate,
                limits.read_bucket_capacity,
                limits.write_refill_rate,
                limits.write_bucket_capacity,
                limits.usage_tier,
            )
        )
        return limits

    async def refresh_costs(self) -> EndpointCostList:
        """Read ``/account/endpoint_costs`` (public) and adopt the costs."""
        costs = await self._reads.get_account_endpoint_costs()
        self.budget.costs = EndpointCosts(
            costs.default_cost, [(c.method, c.path, c.cost) for c in costs.endpoint_costs]
        )
        return costs

    async def _refresh_loop(self) -> None:
        for cycle in itertools.count(1):
            await asyncio.sleep(self.refresh_limits_s)
            try:
                await self.refresh_limits()
                if cycle % 10 == 0:  # costs change rarely (and the endpoint is public)
                    await self.refresh_costs()
            except (KalshiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("could not refresh /account/limits or costs: %s", exc)

    def schedule_recalibration(self) -> None:
        """After a 429: re-read the limits soon, once (a re-read under way covers it)."""
        if not self._signed or not self.auto_limits:
            return
        if self._refresh_pending is None or self._refresh_pending.done():
            self._refresh_pending = asyncio.get_running_loop().create_task(self._reread())

    async def _reread(self) -> None:
        try:
            await self.refresh_limits()
        except (KalshiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not re-read /account/limits after a 429: %s", exc)
