"""Synthetic order flow for the embedded exchange: books that look and move like real ones.

Per market, liquidity providers quote around a fair value that drifts (a bounded random walk),
takers cross the spread with immediate-or-cancel orders, and resting quotes are cancelled and
amended. Every action is an ordinary engine call by a dedicated, funded flow user of the market's
shard (``flow-lp-<shard>`` makes, ``flow-taker-<shard>`` takes: two users, so self-trade
prevention never blocks a trade), so books, trades, fills and the WebSocket stream stay
consistent with each other. Prices are picked on the market's own grid
(:class:`centbook.grid.PriceGrid`), sub-cent grids included.

Configuration (``config["flow"]``, all optional)::

    {"enabled": false,        # start with the sim (``centbook sim --flow``)
     "rate": 200,             # flow actions per second over all markets (~ book updates/s)
     "seed": 0,
     "markets": null,         # tickers (null: every market)
     "max_orders": 80,        # resting flow orders per market (dozens of levels)
     "spread_bp": 300,        # mean distance of a quote from fair value
     "taker": 0.1, "cancel": 0.2, "amend": 0.1,    # action mix (fractions); the rest are
     "decrease": 0.1,                               # new quotes
     "volatility_bp": 4,      # fair-value step per market per tick
     "tick_s": 0.005,         # loop period; work is batched per tick
     "schedule": [            # lifecycle at seconds after the flow starts
        {"at_s": 5, "ticker": "T", "action": "pause"},     # also resume, close, open,
        {"at_s": 9, "ticker": "T", "action": "settle", "result": "yes"},
        {"at_s": 3, "ticker": "T", "action": "price_structure",
         "price_level_structure": "deci_cent", "race_ticks": 2}]}

A ``price_structure`` change switches the grid at once and places quotes at the new finer prices
for ``race_ticks`` loop ticks before the ``price_level_structure_updated`` event is announced:
the ordering Kalshi allows and clients must survive.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from centbook.book import OrderSide
from centbook.fixed import parse_price_bp
from centbook.sim.config import PRICE_STRUCTURES, default_config
from centbook.sim.engine import MAX_BP, Exchange, Market, Order
from centbook.sim.errors import SimError

__all__ = ["Flow", "FLOW_DEFAULTS"]

_BID, _ASK = OrderSide.BID, OrderSide.ASK

FLOW_DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "rate": 200.0,
    "seed": 0,
    "markets": None,
    "max_orders": 80,
    "spread_bp": 300,
    "taker": 0.1,
    "cancel": 0.2,
    "amend": 0.1,
    "decrease": 0.1,
    "volatility_bp": 4.0,
    "tick_s": 0.005,
    "schedule": [],
}
FUNDING = "1000000000.00"
# quote sizes in hundredths (a few large); drawn as int(random() * len), cheaper than choice()
_SIZES = tuple(c * 100 for c in (1, 1, 2, 5, 10, 10, 25, 50, 100))


class _Book:
    __slots__ = ("ticker", "market", "fair", "orders", "shard", "acts")

    def __init__(self, market: Market, fair: float) -> None:
        self.ticker = market.ticker
        self.market = market
        self.fair = fair
        self.orders: list[Order] = []  # the LP's orders here; finished ones are dropped lazily
        self.shard = market.exchange_index
        self.acts = 0


class Flow:
    """Seeded synthetic order flow driven by an asyncio task (see the module docstring).

    Parameters
    ----------
    exchange : Exchange
        The engine the flow trades on.
    config : dict
        ``config["flow"]`` of the sim; missing keys from :data:`FLOW_DEFAULTS`.
    log : callable, optional
        ``log(kind, **data)`` for lifecycle actions (the sim's fault log).
    """

    def __init__(
        self, exchange: Exchange, config: dict[str, Any], log: Callable[..., None] | None = None
    ) -> None:
        self.exchange = exchange
        self.config = {**FLOW_DEFAULTS, **config}
        self.rate = float(self.config["rate"])
        self.paused = False
        self.rng = random.Random(self.config["seed"])
        self._log = log or (lambda kind, **data: None)
        self._task: asyncio.Task[None] | None = None
        self._users: dict[int, tuple[str, str]] = {}
        self._books: dict[str, _Book] = {}
        self._budget = 0.0
        self.actions = 0
        self.rejected = 0
        self._schedule: list[dict[str, Any]] = sorted(
            (dict(e) for e in self.config["schedule"]), key=lambda e: float(e["at_s"])
        )
        self._pending_announce: list[tuple[int, str]] = []
        cfg = self.config
        # cumulative action thresholds for one uniform draw: cancel, amend, taker, decrease
        self._mix = (
            float(cfg["cancel"]),
            float(cfg["cancel"] + cfg["amend"]),
            float(cfg["cancel"] + cfg["amend"] + cfg["taker"]),
            float(cfg["cancel"] + cfg["amend"] + cfg["taker"] + cfg["decrease"]),
        )
        self._max_orders = int(cfg["max_orders"])
        self._started = 0.0
        self._ticks = 0

    # -- setup -------------------------------------------------------------------------------------
    def _user(self, shard: int) -> tuple[str, str]:
        users = self._users.get(shard)
        if users is None:
            ids = []
            for role in ("lp", "taker"):
                name = f"flow-{role}-{shard}"
                existing = self.exchange.users_by_name.get(name)
                ids.append(
                    existing.user_id
                    if existing is not None
                    else self.exchange.add_user(name, tier="unlimited", funding={shard: FUNDING})
                )
            users = self._users[shard] = (ids[0], ids[1])
        return users

    def _book(self, ticker: str) -> _Book:
        book = self._books.get(ticker)
        if book is None:
            market = self.exchange.markets[ticker]
            fair = float(market.last_price_bp or self.rng.randint(2500, 7500))
            book = self._books[ticker] = _Book(market, fair)
            self._user(market.exchange_index)
        return book

    def tickers(self) -> list[str]:
        wanted = self.config["markets"]
        return list(wanted) if wanted else list(self.exchange.markets)

    # -- running -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the flow task in the running loop (no-op if it runs)."""
        if self._task is not None and not self._task.done():
            return
        for t in self.tickers():
            self._book(t)
        self._started = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the flow task."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def state(self) -> dict[str, Any]:
        """Return ``running``, ``paused``, ``rate``, ``actions`` done and ``rejected`` by the engine."""
        return {
            "running": self._task is not None and not self._task.done(),
            "paused": self.paused,
            "rate": self.rate,
            "actions": self.actions,
            "rejected": self.rejected,
        }

    async def _run(self) -> None:
        tick_s = float(self.config["tick_s"])
        last = time.monotonic()
        next_s = last + tick_s
        while True:
            # sleep to the next tick, not a whole tick after the work: a step that took most of
            # a tick must not leave the core idle (when behind, yield once so sockets flow)
            await asyncio.sleep(max(0.0, next_s - time.monotonic()))
            now = time.monotonic()
            next_s = max(next_s + tick_s, now)
            dt = now - last
            last = now
            self._ticks += 1
            self._run_schedule(now - self._started)
            if self.paused:
                self._budget = 0.0
                continue
            if self._ticks % max(1, int(1.0 / tick_s)) == 0:
                self.prune()
            # never hold the loop for more than a few ticks: sockets must keep flowing
            self.step(dt, busy_s=max(4 * tick_s, 0.02))

    def step(self, dt: float, busy_s: float | None = None) -> int:
        """Do the work of ``dt`` seconds at the current rate (drift, then actions); return actions.

        With ``busy_s``, stop after that much wall time: work that does not fit is dropped, not
        carried over (the achieved rate is then below the requested one).
        """
        self._budget = min(self._budget + self.rate * dt, self.rate * 0.05 + 1)
        n = int(self._budget)
        self._budget -= n
        books = [self._books[t] for t in self.tickers() if t in self._books]
        if not books:
            return 0
        vol = float(self.config["volatility_bp"])
        rng = self.rng
        for book in books:
            book.fair = min(9500.0, max(500.0, book.fair + rng.gauss(0.0, vol)))
        if busy_s is None:
            for _ in range(n):
                self.act(books[int(rng.random() * len(books))])
            return n
        deadline = time.perf_counter() + busy_s
        done = 0
        while done < n:
            for _ in range(min(32, n - done)):
                self.act(books[int(rng.random() * len(books))])
            done += min(32, n - done)
            if time.perf_counter() > deadline:
                self._budget = 0.0
                break
        return done

    def prune(self, keep_fills: int = 1000) -> int:
        """Forget the flow users' finished orders and old fills (a long ``--flow`` run stays small).

        Only the flow's own users are touched; their resting orders, positions and balances stay.
        Returns the number of orders forgotten.
        """
        flow_ids = {uid for pair in self._users.values() for uid in pair}
        ex = self.exchange
        dead = [
            oid
            for oid, o in ex.orders.items()
            if o.user_id in flow_ids and o.status != "resting" and o.reserved_micro == 0
        ]
        for oid in dead:
            del ex.orders[oid]
        for uid in flow_ids:
            user = ex.users[uid]
            user.orders = [o for o in user.orders if o.status == "resting"]
            del user.fills[:-keep_fills]
        return len(dead)

    # -- actions -----------------------------------------------------------------------------------
    def act(self, book: _Book) -> None:
        """Do one random action on one market."""
        if not book.market.accepting_orders:
            return
        book.acts += 1
        if book.acts % 16 == 0:
            # orders filled or cancelled by others leave the list here (and in _pick)
            book.orders = [o for o in book.orders if o.status == "resting"]
        r = self.rng.random()
        cancel, amend, taker, decrease = self._mix
        orders = book.orders
        self.actions += 1
        try:
            if len(orders) >= self._max_orders or (r < cancel and orders):
                self._cancel(book)
            elif r < amend and orders:
                self._amend(book)
            elif r < taker:
                self._take(book)
            elif r < decrease and orders:
                self._decrease(book)
            else:
                self._quote(book)
        except SimError:
            self.rejected += 1

    def _size(self) -> int:
        rng = self.rng
        size = _SIZES[int(rng.random() * len(_SIZES))]
        if rng.random() < 0.1:
            size += rng.randint(1, 99)  # fractional contracts are real
        return size

    def _price(self, market: Any, side: OrderSide, fair: float, offset: float) -> int | None:
        grid = market.grid
        if side is _BID:
            p = grid.round_down(max(1, int(fair - offset)))
        else:
            p = grid.round_up(min(MAX_BP - 1, int(fair + offset) + 1))
        if p is None or p <= 0 or p >= MAX_BP:
            return None
        return int(p)

    def _quote(self, book: _Book, fine_only: bool = False) -> None:
        market = book.market
        rng = self.rng
        side = _BID if rng.random() < 0.5 else _ASK
        offset = rng.expovariate(1.0 / float(self.config["spread_bp"]))
        price = self._price(market, side, book.fair, offset)
        if price is None:
            return
        if fine_only and price % 100 == 0:
            step = market.grid.step_at(price)
            price = price - step if side is _BID else price + step
            if not 0 < price < MAX_BP or not market.grid.is_valid(price, 0):
                return
        # never cross: a quote that would trade goes one step behind the far side
        if side is _BID and market.asks and price >= min(market.asks):
            return
        if side is _ASK and market.bids and price <= max(market.bids):
            return
        lp, _ = self._user(book.shard)
        order, _ = self.exchange.create_order(
            lp,
            ticker=book.ticker,
            side=side,
            count=self._size(),
            price_bp=price,
            time_in_force="good_till_canceled",
            stp="taker_at_cross",
            exchange_index=book.shard,
        )
        if order.status == "resting":
            book.orders.append(order)

    def _take(self, book: _Book) -> None:
        market = book.market
        side = _BID if self.rng.random() < 0.5 else _ASK
        far = (
            (min(market.asks) if market.asks else None)
            if side is _BID
            else (max(market.bids) if market.bids else None)
        )
        if far is None:
            return
        _, taker = self._user(book.shard)
        self.exchange.create_order(
            taker,
            ticker=book.ticker,
            side=side,
            count=self._size(),
            price_bp=far,
            time_in_force="immediate_or_cancel",
            stp="taker_at_cross",
            exchange_index=book.shard,
        )
        # the fair value leans toward where the trades go
        book.fair += (1 if side is _BID else -1) * float(self.config["volatility_bp"])

    def _pick(self, book: _Book) -> Order | None:
        for _ in range(4):
            if not book.orders:
                return None
            i = int(self.rng.random() * len(book.orders))
            order = book.orders[i]
            if order.status == "resting":
                return order
            book.orders[i] = book.orders[-1]
            book.orders.pop()
        return None

    def _cancel(self, book: _Book) -> None:
        order = self._pick(book)
        if order is None:
            return
        lp, _ = self._user(book.shard)
        self.exchange.cancel_order(lp, order.order_id, 0, book.shard)
        book.orders.remove(order)

    def _decrease(self, book: _Book) -> None:
        order = self._pick(book)
        if order is None or order.remaining <= 1:
            return
        lp, _ = self._user(book.shard)
        reduce_by = self.rng.randint(1, max(1, order.remaining // 2))
        self.exchange.decrease_order(lp, order.order_id, 0, book.shard, reduce_by, None)

    def _amend(self, book: _Book) -> None:
        order = self._pick(book)
        if order is None:
            return
        market = book.market
        lp, _ = self._user(book.shard)
        rng = self.rng
        if rng.random() < 0.5:
            count = order.filled + max(1, order.remaining + rng.choice((-100, 100, 200)))
            price = order.price_bp
        else:
            count = order.filled + order.remaining
            picked = self._price(
                market, order.side, book.fair, rng.expovariate(1.0 / float(self.config["spread_bp"]))
            )
            if picked is None:
                return
            price = picked
            if order.side is _BID and market.asks and price >= min(market.asks):
                return
            if order.side is _ASK and market.bids and price <= max(market.bids):
                return
        if count <= order.filled:
            return
        self.exchange.amend_order(
            lp,
            order.order_id,
            0,
            book.shard,
            ticker=book.ticker,
            side=order.side,
            price_bp=price,
            count=count,
        )

    # -- schedule ----------------------------------------------------------------------------------
    def _run_schedule(self, elapsed_s: float) -> None:
        while self._pending_announce and self._pending_announce[0][0] <= self._ticks:
            _, ticker = self._pending_announce.pop(0)
            self.exchange.announce_price_structure(ticker)
            self._log("flow_price_structure_announced", ticker=ticker)
        while self._schedule and float(self._schedule[0]["at_s"]) <= elapsed_s:
            self.run_action(self._schedule.pop(0))

    def run_action(self, entry: dict[str, Any]) -> None:
        """Apply one lifecycle action now (``open``, ``pause``, ``resume``, ``close``, ``settle``,
        ``price_structure``), as the schedule does."""
        ticker = entry["ticker"]
        action = entry["action"]
        ex = self.exchange
        self._log("flow_lifecycle", ticker=ticker, action=action)
        if action == "open":
            market = ex.market(ticker)
            market.open_s = min(market.open_s, ex.clock.now_ns() // 1_000_000_000)
            ex.tick()
        elif action == "pause":
            ex.set_market_halted(ticker, True)
        elif action == "resume":
            ex.set_market_halted(ticker, False)
        elif action == "close":
            ex.close_market(ticker)
        elif action == "settle":
            value = entry.get("settlement_value")
            ex.settle_market(
                ticker, entry.get("result", "yes"), parse_price_bp(value) if value is not None else None
            )
        elif action == "price_structure":
            structure = entry.get("price_level_structure", "deci_cent")
            ranges = entry.get("price_ranges") or PRICE_STRUCTURES[structure]
            ex.set_price_structure(ticker, structure, ranges, announce=False)
            book = self._book(ticker)
            # the race Kalshi allows: quotes at the new (finer) prices before the announcement
            for _ in range(int(entry.get("race_orders", 4))):
                try:
                    self._quote(book, fine_only=True)
                except SimError:
                    self.rejected += 1
            self._pending_announce.append((self._ticks + int(entry.get("race_ticks", 2)), ticker))
        else:
            raise ValueError(f"unknown flow action {action!r}")


def measure(rate: float, seconds: float, *, seed: int = 0) -> dict[str, float]:
    """Run the flow flat out on a fresh default exchange for ``seconds``; return achieved rates.

    Parameters
    ----------
    rate : float
        Requested flow actions per second.
    seconds : float
        Wall time to run.

    Returns
    -------
    dict
        ``actions_per_s`` and ``book_updates_per_s`` (engine book level changes per second).
    """
    exchange = Exchange(default_config(), seed=seed)
    deltas = [0]

    def count(market: Market, order: Order, delta: int, cause: Order, ts_ns: int) -> None:
        deltas[0] += 1

    exchange.on_book_delta(count)
    flow = Flow(exchange, {"rate": rate, "seed": seed})
    for ticker in flow.tickers():
        flow._book(ticker)
    start = last = time.perf_counter()
    actions = 0
    while (now := time.perf_counter()) - start < seconds:
        actions += flow.step(now - last)
        last = now
    elapsed = time.perf_counter() - start
    return {"actions_per_s": actions / elapsed, "book_updates_per_s": deltas[0] / elapsed}


if __name__ == "__main__":  # python -m centbook.sim.flow [RATE] [SECONDS]
    _rate = float(sys.argv[1]) if len(sys.argv) > 1 else 50_000.0
    _seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    _result = measure(_rate, _seconds)
    print(
        f"requested {_rate:.0f} actions/s for {_seconds:.0f} s: "
        f"{_result['actions_per_s']:.0f} actions/s, {_result['book_updates_per_s']:.0f} book updates/s"
    )
