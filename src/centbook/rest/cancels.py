"""The cancel endpoints of the REST client: one order, a batch, every order.

- :class:`Cancels`: each cancel first in the budget queue, resolved by reading the orders back
  after an unknown outcome and re-sent while an order still rests (a cancel only reduces
  exposure).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec

from centbook.protocol.errors import OutcomeUnknownError, RejectedError, WriteNotAppliedError
from centbook.protocol.models import BatchCancelItem, CancelResult, Order
from centbook.rest import budget as _budget
from centbook.rest.armed import StartedWrite
from centbook.rest.orders import Orders
from centbook.rest.outcome import Resolver, resolved_cancel
from centbook.rest.presign import ORDERS_BATCH_PATH, ORDERS_PATH, Presigner

__all__ = ["Cancels"]

log = logging.getLogger("centbook.rest")


class Cancels:
    """Cancel orders: one, a batch, or all.

    Parameters
    ----------
    orders : Orders
        The shards of the orders it created, and what it keeps of them (dropped on a cancel).
    request : callable
        :meth:`centbook.rest.transport.Transport.request`.
    resolver : Resolver
        Settles unknown outcomes.
    presigner : Presigner
        Stops signing ahead for cancelled orders.
    """

    def __init__(self, orders: Orders, request: Any, resolver: Resolver, presigner: Presigner) -> None:
        self._orders = orders
        self._request = request
        self._resolver = resolver
        self._presigner = presigner

    # -- cancels ------------------------------------------------------------------------------------
    async def cancel_order(
        self,
        order_id: str,
        *,
        ticker: str | None = None,
        exchange_index: int | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
        resend: bool = True,
        started: StartedWrite | None = None,
    ) -> CancelResult:
        """Cancel an order (``DELETE /portfolio/events/orders/{id}``); first in the budget queue.

        Pass ``ticker`` or ``exchange_index`` so the request names the order's shard.
        ``started``: the cancel was already written (:meth:`~centbook.rest.armed.Armer.arm_cancel`,
        :meth:`~centbook.rest.armed.Armer.armed_sent`); only its answer is awaited (a resend is a
        new write).

        Parameters
        ----------
        resolve : bool
            When the outcome is unknown, read the order back (default): ``canceled`` or
            ``executed`` settles it at once; still ``resting`` once REST data is past the send
            time plus ``resolve_margin_s`` means the cancel did not take effect.
        resend : bool
            Then send the cancel again (default), as often as needed within
            ``resolve_timeout_s``. This is the one write the client re-sends on its own, because
            a cancel can only reduce exposure: if an earlier copy lands after all, the later
            one is refused harmlessly (the order is gone) and the refusal is resolved the same
            way. With ``resend=False``, :class:`~centbook.protocol.errors.WriteNotAppliedError` is raised.

        Returns
        -------
        CancelResult
            ``resolved``/``outcome``/``resent`` tell a direct answer from a verdict.

        Raises
        ------
        RejectedError
            Refused (e.g. the order does not exist or no longer rests), on the first send.
        WriteNotAppliedError
            The order still rests and ``resend`` is off.
        OutcomeUnknownError
            Still unknown (``resolve=False``, or no verdict within ``resolve_timeout_s``).
        """
        shard = await self._orders.shard(ticker, exchange_index, order_id)
        deadline = time.monotonic() + self._resolver.resolve_timeout_s
        try:
            return await self._cancel_until_done(order_id, ticker, shard, subaccount, resolve, resend,
                                                 started, deadline)
        finally:
            self._orders.forget_order(order_id)

    async def _cancel_until_done(self, order_id: str, ticker: str | None, shard: int | None,
                                 subaccount: int | None, resolve: bool, resend: bool,
                                 started: StartedWrite | None, deadline: float) -> CancelResult:
        """:meth:`cancel_order`'s sends: the first, and the resends while the order still rests."""
        resent = 0
        while True:
            first, started = started, None  # a resend is written anew
            try:
                doc, took, order, exc = await self._orders.order_write(
                    "DELETE", f"{ORDERS_PATH}/{order_id}", order_id, ticker, shard, _budget.CANCEL,
                    (lambda: self._resolver.cancel_probe(order_id)) if resolve else None,
                    params={"subaccount": subaccount, "exchange_index": shard, "market_ticker": ticker},
                    deadline=deadline, started=first,
                )
            except RejectedError as rejected:
                if not resent or rejected.status in (401, 429):
                    raise
                # An earlier copy (or a fill) may have ended the order: say which.
                order = await self._resolver.probe_order(order_id)
                if order is not None and order.status == "resting":
                    raise
                return resolved_cancel(CancelResult, order_id, order, resent)
            if exc is None:
                result = CancelResult.from_json(doc)
                return msgspec.structs.replace(result, resolved=True, resent=resent) if resent else result
            if took:
                return resolved_cancel(CancelResult, order_id, order, resent)
            if not resend:
                raise WriteNotAppliedError(
                    exc.method, exc.path, exc.cause, order_id=order_id, state=order,
                    detail="the order still rests",
                ) from exc
            resent += 1
            log.warning("cancel of %s did not take effect (%s): sending it again", order_id, exc.cause)

    async def batch_cancel_orders(
        self,
        order_ids: list[str],
        *,
        exchange_index: int | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
        resend: bool = True,
    ) -> list[BatchCancelItem]:
        """Cancel several orders in one request (``DELETE /portfolio/events/orders/batched``).

        Parameters
        ----------
        order_ids : list of str
        exchange_index : int, optional
            Shard of the orders (the client knows the shards of orders it created).
        resolve, resend : bool
            As in :meth:`cancel_order`, per order: after an unknown outcome each order is read
            back; orders still resting once REST data is past the send time plus the margin are
            cancelled again in one batch (``resend``) or come back with ``error_code ==
            "not_applied"``.

        Returns
        -------
        list of BatchCancelItem
            One per order id, in request order when the exchange answered (its items) or when
            resolved.
        """
        deadline = time.monotonic() + self._resolver.resolve_timeout_s
        return await self._batch_cancel(order_ids, exchange_index, subaccount, resolve, resend, deadline, 0)

    async def _batch_cancel(
        self,
        order_ids: list[str],
        exchange_index: int | None,
        subaccount: int | None,
        resolve: bool,
        resend: bool,
        deadline: float,
        resent: int,
    ) -> list[BatchCancelItem]:
        items: list[dict[str, Any]] = []
        for oid in order_ids:
            item: dict[str, Any] = {"order_id": oid}
            if subaccount is not None:
                item["subaccount"] = subaccount
            shard = exchange_index if exchange_index is not None else self._orders.shards.get(oid)
            if shard is not None:
                item["exchange_index"] = shard
            items.append(item)
        try:
            doc = await self._request(
                "DELETE", ORDERS_BATCH_PATH, body={"orders": items}, write=True, priority=_budget.CANCEL,
                units=len(items), batch=True, unknown={"order_id": ",".join(order_ids)},
            )
        except OutcomeUnknownError as exc:
            if not resolve:
                raise
            done = await self._resolve_batch_cancel(exc, order_ids, exchange_index, subaccount, resend,
                                                    deadline, resent)
            self._forget_orders(order_ids)
            return [done[oid] for oid in order_ids]
        out = [BatchCancelItem.from_json(x) for x in doc.get("orders") or []]
        if resent:
            out = [await self._settle_resent_item(it, resent) for it in out]
        self._forget_orders(order_ids)
        return out

    async def _resolve_batch_cancel(self, exc: OutcomeUnknownError, order_ids: list[str],
                                    exchange_index: int | None, subaccount: int | None, resend: bool,
                                    deadline: float, resent: int) -> dict[str, BatchCancelItem]:
        """A batch cancel's unknown outcome: each order read back, those still resting re-sent."""
        states: dict[str, Order | None] = {}

        async def probe() -> tuple[bool, None]:
            for oid in order_ids:
                known = states.get(oid)
                if oid not in states or (known is not None and known.status == "resting"):
                    states[oid] = await self._resolver.probe_order(oid)
            return all(o is None or o.status != "resting" for o in states.values()), None

        await self._resolver.settle(exc, probe, deadline)
        done = {oid: resolved_cancel(BatchCancelItem, oid, o, resent)
                for oid, o in states.items() if o is None or o.status != "resting"}
        still = [oid for oid in order_ids if oid not in done]
        if still and resend:
            log.warning("batch cancel did not take effect for %d orders (%s): sending it again",
                        len(still), exc.cause)
            try:
                again = await self._batch_cancel(still, exchange_index, subaccount, True, resend, deadline,
                                                 resent + 1)
            except OutcomeUnknownError as again_exc:
                # the re-sent cancel's outcome is unknown too: say so per order, keep the rest
                for oid in still:
                    done[oid] = BatchCancelItem(
                        order_id=oid, error_code="unknown", resolved=False, order=states[oid],
                        resent=resent + 1,
                        error_message=f"the re-sent cancel's outcome is unknown ({again_exc.cause})",
                    )
            else:
                done.update((it.order_id, it) for it in again)
        for oid in still:
            if oid not in done:
                done[oid] = BatchCancelItem(
                    order_id=oid, error_code="not_applied", resolved=True, order=states[oid],
                    error_message=f"outcome was unknown ({exc.cause}); the order still rests",
                )
        return done

    async def _settle_resent_item(self, item: BatchCancelItem, resent: int) -> BatchCancelItem:
        """A re-sent cancel that was refused: the first copy (or a fill) may have ended the order."""
        if item.ok:
            return msgspec.structs.replace(item, resolved=True, outcome="canceled", resent=resent)
        order = await self._resolver.probe_order(item.order_id)
        if order is not None and order.status == "resting":
            return item
        return resolved_cancel(BatchCancelItem, item.order_id, order, resent)

    async def cancel_all_orders(self, *, subaccount: int | None = None) -> list[str]:
        """Cancel every resting order (``DELETE /portfolio/events/orders``); return their ids.

        An unknown outcome raises :class:`~centbook.protocol.errors.OutcomeUnknownError` unresolved: Kalshi
        may also cancel orders placed in the following minute, so neither the resting orders
        read back nor a second cancel-all tells what this one did; list the resting orders and
        cancel them one by one (or in a batch) if that matters.
        """
        doc = await self._request(
            "DELETE", ORDERS_PATH, params={"subaccount": subaccount}, write=True, priority=_budget.CANCEL,
            unknown={},
        )
        return [str(o.get("order_id")) for o in doc.get("orders") or []]

    def _forget_orders(self, order_ids: list[str]) -> None:
        for oid in order_ids:
            self._presigner.forget(oid)
            self._orders.counts.pop(oid, None)
