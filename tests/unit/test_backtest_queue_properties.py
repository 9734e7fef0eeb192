"""Properties of the exchange model's queue under random recorded flow at our level (hypothesis).

The flow: reads of level increases (others joining), cancels and trades at our price, and
trades through it, in either order within a read. Whatever the flow:

- the size ahead of us never exceeds the recorded level, nor goes negative;
- our fills never exceed our size, and never exceed the traded size;
- the pessimistic model (cancels from the back) never has us further forward, nor filled more,
  than the proportional one on the same flow;
- the same flow gives the same fills (the probabilistic model too, with its seed).
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from centbook.backtest.exchange import BID, ExchangeModel
from centbook.backtest.fees import FeeSchedule
from centbook.backtest.queue import Pessimistic, Probabilistic, Proportional
from centbook.book import OrderBook

T = "KXQ-26JAN01-T1"
PRICE = 5000
FEES = FeeSchedule()

step = st.one_of(
    st.tuples(st.just("join"), st.integers(1, 2000)),
    st.tuples(st.just("cancel"), st.integers(1, 2000)),
    st.tuples(st.just("trade"), st.integers(1, 2000), st.booleans()),   # bool: the trade's frame first
    st.tuples(st.just("through"), st.integers(1, 2000)),
)


def run(flow, queue, size=700, start=1500):
    book = OrderBook(T)
    book.apply_snapshot_bp([(PRICE, start), (PRICE - 100, 5000)], [(4000, 1000)])
    fills = []
    ex = ExchangeModel({T: book}, queue, lambda t: FEES, 10_000, fills.append)
    order = ex.create(0, T, BID, PRICE, size, post_only=True)
    aheads, traded = [], 0
    for t, action in enumerate(flow, start=1):
        level = book.size_at(0, PRICE)
        if action[0] == "join":
            book.apply_delta(0, PRICE, action[1])
            ex.on_book(T)
        elif action[0] == "cancel" and level > 0:
            book.apply_delta(0, PRICE, -min(action[1], level))
            ex.on_book(T)
        elif action[0] == "trade" and level > 0:
            count = min(action[1], level)
            traded += count
            if action[2]:
                ex.on_trade(t, T, PRICE, count, taker_buys_yes=False)
            book.apply_delta(0, PRICE, -count)
            ex.on_book(T)
            if not action[2]:
                ex.on_trade(t, T, PRICE, count, taker_buys_yes=False)
        elif action[0] == "through":
            traded += action[1]
            ex.on_trade(t, T, PRICE - 100, action[1], taker_buys_yes=False)
        ex.settle_read()
        if order.status == "resting":
            assert 0 <= order.ahead <= book.size_at(0, PRICE)
        aheads.append(order.ahead if order.status == "resting" else 0)
    filled = sum(f.size for f in fills)
    assert filled == order.filled <= size
    assert filled <= traded
    return [(f.t_ns, f.size) for f in fills], aheads, filled


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_queue_invariants_and_model_order(flow):
    fills_p, aheads_p, filled_p = run(flow, Pessimistic())
    fills_q, aheads_q, filled_q = run(flow, Proportional())
    assert filled_p <= filled_q
    assert all(a >= b for a, b in zip(aheads_p, aheads_q, strict=True) if a and b)
    assert run(flow, Pessimistic())[0] == fills_p
    assert run(flow, Probabilistic(5))[0] == run(flow, Probabilistic(5))[0]
