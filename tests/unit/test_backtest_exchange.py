"""The backtest's exchange model: queue position, fills, post-only, amends, fees, settlement P&L.

Every expectation is computed by hand from the book set up in the test.
"""
from __future__ import annotations

import pytest

from centbook.backtest.engine import BacktestResult
from centbook.backtest.exchange import ASK, BID, ExchangeModel
from centbook.backtest.fees import FeeSchedule
from centbook.backtest.queue import Pessimistic, Proportional
from centbook.backtest.summary import summarize
from centbook.book import OrderBook

T = "KXTEST-26JAN01-T50"


def make(queue=None, fee_type="quadratic"):
    book = OrderBook(T)
    # YES bids 50c x10, 49c x5; NO bids 48c x5 (a YES ask at 52c) and 47c x4 (YES 53c)
    book.apply_snapshot_bp([(4900, 500), (5000, 1000)], [(4700, 400), (4800, 500)])
    fills = []
    fees = FeeSchedule(fee_type)
    ex = ExchangeModel({T: book}, queue or Pessimistic(), lambda t: fees, 10_000, fills.append)
    return ex, book, fills


def test_an_order_joins_the_back_and_advances_as_trades_consume_the_size_ahead():
    ex, book, fills = make()
    order = ex.create(1, T, BID, 5000, 300, post_only=True)
    assert (order.status, order.ahead) == ("resting", 1000)
    # one read: the level drops 4 contracts, then the trade that took them arrives
    book.apply_delta(0, 5000, -400)
    ex.on_book(T)
    ex.on_trade(2, T, 5000, 400, taker_buys_yes=False)
    ex.settle_read()
    assert order.ahead == 600 and not fills
    # next read: 2 contracts cancelled, nothing traded; the pessimistic model: from the back,
    # and nobody is behind us, so we move up by 2
    book.apply_delta(0, 5000, -200)
    ex.on_book(T)
    ex.settle_read()
    assert order.ahead == 400
    # next read: the trade comes first (5 contracts), then its delta: 4 ahead, 1 for us
    ex.on_trade(3, T, 5000, 500, taker_buys_yes=False)
    book.apply_delta(0, 5000, -400)
    ex.on_book(T)
    ex.settle_read()
    assert order.ahead == 0
    assert [(f.size, f.price_bp, f.taker, f.fee_micro) for f in fills] == [(100, 5000, False, 0)]
    assert (order.size, order.filled, order.status) == (200, 100, "resting")
    # a trade through our price (a taker selling at 49c) fills what is left
    ex.on_trade(4, T, 4900, 1000, taker_buys_yes=False)
    assert [f.size for f in fills] == [100, 200]
    assert order.status == "executed" and not ex.resting[T]


def test_cancels_ahead_move_us_by_the_chosen_model():
    ex, book, _ = make(Proportional())
    order = ex.create(1, T, BID, 5000, 100, post_only=True)
    book.apply_delta(0, 5000, 500)          # joins behind us: nothing changes
    ex.on_book(T)
    ex.settle_read()
    assert (order.ahead, order.level) == (1000, 1500)
    book.apply_delta(0, 5000, -600)         # 6 cancelled of 15: 1000 - 600 * 1000 / 1500 = 600
    ex.on_book(T)
    ex.settle_read()
    assert order.ahead == 600
    ex2, book2, _ = make(Pessimistic())
    order2 = ex2.create(1, T, BID, 5000, 100, post_only=True)
    book2.apply_delta(0, 5000, 500)
    ex2.on_book(T)
    book2.apply_delta(0, 5000, -600)        # 5 behind us absorb 5 of the 6
    ex2.on_book(T)
    ex2.settle_read()
    assert order2.ahead == 900


def test_trades_on_the_other_side_or_away_from_our_price_do_not_fill():
    ex, _, fills = make()
    bid = ex.create(1, T, BID, 5000, 300, post_only=True)
    ask = ex.create(1, T, ASK, 5200, 300, post_only=True)
    assert ask.ahead == 500                 # the NO bids at 48c
    ex.on_trade(2, T, 5000, 5000, taker_buys_yes=True)     # a buyer at 50c cannot reach our 52c ask
    ex.on_trade(2, T, 5100, 5000, taker_buys_yes=False)    # a seller at 51c: above our 50c bid
    assert not fills and bid.size == 300 and ask.size == 300
    ex.on_trade(3, T, 5300, 200, taker_buys_yes=True)      # a buyer paid 53c: through our 52c
    assert [(f.side, f.size, f.price_bp) for f in fills] == [(ASK, 200, 5200)]


