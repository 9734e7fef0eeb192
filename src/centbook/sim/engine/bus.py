"""What every part of the engine shares: the event bus its subscribers listen on, and its ids.

Parts: :class:`EventBus` (subscribers per :data:`~centbook.sim.engine.records.EVENT_KINDS`, the
fast book-delta hooks, and the emitters every part calls) and :class:`IdSource` (the seeded
UUIDs and the order sequence numbers).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable
from typing import Any

from centbook.sim.engine.records import EVENT_KINDS, Clock, EngineEvent, Market, Order, Position

__all__ = ["DeltaHook", "EventBus", "IdSource"]

# version 4 / RFC 4122 variant bits, as uuid.UUID(int=..., version=4) sets them
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID_V4 = (0x8000 << 48) | (4 << 76)

DeltaHook = Callable[[Market, Order, int, Order, int], None]
"""``hook(market, order, delta, cause, ts_ns)``: see :meth:`Exchange.on_book_delta`."""


class IdSource:
    """The identifiers the exchange generates, reproducible from one seeded generator.

    Parameters
    ----------
    rng : random.Random
        Draws the UUIDs (order, fill, trade, group and user ids).
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seq = itertools.count(1)

    def uuid(self) -> str:
        """Return a new version-4 UUID as text."""
        # str(uuid.UUID(int=bits, version=4)), formatted without building a UUID object (the
        # flow makes one per order, trade and fill): same bits, same text
        bits = (self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_V4
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class EventBus:
    """The engine's subscribers and the announcement of every change as an :class:`EngineEvent`.

    Parameters
    ----------
    clock : Clock
        Stamps the events.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.listeners: dict[str, list[Callable[[EngineEvent], None]]] = {k: [] for k in EVENT_KINDS}
        self.delta_hooks: list[DeltaHook] = []

    def subscribe(
        self, callback: Callable[[EngineEvent], None], kinds: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Register ``callback(event)`` for events of ``kinds``; see :meth:`Exchange.subscribe`."""
        wanted = EVENT_KINDS if kinds is None else tuple(kinds)
        unknown = [k for k in wanted if k not in self.listeners]
        if unknown:
            raise ValueError(f"unknown event kinds {unknown}; known: {', '.join(EVENT_KINDS)}")
        for kind in wanted:
            self.listeners[kind].append(callback)

        def unsubscribe() -> None:
            for kind in wanted:
                if callback in self.listeners[kind]:
                    self.listeners[kind].remove(callback)

        return unsubscribe

    def on_book_delta(self, hook: DeltaHook) -> Callable[[], None]:
        """Register a book-delta hook; see :meth:`Exchange.on_book_delta`."""
        self.delta_hooks.append(hook)
        return lambda: self.delta_hooks.remove(hook) if hook in self.delta_hooks else None

    def wants(self, kind: str) -> bool:
        """Return whether anyone listens to events of ``kind``."""
        return bool(self.listeners[kind])

    def emit(self, kind: str, data: dict[str, Any], user_id: str | None = None) -> None:
        """Announce one change of ``kind`` (nothing is built when nobody listens)."""
        subs = self.listeners[kind]
        if not subs:
            return
        event = EngineEvent(kind, self.clock.now_ns(), data, user_id)
        for callback in tuple(subs):
            callback(event)

    def emit_delta(self, market: Market, order: Order, delta: int, cause: Order) -> None:
        """Announce a change of ``delta`` at ``order``'s YES level, caused by ``cause``'s request."""
        hooks = self.delta_hooks
        if not hooks and not self.listeners["book_delta"]:
            return
        ts_ns = self.clock.now_ns()
        for hook in hooks:
            hook(market, order, delta, cause, ts_ns)
        if self.listeners["book_delta"]:
            self.emit("book_delta", {
                "ticker": market.ticker, "side": order.side, "price_bp": order.price_bp, "delta": delta,
                "order_id": order.order_id, "user_id": order.user_id,
                "client_order_id": order.client_order_id, "subaccount": order.subaccount,
                "cause_order_id": cause.order_id, "cause_user_id": cause.user_id,
                "cause_client_order_id": cause.client_order_id,
            })  # fmt: skip

    def emit_order(self, order: Order) -> None:
        """Announce an order as it stands after a change."""
        if self.listeners["order"]:
            self.emit("order", {"order": order}, order.user_id)

    def emit_position(self, ticker: str, user_id: str, subaccount: int, pos: Position) -> None:
        """Announce a position as it stands after a fill or a floor change."""
        self.emit(
            "position",
            {
                "ticker": ticker,
                "subaccount": subaccount,
                "position": pos.position,
                "cost_micro": pos.cost_micro,
                "realized_micro": pos.realized_micro,
                "fees_micro": pos.fees_micro,
                "volume_micro": pos.total_traded_micro,
            },
            user_id,
        )
