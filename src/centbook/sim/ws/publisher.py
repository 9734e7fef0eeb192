"""The publishing of engine events to the sim's WebSocket subscribers, and the bodies it sends.

Parts: :class:`Publisher` (order book snapshots, the coalesced ticker messages, and the handlers
of the engine's book deltas, trades, fills, orders, positions, order groups and lifecycle
events). What it sends and why is explained in :mod:`centbook.sim.ws`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from centbook.book import OrderSide
from centbook.fixed import format_money, format_price, format_size
from centbook.sim.engine import MAX_BP, EngineEvent, Exchange, Market, Order
from centbook.sim.wire import iso
from centbook.sim.ws.bodies import DELTA_FORMAT, DELTA_TAIL, delta_market_part, price_table, size_bytes
from centbook.sim.ws.channels import CHANNELS, SEQUENCED, UPDATE_REASONS, market_id
from centbook.sim.ws.connection import Subscription

__all__ = ["Publisher"]


class Publisher:
    """Turns engine events into messages on the subscribed connections' queues.

    Parameters
    ----------
    exchange : Exchange
        The engine whose markets the messages describe.
    settings : dict
        The stream settings (``send_queue`` bounds the fast delta path).
    book_subs : dict
        Ticker -> its ``orderbook_delta`` subscriptions (kept by the hub).
    channel_subs : dict
        Channel -> its subscriptions (kept by the hub).
    """

    def __init__(
        self,
        exchange: Exchange,
        settings: dict[str, Any],
        book_subs: dict[str, list[Subscription]],
        channel_subs: dict[str, list[Subscription]],
    ) -> None:
        self.exchange = exchange
        self.settings = settings
        self.book_subs = book_subs
        self.channel_subs = channel_subs
        self._dirty: set[str] = set()
        self._flush_scheduled = False
        self._ticker_sent: dict[str, tuple[Any, ...]] = {}
        self._notional: dict[str, int] = {}
        self._last_size: dict[str, int] = {}
        self._volumes: dict[tuple[str, int, str], int] = {}
        self._price_bytes = price_table()

    # -- snapshots and tickers ---------------------------------------------------------------------
    def snapshot(self, sub: Subscription, ticker: str, cmd_id: int | None = None) -> None:
        market = self.exchange.markets[ticker]
        msg: dict[str, Any] = {"market_ticker": ticker, "market_id": market_id(ticker)}
        yes = [[format_price(p), format_size(s)] for p, s in reversed(market.depth(OrderSide.BID))]
        asks = market.depth(OrderSide.ASK)  # ascending YES price
        if sub.use_yes_price:
            no = [[format_price(p), format_size(s)] for p, s in asks]
        else:
            no = [[format_price(MAX_BP - p), format_size(s)] for p, s in reversed(asks)]
        if yes:
            msg["yes_dollars_fp"] = yes
        if no:
            msg["no_dollars_fp"] = no
        out: dict[str, Any] = {"type": "orderbook_snapshot", "sid": sub.sid, "seq": 0, "msg": msg}
        if cmd_id is not None:
            out["id"] = cmd_id
        sub.conn.enqueue(out, sub)

    def _ticker_state(self, m: Market) -> tuple[Any, ...]:
        bid, ask = m.best_bid(), m.best_ask()
        last = m.last_price_bp or 0
        return (
            last,
            bid if bid is not None else 0,
            ask if ask is not None else MAX_BP,
            m.level_size(OrderSide.BID, bid) if bid is not None else 0,
            m.level_size(OrderSide.ASK, ask) if ask is not None else 0,
            m.volume,
            m.open_interest,
            self._last_size.get(m.ticker, 0),
        )

    def ticker_msg(
        self, sub: Subscription, m: Market, state: tuple[Any, ...] | None = None
    ) -> dict[str, Any]:
        last, bid, ask, bid_size, ask_size, volume, oi, last_size = state or self._ticker_state(m)
        now_ms = self.exchange.clock.now_ms()
        return {
            "type": "ticker",
            "sid": sub.sid,
            "msg": {
                "market_ticker": m.ticker,
                "market_id": market_id(m.ticker),
                "price_dollars": format_price(last),
                "yes_bid_dollars": format_price(bid),
                "yes_ask_dollars": format_price(ask),
                "volume_fp": format_size(volume),
                "open_interest_fp": format_size(oi),
                "dollar_volume": self._notional.get(m.ticker, 0) // 1_000_000,
                "dollar_open_interest": oi * last // 1_000_000,
                "yes_bid_size_fp": format_size(bid_size),
                "yes_ask_size_fp": format_size(ask_size),
                "last_trade_size_fp": format_size(last_size),
                "ts": now_ms // 1000,
                "ts_ms": now_ms,
                "time": iso(now_ms * 1_000_000),
            },
        }

    def _flush_tickers(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        subs = self.channel_subs["ticker"]
        for t in dirty:
            m = self.exchange.markets[t]
            state = self._ticker_state(m)
            if self._ticker_sent.get(t) == state:
                continue
            self._ticker_sent[t] = state
            for sub in subs:
                if sub.wants(t):
                    sub.conn.enqueue(self.ticker_msg(sub, m, state), sub)

    def _mark_dirty(self, ticker: str) -> None:
        if not self.channel_subs["ticker"]:
            return
        self._dirty.add(ticker)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self._flush_tickers)
            except RuntimeError:
                self._flush_tickers()

    # -- engine events -----------------------------------------------------------------------------
    def on_event(self, ev: EngineEvent) -> None:
        kind = ev.kind
        data = ev.data
        if kind == "trade":
            self._on_trade(ev)
        elif kind == "fill":
            fill = data["fill"]
            key = (fill.user_id, fill.subaccount, fill.ticker)
            self._volumes[key] = self._volumes.get(key, 0) + fill.size
            self._private("fill", ev, fill.ticker, self._fill_msg)
        elif kind == "order":
            order = data["order"]
            self._private("user_orders", ev, order.ticker, self._order_msg)
        elif kind == "position":
            self._private("market_positions", ev, data["ticker"], self._position_msg)
        elif kind == "order_group":
            self._private("order_group_updates", ev, None, self._group_msg)
        elif kind == "lifecycle":
            self._on_lifecycle(ev)

    def on_delta(self, market: Market, order: Order, delta: int, cause: Order, ts_ns: int) -> None:
        """Publish one book level change to every ``orderbook_delta`` sid of its market."""
        ticker = market.ticker
        subs = self.book_subs.get(ticker)
        if subs:
            prices = self._price_bytes
            yes_side = order.side == OrderSide.BID
            price_bp = order.price_bp
            size = size_bytes(delta)
            tail = DELTA_TAIL[yes_side]
            middle = delta_market_part(ticker)
            ts_ms = ts_ns // 1_000_000
            cause_user = cause.user_id
            bound = self.settings["send_queue"]
            now = time.monotonic()
            for sub in tuple(subs):
                conn = sub.conn
                if conn.closed or sub.dead:
                    continue
                price = price_bp if yes_side or sub.use_yes_price else MAX_BP - price_bp
                if cause_user == conn.user_id:
                    # the subscriber's own order: annotated, built the general way
                    conn.enqueue(self._delta_msg(sub, ticker, yes_side, price, delta, ts_ms, cause), sub)
                    continue
                queue = conn.queue
                # the common case inline; armed seq faults or a full queue take the general path
                fast = not (conn.skip_next or conn.repeat_next) and len(queue) < bound
                seq = sub.seq + 1 if fast else conn.take_seq(sub, True)
                if seq < 0:
                    continue
                payload = DELTA_FORMAT % (sub.delta_head, seq, middle, prices[price], size, tail, ts_ms)
                if fast:
                    sub.seq = seq
                    queue.append((payload, now, sub.sid, seq))
                    conn.wake.set()
                else:
                    conn.push(payload, sub.sid, seq)
        if self.channel_subs["ticker"]:
            self._mark_dirty(ticker)

    def _delta_msg(
        self,
        sub: Subscription,
        ticker: str,
        yes_side: bool,
        price_bp: int,
        delta: int,
        ts_ms: int,
        cause: Order | None = None,
    ) -> dict[str, Any]:
        """Return one ``orderbook_delta`` message (``price_bp`` already in the sid's terms)."""
        msg: dict[str, Any] = {
            "market_ticker": ticker,
            "market_id": market_id(ticker),
            "price_dollars": format_price(price_bp),
            "delta_fp": format_size(delta),
            "side": "yes" if yes_side else "no",
            "ts_ms": ts_ms,
        }
        if cause is not None:
            if cause.client_order_id:
                msg["client_order_id"] = cause.client_order_id
            if cause.subaccount:
                msg["subaccount"] = cause.subaccount
        return {"type": "orderbook_delta", "sid": sub.sid, "seq": 0, "msg": msg}

    def _on_trade(self, ev: EngineEvent) -> None:
        trade = ev.data["trade"]
        self._notional[trade.ticker] = self._notional.get(trade.ticker, 0) + trade.price_bp * trade.size
        self._last_size[trade.ticker] = trade.size
        self._mark_dirty(trade.ticker)
        subs = [s for s in self.channel_subs["trade"] if s.wants(trade.ticker)]
        if not subs:
            return
        outcome = "yes" if trade.taker_side == OrderSide.BID else "no"
        msg = {
            "trade_id": trade.trade_id,
            "market_ticker": trade.ticker,
            "yes_price_dollars": format_price(trade.price_bp),
            "no_price_dollars": format_price(MAX_BP - trade.price_bp),
            "count_fp": format_size(trade.size),
            "taker_side": outcome,
            "taker_outcome_side": outcome,
            "taker_book_side": trade.taker_side,
            "is_block_trade": False,
            "ts": trade.ts_ns // 1_000_000_000,
            "ts_ms": trade.ts_ns // 1_000_000,
        }
        for sub in subs:
            sub.conn.enqueue({"type": "trade", "sid": sub.sid, "seq": 0, "msg": msg}, sub)

    def relay(self, channel: str, ticker: str | None, msg: dict[str, Any]) -> None:
        """Send a message body made elsewhere (a recording's) on a public channel.

        To the channel's subscribers that want ``ticker`` (None: to all), with their sid and seq.
        """
        for sub in list(self.channel_subs[channel]):
            if ticker is None or sub.wants(ticker):
                out: dict[str, Any] = {"type": CHANNELS[channel], "sid": sub.sid, "msg": msg}
                if channel in SEQUENCED:
                    out["seq"] = 0
                sub.conn.enqueue(out, sub)

    def _private(self, channel: str, ev: EngineEvent, ticker: str | None, build: Any) -> None:
        subs = self.channel_subs[channel]
        if not subs:
            return
        msg = None
        for sub in list(subs):
            if sub.conn.user_id != ev.user_id or (ticker is not None and not sub.wants(ticker)):
                continue
            if msg is None:
                msg = build(ev)
            out: dict[str, Any] = {"type": CHANNELS[channel], "sid": sub.sid, "msg": msg}
            if channel in SEQUENCED:
                out["seq"] = 0
            sub.conn.enqueue(out, sub)

    def _fill_msg(self, ev: EngineEvent) -> dict[str, Any]:
        f = ev.data["fill"]
        outcome = "yes" if f.side == OrderSide.BID else "no"
        msg: dict[str, Any] = {
            "trade_id": f.fill_id,
            "order_id": f.order_id,
            "market_ticker": f.ticker,
            "exchange_index": f.exchange_index,
            "is_taker": f.is_taker,
            "side": outcome,
            "yes_price_dollars": format_price(f.price_bp),
            "count_fp": format_size(f.size),
            "fee_cost": format_money(f.fee_micro),
            "action": "buy",
            "ts": f.ts_ns // 1_000_000_000,
            "ts_ms": f.ts_ns // 1_000_000,
            "post_position_fp": format_size(f.post_position),
            "purchased_side": outcome,
            "outcome_side": outcome,
            "book_side": f.side,
        }
        if f.client_order_id:
            msg["client_order_id"] = f.client_order_id
        if f.subaccount:
            msg["subaccount"] = f.subaccount
        return msg

    def _order_msg(self, ev: EngineEvent) -> dict[str, Any]:
        o = ev.data["order"]
        outcome = "yes" if o.side == OrderSide.BID else "no"
        msg: dict[str, Any] = {
            "order_id": o.order_id,
            "user_id": o.user_id,
            "ticker": o.ticker,
            "exchange_index": o.exchange_index,
            "status": o.status,
            "side": outcome,
            "is_yes": outcome == "yes",
            "outcome_side": outcome,
            "book_side": o.side,
            "yes_price_dollars": format_price(o.price_bp),
            "fill_count_fp": format_size(o.filled),
            "remaining_count_fp": format_size(o.remaining),
            "initial_count_fp": format_size(o.initial),
            "taker_fill_cost_dollars": format_money(o.taker_cost_micro),
            "maker_fill_cost_dollars": format_money(o.maker_cost_micro),
            "taker_fees_dollars": format_money(o.taker_fees_micro),
            "maker_fees_dollars": format_money(o.maker_fees_micro),
            "client_order_id": o.client_order_id,
            "self_trade_prevention_type": o.stp,
            "created_time": iso(o.created_ns),
            "created_ts_ms": o.created_ns // 1_000_000,
            "last_updated_ts_ms": o.updated_ns // 1_000_000,
            "subaccount_number": o.subaccount,
        }
        if o.order_group_id:
            msg["order_group_id"] = o.order_group_id
        if o.expiration_s is not None:
            msg["expiration_time"] = iso(o.expiration_s * 1_000_000_000)
            msg["expiration_ts_ms"] = o.expiration_s * 1000
        if o.last_update_reason in UPDATE_REASONS:
            msg["last_update_reason"] = o.last_update_reason
        return msg

    def _position_msg(self, ev: EngineEvent) -> dict[str, Any]:
        d = ev.data
        key = (ev.user_id or "", d["subaccount"], d["ticker"])
        msg: dict[str, Any] = {
            "user_id": ev.user_id,
            "market_ticker": d["ticker"],
            "position_fp": format_size(d["position"]),
            "position_cost_dollars": format_money(d.get("cost_micro", 0)),
            "realized_pnl_dollars": format_money(d.get("realized_micro", 0)),
            "fees_paid_dollars": format_money(d.get("fees_micro", 0)),
            "position_fee_cost_dollars": format_money(d.get("fees_micro", 0)),
            "volume_fp": format_size(self._volumes.get(key, 0)),
        }
        if d["subaccount"]:
            msg["subaccount"] = d["subaccount"]
        return msg

    def _group_msg(self, ev: EngineEvent) -> dict[str, Any]:
        d = ev.data
        msg: dict[str, Any] = {
            "event_type": d["event_type"],
            "order_group_id": d["order_group_id"],
            "ts_ms": ev.ts_ns // 1_000_000,
        }
        if d.get("contracts_limit") is not None and d["event_type"] in ("created", "limit_updated"):
            msg["contracts_limit_fp"] = format_size(d["contracts_limit"])
        return msg

    def _on_event_lifecycle(self, ev: EngineEvent) -> None:
        event = ev.data["event"]
        msg = {
            "event_ticker": event.event_ticker,
            "exchange_index": event.exchange_index,
            "title": event.title,
            "subtitle": event.sub_title,
            "collateral_return_type": event.collateral_return_type,
            "series_ticker": event.series_ticker,
        }
        for sub in list(self.channel_subs["market_lifecycle_v2"]):
            sub.conn.enqueue({"type": "event_lifecycle", "sid": sub.sid, "seq": 0, "msg": msg}, sub)

    def _on_lifecycle(self, ev: EngineEvent) -> None:
        d = ev.data
        if "event" in d:
            self._on_event_lifecycle(ev)
            return
        ticker = d["ticker"]
        channel = "multivariate_market_lifecycle" if ticker.startswith("KXMVE") else "market_lifecycle_v2"
        self._mark_dirty(ticker)
        subs = self.channel_subs[channel]
        if not subs:
            return
        event_type = d["event_type"]
        msg: dict[str, Any] = {"market_ticker": ticker, "event_type": event_type}
        market = self.exchange.markets.get(ticker)
        if event_type in ("activated", "deactivated"):
            msg["is_deactivated"] = event_type == "deactivated"
        elif event_type == "determined":
            msg["result"] = d.get("result", "")
            msg["determination_ts"] = ev.ts_ns // 1_000_000_000
            value = market.settlement_value_bp if market is not None else None
            if value is not None:
                msg["settlement_value"] = format_price(value)
        elif event_type == "settled":
            msg["settled_ts"] = ev.ts_ns // 1_000_000_000
        elif event_type == "price_level_structure_updated" and market is not None:
            msg["price_level_structure"] = market.price_level_structure
            msg["price_ranges"] = market.price_ranges
        elif event_type == "close_date_updated" and market is not None:
            msg["close_ts"] = market.close_s
        elif event_type == "created" and market is not None:
            msg.update(
                exchange_index=market.exchange_index, open_ts=market.open_s, close_ts=market.close_s,
                price_level_structure=market.price_level_structure, price_ranges=market.price_ranges,
            )  # fmt: skip
        elif event_type == "metadata_updated" and market is not None:
            msg.update(strike_type=market.strike_type, yes_sub_title=market.yes_sub_title)
            for name in ("floor_strike", "cap_strike", "custom_strike"):
                if getattr(market, name) is not None:
                    msg[name] = getattr(market, name)
        for sub in list(subs):
            sub.conn.enqueue({"type": channel, "sid": sub.sid, "seq": 0, "msg": msg}, sub)
