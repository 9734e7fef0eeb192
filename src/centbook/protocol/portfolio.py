"""Kalshi's answers about the account's book, its subaccounts and the exchange's notices.

- the account: :class:`QueuePosition`, :class:`RestingOrderValue`, :class:`SubaccountBalance`;
- the exchange's calendar and notices: :class:`ExchangeSchedule` (its weekly hours and
  maintenance windows), :class:`Announcement`, :class:`SeriesFeeChange`,
  :class:`IncentiveProgram`.

Units and parsing are described once, in :mod:`centbook.protocol.models`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from centbook.protocol.fields import (
    ProtocolError,
    convert,
    money_field,
    parse_time_ns,
    required,
    size_field,
)

__all__ = [
    "Announcement", "ExchangeSchedule", "IncentiveProgram", "QueuePosition", "RestingOrderValue",
    "SeriesFeeChange", "SubaccountBalance",
]  # fmt: skip


def _time(d: Any, name: str) -> int:
    ns = parse_time_ns(str(required(d, name)))
    if ns is None:
        raise ProtocolError(f"required field {name!r} is empty")
    return ns


class QueuePosition(msgspec.Struct, frozen=True, kw_only=True):
    """How much rests ahead of one order at its price, in hundredths of a contract."""

    order_id: str
    ticker: str
    ahead: int

    @classmethod
    def from_json(cls, d: Any) -> QueuePosition:
        return cls(
            order_id=str(required(d, "order_id")),
            ticker=str(required(d, "market_ticker")),
            ahead=size_field(d, "queue_position_fp"),
        )


class RestingOrderValue(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /portfolio/summary/total_resting_order_value``: total in cents, per shard in micro-dollars."""

    total_cents: int
    by_exchange_index: dict[int, int]

    @classmethod
    def from_json(cls, d: Any) -> RestingOrderValue:
        return cls(
            total_cents=convert(int, d, "total_resting_order_value"),
            by_exchange_index={
                int(required(b, "exchange_index")): money_field(b, "balance")
                for b in required(d, "resting_order_value_breakdown")
            },
        )


class SubaccountBalance(msgspec.Struct, frozen=True, kw_only=True):
    """One subaccount's balance on one shard, in micro-dollars (``updated_ts`` Unix seconds)."""

    subaccount: int
    exchange_index: int
    balance_micro: int
    updated_ts: int

    @classmethod
    def from_json(cls, d: Any) -> SubaccountBalance:
        return cls(
            subaccount=convert(int, d, "subaccount_number"),
            exchange_index=convert(int, d, "exchange_index"),
            balance_micro=money_field(d, "balance"),
            updated_ts=convert(int, d, "updated_ts"),
        )


class ExchangeSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /exchange/schedule``: weekly trading hours and the maintenance windows (Unix ns).

    ``standard_hours`` keeps Kalshi's entries as sent (``start_time``, ``end_time`` and one list
    of ``{open_time, close_time}`` per weekday, in ET); ``maintenance_windows`` holds
    ``(start_ns, end_ns)`` pairs, the soonest first.
    """

    standard_hours: list[dict[str, Any]]
    maintenance_windows: list[tuple[int, int]]

    @classmethod
    def from_json(cls, d: Any) -> ExchangeSchedule:
        schedule = required(d, "schedule")
        windows = [
            (_time(w, "start_datetime"), _time(w, "end_datetime"))
            for w in required(schedule, "maintenance_windows")
        ]
        hours = list(required(schedule, "standard_hours"))
        return cls(standard_hours=hours, maintenance_windows=sorted(windows))

    def in_maintenance(self, ts_ns: int) -> bool:
        """Whether ``ts_ns`` falls inside a maintenance window."""
        return any(start <= ts_ns < end for start, end in self.maintenance_windows)


class Announcement(msgspec.Struct, frozen=True, kw_only=True):
    """An exchange announcement: ``type`` info, warning or error; ``status`` active or inactive."""

    type: str
    message: str
    delivery_time_ns: int
    status: str

    @classmethod
    def from_json(cls, d: Any) -> Announcement:
        return cls(
            type=str(required(d, "type")),
            message=str(required(d, "message")),
            delivery_time_ns=_time(d, "delivery_time"),
            status=str(required(d, "status")),
        )


class SeriesFeeChange(msgspec.Struct, frozen=True, kw_only=True):
    """A scheduled change of a series' fee type and multiplier (ppm) at ``scheduled_ns``."""

    change_id: str
    series_ticker: str
    fee_type: str
    fee_multiplier_ppm: int
    scheduled_ns: int

    @classmethod
    def from_json(cls, d: Any) -> SeriesFeeChange:
        return cls(
            change_id=str(required(d, "id")),
            series_ticker=str(required(d, "series_ticker")),
            fee_type=str(required(d, "fee_type")),
            fee_multiplier_ppm=convert(lambda v: round(float(v) * 1_000_000), d, "fee_multiplier"),
            scheduled_ns=_time(d, "scheduled_ts"),
        )


class IncentiveProgram(msgspec.Struct, frozen=True, kw_only=True):
    """A liquidity or volume incentive on one market.

    ``period_reward_micro`` is the period's reward (Kalshi sends centi-cents: 100 micro-dollars
    each); ``target_size`` in hundredths of a contract.
    """

    program_id: str
    ticker: str
    incentive_type: str
    description: str
    start_ns: int
    end_ns: int
    period_reward_micro: int
    paid_out: bool
    discount_factor_bps: int | None
    target_size: int | None
    max_reward_per_account_micro: int | None

    @classmethod
    def from_json(cls, d: Any) -> IncentiveProgram:
        cap = convert(int, d, "max_reward_per_account", True)
        return cls(
            program_id=str(required(d, "id")),
            ticker=str(required(d, "market_ticker")),
            incentive_type=str(required(d, "incentive_type")),
            description=str(d.get("incentive_description") or ""),
            start_ns=_time(d, "start_date"),
            end_ns=_time(d, "end_date"),
            period_reward_micro=convert(int, d, "period_reward") * 100,
            paid_out=bool(required(d, "paid_out")),
            discount_factor_bps=convert(int, d, "discount_factor_bps", True),
            target_size=size_field(d, "target_size_fp", True),
            max_reward_per_account_micro=None if cap is None else cap * 100,
        )


