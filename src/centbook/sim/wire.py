"""Kalshi's JSON shapes of the engine's objects (REST v2, OpenAPI 3.28 field names)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from centbook.book import OrderSide
from centbook.fixed import format_money, format_price, format_size
from centbook.sim.engine import MAX_BP, EngineFill, Exchange, Market, Order, Position, Settlement, Trade
from centbook.sim.engine.candles import Candle

__all__ = [
    "candle_json",
    "historical_candle_json",
    "iso",
    "dollars4",
    "fill_json",
    "market_json",
    "order_json",
    "orderbook_json",
    "position_json",
    "settlement_json",
    "trade_json",
]


def iso(ts_ns: int | None) -> str | None:
    """Format Unix nanoseconds as RFC 3339 UTC (``2026-08-10T23:00:00.123456Z``)."""
    if ts_ns is None:
        return None
    dt = _dt.datetime.fromtimestamp(ts_ns / 1e9, tz=_dt.UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    micros = (ts_ns // 1000) % 1_000_000
    return f"{text}.{micros:06d}Z" if micros else f"{text}Z"


def iso_s(ts_s: int) -> str:
    return iso(ts_s * 1_000_000_000) or ""


def dollars4(micro: int) -> str:
    """Format micro-dollars with 4 decimals, truncated toward zero (``balance_dollars``)."""
    sign = "-" if micro < 0 else ""
    micro = abs(micro) // 100
    return f"{sign}{micro // 10000}.{micro % 10000:04d}"


def market_json(m: Market, now_ns: int) -> dict[str, Any]:
    """Return Kalshi's ``Market`` for ``m`` as of exchange time ``now_ns`` (its 24-hour figures)."""
    bid, ask = m.best_bid(), m.best_ask()
    yes_bid = bid if bid is not None else 0
    yes_ask = ask if ask is not None else MAX_BP
    last = m.last_price_bp if m.last_price_bp is not None else 0
    prev_bid, prev_ask, prev_price, volume_24h = m.day_before(now_ns)
    out: dict[str, Any] = {
        "ticker": m.ticker,
        "event_ticker": m.event.event_ticker,
        "market_type": "binary",
        "title": m.title,
        "yes_sub_title": m.yes_sub_title,
        "no_sub_title": m.no_sub_title,
        "created_time": iso_s(m.created_s),
        "updated_time": iso(m.updated_ns),
        "open_time": iso_s(m.open_s),
        "close_time": iso_s(m.close_s),
        "expected_expiration_time": iso_s(m.close_s + m.settlement_timer_s),
        "expiration_time": iso_s(m.close_s + 7 * 86400),
        "latest_expiration_time": iso_s(m.close_s + 7 * 86400),
        "settlement_timer_seconds": m.settlement_timer_s,
        "status": m.status,
        "notional_value_dollars": "1.0000",
        "yes_bid_dollars": format_price(yes_bid),
        "yes_ask_dollars": format_price(yes_ask),
        "no_bid_dollars": format_price(MAX_BP - yes_ask),
        "no_ask_dollars": format_price(MAX_BP - yes_bid),
        "yes_bid_size_fp": format_size(m.level_size(OrderSide.BID, bid) if bid is not None else 0),
        "yes_ask_size_fp": format_size(m.level_size(OrderSide.ASK, ask) if ask is not None else 0),
        "last_price_dollars": format_price(last),
        "previous_yes_bid_dollars": format_price(prev_bid if prev_bid is not None else 0),
        "previous_yes_ask_dollars": format_price(prev_ask if prev_ask is not None else MAX_BP),
        "previous_price_dollars": format_price(prev_price if prev_price is not None else 0),
        "volume_fp": format_size(m.volume),
        "volume_24h_fp": format_size(volume_24h),
        "open_interest_fp": format_size(m.open_interest),
        "liquidity_dollars": "0.0000",
        "result": m.result,
        "can_close_early": m.can_close_early,
        "expiration_value": m.expiration_value,
        "rules_primary": m.rules_primary,
        "rules_secondary": "Simulated market of centbook's embedded exchange.",
        "strike_type": m.strike_type,
        "price_level_structure": m.price_level_structure,
        "price_ranges": m.price_ranges,
        "exchange_index": m.exchange_index,
        # October 2026 docs (PROTOCOL.md 0.2): required in current schemas; floors are not live
        # on Kalshi yet, the sim simulates them (Exchange.set_settlement_floor)
        "settlement_bounds_type": m.settlement_bounds_type,
    }
    optional = (
        ("floor_strike", m.floor_strike), ("cap_strike", m.cap_strike),
        ("functional_strike", m.functional_strike), ("custom_strike", m.custom_strike),
        ("early_close_condition", m.early_close_condition),
    )  # fmt: skip
    out.update((name, value) for name, value in optional if value is not None)
    if m.settlement_bounds_type == "floor":
        out["settlement_floor_dollars"] = format_price(m.floor_bp)
    if m.settlement_value_bp is not None:
        out["settlement_value_dollars"] = format_price(m.settlement_value_bp)
    if m.settled_ns is not None:
        out["settlement_ts"] = iso(m.settled_ns)
    return out


