"""The sim's WebSocket hub: every connection, its commands, and the publishing of engine events.

Parts: :class:`StreamHub` (the socket handler, the subscription index, commands, snapshot and
message bodies, and the engine event handlers). What it sends and why is explained in
:mod:`centbook.sim.ws`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, MutableSet
from typing import Any

from aiohttp import WSMsgType, web

from centbook.fixed import format_money, format_price, format_size
from centbook.sim import safejson
from centbook.sim.auth import KeyRing
from centbook.sim.engine import MAX_BP, EngineEvent, Exchange, Market, Order
from centbook.sim.flow import Flow
from centbook.sim.wire import iso
from centbook.sim.ws.admin import StreamAdmin
from centbook.sim.ws.bodies import DELTA_FORMAT, DELTA_TAIL, delta_market_part, price_table, size_bytes
from centbook.sim.ws.channels import (
    CHANNELS,
    DEFAULTS,
    ERRORS,
    FILTERED,
    NOT_SIMULATED,
    PRIVATE,
    SEQUENCED,
    UPDATABLE,
    UPDATE_REASONS,
    WS_PATH,
    CommandError,
    market_id,
)
from centbook.sim.ws.connection import Connection, Subscription

log = logging.getLogger("centbook.sim.stream")


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
        self._price_bytes = price_table()
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
            size = size_bytes(delta)
            tail = DELTA_TAIL[yes_side]
            middle = delta_market_part(ticker)
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
                payload = DELTA_FORMAT % (sub.delta_head, seq, middle, prices[price], size, tail, ts_ms)
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