def test_post_only_is_refused_when_crossing_and_a_taker_order_walks_the_book():
    ex, _, fills = make(fee_type="quadratic_with_maker_fees")
    refused = ex.create(1, T, BID, 5200, 100, post_only=True)
    assert refused.status == "rejected" and not fills
    taker = ex.create(2, T, BID, 5300, 1200, post_only=False)
    # 5 at 52c, 4 at 53c taken; 3 rest at 53c
    assert [(f.size, f.price_bp, f.taker) for f in fills] == [(500, 5200, True), (400, 5300, True)]
    assert (taker.status, taker.size, taker.filled) == ("resting", 300, 900)
    # taker fee 0.07 * 5 * .52 * .48 = $0.08736 -> $0.0874; the balance change -2.60 - 0.0874
    # floors to -$2.69: rounding $0.0026; accumulator 0.0026, no rebate
    assert fills[0].fee_micro == 87_400 + 2_600


def test_amends_keep_priority_only_when_the_size_decreases():
    ex, book, _ = make()
    order = ex.create(1, T, BID, 5000, 300, post_only=True)
    book.apply_delta(0, 5000, -400)
    ex.on_trade(2, T, 5000, 400, taker_buys_yes=False)
    ex.on_book(T)
    ex.settle_read()
    assert order.ahead == 600
    ex.amend(3, order.order_id, 5000, 200)
    assert (order.ahead, order.size) == (600, 200)
    ex.amend(4, order.order_id, 5000, 250)          # size up: back of the level
    assert order.ahead == 600 and order.level == 600
    book.apply_delta(0, 5000, 300)
    ex.on_book(T)
    ex.amend(5, order.order_id, 4900, 250)          # new price: back of 49c
    assert (order.price_bp, order.ahead) == (4900, 500)
    ex.cancel(6, order.order_id)
    assert order.status == "canceled" and not ex.resting[T]


def test_bad_orders_are_refused_with_their_values():
    ex, _, _ = make()
    with pytest.raises(ValueError, match="price 0 bp"):
        ex.create(1, T, BID, 0, 100, post_only=True)


def test_pnl_is_realised_marked_and_settled_from_the_fills():
    ex, _, fills = make()
    result = BacktestResult()
    ex.on_fill = lambda f: (result.fills.append(f), result.ledger.apply(str(len(result.fills)), "o", f.ticker,
                                                                          "bid" if f.side == BID else "ask",
                                                                          f.price_bp, f.size, f.fee_micro))
    buy = ex.create(1, T, BID, 4000, 100, post_only=True)
    ex.on_trade(2, T, 3900, 100, taker_buys_yes=False)           # bought 1 at 40c
    sell = ex.create(3, T, ASK, 5500, 50, post_only=True)
    ex.on_trade(4, T, 5600, 50, taker_buys_yes=True)             # sold 0.5 at 55c
    assert buy.filled == 100 and sell.filled == 50
    result.settlement_bp[T] = 10_000
    result.last_mid[T] = 5100.0
    result.mids[T] = ([1, 3], [4500.0, 5100.0])
    result.elapsed_s = 1.0
    s = summarize(result, 0, {})
    # no maker fee, but the sale's +$0.275 rounds down to $0.27: a $0.005 rounding fee
    assert (s["fills"], s["maker_fills"], s["volume"], s["fees_micro"]) == (2, 2, 150, 5_000)
    # cash -0.40 + 0.275 = -$0.125; 0.5 YES left pays $0.50: +$0.375, less the fee
    assert s["pnl_settled_micro"] == 375_000 - 5_000
    assert s["pnl_realized_micro"] == 50 * (5500 - 4000) - 5_000   # $0.075 on the half closed
    assert s["pnl_marked_micro"] == 75_000 + (50 * 5100 - 50 * 4000) - 5_000
    # markout at 1 s: buy at 40c with the mid at 51c later: +11c * 1; sale at 55c, mid 51c: +4c * 0.5
    assert s["markout_1s_micro"] == 1100 * 100 + 400 * 50
    assert s["markout_1s_bp"] == round((110_000 + 20_000) / 150, 3)
