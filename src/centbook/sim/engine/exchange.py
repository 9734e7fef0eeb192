"""The exchange itself: markets, accounts, the single YES book per market and its matching.

Everything is in integers: prices in basis points of $1 (``price_bp``), sizes in hundredths of a
contract (``size``), money in micro-dollars (``*_micro``), times in Unix nanoseconds (``*_ns``) on
the exchange clock (:class:`Clock`, shiftable for tests). The engine is synchronous and knows
nothing about HTTP: the server turns requests into calls and :class:`~centbook.sim.errors.SimError`
into Kalshi's error bodies.

Every change is announced to the subscribers registered with :meth:`Exchange.subscribe` as an
:class:`EngineEvent` (book deltas with the order that caused them, trades, fills, order updates,
positions, market lifecycle, order-group events), which is what a WebSocket layer publishes.

Money model (documented approximations of Kalshi):

* Full collateral: a resting or incoming bid reserves ``price * size``, an ask
  ``(1 - price) * size``, plus a bound on its fees; positions held do not reduce the reserve.
* Netting: buying YES while short (holding NO) redeems the pairs at $1 at once, and vice versa, so
  a position is one signed number (positive YES, negative NO).
* Fees: trade fee ``fee_multiplier * C * P * (1 - P)`` rounded up to $0.0001 for takers on every
  fee type and for makers only on ``quadratic_with_maker_fees`` (a quarter of it); ``flat`` charges
  ``fee_multiplier * C / 4``. This fee model is an approximation (Kalshi's published schedule
  is not in the docs available here). The rounding that follows is Kalshi's, per docs
  ``getting_started/fee_rounding``: the balance change is floored to the target precision
  (config ``fees.balance_precision``: ``"0.0001"``, a direct member, by default, or ``"0.01"``),
  the difference is a rounding fee, and a per-order accumulator rebates $0.01 whenever it
  exceeds $0.01. ``fee_cost`` reports trade fee + rounding fee - rebate, and the rebate is
  credited with the fill (the docs' tables show the rebating fill's balance change without it,
  which contradicts their own net fee column; the sim keeps balance change = revenue - net fee).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterable
from typing import Any

from centbook.fixed import parse_money
from centbook.grid import PriceGrid
from centbook.sim.config import PRICE_STRUCTURES, default_config
from centbook.sim.engine.records import (
    EVENT_KINDS,
    MAX_BP,
    MAX_SUBACCOUNT,
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
    Settlement,
    Trade,
    User,
)
from centbook.sim.errors import SimError, bad_request, invalid_order, not_found

__all__ = ["Exchange"]

# version 4 / RFC 4122 variant bits, as uuid.UUID(int=..., version=4) sets them
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID_V4 = (0x8000 << 48) | (4 << 76)
_SHARD_OPEN = {"exchange_active": True, "trading_active": True}  # an unknown shard: read only


def _micro_from_dollars(text: str) -> int:
    return parse_money(str(text))


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
    """

    def __init__(
        self, config: dict[str, Any] | None = None, seed: int = 0, clock: Clock | None = None
    ) -> None:
        self.config = config if config is not None else default_config()
        self.clock = clock or Clock()
        self.rng = random.Random(seed)
        self._seq = itertools.count(1)
        self._listeners: dict[str, list[Callable[[EngineEvent], None]]] = {k: [] for k in EVENT_KINDS}
        self._delta_hooks: list[Callable[[Market, Order, int, Order, int], None]] = []
        self.series: dict[str, Series] = {}
        self.events: dict[str, Event] = {}
        self.markets: dict[str, Market] = {}
        self.users: dict[str, User] = {}
        self.users_by_name: dict[str, User] = {}
        self.accounts: dict[tuple[str, int, int], Account] = {}
        self.positions: dict[tuple[str, int, str], Position] = {}
        self.orders: dict[str, Order] = {}
        self.groups: dict[str, OrderGroup] = {}
        self.fees_collected_micro = 0
        self._expiries: list[tuple[int, int, Order]] = []  # (expiration_s, seq, order) min-heap
        # target balance precision: $0.0001 for direct members, $0.01 for others
        precision = self.config.get("fees", {}).get("balance_precision", "0.0001")
        self.balance_precision_micro = _micro_from_dollars(str(precision))
        if self.balance_precision_micro not in (100, 10_000):
            raise ValueError(f"fees.balance_precision must be 0.0001 or 0.01, got {precision!r}")
        self.funded_micro = 0
        # shard -> {"exchange_active", "trading_active"}
        self.shards: dict[int, dict[str, bool]] = {}
        self.start_s = self.clock.now_ns() // 1_000_000_000
        self._load(self.config)
        self.last_user_data_ns = self.clock.now_ns()

    # -- setup --------------------------------------------------------------------------------------
    def _load(self, config: dict[str, Any]) -> None:
        for s in config.get("series", []):
            mult = float(s.get("fee_multiplier", 0.07))
            fee_type = s.get("fee_type", "quadratic")
            if fee_type not in ("quadratic", "quadratic_with_maker_fees", "flat"):
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
            series = self.series[e["series_ticker"]]
            ev = Event(
                e["event_ticker"],
                e["series_ticker"],
                e.get("title", e["event_ticker"]),
                e.get("sub_title", ""),
                int(e.get("exchange_index", 0)),
                bool(e.get("mutually_exclusive", False)),
                series.category,
                str(e.get("collateral_return_type", "")),
            )
            self.events[ev.event_ticker] = ev
            self.shards.setdefault(ev.exchange_index, {"exchange_active": True, "trading_active": True})
        defaults = config.get("market_defaults", {})
        defaults = {"open_offset_s": -60, "close_offset_s": 86400, "settlement_timer_seconds": 60, **defaults}
        for m in config.get("markets", []):
            ev = self.events[m["event_ticker"]]
            market = Market(m, ev, self.series[ev.series_ticker], self.start_s, defaults)
            self.markets[market.ticker] = market
            self.shards.setdefault(market.exchange_index, {"exchange_active": True, "trading_active": True})
        for index in range(4):  # Kalshi's shards: 0 default, 1 exotics, 2 crypto, 3 tennis/baseball
            self.shards.setdefault(index, {"exchange_active": True, "trading_active": True})
        self.tick()
        for u in config.get("users", []):
            self.add_user(u.get("name", "user"), tier=u.get("tier", "basic"), funding=u.get("funding", {}))

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
        if name in self.users_by_name:
            raise ValueError(f"user {name!r} already exists")
        amounts = {
            int(shard): _micro_from_dollars(str(dollars)) for shard, dollars in (funding or {}).items()
        }
        user = User(self._uuid(), name, tier)
        self.users[user.user_id] = user
        self.users_by_name[name] = user
        for shard, micro in amounts.items():
            self.shards.setdefault(shard, {"exchange_active": True, "trading_active": True})
            self.fund(user.user_id, shard, micro)
        return user.user_id

    def fund(self, user_id: str, exchange_index: int, amount_micro: int, subaccount: int = 0) -> None:
        """Add (or with a negative amount remove) cash on one shard's balance of a user."""
        self.account(user_id, subaccount, exchange_index).cash_micro += amount_micro
        self.funded_micro += amount_micro

    # -- helpers ------------------------------------------------------------------------------------
    def _uuid(self) -> str:
        # str(uuid.UUID(int=bits, version=4)), formatted without building a UUID object (the
        # flow makes one per order, trade and fill): same bits, same text
        bits = (self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_V4
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

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
        wanted = EVENT_KINDS if kinds is None else tuple(kinds)
        unknown = [k for k in wanted if k not in self._listeners]
        if unknown:
            raise ValueError(f"unknown event kinds {unknown}; known: {', '.join(EVENT_KINDS)}")
        for kind in wanted:
            self._listeners[kind].append(callback)

        def unsubscribe() -> None:
            for kind in wanted:
                if callback in self._listeners[kind]:
                    self._listeners[kind].remove(callback)

        return unsubscribe

    def on_book_delta(self, hook: Callable[[Market, Order, int, Order, int], None]) -> Callable[[], None]:
        """Register ``hook(market, order, delta, cause, ts_ns)`` for every change of a book level.

        The fast form of a ``book_delta`` subscription (no event object, no dict): ``order`` is
        the resting order whose level changed by ``delta`` (signed hundredths, at
        ``order.price_bp`` on ``order.side``), ``cause`` the order whose request caused it (the
        taker for a trade). Objects are live: read them inside the hook. Returns a function that
        removes the hook.
        """
        self._delta_hooks.append(hook)
        return lambda: self._delta_hooks.remove(hook) if hook in self._delta_hooks else None

    def wants(self, kind: str) -> bool:
        """Return whether anyone listens to events of ``kind``."""
        return bool(self._listeners[kind])

    def _emit(self, kind: str, data: dict[str, Any], user_id: str | None = None) -> None:
        subs = self._listeners[kind]
        if not subs:
            return
        event = EngineEvent(kind, self.clock.now_ns(), data, user_id)
        for callback in tuple(subs):
            callback(event)

    def account(self, user_id: str, subaccount: int, exchange_index: int) -> Account:
        key = (user_id, subaccount, exchange_index)
        acct = self.accounts.get(key)
        if acct is None:
            acct = self.accounts[key] = Account()
        return acct

    def position(self, user_id: str, subaccount: int, market: Market) -> Position:
        key = (user_id, subaccount, market.ticker)
        pos = self.positions.get(key)
        if pos is None:
            pos = self.positions[key] = Position(market.ticker, market.exchange_index)
        return pos

    def market(self, ticker: str) -> Market:
        market = self.markets.get(ticker)
        if market is None:
            raise not_found(
                f"market {ticker!r} not found", code="market_not_found", message="market not found"
            )
        return market

    def user_by_name(self, name: str) -> User:
        return self.users_by_name[name]

    def create_subaccount(self, user_id: str) -> int:
        """Create the user's next subaccount (1..63) and return its number."""
        user = self.users[user_id]
        number = max(user.subaccounts) + 1
        if number > MAX_SUBACCOUNT:
            raise SimError(
                400,
                "subaccount_limit_reached",
                "subaccount limit reached",
                f"at most {MAX_SUBACCOUNT} subaccounts",
            )
        user.subaccounts.add(number)
        return number

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
        user = self.users[user_id]
        if transfer_id in user.transfers:
            return
        for sub in (from_sub, to_sub):
            self.check_subaccount(user_id, sub)
        if from_sub == to_sub:
            raise bad_request("from_subaccount and to_subaccount must differ")
        if amount_micro <= 0:
            raise bad_request("amount_cents must be positive")
        source = self.account(user_id, from_sub, exchange_index)
        if source.available_micro < amount_micro:
            raise SimError(
                400,
                "insufficient_balance",
                "insufficient balance",
                f"subaccount {from_sub} has ${source.available_micro / 1e6:.2f} available on "
                f"exchange shard {exchange_index}",
            )
        source.cash_micro -= amount_micro
        self.account(user_id, to_sub, exchange_index).cash_micro += amount_micro
        user.transfers.add(transfer_id)
        self._touch_user()

    def check_subaccount(self, user_id: str, subaccount: int) -> None:
        if subaccount not in self.users[user_id].subaccounts:
            raise bad_request(
                f"subaccount {subaccount} does not exist",
                code="subaccount_not_found",
                message="subaccount not found",
            )

    def _touch_user(self) -> None:
        self.last_user_data_ns = self.clock.now_ns()

    # -- fees and collateral ------------------------------------------------------------------------
    def trade_fee_micro(self, market: Market, price_bp: int, size: int, is_taker: bool) -> int:
        """Return the trade fee of one fill, rounded up to $0.0001 (see the module notes)."""
        series = market.series
        if series.fee_type == "flat":
            raw = series.fee_ppm * size * MAX_BP * MAX_BP // 4  # mult * C / 4, same scale as below
        else:
            raw = series.fee_ppm * size * price_bp * (MAX_BP - price_bp)
            if not is_taker:
                if series.fee_type != "quadratic_with_maker_fees":
                    return 0
                raw //= 4
        # raw / 1e10 micro-dollars; round up to 100 micro ($0.0001)
        scale = 10**12
        return -(-raw // scale) * 100

    def _fee_bound(self, market: Market, size: int) -> int:
        # largest fee of ``size`` at any price (P(1-P) <= 1/4) plus rounding slack
        return market.series.fee_ppm * size // 400 + 200

    def _reserve_for(self, market: Market, side: str, price_bp: int, size: int) -> int:
        # buying YES releases the floor at once (settlement_bounds): it costs price - floor
        cost_bp = price_bp - market.floor_bp if side == "bid" else MAX_BP - price_bp
        return cost_bp * size + self._fee_bound(market, size)

    def _set_reserve(self, order: Order, market: Market) -> None:
        new = (
            self._reserve_for(market, order.side, order.price_bp, order.remaining)
            if order.status == "resting" and order.remaining > 0
            else 0
        )
        acct = order.account
        if acct is None:
            acct = order.account = self.account(order.user_id, order.subaccount, order.exchange_index)
        acct.reserved_micro += new - order.reserved_micro
        order.reserved_micro = new

    # -- market lifecycle ---------------------------------------------------------------------------
    def tick(self) -> None:
        """Advance scheduled state: open and close markets, expire orders. Called periodically."""
        now_ns = self.clock.now_ns()
        now_s = now_ns // 1_000_000_000
        for market in self.markets.values():
            if market.status == "initialized" and now_s >= market.open_s:
                self._set_status(market, "active", "activated")
            if market.status in ("active", "inactive", "initialized") and now_s >= market.close_s:
                self.close_market(market.ticker)
            if (
                market.status == "closed"
                and market.scheduled_result
                and now_s >= market.close_s + market.settlement_timer_s
            ):
                self.settle_market(market.ticker, market.scheduled_result)
        while self._expiries and self._expiries[0][0] <= now_s:
            _, _, order = heapq.heappop(self._expiries)
            if order.status == "resting" and order.expiration_s is not None and order.expiration_s <= now_s:
                self._cancel(order, "ExpiryCancel")

    def _set_status(self, market: Market, status: str, event_type: str, **extra: Any) -> None:
        market.status = status
        market.updated_ns = self.clock.now_ns()
        self._emit(
            "lifecycle", {"ticker": market.ticker, "event_type": event_type, "status": status, **extra}
        )

    def close_market(self, ticker: str) -> None:
        """Close a market now: cancel its resting orders; status ``closed``."""
        market = self.market(ticker)
        if market.status in ("closed", "determined", "finalized"):
            return
        for order in self._resting(market):
            self._cancel(order, "CloseCancel")
        market.close_s = min(market.close_s, self.clock.now_ns() // 1_000_000_000)
        self._set_status(market, "closed", "deactivated")

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
        if result not in ("yes", "no", "scalar"):
            raise ValueError(f"result must be 'yes', 'no' or 'scalar', got {result!r}")
        fixed = {"yes": MAX_BP, "no": 0}.get(result)
        if settlement_value_bp is None:
            if fixed is None:
                raise ValueError("a scalar result needs a settlement value")
            settlement_value_bp = fixed
        if not 0 <= settlement_value_bp <= MAX_BP or fixed not in (None, settlement_value_bp):
            raise ValueError(
                f"settlement value {settlement_value_bp / MAX_BP:.4f} does not fit result {result!r}"
            )
        market = self.market(ticker)
        if market.status in ("determined", "finalized"):
            raise ValueError(f"market {ticker} is already settled")
        if settlement_value_bp < market.floor_bp:
            raise ValueError(
                f"settlement value {settlement_value_bp / MAX_BP:.4f} is below the settlement floor "
                f"{market.floor_bp / MAX_BP:.4f} of {ticker}"
            )
        self.close_market(ticker)
        now = self.clock.now_ns()
        market.result = result
        market.settlement_value_bp = settlement_value_bp
        market.determined_ns = now
        self._set_status(market, "determined", "determined", result=result)
        yes_pays = settlement_value_bp - market.floor_bp  # micro-dollars per hundredth
        no_pays = MAX_BP - settlement_value_bp
        for (user_id, sub, tkr), pos in list(self.positions.items()):
            if tkr != ticker:
                continue
            yes_count = max(pos.position, 0)
            no_count = max(-pos.position, 0)
            payout = yes_count * yes_pays + no_count * no_pays
            acct = self.account(user_id, sub, market.exchange_index)
            acct.cash_micro += payout
            user = self.users[user_id]
            if yes_count or no_count or pos.total_traded_micro:
                user.settlements.append(
                    Settlement(
                        ticker,
                        market.event.event_ticker,
                        result,
                        yes_count,
                        pos.cost_micro if yes_count else 0,
                        no_count,
                        pos.cost_micro if no_count else 0,
                        payout,
                        pos.fees_micro,
                        now,
                        sub,
                        market.exchange_index,
                        yes_pays,
                    )
                )
            pos.realized_micro += payout - pos.cost_micro
            pos.position = 0
            pos.cost_micro = 0
            pos.updated_ns = now
            del self.positions[(user_id, sub, tkr)]
            self._emit(
                "position",
                {
                    "ticker": ticker,
                    "subaccount": sub,
                    "position": 0,
                    "settled": True,
                    "revenue_micro": payout,
                },
                user_id,
            )
        market.open_interest = 0
        market.settled_ns = now
        self._set_status(market, "finalized", "settled", result=result)
        self._touch_user()

    def set_market_halted(self, ticker: str, halted: bool) -> None:
        """Pause (status ``inactive``) or resume one active market."""
        market = self.market(ticker)
        if halted and market.status == "active":
            market.halted = True
            self._set_status(market, "inactive", "deactivated")
            for order in self._resting(market):
                if order.cancel_on_pause:
                    self._cancel(order, "HaltCancel")
        elif not halted and market.status == "inactive":
            market.halted = False
            self._set_status(market, "active", "activated")

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
        market = self.market(ticker)
        ranges = ranges or PRICE_STRUCTURES.get(structure)
        if ranges is None:
            raise ValueError(f"unknown price_level_structure {structure!r} and no price_ranges")
        market.grid = PriceGrid.from_ranges(ranges)
        market.price_ranges = market.grid.to_ranges()
        market.price_level_structure = structure
        market.updated_ns = self.clock.now_ns()
        if announce:
            self.announce_price_structure(ticker)

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
        market = self.market(ticker)
        if market.settlement_bounds_type != "floor":
            raise bad_request(
                f"market {ticker} has settlement_bounds_type 'default': it never has a settlement floor"
            )
        if market.status in ("determined", "finalized"):
            raise bad_request(f"market {ticker} is already settled")
        if not 0 <= floor_bp < MAX_BP or (floor_bp and not market.grid.is_valid(floor_bp, 0)):
            raise bad_request(
                f"settlement floor {floor_bp / MAX_BP:.4f} must be 0 or a price of the grid of {ticker}, "
                "below $1"
            )
        change = floor_bp - market.floor_bp
        market.floor_bp = floor_bp
        market.updated_ns = self.clock.now_ns()
        touched: set[tuple[str, int, int]] = set()
        for (user_id, sub, tkr), pos in list(self.positions.items()):
            if tkr != ticker or pos.position <= 0:
                continue
            # the floor is paid (or taken back) per YES contract; the cost basis follows, so
            # realized P&L at settlement is still value - price
            amount = change * pos.position
            self.account(user_id, sub, market.exchange_index).cash_micro += amount
            pos.cost_micro -= amount
            pos.updated_ns = market.updated_ns
            touched.add((user_id, sub, market.exchange_index))
            if self._listeners["position"]:
                self._emit_position(ticker, user_id, sub, pos)
        cancelled: list[Order] = []
        if change > 0:
            for order in self._resting(market):
                if order.price_bp <= floor_bp:
                    self._cancel(order, "SettlementFloorCancel")
                    cancelled.append(order)
        # resting bids reserve price - floor: recompute them all
        for order in self._resting(market):
            self._set_reserve(order, market)
            touched.add((order.user_id, order.subaccount, order.exchange_index))
        for key in sorted(touched):
            cancelled += self._cover_negative(*key)
        self._touch_user()
        return cancelled

    def _cover_negative(self, user_id: str, subaccount: int, exchange_index: int) -> list[Order]:
        """Make an account's available balance non-negative as settlement_bounds says; see above."""
        acct = self.account(user_id, subaccount, exchange_index)
        cancelled: list[Order] = []
        if acct.available_micro >= 0:
            return cancelled
        user = self.users[user_id]
        for order in reversed(user.orders):
            if acct.available_micro >= 0:
                break
            if (
                order.status == "resting"
                and order.subaccount == subaccount
                and order.exchange_index == exchange_index
            ):
                self._cancel(order, "SettlementFloorCancel")
                cancelled.append(order)
        for other in sorted(user.subaccounts - {subaccount}):
            if acct.cash_micro >= 0:
                break
            source = self.account(user_id, other, exchange_index)
            moved = min(max(source.available_micro, 0), -acct.cash_micro)
            source.cash_micro -= moved
            acct.cash_micro += moved
        if acct.cash_micro < 0 and subaccount != 0:
            self.account(user_id, 0, exchange_index).cash_micro += acct.cash_micro
            acct.cash_micro = 0
        return cancelled

    def _check_floor(self, market: Market, price_bp: int) -> None:
        if price_bp <= market.floor_bp:
            raise invalid_order(
                f"YES price {price_bp / MAX_BP:.4f} (NO price {(MAX_BP - price_bp) / MAX_BP:.4f}) must be "
                f"above the settlement floor {market.floor_bp / MAX_BP:.4f} of {market.ticker} "
                f"(a NO price below ${(MAX_BP - market.floor_bp) / MAX_BP:.4f})"
            )

    def announce_price_structure(self, ticker: str) -> None:
        """Emit ``price_level_structure_updated`` for a market's current grid."""
        market = self.market(ticker)
        self._emit(
            "lifecycle",
            {"ticker": ticker, "event_type": "price_level_structure_updated", "status": market.status},
        )

    def set_shard_status(
        self, exchange_index: int, *, trading_active: bool | None = None, exchange_active: bool | None = None
    ) -> None:
        """Pause or resume trading (cancels still allowed) or the whole exchange on a shard.

        When a pause begins, orders placed with ``cancel_order_on_pause`` on that shard are
        cancelled.
        """
        state = self.shards.setdefault(exchange_index, {"exchange_active": True, "trading_active": True})
        was_open = state["exchange_active"] and state["trading_active"]
        if trading_active is not None:
            state["trading_active"] = trading_active
        if exchange_active is not None:
            state["exchange_active"] = exchange_active
        now_open = state["exchange_active"] and state["trading_active"]
        if was_open and not now_open:
            for order in [
                o
                for o in self.orders.values()
                if o.status == "resting" and o.exchange_index == exchange_index and o.cancel_on_pause
            ]:
                self._cancel(order, "HaltCancel")
        self._emit("exchange_status", {"exchange_index": exchange_index, **state})

    def _check_exchange(self, exchange_index: int, *, trading: bool) -> None:
        state = self.shards.get(exchange_index, _SHARD_OPEN)
        if not state["exchange_active"]:
            raise SimError(
                503,
                "exchange_unavailable",
                "exchange is unavailable",
                f"exchange shard {exchange_index} is paused",
            )
        if trading and not state["trading_active"]:
            raise SimError(
                400,
                "trading_is_paused",
                "trading is paused",
                f"trading on exchange shard {exchange_index} is paused; cancels are allowed",
            )

    # -- routing ------------------------------------------------------------------------------------
    def route(self, exchange_index: Any, ticker: str | None) -> int:
        """Return the shard a write goes to (PROTOCOL.md 4.10).

        ``>= 0`` is used as given; ``-1`` requires auto-routing by ``ticker``; omitted (None) with a
        ticker auto-routes; omitted without a ticker goes to shard 0.
        """
        if exchange_index is None:
            if ticker:
                return self.market(ticker).exchange_index
            return 0
        if isinstance(exchange_index, bool) or not isinstance(exchange_index, int):
            raise bad_request(f"exchange_index must be an integer, got {exchange_index!r}")
        if exchange_index == -1:
            if not ticker:
                raise bad_request("exchange_index -1 requires a ticker to route by")
            return self.market(ticker).exchange_index
        if exchange_index < -1:
            raise bad_request(f"exchange_index must be -1 or a shard number, got {exchange_index}")
        if exchange_index not in self.shards:
            raise bad_request(
                f"unknown exchange_index {exchange_index}",
                code="invalid_exchange_index",
                message="invalid exchange index",
            )
        return exchange_index

    # -- orders -------------------------------------------------------------------------------------
    def _resting(self, market: Market) -> list[Order]:
        return [o for lv in (market.bids, market.asks) for q in lv.values() for o in q]

    def create_order(
        self,
        user_id: str,
        *,
        ticker: str,
        side: str,
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

        Returns
        -------
        (Order, list of EngineFill)
            The order as it stands after matching and the fills it took as taker.

        Raises
        ------
        SimError
            For every rejection (market closed, off-grid price, insufficient balance, ...).
        """
        user = self.users[user_id]
        market = self.market(ticker)
        self.check_subaccount(user_id, subaccount)
        if exchange_index != market.exchange_index:
            # Kalshi checks collateral on the shard the request went to: a wrong shard is
            # a balance failure there, not a routing hint.
            raise SimError(
                400,
                "insufficient_balance",
                "insufficient balance",
                f"market {ticker} is on exchange shard {market.exchange_index}; "
                f"this order was routed to shard {exchange_index}",
            )
        self._check_exchange(exchange_index, trading=True)
        if not market.accepting_orders:
            raise SimError(
                400,
                "market_closed",
                "market is not open for trading",
                f"market {ticker} status is {market.status}",
            )
        if not market.grid.is_valid(price_bp, 0) or price_bp <= 0 or price_bp >= MAX_BP:
            raise invalid_order(
                f"price {price_bp / MAX_BP:.4f} is not on the price grid of {ticker} "
                f"({market.price_level_structure}: {market.price_ranges})"
            )
        if market.floor_bp:
            self._check_floor(market, price_bp)
        if count <= 0:
            raise SimError(400, "invalid_order_size", "invalid order size", "count must be positive")
        if client_order_id and client_order_id in user.client_order_ids:
            raise SimError(
                409,
                "order_already_exists",
                "order already exists",
                f"client_order_id {client_order_id!r} was already used",
            )
        now_ns = self.clock.now_ns()
        if expiration_s is not None:
            if time_in_force != "good_till_canceled":
                raise invalid_order("expiration_time is only allowed with good_till_canceled")
            if expiration_s <= now_ns // 1_000_000_000:
                raise invalid_order("Expiration timestamp must be in the future")
        group = None
        if order_group_id is not None:
            group = self.groups.get(order_group_id)
            if group is None or group.user_id != user_id:
                raise not_found(
                    f"order group {order_group_id!r} not found",
                    code="order_group_not_found",
                    message="order group not found",
                )
            if group.exchange_index != exchange_index:
                raise bad_request(f"order group {order_group_id} is on exchange shard {group.exchange_index}")
            if group.triggered:
                raise SimError(
                    400,
                    "order_group_triggered",
                    "order group is triggered",
                    f"order group {order_group_id} must be reset before new orders",
                )
        pos = self.positions.get((user_id, subaccount, ticker))
        held = pos.position if pos else 0
        if reduce_only:
            reducible = max(-held, 0) if side == "bid" else max(held, 0)
            if reducible <= 0:
                raise invalid_order("reduce_only order would not reduce a position")
            count = min(count, reducible)
        opposite_best = market.best_ask() if side == "bid" else market.best_bid()
        crosses = opposite_best is not None and (
            opposite_best <= price_bp if side == "bid" else opposite_best >= price_bp
        )
        if post_only and crosses:
            raise invalid_order("post only cross")
        need = self._reserve_for(market, side, price_bp, count)
        acct = self.account(user_id, subaccount, exchange_index)
        if acct.available_micro < need:
            raise SimError(
                400,
                "insufficient_balance",
                "insufficient balance",
                f"order needs ${need / 1e6:.6f} on exchange shard {exchange_index}, "
                f"available ${acct.available_micro / 1e6:.6f}",
            )
        # positional: half the cost of keywords for a 31-field dataclass, once per order
        order = Order(
            self._uuid(), user_id, subaccount, ticker, exchange_index, side, price_bp, count,
            0,  # filled
            count,  # remaining
            "resting", client_order_id, time_in_force, stp, post_only, reduce_only, cancel_on_pause,
            order_group_id, expiration_s, now_ns, now_ns, next(self._seq),
        )  # fmt: skip
        self.orders[order.order_id] = order
        user.orders.append(order)
        if client_order_id:
            user.client_order_ids[client_order_id] = order
        if expiration_s is not None:
            heapq.heappush(self._expiries, (expiration_s, order.seq, order))
        fills: list[EngineFill] = []
        if time_in_force == "fill_or_kill" and self._fillable(market, order) < order.remaining:
            order.remaining = 0
            order.status = "canceled"
            order.last_update_reason = "FillOrKillCancel"
            self._emit_order(order)
            self._touch_user()
            return order, fills
        if crosses:  # nothing to match otherwise (the book has not changed since the check)
            self._match(market, order, fills)
        if order.status == "resting" and order.remaining > 0:
            if time_in_force in ("immediate_or_cancel", "fill_or_kill"):
                order.remaining = 0
                order.status = "canceled"
                order.last_update_reason = "ImmediateOrCancel"
            else:
                self._rest(market, order)
        elif order.remaining == 0 and order.status == "resting":
            order.status = "executed"
        self._emit_order(order)
        self._touch_user()
        if group is not None:
            self._check_group(group)
        return order, fills

    def _fillable(self, market: Market, order: Order) -> int:
        total = 0
        for _price, queue in self._crossing_levels(market, order):
            for resting in queue:
                if resting.user_id == order.user_id:
                    if order.stp == "taker_at_cross":
                        return total
                    continue
                total += resting.remaining
                if total >= order.remaining:
                    return total
        return total

    def _crossing_levels(self, market: Market, order: Order) -> list[tuple[int, list[Order]]]:
        if order.side == "bid":
            prices = sorted(p for p in market.asks if p <= order.price_bp)
            return [(p, market.asks[p]) for p in prices]
        prices = sorted((p for p in market.bids if p >= order.price_bp), reverse=True)
        return [(p, market.bids[p]) for p in prices]

    def _match(self, market: Market, taker: Order, fills: list[EngineFill]) -> None:
        book = market.asks if taker.side == "bid" else market.bids
        touched_groups: set[str] = set()
        for price, queue in self._crossing_levels(market, taker):
            while queue and taker.remaining > 0:
                maker = queue[0]
                if maker.user_id == taker.user_id:
                    if taker.stp == "taker_at_cross":
                        taker.remaining = 0
                        taker.status = "canceled"
                        taker.last_update_reason = "SelfTradeCancel"
                        break
                    self._cancel(maker, "SelfTradeCancel")
                    continue
                size = min(taker.remaining, maker.remaining)
                self._execute(market, taker, maker, price, size, fills)
                for o in (taker, maker):
                    group = self.groups.get(o.order_group_id) if o.order_group_id else None
                    if group is not None:
                        group.window.append((self.clock.now_ns(), size))
                        touched_groups.add(group.order_group_id)
                if maker.remaining == 0:
                    queue.pop(0)
                    maker.status = "executed"
                    self._set_reserve(maker, market)
                    self._emit_order(maker)
            if not queue:
                book.pop(price, None)
            if taker.remaining == 0 or taker.status != "resting":
                break
        for gid in touched_groups:
            group = self.groups.get(gid)
            if group is not None:
                self._check_group(group)

    def _execute(
        self, market: Market, taker: Order, maker: Order, price_bp: int, size: int, fills: list[EngineFill]
    ) -> None:
        now = self.clock.now_ns()
        trade_id = self._uuid()
        # the maker's resting level shrinks (YES book side of the maker)
        maker.remaining -= size
        maker.filled += size
        maker.updated_ns = now
        maker.last_update_reason = "Trade"
        taker.remaining -= size
        taker.filled += size
        taker.updated_ns = now
        taker.last_update_reason = "Trade"
        self._set_reserve(maker, market)
        self._emit_delta(market, maker, -size, taker)
        opened_before = market.open_interest
        for order, is_taker in ((taker, True), (maker, False)):
            fee = self.trade_fee_micro(market, price_bp, size, is_taker)
            # with a settlement floor F a YES leg costs P - F and a netted pair redeems at 1 - F
            # (the F of each YES contract was paid out when the floor was raised)
            floor_bp = market.floor_bp
            cost_bp = price_bp - floor_bp if order.side == "bid" else MAX_BP - price_bp
            pair_micro = ONE_DOLLAR_PER_C100 - floor_bp
            cost = cost_bp * size
            pos = self.position(order.user_id, order.subaccount, market)
            old = pos.position
            signed = size if order.side == "bid" else -size
            closing = min(size, max(-old, 0)) if order.side == "bid" else min(size, max(old, 0))
            # balance change before rounding: pay the cost, redeem netted pairs at $1, pay the fee;
            # floor it to the balance precision, the difference is a rounding fee that the
            # order's accumulator pays back a cent at a time (docs getting_started/fee_rounding)
            change = -cost + closing * pair_micro - fee
            precision = self.balance_precision_micro
            floored = (change // precision) * precision
            rounding = change - floored
            order.rounding_accum_micro += rounding
            rebate = 0
            if order.rounding_accum_micro > 10_000:
                rebate = 10_000
                order.rounding_accum_micro -= rebate
            fee_total = fee + rounding - rebate
            acct = self.account(order.user_id, order.subaccount, order.exchange_index)
            acct.cash_micro += floored + rebate
            self.fees_collected_micro += fee_total
            # cost basis: closing removes a proportional share, opening adds this fill's cost
            if closing:
                removed = pos.cost_micro * closing // abs(old)
                pos.cost_micro -= removed
                pos.realized_micro += closing * pair_micro - cost_bp * closing - removed
            opening = size - closing
            pos.cost_micro += cost_bp * opening
            pos.position = old + signed
            pos.total_traded_micro += price_bp * size
            pos.fees_micro += fee_total
            pos.updated_ns = now
            if is_taker:
                order.taker_cost_micro += cost
                order.taker_fees_micro += fee_total
            else:
                order.maker_cost_micro += cost
                order.maker_fees_micro += fee_total
            market.open_interest += abs(pos.position) - abs(old)
            fill = EngineFill(
                self._uuid(),
                trade_id,
                order.order_id,
                order.user_id,
                order.subaccount,
                market.ticker,
                market.exchange_index,
                order.side,
                price_bp,
                size,
                is_taker,
                fee_total,
                now,
                order.client_order_id,
                pos.position,
            )
            self.users[order.user_id].fills.append(fill)
            if is_taker:
                fills.append(fill)
            self._emit("fill", {"fill": fill}, order.user_id)
            if self._listeners["position"]:
                self._emit_position(market.ticker, order.user_id, order.subaccount, pos)
        # open interest counts contracts once (YES holders), the loop above counted both sides
        market.open_interest = opened_before + (market.open_interest - opened_before) // 2
        market.last_price_bp = price_bp
        market.volume += size
        trade = Trade(trade_id, market.ticker, price_bp, size, taker.side, now)
        market.trades.append(trade)
        self._emit("trade", {"trade": trade})

    def _emit_position(self, ticker: str, user_id: str, subaccount: int, pos: Position) -> None:
        self._emit(
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

    def _rest(self, market: Market, order: Order) -> None:
        book = market.bids if order.side == "bid" else market.asks
        book.setdefault(order.price_bp, []).append(order)
        self._set_reserve(order, market)
        self._emit_delta(market, order, order.remaining, order)

    def _emit_delta(self, market: Market, order: Order, delta: int, cause: Order) -> None:
        """Announce a change of ``delta`` at ``order``'s YES level, caused by ``cause``'s request."""
        hooks = self._delta_hooks
        if not hooks and not self._listeners["book_delta"]:
            return
        ts_ns = self.clock.now_ns()
        for hook in hooks:
            hook(market, order, delta, cause, ts_ns)
        if self._listeners["book_delta"]:
            self._emit("book_delta", {
                "ticker": market.ticker, "side": order.side, "price_bp": order.price_bp, "delta": delta,
                "order_id": order.order_id, "user_id": order.user_id,
                "client_order_id": order.client_order_id, "subaccount": order.subaccount,
                "cause_order_id": cause.order_id, "cause_user_id": cause.user_id,
                "cause_client_order_id": cause.client_order_id,
            })  # fmt: skip

    def _unrest(self, market: Market, order: Order, size: int) -> None:
        """Remove ``size`` of a resting order from its level (the whole order if it empties)."""
        book = market.bids if order.side == "bid" else market.asks
        order.remaining -= size
        if order.remaining == 0:
            queue = book.get(order.price_bp, [])
            if order in queue:
                queue.remove(order)
            if not queue:
                book.pop(order.price_bp, None)
        self._emit_delta(market, order, -size, order)

    def _cancel(self, order: Order, reason: str) -> int:
        if order.status != "resting":
            return 0
        market = self.markets[order.ticker]
        size = order.remaining
        if size:
            self._unrest(market, order, size)
        order.status = "canceled"
        order.updated_ns = self.clock.now_ns()
        order.last_update_reason = reason
        self._set_reserve(order, market)
        self._emit_order(order)
        self._touch_user()
        return size

    def _emit_order(self, order: Order) -> None:
        if self._listeners["order"]:
            self._emit("order", {"order": order}, order.user_id)

    def get_order(self, user_id: str, order_id: str, subaccount: int | None = None) -> Order:
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

    def _writable_order(self, user_id: str, order_id: str, subaccount: int, exchange_index: int) -> Order:
        order = self.get_order(user_id, order_id, subaccount)
        if order.exchange_index != exchange_index:
            # the shard the request went to does not know this order
            raise not_found(
                f"order {order_id!r} not found on exchange shard {exchange_index} "
                f"(it lives on shard {order.exchange_index}; pass exchange_index or market_ticker)",
                code="order_not_found",
                message="order not found",
            )
        return order

    def cancel_order(
        self, user_id: str, order_id: str, subaccount: int, exchange_index: int
    ) -> tuple[Order, int]:
        """Cancel a resting order; return it and the size removed (0 if it was no longer resting)."""
        order = self._writable_order(user_id, order_id, subaccount, exchange_index)
        self._check_exchange(exchange_index, trading=False)
        if order.status != "resting":
            raise SimError(
                404, "order_not_found", "order not found", f"order {order_id} is {order.status}, not resting"
            )
        return order, self._cancel(order, "Cancel")

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
        order = self._writable_order(user_id, order_id, subaccount, exchange_index)
        self._check_exchange(exchange_index, trading=False)
        if order.status != "resting":
            raise SimError(
                404, "order_not_found", "order not found", f"order {order_id} is {order.status}, not resting"
            )
        target = max(order.remaining - reduce_by, 0) if reduce_by is not None else reduce_to
        assert target is not None
        if target > order.remaining:
            raise invalid_order(
                f"reduce_to {target / 100:.2f} is above the remaining {order.remaining / 100:.2f}"
            )
        if target == order.remaining:
            return order
        if target == 0:
            self._cancel(order, "Decrease")
            return order
        market = self.markets[order.ticker]
        self._unrest(market, order, order.remaining - target)
        order.updated_ns = self.clock.now_ns()
        order.last_update_reason = "Decrease"
        self._set_reserve(order, market)
        self._emit_order(order)
        self._touch_user()
        return order

    def amend_order(
        self,
        user_id: str,
        order_id: str,
        subaccount: int,
        exchange_index: int,
        *,
        ticker: str,
        side: str,
        price_bp: int,
        count: int,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
    ) -> tuple[Order, list[EngineFill]]:
        """Change price and/or total size (``count`` includes what already filled).

        Queue priority is kept only when the size decreases at the same price; otherwise the order
        goes to the back of its (new) level, and it may cross and fill at once.
        """
        order = self._writable_order(user_id, order_id, subaccount, exchange_index)
        self._check_exchange(exchange_index, trading=True)
        user = self.users[user_id]
        if order.ticker != ticker:
            raise SimError(
                400,
                "order_ticker_mismatch",
                "order ticker mismatch",
                f"order {order_id} is on {order.ticker}, not {ticker}",
            )
        if order.side != side:
            raise SimError(
                400,
                "order_side_mismatch",
                "order side mismatch",
                f"order {order_id} is a {order.side}, not a {side}",
            )
        if client_order_id is not None and client_order_id != order.client_order_id:
            raise SimError(
                400,
                "order_id_and_client_order_id_mismatch",
                "order id and client order id mismatch",
                f"order {order_id} has client_order_id {order.client_order_id!r}",
            )
        if order.status != "resting":
            raise SimError(
                404, "order_not_found", "order not found", f"order {order_id} is {order.status}, not resting"
            )
        market = self.markets[order.ticker]
        if not market.accepting_orders:
            raise SimError(
                400,
                "market_closed",
                "market is not open for trading",
                f"market {ticker} status is {market.status}",
            )
        if not market.grid.is_valid(price_bp, 0) or price_bp <= 0 or price_bp >= MAX_BP:
            raise invalid_order(f"price {price_bp / MAX_BP:.4f} is not on the price grid of {ticker}")
        if market.floor_bp:
            self._check_floor(market, price_bp)
        new_remaining = count - order.filled
        if new_remaining <= 0:
            raise SimError(
                400,
                "invalid_order_size",
                "invalid order size",
                f"count {count / 100:.2f} must exceed the filled {order.filled / 100:.2f}",
            )
        if updated_client_order_id and updated_client_order_id != order.client_order_id:
            if updated_client_order_id in user.client_order_ids:
                raise SimError(
                    409,
                    "order_already_exists",
                    "order already exists",
                    f"client_order_id {updated_client_order_id!r} was already used",
                )
        extra = self._reserve_for(market, side, price_bp, new_remaining) - order.reserved_micro
        acct = self.account(user_id, subaccount, exchange_index)
        if extra > 0 and acct.available_micro < extra:
            raise SimError(
                400,
                "insufficient_balance",
                "insufficient balance",
                f"amend needs ${extra / 1e6:.6f} more on exchange shard {exchange_index}",
            )
        if updated_client_order_id and updated_client_order_id != order.client_order_id:
            user.client_order_ids[updated_client_order_id] = order
            order.client_order_id = updated_client_order_id
        fills: list[EngineFill] = []
        now = self.clock.now_ns()
        if price_bp == order.price_bp and new_remaining <= order.remaining:
            if new_remaining < order.remaining:
                self._unrest(market, order, order.remaining - new_remaining)
        else:
            self._unrest(market, order, order.remaining)
            order.price_bp = price_bp
            order.remaining = new_remaining
            order.seq = next(self._seq)
            self._set_reserve(order, market)
            self._match(market, order, fills)
            if order.status == "resting":
                if order.remaining > 0:
                    self._rest(market, order)
                else:
                    order.status = "executed"
        order.initial = count
        order.updated_ns = now
        if order.last_update_reason != "Trade":
            order.last_update_reason = "Amend"
        self._set_reserve(order, market)
        self._emit_order(order)
        self._touch_user()
        return order, fills

    def cancel_all(
        self, user_id: str, subaccount: int | None, exchange_index: int | None = None
    ) -> list[tuple[Order, int]]:
        """Cancel every resting order of a user (optionally one subaccount / shard); return (order, size)."""
        done = []
        for order in list(self.users[user_id].orders):
            if order.status != "resting":
                continue
            if subaccount is not None and order.subaccount != subaccount:
                continue
            if exchange_index is not None and order.exchange_index != exchange_index:
                continue
            if not self.shards.get(order.exchange_index, {}).get("exchange_active", True):
                continue
            done.append((order, self._cancel(order, "Cancel")))
        return done

    def queue_position(self, order: Order) -> int:
        """Return the size resting ahead of ``order`` at its price (0 if it is not resting)."""
        if order.status != "resting":
            return 0
        market = self.markets[order.ticker]
        book = market.bids if order.side == "bid" else market.asks
        ahead = 0
        for o in book.get(order.price_bp, []):
            if o is order:
                break
            ahead += o.remaining
        return ahead

    # -- order groups -------------------------------------------------------------------------------
    def create_group(self, user_id: str, limit: int, subaccount: int, exchange_index: int) -> OrderGroup:
        if not 100 <= limit <= 1_000_000 * 100:
            raise bad_request(f"contracts_limit must be 1 to 1,000,000, got {limit / 100:.2f}")
        self.check_subaccount(user_id, subaccount)
        self._check_exchange(exchange_index, trading=False)
        group = OrderGroup(self._uuid(), user_id, subaccount, exchange_index, limit)
        self.groups[group.order_group_id] = group
        self.users[user_id].groups[group.order_group_id] = group
        self._emit(
            "order_group",
            {"event_type": "created", "order_group_id": group.order_group_id, "contracts_limit": limit},
            user_id,
        )
        return group

    def get_group(self, user_id: str, group_id: str, exchange_index: int | None = None) -> OrderGroup:
        group = self.groups.get(group_id)
        if (
            group is None
            or group.user_id != user_id
            or (exchange_index is not None and group.exchange_index != exchange_index)
        ):
            raise not_found(
                f"order group {group_id!r} not found",
                code="order_group_not_found",
                message="order group not found",
            )
        return group

    def group_orders(self, group: OrderGroup) -> list[Order]:
        return [o for o in self.users[group.user_id].orders if o.order_group_id == group.order_group_id]

    def _check_group(self, group: OrderGroup) -> None:
        if not group.triggered and group.volume(self.clock.now_ns()) > group.limit:
            self.trigger_group(group)

    def trigger_group(self, group: OrderGroup) -> None:
        """Trigger a group: cancel its resting orders and block new ones until reset."""
        group.triggered = True
        for order in self.group_orders(group):
            self._cancel(order, "OrderGroupCancel")
        self._emit(
            "order_group", {"event_type": "triggered", "order_group_id": group.order_group_id}, group.user_id
        )

    def reset_group(self, group: OrderGroup) -> None:
        group.triggered = False
        group.window.clear()
        self._emit(
            "order_group", {"event_type": "reset", "order_group_id": group.order_group_id}, group.user_id
        )

    def set_group_limit(self, group: OrderGroup, limit: int) -> None:
        if not 100 <= limit <= 1_000_000 * 100:
            raise bad_request(f"contracts_limit must be 1 to 1,000,000, got {limit / 100:.2f}")
        group.limit = limit
        self._emit(
            "order_group",
            {"event_type": "limit_updated", "order_group_id": group.order_group_id, "contracts_limit": limit},
            group.user_id,
        )
        if not group.triggered and group.volume(self.clock.now_ns()) > limit:
            self.trigger_group(group)

    def delete_group(self, group: OrderGroup) -> None:
        for order in self.group_orders(group):
            self._cancel(order, "OrderGroupCancel")
        self.groups.pop(group.order_group_id, None)
        self.users[group.user_id].groups.pop(group.order_group_id, None)
        self._emit(
            "order_group", {"event_type": "deleted", "order_group_id": group.order_group_id}, group.user_id
        )

    # -- invariants (tests) -------------------------------------------------------------------------
    def check_invariants(self) -> None:
        """Raise AssertionError if the books or the money are inconsistent."""
        for market in self.markets.values():
            bb, ba = market.best_bid(), market.best_ask()
            assert bb is None or ba is None or bb < ba, f"{market.ticker} crossed: {bb} >= {ba}"
            for side, book in (("bid", market.bids), ("ask", market.asks)):
                for price, queue in book.items():
                    assert queue, f"{market.ticker} empty level {price}"
                    for o in queue:
                        assert (
                            o.status == "resting"
                            and o.remaining > 0
                            and o.side == side
                            and o.price_bp == price
                        )
            net = sum(p.position for (_, _, t), p in self.positions.items() if t == market.ticker)
            assert net == 0, f"{market.ticker} positions do not net to zero: {net}"
            longs = sum(max(p.position, 0) for (_, _, t), p in self.positions.items() if t == market.ticker)
            assert longs == market.open_interest, (
                f"{market.ticker} open interest {market.open_interest} != {longs}"
            )
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
