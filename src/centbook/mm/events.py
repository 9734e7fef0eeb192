"""WebSocket event handling of :class:`centbook.mm.maker.MarketMaker`: book states, fills, user
orders, positions, market lifecycle and order-group updates.

Parts: :class:`EventHandler`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from centbook.book import BookState, OrderSide
from centbook.feed.connection import StateChange
from centbook.mm.orders import OrderState
from centbook.protocol.messages import (
    MarketLifecycleV2,
    MarketPosition,
    OrderGroupUpdates,
    UserFill,
    UserOrder,
)

if TYPE_CHECKING:  # the maker imports this module to build its part; a part only calls back
    from centbook.mm.maker import MarketMaker

__all__ = ["EventHandler"]

_DONE_STATUSES = {"canceled", "executed", "expired"}


class EventHandler:
    """The feed's state and message listeners of the maker.

    Parameters
    ----------
    mm : MarketMaker
        The maker whose markets, orders and ledger the events update, and whose decisions they
        call for (at the end of the socket read).
    """

    def __init__(self, mm: MarketMaker) -> None:
        self.mm = mm

    def on_state(self, change: StateChange) -> None:
        """Decide a market again when its book changes state (a pull when it is not LIVE)."""
        if change.ticker in self.mm.markets:
            if change.new is not BookState.LIVE:
                self.mm.counts["pulls"] += 1
            self.mm.decide(change.ticker, 0)

    def on_message(self, msg: Any) -> None:
        """Apply one WebSocket message of the maker's channels to its state."""
        if isinstance(msg, UserFill):
            f = msg.msg
            self.mm.armed_slots.disarm_market(f.market_ticker)
            self.apply_fill(f.trade_id, f.order_id, f.market_ticker, f.book_side, f.yes_price_bp,
                             f.count_c100, f.fee_cost_micro or 0, f.client_order_id)
        elif isinstance(msg, UserOrder):
            b = msg.msg
            order = self.mm.order_manager.order_for(b.order_id, b.client_order_id)
            if order is not None:
                self.mm.armed_slots.disarm_market(order.ticker)
                order.size = b.remaining_count_c100
                order.filled = b.fill_count_c100
                if b.status in _DONE_STATUSES or b.remaining_count_c100 == 0:
                    order.state = OrderState.DONE
                    slot = self.mm.slots.get((order.ticker, order.side))
                    if slot is not None and slot.live is order and not slot.busy:
                        slot.live = None
                elif order.state is OrderState.UNKNOWN:
                    order.price_bp = b.yes_price_bp
                    order.state = OrderState.RESTING
                self.mm.decide_soon(order.ticker)
        elif isinstance(msg, MarketLifecycleV2):
            ticker = getattr(msg.msg, "market_ticker", None)
            if ticker in self.mm.markets:
                self.mm.log(f"lifecycle {ticker}: {getattr(msg.msg, 'event_type', '?')}")
                self.mm.armed_slots.disarm_market(ticker)
                self.mm.decide(ticker, 0)
        elif isinstance(msg, MarketPosition):
            p = msg.msg
            info = self.mm.markets.get(p.market_ticker)
            if info is not None and (self.mm.sub is None or p.subaccount in (None, self.mm.sub)):
                info.ws_position = p.position_c100
                self.mm.risk.check_ws_position(info)
        elif isinstance(msg, OrderGroupUpdates):
            g = msg.msg
            if g.event_type == "triggered" and g.order_group_id in self.mm.groups.values():
                self.mm.risk.on_group_triggered(g.order_group_id)

    def apply_fill(self, trade_id: str, order_id: str, ticker: str, book_side: str | None,
                    price_bp: int, count: int, fee: int, client_order_id: str | None = None) -> None:
        order = self.mm.order_manager.order_for(order_id, client_order_id)
        if order is None or ticker not in self.mm.markets:
            return  # not this session's
        side = order.side or book_side or OrderSide.BID
        if self.mm.ledger.apply(trade_id, order_id, ticker, side, price_bp, count, fee):
            self.mm.counts["fills"] += 1
            # the position moved: every arming holds the old one (and the total limit spans markets)
            for t in self.mm.markets:
                self.mm.armed_slots.disarm_market(t)
                self.mm.decide_soon(t)
