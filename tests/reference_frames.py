"""The oracle of the frame decoder: plain Python, ``json`` and exact ``decimal.Decimal``.

Nothing here imports centbook. :func:`ref_parse` states the decoding rules of orderbook frames
(what is accepted, what is refused) independently of the C parser; :class:`RefBook` and
:class:`RefBooks` are the book and the registry (with seq tracking per sid) in their simplest
form: dicts of Decimal sizes keyed by Decimal prices.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal

PRICE_RE = re.compile(r"[0-9]+(\.[0-9]{1,4})?\Z")
SIZE_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]{1,2})?\Z")
INT_RE = re.compile(r"[0-9]{1,18}\Z")
NUMBER_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
TICKER_MAX = 128
CONTROL = {"ok", "unsubscribed", "error"}


class RefError(ValueError):
    """A frame the reference refuses; ``reason`` uses the decoder's reason keys."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Num:
    """A JSON number kept as its lexeme (so '5e-1' and '0.5' stay distinguishable)."""
    text: str


def _loads(frame: bytes):
    def pairs(items):
        out = {}
        dups = set()
        for k, v in items:
            if k in out:
                dups.add(k)
            out[k] = v
        if dups:
            out["\0dups"] = dups
        return out

    def bad_constant(name):
        raise RefError("syntax", name)

    text = frame.decode("utf-8")
    return json.loads(text, object_pairs_hook=pairs, parse_float=Num, parse_int=Num,
                      parse_constant=bad_constant)


def _dups(obj: dict) -> set:
    return obj.get("\0dups", set())


def ref_int(value, name: str) -> int:
    if isinstance(value, Num):
        text = value.text
    elif isinstance(value, str):
        text = value
    else:
        raise RefError("type", name)
    if not INT_RE.match(text):
        raise RefError("integer", name)
    return int(text)


def _decimal_text(value, name: str, reason: str) -> str:
    if isinstance(value, Num):
        if "e" in value.text or "E" in value.text:
            raise RefError(reason, f"{name}: exponent")
        return value.text
    if isinstance(value, str):
        return value
    raise RefError("type", name)


def ref_price(value, name: str = "price_dollars") -> Decimal:
    """A price in dollars: 0..1, at most 4 decimals, no sign."""
    text = _decimal_text(value, name, "price")
    if not PRICE_RE.match(text) or len(text.split(".")[0].lstrip("0")) > 6:
        raise RefError("price", name)
    d = Decimal(text)
    if d > 1:
        raise RefError("price", name)
    return d


def ref_size(value, name: str = "delta_fp") -> Decimal:
    """A signed size in contracts: at most 2 decimals, at most 16 integer digits."""
    text = _decimal_text(value, name, "size")
    if not SIZE_RE.match(text) or len(text.lstrip("+-").split(".")[0].lstrip("0")) > 16:
        raise RefError("size", name)
    return Decimal(text)


@dataclass
class RefFrame:
    kind: str
    sid: int | None = None
    seq: int | None = None
    id: int | None = None
    ticker: str | None = None
    side: int | None = None
    price: Decimal | None = None
    delta: Decimal | None = None
    ts_ms: int | None = None
    client_order_id: str | None = None
    subaccount: int | None = None
    unknown_keys: int = 0
    yes: list = field(default_factory=list)
    no: list = field(default_factory=list)


