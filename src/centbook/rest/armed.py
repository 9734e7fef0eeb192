"""Order writes prepared ahead of the moment they are sent.

- :class:`Armer`: arms a write for compiled code (:meth:`Armer.arm_amend`,
  :meth:`Armer.arm_cancel`) or writes an amend at once (:meth:`Armer.start_amend`);
- :class:`ArmedWrite`: a write reserved by :meth:`Armer.arm_amend` or :meth:`Armer.arm_cancel`
  (signature, connection, request bytes);
- :class:`StartedWrite`: a write already handed to the order lane, whose answer is still owed;
- :func:`amend_body`, :func:`amend_template`: an amend's JSON body, whole or split for compiled code.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from centbook.book import OrderSide
from centbook.fixed import format_price, format_size
from centbook.protocol.models import Market
from centbook.rest.budget import RateBudget, bucket_for
from centbook.rest.lane import LaneWrite, OrderLane
from centbook.rest.presign import ORDERS_PATH, Presigner
from centbook.rest.transport import Transport, encode_json, lane_target, query

__all__ = ["ArmedWrite", "Armer", "StartedWrite", "amend_body", "amend_template"]

@dataclass(slots=True)
class ArmedWrite:
    """What :meth:`Armer.arm_amend` or :meth:`Armer.arm_cancel` reserved for one write of an
    order (see there).

    An amend's ``head`` is the request up to its Content-Length value; the body is ``body_pre``
    + price (4 decimals) + ``body_mid`` + count (2 decimals) + ``body_post``. A cancel's ``head``
    is the whole request (no body; the three body parts are empty). The write is due to the
    budget bucket ``bucket`` (``cost`` tokens). ``fresh_until_ns`` (monotonic): after it the
    signature or the connection is too old to be used.
    """

    method: str
    order_id: str
    full_path: str
    conn: Any
    head: bytes
    body_pre: bytes
    body_mid: bytes
    body_post: bytes
    bucket: str
    cost: int
    timestamp_ms: int
    signature: str
    fresh_until_ns: int


class StartedWrite:
    """An order write already handed to the order lane (:meth:`Armer.start_amend`).

    Attributes
    ----------
    write : centbook.rest.lane.LaneWrite
    sent_ms : int
        Unix ms just before the write (an unknown outcome's time).
    signature : str
        The pre-made signature it carries.
    written_ns : int
        ``time.monotonic_ns()`` right after its bytes were handed to the transport.
    """

    __slots__ = ("write", "sent_ms", "signature", "written_ns")

    def __init__(self, write: LaneWrite, sent_ms: int, signature: str) -> None:
        self.write = write
        self.sent_ms = sent_ms
        self.signature = signature
        self.written_ns = time.monotonic_ns()


def amend_body(ticker: str, side: OrderSide | str, price: str, count: str, client_order_id: str | None,
               updated_client_order_id: str | None, shard: int | None) -> dict[str, Any]:
    """An amend's JSON body (``price`` and ``count`` already formatted)."""
    body: dict[str, Any] = {
        "ticker": ticker,
        "side": side,
        "price": price,
        "count": count,
    }
    if client_order_id is not None:
        body["client_order_id"] = client_order_id
    if updated_client_order_id is not None:
        body["updated_client_order_id"] = updated_client_order_id
    if shard is not None:
        body["exchange_index"] = shard
    return body


def amend_template(ticker: str, side: OrderSide | str, shard: int | None) -> tuple[bytes, bytes, bytes]:
    """An amend's JSON body as the client writes it, split where the price (4 decimals) and
    the count (2 decimals) go: body = pre + price + mid + count + post."""
    body = encode_json(amend_body(ticker, side, "\x00", "\x01", None, None, shard))
    pre, tail = body.split(b"\\u0000")
    mid, post = tail.split(b"\\u0001")
    return pre, mid, post


class Armer:
    """Order writes that go out without waiting: written at once, or armed for compiled code.

    Either needs everything at hand: the order lane with an idle connection, a pre-made
    signature, the order's shard; a write at once also the budget's tokens with nobody queued.

    Parameters
    ----------
    transport : Transport
        Its session tells an open client.
    lane : OrderLane, optional
        Without it nothing is armed or started.
    presigner : Presigner
        The pre-made signatures.
    budget : RateBudget
    stats : dict
        The client's counters (``requests``).
    order_shards : dict
        ``order_id -> exchange_index`` of the orders the client created.
    order_counts : dict
        The orders' last known counts; a write's answer makes them stale, so it drops them.
    markets : dict
        The cached market metadata (a known settlement floor refuses an amend at or below it).
    """

    def __init__(self, transport: Transport, lane: OrderLane | None, presigner: Presigner, budget: RateBudget,
                 stats: dict[str, int], order_shards: dict[str, int],
                 order_counts: MutableMapping[str, tuple[int, int]], markets: dict[str, Market]) -> None:
        self._transport = transport
        self.lane = lane
        self._presigner = presigner
        self._path_prefix = presigner.path_prefix
        self._credentials = presigner.credentials
        self._pool = presigner.pool
        self._take = presigner.take
        self._refill_if_low = presigner.refill_if_low
        self._put_auth = presigner.put_auth
        self._budget = budget
        self._stats = stats
        self._order_shards = order_shards
        self._order_counts = order_counts
        self._markets = markets

    def start_amend(
        self,
        order_id: str,
        ticker: str,
        side: OrderSide | str,
        price_bp: int,
        count: int,
        *,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
        exchange_index: int | None = None,
        subaccount: int | None = None,
    ) -> StartedWrite | None:
        """Write an amend now, synchronously, when it can go without waiting; else None.

        For a caller in a synchronous callback (the market maker's socket-read callback): the
        amend's bytes are on their way before this returns. It goes when the order lane has an
        idle connection, a pre-made signature is there and the budget has the tokens with
        nobody queued; and only when the shard is known (``exchange_index`` or a tracked order)
        and the arguments are valid. None means nothing was sent: call
        :meth:`~centbook.rest.client.RestClient.amend_order` as usual (it also reports what was
        wrong with the arguments). Otherwise await ``amend_order`` with the same arguments and
        ``started=`` the result, for the answer.
        """
        if side not in ("bid", "ask"):  # OrderSide values; a constant tuple test on the quoting path
            return None
        market = self._markets.get(ticker)
        if market is not None and market.floor_refuses(price_bp):
            return None
        shard = exchange_index if exchange_index is not None else self._order_shards.get(order_id)
        if shard is None:
            return None
        body = amend_body(ticker, side, format_price(price_bp), format_size(count), client_order_id,
                          updated_client_order_id, shard)
        self._order_counts.pop(order_id, None)  # the amend's answer carries no cumulative fills
        return self.start_write("POST", f"{ORDERS_PATH}/{order_id}/amend", {"subaccount": subaccount}, body,
                                shard)

    def start_write(self, method: str, sub_path: str, params: dict[str, Any] | None, body: Any,
                    exchange_index: int | None) -> StartedWrite | None:
        """Write a pre-signed order write now, in the caller's step, or return None.

        It goes when everything is at hand: the order lane with an idle connection, a pre-made
        signature, and the budget's tokens with nobody queued ahead (whatever their priority:
        a write that would have to wait goes the queued way). Then its bytes are handed
        to the transport before this returns, and the transport's ``request`` with ``started``
        (and the same arguments) awaits the answer. None: nothing was written and nothing is
        owed (when every idle connection turned out closed, the signature and tokens taken are
        spent, which only errs on the safe side of the budget).
        """
        lane = self.lane
        if (lane is None or not lane.idle or not self._presigner.presign or self._credentials is None
                or self._transport.session is None):
            return None
        full_path = self._path_prefix + sub_path
        pre = self._take(method, full_path, refill=False)
        if pre is None:
            self._refill_if_low(method, full_path, True)
            return None
        bucket = bucket_for(method, full_path, exchange_index, False)
        if not self._budget.try_acquire(bucket, self._budget.cost_of(method, full_path)):
            self._pool.give_back(method, full_path, *pre)  # unused: back for the queued path
            return None
        ts, sig = pre
        headers = self._put_auth({"Content-Type": "application/json"}, ts, sig)
        sent_ms = int(time.time() * 1000)
        write = lane.start(method, lane_target(full_path, query(params)), headers, encode_json(body))
        self._refill_if_low(method, full_path)  # after the write: the refill task is not on its way
        if write is None:
            return None
        self._stats["requests"] += 1
        return StartedWrite(write, sent_ms, sig)

    def arm_amend(self, order_id: str, ticker: str, side: OrderSide | str, *,
                  exchange_index: int | None = None,
                  subaccount: int | None = None) -> ArmedWrite | None:
        """Reserve what an amend of this order needs to be written by compiled code at once.

        For :class:`centbook.mm.quoter.Quoter` (the market maker's amend from the read callback):
        an order-lane connection taken out of the pool, a pre-made signature, and the request's
        bytes but for the price, the count and the length (:class:`ArmedWrite`); the budget is
        asked when the bytes go out. None when one of them is not at hand (as
        :meth:`start_amend`). Afterwards exactly one of: :meth:`armed_sent` (the bytes went
        out; await :meth:`~centbook.rest.client.RestClient.amend_order` with ``started=`` its
        result) or :meth:`disarm`.
        """
        if side not in ("bid", "ask"):  # OrderSide values; a constant tuple test on the quoting path
            return None
        shard = exchange_index if exchange_index is not None else self._order_shards.get(order_id)
        if shard is None:
            return None
        return self._arm("POST", f"{ORDERS_PATH}/{order_id}/amend", order_id, {"subaccount": subaccount},
                         shard, amend_template(ticker, side, shard))

    def arm_cancel(self, order_id: str, ticker: str, *, exchange_index: int | None = None,
                   subaccount: int | None = None) -> ArmedWrite | None:
        """As :meth:`arm_amend`, for the order's cancel: the whole request is made here (it has
        no body), byte for byte the one :meth:`~centbook.rest.client.RestClient.cancel_order`
        sends. After :meth:`armed_sent`, await ``cancel_order`` with ``started=`` its result (and
        the same arguments)."""
        shard = exchange_index if exchange_index is not None else self._order_shards.get(order_id)
        if shard is None:
            return None
        return self._arm("DELETE", f"{ORDERS_PATH}/{order_id}", order_id,
                         {"subaccount": subaccount, "exchange_index": shard, "market_ticker": ticker}, shard,
                         None)

    def _arm(self, method: str, sub_path: str, order_id: str, params: dict[str, Any], shard: int,
             body: tuple[bytes, bytes, bytes] | None) -> ArmedWrite | None:
        """arm_amend and arm_cancel: ``body`` is the amend's split body, None for no body."""
        lane = self.lane
        if (lane is None or not lane.idle or not self._presigner.presign or self._credentials is None
                or self._transport.session is None):
            return None
        full_path = self._path_prefix + sub_path
        pre = self._take(method, full_path)
        if pre is None:
            return None
        ts, sig = pre
        # as start_write (a body) and the transport (none) make them
        headers = self._put_auth({"Content-Type": "application/json"} if body is not None else {}, ts, sig)
        target = lane_target(full_path, query(params))
        if body is None:
            head, body = lane.render(method, target, headers, None), (b"", b"", b"")
        else:
            head = lane.head(method, target, headers)
        conn = lane.reserve()  # last: nothing after it can fail and leave it reserved
        if conn is None:
            self._pool.give_back(method, full_path, ts, sig)
            return None
        # usable while both the signature and the connection are young enough
        loop = asyncio.get_running_loop()
        fresh_s = min((ts + self._pool.max_age_ms) / 1000 - time.time(),  # as PresignedPool.take
                      lane.fresh_until(conn) - loop.time())
        return ArmedWrite(method, order_id, full_path, conn, head, *body,
                          bucket_for(method, full_path, shard), self._budget.cost_of(method, full_path), ts,
                          sig, time.monotonic_ns() + int(fresh_s * 1e9))

    def armed_sent(self, armed: ArmedWrite, sent_ms: int, written_ns: int) -> StartedWrite:
        """The armed write's bytes were handed to its connection's transport at ``written_ns``
        (monotonic; ``sent_ms`` Unix ms just before): the answer is awaited from here."""
        assert self.lane is not None
        self._stats["requests"] += 1
        self._order_counts.pop(armed.order_id, None)  # an amend's answer carries no cumulative fills
        started = StartedWrite(self.lane.adopt(armed.conn, armed.method), sent_ms, armed.signature)
        started.written_ns = written_ns
        self._refill_if_low(armed.method, armed.full_path)
        return started

    def disarm(self, armed: ArmedWrite) -> None:
        """Nothing was written: the connection goes back, and the signature while it is fresh."""
        if self.lane is not None:
            self.lane.release(armed.conn)
        self._pool.give_back(armed.method, armed.full_path, armed.timestamp_ms, armed.signature)
