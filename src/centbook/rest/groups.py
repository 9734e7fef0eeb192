"""The REST client's order-group endpoints: create, read, trigger, reset, delete, change the limit.

:class:`OrderGroups` sends them through the transport. Each write settles an unknown outcome in
the way that is safe for it: trigger and delete by sending again (idempotent), a limit change by
reading the group back, a reset not at all (see each method).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from centbook.fixed import format_size
from centbook.protocol.errors import OutcomeUnknownError, RejectedError, WriteNotAppliedError
from centbook.protocol.models import OrderGroup
from centbook.rest import budget
from centbook.rest.outcome import Resolver
from centbook.rest.transport import backoff

__all__ = ["OrderGroups"]

log = logging.getLogger("centbook.rest")


class OrderGroups:
    """The order-group endpoints of :class:`~centbook.rest.client.RestClient`.

    Parameters
    ----------
    request : callable
        The transport's ``request`` (:meth:`centbook.rest.transport.Transport.request`).
    resolver : Resolver
        Settles a write whose outcome is unknown; its ``resolve_timeout_s`` bounds re-sends.
    """

    def __init__(self, request: Callable[..., Any], resolver: Resolver) -> None:
        self._request = request
        self.resolver = resolver

    async def create_order_group(
        self, contracts_limit: int, *, subaccount: int | None = None, exchange_index: int | None = None
    ) -> str:
        """Create an order group; ``contracts_limit`` in hundredths over a rolling 15 s; return its id."""
        body: dict[str, Any] = {"contracts_limit_fp": format_size(contracts_limit)}
        if subaccount is not None:
            body["subaccount"] = subaccount
        if exchange_index is not None:
            body["exchange_index"] = exchange_index
        doc = await self._request(
            "POST",
            "/portfolio/order_groups/create",
            body=body,
            write=True,
            priority=budget.CREATE,
            unknown={},
        )
        return str(doc["order_group_id"])

    async def get_order_groups(self, *, subaccount: int | None = None) -> list[OrderGroup]:
        """Return the user's order groups."""
        doc = await self._request("GET", "/portfolio/order_groups", params={"subaccount": subaccount})
        return [OrderGroup.from_json(g) for g in doc.get("order_groups") or []]

    async def get_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> OrderGroup:
        """Return one order group with the ids of its orders."""
        doc = await self._request(
            "GET", f"/portfolio/order_groups/{order_group_id}", params={"subaccount": subaccount}
        )
        return OrderGroup.from_json(doc, order_group_id)

    async def _group_write(
        self,
        method: str,
        order_group_id: str,
        action: str,
        priority: int,
        subaccount: int | None,
        body: Any = None,
        *,
        idempotent: bool = False,
        probe: Callable[[], Awaitable[tuple[bool | None, Any]]] | None = None,
    ) -> None:
        """Send an order-group write; resolve an unknown outcome when that can be done safely.

        ``idempotent``: sending it twice has the effect of sending it once (trigger, delete), so
        an unknown outcome is settled by sending it again, until an answer or the resolve timeout;
        a 404 after an unknown outcome means a delete already happened. ``probe``: read the
        group back (:meth:`~centbook.rest.outcome.Resolver.settle`); a "not applied" verdict
        raises WriteNotAppliedError.
        """
        path = f"/portfolio/order_groups/{order_group_id}" + (f"/{action}" if action else "")
        deadline = time.monotonic() + self.resolver.resolve_timeout_s
        unknown_before = False
        resent = 0
        while True:
            try:
                await self._request(
                    method,
                    path,
                    params={"subaccount": subaccount},
                    body=body,
                    write=True,
                    priority=priority,
                    unknown={},
                )
                return
            except OutcomeUnknownError as exc:
                if probe is not None:
                    took, state = await self.resolver.settle(exc, probe, deadline)
                    if not took:
                        raise WriteNotAppliedError(exc.method, exc.path, exc.cause, state=state) from exc
                    return
                if not idempotent or time.monotonic() > deadline:
                    raise
                unknown_before = True
                log.warning("%s %s: outcome unknown (%s); sending it again (idempotent)",
                            method, path, exc.cause)
                resent += 1  # the wait grows: an exchange failing every copy is not hammered
                await asyncio.sleep(backoff(resent))
            except RejectedError as exc:
                if unknown_before and method == "DELETE" and exc.status == 404:
                    return  # the earlier copy deleted it
                raise

    async def trigger_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> None:
        """Trigger a group: cancel its orders and block new ones until reset (cancel priority).

        An unknown outcome is settled by triggering again (a second trigger changes nothing).
        """
        await self._group_write(
            "PUT", order_group_id, "trigger", budget.CANCEL, subaccount, {}, idempotent=True
        )

    async def reset_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> None:
        """Reset a group's matched-contracts counter so orders may be placed again.

        An unknown outcome raises :class:`~centbook.protocol.errors.OutcomeUnknownError`: the counter is
        not visible over REST and a second reset after fills in between would re-arm the group
        again (more exposure than one reset allows), so it is neither resolved nor re-sent.
        """
        await self._group_write("PUT", order_group_id, "reset", budget.CREATE, subaccount, {})

    async def delete_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> None:
        """Delete a group and cancel its orders (cancel priority).

        An unknown outcome is settled by deleting again (a 404 then means the first copy did it).
        """
        await self._group_write("DELETE", order_group_id, "", budget.CANCEL, subaccount, idempotent=True)

    async def update_order_group_limit(
        self, order_group_id: str, contracts_limit: int, *, subaccount: int | None = None
    ) -> None:
        """Change a group's limit (hundredths of a contract over a rolling 15 s).

        An unknown outcome is resolved by reading the group's limit back; still the old limit
        once REST data is past the send time plus the margin raises
        :class:`~centbook.protocol.errors.WriteNotAppliedError`.
        """

        async def probe() -> tuple[bool, OrderGroup]:
            group = await self.get_order_group(order_group_id, subaccount=subaccount)
            return group.contracts_limit == contracts_limit, group

        await self._group_write(
            "PUT",
            order_group_id,
            "limit",
            budget.CREATE,
            subaccount,
            {"contracts_limit_fp": format_size(contracts_limit)},
            probe=probe,
        )
