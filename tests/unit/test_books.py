"""Books: the ticker -> OrderBook registry, the fast path, seq tracking per sid."""
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centbook import BookState, PriceGrid
from centbook.books import Books, DecodeError, FrameKind
from tests.reference_frames import RefBooks

EXAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "kalshi" / "examples" / "ws-examples.jsonl"


def frame(**kw) -> bytes:
    return json.dumps(kw, separators=(",", ":")).encode()


def snap(ticker="M", sid=1, seq=1, yes=(), no=(), **extra):
    msg = {"market_ticker": ticker, "market_id": "u-1"}
    if yes:
        msg["yes_dollars_fp"] = [list(x) for x in yes]
    if no:
        msg["no_dollars_fp"] = [list(x) for x in no]
    return frame(type="orderbook_snapshot", sid=sid, seq=seq, msg=msg, **extra)


def delta(ticker="M", sid=1, seq=2, price="0.5000", d="1.00", side="yes", **msg_extra):
    msg = {"market_ticker": ticker, "price_dollars": price, "delta_fp": d, "side": side, **msg_extra}
    return frame(type="orderbook_delta", sid=sid, seq=seq, msg=msg)


def ok(sid, seq, id=5):
    return frame(id=id, sid=sid, seq=seq, type="ok", msg={"market_tickers": ["M"]})


def test_snapshot_then_deltas():
    books = Books()
    assert books.apply_frame(snap(yes=[("0.0800", "300.00"), ("0.2200", "333.00")],
                                  no=[("0.5400", "20.00")])) == FrameKind.ORDERBOOK_SNAPSHOT
    book = books["M"]
    assert book.state == BookState.LIVE
    assert book.levels(0) == [(800, 30000), (2200, 33300)]
    assert book.levels(1) == [(5400, 2000)]
    assert books.apply_frame(delta(price="0.2200", d="-33.00")) == FrameKind.ORDERBOOK_DELTA
    assert book.levels(0) == [(800, 30000), (2200, 30000)]
    assert books.apply_frame(delta(seq=3, price="0.54", d="-20", side="no")) == FrameKind.ORDERBOOK_DELTA
    assert book.levels(1) == []
    assert book.last_seq == 3
    c = books.counters
    assert (c["frames"], c["snapshots"], c["deltas"], c["decode_errors"], c["gaps"]) == (3, 1, 2, 0, 0)


def test_delta_fields_are_exposed():
    books = Books()
    books.apply_frame(snap())
    books.apply_frame(delta(client_order_id="my-order-1", subaccount=3, ts_ms=1669149841000))
    assert books.last_client_order_id == "my-order-1"
    assert books.last_subaccount == 3
    assert books.last_ts_ms == 1669149841000
    assert (books.last_sid, books.last_seq, books.last_ticker) == (1, 2, "M")
    books.apply_frame(delta(seq=3))
    assert books.last_client_order_id is None and books.last_subaccount is None


def test_get_snapshot_reply_carries_the_command_id():
    books = Books()
    books.apply_frame(snap(id=127))
    assert books.last_id == 127


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, lambda b: memoryview(bytearray(b))])
def test_any_buffer(wrap):
    books = Books()
    assert books.apply_frame(wrap(snap(yes=[("0.5", "1")]))) == FrameKind.ORDERBOOK_SNAPSHOT
    assert books.apply_frame(wrap(delta())) == FrameKind.ORDERBOOK_DELTA
    assert books["M"].levels(0) == [(5000, 200)]


def test_not_a_buffer():
    with pytest.raises(TypeError):
        Books().apply_frame("a str is not a frame")


def test_registered_grid_and_off_grid_price():
    books = Books()
    deci = PriceGrid.from_ranges([{"start": "0.0000", "end": "1.0000", "step": "0.0010"}])
    book = books.add("D", deci)
    assert books["D"] is book and "D" in books and len(books) == 1
    books.apply_frame(snap("D", yes=[("0.5050", "1.00")]))
    assert book.levels(0) == [(5050, 100)]
    assert books.apply_frame(delta("D", price="0.5055")) == FrameKind.INVALID
    assert books.last_error_reason == "off_grid"
    assert book.levels(0) == [(5050, 100)]
    assert book.state == BookState.FAULTED
    assert books.take_resync() == ["D"]
    assert books.take_resync() == []


def test_add_with_price_ranges_and_duplicates():
    books = Books()
    book = books.add("T", [{"start": "0.0000", "end": "1.0000", "step": "0.0050"}])
    assert book.grid.tick_bp == 50
    with pytest.raises(ValueError, match="already registered"):
        books.add("T")
    with pytest.raises(KeyError):
        books["nope"]
    assert books.get("nope") is None
    assert books.tickers() == ["T"] and list(books) == ["T"]


