"""The exchange itself: one object for the markets, accounts, books and order groups of a sim.

Everything is in integers: prices in basis points of $1 (``price_bp``), sizes in hundredths of a
contract (``size``), money in micro-dollars (``*_micro``), times in Unix nanoseconds (``*_ns``) on
the exchange clock (:class:`Clock`, shiftable for tests). The engine is synchronous and knows
nothing about HTTP: the server turns requests into calls and :class:`~centbook.sim.errors.SimError`
into Kalshi's error bodies. The money model is explained in :mod:`centbook.sim.engine.accounts`.

Every change is announced to the subscribers registered with :meth:`Exchange.subscribe` as an
:class:`EngineEvent` (book deltas with the order that caused them, trades, fills, order updates,
positions, market lifecycle, order-group events), which is what a WebSocket layer publishes.

Parts: :class:`Exchange`, a facade over the engine's parts, each in its own module:
:class:`~centbook.sim.engine.bus.EventBus` and :class:`~centbook.sim.engine.bus.IdSource`,
:class:`~centbook.sim.engine.accounts.Ledger` (accounts and fees),
:class:`~centbook.sim.engine.matching.Matcher` (the books),
:class:`~centbook.sim.engine.lifecycle.Lifecycle` (market status, settlement, shards),
:class:`~centbook.sim.engine.groups.OrderGroups` and
:class:`~centbook.sim.engine.orders.OrderDesk` (order requests).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from centbook.book import OrderSide
from centbook.sim.config import default_config
from centbook.sim.engine.accounts import Ledger
from centbook.sim.engine.bus import DeltaHook, EventBus, IdSource
from centbook.sim.engine.groups import OrderGroups
from centbook.sim.engine.history import DEFAULT_CUTOFF_AGE_S, History
from centbook.sim.engine.lifecycle import Lifecycle
from centbook.sim.engine.matching import Matcher
from centbook.sim.engine.orders import OrderDesk
from centbook.sim.engine.records import (
    ONE_DOLLAR_PER_C100,
    Account,
    Clock,
    EngineEvent,
    EngineFill,
    Event,
    Market,
    Order,
    OrderGroup,
    Position,
    Series,
    User,
    strike_bounds,
)
from centbook.sim.engine.schedule import FEE_TYPES, FeeSchedule

__all__ = ["Exchange"]


class Exchange:
    """The whole exchange state and its rules (synchronous; one asyncio loop drives it).

    Parameters
    ----------
    config : dict, optional
        As :func:`centbook.sim.config.default_config` returns (the default).
    seed : int
        Seeds the identifiers the exchange generates (order, fill, trade and group ids).
    clock : Clock, optional
        The exchange clock; a fresh unshifted one by default.

    Attributes
    ----------
    series, events, markets : dict
        By ticker.
    users, users_by_name : dict
        :class:`User` by id and by name.
    accounts : dict
        :class:`Account` by ``(user_id, subaccount, exchange_index)``.
    positions : dict
        :class:`Position` by ``(user_id, subaccount, ticker)``.
    orders, groups : dict
        :class:`Order` and :class:`OrderGroup` by id.
    shards : dict
        Shard number -> ``{"exchange_active", "trading_active"}``.
    """

    def __init__(
        self, config: dict[str, Any] | None = None, seed: int = 0, clock: Clock | None = None
    ) -> None:
        self.config = config if config is not None else default_config()
        self.clock = clock or Clock()
        self.rng = random.Random(seed)
        self.series: dict[str, Series] = {}
        self.events: dict[str, Event] = {}
        self.markets: dict[str, Market] = {}
        self.orders: dict[str, Order] = {}
        self.groups: dict[str, OrderGroup] = {}
        self.shards: dict[int, dict[str, bool]] = {}
        ids = IdSource(self.rng)
        self._bus = EventBus(self.clock)
        self._ledger = Ledger(self.config, self.clock, ids, self.shards)
        self.users: dict[str, User] = self._ledger.users
        self.users_by_name: dict[str, User] = self._ledger.users_by_name
        self.accounts: dict[tuple[str, int, int], Account] = self._ledger.accounts
        self.positions: dict[tuple[str, int, str], Position] = self._ledger.positions
        self._matcher = Matcher(self.markets, self.groups, self.clock, ids, self._bus, self._ledger)
        self._lifecycle = Lifecycle(
            self.markets, self.shards, self.orders, self.clock, self._bus, self._ledger, self._matcher
        )
        self._groups = OrderGroups(
            self.groups, self.clock, ids, self._bus, self._ledger, self._matcher, self._lifecycle
        )
        self._matcher.check_group = self._groups.check
        self._desk = OrderDesk(
            self.orders,
            self.clock,
            ids,
            self._bus,
            self._ledger,
            self._matcher,
            self._lifecycle,
            self._groups,
        )
        self.start_s = self.clock.now_ns() // 1_000_000_000
        #: the live/historical split of the reads
        self.history = History(
            self.clock, self.config.get("historical", {}).get("cutoff_age_s", DEFAULT_CUTOFF_AGE_S)
        )
        self._load(self.config)
        self._ledger.touch()

    # -- setup --------------------------------------------------------------------------------------
    def _load(self, config: dict[str, Any]) -> None:
        for s in config.get("series", []):
            mult = float(s.get("fee_multiplier", 0.07))
            fee_type = s.get("fee_type", "quadratic")
            if fee_type not in FEE_TYPES:
                raise ValueError(f"series {s['ticker']}: unknown fee_type {fee_type!r}")
            self.series[s["ticker"]] = Series(
                s["ticker"],
                s.get("title", s["ticker"]),
                s.get("category", ""),
                s.get("frequency", "custom"),
                fee_type,
                mult,
                round(mult * 1_000_000),
            )
        for e in config.get("events", []):
            self.add_event(e)
        for m in config.get("markets", []):
            self.add_market(m, self.start_s)
        for index in range(4):  # Kalshi's shards: 0 default, 1 exotics, 2 crypto, 3 tennis/baseball
            self.shards.setdefault(index, {"exchange_active": True, "trading_active": True})
        #: the configured series fee changes, applied by :meth:`tick` when due
        self.fee_schedule = FeeSchedule(config.get("fee_changes", []), self.series)
        self.tick()
        for u in config.get("users", []):
            self.add_user(u.get("name", "user"), tier=u.get("tier", "basic"), funding=u.get("funding", {}))

    # -- money totals (kept by the ledger) ----------------------------------------------------------
    def add_event(self, spec: dict[str, Any]) -> Event:
        """List a new event (a config ``events`` entry) and announce it (``event_lifecycle``)."""
        if spec["event_ticker"] in self.events:
            raise ValueError(f"event {spec['event_ticker']!r} exists already")
        series = self.series.get(spec.get("series_ticker", ""))
        if series is None:
            raise ValueError(
                f"event {spec['event_ticker']!r}: unknown series_ticker {spec.get('series_ticker')!r}"
            )
        ev = Event(
            spec["event_ticker"],
            series.ticker,
            spec.get("title", spec["event_ticker"]),
            spec.get("sub_title", ""),
            int(spec.get("exchange_index", 0)),
            bool(spec.get("mutually_exclusive", False)),
            series.category,
            str(spec.get("collateral_return_type", "")),
            spec.get("fee_type_override"),
            None if spec.get("fee_multiplier_override") is None else float(spec["fee_multiplier_override"]),
        )
        if ev.fee_type_override not in (None, *FEE_TYPES):
            raise ValueError(
                f"event {ev.event_ticker!r}: fee_type_override must be one of {', '.join(FEE_TYPES)}"
            )
        self.events[ev.event_ticker] = ev
        self.shards.setdefault(ev.exchange_index, {"exchange_active": True, "trading_active": True})
        self._bus.emit("lifecycle", {"event": ev, "event_type": "created"})
        return ev

    def add_market(self, spec: dict[str, Any], start_s: int | None = None) -> Market:
        """List a new market (a config ``markets`` entry) and announce it (``created``).

        ``start_s`` is what its open and close offsets count from (now by default); it opens
        and closes on the next :meth:`tick` when its times say so.
        """
        if spec["ticker"] in self.markets:
            raise ValueError(f"market {spec['ticker']!r} exists already")
        ev = self.events.get(spec.get("event_ticker", ""))
        if ev is None:
            raise ValueError(f"market {spec['ticker']!r}: unknown event_ticker {spec.get('event_ticker')!r}")
        defaults = {
            "open_offset_s": -60, "close_offset_s": 86400, "settlement_timer_seconds": 60,
            **self.config.get("market_defaults", {}),
        }  # fmt: skip
        now_s = self.clock.now_ns() // 1_000_000_000
        start = now_s if start_s is None else start_s
        market = Market(spec, ev, self.series[ev.series_ticker], start, defaults)
        self.markets[market.ticker] = market
        self.shards.setdefault(market.exchange_index, {"exchange_active": True, "trading_active": True})
        self._bus.emit(
            "lifecycle", {"ticker": market.ticker, "event_type": "created", "status": market.status}
        )
        return market

    #: the market fields :meth:`update_market_metadata` changes (Kalshi's ``metadata_updated``)
    METADATA_FIELDS = (
        "yes_sub_title", "no_sub_title", "strike_type", "floor_strike", "cap_strike", "custom_strike",
    )

    def update_market_metadata(self, ticker: str, **fields: Any) -> None:
        """Change a market's titles or strikes and announce it (``metadata_updated``).

        Raises
        ------
        ValueError
            On a field not in :attr:`METADATA_FIELDS` or strikes its strike type refuses.
        """
        market = self.market(ticker)
        unknown = set(fields) - set(self.METADATA_FIELDS)
        if unknown:
            raise ValueError(f"market metadata has no field(s) {sorted(unknown)}; use {self.METADATA_FIELDS}")
        strikes = {k: getattr(market, k) for k in ("strike_type", "floor_strike", "cap_strike")}
        market.strike_type, market.floor_strike, market.cap_strike = strike_bounds(
            ticker, {**strikes, **{k: v for k, v in fields.items() if k in strikes}}
        )
        for name in ("yes_sub_title", "no_sub_title", "custom_strike"):
            if name in fields:
                setattr(market, name, fields[name])
        market.updated_ns = self.clock.now_ns()
        self._bus.emit(
            "lifecycle", {"ticker": ticker, "event_type": "metadata_updated", "status": market.status}
        )

    @property
    def fees_collected_micro(self) -> int:
        """Every fee charged so far, net of rebates."""
        return self._ledger.fees_collected_micro

    @property
    def funded_micro(self) -> int:
        """All cash added (less removed) by :meth:`fund` and the configured funding."""
        return self._ledger.funded_micro

    @property
    def balance_precision_micro(self) -> int:
        """The target balance precision: 100 ($0.0001) or 10,000 ($0.01)."""
        return self._ledger.balance_precision_micro

    @property
    def last_user_data_ns(self) -> int:
        """When any user's orders, balances or positions last changed."""
        return self._ledger.last_user_data_ns

    # -- events -------------------------------------------------------------------------------------
    def subscribe(
        self, callback: Callable[[EngineEvent], None], kinds: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Register ``callback(event)`` for every :class:`EngineEvent`; return an unsubscribe function.

        Callbacks run synchronously inside the engine call that caused the change; they must not
        call back into the engine.

        Parameters
        ----------
        callback : callable
            Called with each event.
        kinds : iterable of str, optional
            Only these :data:`EVENT_KINDS` (default: all). The engine builds no event of a kind
            nobody listens to, so a narrow subscription makes every order cheaper.
        """
        return self._bus.subscribe(callback, kinds)

    def on_book_delta(self, hook: DeltaHook) -> Callable[[], None]:
        """Register ``hook(market, order, delta, cause, ts_ns)`` for every change of a book level.

        The fast form of a ``book_delta`` subscription (no event object, no dict): ``order`` is
        the resting order whose level changed by ``delta`` (signed hundredths, at
        ``order.price_bp`` on ``order.side``), ``cause`` the order whose request caused it (the
        taker for a trade). Objects are live: read them inside the hook. Returns a function that
        removes the hook.
        """
        return self._bus.on_book_delta(hook)

    def wants(self, kind: str) -> bool:
        """Return whether anyone listens to events of ``kind``."""
        return self._bus.wants(kind)

    # -- users, accounts, fees ----------------------------------------------------------------------
    def add_user(self, name: str, tier: str = "basic", funding: dict[Any, Any] | None = None) -> str:
        """Create a user and fund its primary subaccount per shard.

        Parameters
        ----------
        name : str
            A unique name (admin handles use it).
        tier : str
            A key of :data:`centbook.sim.config.TIERS`.
        funding : dict, optional
            ``{exchange_index: dollars}``; dollars as a string (``"1000.00"``) or a number.

        Returns
        -------
        str
            The new user's id (a UUID).
        """
        return self._ledger.add_user(name, tier, funding)

    def fund(self, user_id: str, exchange_index: int, amount_micro: int, subaccount: int = 0) -> None:
        """Add (or with a negative amount remove) cash on one shard's balance of a user."""
        self._ledger.fund(user_id, exchange_index, amount_micro, subaccount)

    def account(self, user_id: str, subaccount: int, exchange_index: int) -> Account:
        """Return the (user, subaccount, shard) balance, created empty on first use."""
        return self._ledger.account(user_id, subaccount, exchange_index)

    def position(self, user_id: str, subaccount: int, market: Market) -> Position:
        """Return a subaccount's position in ``market``, created flat on first use."""
        return self._ledger.position(user_id, subaccount, market)

    def user_by_name(self, name: str) -> User:
        return self.users_by_name[name]

    def create_subaccount(self, user_id: str) -> int:
        """Create the user's next subaccount (1..63) and return its number."""
        return self._ledger.create_subaccount(user_id)

    def transfer(
        self,
        user_id: str,
        transfer_id: str,
        from_sub: int,
        to_sub: int,
        amount_micro: int,
        exchange_index: int = 0,
    ) -> None:
        """Move cash between two subaccounts of a user on one shard (idempotent per ``transfer_id``)."""
        self._ledger.transfer(user_id, transfer_id, from_sub, to_sub, amount_micro, exchange_index)

    def check_subaccount(self, user_id: str, subaccount: int) -> None:
        """Raise ``subaccount_not_found`` unless the user has ``subaccount``."""
        self._ledger.check_subaccount(user_id, subaccount)

    def trade_fee_micro(self, market: Market, price_bp: int, size: int, is_taker: bool) -> int:
        """Return the trade fee of one fill, rounded up to $0.0001 (see the money model)."""
        return self._ledger.trade_fee_micro(market, price_bp, size, is_taker)

    # -- markets and shards -------------------------------------------------------------------------
    def market(self, ticker: str) -> Market:
        """Return a market; ``market_not_found`` if there is none."""
        return self._lifecycle.market(ticker)

    def tick(self) -> None:
        """Advance scheduled state: open and close markets, expire orders. Called periodically."""
        now_s = self.clock.now_ns() // 1_000_000_000
        self.fee_schedule.apply_due(now_s)
        self._lifecycle.advance(now_s)
        self._desk.expire(now_s)

    def close_market(self, ticker: str) -> None:
        """Close a market now: cancel its resting orders; status ``closed``."""
        self._lifecycle.close_market(ticker)

    def settle_market(self, ticker: str, result: str, settlement_value_bp: int | None = None) -> None:
        """Determine and settle a market; positions become settlements.

        Each YES contract pays the settlement value minus the market's settlement floor, each NO
        contract $1 minus the value (docs getting_started/settlement_bounds; the floor was paid
        to YES holders as it rose).

        Parameters
        ----------
        ticker : str
            The market.
        result : {"yes", "no", "scalar"}
            The outcome: ``yes`` settles at $1, ``no`` at $0, ``scalar`` at ``settlement_value_bp``.
        settlement_value_bp : int, optional
            The YES settlement value, 0..10000; required with ``scalar`` (and must match ``yes``
            or ``no`` when given with them). Never below the floor.
        """
        self._lifecycle.settle_market(ticker, result, settlement_value_bp)

    def set_market_halted(self, ticker: str, halted: bool) -> None:
        """Pause (status ``inactive``) or resume one active market."""
        self._lifecycle.set_market_halted(ticker, halted)

    def set_price_structure(
        self,
        ticker: str,
        structure: str,
        ranges: list[dict[str, str]] | None = None,
        *,
        announce: bool = True,
    ) -> None:
        """Change a market's price grid; resting orders are carried over (Kalshi, 2026-07-23).

        With ``announce`` false the ``price_level_structure_updated`` lifecycle event waits for
        :meth:`announce_price_structure` (orders at the new prices may come first, as on Kalshi).
        """
        self._lifecycle.set_price_structure(ticker, structure, ranges, announce=announce)

    def announce_price_structure(self, ticker: str) -> None:
        """Emit ``price_level_structure_updated`` for a market's current grid."""
        self._lifecycle.announce_price_structure(ticker)

    def set_settlement_floor(self, ticker: str, floor_bp: int) -> list[Order]:
        """Raise or lower the settlement floor of a ``floor`` market (docs settlement_bounds).

        A raise pays YES holders the increase per contract at once and cancels resting orders
        whose YES price is at or below the new floor (NO orders at or above $1 minus it). A
        decrease takes the difference back from YES holders; then every resting order of an
        account whose available balance went negative is cancelled (in any market of the
        shard, newest first) until it is not, what is still negative is covered from the
        user's other subaccounts on the shard, and any rest stays as a negative balance on
        the primary subaccount (which can place no order until it is back to zero).

        Parameters
        ----------
        ticker : str
            A market whose ``settlement_bounds_type`` is ``floor``.
        floor_bp : int
            The new floor, 0 <= floor < 10000 (on the market's price grid, or 0).

        Returns
        -------
        list of Order
            The orders cancelled.
        """
        return self._lifecycle.set_settlement_floor(ticker, floor_bp)

    def set_shard_status(
        self, exchange_index: int, *, trading_active: bool | None = None, exchange_active: bool | None = None
    ) -> None:
        """Pause or resume trading (cancels still allowed) or the whole exchange on a shard.

        When a pause begins, orders placed with ``cancel_order_on_pause`` on that shard are
        cancelled.
        """
        self._lifecycle.set_shard_status(
            exchange_index, trading_active=trading_active, exchange_active=exchange_active
        )

    def route(self, exchange_index: Any, ticker: str | None) -> int:
        """Return the shard a write goes to (PROTOCOL.md 4.10).

        ``>= 0`` is used as given; ``-1`` requires auto-routing by ``ticker``; omitted (None) with a
        ticker auto-routes; omitted without a ticker goes to shard 0.
        """
        return self._lifecycle.route(exchange_index, ticker)

    # -- orders -------------------------------------------------------------------------------------
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
        """Place an order (validated fields) and match it; return it and its fills as taker.

        The parameters and the rejections are described at
        :meth:`OrderDesk.create_order <centbook.sim.engine.orders.OrderDesk.create_order>`.
        """
        # keywords spelled out: forwarding **kwargs costs a microsecond on every order
        return self._desk.create_order(
            user_id, ticker=ticker, side=side, count=count, price_bp=price_bp,
            time_in_force=time_in_force, stp=stp, exchange_index=exchange_index,
            subaccount=subaccount, client_order_id=client_order_id, expiration_s=expiration_s,
            post_only=post_only, reduce_only=reduce_only, cancel_on_pause=cancel_on_pause,
            order_group_id=order_group_id,
        )  # fmt: skip

    def get_order(self, user_id: str, order_id: str, subaccount: int | None = None) -> Order:
        """Return a user's order (of ``subaccount`` if given); ``order_not_found`` otherwise."""
        return self._desk.get_order(user_id, order_id, subaccount)

    def cancel_order(
        self, user_id: str, order_id: str, subaccount: int, exchange_index: int
    ) -> tuple[Order, int]:
        """Cancel a resting order; return it and the size removed (0 if it was no longer resting)."""
        return self._desk.cancel_order(user_id, order_id, subaccount, exchange_index)

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
        return self._desk.decrease_order(user_id, order_id, subaccount, exchange_index, reduce_by, reduce_to)

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
        """Change price and/or total size; return the order and its fills as taker.

        The rules are described at
        :meth:`OrderDesk.amend_order <centbook.sim.engine.orders.OrderDesk.amend_order>`.
        """
        return self._desk.amend_order(
            user_id, order_id, subaccount, exchange_index, ticker=ticker, side=side, price_bp=price_bp,
            count=count, client_order_id=client_order_id, updated_client_order_id=updated_client_order_id,
        )  # fmt: skip

    def cancel_all(
        self, user_id: str, subaccount: int | None, exchange_index: int | None = None
    ) -> list[tuple[Order, int]]:
        """Cancel every resting order of a user (optionally one subaccount / shard); return (order, size)."""
        return self._desk.cancel_all(user_id, subaccount, exchange_index)

    def queue_position(self, order: Order) -> int:
        """Return the size resting ahead of ``order`` at its price (0 if it is not resting)."""
        return self._matcher.queue_position(order)

    # -- order groups -------------------------------------------------------------------------------
    def create_group(self, user_id: str, limit: int, subaccount: int, exchange_index: int) -> OrderGroup:
        """Create an order group of ``limit`` hundredths per 15-second window."""
        return self._groups.create(user_id, limit, subaccount, exchange_index)

    def get_group(self, user_id: str, group_id: str, exchange_index: int | None = None) -> OrderGroup:
        """Return a user's order group; ``order_group_not_found`` if there is none."""
        return self._groups.get(user_id, group_id, exchange_index)

    def group_orders(self, group: OrderGroup) -> list[Order]:
        """Return every order placed in ``group``."""
        return self._groups.orders(group)

    def trigger_group(self, group: OrderGroup) -> None:
        """Trigger a group: cancel its resting orders and block new ones until reset."""
        self._groups.trigger(group)

    def reset_group(self, group: OrderGroup) -> None:
        """Clear a group's trigger and its window."""
        self._groups.reset(group)

    def set_group_limit(self, group: OrderGroup, limit: int) -> None:
        """Change a group's limit; it triggers at once if the window is already above it."""
        self._groups.set_limit(group, limit)

    def delete_group(self, group: OrderGroup) -> None:
        """Cancel a group's resting orders and remove it."""
        self._groups.delete(group)

    # -- invariants (tests) -------------------------------------------------------------------------
    def check_invariants(self) -> None:
        """Raise AssertionError if the books or the money are inconsistent."""
        for market in self.markets.values():
            self._check_market(market)
        cash = sum(a.cash_micro for a in self.accounts.values())
        collateral = sum(
            (ONE_DOLLAR_PER_C100 - self.markets[t].floor_bp) * max(p.position, 0)
            for (_, _, t), p in self.positions.items()
        )
        assert cash + collateral + self.fees_collected_micro == self.funded_micro, (
            f"money not conserved: cash {cash} + collateral {collateral} + fees {self.fees_collected_micro}"
            f" != funded {self.funded_micro}"
        )
        for key, acct in self.accounts.items():
            reserved = sum(
                o.reserved_micro
                for o in self.orders.values()
                if (o.user_id, o.subaccount, o.exchange_index) == key
            )
            assert reserved == acct.reserved_micro, f"{key} reserve {acct.reserved_micro} != {reserved}"

    def _check_market(self, market: Market) -> None:
        bb, ba = market.best_bid(), market.best_ask()
        assert bb is None or ba is None or bb < ba, f"{market.ticker} crossed: {bb} >= {ba}"
        for side, book in ((OrderSide.BID, market.bids), (OrderSide.ASK, market.asks)):
            for price, queue in book.items():
                assert queue, f"{market.ticker} empty level {price}"
                for o in queue:
                    assert (
                        o.status == "resting" and o.remaining > 0 and o.side == side and o.price_bp == price
                    )
        net = sum(p.position for (_, _, t), p in self.positions.items() if t == market.ticker)
        assert net == 0, f"{market.ticker} positions do not net to zero: {net}"
        longs = sum(max(p.position, 0) for (_, _, t), p in self.positions.items() if t == market.ticker)
        assert longs == market.open_interest, (
            f"{market.ticker} open interest {market.open_interest} != {longs}"
        )
