"""The exchange's order requests: place, amend, decrease, cancel, and the expiry of orders.

Each request is checked in Kalshi's order (shard, market, price, size, ids, balance) and every
rejection is a :class:`~centbook.sim.errors.SimError`; an accepted order goes to the books.

Parts: :class:`OrderDesk`.
"""

from __future__ import annotations

import heapq

from centbook.book import OrderSide
from centbook.sim.engine.accounts import Ledger
from centbook.sim.engine.bus import EventBus, IdSource
from centbook.sim.engine.groups import OrderGroups
from centbook.sim.engine.lifecycle import Lifecycle
from centbook.sim.engine.matching import Matcher
from centbook.sim.engine.records import MAX_BP, Clock, EngineFill, Market, Order, User
from centbook.sim.errors import SimError, invalid_order, not_found

__all__ = ["OrderDesk"]

_BID = OrderSide.BID  # a module constant: read on every order, cheaper than the class attribute
# an order's side from its wire string or itself (they hash alike): a tenth of OrderSide(side)
_SIDES = {side.value: side for side in OrderSide}


def _not_resting(order: Order) -> SimError:
    return SimError(
        404, "order_not_found", "order not found", f"order {order.order_id} is {order.status}, not resting"
    )


def _coid_used(client_order_id: str) -> SimError:
    return SimError(
        409,
        "order_already_exists",
        "order already exists",
        f"client_order_id {client_order_id!r} was already used",
    )


def _check_open(market: Market) -> None:
    if not market.accepting_orders:
        raise SimError(
            400,
            "market_closed",
            "market is not open for trading",
            f"market {market.ticker} status is {market.status}",
        )


def _check_price(market: Market, price_bp: int, grid_detail: str) -> None:
    """Raise unless ``price_bp`` is on the market's grid and above its settlement floor."""
    if not market.grid.is_valid(price_bp, 0) or price_bp <= 0 or price_bp >= MAX_BP:
        raise invalid_order(
            f"price {price_bp / MAX_BP:.4f} is not on the price grid of {market.ticker}{grid_detail}"
        )
    if market.floor_bp and price_bp <= market.floor_bp:
        raise invalid_order(
            f"YES price {price_bp / MAX_BP:.4f} (NO price {(MAX_BP - price_bp) / MAX_BP:.4f}) must be "
            f"above the settlement floor {market.floor_bp / MAX_BP:.4f} of {market.ticker} "
            f"(a NO price below ${(MAX_BP - market.floor_bp) / MAX_BP:.4f})"
        )


