"""The backtest driver: a recording replayed through the exchange model, the live maker's quoting
on top, with latencies, fees, settlement and the series a report needs.

Time is the recording's receive time (``wall_ns``), taken as the exchange's time. The records
are applied in order with :class:`centbook.replay.Replayer`, the replay's own machinery; at the
end of every socket read (the next record has a later receive time) the engine:

1. ends the read in the exchange model (unexplained level decreases become cancels);
2. runs what falls due before the next read, in time order: our writes reaching the exchange
   (sent + entry latency), the exchange's answers and fill reports reaching the strategy (+ data
   latency), the end of a minimum quote life;
3. lets the strategy decide on the markets the read changed, with the books as the read left
   them: the decision is made ``data latency`` later, and its writes arrive ``entry latency``
   after that.

Same recording, configuration and seed: the same results (every random draw comes from a
generator seeded from the seed, and ties in time keep the order they were made in).

Parts: :class:`Backtest`, :class:`BacktestResult`.
"""
from __future__ import annotations

import heapq
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from centbook.backtest.config import BacktestConfig
from centbook.backtest.exchange import BID, ExchangeModel, Fill
from centbook.backtest.latency import latency_model
from centbook.backtest.queue import queue_model
from centbook.backtest.quoting import Quoting, Slot
from centbook.backtest.settlement import results_from_meta
from centbook.books import FrameKind
from centbook.mm.config import MMConfig
from centbook.mm.ledger import Ledger
from centbook.mm.strategy import Quote
from centbook.record.segment import Kind, iter_records, scan_blocks, segment_paths
from centbook.replay import Replayer

__all__ = ["Backtest", "BacktestResult"]

_FRAME, _META, _ACTION = int(Kind.FRAME), int(Kind.META), int(Kind.ACTION)
_DELTA, _SNAPSHOT = int(FrameKind.ORDERBOOK_DELTA), int(FrameKind.ORDERBOOK_SNAPSHOT)
_TRADE = int(FrameKind.TRADE)


@dataclass
class BacktestResult:
    """What a run produced: counts, the ledger, settlement, and the rows of its tables."""

    events: int = 0
    elapsed_s: float = 0.0
    first_ns: int = 0
    last_ns: int = 0
    ledger: Ledger = field(default_factory=Ledger)
    settlement_bp: dict[str, int | None] = field(default_factory=dict)
    last_mid: dict[str, float | None] = field(default_factory=dict)
    fills: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    series: list[tuple[Any, ...]] = field(default_factory=list)
    mids: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    quoted_ns: dict[str, int] = field(default_factory=dict)
    quotable_ns: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


def _seconds(iso: str | None) -> int:
    if not iso:
        return 0
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1e9)


def _dollars_bp(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole or 0) * 10_000 + int((frac + "0000")[:4])


def _count_c100(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole or 0) * 100 + int((frac + "00")[:2])


