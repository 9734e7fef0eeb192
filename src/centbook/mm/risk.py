"""Risk of :class:`centbook.mm.maker.MarketMaker`: limits, the kill switch, reconciliation,
position checks and the exchange's order-group triggers.

Parts: :class:`Risk`.
"""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from centbook.mm.kill import KillSwitch
from centbook.mm.orders import MarketInfo, OrderState
from centbook.mm.strategy import Quote

if TYPE_CHECKING:  # the maker imports this module to build its part; a part only calls back
    from centbook.mm.maker import MarketMaker

__all__ = ["Risk"]


class Risk:
    """Position limits, halting and the kill switch, reconciliation, ``market_positions`` checks.

    A check that fails halts the maker (:meth:`halt`): the kill switch then pulls its orders.

    Parameters
    ----------
    mm : MarketMaker
        The maker whose orders, positions and order groups it watches.
    """

    def __init__(self, mm: MarketMaker) -> None:
        self.mm = mm

    def limit(self, ticker: str, pos: int, bid: Quote | None, ask: Quote | None
               ) -> tuple[Quote | None, Quote | None]:
        """Drop the targets that the settlement floor or the position limits forbid."""
        r = self.mm.config.risk
        floor = self.mm.markets[ticker].floor_bp
        if floor is not None:  # Kalshi refuses a YES price at or below a floor market's floor
            bid = bid if bid is not None and bid.price_bp > floor else None
            ask = ask if ask is not None and ask.price_bp > floor else None
        total = 0
        market = self.mm.ledger.market
        for t, m in self.mm.markets.items():
            total += abs(m.start_position + market(t).position)
        full = total >= r.max_total_position
        if bid is not None and (pos + bid.size > r.max_position or (full and pos >= 0)):
            bid = None
        if ask is not None and (pos - ask.size < -r.max_position or (full and pos <= 0)):
            ask = None
        return bid, ask

    def halt(self, reason: str) -> None:
        """Stop quoting for ``reason``: disarm every slot and run the kill switch (once)."""
        for slot in self.mm.slots.values():
            self.mm.armed_slots.disarm(slot)
        if self.mm.halted is None:
            self.mm.halted = reason
            self.mm.log(f"HALT: {reason}")
            self.mm.spawn(self.kill_switch(reason))

    async def kill_switch(self, reason: str) -> int:
        """Pull every order of the session and verify over REST (:class:`~centbook.mm.kill.KillSwitch`).

        Never raises; the result is kept as ``mm.kill_result`` (summary, JSON, exit code).

        Returns
        -------
        int
            Orders still resting afterwards (0: verified none; -1: nothing could be read).
        """
        mm = self.mm
        for slot in mm.slots.values():
            mm.armed_slots.disarm(slot)
            slot.target = None
        # the slots' writes in flight finish first (bounded): their orders are then in the list
        drain_end = time.monotonic() + 2.0
        while any(slot.busy for slot in mm.slots.values()) and time.monotonic() < drain_end:
            await asyncio.sleep(0.02)
        switch = KillSwitch(mm.rest, mm.prefix, mm.groups, order_ids=lambda: mm.orders.keys(),
                            last_write_ns=self.last_write_ns, subaccount=mm.sub,
                            deadline_s=mm.config.risk.kill_deadline_s, log=mm.log)
        result = await switch.run(reason)
        mm.kill_result = result
        return result.left_resting

    def last_write_ns(self) -> int:
        """Unix ns of the maker's last write (its slots' stamps)."""
        written = max((slot.stamp.written_ns for slot in self.mm.slots.values()), default=0)
        return written + self.mm.wall_offset_ns if written else 0

    async def reconcile(self, why: str = "periodic") -> list[str]:
        """Backfill fills over REST, compare positions net of in-flight writes; a drift twice halts.

        Returns
        -------
        list of str
            Differences found (empty when everything agrees).
        """
        self.mm.counts["reconciles"] += 1
        async for f in self.mm.rest.get_fills(min_ts=int(self.mm.started_wall) - 5, subaccount=self.mm.sub):
            self.mm.event_handler.apply_fill(f.trade_id, f.order_id, f.ticker, f.book_side, f.yes_price_bp,
                                             f.count, f.fee_cost_micro)
        exchange: dict[str, int] = {}
        async for p in self.mm.rest.get_positions(subaccount=self.mm.sub):
            exchange[p.ticker] = p.position
        diffs = []
        for ticker, info in self.mm.markets.items():
            ours = info.start_position + self.mm.ledger.market(ticker).position
            theirs = exchange.get(ticker, 0)
            busy = any(slot.busy for slot in info.slots)
            if ours != theirs and not busy:
                info.drift += 1
                diffs.append(f"{ticker}: exchange position {theirs}, ours {ours}")
                if info.drift >= 2:
                    self.halt(f"position drift ({why}) {ticker}: exchange {theirs}, ours {ours}")
            else:
                info.drift = 0
        return diffs

    def check_loss(self) -> None:
        """Halt when the P&L (net of fees, at the marks) is below ``risk.max_loss_micro``."""
        totals = self.mm.ledger.totals(self.mm.marks())
        if totals["pnl"] < -self.mm.config.risk.max_loss_micro:
            limit = self.mm.config.risk.max_loss_micro
            self.halt(f"max loss: P&L {totals['pnl']} micro-dollars < -{limit}")

    def check_ws_position(self, info: MarketInfo) -> None:
        """Compare the last ``market_positions`` value with the ledger; a lasting difference halts.

        The channel and ``fill`` are separate messages, so for a moment one can be ahead of the
        other: only a difference that lasts ``risk.position_check_s`` is a drift.
        """
        if info.ws_position is None:
            return
        ours = info.start_position + self.mm.ledger.market(info.ticker).position
        now = time.monotonic()
        if ours == info.ws_position:
            info.ws_mismatch_since = None
            info.ws_backfilled = False
        elif info.ws_mismatch_since is None:
            info.ws_mismatch_since = now
        elif now - info.ws_mismatch_since >= self.mm.config.risk.position_check_s:
            if not info.ws_backfilled:
                # a fill message may be what is missing (lost with a connection): backfill fills
                # over REST first, then give the channel one more period before calling it a drift
                info.ws_backfilled = True
                info.ws_mismatch_since = now
                self.mm.spawn(self._backfill_for_check())
                return
            self.halt(f"position drift (market_positions) {info.ticker}: exchange {info.ws_position}, "
                       f"ours {ours} (fills backfilled over REST)")

    async def _backfill_for_check(self) -> None:
        try:
            await self.reconcile("market_positions disagree")
        except Exception as exc:  # noqa: BLE001 - the next check halts if the drift stays
            self.mm.log(f"reconcile for the market_positions check failed: {exc!r}")

    def on_group_triggered(self, group_id: str) -> None:
        """The exchange triggered one of our order groups (its fill limit): its orders are cancelled."""
        if self.mm.stopping or self.mm.halted:
            return  # our own kill switch
        shard = next(s for s, g in self.mm.groups.items() if g == group_id)
        self.mm.counts["group_triggers"] += 1
        for slot in self.mm.slots.values():
            live = slot.live
            if live is not None and live.shard == shard:
                self.mm.armed_slots.disarm(slot)
                live.state = OrderState.DONE
                if not slot.busy:
                    slot.live = None
        if self.mm.config.on_group_trigger == "halt":
            self.halt(f"order group {group_id} on shard {shard} was triggered by the exchange "
                       f"(fill limit {self.mm.config.risk.group_contracts_limit / 100:g} contracts)")
        else:
            self.mm.log(f"order group {group_id} on shard {shard} triggered: reset, quoting again")
            self.mm.spawn(self._reset_group(group_id, shard))

    async def _reset_group(self, group_id: str, shard: int) -> None:
        try:
            await self.mm.rest.reset_order_group(group_id, subaccount=self.mm.sub)
        except Exception as exc:  # noqa: BLE001 - a group that cannot be reset stops quoting
            self.halt(f"reset of order group {group_id} failed: {exc!r}")
            return
        for ticker, info in self.mm.markets.items():
            if info.shard == shard:
                self.mm.decide(ticker, 0)
