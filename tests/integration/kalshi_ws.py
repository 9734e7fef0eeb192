"""A Kalshi WebSocket test subscriber written from the docs: aiohttp, json and Decimal only.

Deliberately independent of centbook's decoder and feed: it applies ``orderbook_snapshot`` and
``orderbook_delta`` messages to plain dicts of Decimal, checks ``seq`` per sid, resyncs a gapped
sid with ``update_subscription`` / ``get_snapshot``, and validates every message it receives
against the AsyncAPI payload schemas (when the spec file is present).

Schema note: the spec's ``marketTicker`` pattern ``^[A-Z0-9-]+$`` forbids the ``.`` real tickers
carry (``FED-23DEC-T3.00``, the spec's own example); it is relaxed to ``^[A-Z0-9.-]+$``. And
``multivariateMarketLifecyclePayload`` is ``allOf`` the v2 payload (whose ``type`` is the const
``market_lifecycle_v2``) and a ``type`` const ``multivariate_market_lifecycle``, which no message
can satisfy: a multivariate message is validated as the v2 payload with its type swapped.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from decimal import Decimal
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC_ROOT = os.environ.get("CENTBOOK_KALSHI_SPECS") or os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "shared", "kalshi")
)
ASYNCAPI = os.path.join(SPEC_ROOT, "spec", "asyncapi.yaml")
WS_PATH = "/trade-api/ws/v2"

PAYLOADS = {
    "subscribed": "subscribedResponsePayload",
    "unsubscribed": "unsubscribedResponsePayload",
    "error": "errorResponsePayload",
    "orderbook_snapshot": "orderbookSnapshotPayload",
    "orderbook_delta": "orderbookDeltaPayload",
    "ticker": "tickerPayload",
    "trade": "tradePayload",
    "fill": "fillPayload",
    "market_lifecycle_v2": "marketLifecycleV2Payload",
    "event_lifecycle": "eventLifecyclePayload",
    "multivariate_market_lifecycle": "marketLifecycleV2Payload",
    "market_position": "marketPositionPayload",
    "order_group_updates": "orderGroupUpdatesPayload",
    "user_order": "userOrderPayload",
}

_validators: dict[str, Any] | None = None


def spec_available() -> bool:
    return os.path.exists(ASYNCAPI)


def validators() -> dict[str, Any]:
    """Return a jsonschema validator per payload schema name ($refs resolved inside the document)."""
    global _validators
    if _validators is None:
        import jsonschema
        import yaml

        with open(ASYNCAPI) as fh:
            doc = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        comps = doc["components"]
        comps["schemas"]["marketTicker"]["pattern"] = "^[A-Z0-9.-]+$"
        names = set(PAYLOADS.values()) | {"okResponsePayload", "listSubscriptionsResponsePayload"}

        def inline(node: Any) -> Any:  # resolve local $refs once: validation is then cheap
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                    target = inline(comps["schemas"][ref.rsplit("/", 1)[1]])
                    rest = {k: inline(v) for k, v in node.items() if k != "$ref"}
                    return {**target, **rest} if rest else target
                return {k: inline(v) for k, v in node.items()}
            if isinstance(node, list):
                return [inline(v) for v in node]
            return node

        _validators = {
            name: jsonschema.Draft202012Validator(inline(comps["schemas"][name])) for name in names
        }
    return _validators


def validate(message: dict[str, Any]) -> str:
    """Validate one message against its payload schema; return the schema name used."""
    kind = message.get("type")
    if kind == "ok":
        name = (
            "listSubscriptionsResponsePayload"
            if isinstance(message.get("msg"), list)
            else "okResponsePayload"
        )
    else:
        name = PAYLOADS[kind]  # KeyError: a type the spec does not have
    if kind == "multivariate_market_lifecycle":
        message = {**message, "type": "market_lifecycle_v2"}
    validators()[name].validate(message)
    return name


def ws_headers(key_id: str, private_pem: str) -> dict[str, str]:
    """Kalshi's signing headers for the WebSocket upgrade (timestamp + GET + path)."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    ts = str(int(time.time() * 1000))
    sig = key.sign(  # type: ignore[union-attr,call-arg]
        (ts + "GET" + WS_PATH).encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),  # type: ignore[arg-type]
        hashes.SHA256(),  # type: ignore[arg-type]
    )
    return {
        "KALSHI-ACCESS-KEY": key_id,
        "KALSHI-ACCESS-TIMESTAMP": ts,
        "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode(),
    }