def ref_parse(frame: bytes) -> RefFrame:
    """Decode one frame by the rules the fast path must follow; raise RefError if refused.

    Only orderbook bodies are read; other types are classified by their ``type``.
    """
    try:
        obj = _loads(frame)
    except UnicodeDecodeError:
        raise RefError("utf8") from None
    except json.JSONDecodeError as exc:
        raise RefError("syntax", str(exc)) from None
    if not isinstance(obj, dict):
        raise RefError("not_object")
    dups = _dups(obj) & {"type", "sid", "seq", "id", "msg"}
    if dups:
        raise RefError("duplicate_key", str(dups))
    if "type" not in obj:
        raise RefError("missing", "type")
    if not isinstance(obj["type"], str):
        raise RefError("type", "type")
    out = RefFrame(kind=obj["type"])
    out.unknown_keys = len(obj.keys() - {"type", "sid", "seq", "id", "msg", "\0dups"})
    for key in ("sid", "seq", "id"):
        if key in obj:
            setattr(out, key, ref_int(obj[key], key))
    if out.kind not in ("orderbook_snapshot", "orderbook_delta"):
        return out
    for key in ("sid", "seq", "msg"):
        if key not in obj:
            raise RefError("missing", key)
    msg = obj["msg"]
    if not isinstance(msg, dict):
        raise RefError("not_object", "msg")
    delta = out.kind == "orderbook_delta"
    read = {"market_ticker", "market_id", "ts_ms", "client_order_id", "subaccount"}
    read |= {"price_dollars", "delta_fp", "side"} if delta else {"yes_dollars_fp", "no_dollars_fp"}
    dups = _dups(msg) & read
    if dups:
        raise RefError("duplicate_key", str(dups))
    legacy_keys = {"price", "delta", "yes", "no", "yes_dollars", "no_dollars"}
    legacy = bool(legacy_keys & msg.keys())
    out.unknown_keys += len(msg.keys() - read - legacy_keys - {"ts", "\0dups"})
    required = ["market_ticker", "price_dollars", "delta_fp", "side"] if delta else ["market_ticker"]
    for key in required:
        if key not in msg:
            raise RefError("legacy" if legacy and key != "market_ticker" else "missing", key)
    ticker = msg["market_ticker"]
    if not isinstance(ticker, str):
        raise RefError("type", "market_ticker")
    if not 0 < len(ticker.encode("utf-8")) <= TICKER_MAX:
        raise RefError("ticker", "market_ticker")
    out.ticker = ticker
    if "market_id" in msg and not isinstance(msg["market_id"], str):
        raise RefError("type", "market_id")
    if "ts_ms" in msg:
        out.ts_ms = ref_int(msg["ts_ms"], "ts_ms")
    if "subaccount" in msg:
        out.subaccount = ref_int(msg["subaccount"], "subaccount")
    if "client_order_id" in msg:
        coid = msg["client_order_id"]
        if not isinstance(coid, str):
            raise RefError("type", "client_order_id")
        if len(coid.encode("utf-8")) > 128:
            raise RefError("too_long", "client_order_id")
        out.client_order_id = coid
    if delta:
        out.price = ref_price(msg["price_dollars"])
        out.delta = ref_size(msg["delta_fp"])
        side = msg["side"]
        if not isinstance(side, str):
            raise RefError("type", "side")
        if side not in ("yes", "no"):
            raise RefError("side", "side")
        out.side = 0 if side == "yes" else 1
        return out
    if legacy and "yes_dollars_fp" not in msg and "no_dollars_fp" not in msg:
        raise RefError("legacy", "yes_dollars_fp")
    for key, levels in (("yes_dollars_fp", out.yes), ("no_dollars_fp", out.no)):
        if key not in msg:
            continue
        value = msg[key]
        if not isinstance(value, list):
            raise RefError("type", key)
        for level in value:
            if not isinstance(level, list) or len(level) != 2:
                raise RefError("level", key)
            price, size = level
            if not isinstance(price, (str, Num)) or not isinstance(size, (str, Num)):
                raise RefError("level", key)
            levels.append((ref_price(price, key), ref_size(size, key)))
    return out


