"""The sim's markets played from a recording (``centbook sim --replay PATH [--speed X]``).

- :func:`config_from_recording`: a sim configuration whose series, events and markets are the
  recording's (its ``META`` records: tickers, price ranges, titles), with the default users, so
  the REST market data describes the recorded markets;
- :class:`ReplaySource`: an asyncio task that replays the recording (:func:`centbook.replay.replay`)
  at its own pace or ``speed`` times faster, sends its trade and lifecycle messages on to the
  sim's subscribers as recorded, and makes the engine's books follow the recorded ones: after
  each recorded book frame, the levels that differ are brought to the recorded size with resting
  orders of a dedicated replay user (more size: a new order at that price; less: orders
  decreased or cancelled). The book messages then come from the sim's own publisher, so
  ``orderbook_delta`` (snapshots included), ``ticker`` and their seq and sid follow the same
  rules as live; a client subscribing at any moment gets the book as recorded then.

Recorded YES bids rest as YES bids, recorded NO bids at NO-leg price ``q`` as YES asks at
``10000 - q``, as the engine keeps them. A recorded book never crosses, so the replay user's
orders never trade with each other. Recorded trades and lifecycle events are relayed, not made
by the engine (which would change the books, or close the market, to make them); the ``ticker``
channel is the sim's own, from the played books.
"""
from __future__ import annotations

import asyncio
import json
import os
from collections import defaultdict
from typing import Any

from centbook.book import OrderSide
from centbook.books import Books, FrameKind
from centbook.record.segment import Kind, iter_records
from centbook.replay import replay
from centbook.sim.config import default_config
from centbook.sim.engine import MAX_BP, Exchange, Order
from centbook.sim.ws.publisher import Publisher

__all__ = ["REPLAY_USER", "ReplaySource", "config_from_recording"]

#: The engine user whose resting orders make the replayed books.
REPLAY_USER = "replay"
_FUNDING = "1000000000.00"
_BOOK_FRAMES = (FrameKind.ORDERBOOK_SNAPSHOT, FrameKind.ORDERBOOK_DELTA)
# recorded messages sent on as they are: FrameKind -> the sim's channel
_RELAYED = {FrameKind.TRADE: "trade", FrameKind.MARKET_LIFECYCLE_V2: "market_lifecycle_v2"}
# a market stays open for the whole replay, whatever its recorded close time
_OPEN_FOR_S = 10 * 365 * 86400


