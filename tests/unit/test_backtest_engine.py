"""The backtest driver on a small hand-made recording: orders arrive after the latencies, and a
dropped connection pulls the quotes of its markets (their books go STALE), as the live maker's
quotable() rule does."""
from __future__ import annotations

from centbook.backtest import load_backtest_config
from centbook.backtest.engine import Backtest
from centbook.record.segment import Kind, SegmentWriter

T = "KXHAND-30JAN01-T50"
T0 = 1_900_000_000_000_000_000
S = 1_000_000_000


def snapshot(seq):
    return {"type": "orderbook_snapshot", "sid": 1, "seq": seq,
            "msg": {"market_ticker": T, "yes_dollars_fp": [["0.4500", "100.00"]],
                    "no_dollars_fp": [["0.5000", "100.00"]]}}


def delta(seq, price, size, side="yes"):
    return {"type": "orderbook_delta", "sid": 1, "seq": seq,
            "msg": {"market_ticker": T, "price_dollars": price, "delta_fp": size, "side": side}}


def write(path, disconnect):
    w = SegmentWriter(path, sync=False)
    w.add_json(Kind.ACTION, 0, {"action": "start", "use_yes_price": False}, 1, T0)
    grid = [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]
    w.add_json(Kind.META, 0, {"ticker": T, "close_time": "2030-06-01T00:00:00Z", "status": "active",
                              "price_ranges": grid}, 1, T0)
    w.add_json(Kind.ACTION, 0, {"action": "connected"}, 1, T0)
    subscribed = {"type": "subscribed", "id": 1, "msg": {"channel": "orderbook_delta", "sid": 1}}
    w.add_json(Kind.FRAME, 0, subscribed, 2, T0 + 1)
    w.add_json(Kind.FRAME, 0, snapshot(1), 3, T0 + 2)
    w.add_json(Kind.FRAME, 0, delta(2, "0.4400", "10.00"), 4, T0 + S)
    if disconnect:
        w.add_json(Kind.ACTION, 0, {"action": "disconnected"}, 5, T0 + 2 * S)
    w.add_json(Kind.COVERAGE, 0, {"ticker": T, "state": "end"}, 6, T0 + 5 * S)
    w.close()


def run(path):
    mm, bt = load_backtest_config(None, {"strategy": {"half_spread_bp": 100, "stop_before_close_s": 0},
                                         "backtest": {"entry_latency_ms": 20, "data_latency_ms": 5}})
    engine = Backtest(path, mm, bt, seed=0)
    return engine, engine.run()


def test_orders_arrive_after_the_latencies_and_a_disconnect_pulls_them(tmp_path):
    write(tmp_path / "a", disconnect=False)
    engine, result = run(tmp_path / "a")
    creates = [o for o in result.orders if o[4] == "create"]
    # decided 5 ms after the snapshot's read, at the exchange 20 ms later
    assert [(o[0] - T0, o[1] - T0, o[3]) for o in creates] == [(2 + 5_000_000, 2 + 25_000_000, "bid"),
                                                                 (2 + 5_000_000, 2 + 25_000_000, "ask")]
    assert {o.side for o in engine.exchange.resting[T]} == {0, 1}
    write(tmp_path / "b", disconnect=True)
    engine, result = run(tmp_path / "b")
    cancels = [o for o in result.orders if o[4] == "cancel"]
    assert len(cancels) == 2 and all(o[0] == T0 + 2 * S + 5_000_000 for o in cancels)
    assert not engine.exchange.resting[T]
    # both sides rested from their arrival; the book went STALE at 2 s: not quotable, not quoted
    assert result.quoted_ns[T] == 2 * S - (2 + 25_000_000)
