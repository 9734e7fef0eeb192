"""Run hftbacktest on a Kalshi market converted by ``bench_backtest.py`` (its own venv).

Usage: ``HBT_PYTHON benchmarks/hftbacktest_runner.py DATA.npz`` with a Python that has
``hftbacktest`` and ``numba`` (``bench_backtest.py`` makes one in ``build/hbt-venv``; nothing of
hftbacktest is part of centbook). ``DATA.npz`` holds the market as columns (see
``bench_backtest.to_columns``): ``kind`` (0/1: the new size of a YES bid / YES ask level, 2/3:
a trade whose taker bought / sold YES), ``ts`` (receive ns), ``px`` ($), ``qty`` (contracts),
and the run's parameters. Prints one JSON line: events, seconds, events/s, fills, volume,
position, cash, and the P&L at settlement (gross: no fees on either side).

The strategy: every ``step_ns``, quote ``size`` contracts at the mid -/+ ``half_spread`` rounded
away to the tick, skewed by the position, post-only; cancel a quote whose price moved; stop
``stop_before_close_s`` before the close. Models: ROI-vector depth, the risk-averse queue model,
partial fills, constant latencies (entry, response) and the feed latency as ``local - exch``.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
from hftbacktest import (
    BUY_EVENT,
    DEPTH_EVENT,
    EXCH_EVENT,
    GTX,
    LIMIT,
    LOCAL_EVENT,
    SELL_EVENT,
    TRADE_EVENT,
    BacktestAsset,
    ROIVectorMarketDepthBacktest,
)
from hftbacktest.types import event_dtype
from numba import njit

_FLAGS = np.array([DEPTH_EVENT | BUY_EVENT, DEPTH_EVENT | SELL_EVENT, TRADE_EVENT | BUY_EVENT,
                   TRADE_EVENT | SELL_EVENT], dtype=np.uint64) | EXCH_EVENT | LOCAL_EVENT


def events(data) -> np.ndarray:
    n = len(data["kind"])
    ev = np.zeros(n, dtype=event_dtype)
    ev["ev"] = _FLAGS[data["kind"]]
    ev["exch_ts"] = data["ts"]
    ev["local_ts"] = data["ts"] + int(data["feed_latency_ns"])
    ev["px"] = data["px"]
    ev["qty"] = data["qty"]
    return ev


@njit
def maker(hbt, step_ns, half_spread, skew, size, max_position, stop_ns):
    tick = 0.01
    next_id = 1
    bid_id = 0
    ask_id = 0
    bid_px = 0.0
    ask_px = 0.0
    while hbt.elapse(step_ns) == 0:
        hbt.clear_inactive_orders(0)
        depth = hbt.depth(0)
        bb = depth.best_bid
        ba = depth.best_ask
        orders = hbt.orders(0)
        if bid_id != 0 and not orders.__contains__(bid_id):
            bid_id = 0
        if ask_id != 0 and not orders.__contains__(ask_id):
            ask_id = 0
        quoting = hbt.current_timestamp < stop_ns and np.isfinite(bb) and np.isfinite(ba) and bb < ba
        pos = hbt.position(0)
        new_bid = np.floor(((bb + ba) / 2 - half_spread - skew * pos) / tick + 1e-9) * tick
        new_ask = np.ceil(((bb + ba) / 2 + half_spread - skew * pos) / tick - 1e-9) * tick
        want_bid = quoting and pos + size <= max_position and 0.0 < new_bid < 1.0
        want_ask = quoting and pos - size >= -max_position and 0.0 < new_ask < 1.0
        if bid_id != 0 and (not want_bid or abs(bid_px - new_bid) > 1e-9):
            hbt.cancel(0, bid_id, False)
            bid_id = 0
        if ask_id != 0 and (not want_ask or abs(ask_px - new_ask) > 1e-9):
            hbt.cancel(0, ask_id, False)
            ask_id = 0
        if want_bid and bid_id == 0:
            hbt.submit_buy_order(0, next_id, new_bid, size, GTX, LIMIT, False)
            bid_id, bid_px = next_id, new_bid
            next_id += 1
        if want_ask and ask_id == 0:
            hbt.submit_sell_order(0, next_id, new_ask, size, GTX, LIMIT, False)
            ask_id, ask_px = next_id, new_ask
            next_id += 1
    return True


def run(path: str) -> dict:
    data = np.load(path)
    ev = events(data)
    asset = (BacktestAsset().add_data(ev).linear_asset(1.0)
             .constant_latency(int(data["entry_latency_ns"]), int(data["response_latency_ns"]))
             .risk_adverse_queue_model().partial_fill_exchange().trading_value_fee_model(0.0, 0.0)
             .tick_size(0.01).lot_size(0.01).roi_lb(0.0).roi_ub(1.0).last_trades_capacity(0))
    hbt = ROIVectorMarketDepthBacktest([asset])
    args = (int(data["step_ns"]), float(data["half_spread"]), float(data["skew"]), float(data["size"]),
            float(data["max_position"]), int(data["stop_ns"]))
    start = time.perf_counter()
    maker(hbt, *args)
    seconds = time.perf_counter() - start
    sv = hbt.state_values(0)
    position, cash = float(sv.position), float(sv.balance)
    hbt.close()
    return {"events": len(ev), "seconds": seconds, "events_per_s": len(ev) / seconds,
            "fills": int(sv.num_trades), "volume": float(sv.trading_volume), "position": position,
            "cash": cash, "pnl_settled": cash + position * float(data["settlement"])}


if __name__ == "__main__":
    path = sys.argv[1]
    run(path)                  # the first run compiles the strategy (numba): not timed
    print(json.dumps(run(path)))