class OrderDesk:
    """Every order of the exchange and the requests that change them.

    Parameters
    ----------
    orders : dict
        Every order by id.
    clock, ids, bus, ledger, matcher, lifecycle, groups
        The exchange clock, its id source, its event bus, its money, its books, its market and
        shard status, and its order groups.
    """

    def __init__(
        self,
        orders: dict[str, Order],
        clock: Clock,
        ids: IdSource,
        bus: EventBus,
        ledger: Ledger,
        matcher: Matcher,
        lifecycle: Lifecycle,
        groups: OrderGroups,
    ) -> None:
        self.orders = orders
        self.clock = clock
        self.ids = ids
        self.bus = bus
        self.ledger = ledger
        self.matcher = matcher
        self.lifecycle = lifecycle
        self.groups = groups
        self.expiries: list[tuple[int, int, Order]] = []  # (expiration_s, seq, order) min-heap

    # -- placing ------------------------------------------------------------------------------------
    def create_order(
        self,
        user_id: str,
        *,
        ticker: str,
        side: OrderSide | str,
        count: int,
        price_bp: int,
        time_in_force: str,
        stp: str,
        exchange_index: int,
        subaccount: int = 0,
        client_order_id: str = "",
        expiration_s: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        cancel_on_pause: bool = False,
        order_group_id: str | None = None,
    ) -> tuple[Order, list[EngineFill]]:
        """Place an order (validated fields) and match it.

        Parameters
        ----------
        user_id : str
            The user placing it.
        ticker, side, count, price_bp
            The market, :class:`~centbook.book.OrderSide` (or its wire string), the size in
            hundredths and the YES price in basis points.
        time_in_force : {"good_till_canceled", "immediate_or_cancel", "fill_or_kill"}
            How long it may rest.
        stp : {"taker_at_cross", "maker"}
            Self-trade prevention: cancel this order, or the resting one.
        exchange_index : int
            The shard the request went to (see :meth:`Exchange.route`).
        subaccount, client_order_id, expiration_s, post_only, reduce_only, cancel_on_pause, order_group_id
            As Kalshi's order fields; ``expiration_s`` in Unix seconds.

        Returns
        -------
        (Order, list of EngineFill)
            The order as it stands after matching and the fills it took as taker.

        Raises
        ------
        SimError
            For every rejection (market closed, off-grid price, insufficient balance, ...).
        """
        order_side = _SIDES.get(side)
        if order_side is None:
            raise ValueError(f"side must be 'bid' or 'ask', got {side!r}")
        side = order_side
        user = self.ledger.users[user_id]
        market = self.lifecycle.market(ticker)
        self._check_placement(user_id, market, exchange_index, subaccount)
        _check_price(market, price_bp, f" ({market.price_level_structure}: {market.price_ranges})")
        now_ns = self.clock.now_ns()
        self._check_fields(user, count, client_order_id, time_in_force, expiration_s, now_ns)
        group = None
        if order_group_id is not None:
            group = self.groups.for_order(user_id, order_group_id, exchange_index)
        if reduce_only:
            count = self._reducible(user_id, subaccount, ticker, side, count)
        crosses = self.matcher.crosses(market, side, price_bp)
        if post_only and crosses:
            raise invalid_order("post only cross")
        self._check_balance(
            user_id, subaccount, exchange_index, self.ledger.reserve_for(market, side, price_bp, count)
        )
        # positional: half the cost of keywords for a 31-field dataclass, once per order
        order = Order(
            self.ids.uuid(), user_id, subaccount, ticker, exchange_index, side, price_bp, count,
            0,  # filled
            count,  # remaining
            "resting", client_order_id, time_in_force, stp, post_only, reduce_only, cancel_on_pause,
            order_group_id, expiration_s, now_ns, now_ns, next(self.ids.seq),
        )  # fmt: skip
        self._register(user, order)
        fills = self._place(market, order, crosses)
        if group is not None:
            self.groups.check(group)
        return order, fills

    def _check_balance(self, user_id: str, subaccount: int, exchange_index: int, need: int) -> None:
        """Raise ``insufficient_balance`` unless the account has ``need`` available."""
        acct = self.ledger.account(user_id, subaccount, exchange_index)
        if acct.available_micro < need:
            raise SimError(
                400,
                "insufficient_balance",
                "insufficient balance",
                f"order needs ${need / 1e6:.6f} on exchange shard {exchange_index}, "
                f"available ${acct.available_micro / 1e6:.6f}",
            )

    def _check_placement(self, user_id: str, market: Market, exchange_index: int, subaccount: int) -> None:
        """Raise unless the subaccount, the shard and the market take a new order."""
        self.ledger.check_subaccount(user_id, subaccount)
        if exchange_index != market.exchange_index:
            # Kalshi checks collateral on the shard the request went to: a wrong shard is
            # a balance failure there, not a routing hint.
            raise SimError(
                400,
                "insufficient_balance",
                "insufficient balance",
                f"market {market.ticker} is on exchange shard {market.exchange_index}; "
                f"this order was routed to shard {exchange_index}",
            )
        self.lifecycle.check_exchange(exchange_index, trading=True)
        _check_open(market)

    @staticmethod
    def _check_fields(
        user: User,
        count: int,
        client_order_id: str,
        time_in_force: str,
        expiration_s: int | None,
        now_ns: int,
    ) -> None:
        """Raise unless the size, the client order id and the expiration are acceptable."""
        if count <= 0:
            raise SimError(400, "invalid_order_size", "invalid order size", "count must be positive")
        if client_order_id and client_order_id in user.client_order_ids:
            raise _coid_used(client_order_id)
        if expiration_s is not None:
            if time_in_force != "good_till_canceled":
                raise invalid_order("expiration_time is only allowed with good_till_canceled")
            if expiration_s <= now_ns // 1_000_000_000:
                raise invalid_order("Expiration timestamp must be in the future")

    def _reducible(self, user_id: str, subaccount: int, ticker: str, side: OrderSide, count: int) -> int:
        """Return ``count`` capped to what reduces the position; raise if nothing would."""
        pos = self.ledger.positions.get((user_id, subaccount, ticker))
        held = pos.position if pos else 0
        reducible = max(-held, 0) if side == _BID else max(held, 0)
        if reducible <= 0:
            raise invalid_order("reduce_only order would not reduce a position")
        return min(count, reducible)

    def _register(self, user: User, order: Order) -> None:
        self.orders[order.order_id] = order
        user.orders.append(order)
        if order.client_order_id:
            user.client_order_ids[order.client_order_id] = order
        if order.expiration_s is not None:
            heapq.heappush(self.expiries, (order.expiration_s, order.seq, order))

    def _place(self, market: Market, order: Order, crosses: bool) -> list[EngineFill]:
        """Match a new order, then rest it or end it as its time in force says; return its fills."""
        fills: list[EngineFill] = []
        time_in_force = order.time_in_force
        if time_in_force == "fill_or_kill" and self.matcher.fillable(market, order) < order.remaining:
            order.remaining = 0
            order.status = "canceled"
            order.last_update_reason = "FillOrKillCancel"
            self.bus.emit_order(order)
            self.ledger.touch()
            return fills
        if crosses:  # nothing to match otherwise (the book has not changed since the check)
            self.matcher.match(market, order, fills)
        if order.status == "resting" and order.remaining > 0:
            if time_in_force in ("immediate_or_cancel", "fill_or_kill"):
                order.remaining = 0
                order.status = "canceled"
                order.last_update_reason = "ImmediateOrCancel"
            else:
                self.matcher.rest(market, order)
        elif order.remaining == 0 and order.status == "resting":
            order.status = "executed"
        self.bus.emit_order(order)
        self.ledger.touch()
        return fills

    # -- changing -----------------------------------------------------------------------------------
    def get_order(self, user_id: str, order_id: str, subaccount: int | None = None) -> Order:
        """Return a user's order (of ``subaccount`` if given); ``order_not_found`` otherwise."""
        order = self.orders.get(order_id)
        if (
            order is None
            or order.user_id != user_id
            or (subaccount is not None and order.subaccount != subaccount)
        ):
            raise not_found(
                f"order {order_id!r} not found", code="order_not_found", message="order not found"
            )
        return order

    def _writable(
        self, user_id: str, order_id: str, subaccount: int, exchange_index: int, *, trading: bool
    ) -> Order:
        """Return an order a write on ``exchange_index`` may change (the shard must be up)."""
        order = self.get_order(user_id, order_id, subaccount)
        if order.exchange_index != exchange_index:
            # the shard the request went to does not know this order
            raise not_found(
                f"order {order_id!r} not found on exchange shard {exchange_index} "
                f"(it lives on shard {order.exchange_index}; pass exchange_index or market_ticker)",
                code="order_not_found",
                message="order not found",
            )
        self.lifecycle.check_exchange(exchange_index, trading=trading)
        return order

    def cancel_order(
        self, user_id: str, order_id: str, subaccount: int, exchange_index: int
    ) -> tuple[Order, int]:
        """Cancel a resting order; return it and the size removed (0 if it was no longer resting)."""
        order = self._writable(user_id, order_id, subaccount, exchange_index, trading=False)
        if order.status != "resting":
            raise _not_resting(order)
        return order, self.matcher.cancel(order, "Cancel")

    def decrease_order(
        self,
        user_id: str,
        order_id: str,
        subaccount: int,
        exchange_index: int,
        reduce_by: int | None,
        reduce_to: int | None,
    ) -> Order:
        """Reduce a resting order's remaining size (to 0 = cancel); queue priority is kept."""
        order = self._writable(user_id, order_id, subaccount, exchange_index, trading=False)
        if order.status != "resting":
            raise _not_resting(order)
        target = max(order.remaining - reduce_by, 0) if reduce_by is not None else reduce_to
        assert target is not None
        if target > order.remaining:
            raise invalid_order(
                f"reduce_to {target / 100:.2f} is above the remaining {order.remaining / 100:.2f}"
            )
        if target == order.remaining:
            return order
        if target == 0:
            self.matcher.cancel(order, "Decrease")
            return order
        market = self.lifecycle.markets[order.ticker]
        self.matcher.unrest(market, order, order.remaining - target)
        order.updated_ns = self.clock.now_ns()
        order.last_update_reason = "Decrease"
        self.ledger.set_reserve(order, market)
        self.bus.emit_order(order)
        self.ledger.touch()
        return order

    def amend_order(
        self,
        user_id: str,
        order_id: str,
        subaccount: int,
        exchange_index: int,
        *,
        ticker: str,
        side: OrderSide | str,
        price_bp: int,
        count: int,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
    ) -> tuple[Order, list[EngineFill]]:
        """Change price and/or total size (``count`` includes what already filled).

        Queue priority is kept only when the size decreases at the same price; otherwise the order
        goes to the back of its (new) level, and it may cross and fill at once. ``ticker``,
        ``side`` and ``client_order_id`` must be the order's own; ``updated_client_order_id``
        renames it.

        Returns
        -------
        (Order, list of EngineFill)
            The order after the change and the fills it took as taker.
        """
        order = self._writable(user_id, order_id, subaccount, exchange_index, trading=True)
        user = self.ledger.users[user_id]
        self._check_same_order(order, ticker, side, client_order_id)
        market = self.lifecycle.markets[order.ticker]
        _check_open(market)
        _check_price(market, price_bp, "")
        new_remaining = count - order.filled
        if new_remaining <= 0:
            raise SimError(
                400,
                "invalid_order_size",
                "invalid order size",
                f"count {count / 100:.2f} must exceed the filled {order.filled / 100:.2f}",
            )
        renamed = bool(updated_client_order_id) and updated_client_order_id != order.client_order_id
        if renamed and updated_client_order_id in user.client_order_ids:
            raise _coid_used(str(updated_client_order_id))
        extra = self.ledger.reserve_for(market, order.side, price_bp, new_remaining) - order.reserved_micro
        acct = self.ledger.account(user_id, subaccount, exchange_index)
        if extra > 0 and acct.available_micro < extra:
            raise SimError(
                400,
                "insufficient_balance",
                "insufficient balance",
                f"amend needs ${extra / 1e6:.6f} more on exchange shard {exchange_index}",
            )
        if renamed:
            assert updated_client_order_id is not None
            user.client_order_ids[updated_client_order_id] = order
            order.client_order_id = updated_client_order_id
        now = self.clock.now_ns()
        fills = self._reprice(market, order, price_bp, new_remaining)
        order.initial = count
        order.updated_ns = now
        if order.last_update_reason != "Trade":
            order.last_update_reason = "Amend"
        self.ledger.set_reserve(order, market)
        self.bus.emit_order(order)
        self.ledger.touch()
        return order, fills

    @staticmethod
    def _check_same_order(
        order: Order, ticker: str, side: OrderSide | str, client_order_id: str | None
    ) -> None:
        """Raise unless an amend names the order's own ticker, side and client order id."""
        if order.ticker != ticker:
            raise SimError(
                400,
                "order_ticker_mismatch",
                "order ticker mismatch",
                f"order {order.order_id} is on {order.ticker}, not {ticker}",
            )
        if order.side != side:
            raise SimError(
                400,
                "order_side_mismatch",
                "order side mismatch",
                f"order {order.order_id} is a {order.side}, not a {side}",
            )
        if client_order_id is not None and client_order_id != order.client_order_id:
            raise SimError(
                400,
                "order_id_and_client_order_id_mismatch",
                "order id and client order id mismatch",
                f"order {order.order_id} has client_order_id {order.client_order_id!r}",
            )
        if order.status != "resting":
            raise _not_resting(order)

    def _reprice(self, market: Market, order: Order, price_bp: int, new_remaining: int) -> list[EngineFill]:
        """Move an amended order: in place for a smaller size at the same price, else to the back."""
        fills: list[EngineFill] = []
        if price_bp == order.price_bp and new_remaining <= order.remaining:
            if new_remaining < order.remaining:
                self.matcher.unrest(market, order, order.remaining - new_remaining)
            return fills
        self.matcher.unrest(market, order, order.remaining)
        order.price_bp = price_bp
        order.remaining = new_remaining
        order.seq = next(self.ids.seq)
        self.ledger.set_reserve(order, market)
        self.matcher.match(market, order, fills)
        if order.status == "resting":
            if order.remaining > 0:
                self.matcher.rest(market, order)
            else:
                order.status = "executed"
        return fills

    def cancel_all(
        self, user_id: str, subaccount: int | None, exchange_index: int | None = None
    ) -> list[tuple[Order, int]]:
        """Cancel every resting order of a user (optionally one subaccount / shard); return (order, size)."""
        done = []
        shards = self.lifecycle.shards
        for order in list(self.ledger.users[user_id].orders):
            if order.status != "resting":
                continue
            if subaccount is not None and order.subaccount != subaccount:
                continue
            if exchange_index is not None and order.exchange_index != exchange_index:
                continue
            if not shards.get(order.exchange_index, {}).get("exchange_active", True):
                continue
            done.append((order, self.matcher.cancel(order, "Cancel")))
        return done

    def expire(self, now_s: int) -> None:
        """Cancel the resting orders whose expiration time has come."""
        while self.expiries and self.expiries[0][0] <= now_s:
            _, _, order = heapq.heappop(self.expiries)
            if order.status == "resting" and order.expiration_s is not None and order.expiration_s <= now_s:
                self.matcher.cancel(order, "ExpiryCancel")