def rest_book(orderbook_fp: dict[str, Any]) -> dict[str, dict[Decimal, Decimal]]:
    """REST ``orderbook_fp`` as ``{"yes": {price: size}, "no": {price: size}}`` (NO in NO-leg prices)."""
    return {
        "yes": {Decimal(p): Decimal(s) for p, s in orderbook_fp.get("yes_dollars") or []},
        "no": {Decimal(p): Decimal(s) for p, s in orderbook_fp.get("no_dollars") or []},
    }


class Subscriber:
    """One WebSocket connection that keeps books, seqs and every message it received.

    Parameters
    ----------
    resync : bool
        On a seq gap, mark the sid's books stale and ask ``get_snapshot`` for them.
    keep_raw : bool
        Keep every text frame as received in ``raw`` (to check the exact bytes).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        key_id: str,
        pem: str,
        resync: bool = True,
        keep_raw: bool = False,
    ) -> None:
        self.session = session
        self.url = url
        self.key_id = key_id
        self.pem = pem
        self.resync = resync
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.next_id = 1
        self.messages: list[dict[str, Any]] = []
        self.raw_bad: list[str] = []
        self.keep_raw = keep_raw
        self.raw: list[str] = []  # every text frame as received (with keep_raw)
        self.unknown: list[dict[str, Any]] = []
        self.pings: list[bytes] = []
        self.pongs: list[bytes] = []
        self.books: dict[tuple[int, str], dict[str, dict[Decimal, Decimal]]] = {}
        self.last_seq: dict[int, int] = {}
        self.gaps: list[tuple[int, int, int]] = []  # (sid, expected, got)
        self.duplicates: list[tuple[int, int]] = []
        self.stale: set[int] = set()
        self.pending_snapshots: dict[int, int] = {}  # command id -> sid
        self.use_yes: dict[int, bool] = {}
        self.validated = 0
        self.closed: tuple[Any, Any] | None = None
        self.reader: asyncio.Task[None] | None = None
        self.sid_tickers: dict[int, list[str]] = {}

    async def connect(self, autoping: bool = False, compress: int = 0) -> Subscriber:
        """Open the socket (``compress``: permessage-deflate window bits, 0 = off)."""
        self.ws = await self.session.ws_connect(
            self.url,
            headers=ws_headers(self.key_id, self.pem),
            autoping=autoping,
            heartbeat=None,
            compress=compress,
        )
        self.reader = asyncio.get_running_loop().create_task(self._read())
        return self

    @property
    def local_port(self) -> int:
        assert self.ws is not None
        conn = self.ws.get_extra_info("sockname")
        return int(conn[1])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            try:
                await self.reader
            except (asyncio.CancelledError, Exception):
                pass

    async def send(self, cmd: str, params: dict[str, Any] | None = None, **extra: Any) -> int:
        assert self.ws is not None
        cid = self.next_id
        self.next_id += 1
        body: dict[str, Any] = {"id": cid, "cmd": cmd, **extra}
        if params is not None:
            body["params"] = params
        await self.ws.send_str(json.dumps(body))
        return cid

    async def subscribe(self, channels: list[str], tickers: list[str] | None = None, **params: Any) -> int:
        p: dict[str, Any] = {"channels": channels, **params}
        if tickers is not None:
            p["market_tickers"] = tickers
        cid = await self.send("subscribe", p)
        return cid

    async def wait(self, predicate: Any, timeout_s: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.005)

    async def reply(self, cid: int, kind: str | None = None, timeout_s: float = 10.0) -> dict[str, Any]:
        """Wait for the first message answering command ``cid`` (of ``kind`` if given)."""
        return await self.wait(
            lambda: next(
                (m for m in self.messages if m.get("id") == cid and (kind is None or m.get("type") == kind)),
                None,
            ),
            timeout_s,
        )

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    # -- reading -----------------------------------------------------------------------------------
    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self._on_text(msg.data)
            elif msg.type == aiohttp.WSMsgType.PING:
                self.pings.append(msg.data)
                await self.ws.pong(msg.data)
            elif msg.type == aiohttp.WSMsgType.PONG:
                self.pongs.append(msg.data)
        self.closed = (self.ws.close_code, self.ws.exception())

    def _on_text(self, text: str) -> None:
        if self.keep_raw:
            self.raw.append(text)
        try:
            m = json.loads(text)
        except ValueError:
            self.raw_bad.append(text)
            return
        if not isinstance(m, dict) or m.get("type") not in (*PAYLOADS, "ok"):
            self.unknown.append(m)
            return
        if spec_available():
            validate(m)
            self.validated += 1
        self.messages.append(m)
        kind = m["type"]
        sid = m.get("sid")
        if kind == "subscribed":
            return
        if "seq" in m and sid is not None and kind != "error":
            seq = m["seq"]
            last = self.last_seq.get(sid)
            if last is not None and seq <= last:
                self.duplicates.append((sid, seq))
                return
            if last is not None and seq != last + 1:
                self.gaps.append((sid, last + 1, seq))
                if self.resync and kind != "orderbook_snapshot":
                    self._resync(sid)
            self.last_seq[sid] = seq
        if kind == "orderbook_snapshot":
            if sid in self.stale and m.get("id") is not None:
                self.stale.discard(sid)
            self._apply_snapshot(sid, m["msg"])
        elif kind == "orderbook_delta":
            if sid in self.stale:
                return
            self._apply_delta(sid, m["msg"])

    def _resync(self, sid: int) -> None:
        self.stale.add(sid)
        tickers = sorted({t for (s, t) in self.books if s == sid})
        if tickers and self.ws is not None:
            cid = self.next_id
            self.next_id += 1
            self.pending_snapshots[cid] = sid
            asyncio.get_running_loop().create_task(
                self.ws.send_str(
                    json.dumps(
                        {
                            "id": cid,
                            "cmd": "update_subscription",
                            "params": {"sids": [sid], "market_tickers": tickers, "action": "get_snapshot"},
                        }
                    )
                )
            )

    def _apply_snapshot(self, sid: int, msg: dict[str, Any]) -> None:
        book: dict[str, dict[Decimal, Decimal]] = {"yes": {}, "no": {}}
        for side, key in (("yes", "yes_dollars_fp"), ("no", "no_dollars_fp")):
            levels = msg.get(key)
            assert levels != [], "an empty side is omitted, never []"
            for price, size in levels or ():
                assert isinstance(price, str) and isinstance(size, str)
                book[side][Decimal(price)] = Decimal(size)
        self.books[(sid, msg["market_ticker"])] = book

    def _apply_delta(self, sid: int, msg: dict[str, Any]) -> None:
        book = self.books[(sid, msg["market_ticker"])]
        levels = book[msg["side"]]
        price = Decimal(msg["price_dollars"])
        size = levels.get(price, Decimal(0)) + Decimal(msg["delta_fp"])
        assert size >= 0, ("level went negative", msg)
        if size == 0:
            levels.pop(price, None)
        else:
            levels[price] = size

    def book_as_rest(self, sid: int, ticker: str) -> dict[str, dict[Decimal, Decimal]]:
        """This client's book in REST's convention (NO side in NO-leg prices)."""
        book = self.books[(sid, ticker)]
        if not self.use_yes.get(sid):
            return book
        return {"yes": book["yes"], "no": {Decimal(1) - p: s for p, s in book["no"].items()}}
