"""The sim's matching engine and account rules, called directly (no sockets: fast and exact)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centbook.sim import default_config
from centbook.sim.engine import GROUP_WINDOW_NS, Exchange
from centbook.sim.errors import SimError
from centbook.sim.wire import orderbook_json

T = "KXDEMO-26DEC31-T50"  # linear cent, shard 0, quadratic fees
TD = "KXDEMO-26DEC31-T60"  # deci cent, shard 0
TC = "KXBTCD-26DEC3117-T100000"  # centi cent, shard 2, maker fees
TB = "KXBTCD-26DEC3117-T110000"  # linear cent, shard 2


def make():
    cfg = default_config()
    cfg["users"] = []
    ex = Exchange(cfg, seed=7)
    a = ex.add_user("a", funding={0: "1000", 2: "1000"})
    b = ex.add_user("b", funding={0: "1000", 2: "1000"})
    c = ex.add_user("c", funding={0: "1000", 2: "1000"})
    return ex, a, b, c


def place(ex, uid, side, size, price_bp, ticker=T, tif="good_till_canceled", stp="taker_at_cross", **kw):
    shard = kw.pop("exchange_index", ex.markets[ticker].exchange_index)
    return ex.create_order(
        uid,
        ticker=ticker,
        side=side,
        count=size,
        price_bp=price_bp,
        time_in_force=tif,
        stp=stp,
        exchange_index=shard,
        **kw,
    )


def pos(ex, uid, ticker=T, sub=0):
    p = ex.positions.get((uid, sub, ticker))
    return p.position if p else 0


def test_crossing_partial_fills_trade_at_resting_price():
    ex, a, b, _ = make()
    o1, _ = place(ex, a, "ask", 500, 4000)
    o2, _ = place(ex, a, "ask", 300, 4200)
    taker, fills = place(ex, b, "bid", 600, 4500)
    assert [(f.price_bp, f.size) for f in fills] == [(4000, 500), (4200, 100)]
    assert taker.status == "executed" and taker.filled == 600 and taker.remaining == 0
    assert o1.status == "executed" and o2.remaining == 200 and o2.status == "resting"
    assert pos(ex, b) == 600 and pos(ex, a) == -600
    assert ex.markets[T].best_ask() == 4200 and ex.markets[T].best_bid() is None
    ex.check_invariants()


def test_no_side_is_yes_ask_in_rest_book():
    ex, a, b, _ = make()
    place(ex, a, "ask", 500, 4000)  # sell YES at 0.40 == NO bid at 0.60
    place(ex, a, "ask", 100, 4300)
    place(ex, b, "bid", 200, 3500)
    place(ex, b, "bid", 100, 3600)
    book = orderbook_json(ex.markets[T])
    assert book["yes_dollars"] == [["0.3500", "2.00"], ["0.3600", "1.00"]]
    assert book["no_dollars"] == [["0.5700", "1.00"], ["0.6000", "5.00"]]  # ascending, best last
    assert orderbook_json(ex.markets[T], depth=1) == {
        "yes_dollars": [["0.3600", "1.00"]],
        "no_dollars": [["0.6000", "5.00"]],
    }


def test_ioc_and_fok():
    ex, a, b, _ = make()
    place(ex, a, "ask", 500, 4000)
    o, fills = place(ex, b, "bid", 1000, 4100, tif="immediate_or_cancel")
    assert sum(f.size for f in fills) == 500 and o.remaining == 0 and o.status == "canceled"
    place(ex, a, "ask", 500, 4000)
    o, fills = place(ex, b, "bid", 1000, 4100, tif="fill_or_kill")
    assert fills == [] and o.status == "canceled" and o.filled == 0
    assert ex.markets[T].level_size("ask", 4000) == 500
    o, fills = place(ex, b, "bid", 500, 4000, tif="fill_or_kill")
    assert o.status == "executed" and o.filled == 500
    with pytest.raises(SimError, match="expiration_time"):
        place(
            ex, b, "bid", 100, 4000, tif="immediate_or_cancel", expiration_s=ex.clock.now_ns() // 10**9 + 60
        )
    ex.check_invariants()


def test_post_only_cross_rejected():
    ex, a, b, _ = make()
    place(ex, a, "ask", 500, 4000)
    with pytest.raises(SimError) as info:
        place(ex, b, "bid", 100, 4000, post_only=True)
    assert info.value.code == "invalid_order" and info.value.details == "post only cross"
    o, _ = place(ex, b, "bid", 100, 3900, post_only=True)
    assert o.status == "resting"


def test_self_trade_prevention_both_ways():
    ex, a, b, _ = make()
    place(ex, b, "ask", 200, 3900)
    own, _ = place(ex, a, "ask", 500, 4000)
    # taker_at_cross: fills what is ahead of the own order, then cancels the rest of the taker
    o, fills = place(ex, a, "bid", 500, 4500, stp="taker_at_cross")
    assert sum(f.size for f in fills) == 200 and o.status == "canceled" and o.remaining == 0
    assert own.status == "resting" and own.remaining == 500
    # maker: cancels the resting own order and goes on
    place(ex, b, "ask", 100, 4100)
    o, fills = place(ex, a, "bid", 300, 4500, stp="maker")
    assert own.status == "canceled" and own.last_update_reason == "SelfTradeCancel"
    assert [(f.price_bp, f.size) for f in fills] == [(4100, 100)]
    assert o.status == "resting" and o.remaining == 200 and ex.markets[T].best_bid() == 4500
    ex.check_invariants()


def test_amend_priority_rules_and_crossing():
    ex, a, b, c = make()
    o1, _ = place(ex, a, "bid", 500, 3000)
    o2, _ = place(ex, b, "bid", 500, 3000)
    assert ex.queue_position(o1) == 0 and ex.queue_position(o2) == 500
    ex.amend_order(
        a, o1.order_id, 0, 0, ticker=T, side="bid", price_bp=3000, count=400
    )  # decrease: keeps place
    assert ex.queue_position(o1) == 0 and o1.remaining == 400 and ex.queue_position(o2) == 400
    ex.amend_order(a, o1.order_id, 0, 0, ticker=T, side="bid", price_bp=3000, count=600)  # increase: back
    assert ex.queue_position(o1) == 500 and ex.queue_position(o2) == 0
    ex.amend_order(b, o2.order_id, 0, 0, ticker=T, side="bid", price_bp=3100, count=500)  # new price
    ex.amend_order(b, o2.order_id, 0, 0, ticker=T, side="bid", price_bp=3000, count=500)  # back again: last
    assert ex.queue_position(o2) == 600
    # count includes what already filled
    place(ex, c, "ask", 200, 3000)
    assert o1.filled == 200 and o1.remaining == 400
    ex.amend_order(a, o1.order_id, 0, 0, ticker=T, side="bid", price_bp=3000, count=300)
    assert o1.remaining == 100 and o1.initial == 300
    with pytest.raises(SimError):
        ex.amend_order(a, o1.order_id, 0, 0, ticker=T, side="bid", price_bp=3000, count=200)
    with pytest.raises(SimError) as info:
        ex.amend_order(a, o1.order_id, 0, 0, ticker=T, side="ask", price_bp=3000, count=300)
    assert info.value.code == "order_side_mismatch"
    # amend can cross and fill at once
    place(ex, c, "ask", 300, 3500)
    _, fills = ex.amend_order(a, o1.order_id, 0, 0, ticker=T, side="bid", price_bp=3600, count=500)
    assert [(f.price_bp, f.size) for f in fills] == [(3500, 300)]
    assert o1.status == "executed"
    ex.check_invariants()


def test_decrease_and_cancel_keep_the_order():
    ex, a, _, _ = make()
    o, _ = place(ex, a, "bid", 500, 3000)
    ex.decrease_order(a, o.order_id, 0, 0, reduce_by=100, reduce_to=None)
    assert o.remaining == 400
    ex.decrease_order(a, o.order_id, 0, 0, reduce_by=None, reduce_to=300)
    assert o.remaining == 300 and ex.markets[T].level_size("bid", 3000) == 300
    ex.decrease_order(a, o.order_id, 0, 0, reduce_by=None, reduce_to=0)
    assert o.status == "canceled" and ex.orders[o.order_id] is o
    o2, _ = place(ex, a, "bid", 500, 3000)
    order, size = ex.cancel_order(a, o2.order_id, 0, 0)
    assert size == 500 and order.status == "canceled"
    with pytest.raises(SimError):
        ex.cancel_order(a, o2.order_id, 0, 0)
    ex.check_invariants()


def test_reduce_only():
    ex, a, b, _ = make()
    with pytest.raises(SimError, match="reduce"):
        place(ex, a, "ask", 500, 4000, reduce_only=True)
    place(ex, b, "ask", 300, 4000)
    place(ex, a, "bid", 300, 4000)
    o, _ = place(ex, a, "ask", 500, 4500, reduce_only=True)
    assert o.initial == 300 and o.remaining == 300
    with pytest.raises(SimError):
        place(ex, a, "bid", 100, 3000, reduce_only=True)  # would add to a long


def test_duplicate_client_order_id():
    ex, a, _, _ = make()
    place(ex, a, "bid", 100, 3000, client_order_id="x")
    with pytest.raises(SimError) as info:
        place(ex, a, "bid", 100, 3000, client_order_id="x")
    assert info.value.status == 409


def test_order_groups_auto_manual_limit_reset_delete():
    ex, a, b, _ = make()
    g = ex.create_group(a, 500, 0, 0)
    o, _ = place(ex, a, "bid", 1000, 4000, order_group_id=g.order_group_id)
    place(ex, b, "ask", 400, 4000)  # 4 contracts in the window: not above the limit
    assert not g.triggered and o.status == "resting"
    place(ex, b, "ask", 200, 4000)  # 6 > 5: triggered
    assert g.triggered and o.status == "canceled" and o.last_update_reason == "OrderGroupCancel"
    with pytest.raises(SimError) as info:
        place(ex, a, "bid", 100, 3000, order_group_id=g.order_group_id)
    assert info.value.code == "order_group_triggered"
    ex.reset_group(g)
    o2, _ = place(ex, a, "bid", 100, 3000, order_group_id=g.order_group_id)
    ex.trigger_group(g)  # manual trigger
    assert g.triggered and o2.status == "canceled"
    ex.reset_group(g)
    o3, _ = place(ex, a, "bid", 1000, 4000, order_group_id=g.order_group_id)
    place(ex, b, "ask", 300, 4000)
    ex.set_group_limit(g, 200)  # lowered below the 3 contracts traded: triggers
    assert g.triggered and o3.status == "canceled"
    # the window rolls: after 15 s old fills stop counting
    ex.reset_group(g)
    g2 = ex.create_group(a, 500, 0, 0)
    place(ex, a, "bid", 1000, 4000, order_group_id=g2.order_group_id)
    place(ex, b, "ask", 400, 4000)
    ex.clock.shift(GROUP_WINDOW_NS / 1e9 + 1)
    place(ex, b, "ask", 400, 4000)
    assert not g2.triggered
    o4, _ = place(ex, a, "bid", 100, 3000, order_group_id=g2.order_group_id)
    ex.delete_group(g2)
    assert o4.status == "canceled" and g2.order_group_id not in ex.groups
    with pytest.raises(SimError):
        ex.create_group(a, 0, 0, 0)
    ex.check_invariants()


def test_trading_pause_and_exchange_pause():
    ex, a, _, _ = make()
    keep, _ = place(ex, a, "bid", 100, 3000)
    gone, _ = place(ex, a, "bid", 100, 3100, cancel_on_pause=True)
    other_shard, _ = place(ex, a, "bid", 100, 3100, ticker=TB, cancel_on_pause=True)
    ex.set_shard_status(0, trading_active=False)
    assert gone.status == "canceled" and keep.status == "resting" and other_shard.status == "resting"
    with pytest.raises(SimError) as info:
        place(ex, a, "bid", 100, 3000)
    assert info.value.code == "trading_is_paused"
    with pytest.raises(SimError):
        ex.amend_order(a, keep.order_id, 0, 0, ticker=T, side="bid", price_bp=3000, count=50)
    ex.decrease_order(a, keep.order_id, 0, 0, reduce_by=10, reduce_to=None)  # reductions allowed
    ex.set_shard_status(0, trading_active=True, exchange_active=False)
    with pytest.raises(SimError) as info:
        ex.cancel_order(a, keep.order_id, 0, 0)
    assert info.value.status == 503
    ex.set_shard_status(0, exchange_active=True)
    ex.cancel_order(a, keep.order_id, 0, 0)
    # a single market halted
    ex.set_market_halted(T, True)
    assert ex.markets[T].status == "inactive"
    with pytest.raises(SimError):
        place(ex, a, "bid", 100, 3000)
    ex.set_market_halted(T, False)
    place(ex, a, "bid", 100, 3000)


def test_settlement_pays_winners_and_cancels_orders():
    ex, a, b, _ = make()
    start = {u: ex.account(u, 0, 0).cash_micro for u in (a, b)}
    place(ex, a, "ask", 1000, 4000)
    place(ex, b, "bid", 1000, 4000)
    rest, _ = place(ex, a, "bid", 100, 2000)
    ex.settle_market(T, "no")
    assert rest.status == "canceled" and ex.markets[T].status == "finalized"
    assert pos(ex, a) == 0 and pos(ex, b) == 0
    # a sold YES (bought NO) at 0.40 -> paid 0.60 x 10, gets $10: +$4 less fees; b lost $4 plus fees
    fee_a = sum(f.fee_micro for f in ex.users[a].fills)
    fee_b = sum(f.fee_micro for f in ex.users[b].fills)
    assert ex.account(a, 0, 0).cash_micro - start[a] == 4_000_000 - fee_a
    assert ex.account(b, 0, 0).cash_micro - start[b] == -4_000_000 - fee_b
    assert ex.users[a].settlements[0].no_count == 1000 and ex.users[b].settlements[0].yes_count == 1000
    with pytest.raises(SimError):
        place(ex, a, "bid", 100, 3000)
    ex.check_invariants()


def test_scheduled_close_and_expiry():
    cfg = default_config()
    cfg["markets"][0]["close_offset_s"] = 30
    ex = Exchange(cfg, seed=1)
    a = ex.users_by_name["demo"].user_id
    o, _ = place(ex, a, "bid", 100, 3000)
    e, _ = place(ex, a, "bid", 100, 2000, expiration_s=ex.clock.now_ns() // 10**9 + 10)
    with pytest.raises(SimError, match="future"):
        place(ex, a, "bid", 100, 2000, expiration_s=ex.clock.now_ns() // 10**9 - 1)
    ex.clock.shift(11)
    ex.tick()
    assert e.status == "canceled" and e.last_update_reason == "ExpiryCancel" and o.status == "resting"
    ex.clock.shift(20)
    ex.tick()
    assert ex.markets[T].status == "closed" and o.status == "canceled"


def test_shard_routing_and_balances():
    ex, a, b, _ = make()
    with pytest.raises(SimError) as info:
        place(ex, a, "bid", 100, 3000, ticker=TB, exchange_index=0)
    assert info.value.code == "insufficient_balance"
    assert ex.route(None, TB) == 2 and ex.route(-1, TB) == 2 and ex.route(None, None) == 0
    o, _ = place(ex, a, "bid", 100, 3000, ticker=TB)
    with pytest.raises(SimError) as info:
        ex.cancel_order(a, o.order_id, 0, ex.route(None, None))
    assert info.value.status == 404
    before0 = ex.account(a, 0, 0).available_micro
    place(ex, b, "ask", 100, 3000, ticker=TB)
    assert ex.account(a, 0, 0).available_micro == before0
    assert ex.account(a, 0, 2).cash_micro < 1000_000_000
    # an unfunded shard: insufficient balance there
    ex.fund(a, 2, -ex.account(a, 0, 2).available_micro)
    with pytest.raises(SimError) as info:
        place(ex, a, "bid", 100, 3000, ticker=TB)
    assert info.value.code == "insufficient_balance"
    ex.check_invariants()


def test_fees_by_fee_type_and_subcent_prices():
    ex, a, b, _ = make()
    place(ex, a, "ask", 100, 5000)
    _, fills = place(ex, b, "bid", 100, 5000)
    maker_fill = ex.users[a].fills[-1]
    assert fills[0].fee_micro == 17_500 and maker_fill.fee_micro == 0  # 0.07 x 1 x 0.5 x 0.5
    # quadratic_with_maker_fees (shard 2, centi-cent grid): makers pay a quarter
    place(ex, a, "ask", 100, 5001, ticker=TC)
    _, fills = place(ex, b, "bid", 100, 5001, ticker=TC)
    assert fills[0].fee_micro >= 17_500 and ex.users[a].fills[-1].fee_micro > 0
    # deci-cent price, fractional size: balance stays on $0.0001
    place(ex, a, "ask", 33, 3305, ticker=TD) if False else place(ex, a, "ask", 33, 3300, ticker=TD)
    place(ex, b, "bid", 33, 3310, ticker=TD)
    assert all(acct.cash_micro % 100 == 0 for acct in ex.accounts.values())
    with pytest.raises(SimError, match="grid"):
        place(ex, a, "ask", 100, 3305, ticker=TD)
    ex.check_invariants()


def test_events_hook():
    ex, a, b, _ = make()
    seen = []
    ex.subscribe(seen.append)
    place(ex, a, "ask", 100, 4000, client_order_id="mk")
    place(ex, b, "bid", 100, 4000, client_order_id="tk")
    kinds = [e.kind for e in seen]
    assert {"book_delta", "trade", "fill", "order", "position"} <= set(kinds)
    deltas = [e.data for e in seen if e.kind == "book_delta"]
    assert deltas[0]["delta"] == 100 and deltas[0]["client_order_id"] == "mk"
    assert deltas[1]["delta"] == -100 and deltas[1]["cause_client_order_id"] == "tk"
    assert {e.user_id for e in seen if e.kind == "fill"} == {a, b}
    ex.settle_market(T, "yes")
    assert any(e.kind == "lifecycle" and e.data["event_type"] == "settled" for e in seen)


# -- invariants under random order flow -------------------------------------------------------------
# Hypothesis picks a seed and a length; the flow itself is drawn from random.Random(seed) so it is
# as varied as real flow (hypothesis' own draws favour simple values: mostly bids at one price).
def _random_op(r):
    kind = r.choices(["place", "cancel", "amend", "decrease"], [6, 2, 2, 1])[0]
    if kind == "place":
        return (
            "place",
            r.randrange(3),
            r.choice(["bid", "ask"]),
            r.randint(1, 40),
            r.randint(-8, 8),
            r.choices(["good_till_canceled", "immediate_or_cancel", "fill_or_kill"], [6, 1, 1])[0],
            r.choice(["taker_at_cross", "maker"]),
            r.random() < 0.15,
        )
    if kind == "cancel":
        return ("cancel", r.randrange(50))
    if kind == "amend":
        return ("amend", r.randrange(50), r.randint(-8, 8), r.randint(1, 60))
    return ("decrease", r.randrange(50), r.randint(0, 20))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(20, 200), st.sampled_from([T, TD, TC]))
def test_invariants_random_flow(seed, length, ticker):
    r = random.Random(seed)
    ops = [_random_op(r) for _ in range(length)]
    ex, a, b, c = make()
    users = [a, b, c]
    market = ex.markets[ticker]
    step = market.grid.step_at(5000)
    for op in ops:
        try:
            if op[0] == "place":
                _, u, side, size, pi, tif, stp, post = op
                price = 5000 + (pi if side == "bid" else -pi) * step  # pi > 0: aggressive either way
                place(ex, users[u], side, size * 25, price, ticker=ticker, tif=tif, stp=stp, post_only=post)
            else:
                resting = [o for o in ex.orders.values() if o.status == "resting"]
                if not resting:
                    continue
                o = resting[op[1] % len(resting)]
                shard = o.exchange_index
                if op[0] == "cancel":
                    ex.cancel_order(o.user_id, o.order_id, 0, shard)
                elif op[0] == "amend":
                    price = 5000 + op[2] * step
                    ex.amend_order(
                        o.user_id,
                        o.order_id,
                        0,
                        shard,
                        ticker=ticker,
                        side=o.side,
                        price_bp=price,
                        count=o.filled + op[3] * 25,
                    )
                else:
                    ex.decrease_order(
                        o.user_id,
                        o.order_id,
                        0,
                        shard,
                        reduce_by=None,
                        reduce_to=min(op[2] * 25, o.remaining),
                    )
        except SimError as exc:
            assert exc.status in (400, 404, 409), exc
        ex.check_invariants()
    # every fill is matched by the opposite fill of the same trade
    by_trade = {}
    for u in users:
        for f in ex.users[u].fills:
            by_trade.setdefault(f.trade_id, []).append(f)
    for fills in by_trade.values():
        assert len(fills) == 2
        f1, f2 = fills
        assert f1.size == f2.size and f1.price_bp == f2.price_bp and f1.side != f2.side
        assert f1.is_taker != f2.is_taker and f1.user_id != f2.user_id
    # the REST book is the sum of resting orders
    levels = {"bid": {}, "ask": {}}
    for o in ex.orders.values():
        if o.status == "resting" and o.ticker == ticker:
            levels[o.side][o.price_bp] = levels[o.side].get(o.price_bp, 0) + o.remaining
    book = orderbook_json(market)
    yes = {p: s for p, s in levels["bid"].items()}
    assert [[f"0.{p:04d}", f"{s // 100}.{s % 100:02d}"] for p, s in sorted(yes.items())] == book[
        "yes_dollars"
    ]
    no = sorted((10000 - p, s) for p, s in levels["ask"].items())
    assert [[f"0.{p:04d}", f"{s // 100}.{s % 100:02d}"] for p, s in no] == book["no_dollars"]


@pytest.mark.parametrize(
    ("fee_ppm", "price_bp", "lot", "expected_fees", "expected_change"),
    [
        # docs getting_started/fee_rounding, "Subpenny prices": buy 3 at $0.055 as three 1-lot matches
        (163_000, 550, 100, [15_000, 5_000, 15_000], -70_000),
        # "Fractional contracts": buy 0.90 at $0.50 as three 0.30-lot matches
        (54_000, 5000, 30, [10_000, 0, 10_000], -160_000),
    ],
)
def test_fee_rounding_matches_kalshi_worked_examples(fee_ppm, price_bp, lot, expected_fees, expected_change):
    cfg = default_config()
    cfg["users"] = []
    cfg["fees"] = {"balance_precision": "0.01"}  # the docs' examples use a $0.01 target
    ex = Exchange(cfg, seed=1)
    a = ex.add_user("a", funding={0: "100"})
    b = ex.add_user("b", funding={0: "100"})
    ex.markets[TD].series.fee_ppm = fee_ppm  # a multiplier giving the docs' trade fee
    for _ in range(3):
        place(ex, a, "ask", lot, price_bp, ticker=TD)
    before = ex.account(b, 0, 0).cash_micro
    _, fills = place(ex, b, "bid", 3 * lot, price_bp, ticker=TD)
    assert [f.fee_micro for f in fills] == expected_fees
    after = ex.account(b, 0, 0).cash_micro
    # each fill floors to -$0.07 / -$0.16 as in the docs' table; the docs list the balance change of
    # the rebating fill without its $0.01 rebate, whose net fee they do show: the sim credits it
    # (so balance change = revenue - net fee on every fill)
    assert after - before == 3 * expected_change + 10_000
    ex.check_invariants()


def test_endpoint_costs():
    from centbook.sim.ratelimit import RateLimiter, cost_of

    p = "/trade-api/v2"
    assert cost_of("POST", p + "/portfolio/events/orders") == (10, True)
    assert cost_of("DELETE", p + "/portfolio/events/orders/abc") == (2, True)
    assert cost_of("DELETE", p + "/portfolio/events/orders/batched") == (2, True)
    assert cost_of("POST", p + "/portfolio/events/orders/abc/amend") == (10, True)
    assert cost_of("GET", p + "/portfolio/orders/abc") == (2, False)
    assert cost_of("GET", p + "/portfolio/orders/queue_positions") == (10, False)
    assert cost_of("POST", p + "/portfolio/orders") == (100, True)
    assert cost_of("DELETE", p + "/portfolio/orders/abc") == (20, True)
    assert cost_of("PUT", p + "/portfolio/order_groups/g/trigger") == (10, True)
    assert cost_of("GET", p + "/markets") == (10, False)
    limiter = RateLimiter({"slow": (1, 100, 1, 100)})  # 100-token buckets refilling 1 token/s
    limiter.set_tier("u", "slow")
    # a 10-order batch (100 tokens) fits once; a single write naming shard 2 has its own bucket
    assert limiter.admit("u", "POST", p + "/portfolio/events/orders/batched", units=10, batch=True)
    assert not limiter.admit("u", "POST", p + "/portfolio/events/orders", exchange_index=0)
    assert limiter.admit("u", "POST", p + "/portfolio/events/orders", exchange_index=2)
    assert not limiter.admit("u", "POST", p + "/portfolio/events/orders/batched", units=1, batch=True)
    assert [a.bucket for a in limiter.arrivals["u"]] == ["write", "write", "write:2", "write"]