def test_unregistered_snapshot_creates_a_whole_cent_book():
    books = Books()
    books.apply_frame(snap("NEW", yes=[("0.42", "1")]))
    assert books["NEW"].grid is PriceGrid.linear_cent()
    deci = PriceGrid.from_bands([(0, 10000, 10)])
    books = Books(deci)
    books.apply_frame(snap("NEW"))
    assert books["NEW"].grid is deci


def test_strict_mode_refuses_unregistered_snapshot():
    books = Books(auto_create=False)
    assert books.apply_frame(snap("NEW")) == FrameKind.INVALID
    assert books.last_error_reason == "unknown_market"
    assert "NEW" not in books
    assert books.counters["errors_by_reason"] == {"unknown_market": 1}


def test_delta_for_unknown_ticker_is_a_counted_error():
    books = Books()
    assert books.apply_frame(delta("GHOST", seq=1)) == FrameKind.INVALID
    assert books.last_error_reason == "unknown_market"
    assert "GHOST" in books.last_error
    assert books.decode_errors == 1 and len(books) == 0


def test_raise_errors():
    books = Books(raise_errors=True)
    with pytest.raises(DecodeError) as info:
        books.apply_frame(b'{"type":"orderbook_delta","sid":1,"seq":1,"msg":{"market_ticker":"M",')
    assert info.value.reason == "truncated"
    assert books.decode_errors == 1


def test_error_text_names_field_and_bytes():
    books = Books()
    books.apply_frame(snap())
    assert books.apply_frame(delta(d="1.001")) == FrameKind.INVALID
    text = books.last_error
    assert books.last_error_reason == "size"
    assert "delta_fp" in text and "1.001" in text and "at byte" in text
    long_frame = delta(d="x") + b" " * 1000
    books.apply_frame(long_frame)
    assert len(books.last_error) < 400


def test_use_yes_price_mirrors_no_levels():
    books = Books()
    books.register_subscription(7, use_yes_price=True)
    books.register_subscription(8)
    books.apply_frame(snap("A", sid=7, yes=[("0.30", "5")], no=[("0.70", "10")]))
    books.apply_frame(snap("B", sid=8, yes=[("0.30", "5")], no=[("0.70", "10")]))
    assert books["A"].levels(1) == [(3000, 1000)]     # a YES-terms 0.70 is a NO bid at 0.30
    assert books["B"].levels(1) == [(7000, 1000)]
    books.apply_frame(delta("A", sid=7, seq=2, price="0.65", d="2", side="no"))
    assert books["A"].levels(1) == [(3000, 1000), (3500, 200)]
    assert books["A"].best_ask(0) == (6500, 200)
    books.apply_frame(delta("A", sid=7, seq=3, price="0.30", d="1", side="yes"))
    assert books["A"].levels(0) == [(3000, 600)]


def test_omitted_and_empty_sides():
    books = Books()
    books.apply_frame(snap(yes=[("0.5", "1")], no=[("0.4", "1")]))
    books.apply_frame(frame(type="orderbook_snapshot", sid=1, seq=2,
                            msg={"market_ticker": "M", "yes_dollars_fp": []}))
    assert books["M"].levels(0) == [] and books["M"].levels(1) == []
    assert books["M"].state == BookState.LIVE


# ----------------------------------------------------------------------------- seq tracking

def test_gap_marks_every_book_of_the_sid():
    books = Books()
    books.apply_frame(snap("A", sid=1, seq=1, yes=[("0.5", "1")]))
    books.apply_frame(snap("B", sid=1, seq=2, yes=[("0.5", "1")]))
    books.apply_frame(snap("C", sid=2, seq=1, yes=[("0.5", "1")]))
    assert books.apply_frame(delta("A", sid=1, seq=5)) == FrameKind.ORDERBOOK_DELTA
    assert books.gaps == 1
    assert books["A"].state == BookState.GAPPED and books["B"].state == BookState.GAPPED
    assert books["C"].state == BookState.LIVE
    assert books["A"].levels(0) == [(5000, 200)]      # the delta still applied
    assert books.subscription_seq(1) == 5
    assert books.resync_pending
    assert {k: sorted(v) for k, v in books.take_resync_by_sid().items()} == {1: ["A", "B"]}
    assert not books.resync_pending and books.take_resync() == []
    # re-based: the next in sequence is not a gap
    books.apply_frame(delta("B", sid=1, seq=6))
    assert books.gaps == 1
    # a fresh snapshot makes A LIVE again
    books.apply_frame(snap("A", sid=1, seq=7, yes=[("0.5", "1")]))
    assert books["A"].state == BookState.LIVE and books["B"].state == BookState.GAPPED