class Backtest:
    """One backtest run (see the module docstring).

    Parameters
    ----------
    recording : str or PathLike
        A recording directory (``centbook record`` or ``centbook import``).
    mm : MMConfig
        The maker's configuration (strategy and risk settings; ``markets``: the markets quoted,
        every recorded market when empty).
    config : BacktestConfig
    seed : int
    results : dict, optional
        ``ticker -> YES payout bp`` overriding the recorded results.
    progress : callable, optional
        Called now and then with ``(records done, records in the recording)``.
    """

    def __init__(self, recording: str | os.PathLike[str], mm: MMConfig, config: BacktestConfig,
                 seed: int = 0, results: dict[str, int] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.recording = recording
        self.mm = mm
        self.config = config
        self.seed = seed
        self.results_override = dict(results or {})
        self.progress = progress
        self.markets: set[str] | None = set(mm.markets) or None
        self.entry = latency_model(config.entry_latency_ms, seed=_part_seed(seed, "entry"))
        self.data = latency_model(config.data_latency_ms, seed=_part_seed(seed, "data"))
        self.replayer = Replayer(None)
        self.books = self.replayer.books
        self.out = BacktestResult()
        self.exchange = ExchangeModel(self.books, queue_model(config.queue, _part_seed(seed, "queue")),
                                      config.fee_schedule, config.balance_precision_micro, self._on_fill)
        compiled = mm.compiled_amend if config.compiled is None else config.compiled
        self.quoting = Quoting(mm, compiled, self._send, self._wake)
        self._heap: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._changed: dict[str, None] = {}
        self._next_sample = 0
        self._acc_t = 0
        self._active: list[str] = sorted(self.markets or ())
        self._fill_no = 0
        self._counters = {"writes": 0, "creates": 0, "amends": 0, "cancels": 0, "rejected": 0}

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> BacktestResult:
        """Run the backtest to the end of the recording; return its result."""
        out = self.out
        paths = segment_paths(self.recording)
        total = sum(b.records for p in paths for b in scan_blocks(p))
        started = time.perf_counter()
        last_t = 0
        done = 0
        for record in iter_records(paths):
            # the clock never goes back: a recording's closing summaries carry earlier times
            t = max(record.wall_ns, last_t)
            if t != last_t:
                if last_t:
                    self._end_read(last_t, t)
                else:
                    out.first_ns = t
                last_t = t
            event = self.replayer.apply(record)
            done += 1
            if self.progress is not None and not done & 0x3FFF:
                self.progress(done, total)
            if event is None:
                continue
            out.events += 1
            if event.kind == _FRAME:
                self._frame(t, event.frame_kind, event.ticker, event.payload)
            elif event.kind == _META and event.ticker:
                self._meta(json.loads(event.payload))
            elif event.kind == _ACTION:
                # a connection dropped or came back: its books changed state (STALE, SYNCING)
                self._changed.update(dict.fromkeys(self.quoting.slots))
        if last_t:
            self._end_read(last_t, None)
        out.last_ns = last_t
        out.elapsed_s = time.perf_counter() - started
        if self.progress is not None:
            self.progress(done, total)
        self._settle()
        out.counters = {**self._counters, "compiled_targets": self.quoting.compiled_targets,
                        "python_targets": self.quoting.python_targets}
        return out

    def wanted(self, ticker: str | None) -> bool:
        """Whether ``ticker`` is one of the markets quoted."""
        return ticker is not None and (self.markets is None or ticker in self.markets)

    def _frame(self, t: int, kind: int, ticker: str | None, payload: bytes) -> None:
        if kind == _DELTA or kind == _SNAPSHOT:
            if ticker is not None and (self.markets is None or ticker in self.markets):
                self.exchange.on_book(ticker)
                self._changed[ticker] = None
        elif kind == _TRADE:
            msg = json.loads(payload)["msg"]     # the decoder names no market for a trade: its JSON does
            ticker = msg.get("market_ticker")
            if self.wanted(ticker):
                self.exchange.on_trade(t, ticker, _dollars_bp(msg["yes_price_dollars"]),
                                       _count_c100(msg["count_fp"]), msg["taker_side"] == "yes")

    def _meta(self, market: dict[str, Any]) -> None:
        ticker = market.get("ticker")
        if not self.wanted(ticker):
            return
        close = _seconds(market.get("close_time"))
        if close:
            book = self.books.get(ticker)
            self.quoting.market(ticker, book.grid if book is not None else None, close)
        value = results_from_meta(market)
        if value is not None:
            self.out.settlement_bp[ticker] = value
        else:
            self.out.settlement_bp.setdefault(ticker, None)
        if ticker not in self._active:
            self._active = sorted({*self._active, ticker})   # the markets of the recording, sampled

    def _end_read(self, t: int, next_t: int | None) -> None:
        """The read at ``t`` is over; run what is due before ``next_t`` (None: everything)."""
        self.exchange.settle_read()
        changed, self._changed = self._changed, {}
        heap = self._heap
        if changed:
            decide_at = t + self.data.sample_ns()
            self._track_mids(t, changed)
            if (next_t is None or decide_at < next_t) and not (heap and heap[0][0] <= decide_at):
                self._decide_many(decide_at, changed)    # nothing else is due first: no need to queue it
            else:
                self._schedule(decide_at, self._decide_many, (tuple(changed),))
        while heap and (next_t is None or heap[0][0] < next_t):
            when, _seq, fn, args = heapq.heappop(heap)
            fn(when, *args)
        if next_t is not None:
            self._account(next_t)

    def _schedule(self, when: int, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, fn, args))

    # -- the strategy's side --------------------------------------------------------------------
    def _decide_many(self, now: int, tickers: Iterable[str], again: bool = False) -> None:
        books = self.books
        for ticker in tickers:
            book = books.get(ticker)
            if book is not None:
                self.quoting.decide(ticker, book, now, again)

    def _wake(self, when: int, ticker: str) -> None:
        self._schedule(when, self._decide_many, ((ticker,), True))

    def _send(self, now: int, slot: Slot, action: str, quote: Quote | None) -> None:
        self._counters["writes"] += 1
        self._counters[action + "s"] += 1
        self._schedule(now + self.entry.sample_ns(), self._arrive, (now, slot, action, quote))

    def _arrive(self, t: int, sent: int, slot: Slot, action: str, quote: Quote | None) -> None:
        self._account(t)    # our resting orders change only here and at reads (fills)
        ex = self.exchange
        if action == "create":
            assert quote is not None
            order = ex.create(t, slot.ticker, slot.side, quote.price_bp, quote.size,
                              self.mm.strategy.post_only)
        elif slot.order_id is None:
            self._schedule(t + self.data.sample_ns(), self._answer, (slot, None, None, False))
            return
        elif action == "amend":
            assert quote is not None
            order = ex.amend(t, slot.order_id, quote.price_bp, quote.size)
        else:
            order = ex.cancel(t, slot.order_id)
        if order.status == "rejected":
            self._counters["rejected"] += 1
        self.out.orders.append((sent, t, slot.ticker, "bid" if slot.side == BID else "ask", action,
                                order.order_id, order.price_bp, quote.size if quote else 0,
                                order.status, order.ahead, order.filled))
        resting = order.status == "resting"
        live = Quote(order.price_bp, order.size) if resting else None
        self._schedule(t + self.data.sample_ns(), self._answer,
                       (slot, order.order_id if resting else None, live, action != "cancel"))

    def _answer(self, t: int, slot: Slot, order_id: int | None, live: Quote | None, placed: bool) -> None:
        if order_id is not None:
            order = self.exchange.orders[order_id]
            if order.status != "resting":   # filled out before the answer arrived
                order_id, live = None, None
            else:
                live = Quote(order.price_bp, order.size)
        self.quoting.answered(slot, order_id, live, t, placed)
        self._decide_many(t, (slot.ticker,))

    def _on_fill(self, fill: Fill) -> None:
        self._fill_no += 1
        self.out.ledger.apply(str(self._fill_no), str(fill.order_id), fill.ticker,
                              "bid" if fill.side == BID else "ask", fill.price_bp, fill.size, fill.fee_micro)
        self.out.fills.append(fill)
        self._schedule(fill.t_ns + self.data.sample_ns(), self._report, (str(self._fill_no), fill))

    def _report(self, t: int, fill_id: str, fill: Fill) -> None:
        self.quoting.filled(fill_id, fill.ticker, fill.side, fill.price_bp, fill.size, fill.order_id)
        self._check_loss(t)

    def _check_loss(self, t: int) -> None:
        if self.quoting.halted:
            return
        if self.out.ledger.totals(dict(self.out.last_mid))["pnl"] < -self.mm.risk.max_loss_micro:
            self.quoting.halted = f"max_loss_micro reached at {t}"
            self._decide_many(t, tuple(self.quoting.slots), True)

    # -- series ---------------------------------------------------------------------------------
    def _track_mids(self, t: int, changed: Iterable[str]) -> None:
        mids = self.out.mids
        last = self.out.last_mid
        for ticker in changed:
            book = self.books.get(ticker)
            mid = book.mid() if book is not None else None
            if mid is None or last.get(ticker) == mid:
                continue
            last[ticker] = mid
            ts, ms = mids.setdefault(ticker, ([], []))
            ts.append(t)
            ms.append(mid)

    def _account(self, now: int) -> None:
        """Time quoted up to ``now`` (the state since the last call held until now), and the
        sampled series."""
        prev = self._acc_t
        self._acc_t = now
        if prev and now > prev:
            dt = now - prev
            quoted, quotable = self.out.quoted_ns, self.out.quotable_ns
            resting = self.exchange.resting
            for ticker in self._active:
                book = self.books.get(ticker)
                if book is None or not self.quoting.quotable(ticker, book, prev):
                    continue
                quotable[ticker] = quotable.get(ticker, 0) + dt
                ours = resting.get(ticker)
                if ours and len(ours) > 1 and len({o.side for o in ours}) == 2:
                    quoted[ticker] = quoted.get(ticker, 0) + dt
        if now >= self._next_sample:
            step = int(self.config.sample_s * 1e9)
            self._next_sample = (now // step + 1) * step
            self._sample(now)

    def _sample(self, now: int) -> None:
        ledger = self.out.ledger
        for ticker in self._active:
            book = self.books.get(ticker)
            if book is None:
                continue
            m = ledger.market(ticker)
            mid = book.mid()
            ours = {o.side: o.price_bp for o in self.exchange.resting.get(ticker, ())}
            yes_bid = book.best_bid_bp(0)
            no_bid = book.best_bid_bp(1)
            self.out.series.append((
                now, ticker, m.position, m.realised - m.fees, m.realised + m.unrealised(mid) - m.fees,
                m.fees, mid, yes_bid if yes_bid >= 0 else None, 10_000 - no_bid if no_bid >= 0 else None,
                ours.get(0), ours.get(1)))

    # -- the end --------------------------------------------------------------------------------
    def _settle(self) -> None:
        out = self.out
        for ticker, value in self.results_override.items():
            if ticker in out.settlement_bp or ticker in out.ledger.markets:   # markets of the recording
                out.settlement_bp[ticker] = value
        for ticker in out.ledger.markets:
            out.settlement_bp.setdefault(ticker, None)


def _part_seed(seed: int, part: str) -> int:
    # each random part gets its own stream: adding a draw to one leaves the others unchanged
    x = (int(seed) * 0x9E3779B97F4A7C15 + sum((i + 1) * b for i, b in enumerate(part.encode()))) & (2**63 - 1)
    return x ^ (x >> 29)
