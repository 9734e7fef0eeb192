"""The C frame parser against the json + Decimal reference, on generated and malformed frames."""
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from centbook.books import Books, DecodeError, FrameKind, parse_frame
from tests.reference_frames import RefError, ref_parse

EXAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "kalshi" / "examples" / "ws-examples.jsonl"


# ----------------------------------------------------------------------------- a JSON writer with choices

class Raw:
    """A value already serialised (a number lexeme, or deliberately odd text)."""

    def __init__(self, text):
        self.text = text


WS_CHOICES = ["", "", "", " ", "\n", "\t", "\r\n", "  "]
TICKER_CHARS = st.sampled_from(
    list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") + ["é", "日", "😀", '"', "\\", "/"])


def json_string(rnd, text):
    """``text`` as a JSON string, each character literal or escaped at random."""
    out = ['"']
    for ch in text:
        how = rnd.choice(["lit", "lit", "lit", "u"])
        if ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        elif ch in '"\\':
            out.append(rnd.choice(["\\" + ch, f"\\u{ord(ch):04x}"]))
        elif ch == "/" and how == "u":
            out.append("\\/")
        elif how == "u":
            data = ch.encode("utf-16-be")
            for i in range(0, len(data), 2):
                out.append(f"\\u{int.from_bytes(data[i:i + 2], 'big'):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def write(rnd, value):
    """Serialise a value (dict as list of pairs to keep order and duplicates) with random spacing."""
    ws = lambda: rnd.choice(WS_CHOICES)  # noqa: E731
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, str):
        return json_string(rnd, value)
    if value is None or isinstance(value, (bool, float)):
        return json.dumps(value)
    if isinstance(value, dict):
        value = list(value.items()) or EMPTY_OBJECT
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list) and value and isinstance(value[0], tuple) or value == [()]:
        pairs = [] if value == [()] else value
        parts = [ws() + write(rnd, k) + ws() + ":" + ws() + write(rnd, v) + ws() for k, v in pairs]
        return "{" + ",".join(parts) + (ws() if not parts else "") + "}"
    if isinstance(value, list):
        return "[" + ",".join(ws() + write(rnd, v) + ws() for v in value) + "]"
    raise TypeError(value)


EMPTY_OBJECT = [()]
UNKNOWN_KEYS = {"type", "sid", "seq", "id", "msg", "market_ticker", "market_id", "price_dollars", "delta_fp",
                "side", "ts_ms", "client_order_id", "subaccount", "yes_dollars_fp", "no_dollars_fp", "price",
                "delta", "yes", "no", "yes_dollars", "no_dollars"}
ODD_TEXT = ["", "x", "é日😀", 'q"\\/', "\x01\x1f", "𝄞", "a b"]


