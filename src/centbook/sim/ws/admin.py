"""In-process and HTTP control of the sim's WebSocket side and its order flow.

Parts: :class:`StreamAdmin` (state, limits, faults, flow control) and its ``/admin/streams`` and
``/admin/flow`` routes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from centbook.sim import safejson
from centbook.sim.errors import SimError
from centbook.sim.ws.channels import (
    DEFAULTS,
    FAULTS,
    dumps,
)
from centbook.sim.ws.connection import Connection, Subscription

if TYPE_CHECKING:  # the hub imports this module to build its admin
    from centbook.sim.ws.hub import StreamHub


class StreamAdmin:
    """In-process control of the WebSocket side and the order flow (``/admin/streams``, ``/admin/flow``).

    Faults take ``conn`` (a connection id from :meth:`state`; None = every open connection) and,
    where it applies, ``sid`` (None = the next sequenced message of any subscription).
    """

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub

    # -- admin HTTP --------------------------------------------------------------------------------
    def add_routes(self, r: web.UrlDispatcher) -> None:
        """Add ``/admin/streams``, ``/admin/streams/faults``, ``/admin/streams/limits`` and
        ``/admin/flow`` (GET state, POST control) to ``r``."""
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
            body = safejson.parse(await request.read())
        except safejson.JsonRejected as exc:
            raise SimError(400, "bad_request", "bad request", f"body: {exc}") from None
        if not isinstance(body, dict):
            raise SimError(400, "bad_request", "bad request", "body must be an object")
        return body

    async def _http_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())

    async def _http_fault(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        fault = body.pop("fault", None)
        try:
            hit = self.inject(str(fault), **body)
        except (TypeError, ValueError) as exc:
            raise SimError(400, "bad_request", "bad request", str(exc)) from None
        return web.json_response({"connections": hit})

    async def _http_limits(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        try:
            self.set_limits(**body)
        except (TypeError, ValueError) as exc:
            raise SimError(400, "bad_request", "bad request", str(exc)) from None
        return web.json_response({k: self.hub.settings[k] for k in DEFAULTS})

    async def _http_flow_state(self, request: web.Request) -> web.Response:
        return web.json_response({**self.hub.flow.state(), "streams": self.state()})

    async def _http_flow(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        action = body.get("action")
        try:
            if action == "pause":
                self.pause_flow()
            elif action == "resume":
                self.resume_flow()
            elif action == "rate":
                self.set_flow_rate(float(body["rate"]))
            elif action == "lifecycle":
                self.lifecycle(body["entry"])
            elif action == "start":
                self.start_flow(float(body["rate"]) if "rate" in body else None)
            else:
                raise ValueError("action: pause, resume, rate (with rate), lifecycle (with entry) or start")
        except (KeyError, TypeError, ValueError) as exc:
            raise SimError(400, "bad_request", "bad request", str(exc)) from None
        return web.json_response({**self.hub.flow.state(), "streams": self.state()})

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
                text = dumps(
                    {"type": "ticker", "sid": 1, "msg": {"market_ticker": "X", "price_dollars": "0.5000"}}
                )
                c.enqueue_raw(text[: len(text) // 2])
            elif fault == "unknown_type":
                c.enqueue_raw(dumps({"type": "centbook_sim_unknown", "sid": 0, "msg": {"note": "injected"}}))
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
