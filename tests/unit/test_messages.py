"""Typed messages (centbook.protocol.messages) and command encoders (centbook.protocol.commands)."""
import gzip
import json
from pathlib import Path

import msgspec
import pytest

from centbook.books import Books, DecodeError, FrameKind, parse_frame
from centbook.protocol import commands, messages
from centbook.protocol.messages import ErrorCode, LegacyFormatError, MessageDecoder, UnknownMessage

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "kalshi"
EXAMPLES = SHARED / "examples" / "ws-examples.jsonl"
SPEC = SHARED / "spec" / "asyncapi.yaml"
CAPTURES = SHARED / "captures" / "events"

needs_examples = pytest.mark.skipif(not EXAMPLES.exists(),
                                    reason=f"{EXAMPLES} not found (shared/ beside the repo)")
needs_spec = pytest.mark.skipif(not SPEC.exists(), reason=f"{SPEC} not found (shared/ beside the repo)")


def example_messages():
    if not EXAMPLES.exists():
        return []
    return [(json.loads(line)["message"], "LEGACY" in line) for line in EXAMPLES.read_text().splitlines()]


def spec_examples():
    if not SPEC.exists():
        return []
    import yaml
    spec = yaml.load(SPEC.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    out = []
    for name, message in spec["components"]["messages"].items():
        for example in message.get("examples", []):
            payload = example["payload"]
            if isinstance(payload, dict):
                out.append((f"{name}/{example['name']}", payload))
    return out


@needs_examples
def test_every_example_decodes():
    decoder = MessageDecoder()
    seen = set()
    for message, legacy in example_messages():
        if "cmd" in message:
            continue
        frame = json.dumps(message).encode()
        if legacy:
            with pytest.raises(LegacyFormatError) as info:
                decoder.decode(frame)
            assert info.value.reason == "legacy" and "2026-03-12" in str(info.value)
            continue
        typed = decoder.decode(frame)
        assert type(typed) is messages.MESSAGE_TYPES[message["type"]]
        assert typed.unknown is None
        # the typed form carries every field of the example (converted), nothing invented
        assert msgspec.structs.asdict(typed)["msg" if "msg" in message else "sid"] is not None
        seen.add(message["type"])
    assert not decoder.unknown_types and not decoder.unknown_fields
    assert {"subscribed", "ok", "error", "unsubscribed", "orderbook_snapshot", "orderbook_delta", "ticker",
            "trade", "fill", "user_order", "market_position", "order_group_updates", "market_lifecycle_v2",
            "event_lifecycle"} <= seen


@needs_spec
def test_every_server_message_of_the_spec_has_a_type_and_decodes():
    client_commands = {"subscribe", "unsubscribe", "update_subscription", "list_subscriptions"}
    decoder = MessageDecoder()
    names = set()
    for name, payload in spec_examples():
        if "cmd" in payload or payload.get("type") in (None, "ping", "pong"):
            continue
        names.add(payload["type"])
        typed = decoder.decode(json.dumps(payload).encode())
        assert not isinstance(typed, UnknownMessage), name
        assert typed.unknown is None, (name, typed.unknown)
    assert names - client_commands <= set(messages.MESSAGE_TYPES)
    assert {"rfq_created", "quote_executed", "cfbenchmarks_value", "pyth_value", "event_fee_update",
            "multivariate_market_lifecycle"} <= names


def test_units_are_converted_exactly():
    fill = messages.decode(json.dumps({"type": "fill", "sid": 13, "msg": {
        "trade_id": "t", "order_id": "o", "market_ticker": "M", "exchange_index": 2, "is_taker": True,
        "side": "yes", "yes_price_dollars": "0.7500", "count_fp": "278.05", "fee_cost": "0.010001",
        "action": "buy", "ts": 1671899397, "ts_ms": 1671899397000, "post_position_fp": "-500.00",
        "purchased_side": "yes", "outcome_side": "yes", "book_side": "bid", "subaccount": 3}}).encode())
    assert isinstance(fill, messages.Fill)
    body = fill.msg
    got = (body.yes_price_bp, body.count_c100, body.fee_cost_micro, body.post_position_c100)
    assert got == (7500, 27805, 10001, -50000)
    assert isinstance(body.yes_price_bp, messages.PriceBp) and isinstance(body.count_c100, int)
    assert (body.side, body.action, body.purchased_side, body.ts) == ("yes", "buy", "yes", 1671899397)
    position = messages.decode(b'{"type":"market_position","sid":1,"msg":{"user_id":"u","market_ticker":"M",'
                               b'"position_fp":"-3.50","position_cost_dollars":"50.1234","realized_pnl_dollars":'
                               b'"-10.000001","fees_paid_dollars":"1","position_fee_cost_dollars":"0.5",'
                               b'"volume_fp":"15.00"}}')
    assert (position.msg.position_c100, position.msg.position_cost_micro, position.msg.realized_pnl_micro,
            position.msg.fees_paid_micro) == (-350, 50123400, -10000001, 1000000)


@pytest.mark.parametrize("frame,reason", [
    (b'{"type":"trade","sid":1,"msg":{"trade_id":"t","market_ticker":"M","yes_price_dollars":"0.12345",'
     b'"no_price_dollars":"0.5","count_fp":"1"}}', "schema"),
    (b'{"type":"trade","sid":1,"msg":{"trade_id":"t","market_ticker":"M","yes_price_dollars":0.5,'
     b'"no_price_dollars":"0.5","count_fp":"1"}}', "schema"),
    (b'{"type":"orderbook_delta","sid":1,"seq":1,"msg":{"market_ticker":"M","price_dollars":"0.5",'
     b'"delta_fp":"1","side":"maybe"}}', "schema"),
    (b'{"type":"fill","sid":"x","msg":{}}', "schema"),
    (b'{"type":"ok","id":1', "json"),
    (b'[1,2]', "schema"),
    (b'{"sid":1}', "schema"),
])
def test_bad_messages_raise(frame, reason):
    with pytest.raises(DecodeError) as info:
        MessageDecoder().decode(frame)
    assert info.value.reason == reason


def test_unknown_fields_and_types_are_kept_and_counted():
    decoder = MessageDecoder()
    frame = (b'{"type":"trade","sid":2,"seq":5,"brand_new":{"a":[1]},"msg":{"trade_id":"t",'
             b'"market_ticker":"M",'
             b'"yes_price_dollars":"0.36","no_price_dollars":"0.64","count_fp":"1.00","taker_side":"no",'
             b'"fancy_flag":true}}')
    typed = decoder.decode(frame)
    assert isinstance(typed, messages.Trade) and typed.seq == 5 and typed.msg.count_c100 == 100
    assert typed.unknown == {"brand_new": {"a": [1]}, "msg.fancy_flag": True}
    assert decoder.unknown_fields == {"trade:brand_new": 1, "trade:msg.fancy_flag": 1}
    nested = decoder.decode(b'{"type":"market_lifecycle_v2","sid":1,"msg":{"event_type":"price_level_'
                            b'structure_updated","market_ticker":"M","price_ranges":[{"start":"0","end":"1",'
                            b'"step":"0.01","inclusive":"both"}]}}')
    assert nested.unknown == {"msg.price_ranges[0].inclusive": "both"}
    other = decoder.decode(b'{"type":"rfq_maybe_later","sid":9,"seq":3,"msg":{"x":1}}')
    assert isinstance(other, UnknownMessage)
    assert (other.type, other.sid, other.seq, other.raw["msg"]) == ("rfq_maybe_later", 9, 3, {"x": 1})
    assert decoder.unknown_types == {"rfq_maybe_later": 1}
    assert decoder.messages == 3


def test_ok_reply_shapes():
    update = messages.decode(b'{"id":123,"sid":456,"seq":222,"type":"ok","msg":{"market_tickers":["A","B"]}}')
    assert update.msg.market_tickers == ["A", "B"] and update.seq == 222
    listing = messages.decode(b'{"id":3,"type":"ok","msg":[{"channel":"orderbook_delta","sid":1}]}')
    assert listing.msg == [messages.SubscriptionInfo(channel="orderbook_delta", sid=1)]
    bare = messages.decode(b'{"id":4,"sid":1,"seq":9,"type":"ok"}')
    assert bare.msg is None


def test_error_codes():
    err = messages.decode(b'{"id":1,"type":"error","msg":{"code":25,"msg":"Subscription buffer overflow"},'
                          b'"sid":3,"seq":8}')
    assert err.code is ErrorCode.SUBSCRIPTION_BUFFER_OVERFLOW and err.is_terminal and err.sid == 3
    later = messages.decode(b'{"id":1,"type":"error","msg":{"code":99,"msg":"new"}}')
    assert later.code == 99 and not later.is_terminal
    assert [c.value for c in ErrorCode] == list(range(1, 29))


def test_price_level_structure_update_regrids_a_book():
    books = Books()
    books.apply_frame(b'{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"INXD",'
                      b'"yes_dollars_fp":[["0.4200","3"]]}}')
    frame = (b'{"type":"market_lifecycle_v2","sid":13,"seq":4,"msg":{"market_ticker":"INXD","event_type":'
             b'"price_level_structure_updated","price_level_structure":"deci_cent","price_ranges":'
             b'[{"start":"0.0000","end":"1.0000","step":"0.0010"}]}}')
    assert books.apply_frame(frame) == FrameKind.MARKET_LIFECYCLE_V2
    update = messages.decode(frame)
    grid = update.msg.grid()
    assert grid.tick_bp == 10
    books[update.msg.market_ticker].regrid(grid)
    delta = (b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"INXD",'
             b'"price_dollars":"0.4210","delta_fp":"1","side":"yes"}}')
    assert books.apply_frame(delta) == FrameKind.ORDERBOOK_DELTA
    assert books["INXD"].levels(0) == [(4200, 300), (4210, 100)]
    mve = messages.decode(frame.replace(b"market_lifecycle_v2", b"multivariate_market_lifecycle"))
    assert isinstance(mve, messages.MultivariateMarketLifecycle) and mve.msg.grid() is grid


@pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"captures not found at {CAPTURES}")
def test_capture_messages_decode_and_agree_with_the_fast_path():
    path = sorted(CAPTURES.glob("*.ndjson.gz"))[0]
    decoder = MessageDecoder()
    n = 0
    with gzip.open(path, "rb") as fh:
        for line in fh:
            raw = json.dumps(json.loads(line)["event"]).encode()
            typed = decoder.decode(raw)
            assert typed.unknown is None
            if isinstance(typed, messages.OrderbookDelta) and n < 3000:
                fast = parse_frame(raw)
                assert (fast["price_bp"], fast["delta"], fast["side"], fast["seq"], fast["ts_ms"]) == (
                    typed.msg.price_bp, typed.msg.delta_c100, 0 if typed.msg.side == "yes" else 1, typed.seq,
                    typed.msg.ts_ms)
                n += 1
            elif isinstance(typed, messages.OrderbookSnapshot):
                fast = parse_frame(raw)
                assert (fast["yes"], fast["no"]) == (typed.msg.yes, typed.msg.no)
            else:
                assert isinstance(typed, (messages.Trade, messages.OrderbookDelta))
    assert not decoder.unknown_fields and not decoder.unknown_types