def test_duplicate_seq_is_a_gap():
    books = Books()
    books.apply_frame(snap(seq=10, yes=[("0.5", "1")]))
    books.apply_frame(delta(seq=11))
    books.apply_frame(delta(seq=11))
    assert books.gaps == 1 and books["M"].state == BookState.GAPPED
    books.apply_frame(delta(seq=3))
    assert books.gaps == 2 and books.subscription_seq(1) == 3


def test_control_replies_count_in_the_sequence():
    books = Books()
    books.apply_frame(snap(seq=1, yes=[("0.5", "1")]))
    books.apply_frame(ok(1, 2))                         # last + 1
    books.apply_frame(delta(seq=3))
    books.apply_frame(ok(1, 3))                         # last (not counted by the server)
    books.apply_frame(delta(seq=4))
    assert books.gaps == 0 and books["M"].state == BookState.LIVE
    books.apply_frame(ok(1, 9))
    assert books.gaps == 1 and books["M"].state == BookState.GAPPED
    # a data message must be last + 1, never last
    books.apply_frame(snap(seq=10, yes=[("0.5", "1")]))
    books.apply_frame(delta(seq=10))
    assert books.gaps == 2


def test_unsubscribed_ends_the_subscription():
    books = Books()
    books.apply_frame(snap(sid=4, seq=1, yes=[("0.5", "1")]))
    assert books.apply_frame(frame(id=9, sid=4, seq=2, type="unsubscribed")) == FrameKind.UNSUBSCRIBED
    assert books["M"].state == BookState.STALE
    assert books.subscription_seq(4) is None
    assert books.gaps == 0


def test_other_sequenced_types_are_tracked():
    books = Books()
    books.apply_frame(snap(sid=21, seq=1, yes=[("0.5", "1")]))
    og = frame(type="order_group_updates", sid=21, seq=3,
               msg={"event_type": "created", "order_group_id": "g", "ts_ms": 1})
    assert books.apply_frame(og) == FrameKind.ORDER_GROUP_UPDATES
    assert books.gaps == 1


def test_delta_before_snapshot_taints_that_market_only():
    books = Books()
    books.add("A")
    books.apply_frame(snap("B", seq=1, yes=[("0.5", "1")]))
    assert books.apply_frame(delta("A", seq=2)) == FrameKind.INVALID
    assert books.last_error_reason == "no_snapshot"
    assert books["A"].state == BookState.FAULTED
    assert books["B"].state == BookState.LIVE
    assert books.take_resync() == ["A"]
    books.apply_frame(delta("B", seq=3))
    assert books.gaps == 0 and books["B"].levels(0) == [(5000, 200)]


def test_bad_body_advances_seq_and_faults_its_market():
    books = Books()
    books.apply_frame(snap("A", seq=1, yes=[("0.5", "1")]))
    books.apply_frame(snap("B", seq=2, yes=[("0.5", "1")]))
    assert books.apply_frame(delta("A", seq=3, side="maybe")) == FrameKind.INVALID
    assert books.last_error_reason == "side"
    assert books.subscription_seq(1) == 3
    assert books["A"].state == BookState.FAULTED and books["B"].state == BookState.LIVE
    assert books["A"].levels(0) == [(5000, 100)]
    books.apply_frame(delta("B", seq=4))
    assert books.gaps == 0


def test_unreadable_ticker_faults_the_sid():
    books = Books()
    books.apply_frame(snap("A", sid=1, seq=1, yes=[("0.5", "1")]))
    books.apply_frame(snap("B", sid=1, seq=2, yes=[("0.5", "1")]))
    books.apply_frame(snap("C", sid=2, seq=1, yes=[("0.5", "1")]))
    bad = b'{"type":"orderbook_delta","sid":1,"seq":3,"msg":{"market_ticker":7,"price_dollars":"0.5",' \
          b'"delta_fp":"1","side":"yes"}}'
    assert books.apply_frame(bad) == FrameKind.INVALID
    assert books.last_error_reason == "type"
    assert books["A"].state == BookState.FAULTED and books["B"].state == BookState.FAULTED
    assert books["C"].state == BookState.LIVE
    assert books.subscription_seq(1) == 3
    assert sorted(books.take_resync()) == ["A", "B"]


def test_non_orderbook_types_are_classified_not_applied():
    books = Books()
    for line in EXAMPLES.read_text().splitlines() if EXAMPLES.exists() else []:
        message = json.loads(line)["message"]
        if "cmd" in message:
            continue
        kind = books.apply_frame(json.dumps(message).encode())
        if message["type"].startswith("orderbook") and "LEGACY" in line:
            assert kind == FrameKind.INVALID and books.last_error_reason == "legacy"
        elif message["type"] == "orderbook_delta":
            # the spec's example removes 54 contracts at 0.96 from its own snapshot, which has none
            assert kind == FrameKind.INVALID and books.last_error_reason == "negative"
        else:
            assert kind == FrameKind[message["type"].upper()]
    unknown = frame(type="brand_new_thing", sid=3, msg={"x": [1, {"y": None}]})
    assert books.apply_frame(unknown) == FrameKind.UNKNOWN
    assert books.counters["unknown_types"] == 1