def random_value(rnd, depth=0):
    """Any JSON value, nested up to 4 deep (made from one random stream: cheap to generate)."""
    roll = rnd.random()
    if depth < 4 and roll < 0.2:
        return [random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    if depth < 4 and roll < 0.4:
        pairs = [(rnd.choice(ODD_TEXT) + str(i), random_value(rnd, depth + 1))
                 for i in range(rnd.randint(0, 3))]
        return pairs or EMPTY_OBJECT
    return rnd.choice([None, True, False, 0, -7, 10**15, rnd.choice(ODD_TEXT), Raw("1.5e3"), Raw("-0.25"),
                       Raw("2E-7"), Raw("0")])


unknown_values = st.integers(0, 2**32).map(random.Random).map(random_value)
unknown_keys = st.text(min_size=1, max_size=10).map(lambda k: "x" + k if k in UNKNOWN_KEYS else k)


@st.composite
def price_value(draw):
    """A valid price as (wire value, Decimal dollars): 0-4 decimals, string or number."""
    bp = draw(st.integers(0, 10000))
    decimals = draw(st.sampled_from([d for d in range(5) if bp % 10 ** (4 - d) == 0]))
    text = f"{bp // 10000}" + (f".{bp % 10000:04d}"[: decimals + 1] if decimals else "")
    return (text if draw(st.booleans()) else Raw(text)), Decimal(bp) / 10000


@st.composite
def size_value(draw, signed=True):
    c100 = draw(st.integers(-10**9 if signed else 0, 10**9))
    decimals = draw(st.sampled_from([d for d in range(3) if c100 % 10 ** (2 - d) == 0]))
    sign = "-" if c100 < 0 else draw(st.sampled_from(["", "", "+"])) if signed else ""
    a = abs(c100)
    text = sign + f"{a // 100}" + (f".{a % 100:02d}"[: decimals + 1] if decimals else "")
    if sign == "+" or draw(st.booleans()):
        return text, Decimal(c100) / 100
    return Raw(text), Decimal(c100) / 100


def int_value(n):
    return st.sampled_from([n, str(n)])


@st.composite
def orderbook_frame(draw):
    """(frame bytes, expected dict in the units of parse_frame)."""
    kind = draw(st.sampled_from(["orderbook_delta", "orderbook_snapshot"]))
    ticker = draw(st.text(TICKER_CHARS, min_size=1, max_size=40))
    sid, seq = draw(st.integers(1, 10**6)), draw(st.integers(1, 10**15))
    expected = {"kind": FrameKind[kind.upper()], "sid": sid, "seq": seq, "market_ticker": ticker}
    msg = [("market_ticker", ticker)]
    if draw(st.booleans()):
        msg.append(("market_id", "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1"))
    if kind == "orderbook_delta":
        price, price_d = draw(price_value())
        dv, delta_d = draw(size_value())
        side = draw(st.sampled_from(["yes", "no"]))
        msg += [("price_dollars", price), ("delta_fp", dv), ("side", side)]
        expected.update(price_bp=int(price_d * 10000), delta=int(delta_d * 100),
                        side=0 if side == "yes" else 1)
        if draw(st.booleans()):
            ts = draw(st.integers(0, 2**53))
            msg.append(("ts_ms", draw(int_value(ts))))
            expected["ts_ms"] = ts
        if draw(st.booleans()):
            msg.append(("ts", "2022-11-22T20:44:01Z"))
        if draw(st.booleans()):
            coid = draw(st.text(TICKER_CHARS, max_size=30))
            msg.append(("client_order_id", coid))
            expected["client_order_id"] = coid
        if draw(st.booleans()):
            sub = draw(st.integers(0, 63))
            msg.append(("subaccount", draw(int_value(sub))))
            expected["subaccount"] = sub
    else:
        expected["yes"], expected["no"] = [], []
        for key, side in (("yes_dollars_fp", "yes"), ("no_dollars_fp", "no")):
            if draw(st.booleans()):
                levels = []
                for _ in range(draw(st.integers(0, 6))):
                    p, pd = draw(price_value())
                    s, sd = draw(size_value(signed=False))
                    levels.append([p, s])
                    expected[side].append((int(pd * 10000), int(sd * 100)))
                msg.append((key, levels))
        if draw(st.booleans()):
            expected["id"] = draw(st.integers(0, 10**6))
    extra_msg = draw(st.lists(unknown_keys, max_size=3, unique=True))
    msg += [(k, draw(unknown_values)) for k in extra_msg]
    msg = draw(st.permutations(msg))
    env = [("type", kind), ("sid", draw(int_value(sid))), ("seq", draw(int_value(seq))), ("msg", msg)]
    if "id" in expected:
        env.append(("id", expected["id"]))
    extra_env = draw(st.lists(unknown_keys, max_size=2, unique=True))
    env += [(k, draw(unknown_values)) for k in extra_env]
    if extra_msg or extra_env:
        expected["unknown_keys"] = len(extra_msg) + len(extra_env)
    env = draw(st.permutations(env))
    rnd = draw(st.integers(0, 2**32).map(random.Random))
    text = rnd.choice(WS_CHOICES) + write(rnd, env) + rnd.choice(WS_CHOICES)
    return text.encode("utf-8"), expected


def as_units(ref):
    """The reference's result in parse_frame's units."""
    out = {"kind": FrameKind[ref.kind.upper()]}
    for key in ("sid", "seq", "id", "ts_ms", "client_order_id", "subaccount", "side"):
        if getattr(ref, key) is not None:
            out[key] = getattr(ref, key)
    if ref.unknown_keys:
        out["unknown_keys"] = ref.unknown_keys
    if ref.ticker is not None:
        out["market_ticker"] = ref.ticker
    if ref.kind == "orderbook_delta":
        out["price_bp"] = int(ref.price * 10000)
        out["delta"] = int(ref.delta * 100)
    elif ref.kind == "orderbook_snapshot":
        out["yes"] = [(int(p * 10000), int(s * 100)) for p, s in ref.yes]
        out["no"] = [(int(p * 10000), int(s * 100)) for p, s in ref.no]
    return out


@given(orderbook_frame())
def test_generated_frames_match_the_reference(case):
    frame, expected = case
    got = parse_frame(frame)
    assert got == expected
    assert as_units(ref_parse(frame)) == expected


# ----------------------------------------------------------------------------- one defect at a time

WRONG_TYPES = [Raw("{}"), Raw("[]"), Raw("true"), Raw("null"), Raw('{"a":[1]}')]


@st.composite
def defective_frame(draw):
    """A delta or snapshot with exactly one defect; the reason the reference gives must match."""
    frame, expected = draw(orderbook_frame())
    obj = json.loads(frame)
    delta = obj["type"] == "orderbook_delta"
    msg = obj["msg"]
    defect = draw(st.sampled_from(["type", "price", "size", "side", "missing", "ticker", "duplicate",
                                   "exponent", "sid", "level", "not_object"]))
    if defect in ("price", "size", "side", "exponent") and not delta:
        defect = "level"
    if defect == "type":
        key = draw(st.sampled_from(["market_ticker", "price_dollars", "delta_fp", "side"] if delta
                                   else ["market_ticker", "yes_dollars_fp"]))
        msg[key] = draw(st.sampled_from(WRONG_TYPES))
    elif defect == "price":
        msg["price_dollars"] = draw(st.sampled_from(["1.0001", "0.12345", "-0.5", "+0.5", "2", ".5", "0.5x",
                                                     "", " 0.5", "1e-1", "0x10", "NaN"]))
    elif defect == "size":
        msg["delta_fp"] = draw(st.sampled_from(["1.001", "--1", "1.", "", "12345678901234567.00", "1,5",
                                                "inf"]))
    elif defect == "exponent":
        msg["price_dollars"] = Raw("5e-1")
    elif defect == "side":
        msg["side"] = draw(st.sampled_from(["YES", "", "bid", "yes ", "n"]))
    elif defect == "missing":
        key = draw(st.sampled_from(["market_ticker", "price_dollars", "delta_fp", "side"] if delta
                                   else ["market_ticker"]))
        del msg[key]
    elif defect == "ticker":
        msg["market_ticker"] = draw(st.sampled_from(["", "X" * 129, "é" * 65]))
    elif defect == "sid":
        obj[draw(st.sampled_from(["sid", "seq"]))] = draw(st.sampled_from(["1a", -1, Raw("1.5"), "",
                                                                          "1" * 19, Raw("true")]))
    elif defect == "level":
        msg["yes_dollars_fp"] = draw(st.sampled_from([[["0.5"]], [["0.5", "1", "2"]], ["0.5"],
                                                      [["0.5", Raw("{}")]], [[Raw("null"), "1"]]]))
    elif defect == "not_object":
        obj["msg"] = draw(st.sampled_from([Raw("[]"), "msg", Raw("3")]))
    pairs_env = [(k, v if k != "msg" or not isinstance(v, dict) else list(v.items()) or EMPTY_OBJECT)
                 for k, v in obj.items()]
    if defect == "duplicate":
        where = draw(st.sampled_from(["env", "msg"]))
        if where == "env":
            pairs_env.append(("seq", obj["seq"]))
        else:
            msg_pairs = list(msg.items())
            msg_pairs.append(("market_ticker", msg["market_ticker"]))
            pairs_env = [(k, msg_pairs if k == "msg" else v) for k, v in pairs_env]
    text = write(draw(st.integers(0, 2**32).map(random.Random)), draw(st.permutations(pairs_env)))
    return text.encode("utf-8")


def _plain(v):
    if isinstance(v, Raw):
        return v.text
    return v


@given(defective_frame())
def test_defects_give_the_reference_reason(frame):
    try:
        ref_parse(frame)
        reason = None
    except RefError as exc:
        reason = exc.reason
    assume(reason is not None)
    with pytest.raises(DecodeError) as info:
        parse_frame(frame)
    assert info.value.reason == reason, (frame, str(info.value))


@pytest.mark.parametrize("text,reason", [
    (b"", "truncated"),
    (b"   ", "truncated"),
    (b"[]", "not_object"),
    (b'"x"', "not_object"),
    (b"{} x", "trailing"),
    (b"{}{}", "trailing"),
    (b'{"a":1,}', "syntax"),
    (b"{'a':1}", "syntax"),
    (b'{"a":01}', "syntax"),
    (b'{"a":NaN}', "syntax"),
    (b'{"a":tru}', "syntax"),
    (b'{"a":"\x01"}', "syntax"),
    (b'{"a":"\\x"}', "syntax"),
    (b'{"a":"\\ud800"}', "utf8"),
    (b'{"a":"\\udc00\\ud800"}', "utf8"),
    (b'{"a":"\xff"}', "utf8"),
    (b'{"a":"\xc0\x80"}', "utf8"),
    (b'{"a":"\xed\xa0\x80"}', "utf8"),
    (b'{"a":' + b"[" * 70 + b"]" * 70 + b"}", "depth"),
    (b'{"sid":1}', "missing"),
    (b'{"type":1}', "type"),
    (b'{"type":"orderbook_delta","seq":1,"msg":{}}', "missing"),
    (b'{"type":"x","type":"y"}', "duplicate_key"),
    (b'{"type":"ok","seq":9999999999999999999}', "integer"),     # 19 digits
    (b'{"type":"ok","seq":99999999999999999999}', "integer"),
    (b'{"type":"ok","seq":1.0}', "integer"),
    (b'{"type":"ok","seq":1e3}', "integer"),
    (b'{"type":"ok","seq":-1}', "integer"),
    (b'{"type":"ok","seq":"+1"}', "integer"),
])
def test_malformed_frames(text, reason):
    with pytest.raises(DecodeError) as info:
        parse_frame(text)
    assert info.value.reason == reason, str(info.value)


def test_largest_integers():
    # 18 digits is the limit (the fuzzer once caught an overflow on the 19th in the fast path)
    got = parse_frame(b'{"type":"ok","sid":999999999999999999,"seq":"000000000000000001","id":0}')
    assert (got["sid"], got["seq"], got["id"]) == (999999999999999999, 1, 0)


def test_escaped_keys_and_type():
    frame = (b'{"\\u0074ype":"orderbook_\\u0064elta","sid":"1","seq":2,"msg":{"market_\\u0074icker":'
             b'"A\\u00e9\\ud83d\\ude00","price_dollars":0.5,"delta_fp":-1,"side":"n\\u006f"}}')
    got = parse_frame(frame)
    assert got == {"kind": FrameKind.ORDERBOOK_DELTA, "sid": 1, "seq": 2, "market_ticker": "Aé😀",
                   "price_bp": 5000, "delta": -100, "side": 1}


def test_msg_before_type():
    frame = (b'{"msg":{"side":"yes","delta_fp":"2","price_dollars":"0.01","market_ticker":"Z"},"seq":3,'
             b'"sid":1,"type":"orderbook_delta"}')
    assert parse_frame(frame)["price_bp"] == 100


def test_too_many_levels():
    levels = ",".join(f'["{p / 10000:.4f}","1"]' for p in range(10001))
    frame = ('{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"M","yes_dollars_fp":['
             + levels + ',["0.5","1"]]}}').encode()
    with pytest.raises(DecodeError) as info:
        parse_frame(frame)
    assert info.value.reason == "too_many_levels"


# ----------------------------------------------------------------------------- truncation of real frames

def real_frames():
    out = []
    if EXAMPLES.exists():
        for line in EXAMPLES.read_text().splitlines():
            m = json.loads(line)["message"]
            if "cmd" not in m and "LEGACY" not in line:
                out.append(json.dumps(m).encode())
    out.append(b'{"type":"orderbook_delta","sid":1,"seq":13299399,"msg":{"market_ticker":"KXGOLD15M-26AUG050800'
               b'-00","market_id":"eab09b7f-31ea-42c8-ba7a-b230c49efe64","price_dollars":"0.5400","delta_fp":"-10.'
               b'00","side":"no","ts":"2026-08-05T11:45:36.564039Z","ts_ms":1785930336564}}')
    out.append('{"type":"orderbook_delta","sid":1,"seq":9,"msg":{"market_ticker":"A\\u00e9é😀","price_dollars":'
               '"0.5","delta_fp":"1","side":"yes","client_order_id":"c\\"1"}}'.encode())
    return out


@pytest.mark.parametrize("frame", real_frames(), ids=lambda f: f[:40].decode("utf-8", "replace"))
def test_truncation_at_every_byte(frame):
    books = Books()
    # a live book for every market, so a wrongly applied prefix would show
    books.apply_frame(b'{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"KXGOLD15M-26AUG0508'
                      b'00-00","yes_dollars_fp":[["0.5400","10"]],"no_dollars_fp":[["0.5400","10"]]}}')
    before = {t: (books[t].levels(0), books[t].levels(1)) for t in books}
    for cut in range(len(frame)):
        with pytest.raises(DecodeError) as info:
            parse_frame(frame[:cut])
        assert info.value.reason == "truncated", (cut, str(info.value))
        assert books.apply_frame(bytearray(frame[:cut])) == FrameKind.INVALID
        assert {t: (books[t].levels(0), books[t].levels(1)) for t in books} == before
    assert parse_frame(frame)["kind"] != FrameKind.INVALID


def test_truncation_keeps_the_seq_it_read():
    books = Books()
    books.apply_frame(b'{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"M"}}')
    cut = b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"M","pri'
    assert books.apply_frame(cut) == -1
    assert books.subscription_seq(1) == 2
    assert books["M"].state.name == "FAULTED"


# ----------------------------------------------------------------------------- the compact-delta shortcut

@st.composite
def compact_deltas(draw):
    """Deltas in Kalshi's own layout (the parser's shortcut), valid or one value off."""
    def num(valid):
        return draw(st.sampled_from(valid + ["0", "01", "1" * 19, "1.5", "1e3", "-1", '"7"']))

    # ticker lengths around the 16-byte steps of the SSE2 scan and copy, and the 128-byte limit
    ticker = draw(st.sampled_from(["KXGOLD15M-26AUG101830-30", "A", "X" * 128, "X" * 129, "", 'q\\"x', "é",
                                   "Y" * 15, "Y" * 16, "Y" * 17, "Y" * 31, "Y" * 32, "Y" * 112, "Y" * 127,
                                   "Y" * 16 + 'q\\"x']))
    parts = ['{"type":"orderbook_delta","sid":', num(["1", "42"]), ',"seq":',
             num(["13299399", "999999999999999999", "12345678", "123456789012345678", "7", "1234567",
                  "123456789", "1234567890123456", "12345678901234567", "1234567890123456789"]),
             ',"msg":{"market_ticker":"', ticker, '"']
    if draw(st.booleans()):
        parts.append(',"market_id":"' + draw(st.sampled_from(["eab09b7f-31ea-42c8-ba7a-b230c49efe64", "",
                                                               "\\u0041"])) + '"')
    parts.append(',"price_dollars":"' + draw(st.sampled_from(["0.5400", "1", "0", "1.0001", "0.12345", "x",
                                                              "0.5", "0.9600", "1.0000", "2.0000", "0.96a0",
                                                              "0:9600", "00.9600"])) + '"')
    parts.append(',"delta_fp":"' + draw(st.sampled_from(["-10.00", "5", "+3.5", "1.001", "", "0", "-0.00",
                                                         "007.00", "-1234567890.25", "1234567890123456.00",
                                                         "12345678901234567.00", "5.", "-.50", "1.5x",
                                                         "1.2a"])) + '"')
    parts.append(',"side":"' + draw(st.sampled_from(["yes", "no", "maybe"])) + '"')
    if draw(st.booleans()):
        parts.append(',"ts":"2026-08-05T11:45:36.564039Z"')
    if draw(st.booleans()):
        parts.append(',"ts_ms":' + num(["1785930336564", "12345678901234567", "1", "12345678", "123456789",
                                        "123456789012345678", "1234567890123456789"]))
    parts.append(draw(st.sampled_from(["}}", "}}", "} }", "}}x", "}", "},\"z\":1}"])))
    return "".join(parts).encode()


def _parse_or_reason(frame, general):
    try:
        return parse_frame(frame, general=general)
    except DecodeError as exc:
        return exc.reason


@given(compact_deltas())
def test_shortcut_agrees_with_the_general_parser(frame):
    assert _parse_or_reason(frame, False) == _parse_or_reason(frame, True)


@given(orderbook_frame())
def test_generated_frames_same_through_both_paths(case):
    frame, expected = case
    assert parse_frame(frame, general=True) == expected == parse_frame(frame)
