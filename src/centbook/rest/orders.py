"""The order endpoints of the REST client that place and change orders: create (one or a batch),
amend, decrease.

- :class:`Orders`: each write with its body, its shard, its budget priority and the read-back
  that settles an unknown outcome; what it learns of each order it created (shard, counts), for
  the cancels (:mod:`centbook.rest.cancels`) and the writes prepared ahead (:mod:`centbook.rest.armed`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from centbook.book import OrderSide
from centbook.fixed import format_price, format_size
from centbook.protocol.errors import (
    OrderNotPlacedError,
    OutcomeUnknownError,
    SettlementFloorError,
    WriteNotAppliedError,
)
from centbook.protocol.models import (
    AmendResult,
    BatchCreateItem,
    CreateOrderResult,
    DecreaseResult,
    Market,
    Order,
    ProtocolError,
)
from centbook.rest import budget as _budget
from centbook.rest.armed import StartedWrite, amend_body
from centbook.rest.outcome import Resolver, WriteOutcome, result_from_order
from centbook.rest.presign import ORDERS_BATCH_PATH, ORDERS_PATH, Presigner
from centbook.rest.reads import Reads

__all__ = ["Orders"]

log = logging.getLogger("centbook.rest")

_R = TypeVar("_R", AmendResult, DecreaseResult)
_TIME_IN_FORCE = ("good_till_canceled", "immediate_or_cancel", "fill_or_kill")
_STP = ("taker_at_cross", "maker")
_TRACKED_ORDERS = 10_000  # per-order memory (shard, counts) kept for at most this many orders
# the optional fields of a create, with their defaults, in the order of Orders.order_body's arguments
_CREATE_OPTIONS = (("time_in_force", "good_till_canceled"), ("self_trade_prevention_type", "taker_at_cross"),
                   ("expiration_time", None), ("post_only", None), ("reduce_only", None),
                   ("cancel_order_on_pause", None), ("order_group_id", None), ("subaccount", None))


def _order_side(side: OrderSide | str, message: str) -> OrderSide:
    """``side`` as an :class:`~centbook.book.OrderSide`; ``ValueError(message)`` if it is none."""
    try:
        return OrderSide(side)
    except ValueError:
        raise ValueError(message) from None


class Orders:
    """The order writes (V2): each safe on an unknown outcome, each naming its order's shard.

    Parameters
    ----------
    request : callable
        :meth:`centbook.rest.transport.Transport.request`.
    reads : Reads
        The market metadata (shards, settlement floors) comes from its cache and its reads.
    resolver : Resolver
        Settles unknown outcomes.
    presigner : Presigner
        Told which orders to sign ahead for and which to forget.
    new_client_order_id : callable
        Makes a ``client_order_id`` when the caller gives none.

    Attributes
    ----------
    shards : dict
        ``order_id -> exchange_index`` of the orders created here.
    counts : collections.OrderedDict
        ``order_id -> (fill_count, remaining_count)`` as the exchange last reported both at
        once, with no write of ours since: the baseline that decides a ``reduce_by``
        decrease's outcome.
    """

    def __init__(self, request: Callable[..., Awaitable[Any]], reads: Reads, resolver: Resolver,
                 presigner: Presigner, new_client_order_id: Callable[[], str]) -> None:
        self._request = request
        self._reads = reads
        self._markets = reads.markets
        self._resolver = resolver
        self._presigner = presigner
        self._new_id = new_client_order_id
        self.shards: dict[str, int] = {}
        self.counts: collections.OrderedDict[str, tuple[int, int]] = collections.OrderedDict()
        self._market_locks: dict[str, asyncio.Lock] = {}

    # -- markets, shards and what is known of each order -------------------------------------------
    async def market_shard(self, ticker: str) -> int:
        """Return a market's ``exchange_index`` (market metadata cached per ticker)."""
        market = self._markets.get(ticker)
        if market is None:
            lock = self._market_locks.setdefault(ticker, asyncio.Lock())
            async with lock:
                market = self._markets.get(ticker)
                if market is None:
                    market = await self._reads.get_market(ticker)
        return market.exchange_index

    def remember_market(self, market: Market) -> None:
        """Cache a market's metadata (its shard is then known without a request)."""
        self._markets[market.ticker] = market

    async def shard(self, ticker: str | None, exchange_index: int | None,
                    order_id: str | None = None) -> int | None:
        """The shard to name: the caller's, a created order's, or the market's (None: no ticker)."""
        if exchange_index is not None:
            return exchange_index
        if order_id is not None and order_id in self.shards:
            return self.shards[order_id]
        if ticker is None:
            return None
        return await self.market_shard(ticker)

    def refuse_below_floor(self, ticker: str, price_bp: int) -> None:
        """Refuse locally what Kalshi would refuse: a YES price at or below a known floor.

        Uses the cached market metadata only (no request): a floor raised since the market was
        cached is caught by the exchange instead; :meth:`remember_market` or
        :meth:`~centbook.rest.reads.Reads.get_market` refresh it.
        """
        market = self._markets.get(ticker)
        if market is not None and market.floor_refuses(price_bp):
            assert market.settlement_floor_bp is not None
            raise SettlementFloorError(ticker, price_bp, market.settlement_floor_bp)

    def order_body(
        self,
        ticker: str,
        side: OrderSide | str,
        price_bp: int,
        count: int,
        client_order_id: str,
        exchange_index: int | None,
        time_in_force: str,
        self_trade_prevention_type: str,
        expiration_time: int | None,
        post_only: bool | None,
        reduce_only: bool | None,
        cancel_order_on_pause: bool | None,
        order_group_id: str | None,
        subaccount: int | None,
    ) -> dict[str, Any]:
        """A create's JSON body (Kalshi's CreateOrderV2Request), checked.

        Raises
        ------
        ValueError
            An argument is not what Kalshi accepts (the message names it).
        SettlementFloorError
            The price is at or below the market's known settlement floor (:meth:`refuse_below_floor`).
        """
        _order_side(side, f"side must be 'bid' (buy YES) or 'ask' (sell YES), got {side!r}")
        if not isinstance(price_bp, int) or not 0 < price_bp < 10000:
            raise ValueError(f"price_bp must be an int in 1..9999 (basis points of $1), got {price_bp!r}")
        if not isinstance(count, int) or count <= 0:
            raise ValueError(f"count must be a positive int (hundredths of a contract), got {count!r}")
        self.refuse_below_floor(ticker, price_bp)
        if time_in_force not in _TIME_IN_FORCE:
            raise ValueError(f"time_in_force must be one of {_TIME_IN_FORCE}")
        if self_trade_prevention_type not in _STP:
            raise ValueError(f"self_trade_prevention_type must be one of {_STP}")
        body: dict[str, Any] = {
            "ticker": ticker,
            "client_order_id": client_order_id,
            "side": side,
            "count": format_size(count),
            "price": format_price(price_bp),
            "time_in_force": time_in_force,
            "self_trade_prevention_type": self_trade_prevention_type,
        }
        if exchange_index is not None:
            body["exchange_index"] = exchange_index
        if expiration_time is not None:
            body["expiration_time"] = int(expiration_time)
        optional = (("post_only", post_only), ("reduce_only", reduce_only),
                    ("cancel_order_on_pause", cancel_order_on_pause), ("order_group_id", order_group_id),
                    ("subaccount", subaccount))
        for key, value in optional:
            if value is not None:
                body[key] = value
        return body

    def note_counts(self, order_id: str, fill_count: int, remaining_count: int) -> None:
        """Keep an order's counts as the exchange reported them (a resting order's only)."""
        if remaining_count <= 0:
            self.counts.pop(order_id, None)
            return
        self.counts[order_id] = (fill_count, remaining_count)
        self.counts.move_to_end(order_id)
        if len(self.counts) > _TRACKED_ORDERS:
            self.counts.popitem(last=False)

    def forget_order(self, order_id: str) -> None:
        """An order is gone (filled, cancelled, expired): drop what the client keeps for it.

        Its pre-made signatures stop being renewed, and its place among the ``presign_orders``
        recent orders goes to a live one. The client learns of cancels itself, of fills only
        from its caller (fills arrive on the WebSocket).
        """
        self._presigner.forget(order_id)
        self.counts.pop(order_id, None)
        self.shards.pop(order_id, None)

    async def order_write(
        self,
        method: str,
        sub_path: str,
        order_id: str,
        ticker: str | None,
        shard: int | None,
        priority: int,
        probe: Callable[[], Awaitable[tuple[bool | None, Any]]] | None,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        deadline: float | None = None,
        started: StartedWrite | None = None,
    ) -> WriteOutcome:
        """Send a write on one order; settle an unknown outcome with ``probe`` (the resolver's
        ``settle``).

        Returns the exchange's answer (``unknown`` None), or, after an unknown outcome, the
        verdict on the state read back (``doc`` None).
        ``probe=None`` (``resolve=False``) re-raises the unknown outcome.
        """
        try:
            doc = await self._request(
                method, sub_path, params=params, body=body, write=True, priority=priority,
                exchange_index=shard, unknown={"order_id": order_id, "ticker": ticker}, started=started,
            )
        except OutcomeUnknownError as exc:
            if probe is None:
                raise
            took, state = await self._resolver.settle(exc, probe, deadline)
            return WriteOutcome(None, took, state, exc)
        return WriteOutcome(doc, True, None, None)

    # -- create -------------------------------------------------------------------------------------
    async def create_order(
        self,
        ticker: str,
        side: OrderSide | str,
        price_bp: int,
        count: int,
        *,
        client_order_id: str | None = None,
        exchange_index: int | None = None,
        time_in_force: str = "good_till_canceled",
        self_trade_prevention_type: str = "taker_at_cross",
        expiration_time: int | None = None,
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        cancel_order_on_pause: bool | None = None,
        order_group_id: str | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
    ) -> CreateOrderResult:
        """Place an order (``POST /portfolio/events/orders``).

        Parameters
        ----------
        ticker : str
            Market ticker.
        side : str
            ``"bid"`` (buy YES) or ``"ask"`` (sell YES = buy NO at ``10000 - price_bp``).
        price_bp : int
            YES limit price in basis points (4200 = $0.42); must be on the market's grid.
        count : int
            Size in hundredths of a contract (1000 = 10 contracts).
        client_order_id : str, optional
            Generated when omitted (:meth:`~centbook.rest.client.RestClient.new_client_order_id`).
        exchange_index : int, optional
            The market's shard; looked up from cached market metadata when omitted.
        time_in_force, self_trade_prevention_type, expiration_time, post_only, reduce_only, \
cancel_order_on_pause, order_group_id, subaccount
            As in Kalshi's CreateOrderV2Request (``expiration_time`` in Unix seconds).
        resolve : bool
            When the outcome is unknown, resolve it before returning (default). Otherwise raise
            :class:`~centbook.protocol.errors.OutcomeUnknownError` at once.

        Returns
        -------
        CreateOrderResult
            ``order_id``, ``client_order_id``, ``fill_count``, ``remaining_count`` (hundredths).

        Raises
        ------
        RejectedError
            The exchange refused the order (4xx); nothing happened.
        OrderNotPlacedError
            The outcome was unknown and the order proved absent; safe to re-send.
        OutcomeUnknownError
            The outcome is still unknown (``resolve=False``, or resolution timed out).
        """
        coid = client_order_id or self._new_id()
        shard = await self.shard(ticker, exchange_index)
        body = self.order_body(ticker, side, price_bp, count, coid, shard, time_in_force,
                               self_trade_prevention_type, expiration_time, post_only, reduce_only,
                               cancel_order_on_pause, order_group_id, subaccount)
        try:
            doc = await self._request(
                "POST", ORDERS_PATH, body=body, write=True, priority=_budget.CREATE, exchange_index=shard,
                unknown={"client_order_ids": [coid], "ticker": ticker},
            )
        except OutcomeUnknownError as exc:
            if not resolve:
                raise
            order = (await self._resolver.resolve_create(exc))[coid]
            if order is None:
                raise OrderNotPlacedError(coid, ticker, exc.cause) from exc
            result = result_from_order(order, shard)
        else:
            result = CreateOrderResult.from_json(doc, ticker, side, price_bp, shard)
        if result.remaining_count > 0:
            if shard is not None:
                self.shards[result.order_id] = shard
            self.note_counts(result.order_id, result.fill_count, result.remaining_count)
            self._presigner.track(result.order_id)
        return result

    async def batch_create_orders(
        self, orders: list[dict[str, Any]], *, resolve: bool = True
    ) -> list[BatchCreateItem]:
        """Place several orders in one request (``POST /portfolio/events/orders/batched``).

        Parameters
        ----------
        orders : list of dict
            Each with the keyword arguments of :meth:`create_order`: ``ticker``, ``side``,
            ``price_bp``, ``count`` and optional ones.
        resolve : bool
            Resolve an unknown outcome (per order, by ``client_order_id``).

        Returns
        -------
        list of BatchCreateItem
            In request order; ``item.ok`` tells accepted from refused. Orders resolved as not
            placed after an unknown outcome come back with ``error_code == "not_placed"``.
        """
        bodies = [await self._batch_body(spec) for spec in orders]
        coids = [b["client_order_id"] for b in bodies]
        tickers = {b["ticker"] for b in bodies}
        try:
            doc = await self._request(
                "POST", ORDERS_BATCH_PATH, body={"orders": bodies}, write=True, priority=_budget.CREATE,
                units=len(bodies), batch=True,
                unknown={"client_order_ids": coids,
                         "ticker": next(iter(tickers)) if len(tickers) == 1 else None},
            )
        except OutcomeUnknownError as exc:
            if not resolve:
                raise
            return await self._resolve_batch_create(exc, bodies, tickers)
        items = doc.get("orders")
        if not isinstance(items, list) or len(items) != len(bodies):
            raise ProtocolError("batch create: the answer does not have one item per order")
        out = [BatchCreateItem.from_json(item, coid) for item, coid in zip(items, coids, strict=True)]
        for item, b in zip(out, bodies, strict=True):
            if item.ok and b.get("exchange_index") is not None:
                self.shards[item.order_id] = b["exchange_index"]
        return out

    async def _batch_body(self, spec: dict[str, Any]) -> dict[str, Any]:
        """One order of a batch create: its body from :meth:`create_order`'s arguments."""
        spec = dict(spec)
        coid = spec.pop("client_order_id", None) or self._new_id()
        ticker, side = spec.pop("ticker"), spec.pop("side")
        price_bp, count = spec.pop("price_bp"), spec.pop("count")
        shard = await self.shard(ticker, spec.pop("exchange_index", None))
        options = [spec.pop(key, default) for key, default in _CREATE_OPTIONS]
        body = self.order_body(ticker, side, price_bp, count, coid, shard, *options)
        if spec:
            raise TypeError(f"unknown order fields: {sorted(spec)}")
        return body

    async def _resolve_batch_create(self, exc: OutcomeUnknownError, bodies: list[dict[str, Any]],
                                    tickers: set[str]) -> list[BatchCreateItem]:
        """A batch create's unknown outcome, resolved per ticker: what was placed and what not."""
        found: dict[str, Order | None] = {}
        for ticker in tickers:
            part = OutcomeUnknownError(
                exc.method, exc.path, exc.cause,
                client_order_ids=[b["client_order_id"] for b in bodies if b["ticker"] == ticker],
                ticker=ticker, sent_unix_ms=exc.sent_unix_ms,
            )
            found.update(await self._resolver.resolve_create(part))
        out = []
        for b in bodies:
            order = found.get(b["client_order_id"])
            if order is None:
                out.append(BatchCreateItem(client_order_id=b["client_order_id"], error_code="not_placed",
                                           error_message=f"outcome was unknown ({exc.cause}); not placed"))
            else:
                out.append(BatchCreateItem(client_order_id=order.client_order_id, order_id=order.order_id,
                                           fill_count=order.fill_count,
                                           remaining_count=order.remaining_count))
        return out

    # -- amend and decrease -------------------------------------------------------------------------
    async def amend_order(
        self,
        order_id: str,
        ticker: str,
        side: OrderSide | str,
        price_bp: int,
        count: int,
        *,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
        exchange_index: int | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
        started: StartedWrite | None = None,
    ) -> AmendResult:
        """Amend price and/or size (``POST /portfolio/events/orders/{id}/amend``).

        ``count`` is the new total (already filled + desired resting), in hundredths. Queue
        priority is kept only when the size decreases. The order keeps its ``order_id``; its
        ``client_order_id`` becomes ``updated_client_order_id`` when one is given.

        Parameters
        ----------
        resolve : bool
            When the outcome is unknown, read the order back (default): the amend took effect
            when the order shows ``updated_client_order_id`` (if given; only this amend can set
            it), or else the new price and ``fill_count + remaining_count == count``. An amend
            is never re-sent by the client (it can add exposure).
        started : StartedWrite, optional
            This amend was already written by :meth:`~centbook.rest.armed.Armer.start_amend`,
            called with the same arguments: only its answer is awaited here.

        Raises
        ------
        RejectedError
            The exchange refused the amend; nothing changed.
        WriteNotAppliedError
            The outcome was unknown and the order still rests as before (``state`` holds it).
        OutcomeUnknownError
            Still unknown (``resolve=False``, or no verdict within ``resolve_timeout_s``).
        """
        _order_side(side, "side must be 'bid' or 'ask'")
        self.refuse_below_floor(ticker, price_bp)
        shard = await self.shard(ticker, exchange_index, order_id)
        body = amend_body(ticker, side, format_price(price_bp), format_size(count), client_order_id,
                          updated_client_order_id, shard)
        self.counts.pop(order_id, None)  # the amend's answer carries no cumulative fills

        def probe() -> Awaitable[tuple[bool | None, Order | None]]:
            return self._amend_probe(order_id, price_bp, count, updated_client_order_id)

        doc, took, order, exc = await self.order_write(
            "POST", f"{ORDERS_PATH}/{order_id}/amend", order_id, ticker, shard, _budget.AMEND,
            probe if resolve else None, params={"subaccount": subaccount}, body=body, started=started,
        )
        if exc is None:
            return AmendResult.from_json(doc)
        if not took:
            raise WriteNotAppliedError(
                exc.method, exc.path, exc.cause, order_id=order_id, state=order,
                detail=f"the order rests at {order.yes_price_bp} bp with "
                f"{order.remaining_count} hundredths remaining",
            ) from exc
        return self._resolved(AmendResult, order_id, order, fill_count=None, average_fill_price_micro=None,
                              average_fee_paid_micro=None)

    async def _amend_probe(self, order_id: str, price_bp: int, count: int,
                           updated_client_order_id: str | None) -> tuple[bool | None, Order | None]:
        order = await self._resolver.probe_order(order_id)
        if order is None or order.status != "resting":
            return True, order  # gone: the amend is moot
        # fills move contracts from remaining to filled: the total stays what the amend set
        shaped = order.yes_price_bp == price_bp and order.fill_count + order.remaining_count == count
        renamed = bool(updated_client_order_id) and order.client_order_id == updated_client_order_id
        if shaped and (renamed or not updated_client_order_id):
            return True, order
        if not shaped and not renamed:
            return False, order
        return None, order  # renamed but reshaped since (or the id did not change): look again

    def _resolved(self, result: type[_R], order_id: str, order: Order | None, **none: None) -> _R:
        """An amend's or a decrease's result from the order read back after an unknown outcome
        (``none``: the result's fields a read-back cannot tell)."""
        if order is None:
            return result(order_id=order_id, client_order_id="", remaining_count=0, ts_ms=None, resolved=True,
                          outcome="not_found", **none)
        self.note_counts(order_id, order.fill_count, order.remaining_count)
        return result(order_id=order.order_id, client_order_id=order.client_order_id,
                      remaining_count=order.remaining_count, ts_ms=None, resolved=True,
                      outcome="applied" if order.status == "resting" else order.status, order=order, **none)

    async def decrease_order(
        self,
        order_id: str,
        *,
        reduce_by: int | None = None,
        reduce_to: int | None = None,
        ticker: str | None = None,
        exchange_index: int | None = None,
        subaccount: int | None = None,
        resolve: bool = True,
    ) -> DecreaseResult:
        """Decrease an order by or to a size in hundredths (exactly one of the two).

        Billed and prioritised like a cancel (it reduces exposure).

        Parameters
        ----------
        resolve : bool
            When the outcome is unknown, read the order back (default). ``reduce_to``: it took
            effect when no more than ``reduce_to`` rests. ``reduce_by``: the remaining count is
            compared with the one expected from the last counts the exchange reported for the
            order (its create answer or a resolution read) and its fills since; without such a
            baseline (e.g. right after another decrease or an amend) a ``reduce_by`` decrease
            cannot be resolved and raises :class:`~centbook.protocol.errors.OutcomeUnknownError` at once:
            use ``reduce_to`` where the outcome matters. A decrease is never re-sent by the
            client (a second ``reduce_by`` would reduce twice).

        Raises
        ------
        RejectedError
            Refused (e.g. the order no longer rests); nothing changed.
        WriteNotAppliedError
            The outcome was unknown and the order still rests as before.
        OutcomeUnknownError
            Still unknown (``resolve=False``, no baseline for ``reduce_by``, or no verdict
            within ``resolve_timeout_s``).
        """
        if (reduce_by is None) == (reduce_to is None):
            raise ValueError("give exactly one of reduce_by and reduce_to")
        shard = await self.shard(ticker, exchange_index, order_id)
        body: dict[str, Any] = {}
        if reduce_by is not None:
            body["reduce_by"] = format_size(reduce_by)
        else:
            assert reduce_to is not None
            body["reduce_to"] = format_size(reduce_to)
        if shard is not None:
            body["exchange_index"] = shard
        if ticker is not None:
            body["market_ticker"] = ticker
        baseline = self.counts.pop(order_id, None)
        resolvable = resolve and (reduce_to is not None or baseline is not None)

        def probe() -> Awaitable[tuple[bool | None, Order | None]]:
            return self._decrease_probe(order_id, reduce_by, reduce_to, baseline)

        try:
            outcome = await self.order_write(
                "POST", f"{ORDERS_PATH}/{order_id}/decrease", order_id, ticker, shard, _budget.CANCEL,
                probe if resolvable else None, params={"subaccount": subaccount}, body=body,
            )
        except OutcomeUnknownError as unknown:
            if resolve and not resolvable:
                unknown.cause += "; a reduce_by decrease without known prior counts cannot be resolved"
            raise
        result = self._decreased(order_id, outcome)
        if result.remaining_count == 0:
            self._presigner.forget(order_id)
        return result

    def _decreased(self, order_id: str, outcome: WriteOutcome) -> DecreaseResult:
        """A decrease's result: the exchange's answer, or the verdict of the read-back."""
        doc, took, order, exc = outcome
        if exc is None:
            return DecreaseResult.from_json(doc)
        if not took:
            raise WriteNotAppliedError(
                exc.method, exc.path, exc.cause, order_id=order_id, state=order,
                detail=f"{order.remaining_count} hundredths still rest",
            ) from exc
        return self._resolved(DecreaseResult, order_id, order)

    async def _decrease_probe(
        self,
        order_id: str,
        reduce_by: int | None,
        reduce_to: int | None,
        baseline: tuple[int, int] | None,
    ) -> tuple[bool | None, Order | None]:
        order = await self._resolver.probe_order(order_id)
        if order is None or order.status != "resting":
            return True, order  # nothing rests: what the decrease was for
        if reduce_to is not None:
            return order.remaining_count <= reduce_to, order
        assert reduce_by is not None and baseline is not None
        fill0, remaining0 = baseline
        without = remaining0 - (order.fill_count - fill0)  # fills only shrink what rests
        with_it = max(0, without - reduce_by)
        if order.remaining_count == with_it:
            return True, order
        if order.remaining_count == without:
            return False, order
        return None, order  # changed by something else: look again (or time out)
