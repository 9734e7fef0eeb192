"""The embedded exchange's WebSocket face: Kalshi's ``/trade-api/ws/v2`` commands and channels.

One :class:`StreamHub` per sim listens to the engine's :class:`~centbook.sim.engine.EngineEvent`
stream and turns each change into the messages Kalshi sends, for every subscription that wants
it, at the moment the engine makes the change. A client that applies the snapshot and every delta
of an ``orderbook_delta`` subscription therefore holds exactly the book ``GET
/markets/{ticker}/orderbook?depth=0`` returns at the same point.

Choices where Kalshi's documents are silent (PROTOCOL.md 1.3-1.6 and 2):

* ``sid``: per connection, from 1, one per channel of a subscribe command.
* ``seq``: per sid, from 1, +1 per *sequenced* message of that sid; the ``orderbook_snapshot``
  and ``orderbook_delta`` messages of all its markets share one counter. Sequenced messages:
  snapshots, deltas, ``order_group_updates``, ``trade``, ``market_lifecycle_v2`` and
  ``multivariate_market_lifecycle`` (the later AsyncAPI revision puts ``seq`` on those), and
  the ``ok`` and ``unsubscribed`` replies that concern one sid: **an ``ok`` or ``unsubscribed``
  reply consumes the next seq of its sid**, so a client sees no gap across an
  ``update_subscription`` (the spec examples show ``seq`` on both). ``ticker``, ``fill``,
  ``user_order``, ``market_position`` and ``subscribed`` carry no ``seq``.
* Snapshots answering ``get_snapshot`` carry the command ``id`` and take the next seq of the sid;
  no ``ok`` is sent for ``get_snapshot``.
* Subscribing again to a channel the connection already has adds the new markets to the existing
  sid and answers ``ok`` (seq, full ``market_tickers``) followed by the snapshots of the added
  markets; nothing is sent for markets already subscribed.
* An unknown market ticker in a command: error 16 "Market not found" (retired in the later
  revision; what replaced it is not documented). Channels Kalshi has but the sim does not
  simulate (``communications``, index feeds): error 8.
* ``client_order_id`` / ``subaccount`` on a delta: when the subscriber's own request caused it
  (the taker's for a trade); ``subaccount`` only when it is not the primary (0).
* Unsigned upgrades are refused (401) unless ``allow_anonymous`` is set (``centbook sim
  --ws-anonymous``, for watching with any WebSocket client); such a connection gets the public
  channels and ``orderbook_delta``, and error 9 on the private ones.
* Heartbeat: a Ping with body ``heartbeat`` every ``heartbeat_s`` (10 s); client pings are
  answered. No pong timeout is enforced (Kalshi does not document one).
* A bounded send queue per connection (``send_queue`` messages): a subscription whose message
  does not fit is ended with error 25 (the client reads too slowly).
* Limits: ``max_markets`` per subscription (error 26), ``command_rate`` commands per second per
  connection (error 27); Kalshi's published limits (500k markets, 10k commands/s) by default.
* ``ticker``: sent once per event-loop turn for each market whose ticker fields changed;
  ``dollar_volume`` is the traded notional in whole dollars, ``dollar_open_interest`` the open
  interest valued at the last price (approximations; Kalshi does not define them exactly).
* Lifecycle: the engine's ``activated``/``deactivated`` (pause, resume, close), ``determined``,
  ``settled`` and ``price_level_structure_updated``; markets whose ticker starts ``KXMVE`` go to
  ``multivariate_market_lifecycle`` instead.

Faults (see :class:`StreamAdmin`) are applied on the way out and logged in the sim's fault log.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import socket
import struct
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, MutableSet
from typing import Any

from aiohttp import WSMsgType, web

from centbook.fixed import format_money, format_price, format_size
from centbook.sim.auth import KeyRing
from centbook.sim.engine import MAX_BP, EngineEvent, Exchange, Market, Order
from centbook.sim.errors import SimError
from centbook.sim.flow import Flow

__all__ = ["StreamHub", "StreamAdmin", "Connection", "Subscription", "market_id", "CHANNELS"]

log = logging.getLogger("centbook.sim.stream")

WS_PATH = "/trade-api/ws/v2"

# channel -> message type(s) it carries
CHANNELS = {
    "orderbook_delta": "orderbook_delta",
    "ticker": "ticker",
    "trade": "trade",
    "fill": "fill",
    "market_positions": "market_position",
    "market_lifecycle_v2": "market_lifecycle_v2",
    "multivariate_market_lifecycle": "multivariate_market_lifecycle",
    "user_orders": "user_order",
    "order_group_updates": "order_group_updates",
}
NOT_SIMULATED = frozenset({"communications", "cfbenchmarks_value", "cfbenchmarks_value_5hz", "pyth_value"})
# refused (error 9) on an unsigned connection (only possible with ``allow_anonymous``); the book
# itself is public, so ``orderbook_delta`` is allowed there (without own-order annotations)
PRIVATE = frozenset({"fill", "market_positions", "user_orders", "order_group_updates"})
SEQUENCED = frozenset(
    {
        "orderbook_delta",
        "order_group_updates",
        "trade",
        "market_lifecycle_v2",
        "multivariate_market_lifecycle",
    }
)
FILTERED = frozenset({"orderbook_delta", "ticker", "trade", "fill", "market_positions", "user_orders"})
UPDATABLE = {
    "orderbook_delta": frozenset({"add_markets", "delete_markets", "get_snapshot"}),
    "ticker": frozenset({"add_markets", "delete_markets"}),
    "fill": frozenset({"add_markets", "delete_markets"}),
    "user_orders": frozenset({"add_markets", "delete_markets"}),
    "trade": frozenset({"add_markets", "delete_markets"}),
    "market_positions": frozenset({"add_markets", "delete_markets"}),
}
ERRORS = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    9: "Authentication required",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    16: "Market not found",
    25: "Subscription buffer overflow",
    26: "Subscription market limit exceeded",
    27: "Too many requests",
}
# ``last_update_reason`` values Kalshi documents for ``user_order`` (PROTOCOL.md 2.8); the engine's
# own finer reasons (``Cancel``, ``ImmediateOrCancel``, ...) are not sent.
UPDATE_REASONS = frozenset(
    {"Decrease", "Amend", "MarginCancel", "SelfTradeCancel", "ExpiryCancel", "CloseCancel", "HaltCancel",
     "Trade", "PostOnlyCrossCancel", "ReduceOnlyCancel"}
)  # fmt: skip
DEFAULTS: dict[str, Any] = {
    "heartbeat_s": 10.0,
    "send_queue": 100_000,
    "max_markets": 500_000,
    "command_rate": 10_000,
    "allow_anonymous": False,
    "socket_sndbuf": 0,  # 0 keeps the OS default; tests shrink it to meet a slow reader sooner
}
FAULTS = (
    "drop",
    "close",
    "skip_seq",
    "repeat_seq",
    "reorder",
    "stall",
    "stop_pings",
    "resume_pings",
    "malformed",
    "truncated",
    "unknown_type",
    "delay",
    "channel_error",
)


@functools.lru_cache(maxsize=65536)
def market_id(ticker: str) -> str:
    """Return the sim's stable market UUID of a ticker (uuid5 of the ticker)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "centbook-sim:" + ticker))


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# Raw text frames (server to client: FIN + opcode 1, no mask) for the batched writer.
_FRAME_SHORT = [bytes((0x81, n)) for n in range(126)]
_WRITE_BATCH_BYTES = 256 * 1024  # one transport.write per batch of frames up to this size
_WRITE_HIGH_BYTES = 256 * 1024  # wait while the transport holds more than this (a slow reader)