def config_from_recording(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return a sim configuration listing the recording's markets (see the module docstring).

    Raises
    ------
    centbook.record.segment.RecordingError
        When ``path`` is not a recording.
    ValueError
        When the recording holds no market metadata.
    """
    markets: dict[str, dict[str, Any]] = {}
    for record in iter_records(path):
        if record.kind == Kind.META:
            market = record.json()
            markets.setdefault(market["ticker"], market)
    if not markets:
        raise ValueError(f"{path} holds no market metadata: nothing to serve")
    config = default_config()
    series: dict[str, dict[str, Any]] = {}
    events: dict[str, dict[str, Any]] = {}
    specs = []
    for ticker, m in markets.items():
        event = m.get("event_ticker") or ticker.rsplit("-", 1)[0]
        name = event.split("-", 1)[0]
        shard = int(m.get("exchange_index", 0))
        series.setdefault(name, {"ticker": name, "title": name})
        events.setdefault(event, {"event_ticker": event, "series_ticker": name, "exchange_index": shard,
                                  "title": m.get("title", event)})
        spec = {"ticker": ticker, "event_ticker": event, "exchange_index": shard,
                "open_offset_s": -60, "close_offset_s": _OPEN_FOR_S}
        for key in ("price_ranges", "price_level_structure", "yes_sub_title", "no_sub_title", "title"):
            if m.get(key):
                spec[key] = m[key]
        specs.append(spec)
    config.update(series=list(series.values()), events=list(events.values()), markets=specs)
    return config


class ReplaySource:
    """Play a recording into a running engine (see the module docstring).

    Parameters
    ----------
    exchange : Exchange
        The sim's engine, configured by :func:`config_from_recording`.
    path : str or PathLike
        The recording.
    speed : float
        Receive times are divided by this (1: the recording's own pace).

    Attributes
    ----------
    frames : int
        Book frames played so far.
    done : asyncio.Event
        Set when the whole recording has been played.
    """

    def __init__(self, exchange: Exchange, path: str | os.PathLike[str], speed: float = 1.0,
                 publisher: Publisher | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.exchange = exchange
        self.publisher = publisher
        self.path = path
        self.speed = speed
        self.frames = 0
        self.done = asyncio.Event()
        existing = exchange.users_by_name.get(REPLAY_USER)
        self._user = existing.user_id if existing is not None else exchange.add_user(
            REPLAY_USER, tier="unlimited", funding={shard: _FUNDING for shard in exchange.shards})
        # ticker -> (engine side, engine price) -> the replay user's resting orders there
        self._orders: dict[str, dict[tuple[OrderSide, int], list[Order]]] = defaultdict(
            lambda: defaultdict(list))
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start playing in the running loop (the task ends with the loop, or when played)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="centbook-sim-replay")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        first: int | None = None
        markets = self.exchange.markets
        for n, (event, books) in enumerate(replay(self.path)):
            if first is None:
                first = event.wall_ns
            lag = (event.wall_ns - first) / 1e9 / self.speed - (loop.time() - started)
            if lag > 0.001:
                await asyncio.sleep(lag)    # the recording's pace
            elif n % 512 == 0:
                await asyncio.sleep(0)      # as fast as it goes: let the server serve
            if event.kind != Kind.FRAME:
                continue
            if event.frame_kind in _BOOK_FRAMES and event.ticker in markets:
                self.follow(event.ticker, books)
                self.frames += 1
            elif event.frame_kind in _RELAYED and self.publisher is not None:
                self._relay(event.frame_kind, event.payload)
        self.done.set()

    def _relay(self, kind: int, payload: bytes) -> None:
        """Send a recorded trade or lifecycle message of a served market to the sim's subscribers."""
        msg = json.loads(payload).get("msg") or {}
        ticker = msg.get("market_ticker")
        if ticker in self.exchange.markets and self.publisher is not None:
            channel = _RELAYED[kind]
            self.publisher.relay(channel, ticker if channel == "trade" else None, msg)

    def follow(self, ticker: str, books: Books) -> None:
        """Bring the engine's book of ``ticker`` to the replayed one, level by level."""
        book = books[ticker]
        want = {(OrderSide.BID, p): s for p, s in book.levels(0)}
        want.update({(OrderSide.ASK, MAX_BP - p): s for p, s in book.levels(1)})
        mine = self._orders[ticker]
        have = {key: sum(o.remaining for o in orders) for key, orders in mine.items() if orders}
        # less first, then more: a level leaves before another takes a price it would cross
        for key, size in have.items():
            if want.get(key, 0) < size:
                self._reduce(ticker, key, size - want.get(key, 0))
        for key, size in want.items():
            if size > have.get(key, 0):
                self._add(ticker, key, size - have.get(key, 0))

    def _add(self, ticker: str, key: tuple[OrderSide, int], size: int) -> None:
        side, price = key
        market = self.exchange.markets[ticker]
        order, _ = self.exchange.create_order(
            self._user, ticker=ticker, side=side, count=size, price_bp=price,
            time_in_force="good_till_canceled", stp="taker_at_cross", exchange_index=market.exchange_index)
        if order.status == "resting":
            self._orders[ticker][key].append(order)

    def _reduce(self, ticker: str, key: tuple[OrderSide, int], size: int) -> None:
        orders = self._orders[ticker][key]
        shard = self.exchange.markets[ticker].exchange_index
        while size > 0 and orders:
            order = orders[-1]
            if order.remaining <= size:
                size -= order.remaining
                self.exchange.cancel_order(self._user, order.order_id, 0, shard)
                orders.pop()
            else:
                self.exchange.decrease_order(self._user, order.order_id, 0, shard, size, None)
                size = 0
