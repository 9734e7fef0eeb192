"""The sim's portfolio routes: balance, positions, fills, settlements, subaccounts and the total
value of resting orders.

Parts: :class:`PortfolioRoutes`.
"""

from __future__ import annotations

from aiohttp import web

from centbook.book import OrderSide
from centbook.fixed import format_money
from centbook.sim import wire
from centbook.sim.engine import MAX_BP
from centbook.sim.errors import SimError, bad_request
from centbook.sim.http.core import RouteFamily
from centbook.sim.http.params import in_time_window, int_field, paginate, str_field

__all__ = ["PortfolioRoutes"]


class PortfolioRoutes(RouteFamily):
    """Handlers of ``/portfolio/balance``, ``positions``, ``fills``, ``settlements``,
    ``subaccounts*`` and ``summary/total_resting_order_value``."""

    async def get_balance(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        sub = self.core.subaccount_q(request, user_id)
        shard = self.core.shard_q(request)
        ex = self.exchange
        shards = [shard] if shard is not None else sorted(ex.shards)
        available = {i: ex.account(user_id, sub or 0, i).available_micro for i in shards}
        total = sum(available.values())
        value = 0
        for (uid, s, ticker), pos in ex.positions.items():
            if uid == user_id and s == (sub or 0) and pos.exchange_index in shards and pos.position:
                m = ex.markets[ticker]
                mark = m.last_price_bp if m.last_price_bp is not None else 5000
                value += pos.position * mark if pos.position > 0 else -pos.position * (10000 - mark)
        return web.json_response(
            {
                "balance": total // 10_000,
                "balance_dollars": wire.dollars4(total),
                "portfolio_value": value // 10_000,
                "updated_ts": ex.last_user_data_ns // 1_000_000_000,
                "balance_breakdown": [
                    {"exchange_index": i, "balance": wire.dollars4(v)} for i, v in available.items()
                ],
            }
        )

    async def get_positions(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        sub = self.core.subaccount_q(request, user_id)
        shard = self.core.shard_q(request)
        q = request.query
        count_filter = q.get("count_filter")
        if count_filter:
            for word in count_filter.split(","):
                if word not in ("position", "total_traded"):
                    raise bad_request(f"count_filter must be position and/or total_traded, got {word!r}")
        positions = [p for (uid, s, _), p in self.exchange.positions.items() if uid == user_id and s == sub]
        if shard is not None:
            positions = [p for p in positions if p.exchange_index == shard]
        if q.get("ticker"):
            positions = [p for p in positions if p.ticker == q["ticker"]]
        if q.get("event_ticker"):
            wanted = set(q["event_ticker"].split(","))
            positions = [p for p in positions if self.exchange.markets[p.ticker].event.event_ticker in wanted]
        if count_filter and "position" in count_filter and "total_traded" not in count_filter:
            positions = [p for p in positions if p.position != 0]
        elif count_filter:
            positions = [p for p in positions if p.position != 0 or p.total_traded_micro]
        positions.sort(key=lambda p: p.ticker)
        page, cursor = paginate(request, positions)
        return web.json_response(
            {
                "market_positions": [wire.position_json(p) for p in page],
                "event_positions": wire.event_positions_json(self.exchange, page),
                "cursor": cursor,
            }
        )

    async def get_fills(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        sub = self.core.subaccount_q(request, user_id, None)
        shard = self.core.shard_q(request)
        q = request.query
        history, cut = self.exchange.history, self.exchange.history.cutoff_ns()
        fills = [f for f in self.exchange.users[user_id].fills if not history.fill(f, cut)]
        if sub is not None:
            fills = [f for f in fills if f.subaccount == sub]
        if shard is not None:
            fills = [f for f in fills if f.exchange_index == shard]
        if q.get("ticker"):
            fills = [f for f in fills if f.ticker == q["ticker"]]
        if q.get("order_id"):
            fills = [f for f in fills if f.order_id == q["order_id"]]
        fills = in_time_window(request, fills)
        fills.reverse()
        page, cursor = paginate(request, fills)
        return web.json_response({"fills": [wire.fill_json(f) for f in page], "cursor": cursor})

    async def get_settlements(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        sub = self.core.subaccount_q(request, user_id, None)
        q = request.query
        items = list(self.exchange.users[user_id].settlements)
        if sub is not None:
            items = [s for s in items if s.subaccount == sub]
        if q.get("ticker"):
            items = [s for s in items if s.ticker == q["ticker"]]
        if q.get("event_ticker"):
            items = [s for s in items if s.event_ticker == q["event_ticker"]]
        items = in_time_window(request, items)
        items.reverse()
        page, cursor = paginate(request, items)
        return web.json_response({"settlements": [wire.settlement_json(s) for s in page], "cursor": cursor})

    async def create_subaccount(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        return web.json_response({"subaccount_number": self.exchange.create_subaccount(user_id)}, status=201)

    async def subaccount_transfer(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        body = await self.core.body(request)
        transfer_id = str_field(body, "client_transfer_id", required=True) or ""
        from_sub = int_field(body, "from_subaccount", 0)
        to_sub = int_field(body, "to_subaccount", 0)
        amount = int_field(body, "amount_cents", 1)
        if from_sub is None or to_sub is None or amount is None:
            raise SimError(
                400,
                "missing_parameters",
                "missing parameters",
                "from_subaccount, to_subaccount and amount_cents are required",
            )
        shard = int_field(body, "exchange_index", 0) or 0
        if shard not in self.exchange.shards:
            raise bad_request(f"unknown exchange_index {shard}")
        self.exchange.transfer(user_id, transfer_id, from_sub, to_sub, amount * 10_000, shard)
        return web.json_response({})

    async def subaccount_balances(self, request: web.Request) -> web.Response:
        user_id = self.core.user(request)
        ex = self.exchange
        out = []
        for sub in sorted(ex.users[user_id].subaccounts):
            for shard in ex.shards:  # one row per (subaccount, exchange_index), as Kalshi's 3.28
                out.append(
                    {
                        "subaccount_number": sub,
                        "exchange_index": shard,
                        "balance": wire.dollars4(ex.account(user_id, sub, shard).available_micro),
                        "updated_ts": ex.last_user_data_ns // 10**9,
                    }
                )
        return web.json_response({"subaccount_balances": out})

    async def total_resting_order_value(self, request: web.Request) -> web.Response:
        # what the user's resting orders would cost if they all filled: a YES bid its price, a
        # YES ask (a NO bid) $1 less its price, per contract
        user_id = self.core.user(request)
        by_shard: dict[int, int] = dict.fromkeys(self.exchange.shards, 0)
        for o in self.exchange.users[user_id].orders:
            if o.status == "resting":
                cost_bp = o.price_bp if o.side == OrderSide.BID else MAX_BP - o.price_bp
                by_shard[o.exchange_index] = by_shard.get(o.exchange_index, 0) + cost_bp * o.remaining
        # bp x hundredths = 1e-6 dollars = micro-dollars
        breakdown = [{"exchange_index": i, "balance": format_money(v)} for i, v in sorted(by_shard.items())]
        total_cents = sum(by_shard.values()) // 10_000
        return web.json_response(
            {"total_resting_order_value": total_cents, "resting_order_value_breakdown": breakdown}
        )