def _frame_header(length: int) -> bytes:
    if length < 126:
        return _FRAME_SHORT[length]
    if length < 65536:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


# Pre-built pieces of ``orderbook_delta`` (byte for byte what ``_dumps`` makes of the message
# dict: ``test_sim_stream`` checks it), so a delta costs one bytes formatting, not dict + json.
_DELTA_FORMAT = b'%s%d%s%s","delta_fp":"%s%s%d}}'
_DELTA_TAIL = {True: b'","side":"yes","ts_ms":', False: b'","side":"no","ts_ms":'}
_price_bytes: list[bytes] = []


def _prices() -> list[bytes]:
    """Return ``format_price(bp)`` as bytes for every bp 0..MAX_BP (built on first use)."""
    if not _price_bytes:
        _price_bytes.extend(format_price(p).encode() for p in range(MAX_BP + 1))
    return _price_bytes


@functools.lru_cache(maxsize=8192)
def _size_bytes(size: int) -> bytes:
    return format_size(size).encode()


@functools.lru_cache(maxsize=65536)
def _delta_market_part(ticker: str) -> bytes:
    """Return the bytes between ``"seq":N`` and the price of a delta of ``ticker``."""
    return (
        b',"msg":{"market_ticker":' + json.dumps(ticker).encode()
        + b',"market_id":' + json.dumps(market_id(ticker)).encode() + b',"price_dollars":"'
    )  # fmt: skip


class CommandError(Exception):
    """A command failed with a WebSocket error code."""

    def __init__(self, code: int, detail: str = "", **extra: Any) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.extra = extra


class Subscription:
    """One ``sid`` of a connection: a channel, its markets (None = all) and its seq counter."""

    __slots__ = (
        "sid", "channel", "conn", "tickers", "seq", "use_yes_price", "skip_ack", "dead", "delta_head",
    )  # fmt: skip

    def __init__(self, sid: int, channel: str, conn: Connection, tickers: set[str] | None) -> None:
        self.sid = sid
        self.channel = channel
        self.conn = conn
        self.tickers = tickers
        self.seq = 0
        self.use_yes_price = False
        self.skip_ack = False
        self.dead = False
        self.delta_head = b'{"type":"orderbook_delta","sid":%d,"seq":' % sid

    def wants(self, ticker: str) -> bool:
        return self.tickers is None or ticker in self.tickers


