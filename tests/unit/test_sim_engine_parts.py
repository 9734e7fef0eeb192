"""The parts behind the sim's Exchange, each built alone from the records it works on."""

from __future__ import annotations

import random
import uuid

import pytest

from centbook.book import OrderSide
from centbook.sim.engine.accounts import Ledger
from centbook.sim.engine.bus import EventBus, IdSource
from centbook.sim.engine.matching import Matcher
from centbook.sim.engine.records import Clock, Event, Market, Order, Series

DEFAULTS = {"open_offset_s": -60, "close_offset_s": 86400, "settlement_timer_seconds": 60}


def market(fee_type: str = "quadratic", ticker: str = "KXS-E-T") -> Market:
    series = Series("KXS", "S", "", "daily", fee_type, 0.07, 70_000)
    event = Event("KXS-E", "KXS", "E", "", 0, False, "")
    return Market({"ticker": ticker}, event, series, 0, DEFAULTS)


def parts(precision: str = "0.0001") -> tuple[EventBus, IdSource, Ledger]:
    clock = Clock()
    ids = IdSource(random.Random(1))
    return EventBus(clock), ids, Ledger({"fees": {"balance_precision": precision}}, clock, ids, {})


def order(ids: IdSource, user_id: str, side: OrderSide, price_bp: int, size: int) -> Order:
    return Order(ids.uuid(), user_id, 0, "KXS-E-T", 0, side, price_bp, size, 0, size, seq=next(ids.seq))


def test_ids_are_version_4_uuids_drawn_from_the_seed():
    a, b = IdSource(random.Random(5)), random.Random(5)
    text = a.uuid()
    assert text == str(uuid.UUID(int=b.getrandbits(128), version=4))
    assert [next(a.seq), next(a.seq)] == [1, 2]


def test_bus_builds_events_only_for_kinds_someone_wants():
    bus, _, _ = parts()
    seen = []
    stop = bus.subscribe(seen.append, kinds=("trade",))
    assert bus.wants("trade") and not bus.wants("fill")
    bus.emit("fill", {"x": 1})
    bus.emit("trade", {"x": 2}, "u")
    assert [(e.kind, e.data, e.user_id) for e in seen] == [("trade", {"x": 2}, "u")]
    stop()
    bus.emit("trade", {"x": 3})
    assert len(seen) == 1 and not bus.wants("trade")
    with pytest.raises(ValueError, match="unknown event kinds"):
        bus.subscribe(seen.append, kinds=("nope",))


def test_fees_per_fee_type_round_up_to_a_hundredth_of_a_cent():
    _, _, ledger = parts()
    quadratic, makers, flat = market(), market("quadratic_with_maker_fees"), market("flat")
    # 0.07 * 1 contract * 0.5 * 0.5 = $0.0175; makers pay a quarter ($0.004375 -> $0.0044)
    assert ledger.trade_fee_micro(quadratic, 5000, 100, True) == 17_500
    assert ledger.trade_fee_micro(quadratic, 5000, 100, False) == 0
    assert ledger.trade_fee_micro(makers, 5000, 100, False) == 4_400
    assert ledger.trade_fee_micro(flat, 9900, 100, False) == 17_500


def test_reserve_is_cost_plus_the_largest_fee():
    _, _, ledger = parts()
    m = market()
    fee_bound = 70_000 * 100 // 400 + 200
    assert ledger.reserve_for(m, OrderSide.BID, 4000, 100) == 4000 * 100 + fee_bound
    assert ledger.reserve_for(m, OrderSide.ASK, 4000, 100) == 6000 * 100 + fee_bound
    m.floor_bp = 1000  # buying YES costs price - floor
    assert ledger.reserve_for(m, OrderSide.BID, 4000, 100) == 3000 * 100 + fee_bound


def test_cent_precision_floors_each_fill_and_rebates_a_cent_per_order():
    _, ids, ledger = parts("0.01")
    m = market()
    uid = ledger.add_user("a", funding={0: "100"})
    o = order(ids, uid, OrderSide.BID, 5000, 500)
    cash = []
    for _ in range(5):
        before = ledger.account(uid, 0, 0).cash_micro
        fill, pos = ledger.book_fill(m, o, True, 5000, 100, "t", 0)
        cash.append((before - ledger.account(uid, 0, 0).cash_micro, fill.fee_micro))
    # $0.50 + $0.0175 fee floored to $0.52 (a $0.0025 rounding fee) until the accumulator
    # passes $0.01: the fifth fill gets a cent back
    assert cash == [(520_000, 20_000)] * 4 + [(510_000, 10_000)]
    assert pos.position == 500 and pos.cost_micro == 2_500_000
    assert ledger.fees_collected_micro == 4 * 20_000 + 10_000
    assert m.open_interest == 500  # one side booked: the matcher halves both sides' sum


def test_matcher_fills_best_price_then_oldest_and_announces_it():
    bus, ids, ledger = parts()
    m = market()
    matcher = Matcher({m.ticker: m}, {}, Clock(), ids, bus, ledger)
    users = [ledger.add_user(n, funding={0: "1000"}) for n in "abc"]
    events = []
    bus.subscribe(lambda e: events.append(e.kind), kinds=("trade", "fill"))
    first = order(ids, users[0], OrderSide.ASK, 4100, 200)
    second = order(ids, users[1], OrderSide.ASK, 4100, 200)
    better = order(ids, users[1], OrderSide.ASK, 4000, 100)
    for o in (first, second, better):
        matcher.rest(m, o)
    assert matcher.queue_position(second) == 200
    taker = order(ids, users[2], OrderSide.BID, 4200, 250)
    assert matcher.crosses(m, taker.side, taker.price_bp) and matcher.fillable(m, taker) >= 250
    fills = []
    matcher.match(m, taker, fills)
    assert [(f.price_bp, f.size) for f in fills] == [(4000, 100), (4100, 150)]
    assert first.remaining == 50 and second.remaining == 200 and taker.remaining == 0
    assert m.depth(OrderSide.ASK) == [(4100, 250)] and m.open_interest == 250
    assert events == ["fill", "fill", "trade"] * 2
    assert matcher.cancel(second, "Cancel") == 200 and m.depth(OrderSide.ASK) == [(4100, 50)]