def orderbook_json(m: Market, depth: int = 0) -> dict[str, Any]:
    """Return ``orderbook_fp``: YES bids and NO bids, each in its own leg's prices, best last."""
    bids = m.depth(OrderSide.BID)
    asks = m.depth(OrderSide.ASK)
    if depth > 0:
        bids, asks = bids[:depth], asks[:depth]
    yes = [[format_price(p), format_size(s)] for p, s in reversed(bids)]
    # a YES ask at p is a NO bid at 1 - p; the best (lowest) ask is the best NO bid, last
    no = [[format_price(MAX_BP - p), format_size(s)] for p, s in reversed(asks)]
    return {"yes_dollars": yes, "no_dollars": no}


def order_json(o: Order) -> dict[str, Any]:
    outcome = "yes" if o.side == OrderSide.BID else "no"
    return {
        "order_id": o.order_id,
        "user_id": o.user_id,
        "client_order_id": o.client_order_id,
        "ticker": o.ticker,
        "outcome_side": outcome,
        "book_side": o.side,
        "side": outcome,
        "action": "buy",
        "type": "limit",
        "status": o.status,
        "yes_price_dollars": format_price(o.price_bp),
        "no_price_dollars": format_price(MAX_BP - o.price_bp),
        "fill_count_fp": format_size(o.filled),
        "remaining_count_fp": format_size(o.remaining),
        "initial_count_fp": format_size(o.initial),
        "taker_fees_dollars": format_money(o.taker_fees_micro),
        "maker_fees_dollars": format_money(o.maker_fees_micro),
        "taker_fill_cost_dollars": format_money(o.taker_cost_micro),
        "maker_fill_cost_dollars": format_money(o.maker_cost_micro),
        "expiration_time": iso_s(o.expiration_s) if o.expiration_s is not None else None,
        "created_time": iso(o.created_ns),
        "last_update_time": iso(o.updated_ns),
        "self_trade_prevention_type": o.stp,
        "order_group_id": o.order_group_id,
        "cancel_order_on_pause": o.cancel_on_pause,
        "subaccount_number": o.subaccount,
        "exchange_index": o.exchange_index,
    }


def fill_json(f: EngineFill) -> dict[str, Any]:
    """REST fill (no ``client_order_id``: Kalshi removed it from REST fills on 2026-03-30)."""
    outcome = "yes" if f.side == OrderSide.BID else "no"
    return {
        "fill_id": f.fill_id,
        "trade_id": f.fill_id,
        "order_id": f.order_id,
        "ticker": f.ticker,
        "market_ticker": f.ticker,
        "outcome_side": outcome,
        "book_side": f.side,
        "side": outcome,
        "action": "buy",
        "count_fp": format_size(f.size),
        "yes_price_dollars": format_price(f.price_bp),
        "no_price_dollars": format_price(MAX_BP - f.price_bp),
        "is_taker": f.is_taker,
        "created_time": iso(f.ts_ns),
        "fee_cost": format_money(f.fee_micro),
        "subaccount_number": f.subaccount,
        "ts": f.ts_ns // 1_000_000_000,
        "exchange_index": f.exchange_index,
    }


def trade_json(t: Trade) -> dict[str, Any]:
    taker_outcome = "yes" if t.taker_side == OrderSide.BID else "no"
    return {
        "trade_id": t.trade_id,
        "ticker": t.ticker,
        "count_fp": format_size(t.size),
        "yes_price_dollars": format_price(t.price_bp),
        "no_price_dollars": format_price(MAX_BP - t.price_bp),
        "taker_side": taker_outcome,
        "taker_outcome_side": taker_outcome,
        "taker_book_side": t.taker_side,
        "created_time": iso(t.ts_ns),
        "is_block_trade": False,
    }