class Connection:
    """One WebSocket client: its subscriptions, send queue, writer task and fault state."""

    def __init__(
        self, hub: StreamHub, conn_id: int, ws: web.WebSocketResponse, user_id: str | None, peer: Any
    ):
        self.hub = hub
        self.conn_id = conn_id
        self.ws = ws
        self.user_id = user_id
        self.peer = peer
        self.subs: dict[int, Subscription] = {}
        self.next_sid = 1
        # (payload, enqueued monotonic, sid, seq); payload is the UTF-8 JSON text of a message
        self.queue: deque[tuple[bytes, float, int, int]] = deque()
        self.wake = asyncio.Event()
        self.closed = False
        self.sent_seq: dict[int, int] = {}
        self.sent_messages = 0
        self.transport: asyncio.BaseTransport | None = None
        # faults
        self.stall_until = 0.0
        self.delay_s = 0.0
        self.pinging = True
        self.skip_next: set[int | None] = set()
        self.repeat_next: set[int | None] = set()
        self.reorder_next = False
        # command rate limit: a token bucket of command_rate tokens, refilled per second
        self.tokens = float(hub.settings["command_rate"])
        self.tokens_at = time.monotonic()

    # -- sending -----------------------------------------------------------------------------------
    def enqueue(self, obj: dict[str, Any], sub: Subscription | None = None, force: bool = False) -> None:
        """Serialise and queue a message; a sequenced one (``"seq"`` in it) takes its sid's next seq."""
        if self.closed:
            return
        seq = 0
        sid = 0
        if sub is not None:
            seq = self.take_seq(sub, "seq" in obj, force)
            if seq < 0:
                return
            sid = sub.sid
            if seq:
                obj["seq"] = seq
        self.push(_dumps(obj), sid, seq)

    def take_seq(self, sub: Subscription, sequenced: bool, force: bool = False) -> int:
        """Reserve room for one message of ``sub``; return its seq (0: unsequenced, -1: not sent).

        A sequenced message takes the sid's next seq here (an injected ``skip_seq`` jumps one).
        When the send queue is full the subscription ends with error 25 and -1 is returned.
        """
        if sub.dead:
            return -1
        seq = 0
        if sequenced:
            sub.seq += 1
            sid = sub.sid
            if sid in self.skip_next or (None in self.skip_next and sub.channel in SEQUENCED):
                self.skip_next.discard(sid)
                self.skip_next.discard(None)
                sub.seq += 1
                self.hub.log("ws_seq_skipped", conn=self.conn_id, sid=sid, skipped=sub.seq - 1)
            seq = sub.seq
        if not force and len(self.queue) >= self.hub.settings["send_queue"]:
            self.hub.log("ws_buffer_overflow", conn=self.conn_id, sid=sub.sid, queued=len(self.queue))
            self.end_subscription(sub, 25)
            return -1
        return seq

    def push(self, payload: bytes, sid: int = 0, seq: int = 0) -> None:
        """Queue serialised message text (after :meth:`take_seq` for a subscription's message)."""
        now = time.monotonic()
        self.queue.append((payload, now, sid, seq))
        if seq and self.repeat_next and (sid in self.repeat_next or None in self.repeat_next):
            self.repeat_next.discard(sid)
            self.repeat_next.discard(None)
            self.queue.append((payload, now, sid, seq))
            self.hub.log("ws_seq_repeated", conn=self.conn_id, sid=sid, seq=seq)
        self.wake.set()

    def enqueue_raw(self, payload: bytes) -> None:
        """Queue a frame's text as given (malformed or unknown messages of the faults)."""
        self.push(payload)

    def end_subscription(self, sub: Subscription, code: int) -> None:
        """End a subscription with a terminal error (10 or 25), sent past the queue bound."""
        if sub.dead:
            return
        err: dict[str, Any] = {
            "id": 0,
            "type": "error",
            "sid": sub.sid,
            "msg": {"code": code, "msg": ERRORS[code]},
        }
        if sub.channel in SEQUENCED:
            err["seq"] = 0
        self.enqueue(err, sub, force=True)
        sub.dead = True
        self.hub.remove_sub(sub)
        self.subs.pop(sub.sid, None)

    async def writer(self) -> None:
        """Send the queue in order, applying stall, delay and reorder faults on the way out.

        Without permessage-deflate, frames are built here and each batch goes out in one
        ``transport.write`` (aiohttp's ``send_str`` costs a syscall and a coroutine step per
        message); pings and the close frame are still aiohttp's, written whole between batches.
        With compression negotiated every message goes through ``send_str``.
        """
        ws = self.ws
        queue = self.queue
        sent_seq = self.sent_seq
        raw = self.transport if not ws.compress else None
        try:
            while not self.closed:
                if not queue:
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                now = time.monotonic()
                if self.stall_until > now:
                    await asyncio.sleep(min(self.stall_until - now, 0.05))
                    continue
                delay_s = self.delay_s
                if delay_s:
                    due = queue[0][1] + delay_s
                    if due > now:
                        await asyncio.sleep(due - now)
                        continue
                if self.reorder_next and len(queue) >= 2:
                    self.reorder_next = False
                    first = queue.popleft()
                    second = queue.popleft()
                    queue.appendleft(first)
                    queue.appendleft(second)
                    self.hub.log("ws_reordered", conn=self.conn_id, first_seq=first[3], second_seq=second[3])
                if not isinstance(raw, asyncio.WriteTransport):
                    payload, _, sid, seq = queue.popleft()
                    await ws.send_str(payload.decode())
                    self.sent_messages += 1
                    if seq:
                        sent_seq[sid] = seq
                    continue
                if raw.is_closing():
                    break
                parts: list[bytes] = []
                size = 0
                while queue and size < _WRITE_BATCH_BYTES:
                    if delay_s and queue[0][1] + delay_s > now:
                        break
                    payload, _, sid, seq = queue.popleft()
                    parts.append(_frame_header(len(payload)))
                    parts.append(payload)
                    size += len(payload)
                    if seq:
                        sent_seq[sid] = seq
                raw.write(b"".join(parts))
                self.sent_messages += len(parts) // 2
                # flow control: a reader that falls behind fills the kernel buffer, then the
                # transport's; wait for it to drain (the send queue then grows, ending in error 25)
                while raw.get_write_buffer_size() > _WRITE_HIGH_BYTES and not raw.is_closing():
                    await asyncio.sleep(0.002)
                if queue:
                    await asyncio.sleep(0)  # let the engine and other connections run between batches
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            self.closed = True

    async def pinger(self) -> None:
        try:
            while not self.closed:
                await asyncio.sleep(self.hub.settings["heartbeat_s"])
                if self.pinging and not self.closed:
                    await self.ws.ping(b"heartbeat")
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass

    def rate_ok(self) -> bool:
        rate = self.hub.settings["command_rate"]
        now = time.monotonic()
        self.tokens = min(float(rate), self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def state(self) -> dict[str, Any]:
        return {
            "conn_id": self.conn_id,
            "user_id": self.user_id,
            "peer_port": self.peer[1] if isinstance(self.peer, tuple) else None,
            "queued": len(self.queue),
            "sent_messages": self.sent_messages,
            "subscriptions": {
                str(s.sid): {
                    "channel": s.channel,
                    "seq": s.seq,
                    "sent_seq": self.sent_seq.get(s.sid, 0),
                    "market_tickers": sorted(s.tickers) if s.tickers is not None else None,
                }
                for s in self.subs.values()
            },
        }


class StreamHub:
    """Every WebSocket connection of one sim and the publishing of engine events to them.

    Parameters
    ----------
    exchange : Exchange
        The engine; its ``config["streams"]`` overrides :data:`DEFAULTS`.
    keys : KeyRing
        Verifies the signed upgrade requests.
    log : callable
        ``log(kind, **data)`` records a stream fault or admin action in the sim's fault log.
    sockets : set of aiohttp.web.WebSocketResponse
        The sim's registry of open sockets; the hub adds each socket it serves and removes it
        when the socket ends, so the owner can close them all at shutdown.
    flow : Flow
        The synthetic order flow, driven through :class:`StreamAdmin` and ``/admin/flow``; its
        owner starts and stops it.
    """

    def __init__(
        self,
        exchange: Exchange,
        keys: KeyRing,
        log: Callable[..., None],
        sockets: MutableSet[web.WebSocketResponse],
        flow: Flow,
    ) -> None:
        self.exchange = exchange
        self.keys = keys
        self.log = log
        self.sockets = sockets
        self.flow = flow
        self.settings: dict[str, Any] = {**DEFAULTS, **self.exchange.config.get("streams", {})}
        self.connections: dict[int, Connection] = {}
        self._conn_ids = 0
        self.book_subs: dict[str, list[Subscription]] = {}
        self.channel_subs: dict[str, list[Subscription]] = {c: [] for c in CHANNELS}
        self._dirty: set[str] = set()
        self._flush_scheduled = False
        self._ticker_sent: dict[str, tuple[Any, ...]] = {}
        self._notional: dict[str, int] = {}
        self._last_size: dict[str, int] = {}
        self._volumes: dict[tuple[str, int, str], int] = {}
        # the engine builds no event nobody listens to: book deltas come through the fast hook,
        # order and position events only while a user_orders / market_positions sid exists
        self.exchange.subscribe(
            self._on_event, kinds=("trade", "fill", "lifecycle", "order_group", "exchange_status")
        )
        self.exchange.on_book_delta(self._on_delta)
        self._private_unsub: dict[str, Any] = {}
        self._price_bytes = _prices()
        self.admin = StreamAdmin(self)

    def attach(self, app: web.Application) -> None:
        """Add the ``/admin/streams`` and ``/admin/flow`` routes to ``app`` and end every
        connection's writer when ``app`` shuts down."""
        app.on_shutdown.append(self._shutdown)
        self._routes(app.router)

    async def _shutdown(self, app: web.Application) -> None:
        for conn in list(self.connections.values()):
            conn.closed = True
            conn.wake.set()

    # -- the socket --------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one WebSocket connection (authenticated upgrade, then commands until it closes)."""
        user_id: str | None
        if "KALSHI-ACCESS-KEY" not in request.headers and self.settings["allow_anonymous"]:
            user_id = None
        else:
            user_id = self.keys.verify(request.headers, "GET", WS_PATH, self.exchange.clock.now_ms())
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=1 << 20)
        await ws.prepare(request)
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None and self.settings["socket_sndbuf"]:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(self.settings["socket_sndbuf"]))
        self._conn_ids += 1
        conn = Connection(
            self,
            self._conn_ids,
            ws,
            user_id,
            transport.get_extra_info("peername") if transport is not None else None,
        )
        conn.transport = transport
        self.connections[conn.conn_id] = conn
        self.sockets.add(ws)
        loop = asyncio.get_running_loop()
        writer = loop.create_task(conn.writer())
        pinger = loop.create_task(conn.pinger())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.command(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    conn.enqueue({"id": 0, "type": "error", "msg": {"code": 1, "msg": ERRORS[1]}})
                if conn.closed:
                    break
        finally:
            conn.closed = True
            conn.wake.set()
            pinger.cancel()
            writer.cancel()
            for sub in list(conn.subs.values()):
                self.remove_sub(sub)
            self.connections.pop(conn.conn_id, None)
            self.sockets.discard(ws)
        return ws

    # -- subscriptions index -----------------------------------------------------------------------
    def add_sub(self, sub: Subscription) -> None:
        self.channel_subs[sub.channel].append(sub)
        if sub.channel == "orderbook_delta":
            for t in sub.tickers or ():
                self.book_subs.setdefault(t, []).append(sub)
        self._listen_private(sub.channel)

    def remove_sub(self, sub: Subscription) -> None:
        subs = self.channel_subs[sub.channel]
        if sub in subs:
            subs.remove(sub)
        if sub.channel == "orderbook_delta":
            for t in list(sub.tickers or ()):
                self._unindex_book(sub, t)
        self._listen_private(sub.channel)

    def _listen_private(self, channel: str) -> None:
        """Listen to the engine's order / position events exactly while the channel has a sid."""
        kind = {"user_orders": "order", "market_positions": "position"}.get(channel)
        if kind is None:
            return
        listening = channel in self._private_unsub
        if self.channel_subs[channel] and not listening:
            self._private_unsub[channel] = self.exchange.subscribe(self._on_event, kinds=(kind,))
        elif not self.channel_subs[channel] and listening:
            self._private_unsub.pop(channel)()

    def _unindex_book(self, sub: Subscription, ticker: str) -> None:
        lst = self.book_subs.get(ticker)
        if lst and sub in lst:
            lst.remove(sub)
            if not lst:
                del self.book_subs[ticker]

    # -- commands ----------------------------------------------------------------------------------
    def command(self, conn: Connection, text: str) -> None:
        """Execute one command frame; replies are queued on the connection."""
        cmd_id: Any = 0
        try:
            try:
                cmd = json.loads(text)
            except ValueError:
                raise CommandError(1, "invalid JSON") from None
            if not isinstance(cmd, dict):
                raise CommandError(1, "a command is a JSON object")
            cmd_id = cmd.get("id", 0)
            if isinstance(cmd_id, bool) or not isinstance(cmd_id, int) or cmd_id < 0:
                cmd_id = 0
                raise CommandError(1, "id must be a non-negative integer")
            if not conn.rate_ok():
                raise CommandError(27)
            name = cmd.get("cmd")
            handler = {
                "subscribe": self._subscribe,
                "unsubscribe": self._unsubscribe,
                "update_subscription": self._update,
                "list_subscriptions": self._list,
            }.get(name)  # type: ignore[arg-type]
            if handler is None:
                raise CommandError(5, f"unknown command {name!r}")
            params = cmd.get("params")
            if name != "list_subscriptions":
                if params is None:
                    raise CommandError(2)
                if not isinstance(params, dict):
                    raise CommandError(1, "params must be an object")
            handler(conn, cmd_id, params or {})
        except CommandError as exc:
            body: dict[str, Any] = {"code": exc.code, "msg": ERRORS.get(exc.code, "error")}
            if exc.detail:
                body["msg"] = f"{body['msg']}: {exc.detail}"
            sid = exc.extra.pop("sid", None)
            body.update(exc.extra)
            reply: dict[str, Any] = {"id": cmd_id, "type": "error", "msg": body}
            if sid is not None:
                reply["sid"] = sid
            conn.enqueue(reply)

    def _tickers(self, params: dict[str, Any], *, ids_ok: bool) -> list[str] | None:
        out: list[str] = []
        single = params.get("market_ticker")
        many = params.get("market_tickers")
        if single is not None:
            if not isinstance(single, str) or not single:
                raise CommandError(11, "market_ticker must be a string")
            out.append(single)
        if many is not None:
            if not isinstance(many, list) or not all(isinstance(t, str) and t for t in many):
                raise CommandError(11, "market_tickers must be an array of strings")
            out.extend(many)
        ids: list[Any] = []
        if params.get("market_id") is not None:
            ids.append(params["market_id"])
        if params.get("market_ids") is not None:
            if not isinstance(params["market_ids"], list):
                raise CommandError(11, "market_ids must be an array")
            ids.extend(params["market_ids"])
        if ids:
            if not ids_ok:
                raise CommandError(11, "market ids are accepted by the ticker channel only")
            by_id = {market_id(t): t for t in self.exchange.markets}
            for mid in ids:
                if not isinstance(mid, str) or mid not in by_id:
                    raise CommandError(16, f"market id {mid!r}", market_id=str(mid))
                out.append(by_id[mid])
        if single is None and many is None and not ids:
            return None
        seen: dict[str, None] = {}
        for t in out:
            if t not in self.exchange.markets:
                raise CommandError(16, t, market_ticker=t)
            seen[t] = None
        return list(seen)

    def _subscribe(self, conn: Connection, cmd_id: int, params: dict[str, Any]) -> None:
        channels = params.get("channels")
        if not channels:
            raise CommandError(3)
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise CommandError(11, "channels must be an array of strings")
        for ch in channels:
            if ch not in CHANNELS:
                raise CommandError(8, f"{ch!r}" + (" is not simulated" if ch in NOT_SIMULATED else ""))
            if ch in PRIVATE and conn.user_id is None:
                raise CommandError(9, ch)
        tickers = self._tickers(params, ids_ok=channels == ["ticker"] or set(channels) <= {"ticker"})
        for ch in channels:
            if ch == "orderbook_delta" and not tickers:
                raise CommandError(14)
        if tickers is not None and len(tickers) > self.settings["max_markets"]:
            raise CommandError(26, f"at most {self.settings['max_markets']} markets per subscription")
        for ch in dict.fromkeys(channels):
            flt = set(tickers) if (tickers is not None and ch in FILTERED) else None
            existing = next((s for s in conn.subs.values() if s.channel == ch), None)
            if existing is not None:
                self._add_markets(conn, existing, cmd_id, tickers or [], params, reply=True)
                continue
            sub = Subscription(conn.next_sid, ch, conn, flt)
            conn.next_sid += 1
            sub.use_yes_price = bool(params.get("use_yes_price", False)) and ch == "orderbook_delta"
            sub.skip_ack = bool(params.get("skip_ticker_ack", False))
            conn.subs[sub.sid] = sub
            self.add_sub(sub)
            conn.enqueue({"id": cmd_id, "type": "subscribed", "msg": {"channel": ch, "sid": sub.sid}})
            if ch == "orderbook_delta":
                for t in tickers or ():
                    self._snapshot(sub, t)
            elif ch == "ticker" and params.get("send_initial_snapshot"):
                for t in tickers if tickers is not None else list(self.exchange.markets):
                    conn.enqueue(self._ticker_msg(sub, self.exchange.markets[t]), sub)

    def _add_markets(
        self,
        conn: Connection,
        sub: Subscription,
        cmd_id: int,
        tickers: list[str],
        params: dict[str, Any],
        reply: bool,
    ) -> None:
        if sub.tickers is None:
            # an all-markets subscription already has every market
            if reply:
                conn.enqueue(self._ok(sub, cmd_id), sub)
            return
        new = [t for t in tickers if t not in sub.tickers]
        if len(sub.tickers) + len(new) > self.settings["max_markets"]:
            raise CommandError(
                26, f"at most {self.settings['max_markets']} markets per subscription", sid=sub.sid
            )
        for t in new:
            sub.tickers.add(t)
            if sub.channel == "orderbook_delta":
                self.book_subs.setdefault(t, []).append(sub)
        conn.enqueue(self._ok(sub, cmd_id), sub)
        if sub.channel == "orderbook_delta":
            for t in new:
                self._snapshot(sub, t)
        elif sub.channel == "ticker" and params.get("send_initial_snapshot"):
            for t in new:
                conn.enqueue(self._ticker_msg(sub, self.exchange.markets[t]), sub)

    def _ok(self, sub: Subscription, cmd_id: int) -> dict[str, Any]:
        out: dict[str, Any] = {"id": cmd_id, "sid": sub.sid, "seq": 0, "type": "ok"}
        if not sub.skip_ack and sub.tickers is not None:
            out["msg"] = {"market_tickers": sorted(sub.tickers)}
        return out

    def _unsubscribe(self, conn: Connection, cmd_id: int, params: dict[str, Any]) -> None:
        sids = params.get("sids")
        if not sids:
            raise CommandError(4)
        if not isinstance(sids, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in sids
        ):
            raise CommandError(11, "sids must be an array of integers")
        for sid in sids:
            sub = conn.subs.get(sid)
            if sub is None:
                conn.enqueue(
                    {"id": cmd_id, "type": "error", "sid": sid, "msg": {"code": 7, "msg": ERRORS[7]}}
                )
                continue
            conn.enqueue({"id": cmd_id, "sid": sid, "seq": 0, "type": "unsubscribed"}, sub)
            self.remove_sub(sub)
            sub.dead = True
            del conn.subs[sid]

    def _update(self, conn: Connection, cmd_id: int, params: dict[str, Any]) -> None:
        sid: Any = params.get("sid")
        sids = params.get("sids")
        if sids is not None:
            if sid is not None or not isinstance(sids, list) or len(sids) != 1:
                raise CommandError(12)
            sid = sids[0]
        if sid is None:
            raise CommandError(12)
        if isinstance(sid, bool) or not isinstance(sid, int):
            raise CommandError(11, "sid must be an integer")
        action = params.get("action")
        if not action:
            raise CommandError(15)
        sub = conn.subs.get(sid)
        if sub is None:
            raise CommandError(7, sid=sid)
        if action not in UPDATABLE.get(sub.channel, ()):
            raise CommandError(13, f"{action!r} on {sub.channel}", sid=sid)
        if action == "get_snapshot":
            if "market_ticker" in params or "market_id" in params or "market_ids" in params:
                raise CommandError(11, "get_snapshot takes market_tickers only", sid=sid)
            tickers = self._tickers(params, ids_ok=False)
            if not tickers:
                raise CommandError(14, sid=sid)
            missing = [t for t in tickers if not sub.wants(t)]
            if missing:
                raise CommandError(
                    11, f"not subscribed: {', '.join(missing)}", sid=sid, market_tickers=missing
                )
            for t in tickers:
                self._snapshot(sub, t, cmd_id)
            return
        tickers = self._tickers(params, ids_ok=sub.channel == "ticker")
        if not tickers:
            raise CommandError(14, sid=sid)
        if action == "add_markets":
            self._add_markets(conn, sub, cmd_id, tickers, params, reply=True)
            return
        # delete_markets
        if sub.tickers is None:
            raise CommandError(13, "delete_markets on an all-markets subscription", sid=sid)
        for t in tickers:
            if t in sub.tickers:
                sub.tickers.discard(t)
                if sub.channel == "orderbook_delta":
                    self._unindex_book(sub, t)
        conn.enqueue(self._ok(sub, cmd_id), sub)

    def _list(self, conn: Connection, cmd_id: int, params: dict[str, Any]) -> None:
        conn.enqueue(
            {
                "id": cmd_id,
                "type": "ok",
                "msg": [
                    {"channel": s.channel, "sid": s.sid}
                    for s in sorted(conn.subs.values(), key=lambda s: s.sid)
                ],
            }
        )

    # -- message bodies ----------------------------------------------------------------------------
    def _snapshot(self, sub: Subscription, ticker: str, cmd_id: int | None = None) -> None:
        market = self.exchange.markets[ticker]
        msg: dict[str, Any] = {"market_ticker": ticker, "market_id": market_id(ticker)}
        yes = [[format_price(p), format_size(s)] for p, s in reversed(market.depth("bid"))]
        asks = market.depth("ask")  # ascending YES price
        if sub.use_yes_price:
            no = [[format_price(p), format_size(s)] for p, s in asks]
        else:
            no = [[format_price(MAX_BP - p), format_size(s)] for p, s in reversed(asks)]
        if yes:
            msg["yes_dollars_fp"] = yes
        if no:
            msg["no_dollars_fp"] = no
        out: dict[str, Any] = {"type": "orderbook_snapshot", "sid": sub.sid, "seq": 0, "msg": msg}
        if cmd_id is not None:
            out["id"] = cmd_id
        sub.conn.enqueue(out, sub)

    def _ticker_state(self, m: Market) -> tuple[Any, ...]:
        bid, ask = m.best_bid(), m.best_ask()
        last = m.last_price_bp or 0
        return (
            last,
            bid if bid is not None else 0,
            ask if ask is not None else MAX_BP,
            m.level_size("bid", bid) if bid is not None else 0,
            m.level_size("ask", ask) if ask is not None else 0,
            m.volume,
            m.open_interest,
            self._last_size.get(m.ticker, 0),
        )

    def _ticker_msg(
        self, sub: Subscription, m: Market, state: tuple[Any, ...] | None = None
    ) -> dict[str, Any]:
        last, bid, ask, bid_size, ask_size, volume, oi, last_size = state or self._ticker_state(m)
        now_ms = self.exchange.clock.now_ms()
        from centbook.sim.wire import iso

        return {
            "type": "ticker",
            "sid": sub.sid,
            "msg": {
                "market_ticker": m.ticker,
                "market_id": market_id(m.ticker),
                "price_dollars": format_price(last),
                "yes_bid_dollars": format_price(bid),
                "yes_ask_dollars": format_price(ask),
                "volume_fp": format_size(volume),
                "open_interest_fp": format_size(oi),
                "dollar_volume": self._notional.get(m.ticker, 0) // 1_000_000,
                "dollar_open_interest": oi * last // 1_000_000,
                "yes_bid_size_fp": format_size(bid_size),
                "yes_ask_size_fp": format_size(ask_size),
                "last_trade_size_fp": format_size(last_size),
                "ts": now_ms // 1000,
                "ts_ms": now_ms,
                "time": iso(now_ms * 1_000_000),
            },
        }

    def _flush_tickers(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        subs = self.channel_subs["ticker"]
        for t in dirty:
            m = self.exchange.markets[t]
            state = self._ticker_state(m)
            if self._ticker_sent.get(t) == state:
                continue
            self._ticker_sent[t] = state
            for sub in subs:
                if sub.wants(t):
                    sub.conn.enqueue(self._ticker_msg(sub, m, state), sub)

    def _mark_dirty(self, ticker: str) -> None:
        if not self.channel_subs["ticker"]:
            return
        self._dirty.add(ticker)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self._flush_tickers)
            except RuntimeError:
                self._flush_tickers()

    # -- engine events -----------------------------------------------------------------------------
    def _on_event(self, ev: EngineEvent) -> None:
        kind = ev.kind
        data = ev.data
        if kind == "trade":
            self._on_trade(ev)
        elif kind == "fill":
            fill = data["fill"]
            key = (fill.user_id, fill.subaccount, fill.ticker)
            self._volumes[key] = self._volumes.get(key, 0) + fill.size
            self._private("fill", ev, fill.ticker, self._fill_msg)
        elif kind == "order":
            order = data["order"]
            self._private("user_orders", ev, order.ticker, self._order_msg)
        elif kind == "position":
            self._private("market_positions", ev, data["ticker"], self._position_msg)
        elif kind == "order_group":
            self._private("order_group_updates", ev, None, self._group_msg)
        elif kind == "lifecycle":
            self._on_lifecycle(ev)

    def _on_delta(self, market: Market, order: Order, delta: int, cause: Order, ts_ns: int) -> None:
        """Publish one book level change to every ``orderbook_delta`` sid of its market."""
        ticker = market.ticker
        subs = self.book_subs.get(ticker)
        if subs:
            prices = self._price_bytes
            yes_side = order.side == "bid"
            price_bp = order.price_bp
            size = _size_bytes(delta)
            tail = _DELTA_TAIL[yes_side]
            middle = _delta_market_part(ticker)
            ts_ms = ts_ns // 1_000_000
            cause_user = cause.user_id
            bound = self.settings["send_queue"]
            now = time.monotonic()
            for sub in tuple(subs):
                conn = sub.conn
                if conn.closed or sub.dead:
                    continue
                price = price_bp if yes_side or sub.use_yes_price else MAX_BP - price_bp
                if cause_user == conn.user_id:
                    # the subscriber's own order: annotated, built the general way
                    conn.enqueue(self._delta_msg(sub, ticker, yes_side, price, delta, ts_ms, cause), sub)
                    continue
                queue = conn.queue
                # the common case inline; armed seq faults or a full queue take the general path
                fast = not (conn.skip_next or conn.repeat_next) and len(queue) < bound
                seq = sub.seq + 1 if fast else conn.take_seq(sub, True)
                if seq < 0:
                    continue
                payload = _DELTA_FORMAT % (sub.delta_head, seq, middle, prices[price], size, tail, ts_ms)
                if fast:
                    sub.seq = seq
                    queue.append((payload, now, sub.sid, seq))
                    conn.wake.set()
                else:
                    conn.push(payload, sub.sid, seq)
        if self.channel_subs["ticker"]:
            self._mark_dirty(ticker)

    def _delta_msg(
        self,
        sub: Subscription,
        ticker: str,
        yes_side: bool,
        price_bp: int,
        delta: int,
        ts_ms: int,
        cause: Order | None = None,
    ) -> dict[str, Any]:
        """Return one ``orderbook_delta`` message (``price_bp`` already in the sid's terms)."""
        msg: dict[str, Any] = {
            "market_ticker": ticker,
            "market_id": market_id(ticker),
            "price_dollars": format_price(price_bp),
            "delta_fp": format_size(delta),
            "side": "yes" if yes_side else "no",
            "ts_ms": ts_ms,
        }
        if cause is not None:
            if cause.client_order_id:
                msg["client_order_id"] = cause.client_order_id
            if cause.subaccount:
                msg["subaccount"] = cause.subaccount
        return {"type": "orderbook_delta", "sid": sub.sid, "seq": 0, "msg": msg}

    def _on_trade(self, ev: EngineEvent) -> None:
        trade = ev.data["trade"]
        self._notional[trade.ticker] = self._notional.get(trade.ticker, 0) + trade.price_bp * trade.size
        self._last_size[trade.ticker] = trade.size
        self._mark_dirty(trade.ticker)
        subs = [s for s in self.channel_subs["trade"] if s.wants(trade.ticker)]
        if not subs:
            return
        outcome = "yes" if trade.taker_side == "bid" else "no"
        msg = {
            "trade_id": trade.trade_id,
            "market_ticker": trade.ticker,
            "yes_price_dollars": format_price(trade.price_bp),
            "no_price_dollars": format_price(MAX_BP - trade.price_bp),
            "count_fp": format_size(trade.size),
            "taker_side": outcome,
            "taker_outcome_side": outcome,
            "taker_book_side": trade.taker_side,
            "is_block_trade": False,
            "ts": trade.ts_ns // 1_000_000_000,
            "ts_ms": trade.ts_ns // 1_000_000,
        }
        for sub in subs:
            sub.conn.enqueue({"type": "trade", "sid": sub.sid, "seq": 0, "msg": msg}, sub)

    def _private(self, channel: str, ev: EngineEvent, ticker: str | None, build: Any) -> None:
        subs = self.channel_subs[channel]
        if not subs:
            return
        msg = None
        for sub in list(subs):
            if sub.conn.user_id != ev.user_id or (ticker is not None and not sub.wants(ticker)):
                continue
            if msg is None:
                msg = build(ev)
            out: dict[str, Any] = {"type": CHANNELS[channel], "sid": sub.sid, "msg": msg}
            if channel in SEQUENCED:
                out["seq"] = 0
            sub.conn.enqueue(out, sub)

    def _fill_msg(self, ev: EngineEvent) -> dict[str, Any]:
        f = ev.data["fill"]
        outcome = "yes" if f.side == "bid" else "no"
        msg: dict[str, Any] = {
            "trade_id": f.fill_id,
            "order_id": f.order_id,
            "market_ticker": f.ticker,
            "exchange_index": f.exchange_index,
            "is_taker": f.is_taker,
            "side": outcome,
            "yes_price_dollars": format_price(f.price_bp),
            "count_fp": format_size(f.size),
            "fee_cost": format_money(f.fee_micro),
            "action": "buy",
            "ts": f.ts_ns // 1_000_000_000,
            "ts_ms": f.ts_ns // 1_000_000,
            "post_position_fp": format_size(f.post_position),
            "purchased_side": outcome,
            "outcome_side": outcome,
            "book_side": f.side,
        }
        if f.client_order_id:
            msg["client_order_id"] = f.client_order_id
        if f.subaccount:
            msg["subaccount"] = f.subaccount
        return msg

    def _order_msg(self, ev: EngineEvent) -> dict[str, Any]:
        from centbook.sim.wire import iso

        o = ev.data["order"]
        outcome = "yes" if o.side == "bid" else "no"
        msg: dict[str, Any] = {
            "order_id": o.order_id,
            "user_id": o.user_id,
            "ticker": o.ticker,
            "exchange_index": o.exchange_index,
            "status": o.status,
            "side": outcome,
            "is_yes": outcome == "yes",
            "outcome_side": outcome,
            "book_side": o.side,
            "yes_price_dollars": format_price(o.price_bp),
            "fill_count_fp": format_size(o.filled),
            "remaining_count_fp": format_size(o.remaining),
            "initial_count_fp": format_size(o.initial),
            "taker_fill_cost_dollars": format_money(o.taker_cost_micro),
            "maker_fill_cost_dollars": format_money(o.maker_cost_micro),
            "taker_fees_dollars": format_money(o.taker_fees_micro),
            "maker_fees_dollars": format_money(o.maker_fees_micro),
            "client_order_id": o.client_order_id,
            "self_trade_prevention_type": o.stp,
            "created_time": iso(o.created_ns),
            "created_ts_ms": o.created_ns // 1_000_000,
            "last_updated_ts_ms": o.updated_ns // 1_000_000,
            "subaccount_number": o.subaccount,
        }
        if o.order_group_id:
            msg["order_group_id"] = o.order_group_id
        if o.expiration_s is not None:
            msg["expiration_time"] = iso(o.expiration_s * 1_000_000_000)
            msg["expiration_ts_ms"] = o.expiration_s * 1000
        if o.last_update_reason in UPDATE_REASONS:
            msg["last_update_reason"] = o.last_update_reason
        return msg

    def _position_msg(self, ev: EngineEvent) -> dict[str, Any]:
        d = ev.data
        key = (ev.user_id or "", d["subaccount"], d["ticker"])
        msg: dict[str, Any] = {
            "user_id": ev.user_id,
            "market_ticker": d["ticker"],
            "position_fp": format_size(d["position"]),
            "position_cost_dollars": format_money(d.get("cost_micro", 0)),
            "realized_pnl_dollars": format_money(d.get("realized_micro", 0)),
            "fees_paid_dollars": format_money(d.get("fees_micro", 0)),
            "position_fee_cost_dollars": format_money(d.get("fees_micro", 0)),
            "volume_fp": format_size(self._volumes.get(key, 0)),
        }
        if d["subaccount"]:
            msg["subaccount"] = d["subaccount"]
        return msg

    def _group_msg(self, ev: EngineEvent) -> dict[str, Any]:
        d = ev.data
        msg: dict[str, Any] = {
            "event_type": d["event_type"],
            "order_group_id": d["order_group_id"],
            "ts_ms": ev.ts_ns // 1_000_000,
        }
        if d.get("contracts_limit") is not None and d["event_type"] in ("created", "limit_updated"):
            msg["contracts_limit_fp"] = format_size(d["contracts_limit"])
        return msg

    def _on_lifecycle(self, ev: EngineEvent) -> None:
        d = ev.data
        ticker = d["ticker"]
        channel = "multivariate_market_lifecycle" if ticker.startswith("KXMVE") else "market_lifecycle_v2"
        self._mark_dirty(ticker)
        subs = self.channel_subs[channel]
        if not subs:
            return
        event_type = d["event_type"]
        msg: dict[str, Any] = {"market_ticker": ticker, "event_type": event_type}
        market = self.exchange.markets.get(ticker)
        if event_type in ("activated", "deactivated"):
            msg["is_deactivated"] = event_type == "deactivated"
        elif event_type == "determined":
            msg["result"] = d.get("result", "")
            msg["determination_ts"] = ev.ts_ns // 1_000_000_000
            value = market.settlement_value_bp if market is not None else None
            if value is not None:
                msg["settlement_value"] = format_price(value)
        elif event_type == "settled":
            msg["settled_ts"] = ev.ts_ns // 1_000_000_000
        elif event_type == "price_level_structure_updated" and market is not None:
            msg["price_level_structure"] = market.price_level_structure
            msg["price_ranges"] = market.price_ranges
        elif event_type == "close_date_updated" and market is not None:
            msg["close_ts"] = market.close_s
        for sub in list(subs):
            sub.conn.enqueue({"type": channel, "sid": sub.sid, "seq": 0, "msg": msg}, sub)

    # -- admin HTTP --------------------------------------------------------------------------------
    def _routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/admin/streams", self._http_state)
        r.add_post("/admin/streams/faults", self._http_fault)
        r.add_post("/admin/streams/limits", self._http_limits)
        r.add_get("/admin/flow", self._http_flow_state)
        r.add_post("/admin/flow", self._http_flow)

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise SimError(400, "bad_request", "bad request", "body is not JSON") from None
        if not isinstance(body, dict):
            raise SimError(400, "bad_request", "bad request", "body must be an object")
        return body

    async def _http_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.admin.state())

    async def _http_fault(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        fault = body.pop("fault", None)
        try:
            hit = self.admin.inject(str(fault), **body)
        except (TypeError, ValueError) as exc:
            raise SimError(400, "bad_request", "bad request", str(exc)) from None
        return web.json_response({"connections": hit})

    async def _http_limits(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        try:
            self.admin.set_limits(**body)
        except (TypeError, ValueError) as exc:
            raise SimError(400, "bad_request", "bad request", str(exc)) from None
        return web.json_response({k: self.settings[k] for k in DEFAULTS})

    async def _http_flow_state(self, request: web.Request) -> web.Response:
        return web.json_response({**self.flow.state(), "streams": self.admin.state()})

    async def _http_flow(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        action = body.get("action")
        try:
            if action == "pause":
                self.admin.pause_flow()
            elif action == "resume":
                self.admin.resume_flow()
            elif action == "rate":
                self.admin.set_flow_rate(float(body["rate"]))
            elif action == "lifecycle":
                self.admin.lifecycle(body["entry"])
            elif action == "start":
                self.admin.start_flow(float(body["rate"]) if "rate" in body else None)
            else:
                raise ValueError("action: pause, resume, rate (with rate), lifecycle (with entry) or start")
        except (KeyError, TypeError, ValueError) as exc:
            raise SimError(400, "bad_request", "bad request", str(exc)) from None
        return web.json_response({**self.flow.state(), "streams": self.admin.state()})


class StreamAdmin:
    """In-process control of the WebSocket side and the order flow (``/admin/streams``, ``/admin/flow``).

    Faults take ``conn`` (a connection id from :meth:`state`; None = every open connection) and,
    where it applies, ``sid`` (None = the next sequenced message of any subscription).
    """

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub

    # -- state -------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Return every connection with its subscriptions: ``seq`` (last assigned) and ``sent_seq``.

        Returns
        -------
        dict
            ``{"connections": [{conn_id, user_id, peer_port, queued, sent_messages,
            subscriptions: {sid: {channel, seq, sent_seq, market_tickers}}}], "flow": {...}}``.
        """
        return {
            "connections": [c.state() for c in self.hub.connections.values()],
            "flow": self.hub.flow.state(),
        }

    def seqs(self) -> dict[int, dict[int, int]]:
        """Return ``{conn_id: {sid: last seq assigned}}`` (what a client has once it read everything)."""
        return {c.conn_id: {s.sid: s.seq for s in c.subs.values()} for c in self.hub.connections.values()}

    def connection_ids(self) -> list[int]:
        """Return the ids of the open connections, oldest first."""
        return sorted(self.hub.connections)

    # -- flow --------------------------------------------------------------------------------------
    def start_flow(self, rate: float | None = None) -> None:
        """Start synthetic order flow (if not running), optionally at ``rate`` updates per second."""
        if rate is not None:
            self.hub.flow.rate = rate
        self.hub.flow.start()
        self.hub.log("flow_started", rate=self.hub.flow.rate)

    def pause_flow(self) -> dict[int, dict[int, int]]:
        """Pause the flow at once (no flow order is placed after this returns); return :meth:`seqs`."""
        self.hub.flow.paused = True
        self.hub.log("flow_paused")
        return self.seqs()

    def resume_flow(self) -> None:
        """Resume a paused flow."""
        self.hub.flow.paused = False
        self.hub.log("flow_resumed")

    def set_flow_rate(self, rate: float) -> None:
        """Set the flow rate (flow actions, roughly book updates, per second, all markets)."""
        if rate < 0:
            raise ValueError("rate must be >= 0")
        self.hub.flow.rate = rate
        self.hub.log("flow_rate", rate=rate)

    def lifecycle(self, entry: dict[str, Any]) -> None:
        """Apply one flow schedule entry now (``{"ticker", "action", ...}``: open, pause, resume,
        close, settle with ``result``, price_structure with ``price_level_structure`` /
        ``price_ranges``, announced ``race_ticks`` flow ticks later)."""
        self.hub.flow.run_action(dict(entry))

    # -- limits ------------------------------------------------------------------------------------
    def set_limits(
        self,
        *,
        max_markets: int | None = None,
        command_rate: int | None = None,
        send_queue: int | None = None,
        heartbeat_s: float | None = None,
    ) -> None:
        """Change the per-subscription market limit (26), commands/s per connection (27), the
        send-queue bound (25) or the heartbeat interval; None leaves a setting as it is."""
        for name, value in (
            ("max_markets", max_markets),
            ("command_rate", command_rate),
            ("send_queue", send_queue),
            ("heartbeat_s", heartbeat_s),
        ):
            if value is not None:
                if value <= 0:
                    raise ValueError(f"{name} must be positive")
                self.hub.settings[name] = value
        if command_rate is not None:
            for c in self.hub.connections.values():
                c.tokens = min(c.tokens, float(command_rate))
        self.hub.log(
            "ws_limits",
            **{k: self.hub.settings[k] for k in ("max_markets", "command_rate", "send_queue", "heartbeat_s")},
        )

    # -- faults ------------------------------------------------------------------------------------
    def _conns(self, conn: int | None) -> list[Connection]:
        if conn is None:
            return list(self.hub.connections.values())
        if conn not in self.hub.connections:
            raise ValueError(f"no open connection {conn}")
        return [self.hub.connections[conn]]

    def inject(self, fault: str, conn: int | None = None, **kw: Any) -> list[int]:
        """Inject a stream fault by name; return the ids of the connections it hit.

        Parameters
        ----------
        fault : str
            ``drop`` (abort the TCP connection, no close frame); ``close`` (``code``, default
            1001, ``reason`` "maintenance"); ``skip_seq`` / ``repeat_seq`` (``sid``: the next
            sequenced message skips one seq / is sent twice); ``reorder`` (the next two queued
            messages swap); ``stall`` (``ms``: nothing is sent, pings still answered and sent);
            ``stop_pings`` / ``resume_pings``; ``malformed`` (a frame that is not JSON);
            ``truncated`` (a JSON message cut in half); ``unknown_type`` (a message of a type
            Kalshi never sends); ``delay`` (``ms``: every message leaves N ms after it was made;
            0 clears); ``channel_error`` (``sid``, ``code`` 10 or 25: end the subscription).
        conn : int, optional
            Connection id; None = every open connection.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown stream fault {fault!r}; known: {', '.join(FAULTS)}")
        conns = self._conns(conn)
        sid = kw.get("sid")
        if sid is not None:
            sid = int(sid)
        hit = []
        for c in conns:
            if c.closed:
                continue
            hit.append(c.conn_id)
            if fault == "drop":
                transport = getattr(c, "transport", None)
                c.closed = True
                c.wake.set()
                if transport is not None:
                    transport.abort()
            elif fault == "close":
                code = int(kw.get("code", 1001))
                reason = str(kw.get("reason", "maintenance"))
                c.closed = True
                c.wake.set()
                asyncio.get_running_loop().create_task(c.ws.close(code=code, message=reason.encode()))
            elif fault == "skip_seq":
                c.skip_next.add(sid)
            elif fault == "repeat_seq":
                c.repeat_next.add(sid)
            elif fault == "reorder":
                c.reorder_next = True
            elif fault == "stall":
                c.stall_until = time.monotonic() + float(kw.get("ms", 1000)) / 1000
            elif fault == "stop_pings":
                c.pinging = False
            elif fault == "resume_pings":
                c.pinging = True
            elif fault == "malformed":
                c.enqueue_raw(b'{"type": "orderbook_delta", "sid": ')
            elif fault == "truncated":
                text = _dumps(
                    {"type": "ticker", "sid": 1, "msg": {"market_ticker": "X", "price_dollars": "0.5000"}}
                )
                c.enqueue_raw(text[: len(text) // 2])
            elif fault == "unknown_type":
                c.enqueue_raw(_dumps({"type": "centbook_sim_unknown", "sid": 0, "msg": {"note": "injected"}}))
            elif fault == "delay":
                c.delay_s = float(kw.get("ms", 0)) / 1000
            elif fault == "channel_error":
                code = int(kw.get("code", 10))
                if code not in (10, 25):
                    raise ValueError("channel_error code must be 10 or 25")
                targets: Iterable[Subscription] = (
                    [c.subs[sid]]
                    if sid is not None and sid in c.subs
                    else ([] if sid is not None else list(c.subs.values()))
                )
                for sub in list(targets):
                    c.end_subscription(sub, code)
        self.hub.log(f"ws_{fault}", connections=hit, **{k: v for k, v in kw.items() if k != "conn"})
        return hit

    # conveniences with explicit signatures ----------------------------------------------------------
    def drop(self, conn: int | None = None) -> list[int]:
        """Abort the connection(s) without a close frame."""
        return self.inject("drop", conn)

    def close(self, conn: int | None = None, code: int = 1001, reason: str = "maintenance") -> list[int]:
        """Close the connection(s) with a close code (maintenance by default)."""
        return self.inject("close", conn, code=code, reason=reason)

    def skip_seq(self, conn: int | None = None, sid: int | None = None) -> list[int]:
        """Make the next sequenced message of ``sid`` jump one seq (a gap)."""
        return self.inject("skip_seq", conn, sid=sid)

    def repeat_seq(self, conn: int | None = None, sid: int | None = None) -> list[int]:
        """Send the next sequenced message of ``sid`` twice (a repeated seq)."""
        return self.inject("repeat_seq", conn, sid=sid)

    def reorder(self, conn: int | None = None) -> list[int]:
        """Swap the next two messages on the wire."""
        return self.inject("reorder", conn)

    def stall(self, ms: float, conn: int | None = None) -> list[int]:
        """Send nothing for ``ms`` milliseconds (pings still sent and answered)."""
        return self.inject("stall", conn, ms=ms)

    def stop_pings(self, conn: int | None = None) -> list[int]:
        """Stop the heartbeat pings of the connection(s)."""
        return self.inject("stop_pings", conn)

    def resume_pings(self, conn: int | None = None) -> list[int]:
        """Resume the heartbeat pings."""
        return self.inject("resume_pings", conn)

    def malformed(self, conn: int | None = None, truncated: bool = False) -> list[int]:
        """Send a frame that is not JSON (or, ``truncated``, a JSON message cut short)."""
        return self.inject("truncated" if truncated else "malformed", conn)

    def unknown_type(self, conn: int | None = None) -> list[int]:
        """Send a message of a type Kalshi never sends."""
        return self.inject("unknown_type", conn)

    def delay(self, ms: float, conn: int | None = None) -> list[int]:
        """Delay every message by ``ms`` milliseconds (0 clears)."""
        return self.inject("delay", conn, ms=ms)

    def channel_error(self, sid: int, code: int = 10, conn: int | None = None) -> list[int]:
        """End subscription ``sid`` with terminal error ``code`` (10 or 25)."""
        return self.inject("channel_error", conn, sid=sid, code=code)
