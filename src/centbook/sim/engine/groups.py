"""The exchange's order groups: a contracts limit over a rolling 15-second window of fills.

A group whose filled volume in the window exceeds its limit triggers: its resting orders are
cancelled and it takes no new order until it is reset.

Parts: :class:`OrderGroups` (create, look up, trigger, reset, change the limit, delete, and the
check of a group after a match).
"""

from __future__ import annotations

from centbook.sim.engine.accounts import Ledger
from centbook.sim.engine.bus import EventBus, IdSource
from centbook.sim.engine.lifecycle import Lifecycle
from centbook.sim.engine.matching import Matcher
from centbook.sim.engine.records import Clock, Order, OrderGroup
from centbook.sim.errors import SimError, bad_request, not_found

__all__ = ["OrderGroups"]


def _check_limit(limit: int) -> None:
    if not 100 <= limit <= 1_000_000 * 100:
        raise bad_request(f"contracts_limit must be 1 to 1,000,000, got {limit / 100:.2f}")


def _group_not_found(group_id: str) -> SimError:
    return not_found(
        f"order group {group_id!r} not found",
        code="order_group_not_found",
        message="order group not found",
    )


class OrderGroups:
    """Every order group of the exchange and its rules.

    Parameters
    ----------
    groups : dict
        The exchange's order groups by id.
    clock, ids, bus, ledger, matcher, lifecycle
        The exchange clock, its id source, its event bus, its money (users), its books (a
        trigger cancels) and its shard status.
    """

    def __init__(
        self,
        groups: dict[str, OrderGroup],
        clock: Clock,
        ids: IdSource,
        bus: EventBus,
        ledger: Ledger,
        matcher: Matcher,
        lifecycle: Lifecycle,
    ) -> None:
        self.groups = groups
        self.clock = clock
        self.ids = ids
        self.bus = bus
        self.ledger = ledger
        self.matcher = matcher
        self.lifecycle = lifecycle

    def create(self, user_id: str, limit: int, subaccount: int, exchange_index: int) -> OrderGroup:
        """Create a group of ``limit`` hundredths per window for one subaccount on one shard."""
        _check_limit(limit)
        self.ledger.check_subaccount(user_id, subaccount)
        self.lifecycle.check_exchange(exchange_index, trading=False)
        group = OrderGroup(self.ids.uuid(), user_id, subaccount, exchange_index, limit)
        self.groups[group.order_group_id] = group
        self.ledger.users[user_id].groups[group.order_group_id] = group
        self._emit(group, "created", contracts_limit=limit)
        return group

    def get(self, user_id: str, group_id: str, exchange_index: int | None = None) -> OrderGroup:
        """Return a user's group (on ``exchange_index`` if given); ``order_group_not_found`` else."""
        group = self.groups.get(group_id)
        if (
            group is None
            or group.user_id != user_id
            or (exchange_index is not None and group.exchange_index != exchange_index)
        ):
            raise _group_not_found(group_id)
        return group

    def for_order(self, user_id: str, group_id: str, exchange_index: int) -> OrderGroup:
        """Return the group a new order joins; raise if it is elsewhere or triggered."""
        group = self.groups.get(group_id)
        if group is None or group.user_id != user_id:
            raise _group_not_found(group_id)
        if group.exchange_index != exchange_index:
            raise bad_request(f"order group {group_id} is on exchange shard {group.exchange_index}")
        if group.triggered:
            raise SimError(
                400,
                "order_group_triggered",
                "order group is triggered",
                f"order group {group_id} must be reset before new orders",
            )
        return group

    def orders(self, group: OrderGroup) -> list[Order]:
        """Return every order (any status) placed in ``group``."""
        return [
            o for o in self.ledger.users[group.user_id].orders if o.order_group_id == group.order_group_id
        ]

    def check(self, group: OrderGroup) -> None:
        """Trigger ``group`` if its window's volume exceeds its limit."""
        if not group.triggered and group.volume(self.clock.now_ns()) > group.limit:
            self.trigger(group)

    def _emit(self, group: OrderGroup, event_type: str, **extra: int) -> None:
        self.bus.emit(
            "order_group",
            {"event_type": event_type, "order_group_id": group.order_group_id, **extra},
            group.user_id,
        )

    def trigger(self, group: OrderGroup) -> None:
        """Trigger a group: cancel its resting orders and block new ones until reset."""
        group.triggered = True
        for order in self.orders(group):
            self.matcher.cancel(order, "OrderGroupCancel")
        self._emit(group, "triggered")

    def reset(self, group: OrderGroup) -> None:
        """Clear a group's trigger and its window."""
        group.triggered = False
        group.window.clear()
        self._emit(group, "reset")

    def set_limit(self, group: OrderGroup, limit: int) -> None:
        """Change a group's limit; it triggers at once if the window is already above it."""
        _check_limit(limit)
        group.limit = limit
        self._emit(group, "limit_updated", contracts_limit=limit)
        self.check(group)

    def delete(self, group: OrderGroup) -> None:
        """Cancel a group's resting orders and remove it."""
        for order in self.orders(group):
            self.matcher.cancel(order, "OrderGroupCancel")
        self.groups.pop(group.order_group_id, None)
        self.ledger.users[group.user_id].groups.pop(group.order_group_id, None)
        self._emit(group, "deleted")