# ----------------------------------------------------------------------------- generated streams

STEPS = st.sampled_from([1, 1, 1, 1, 1, 0, 2, 5, -3])
ACTIONS = st.sampled_from(["delta", "delta", "delta", "snap", "ok", "bad"])
OK_STEPS = st.sampled_from([0, 1, 1, 3])
TICKERS = st.sampled_from(["A", "B", "C"])
CENTS = st.integers(1, 99)
DELTAS = st.sampled_from(["1.00", "-1.00", "0.50", "-5.00"])
SIDES = st.sampled_from(["yes", "no"])


@st.composite
def streams(draw):
    """Frames on two sids and three markets, with gaps, duplicates, control replies, bad bodies."""
    out = []
    seq = {1: 0, 2: 0}
    markets = {"A": 1, "B": 1, "C": 2}
    n = draw(st.integers(1, 40))
    for _ in range(n):
        ticker = draw(TICKERS)
        sid = markets[ticker]
        step = draw(STEPS)
        action = draw(ACTIONS)
        if action == "ok":
            step = draw(OK_STEPS)
        seq[sid] = max(1, seq[sid] + step)
        s = seq[sid]
        if action == "snap":
            price = draw(CENTS)
            out.append(snap(ticker, sid, s, yes=[(f"0.{price:02d}", "5.00")], no=[("0.01", "1")]))
        elif action == "ok":
            out.append(ok(sid, s))
        elif action == "bad":
            out.append(delta(ticker, sid, s, price="0.5", d="1.2.3"))
        else:
            price = draw(CENTS)
            out.append(delta(ticker, sid, s, price=f"0.{price:02d}", d=draw(DELTAS), side=draw(SIDES)))
    return out


@given(streams())
def test_generated_streams_match_the_reference(frames):
    books, ref = Books(), RefBooks()
    # sid 2 asked for NO levels in YES terms
    books.register_subscription(2, use_yes_price=True)
    ref.use_yes_price[2] = True
    for f in frames:
        kind = books.apply_frame(f)
        reason = ref.apply(f)
        if reason is None:
            assert kind != FrameKind.INVALID, books.last_error
        else:
            assert kind == FrameKind.INVALID and books.last_error_reason == reason
        assert books.gaps == ref.gaps
        for ticker, rbook in ref.books.items():
            book = books[ticker]
            # a refused frame changes no level, in either
            assert book.levels(0) == rbook.levels_bp(0)
            assert book.levels(1) == rbook.levels_bp(1)
            assert (book.state == BookState.FAULTED) == rbook.faulted
            if ticker in ref.gapped and not rbook.faulted:
                assert book.state == BookState.GAPPED
    for sid, last in ref.last_seq.items():
        assert books.subscription_seq(sid) == last


def test_apply_frames_counts_refusals_and_reasons_are_listed():
    from centbook.books import REASONS
    books = Books()
    frames = [snap(seq=1, yes=[("0.5", "1")]), delta(seq=2), memoryview(delta(seq=3, d="x")),
              b"not json", delta("GHOST", seq=4)]
    assert books.apply_frames(frames) == 3
    reasons = books.counters["errors_by_reason"]
    assert reasons == {"size": 1, "syntax": 1, "unknown_market": 1}
    assert set(reasons) <= set(REASONS)
    assert books.counters["frames_by_type"] == {"orderbook_snapshot": 1, "orderbook_delta": 3, "none": 1}
    with pytest.raises(TypeError):
        books.apply_frames(tuple(frames))


def test_help_shows_the_signatures():
    assert "auto_create=True" in Books.__doc__ and "raise_errors=False" in Books.__doc__
    assert Books.apply_frame.__doc__.startswith("Books.apply_frame(self, frame)")


def test_unknown_keys_are_tolerated_and_counted():
    books = Books()
    books.apply_frame(snap(yes=[("0.5", "1")]))
    extra = (b'{"type":"orderbook_delta","sid":1,"seq":2,"new_top":[1,{"a":null}],"msg":{"market_ticker":"M",'
             b'"price_dollars":"0.5","delta_fp":"1","side":"yes","ts":"x","new_in_msg":{"b":[true]}}}')
    assert books.apply_frame(extra) == FrameKind.ORDERBOOK_DELTA
    assert books.counters["unknown_fields"] == 2        # the deprecated ts is known, not counted
    assert books["M"].levels(0) == [(5000, 200)]
    books.apply_frame(frame(type="trade", sid=2, seq=1, later=1, msg={"whatever": 1}))
    assert books.counters["unknown_fields"] == 3        # only the envelope of other types is read