# ----------------------------------------------------------------------------- commands

@needs_examples
def test_commands_match_the_spec_examples():
    built = []
    for message, _ in example_messages():
        if "cmd" not in message:
            continue
        p = message.get("params", {})
        if message["cmd"] == "subscribe":
            kw = {k: v for k, v in p.items() if k != "channels"}
            out = commands.subscribe(message["id"], p["channels"], **kw)
        elif message["cmd"] == "unsubscribe":
            out = commands.unsubscribe(message["id"], p["sids"])
        elif message["cmd"] == "update_subscription":
            sid = p["sid"] if "sid" in p else p["sids"][0]
            out = commands.update_subscription(message["id"], sid, p["action"],
                                               market_tickers=p["market_tickers"])
            # a single sid is always sent as a one-element list: Kalshi accepts both forms
            message = {**message, "params": {**{k: v for k, v in p.items() if k != "sid"}, "sids": [sid]}}
        else:
            out = commands.list_subscriptions(message["id"])
        assert json.loads(out) == message
        built.append(message["cmd"])
    assert set(built) == {"subscribe", "unsubscribe", "update_subscription", "list_subscriptions"}


def test_command_encoders():
    ids = commands.CommandIds()
    assert json.loads(commands.subscribe(ids(), ["orderbook_delta"], market_tickers=["A", "B"],
                                         use_yes_price=True)) == {
        "id": 1, "cmd": "subscribe",
        "params": {"channels": ["orderbook_delta"], "market_tickers": ["A", "B"], "use_yes_price": True}}
    assert json.loads(commands.get_snapshot(ids(), 456, ["A"])) == {
        "id": 2, "cmd": "update_subscription", "params": {"sids": [456], "action": "get_snapshot",
                                                          "market_tickers": ["A"]}}
    assert json.loads(commands.delete_markets(3, 1, ["X"]))["params"]["action"] == "delete_markets"
    assert json.loads(commands.add_markets(4, 1, ["X"]))["params"]["action"] == "add_markets"
    assert commands.list_subscriptions(7) == b'{"id":7,"cmd":"list_subscriptions"}'


@pytest.mark.parametrize("call", [
    lambda: commands.subscribe(1, ["orderbook_delta"]),
    lambda: commands.subscribe(1, ["nope"], market_ticker="A"),
    lambda: commands.subscribe(1, []),
    lambda: commands.subscribe(1, ["ticker"], market_ticker="A", market_tickers=["B"]),
    lambda: commands.subscribe(-1, ["ticker"]),
    lambda: commands.unsubscribe(1, []),
    lambda: commands.unsubscribe(1, [0]),
    lambda: commands.update_subscription(1, 2, "rename"),
    lambda: commands.update_subscription(1, 0, "add_markets", market_tickers=["A"]),
    lambda: commands.update_subscription(1, 2, "get_snapshot", market_ids=["u"]),
    lambda: commands.get_snapshot(1, 2, []),
    lambda: commands.CommandIds(0),
])
def test_command_validation(call):
    with pytest.raises(ValueError):
        call()


def test_subscribe_rejects_a_bare_string_list():
    with pytest.raises(TypeError):
        commands.subscribe(1, ["ticker"], market_tickers="ABC")