class RefBook:
    """YES and NO bids as {Decimal price: Decimal size} (NO at NO-leg prices)."""

    def __init__(self, valid_prices: set[Decimal] | None = None):
        self.sides: list[dict[Decimal, Decimal]] = [{}, {}]
        self.valid = valid_prices   # YES grid; the NO grid is its mirror image
        self.faulted = False
        self.has_snapshot = False

    def on_grid(self, side: int, price: Decimal) -> bool:
        if self.valid is None:
            return price * 100 == int(price * 100)
        return (price if side == 0 else 1 - price) in self.valid

    def snapshot(self, yes, no) -> str | None:
        for side, levels in ((0, yes), (1, no)):
            seen = set()
            for price, size in levels:
                if not self.on_grid(side, price):
                    self.faulted = True
                    return "off_grid"
                if size < 0:
                    self.faulted = True
                    return "negative"
                if price in seen:
                    self.faulted = True
                    return "duplicate_level"
                seen.add(price)
        self.sides = [{p: s for p, s in yes if s != 0}, {p: s for p, s in no if s != 0}]
        self.faulted = False
        self.has_snapshot = True
        return None

    def delta(self, side: int, price: Decimal, delta: Decimal) -> str | None:
        if self.faulted:
            return "faulted"
        if not self.has_snapshot:
            self.faulted = True
            return "no_snapshot"
        if not self.on_grid(side, price):
            self.faulted = True
            return "off_grid"
        new = self.sides[side].get(price, Decimal(0)) + delta
        if new < 0:
            self.faulted = True
            return "negative"
        if new == 0:
            self.sides[side].pop(price, None)
        else:
            self.sides[side][price] = new
        return None

    def levels_bp(self, side: int) -> list[tuple[int, int]]:
        """Levels as (price_bp, size in hundredths), ascending: the compiled book's units."""
        return sorted((int(p * 10000), int(s * 100)) for p, s in self.sides[side].items())


class RefBooks:
    """Registry with seq tracking per sid, by the convention documented in centbook.books."""

    def __init__(self, auto_create: bool = True):
        self.books: dict[str, RefBook] = {}
        self.market_sid: dict[str, int] = {}
        self.last_seq: dict[int, int] = {}
        self.use_yes_price: dict[int, bool] = {}
        self.auto_create = auto_create
        self.gaps = 0
        self.gapped: set[str] = set()

    def _track(self, sid: int, seq: int, kind: str) -> None:
        last = self.last_seq.get(sid)
        if last is not None and not (seq == last + 1 or (kind in CONTROL and seq == last)):
            self.gaps += 1
            self.gapped |= {t for t, s in self.market_sid.items() if s == sid}
        self.last_seq[sid] = seq

    def _bad_body(self, frame: bytes) -> None:
        """A refused frame still consumed its seq if it had one: advance, then fault its market
        (or every market of the sid when the ticker cannot be read)."""
        try:
            obj = _loads(frame)
        except (ValueError, RefError):
            return
        if not isinstance(obj, dict):
            return
        try:
            sid, seq = ref_int(obj["sid"], "sid"), ref_int(obj["seq"], "seq")
        except (KeyError, RefError):
            return
        kind = obj.get("type")
        self._track(sid, seq, kind)
        msg = obj.get("msg")
        ticker = msg.get("market_ticker") if isinstance(msg, dict) else None
        book_kind = kind in ("orderbook_snapshot", "orderbook_delta")
        if isinstance(ticker, str) and book_kind:
            if ticker in self.books:
                self.books[ticker].faulted = True
        elif book_kind or not isinstance(kind, str):
            for t, s in self.market_sid.items():
                if s == sid:
                    self.books[t].faulted = True

    def apply(self, frame: bytes) -> str | None:
        """Apply a frame; return None, or the reason it was refused."""
        try:
            f = ref_parse(frame)
        except RefError as exc:
            self._bad_body(frame)
            return exc.reason
        if f.sid is not None and f.seq is not None:
            self._track(f.sid, f.seq, f.kind)
        if f.kind == "orderbook_delta":
            book = self.books.get(f.ticker)
            if book is None:
                return "unknown_market"
            self.market_sid[f.ticker] = f.sid
            price = f.price
            if f.side == 1 and self.use_yes_price.get(f.sid):
                price = 1 - price
            return book.delta(f.side, price, f.delta)
        if f.kind == "orderbook_snapshot":
            book = self.books.get(f.ticker)
            if book is None:
                if not self.auto_create:
                    return "unknown_market"
                book = self.books[f.ticker] = RefBook()
            self.market_sid[f.ticker] = f.sid
            no = f.no
            if self.use_yes_price.get(f.sid):
                no = [(1 - p, s) for p, s in no]
            reason = book.snapshot(f.yes, no)
            if reason is None:
                self.gapped.discard(f.ticker)
            return reason
        if f.kind == "unsubscribed" and f.sid is not None:
            self.last_seq.pop(f.sid, None)
        return None
