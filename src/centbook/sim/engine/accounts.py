"""The exchange's money: users, subaccounts, balances, positions, fees and collateral.

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

Parts: :class:`Ledger` (users and subaccounts, transfers, the fee arithmetic, order reserves,
and the booking of one side of a fill).
"""

from __future__ import annotations

from typing import Any

from centbook.book import OrderSide
from centbook.fixed import parse_money
from centbook.sim.engine.bus import IdSource
from centbook.sim.engine.records import (
    MAX_BP,
    MAX_SUBACCOUNT,
    ONE_DOLLAR_PER_C100,
    Account,
    Clock,
    EngineFill,
    Market,
    Order,
    Position,
    User,
)
from centbook.sim.errors import SimError, bad_request

__all__ = ["Ledger", "micro_from_dollars"]

_BID = OrderSide.BID  # a module constant: read once per fill side, cheaper than the class attribute


def micro_from_dollars(text: str) -> int:
    """Return a dollar amount (``"1000.00"`` or a number) in micro-dollars."""
    return parse_money(str(text))


class Ledger:
    """Every user's cash, reserves and positions, and the fees the exchange collected.

    Parameters
    ----------
    config : dict
        The exchange configuration (``fees.balance_precision`` is read here).
    clock : Clock
        The exchange clock.
    ids : IdSource
        Makes user and fill ids.
    shards : dict
        The exchange's shard states; funding a new shard adds it.
    """

    def __init__(
        self, config: dict[str, Any], clock: Clock, ids: IdSource, shards: dict[int, dict[str, bool]]
    ) -> None:
        self.clock = clock
        self.ids = ids
        self.shards = shards
        self.users: dict[str, User] = {}
        self.users_by_name: dict[str, User] = {}
        self.accounts: dict[tuple[str, int, int], Account] = {}
        self.positions: dict[tuple[str, int, str], Position] = {}
        self.fees_collected_micro = 0
        # target balance precision: $0.0001 for direct members, $0.01 for others
        precision = config.get("fees", {}).get("balance_precision", "0.0001")
        self.balance_precision_micro = micro_from_dollars(str(precision))
        if self.balance_precision_micro not in (100, 10_000):
            raise ValueError(f"fees.balance_precision must be 0.0001 or 0.01, got {precision!r}")
        self.funded_micro = 0
        self.last_user_data_ns = clock.now_ns()

    # -- users and subaccounts ----------------------------------------------------------------------
    def add_user(self, name: str, tier: str = "basic", funding: dict[Any, Any] | None = None) -> str:
        """Create a user and fund its primary subaccount per shard; see :meth:`Exchange.add_user`."""
        if name in self.users_by_name:
            raise ValueError(f"user {name!r} already exists")
        amounts = {int(shard): micro_from_dollars(str(dollars)) for shard, dollars in (funding or {}).items()}
        user = User(self.ids.uuid(), name, tier)
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

    def account(self, user_id: str, subaccount: int, exchange_index: int) -> Account:
        """Return the (user, subaccount, shard) balance, created empty on first use."""
        key = (user_id, subaccount, exchange_index)
        acct = self.accounts.get(key)
        if acct is None:
            acct = self.accounts[key] = Account()
        return acct

    def position(self, user_id: str, subaccount: int, market: Market) -> Position:
        """Return a subaccount's position in ``market``, created flat on first use."""
        key = (user_id, subaccount, market.ticker)
        pos = self.positions.get(key)
        if pos is None:
            pos = self.positions[key] = Position(market.ticker, market.exchange_index)
        return pos

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
        self.touch()

    def check_subaccount(self, user_id: str, subaccount: int) -> None:
        """Raise ``subaccount_not_found`` unless the user has ``subaccount``."""
        if subaccount not in self.users[user_id].subaccounts:
            raise bad_request(
                f"subaccount {subaccount} does not exist",
                code="subaccount_not_found",
                message="subaccount not found",
            )

    def touch(self) -> None:
        """Record that some user's data changed (the portfolio endpoints report the time)."""
        self.last_user_data_ns = self.clock.now_ns()

    # -- fees and collateral ------------------------------------------------------------------------
    def trade_fee_micro(self, market: Market, price_bp: int, size: int, is_taker: bool) -> int:
        """Return the trade fee of one fill, rounded up to $0.0001 (see the module notes)."""
        fee_type, fee_ppm = market.fees()
        if fee_type == "flat":
            raw = fee_ppm * size * MAX_BP * MAX_BP // 4  # mult * C / 4, same scale as below
        else:
            raw = fee_ppm * size * price_bp * (MAX_BP - price_bp)
            if not is_taker:
                if fee_type != "quadratic_with_maker_fees":
                    return 0
                raw //= 4
        # raw / 1e10 micro-dollars; round up to 100 micro ($0.0001)
        scale = 10**12
        return -(-raw // scale) * 100

    def reserve_for(self, market: Market, side: OrderSide, price_bp: int, size: int) -> int:
        """Return what an order of ``size`` at ``price_bp`` reserves: its cost and a fee bound."""
        # buying YES releases the floor at once (settlement_bounds): it costs price - floor
        cost_bp = price_bp - market.floor_bp if side == _BID else MAX_BP - price_bp
        # the largest fee of ``size`` at any price (P(1-P) <= 1/4) plus rounding slack
        return cost_bp * size + market.fees()[1] * size // 400 + 200

    def set_reserve(self, order: Order, market: Market) -> None:
        """Bring an order's reserve (and its account's) to what its resting size needs."""
        new = (
            self.reserve_for(market, order.side, order.price_bp, order.remaining)
            if order.status == "resting" and order.remaining > 0
            else 0
        )
        acct = order.account
        if acct is None:
            acct = order.account = self.account(order.user_id, order.subaccount, order.exchange_index)
        acct.reserved_micro += new - order.reserved_micro
        order.reserved_micro = new

    # -- fills --------------------------------------------------------------------------------------
    def book_fill(
        self, market: Market, order: Order, is_taker: bool, price_bp: int, size: int, trade_id: str, now: int
    ) -> tuple[EngineFill, Position]:
        """Book one side of a trade: cash, fees, position, open interest; return the fill record.

        ``market.open_interest`` moves by the change of this side's absolute position; the
        caller halves the sum of both sides (contracts count once).
        """
        fee = self.trade_fee_micro(market, price_bp, size, is_taker)
        # with a settlement floor F a YES leg costs P - F and a netted pair redeems at 1 - F
        # (the F of each YES contract was paid out when the floor was raised)
        floor_bp = market.floor_bp
        buys = order.side == _BID
        cost_bp = price_bp - floor_bp if buys else MAX_BP - price_bp
        pair_micro = ONE_DOLLAR_PER_C100 - floor_bp
        cost = cost_bp * size
        pos = self.position(order.user_id, order.subaccount, market)
        old = pos.position
        closing = min(size, max(-old, 0)) if buys else min(size, max(old, 0))
        # balance change before rounding: pay the cost, redeem netted pairs at $1, pay the fee
        fee_total = self._pay(order, -cost + closing * pair_micro - fee, fee)
        # cost basis: closing removes a proportional share, opening adds this fill's cost
        if closing:
            removed = pos.cost_micro * closing // abs(old)
            pos.cost_micro -= removed
            pos.realized_micro += closing * pair_micro - cost_bp * closing - removed
        pos.cost_micro += cost_bp * (size - closing)
        pos.position = old + (size if buys else -size)
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
            self.ids.uuid(), trade_id, order.order_id, order.user_id, order.subaccount, market.ticker,
            market.exchange_index, order.side, price_bp, size, is_taker, fee_total, now,
            order.client_order_id, pos.position,
        )  # fmt: skip
        self.users[order.user_id].fills.append(fill)
        return fill, pos

    def _pay(self, order: Order, change: int, fee: int) -> int:
        """Apply a fill's balance ``change`` to the order's account; return the net fee charged.

        The change is floored to the balance precision; the difference is a rounding fee that
        the order's accumulator pays back a cent at a time (docs getting_started/fee_rounding).
        """
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
        return fee_total
