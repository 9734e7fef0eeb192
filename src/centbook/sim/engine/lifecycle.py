"""The life of the exchange's markets and shards: opening, pausing, closing, settling, routing.

Parts: :class:`Lifecycle` (the scheduled opens and closes, settlement and its payouts, market
halts, price grids, settlement floors with the cover of negative balances, shard status and
the routing of writes to shards).
"""

from __future__ import annotations

from typing import Any

from centbook.grid import PriceGrid
from centbook.sim.config import PRICE_STRUCTURES
from centbook.sim.engine.accounts import Ledger
from centbook.sim.engine.bus import EventBus
from centbook.sim.engine.matching import Matcher
from centbook.sim.engine.records import MAX_BP, Clock, Market, Order, Position, Settlement
from centbook.sim.errors import SimError, bad_request, not_found

__all__ = ["Lifecycle"]

_SHARD_OPEN = {"exchange_active": True, "trading_active": True}  # an unknown shard: read only


class Lifecycle:
    """Market and shard status, settlement, and the routing of writes.

    Parameters
    ----------
    markets : dict
        The exchange's markets by ticker.
    shards : dict
        Shard number -> ``{"exchange_active", "trading_active"}``.
    orders : dict
        Every order by id (a shard pause cancels some).
    clock, bus, ledger, matcher
        The exchange clock, its event bus, its money and its books.
    """

    def __init__(
        self,
        markets: dict[str, Market],
        shards: dict[int, dict[str, bool]],
        orders: dict[str, Order],
        clock: Clock,
        bus: EventBus,
        ledger: Ledger,
        matcher: Matcher,
    ) -> None:
        self.markets = markets
        self.shards = shards
        self.orders = orders
        self.clock = clock
        self.bus = bus
        self.ledger = ledger
        self.matcher = matcher

    def market(self, ticker: str) -> Market:
        """Return a market; ``market_not_found`` if there is none."""
        market = self.markets.get(ticker)
        if market is None:
            raise not_found(
                f"market {ticker!r} not found", code="market_not_found", message="market not found"
            )
        return market

    # -- market status ------------------------------------------------------------------------------
    def advance(self, now_s: int) -> None:
        """Open, close and settle the markets whose scheduled time has come."""
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

    def _set_status(self, market: Market, status: str, event_type: str, **extra: Any) -> None:
        market.status = status
        market.updated_ns = self.clock.now_ns()
        self.bus.emit(
            "lifecycle", {"ticker": market.ticker, "event_type": event_type, "status": status, **extra}
        )

    def close_market(self, ticker: str) -> None:
        """Close a market now: cancel its resting orders; status ``closed``."""
        market = self.market(ticker)
        if market.status in ("closed", "determined", "finalized"):
            return
        for order in self.matcher.resting(market):
            self.matcher.cancel(order, "CloseCancel")
        market.close_s = min(market.close_s, self.clock.now_ns() // 1_000_000_000)
        self._set_status(market, "closed", "deactivated")

    def set_market_halted(self, ticker: str, halted: bool) -> None:
        """Pause (status ``inactive``) or resume one active market."""
        market = self.market(ticker)
        if halted and market.status == "active":
            market.halted = True
            self._set_status(market, "inactive", "deactivated")
            for order in self.matcher.resting(market):
                if order.cancel_on_pause:
                    self.matcher.cancel(order, "HaltCancel")
        elif not halted and market.status == "inactive":
            market.halted = False
            self._set_status(market, "active", "activated")

    # -- settlement ---------------------------------------------------------------------------------
    def settle_market(self, ticker: str, result: str, settlement_value_bp: int | None = None) -> None:
        """Determine and settle a market; see :meth:`Exchange.settle_market`."""
        settlement_value_bp = self._settlement_value(result, settlement_value_bp)
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
        for (user_id, sub, tkr), pos in list(self.ledger.positions.items()):
            if tkr == ticker:
                self._pay_out(market, user_id, sub, pos, now)
        market.open_interest = 0
        market.settled_ns = now
        self._set_status(market, "finalized", "settled", result=result)
        self.ledger.touch()

    @staticmethod
    def _settlement_value(result: str, settlement_value_bp: int | None) -> int:
        """Return the YES settlement value of ``result``; ``ValueError`` if they do not fit."""
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
        return settlement_value_bp

    def _pay_out(self, market: Market, user_id: str, sub: int, pos: Position, now: int) -> None:
        """Pay one settled position, record its settlement and remove it."""
        assert market.settlement_value_bp is not None
        yes_pays = market.settlement_value_bp - market.floor_bp  # micro-dollars per hundredth
        no_pays = MAX_BP - market.settlement_value_bp
        yes_count = max(pos.position, 0)
        no_count = max(-pos.position, 0)
        payout = yes_count * yes_pays + no_count * no_pays
        self.ledger.account(user_id, sub, market.exchange_index).cash_micro += payout
        if yes_count or no_count or pos.total_traded_micro:
            self.ledger.users[user_id].settlements.append(
                Settlement(
                    market.ticker, market.event.event_ticker, market.result,
                    yes_count, pos.cost_micro if yes_count else 0,
                    no_count, pos.cost_micro if no_count else 0,
                    payout, pos.fees_micro, now, sub, market.exchange_index, yes_pays,
                )
            )  # fmt: skip
        pos.realized_micro += payout - pos.cost_micro
        pos.position = 0
        pos.cost_micro = 0
        pos.updated_ns = now
        del self.ledger.positions[(user_id, sub, market.ticker)]
        self.bus.emit(
            "position",
            {
                "ticker": market.ticker,
                "subaccount": sub,
                "position": 0,
                "settled": True,
                "revenue_micro": payout,
            },
            user_id,
        )

    # -- price grid and settlement floor ------------------------------------------------------------
    def set_price_structure(
        self,
        ticker: str,
        structure: str,
        ranges: list[dict[str, str]] | None = None,
        *,
        announce: bool = True,
    ) -> None:
        """Change a market's price grid; see :meth:`Exchange.set_price_structure`."""
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

    def announce_price_structure(self, ticker: str) -> None:
        """Emit ``price_level_structure_updated`` for a market's current grid."""
        market = self.market(ticker)
        self.bus.emit(
            "lifecycle",
            {"ticker": ticker, "event_type": "price_level_structure_updated", "status": market.status},
        )

    def set_settlement_floor(self, ticker: str, floor_bp: int) -> list[Order]:
        """Raise or lower a market's settlement floor; see :meth:`Exchange.set_settlement_floor`."""
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
        touched = self._pay_floor_change(market, change)
        cancelled: list[Order] = []
        if change > 0:
            for order in self.matcher.resting(market):
                if order.price_bp <= floor_bp:
                    self.matcher.cancel(order, "SettlementFloorCancel")
                    cancelled.append(order)
        # resting bids reserve price - floor: recompute them all
        for order in self.matcher.resting(market):
            self.ledger.set_reserve(order, market)
            touched.add((order.user_id, order.subaccount, order.exchange_index))
        for key in sorted(touched):
            cancelled += self._cover_negative(*key)
        self.ledger.touch()
        return cancelled

    def _pay_floor_change(self, market: Market, change: int) -> set[tuple[str, int, int]]:
        """Pay (or take back) a floor change per YES contract held; return the accounts touched."""
        touched: set[tuple[str, int, int]] = set()
        for (user_id, sub, tkr), pos in list(self.ledger.positions.items()):
            if tkr != market.ticker or pos.position <= 0:
                continue
            # the floor is paid (or taken back) per YES contract; the cost basis follows, so
            # realized P&L at settlement is still value - price
            amount = change * pos.position
            self.ledger.account(user_id, sub, market.exchange_index).cash_micro += amount
            pos.cost_micro -= amount
            pos.updated_ns = market.updated_ns
            touched.add((user_id, sub, market.exchange_index))
            if self.bus.listeners["position"]:
                self.bus.emit_position(market.ticker, user_id, sub, pos)
        return touched

    def _cover_negative(self, user_id: str, subaccount: int, exchange_index: int) -> list[Order]:
        """Make an account's available balance non-negative as settlement_bounds says.

        Resting orders of the account are cancelled newest first until it is not negative,
        then the user's other subaccounts on the shard cover what is still negative, and any rest
        stays as a negative balance on the primary subaccount.
        """
        acct = self.ledger.account(user_id, subaccount, exchange_index)
        cancelled: list[Order] = []
        if acct.available_micro >= 0:
            return cancelled
        user = self.ledger.users[user_id]
        for order in reversed(user.orders):
            if acct.available_micro >= 0:
                break
            if (
                order.status == "resting"
                and order.subaccount == subaccount
                and order.exchange_index == exchange_index
            ):
                self.matcher.cancel(order, "SettlementFloorCancel")
                cancelled.append(order)
        for other in sorted(user.subaccounts - {subaccount}):
            if acct.cash_micro >= 0:
                break
            source = self.ledger.account(user_id, other, exchange_index)
            moved = min(max(source.available_micro, 0), -acct.cash_micro)
            source.cash_micro -= moved
            acct.cash_micro += moved
        if acct.cash_micro < 0 and subaccount != 0:
            self.ledger.account(user_id, 0, exchange_index).cash_micro += acct.cash_micro
            acct.cash_micro = 0
        return cancelled

    # -- shards -------------------------------------------------------------------------------------
    def set_shard_status(
        self, exchange_index: int, *, trading_active: bool | None = None, exchange_active: bool | None = None
    ) -> None:
        """Pause or resume trading or the whole exchange on a shard; see :meth:`Exchange.set_shard_status`."""
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
                self.matcher.cancel(order, "HaltCancel")
        self.bus.emit("exchange_status", {"exchange_index": exchange_index, **state})

    def check_exchange(self, exchange_index: int, *, trading: bool) -> None:
        """Raise if the shard is paused (or, with ``trading``, if its trading is paused)."""
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

    def route(self, exchange_index: Any, ticker: str | None) -> int:
        """Return the shard a write goes to; see :meth:`Exchange.route`."""
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
