"""The sim's WebSocket hub: every connection, its subscriptions and its commands.

Parts: :class:`StreamHub` (the socket handler, the subscription index and the commands); the
publishing of engine events is :class:`~centbook.sim.ws.publisher.Publisher`. What the hub sends
and why is explained in :mod:`centbook.sim.ws`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, MutableSet
from typing import Any

from aiohttp import WSMsgType, web

from centbook.sim import safejson
from centbook.sim.auth import KeyRing
from centbook.sim.engine import Exchange
from centbook.sim.flow import Flow
from centbook.sim.ws.admin import StreamAdmin
from centbook.sim.ws.channels import (
    CHANNELS,
    DEFAULTS,
    ERRORS,
    FILTERED,
    NOT_SIMULATED,
    PRIVATE,
    UPDATABLE,
    WS_PATH,
    CommandError,
    market_id,
)
from centbook.sim.ws.connection import Connection, Subscription
from centbook.sim.ws.publisher import Publisher

log = logging.getLogger("centbook.sim.stream")


class StreamHub:
    """Every WebSocket connection of one sim, its subscriptions and its commands.

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
        self.publisher = Publisher(self.exchange, self.settings, self.book_subs, self.channel_subs)
        # the engine builds no event nobody listens to: book deltas come through the fast hook,
        # order and position events only while a user_orders / market_positions sid exists
        self.exchange.subscribe(
            self.publisher.on_event, kinds=("trade", "fill", "lifecycle", "order_group", "exchange_status")
        )
        self.exchange.on_book_delta(self.publisher.on_delta)
        self._private_unsub: dict[str, Any] = {}
        self.admin = StreamAdmin(self)

    def attach(self, app: web.Application) -> None:
        """Add the ``/admin/streams`` and ``/admin/flow`` routes to ``app`` and end every
        connection's writer when ``app`` shuts down."""
        app.on_shutdown.append(self._shutdown)
        self.admin.add_routes(app.router)

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
                    conn.binary_frame()
                if conn.closed:
                    break
            if conn.aborted and transport is not None:
                transport.abort()  # it does not read: a close frame would wait behind the backlog
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
            self._private_unsub[channel] = self.exchange.subscribe(self.publisher.on_event, kinds=(kind,))
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
            # every frame takes a token, even one that is no command; the error names the id if any
            allowed = conn.rate_ok()
            try:
                cmd = safejson.parse(text)
            except safejson.JsonRejected as exc:
                error = CommandError(1, str(exc)) if allowed else CommandError(27)
                raise error from None
            if not isinstance(cmd, dict):
                raise CommandError(1, "a command is a JSON object")
            cmd_id = cmd.get("id", 0)
            if isinstance(cmd_id, bool) or not isinstance(cmd_id, int) or cmd_id < 0:
                cmd_id = 0
                raise CommandError(1, "id must be a non-negative integer")
            if not allowed:
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
        except Exception:  # a bug answers this command; it must not end the connection
            log.exception("command failed on connection %d: %.200s", conn.conn_id, text)
            failed = {"code": 1, "msg": f"{ERRORS[1]}: internal error"}
            conn.enqueue({"id": cmd_id, "type": "error", "msg": failed})

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
                    self.publisher.snapshot(sub, t)
            elif ch == "ticker" and params.get("send_initial_snapshot"):
                for t in tickers if tickers is not None else list(self.exchange.markets):
                    conn.enqueue(self.publisher.ticker_msg(sub, self.exchange.markets[t]), sub)

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
                self.publisher.snapshot(sub, t)
        elif sub.channel == "ticker" and params.get("send_initial_snapshot"):
            for t in new:
                conn.enqueue(self.publisher.ticker_msg(sub, self.exchange.markets[t]), sub)

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
                self.publisher.snapshot(sub, t, cmd_id)
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
