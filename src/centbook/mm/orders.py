"""The order manager of :class:`centbook.mm.maker.MarketMaker`: quote slots, live orders, writes.

Each quote slot (market, side) has at most one write in flight, run by a task that walks the
slot to its target: cancel first, then create (or amend in place). Order states: PENDING (create
in flight) -> RESTING -> CANCELING -> DONE, or UNKNOWN when a write's outcome is unknown
(resolved from ``user_orders`` first, REST second). Amends and cancels that the read callback
already wrote (here, or by the compiled requote path: :mod:`centbook.mm.quoter`) are taken over,
and only their answers awaited.

Parts: :class:`OrderState`, :class:`LiveOrder`, :class:`Slot`, :class:`MarketInfo` (a market's
metadata and its two slots), :class:`OrderManager` (slots, orders, the writes, their latencies,
outcome resolution).
"""
from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from centbook.book import OrderSide
from centbook.grid import PriceGrid
from centbook.mm.quoter import ArmedAmend
from centbook.mm.stamp import WriteStamp, current_stamp
from centbook.mm.strategy import Quote, top_level
from centbook.protocol.errors import OutcomeUnknownError, RejectedError
from centbook.rest.armed import StartedWrite

if TYPE_CHECKING:  # the maker imports this module to build its part; a part only calls back
    from centbook.mm.maker import MarketMaker

__all__ = ["AMEND_PRESIGN_DEPTH", "LiveOrder", "MarketInfo", "OrderManager", "OrderState", "Slot"]

_ORDERS = "/portfolio/events/orders"
AMEND_PRESIGN_DEPTH = 6  # pre-made signatures kept per resting order's amend path


class OrderState(enum.Enum):
    """Per-order state of the order manager."""

    PENDING = "pending"
    RESTING = "resting"
    CANCELING = "canceling"
    UNKNOWN = "unknown"
    DONE = "done"


# states in which an order of ours may rest on the book (its size is left out of the fair value)
_RESTING_STATES = frozenset((OrderState.RESTING, OrderState.CANCELING, OrderState.PENDING))


@dataclass
class LiveOrder:
    """One of our orders (size = remaining, hundredths)."""

    ticker: str
    side: OrderSide
    price_bp: int
    size: int
    client_order_id: str
    order_id: str = ""
    state: OrderState = OrderState.PENDING
    placed_at: float = 0.0
    filled: int = 0
    shard: int = 0
    unknown: OutcomeUnknownError | None = None


@dataclass
class Slot:
    """A quote slot: one side of one market; at most one write in flight."""

    ticker: str
    side: OrderSide
    live: LiveOrder | None = None
    target: Quote | None = None
    busy: bool = False
    read_ns: int = 0
    applied_ns: int = 0
    decided_ns: int = 0
    queued: bool = False  # the decision found the slot's previous write in flight
    exchange_ts_ms: int = 0  # ts_ms of the read's last book delta (0: none)
    requote_ns: int = 0  # a cancel + create requote: when the cancel was written
    writes: int = 0
    stamp: WriteStamp = field(default_factory=WriteStamp)
    sent_target: Quote | None = None  # the quote the amend in flight asks for
    armed: ArmedAmend | None = None   # armed for the compiled amend path (centbook.mm.quoter)
    arm_key: tuple[Any, ...] = ()      # the order manager's state it was armed for


class _SentAmend(NamedTuple):
    """An amend the read callback already wrote (:meth:`OrderManager.amend_now`, or the compiled
    path: :meth:`centbook.mm.armed.ArmedSlots.on_fired`), or with ``cancel`` the compiled path's
    cancel that starts a cancel + create (``old`` and ``count`` are then unused)."""

    write: StartedWrite
    stamp: WriteStamp
    order: LiveOrder
    quote: Quote
    old: tuple[int, int]  # the order's (price_bp, size) before it
    count: int            # the total sent (filled + resting)
    cancel: bool = False


@dataclass
class MarketInfo:
    """Metadata read at start-up."""

    ticker: str
    grid: PriceGrid
    shard: int
    close_time_ns: int | None
    floor_bp: int | None = None  # settlement floor: every YES price must be above it
    start_position: int = 0
    fair: float | None = None
    drift: int = 0
    ws_position: int | None = None  # last market_positions value (hundredths)
    ws_mismatch_since: float | None = None  # monotonic s since when it disagrees with the ledger
    ws_backfilled: bool = False  # fills were backfilled over REST during this disagreement
    slots: tuple[Slot, ...] = ()  # (bid, ask) quote slots