def position_json(p: Position) -> dict[str, Any]:
    return {
        "ticker": p.ticker,
        "exchange_index": p.exchange_index,
        "total_traded_dollars": format_money(p.total_traded_micro),
        "position_fp": format_size(p.position),
        "market_exposure_dollars": format_money(p.cost_micro),
        "realized_pnl_dollars": format_money(p.realized_micro),
        "fees_paid_dollars": format_money(p.fees_micro),
        "last_updated_ts": iso(p.updated_ns),
    }


def event_positions_json(ex: Exchange, positions: list[Position]) -> list[dict[str, Any]]:
    by_event: dict[str, list[Position]] = {}
    for p in positions:
        by_event.setdefault(ex.markets[p.ticker].event.event_ticker, []).append(p)
    return [
        {
            "event_ticker": ev,
            "total_cost_dollars": format_money(sum(p.cost_micro for p in ps)),
            "total_cost_shares_fp": format_size(sum(abs(p.position) for p in ps)),
            "event_exposure_dollars": format_money(sum(p.cost_micro for p in ps)),
            "realized_pnl_dollars": format_money(sum(p.realized_micro for p in ps)),
            "fees_paid_dollars": format_money(sum(p.fees_micro for p in ps)),
        }
        for ev, ps in sorted(by_event.items())
    ]


def settlement_json(s: Settlement) -> dict[str, Any]:
    return {
        "ticker": s.ticker,
        "exchange_index": s.exchange_index,
        "event_ticker": s.event_ticker,
        "market_result": s.result,
        "yes_count_fp": format_size(s.yes_count),
        "yes_total_cost_dollars": dollars4(s.yes_cost_micro),
        "no_count_fp": format_size(s.no_count),
        "no_total_cost_dollars": dollars4(s.no_cost_micro),
        "revenue": s.revenue_micro // 10_000,
        "settled_time": iso(s.ts_ns),
        "fee_cost": dollars4(s.fee_micro),
        "value": s.yes_payout_bp // 100,  # cents one YES contract paid (value minus floor)
    }


def candle_json(c: Candle) -> dict[str, Any]:
    """Return Kalshi's ``MarketCandlestick``; traded prices are null in a period without a trade.

    ``min_dollars`` and ``max_dollars`` (the lowest and highest close of any market in the
    period) are the market's own close: one market's candle has one close.
    """
    names = ("open_dollars", "low_dollars", "high_dollars", "close_dollars")
    price: dict[str, Any] = dict.fromkeys((*names, "mean_dollars", "min_dollars", "max_dollars"))
    if c.price is not None:
        price.update(zip((*names, "mean_dollars"), map(format_price, c.price), strict=True))
        price["min_dollars"] = price["max_dollars"] = price["close_dollars"]
    price["previous_dollars"] = None if c.previous_bp is None else format_price(c.previous_bp)
    return {
        "end_period_ts": c.end_period_ts,
        "yes_bid": dict(zip(names, map(format_price, c.yes_bid), strict=True)),
        "yes_ask": dict(zip(names, map(format_price, c.yes_ask), strict=True)),
        "price": price,
        "volume_fp": format_size(c.volume),
        "open_interest_fp": format_size(c.open_interest),
    }


def historical_candle_json(c: Candle) -> dict[str, Any]:
    """Return Kalshi's ``MarketCandlestickHistorical``: :func:`candle_json`'s figures under the
    historical tier's names (no ``_dollars``/``_fp`` suffixes, no min or max)."""
    live = candle_json(c)
    price = live["price"]
    return {
        "end_period_ts": c.end_period_ts,
        "yes_bid": {k.removesuffix("_dollars"): v for k, v in live["yes_bid"].items()},
        "yes_ask": {k.removesuffix("_dollars"): v for k, v in live["yes_ask"].items()},
        "price": {k: price[f"{k}_dollars"] for k in ("open", "low", "high", "close", "mean", "previous")},
        "volume": live["volume_fp"],
        "open_interest": live["open_interest_fp"],
    }
