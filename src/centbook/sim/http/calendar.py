"""The sim's exchange-wide notices: schedule, announcements, series fee changes, incentives.

The schedule is open every day around the clock, with Kalshi's weekly maintenance window
(:mod:`centbook.sim.engine.schedule`) and, while an admin holds shard 0's exchange or trading
paused, a window from the pause on. Announcements and incentive programs come from the
configuration (``config["announcements"]``: ``type``, ``message``, ``delivery_ts``, ``status``;
``config["incentive_programs"]``: ``market_ticker``, ``incentive_type``, ``description``,
``start_ts``, ``end_ts``, ``period_reward`` in centi-cents, optional ``paid_out``,
``target_size`` in contracts, ``discount_factor_bps``, ``max_reward_per_account``); fee changes
from :class:`~centbook.sim.engine.schedule.FeeSchedule`.

Parts: :class:`CalendarRoutes`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from centbook.fixed import format_size
from centbook.sim import wire
from centbook.sim.engine.schedule import maintenance_windows
from centbook.sim.errors import bad_request
from centbook.sim.http.core import RouteFamily
from centbook.sim.http.params import paginate

__all__ = ["CalendarRoutes"]

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INCENTIVE_STATUS = ("all", "active", "upcoming", "closed", "paid_out")
_INCENTIVE_TYPES = ("all", "liquidity", "volume", "margin_maker_volume")


class CalendarRoutes(RouteFamily):
    """Handlers of ``/exchange/schedule``, ``/exchange/announcements``, ``/series/fee_changes`` and
    ``/incentive_programs``."""

    async def schedule(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        now = self.exchange.clock.now_ns()
        windows = [
            {"start_datetime": wire.iso(start), "end_datetime": wire.iso(end)}
            for start, end in maintenance_windows(now)
        ]
        shard = self.exchange.shards.get(0, {})
        if not (shard.get("exchange_active", True) and shard.get("trading_active", True)):
            # an admin pause has no announced end: the sim reports it as lasting a day from now
            paused = {"start_datetime": wire.iso(now), "end_datetime": wire.iso(now + 86_400 * 10**9)}
            windows.insert(0, paused)
        day = [{"open_time": "00:00", "close_time": "23:59"}]
        hours = {"start_time": wire.iso_s(self.exchange.start_s), "end_time": "2030-01-01T00:00:00Z"}
        standard = [{**hours, **dict.fromkeys(_DAYS, day)}]
        return web.json_response({"schedule": {"standard_hours": standard, "maintenance_windows": windows}})

    async def announcements(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        items = [
            {
                "type": a.get("type", "info"),
                "message": str(a["message"]),
                "delivery_time": wire.iso_s(int(a.get("delivery_ts", self.exchange.start_s))),
                "status": a.get("status", "active"),
            }
            for a in self.exchange.config.get("announcements", [])
        ]
        return web.json_response({"announcements": items})

    async def fee_changes(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        series = request.query.get("series_ticker")
        historical = request.query.get("show_historical", "false").lower()
        if historical not in ("true", "false"):
            raise bad_request(f"show_historical must be true or false, got {historical!r}")
        changes = [
            {
                "id": c.change_id,
                "series_ticker": c.series_ticker,
                "fee_type": c.fee_type,
                "fee_multiplier": c.fee_multiplier,
                "scheduled_ts": wire.iso_s(c.scheduled_ts),
            }
            for c in self.exchange.fee_schedule.changes
            if (not series or c.series_ticker == series) and (historical == "true" or not c.applied)
        ]
        return web.json_response({"series_fee_change_arr": changes})

    def _program_json(self, i: int, p: dict[str, Any]) -> dict[str, Any]:
        market = self.exchange.market(p["market_ticker"])
        out = {
            "id": str(p.get("id", f"incentive-{i + 1}")),
            "market_id": market.ticker,
            "market_ticker": market.ticker,
            "incentive_type": p.get("incentive_type", "liquidity"),
            "incentive_description": p.get("description", ""),
            "start_date": wire.iso_s(int(p["start_ts"])),
            "end_date": wire.iso_s(int(p["end_ts"])),
            "period_reward": int(p["period_reward"]),
            "paid_out": bool(p.get("paid_out", False)),
            "discount_factor_bps": p.get("discount_factor_bps"),
            "max_reward_per_account": p.get("max_reward_per_account"),
        }
        if p.get("target_size") is not None:
            out["target_size_fp"] = format_size(int(p["target_size"]) * 100)
        return out

    async def incentive_programs(self, request: web.Request) -> web.Response:
        self.core.optional_user(request)
        q = request.query
        status, kind = q.get("status", "all"), q.get("type", "all")
        if status not in _INCENTIVE_STATUS or kind not in _INCENTIVE_TYPES:
            raise bad_request(
                f"status must be one of {', '.join(_INCENTIVE_STATUS)} and type one of "
                f"{', '.join(_INCENTIVE_TYPES)}; got {status!r}, {kind!r}"
            )
        now_s = self.exchange.clock.now_ns() // 10**9
        programs = [
            self._program_json(i, p)
            for i, p in enumerate(self.exchange.config.get("incentive_programs", []))
            if kind in ("all", p.get("incentive_type", "liquidity")) and _status_is(p, status, now_s)
        ]
        if q.get("incentive_description"):
            programs = [p for p in programs if q["incentive_description"] in p["incentive_description"]]
        page, cursor = paginate(request, programs, max_limit=10_000)
        return web.json_response({"incentive_programs": page, "next_cursor": cursor})


def _status_is(program: dict[str, Any], status: str, now_s: int) -> bool:
    start, end = int(program["start_ts"]), int(program["end_ts"])
    found = {
        "all": True,
        "active": start <= now_s < end,
        "upcoming": now_s < start,
        "closed": end <= now_s,
        "paid_out": bool(program.get("paid_out", False)),
    }
    return found[status]