class OrderManager:
    """The quote slots and this session's orders, and the writes that move them.

    Parameters
    ----------
    mm : MarketMaker
        The maker it works for (its REST client, configuration, counters, latencies).

    Attributes
    ----------
    slots : dict
        (ticker, :class:`~centbook.book.OrderSide`) -> :class:`Slot`.
    orders : dict
        order_id -> :class:`LiveOrder`, every order of this session.
    """

    def __init__(self, mm: MarketMaker) -> None:
        self.mm = mm
        self.slots: dict[tuple[str, OrderSide], Slot] = {}
        self.orders: dict[str, LiveOrder] = {}
        self._first_armed_read = 0  # read_ns of the last read whose first write was armed

    def own(self, ticker: str) -> dict[int, int]:
        """Our resting size per YES price in ``ticker`` (taken off the book by the strategy)."""
        own: dict[int, int] = {}
        for slot in self.mm.markets[ticker].slots:
            live = slot.live
            if live is not None and live.order_id and live.state in _RESTING_STATES:
                own[live.price_bp] = own.get(live.price_bp, 0) + live.size
        return own

    def order_for(self, order_id: str, client_order_id: str | None) -> LiveOrder | None:
        """This session's order of an exchange message, also before its create was answered.

        A user_orders or fill message can arrive before the create's response (a taker hit the
        new order at once): the order is then found in its slot by client_order_id.
        """
        order = self.orders.get(order_id)
        if order is None and client_order_id:
            for slot in self.slots.values():
                live = slot.live
                if live is not None and live.client_order_id == client_order_id:
                    live.order_id = order_id
                    self.orders[order_id] = order = live
                    break
        return order

    def needs_work(self, slot: Slot) -> bool:
        """Whether the slot's order is not yet at its target (a write is due)."""
        live, target = slot.live, slot.target
        if live is None:
            return target is not None
        if live.state is OrderState.UNKNOWN:
            return True
        if target is None:
            return live.state is not OrderState.DONE
        return self.mm.strategy.should_requote(Quote(live.price_bp, live.size), target)

    async def work(self, slot: Slot, sent: _SentAmend | None = None) -> None:
        """Walk one slot to its target, one write at a time (``sent``: an amend already written)."""
        current_stamp.set(slot.stamp)  # this task's requests stamp this slot (mm.stamp)
        try:
            if sent is not None and sent.cancel:
                await self._cancel(slot, sent.order, sent)
            elif sent is not None:
                await self._amend(slot, sent.order, sent.quote, sent)
            while not self.mm.halted or slot.live is not None:
                if self.mm.quoter is not None:
                    # this slot's last write moved our orders: the other slot's arming holds them
                    self.mm.armed_slots.rearm(self.mm.markets[slot.ticker])
                live, target = slot.live, slot.target
                if live is not None and live.state is OrderState.DONE:
                    if live.order_id:
                        self.mm.rest.forget_order(live.order_id)  # its pre-made signatures go to live ones
                    slot.live = live = None
                if live is not None and live.state is OrderState.UNKNOWN:
                    await self._resolve(slot)
                    continue
                if live is None:
                    if target is None or self.mm.halted or self.mm.stopping:
                        break
                    if sum(1 for s in self.slots.values() if s.live) >= self.mm.config.risk.max_open_orders:
                        break
                    await self._create(slot, target)
                    continue
                if target is None or self.mm.strategy.should_requote(Quote(live.price_bp, live.size), target):
                    wait = live.placed_at + self.mm.config.strategy.min_quote_life_s - time.monotonic()
                    if target is not None and wait > 0:
                        await asyncio.sleep(wait)
                        slot.read_ns = 0  # a timer-driven write, not a tick's: untimed
                        continue
                    if (target is not None and self.mm.amend and live.state is OrderState.RESTING
                            and not self.crosses(slot.ticker, slot.side, target.price_bp)):
                        await self._amend(slot, live, target)
                    else:
                        await self._cancel(slot, live)
                    continue
                break
        except Exception as exc:  # noqa: BLE001 - a slot's failure halts rather than dies silently
            self.mm.risk.halt(f"order manager error on {slot.ticker} {slot.side}: {exc!r}")
        finally:
            slot.busy = False
            slot.sent_target = None
        if self.mm.quoter is not None and not self.mm.halted:
            try:
                self.mm.armed_slots.rearm(self.mm.markets[slot.ticker])
            except Exception as exc:  # noqa: BLE001
                self.mm.risk.halt(f"arming the compiled amend of {slot.ticker} {slot.side}: {exc!r}")

    def crosses(self, ticker: str, side: OrderSide, price_bp: int) -> bool:
        """Whether a quote at ``price_bp`` would trade against the book now (amend has no post-only)."""
        assert self.mm.feed is not None
        own = self.own(ticker)
        top = top_level(self.mm.feed.books[ticker], side.opposite, own)
        if top is None:
            return False
        return price_bp >= top[0] if side is OrderSide.BID else price_bp <= top[0]

    def arm_stamp(self, slot: Slot, method: str) -> WriteStamp:
        """Arm the slot's stamp for its next write; the decision it times moves onto the stamp.

        A decision made while this write is in flight times the slot's next write.
        """
        slot.writes += 1
        stamp = slot.stamp
        stamp.arm(method)
        stamp.read_ns, stamp.applied_ns, stamp.decided_ns = slot.read_ns, slot.applied_ns, slot.decided_ns
        stamp.exchange_ts_ms = slot.exchange_ts_ms
        stamp.queued = slot.queued
        # the first write that this socket read's decisions start (the others of the read wait
        # for it: one thread): tick-to-trade as trading desks often quote it, to the first order
        stamp.first = bool(slot.read_ns) and not slot.queued and slot.read_ns != self._first_armed_read
        if stamp.first:
            self._first_armed_read = slot.read_ns
        slot.read_ns = 0
        return stamp

    def _timed(self, stamp: WriteStamp, response_ns: int) -> None:
        """Record a write's latencies once its response (or error) is in."""
        written = stamp.written_ns
        stamp.armed = False
        if not written:
            return  # never reached the transport
        lat = self.mm.latency
        if response_ns:
            lat.written_to_response.record(response_ns - written)
        read = stamp.read_ns
        if not read:
            return
        if stamp.queued:  # waited for the slot's previous write: not the decision path's cost
            lat.tick_to_trade_queued.record(written - read)
            return
        lat.read_to_applied.record(stamp.applied_ns - read)
        lat.applied_to_decision.record(stamp.decided_ns - stamp.applied_ns)
        lat.decision_to_written.record(written - stamp.decided_ns)
        lat.tick_to_trade.record(written - read)
        if stamp.exchange_ts_ms:
            exchange_ns = stamp.exchange_ts_ms * 1_000_000
            lat.exchange_to_written.record(max(0, written + self.mm.wall_offset_ns - exchange_ns))
        path = lat.tick_to_trade_presigned if stamp.presigned else lat.tick_to_trade_signed
        path.record(written - read)
        if stamp.first:
            lat.tick_to_first_write.record(written - read)
            if stamp.presigned:
                lat.tick_to_first_write_presigned.record(written - read)

    async def _create(self, slot: Slot, q: Quote) -> None:
        info = self.mm.markets[slot.ticker]
        coid = self.mm.rest.new_client_order_id()
        order = LiveOrder(slot.ticker, slot.side, q.price_bp, q.size, coid, placed_at=time.monotonic(),
                          shard=info.shard)
        slot.live = order
        stamp = self.arm_stamp(slot, "POST")
        try:
            res = await self.mm.rest.create_order(
                slot.ticker, slot.side, q.price_bp, q.size, client_order_id=coid, exchange_index=info.shard,
                post_only=self.mm.config.strategy.post_only, order_group_id=self.mm.groups.get(info.shard),
                cancel_order_on_pause=self.mm.config.cancel_order_on_pause, subaccount=self.mm.sub,
                resolve=False)
        except RejectedError as exc:
            self._rejected("create", slot, stamp, q, exc)
            slot.live = None
            await asyncio.sleep(0.05)
            return
        except OutcomeUnknownError as exc:
            self._unknown(order, stamp, exc)
            return
        done_ns = self._answered(stamp, "create", "POST", _ORDERS)
        if slot.requote_ns:
            self.mm.latency.requote_cancel_create.record(done_ns - slot.requote_ns)
            slot.requote_ns = 0
        self.mm.counts["creates"] += 1
        order.order_id = res.order_id
        self.orders[res.order_id] = order
        if self.mm.amend and self.mm.rest.presign:
            # one pre-made amend signature per order ran out when amends of one order came
            # back to back (up to 1 write in 5 was then signed inline, ~1 ms on the loop)
            self.mm.rest.pool.set_depth("POST", f"{self.mm.rest.path_prefix}{_ORDERS}/{res.order_id}/amend",
                                        AMEND_PRESIGN_DEPTH)
        order.size = res.remaining_count
        order.filled = res.fill_count
        if order.state is OrderState.PENDING:  # user_orders may have finished it already
            order.state = OrderState.RESTING if res.remaining_count > 0 else OrderState.DONE

    def amend_now(self, slot: Slot) -> _SentAmend | None:
        """Write the slot's amend from the caller's step when it can go at once; else None.

        Only a resting order moving to a target that does not cross, past its minimum quote
        life, with the REST client able to send without waiting (:meth:`RestClient.start_amend`);
        everything else (and the same amend when it cannot go at once) is the slot task's.
        """
        live, q = slot.live, slot.target
        if (q is None or live is None or not self.mm.amend or live.state is not OrderState.RESTING
                or not live.order_id or self.mm.halted or self.mm.stopping
                or live.placed_at + self.mm.config.strategy.min_quote_life_s > time.monotonic()):
            return None
        try:
            if self.crosses(slot.ticker, slot.side, q.price_bp):
                return None
            count = live.filled + q.size  # Kalshi's amend count is the total: filled + resting
            write = self.mm.rest.start_amend(live.order_id, live.ticker, live.side, q.price_bp, count,
                                             exchange_index=live.shard, subaccount=self.mm.sub)
        except Exception as exc:  # noqa: BLE001 - inside the feed's callback: halt, never raise there
            self.mm.risk.halt(f"order manager error on {slot.ticker} {slot.side}: {exc!r}")
            return None
        if write is None:
            return None
        return self.sent(slot, live, q, write, count, "amends_now")

    def sent(self, slot: Slot, live: LiveOrder, q: Quote, write: StartedWrite, count: int,
              counter: str, cancel: bool = False) -> _SentAmend:
        """An amend (or ``cancel``) written from the read callback: the slot's stamp takes its
        write time, the order is PENDING (CANCELING) until the answer, which the slot's task
        awaits."""
        stamp = self.arm_stamp(slot, "DELETE" if cancel else "POST")
        stamp.written_ns, stamp.armed = write.written_ns, False
        stamp.presigned = self.mm.presign_tracker.was_presigned(write.signature)
        old = live.price_bp, live.size
        live.state = OrderState.CANCELING if cancel else OrderState.PENDING
        self.mm.counts[counter] += 1
        return _SentAmend(write, stamp, live, q, old, count, cancel)

    async def _amend(self, slot: Slot, order: LiveOrder, q: Quote, sent: _SentAmend | None = None) -> None:
        """Move a resting order to ``q`` in place (count sent = already filled + new resting size).

        ``sent``: the amend was already written (:meth:`amend_now`); only its answer is awaited.
        """
        if sent is None:
            stamp = self.arm_stamp(slot, "POST")
            old = order.price_bp, order.size
            order.state = OrderState.PENDING
            count = order.filled + q.size  # Kalshi's amend count is the total: filled + resting
        else:
            stamp, old, count = sent.stamp, sent.old, sent.count
        slot.sent_target = q
        # resolve=False on every write: the order manager resolves an unknown outcome itself
        # (user_orders first, REST second) instead of blocking the slot inside the client
        try:
            res = await self.mm.rest.amend_order(order.order_id, order.ticker, order.side, q.price_bp,
                                                 count, exchange_index=order.shard,
                                                 subaccount=self.mm.sub, resolve=False,
                                                 started=sent.write if sent is not None else None)
        except RejectedError as exc:
            # gone (filled or cancelled) or refused: user_orders says which; REST if it does not
            self._rejected("amend", slot, stamp, q, exc)
            order.price_bp, order.size = old
            order.unknown = None
            order.state = OrderState.UNKNOWN
            return
        except OutcomeUnknownError as exc:
            self._unknown(order, stamp, exc)
            return
        done_ns = self._answered(stamp, "amend", "POST", f"{_ORDERS}/{order.order_id}/amend")
        if stamp.written_ns:
            self.mm.latency.requote_amend.record(done_ns - stamp.written_ns)
        self.mm.counts["amends"] += 1
        order.price_bp = q.price_bp
        order.placed_at = time.monotonic()
        if res.remaining_count is not None:
            # filled is what the total leaves unrested; adding the amend's fill_count would count
            # twice what a user_orders message during the await already reported, and the next
            # amend (filled + size) would then rest more than the strategy asked for
            order.size = res.remaining_count
            order.filled = count - res.remaining_count
        else:
            order.size = q.size
        if order.state is OrderState.PENDING:
            order.state = OrderState.RESTING if order.size > 0 else OrderState.DONE

    async def _cancel(self, slot: Slot, order: LiveOrder, sent: _SentAmend | None = None) -> None:
        """Cancel the slot's order (``sent``: the compiled path wrote the cancel; only its answer
        is awaited)."""
        order.state = OrderState.CANCELING
        stamp = self.arm_stamp(slot, "DELETE") if sent is None else sent.stamp
        slot.requote_ns = 0
        try:
            await self.mm.rest.cancel_order(order.order_id, ticker=order.ticker, exchange_index=order.shard,
                                            subaccount=self.mm.sub, resolve=False,
                                            started=sent.write if sent is not None else None)
            self._answered(stamp, "cancel", "DELETE", f"{_ORDERS}/{order.order_id}")
            self.mm.counts["cancels"] += 1
            if slot.target is not None and not self.mm.halted and not self.mm.stopping:
                slot.requote_ns = stamp.written_ns  # a requote: the create follows at once
        except RejectedError as exc:
            if exc.status in (401, 429):
                # refused before the exchange looked at the order (the signature, the rate
                # limit): it may well rest still, so it is not taken for gone; UNKNOWN, and
                # the slot places nothing new until it is resolved (user_orders, then REST)
                self._rejected("cancel", slot, stamp, Quote(order.price_bp, order.size), exc)
                order.unknown = None
                order.state = OrderState.UNKNOWN
                return
            self._timed(stamp, time.monotonic_ns())  # already gone (filled or cancelled)
        except OutcomeUnknownError as exc:
            self._unknown(order, stamp, exc)
            return
        order.state = OrderState.DONE
        slot.live = None

    def _answered(self, stamp: WriteStamp, kind: str, method: str, sub_path: str) -> int:
        """A write was answered (2xx): time it, count its tokens; return the answer's time."""
        done_ns = time.monotonic_ns()
        self._timed(stamp, done_ns)
        self.mm.tokens[kind] += self.mm.rest.budget.cost_of(method, self.mm.rest.path_prefix + sub_path)
        return done_ns

    def _rejected(self, kind: str, slot: Slot, stamp: WriteStamp, q: Quote, exc: RejectedError) -> None:
        self._timed(stamp, time.monotonic_ns())
        self.mm.counts["rejects"] += 1
        if self.mm.counts["rejects"] % 20 == 1:  # the first, then one in 20: a burst stays readable
            self.mm.log(f"{kind} rejected on {slot.ticker} {slot.side} @{q.price_bp}: {exc}")

    def _unknown(self, order: LiveOrder, stamp: WriteStamp, exc: OutcomeUnknownError) -> None:
        self._timed(stamp, 0)
        self.mm.counts["unknown"] += 1
        order.unknown = exc
        order.state = OrderState.UNKNOWN
        self.mm.log(f"outcome unknown: {exc.method} {exc.path} ({exc.cause}); resolving")

    async def _resolve(self, slot: Slot) -> None:
        """An UNKNOWN order: user_orders first (a moment), then REST.

        A create is looked up by its client_order_id (:meth:`RestClient.resolve_create`, which
        concludes "not placed" only once the exchange's user data is past the send time); an
        order with an id (cancel, amend) is read back by id.
        """
        order = slot.live
        assert order is not None
        for _ in range(20):
            if order.state is not OrderState.UNKNOWN:
                return
            await asyncio.sleep(0.025)
        found: Any = None
        if order.order_id:
            try:
                found = await self.mm.rest.get_order(order.order_id)
            except RejectedError as exc:
                if exc.status != 404:
                    # a 429 or 401 says nothing about the order: it may still rest, so it stays
                    # UNKNOWN (its slot places nothing new) and is asked again next round
                    self.mm.log(f"resolving {order.client_order_id}: {exc}; asking again")
                    return
                found = None  # the exchange does not know the order: nothing rests
        elif order.unknown is not None:
            try:
                found = (await self.mm.rest.resolve_create(order.unknown)).get(order.client_order_id)
            except OutcomeUnknownError:
                return  # REST could not tell yet: still UNKNOWN, asked again next round
        if order.state is not OrderState.UNKNOWN:
            return  # user_orders answered meanwhile
        self.mm.counts["resolved"] += 1
        order.unknown = None
        if found is not None:
            order.order_id = found.order_id
            self.orders[found.order_id] = order
        if found is None or found.status != "resting":
            outcome = "not placed" if found is None else found.status
            self.mm.log(f"resolved {order.client_order_id}: {outcome}")
            order.state = OrderState.DONE
            slot.live = None
        else:
            self.mm.log(f"resolved {order.client_order_id}: resting @{found.yes_price_bp}")
            order.price_bp = found.yes_price_bp
            order.size = found.remaining_count
            order.filled = found.fill_count
            order.state = OrderState.RESTING
