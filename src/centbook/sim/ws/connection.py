"""One WebSocket connection of the sim: its subscriptions, send queue, batched writer and pinger.

Parts: :class:`Subscription` (one sid) and :class:`Connection` (one socket, written by a task
that frames queued messages itself and writes them in batches).

Every message queued on a connection counts against its ``send_queue`` bound, whatever the
client sends: a subscription's message that does not fit ends the subscription (error 25); a
reply to a command or to a frame that is not one (binary, not JSON) that does not fit ends the
connection (the socket is aborted: a client that sends without reading would never see a close
frame queued behind its backlog). Every frame, text or binary, takes a token of the command rate;
a client refused more than ``command_rate`` frames within a second sends at over twice the rate
and is aborted too, so a flood costs the sim a bounded amount of work as well as of memory.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from aiohttp import web

from centbook.sim.ws.channels import (
    ERRORS,
    SEQUENCED,
    dumps,
)

# Raw text frames (server to client: FIN + opcode 1, no mask) for the batched writer.
_FRAME_SHORT = [bytes((0x81, n)) for n in range(126)]
_WRITE_BATCH_BYTES = 256 * 1024  # one transport.write per batch of frames up to this size
_WRITE_HIGH_BYTES = 256 * 1024  # wait while the transport holds more than this (a slow reader)

if TYPE_CHECKING:  # the hub imports this module; a connection only calls back into its hub
    from centbook.sim.ws.hub import StreamHub


def _frame_header(length: int) -> bytes:
    if length < 126:
        return _FRAME_SHORT[length]
    if length < 65536:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


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
        #: set when a reply did not fit the send queue or the client floods; the socket is aborted
        self.aborted = False
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
        # frames refused for want of a token in the second from refused_since
        self.refused = 0
        self.refused_since = self.tokens_at

    # -- sending -----------------------------------------------------------------------------------
    def enqueue(self, obj: dict[str, Any], sub: Subscription | None = None, force: bool = False) -> None:
        """Serialise and queue a message; a sequenced one (``"seq"`` in it) takes its sid's next seq."""
        if self.closed:
            return
        seq = 0
        sid = 0
        if sub is None and not force and len(self.queue) >= self.hub.settings["send_queue"]:
            self.overflow()
            return
        if sub is not None:
            seq = self.take_seq(sub, "seq" in obj, force)
            if seq < 0:
                return
            sid = sub.sid
            if seq:
                obj["seq"] = seq
        self.push(dumps(obj), sid, seq)

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

    def overflow(self) -> None:
        """End a connection whose client sends commands or frames without reading the replies."""
        self.abort("ws_buffer_overflow", sid=None, queued=len(self.queue))

    def abort(self, kind: str, **data: Any) -> None:
        """End the connection at once (logged as ``kind``); the hub aborts its socket."""
        self.hub.log(kind, conn=self.conn_id, **data)
        self.aborted = True
        self.closed = True
        self.queue.clear()
        self.wake.set()

    def binary_frame(self) -> None:
        """Answer a binary frame (commands are text): error 1, or 27 over the command rate."""
        code = 1 if self.rate_ok() else 27
        self.enqueue({"id": 0, "type": "error", "msg": {"code": code, "msg": ERRORS[code]}})

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
        """Take a token of the command rate; False (error 27) if there is none."""
        rate = self.hub.settings["command_rate"]
        now = time.monotonic()
        self.tokens = min(float(rate), self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = now
        if self.tokens < 1:
            if now - self.refused_since > 1.0:
                self.refused_since = now
                self.refused = 0
            self.refused += 1
            if self.refused > rate:
                self.abort("ws_command_flood", refused=self.refused, command_rate=rate)
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
