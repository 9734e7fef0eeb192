"""The feed's subscriptions and the commands that make them, replies matched by id.

- :class:`Subscription`: one subscription of the connection (sid, channel, its markets);
- :class:`Subscriptions`: the registry of live and pending subscriptions, and the command
  sender: command ids, replies awaited by id, and the hold after a limit error (26, 27).

It knows the connection only through :attr:`Subscriptions.transport`; book states are
:mod:`centbook.feed.validity`'s business.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import picows

from centbook.books import Books
from centbook.protocol import commands
from centbook.protocol.messages import Ok, Subscribed

__all__ = ["BOOK_CHANNEL", "MARKET_CHANNELS", "Subscription", "Subscriptions"]

log = logging.getLogger("centbook.feed")

BOOK_CHANNEL = "orderbook_delta"
# channels subscribed per market: with any of them, the extra channels name the feed's markets
MARKET_CHANNELS = ("ticker", "trade", "fill", "user_orders", "market_positions")


@dataclass
class Subscription:
    """One subscription of the connection: its ``sid``, ``channel`` and markets (``tickers``)."""

    sid: int
    channel: str
    tickers: list[str] = field(default_factory=list)


class Subscriptions:
    """What the connection is subscribed to, and the commands that change it.

    Parameters
    ----------
    books : Books
        The registry told of every orderbook subscription (its sid) and of its end.
    config : FeedConfig
        ``command_timeout_s``, ``use_yes_price`` and ``limit_backoff_s`` are read from it.
    counts : mutable mapping of str to int
        The feed's counters (``commands``).

    Attributes
    ----------
    transport : picows.WSTransport or None
        The connection commands go out on; None before the first one.
    by_sid : dict of int to Subscription
        The confirmed subscriptions.
    pending : dict of (int, str) to list of str
        Subscriptions sent and not yet confirmed, by (command id, channel): their markets.
    hold_until : float
        Monotonic time before which no command is sent (after error 26 or 27).
    """

    def __init__(self, books: Books, config: Any, counts: MutableMapping[str, int]) -> None:
        self.books = books
        self.config = config
        self.counts = counts
        self.transport: Any = None
        self.by_sid: dict[int, Subscription] = {}
        self.pending: dict[tuple[int, str], list[str]] = {}
        self.replies: dict[int, asyncio.Future[Any]] = {}
        self.hold_until = 0.0
        self._ids = 0

    # ------------------------------------------------------------------ commands

    def next_id(self) -> int:
        """Return a new command id (1, 2, ... on this feed)."""
        self._ids += 1
        return self._ids

    async def send(self, payload: bytes, command_id: int, *, wait: bool = True) -> Any:
        """Send one command, after any hold; with ``wait``, return its reply.

        Raises
        ------
        ConnectionError
            When there is no connection.
        TimeoutError
            When ``wait`` and no reply came within ``command_timeout_s``.
        FeedError
            When ``wait`` and the exchange answered with an error.
        """
        hold = self.hold_until - time.monotonic()
        if hold > 0:
            await asyncio.sleep(hold)
        if self.transport is None or self.transport.is_disconnected:
            raise ConnectionError("not connected")
        if not wait:
            # the reply (subscribed/ok/error) is handled by its id without anyone awaiting it
            self.transport.send(picows.WSMsgType.TEXT, payload)
            self.counts["commands"] += 1
            return None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.replies[command_id] = future
        self.transport.send(picows.WSMsgType.TEXT, payload)
        self.counts["commands"] += 1
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.config.command_timeout_s)
        finally:
            if future.done():
                self.replies.pop(command_id, None)

    async def subscribe_books(self, tickers: list[str], wait: bool = False) -> None:
        """Subscribe ``tickers`` to the orderbook channel (``use_yes_price`` as configured)."""
        command_id = self.next_id()
        self.pending[(command_id, BOOK_CHANNEL)] = list(tickers)
        payload = commands.subscribe(command_id, [BOOK_CHANNEL], market_tickers=tickers,
                                     use_yes_price=self.config.use_yes_price)
        await self.send(payload, command_id, wait=wait)

    async def subscribe_channels(self, channels: Iterable[str], tickers: list[str]) -> None:
        """Subscribe the extra ``channels`` in one command, for ``tickers`` where they are per market."""
        channels = list(channels)
        command_id = self.next_id()
        for channel in channels:
            self.pending[(command_id, channel)] = []
        markets = tickers if any(c in MARKET_CHANNELS for c in channels) else None
        payload = commands.subscribe(command_id, channels, market_tickers=markets)
        await self.send(payload, command_id, wait=False)

    async def resubscribe_channel(self, channel: str) -> None:
        """Subscribe ``channel`` again (after a terminal error); a lost connection is ignored."""
        command_id = self.next_id()
        self.pending[(command_id, channel)] = []
        try:
            await self.send(commands.subscribe(command_id, [channel]), command_id, wait=False)
        except ConnectionError:
            pass

    async def get_snapshot(self, sid: int, tickers: list[str]) -> None:
        """Ask for fresh snapshots of ``tickers`` on the subscription ``sid``."""
        command_id = self.next_id()
        await self.send(commands.get_snapshot(command_id, sid, tickers), command_id, wait=False)

    async def unsubscribe(self, sid: int) -> None:
        """End the subscription ``sid`` on the exchange (its reply is not awaited)."""
        command_id = self.next_id()
        await self.send(commands.unsubscribe(command_id, [sid]), command_id, wait=False)

    def hold(self, seconds: float) -> None:
        """Hold every command back for ``seconds`` from now."""
        self.hold_until = time.monotonic() + seconds

    # ------------------------------------------------------------------ the registry

    def sid_of(self, ticker: str) -> int | None:
        """Return the sid of the orderbook subscription that holds ``ticker``, or None."""
        for sid, sub in self.by_sid.items():
            if sub.channel == BOOK_CHANNEL and ticker in sub.tickers:
                return sid
        return None

    def pop(self, sid: int) -> Subscription:
        """Remove the subscription ``sid`` from the registry and return it.

        The books still track its seq: the caller tells them (``Books.forget_subscription``)
        once the subscription's markets are moved on.
        """
        return self.by_sid.pop(sid)

    def clear(self) -> None:
        """Forget every subscription, confirmed or pending (a new connection starts empty)."""
        self.by_sid.clear()
        self.pending.clear()

    def connection_lost(self) -> None:
        """Forget every subscription; every awaited reply fails with ``ConnectionError``."""
        for sid in list(self.by_sid):
            self.books.forget_subscription(sid)
        self.clear()
        for future in self.replies.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
        self.replies.clear()

    # ------------------------------------------------------------------ replies

    def on_subscribed(self, message: Subscribed) -> None:
        """Register the subscription a ``subscribed`` reply confirms."""
        channel, sid = message.msg.channel, message.msg.sid
        tickers = self.pending.pop((message.id or 0, channel), None)
        if tickers is None:
            log.warning("unexpected subscribed reply: %s", message)
            return
        self.by_sid[sid] = Subscription(sid, channel, tickers)
        if channel == BOOK_CHANNEL:
            self.books.register_subscription(sid, use_yes_price=self.config.use_yes_price)
        if not any(key[0] == message.id for key in self.pending):
            self.resolve(message.id, message)

    def on_ok(self, message: Ok) -> None:
        """Add the markets of an ``ok`` reply to the subscription it names."""
        # Subscribing again to a channel the connection already has adds the markets to that
        # subscription (Kalshi's idempotent subscribe): the reply is `ok` with the existing sid.
        for key in [k for k in self.pending if k[0] == message.id]:
            tickers = self.pending.pop(key)
            sub = self.by_sid.get(message.sid) if message.sid is not None else None
            if sub is not None and sub.channel == key[1]:
                sub.tickers.extend(t for t in tickers if t not in sub.tickers)
        self.resolve(message.id, message)

    def resolve(self, command_id: int | None, message: Any) -> None:
        """Hand ``message`` to whoever awaits the reply to ``command_id``."""
        future = self.replies.pop(command_id, None) if command_id else None
        if future is not None and not future.done():
            future.set_result(message)

    def fail(self, command_id: int | None, error: Exception) -> list[str]:
        """Fail the command ``command_id`` with ``error``; return the markets it was subscribing."""
        future = self.replies.pop(command_id, None) if command_id else None
        if future is not None and not future.done():
            future.set_exception(error)
        tickers: list[str] = []
        for key in [k for k in self.pending if k[0] == command_id]:
            tickers.extend(self.pending.pop(key))
        return tickers
