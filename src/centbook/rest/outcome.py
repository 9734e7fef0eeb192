"""How the REST client settles a write whose outcome is unknown.

- :class:`WriteOutcome`: what one write on an order came to, from the exchange's answer or from
  the state read back after an unknown outcome;
- :class:`Resolver`: the read-back discipline (:meth:`Resolver.settle`), the create resolution by
  ``client_order_id`` and the probes of one order;
- :func:`resolved_cancel`, :func:`result_from_order`: results built from an order read back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from centbook.protocol.errors import KalshiError, OutcomeUnknownError, RejectedError
from centbook.protocol.models import (
    BatchCancelItem,
    CancelResult,
    CreateOrderResult,
    Order,
    UserDataTimestamp,
)
from centbook.rest.transport import Transport

__all__ = ["Resolver", "WriteOutcome", "resolved_cancel", "result_from_order"]

log = logging.getLogger("centbook.rest")


class WriteOutcome(NamedTuple):
    """What one write on an order came to.

    Attributes
    ----------
    doc : Any
        The exchange's answer; None when the outcome was unknown and was settled by a read-back.
    took_effect : bool or None
        Whether the write was applied (True when the exchange answered).
    state : Any
        What the read-back probe found (None when the exchange answered).
    unknown : OutcomeUnknownError or None
        The unknown outcome that was settled, None when the exchange answered.
    """

    doc: Any
    took_effect: bool | None
    state: Any
    unknown: OutcomeUnknownError | None


class Resolver:
    """Reads the exchange's state back to decide writes whose outcome is unknown.

    Parameters
    ----------
    transport : Transport
        Its clock skew, its ``unresolved`` creates and its ``stats`` (``resolved``).
    read_order : callable
        ``await read_order(order_id)``: one order (``GET /portfolio/orders/{id}``).
    read_orders : callable
        ``read_orders(ticker=..., min_ts=...)``: an async iterator over the user's orders.
    read_as_of : callable
        ``await read_as_of()``: ``/exchange/user_data_timestamp``.
    resolve_margin_s, resolve_timeout_s : float
        See :class:`~centbook.rest.settings.RestSettings`.
    """

    def __init__(
        self,
        transport: Transport,
        read_order: Callable[[str], Awaitable[Order]],
        read_orders: Callable[..., AsyncIterator[Order]],
        read_as_of: Callable[[], Awaitable[UserDataTimestamp]],
        *,
        resolve_margin_s: float,
        resolve_timeout_s: float,
    ) -> None:
        self._transport = transport
        self._read_order = read_order
        self._read_orders = read_orders
        self._read_as_of = read_as_of
        self.resolve_margin_s = resolve_margin_s
        self.resolve_timeout_s = resolve_timeout_s

    def threshold_ns(self, unknown: OutcomeUnknownError) -> int:
        """REST data as of this Unix time (ns) shows every effect the write can have had."""
        skew_s = self._transport.clock_skew_s or 0.0
        skew_ms = int(skew_s * 1000) if abs(skew_s) >= 2 else 0
        return (unknown.sent_unix_ms + skew_ms + int(self.resolve_margin_s * 1000)) * 1_000_000

    async def settle(
        self,
        unknown: OutcomeUnknownError,
        probe: Callable[[], Awaitable[tuple[bool | None, Any]]],
        deadline: float | None = None,
    ) -> tuple[bool, Any]:
        """Decide a write whose outcome is unknown by reading the exchange's state back.

        The one discipline behind every resolution (creates, cancels, amends, decreases, batch
        cancels, order-group writes). ``probe`` reads the state and returns ``(verdict, state)``:

        * ``True``: the state shows the write's effect, or makes it moot (the order is gone):
          final at once, since REST data can lag but never runs ahead.
        * ``False``: the state is what it would be had the write not happened: final only once
          ``/exchange/user_data_timestamp``, read *before* the probe, is past the send time plus
          ``resolve_margin_s`` (and a measured clock skew); until then the data may simply lag.
        * ``None``: neither (something else changed the order): read again.

        A read that fails (a 429, a 5xx past its retries, a lost connection) is no verdict: it is
        read again. Such an error must never escape as the write's own refusal, which would say
        "nothing changed" about a write that may have taken effect.

        Returns ``(took_effect, state)``; raises ``unknown`` once ``deadline`` (monotonic; default
        ``resolve_timeout_s`` from now) passes without a verdict.
        """
        threshold_ns = self.threshold_ns(unknown)
        if deadline is None:
            deadline = time.monotonic() + self.resolve_timeout_s
        attempt = 0
        while True:
            try:
                as_of = await self._read_as_of()
                verdict, state = await probe()
            except KalshiError as exc:
                log.info("resolving %s %s: read failed (%s); reading again", unknown.method,
                         unknown.path, exc)
                verdict, state = None, None
            else:
                if verdict is True or (verdict is False and as_of.as_of_unix_ns > threshold_ns):
                    self._transport.stats["resolved"] += 1
                    return verdict, state
            if time.monotonic() > deadline:
                raise unknown
            attempt += 1
            await asyncio.sleep(min(0.5, 0.02 * attempt))

    async def resolve_create(self, unknown: OutcomeUnknownError) -> dict[str, Order | None]:
        """Find out whether the orders of a create with an unknown outcome exist.

        Pages ``GET /portfolio/orders?ticker=...&min_ts=...`` and matches ``client_order_id``.
        An order not found counts as not placed only after ``/exchange/user_data_timestamp``
        (read *before* the orders) is past the send time plus ``resolve_margin_s`` (and the
        measured clock skew): before that, REST data may simply lag.

        Returns
        -------
        dict
            ``client_order_id -> Order`` (placed) or ``None`` (not placed).

        Raises
        ------
        OutcomeUnknownError
            Still unknown after ``resolve_timeout_s``.
        """
        wanted = set(unknown.client_order_ids)
        found: dict[str, Order | None] = {}
        if not wanted:
            return found
        min_ts = unknown.sent_unix_ms // 1000 - 120  # generous: clocks and RFC 3339 truncation

        async def probe() -> tuple[bool, None]:
            async for order in self._read_orders(ticker=unknown.ticker, min_ts=min_ts):
                if order.client_order_id in wanted:
                    found[order.client_order_id] = order
            return not (wanted - set(found)), None

        await self.settle(unknown, probe)
        for coid in wanted:
            found.setdefault(coid, None)
            self._transport.unresolved.pop(coid, None)
        return found

    async def probe_order(self, order_id: str) -> Order | None:
        """The order as REST shows it now, or None when the exchange does not know it (404)."""
        try:
            return await self._read_order(order_id)
        except RejectedError as exc:
            if exc.status == 404:
                return None
            raise

    async def cancel_probe(self, order_id: str) -> tuple[bool, Order | None]:
        """Probe of a cancel: it took effect once the order no longer rests."""
        order = await self.probe_order(order_id)
        return order is None or order.status != "resting", order


_C = TypeVar("_C", CancelResult, BatchCancelItem)


def resolved_cancel(cls: type[_C], order_id: str, order: Order | None, resent: int) -> _C:
    """A :class:`CancelResult` or :class:`BatchCancelItem` for a cancel decided by reading back."""
    if order is None:  # the exchange does not know it (any more): nothing of it rests
        return cls(order_id=order_id, client_order_id="", reduced_by=None, ts_ms=None,
                   resolved=True, outcome="not_found", resent=resent)
    return cls(
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        reduced_by=None if order.status == "canceled" else 0,
        ts_ms=None,
        resolved=True,
        outcome=order.status,
        resent=resent,
        order=order,
    )


def result_from_order(order: Order, shard: int | None) -> CreateOrderResult:
    """The result of a create found by reading its order back."""
    return CreateOrderResult(
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        ticker=order.ticker,
        side=order.book_side,
        price_bp=order.yes_price_bp,
        fill_count=order.fill_count,
        remaining_count=order.remaining_count,
        exchange_index=order.exchange_index if order.exchange_index is not None else shard,
        resolved=True,
    )
