"""The REST client's account extras and the exchange's notices.

:class:`Portfolio` reads queue positions (one order, every order), the total value of resting
orders and subaccount balances, creates subaccounts and moves money between them; it also reads
the exchange's schedule, announcements, series fee changes and incentive programs. Results are
typed (:mod:`centbook.protocol.portfolio`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from centbook.fixed import parse_size
from centbook.protocol.fields import ProtocolError
from centbook.protocol.portfolio import (
    Announcement,
    ExchangeSchedule,
    IncentiveProgram,
    QueuePosition,
    RestingOrderValue,
    SeriesFeeChange,
    SubaccountBalance,
)
from centbook.rest import budget

__all__ = ["Portfolio"]

# how the account writes go: never re-sent by the transport, from the create budget
_WRITE: dict[str, Any] = {"write": True, "priority": budget.CREATE, "unknown": {}}


class Portfolio:
    """The account extras and exchange notices of :class:`~centbook.rest.client.RestClient`.

    Parameters
    ----------
    request, pages : callable
        The transport's ``request`` and ``pages``.
    """

    def __init__(self, request: Callable[..., Any], pages: Callable[..., AsyncIterator[Any]]) -> None:
        self._request = request
        self._pages = pages

    # -- the account --------------------------------------------------------------------------------
    async def get_queue_position(self, order_id: str) -> int:
        """Return the size resting ahead of an order at its price, in hundredths."""
        doc = await self._request("GET", f"/portfolio/orders/{order_id}/queue_position")
        try:
            return parse_size(doc["queue_position_fp"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"queue_position_fp: {exc!r}") from None

    async def get_queue_positions(
        self, *, tickers: list[str] | None = None, event_ticker: str | None = None,
        subaccount: int | None = None,
    ) -> list[QueuePosition]:
        """Return the queue position of every resting order of some markets or of an event."""
        if not tickers and not event_ticker:
            raise ValueError("get_queue_positions: give tickers or event_ticker")
        params = {
            "market_tickers": ",".join(tickers) if tickers else None, "event_ticker": event_ticker,
            "subaccount": subaccount,
        }  # fmt: skip
        doc = await self._request("GET", "/portfolio/orders/queue_positions", params=params)
        return [QueuePosition.from_json(q) for q in doc.get("queue_positions") or []]

    async def get_total_resting_order_value(self) -> RestingOrderValue:
        """Return what the resting orders would cost if they all filled (total and per shard)."""
        doc = await self._request("GET", "/portfolio/summary/total_resting_order_value")
        return RestingOrderValue.from_json(doc)

    async def get_subaccount_balances(self) -> list[SubaccountBalance]:
        """Return every subaccount's balance on every shard."""
        doc = await self._request("GET", "/portfolio/subaccounts/balances")
        return [SubaccountBalance.from_json(b) for b in doc.get("subaccount_balances") or []]

    async def create_subaccount(self, *, exchange_index: int | None = None) -> int:
        """Create a subaccount; return its number."""
        body = {} if exchange_index is None else {"exchange_index": exchange_index}
        doc = await self._request("POST", "/portfolio/subaccounts", body=body, **_WRITE)
        try:
            return int(doc["subaccount_number"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"subaccount_number: {exc!r}") from None

    async def transfer_between_subaccounts(
        self, client_transfer_id: str, from_subaccount: int, to_subaccount: int, amount_cents: int,
        *, exchange_index: int | None = None,
    ) -> None:
        """Move ``amount_cents`` from one subaccount to another (``client_transfer_id`` dedupes)."""
        if amount_cents <= 0:
            raise ValueError(f"amount_cents must be positive, got {amount_cents}")
        body: dict[str, Any] = {
            "client_transfer_id": client_transfer_id, "from_subaccount": from_subaccount,
            "to_subaccount": to_subaccount, "amount_cents": amount_cents,
        }  # fmt: skip
        if exchange_index is not None:
            body["exchange_index"] = exchange_index
        # a lost answer raises OutcomeUnknownError: re-send with the same client_transfer_id
        await self._request("POST", "/portfolio/subaccounts/transfer", body=body, **_WRITE)

    # -- the exchange's notices ---------------------------------------------------------------------
    async def get_exchange_schedule(self) -> ExchangeSchedule:
        """Return the trading hours and the maintenance windows (``GET /exchange/schedule``)."""
        return ExchangeSchedule.from_json(await self._request("GET", "/exchange/schedule", auth=False))

    async def get_exchange_announcements(self) -> list[Announcement]:
        """Return the exchange's announcements."""
        doc = await self._request("GET", "/exchange/announcements", auth=False)
        return [Announcement.from_json(a) for a in doc.get("announcements") or []]

    async def get_series_fee_changes(
        self, *, series_ticker: str | None = None, show_historical: bool | None = None
    ) -> list[SeriesFeeChange]:
        """Return the scheduled series fee changes (past ones too with ``show_historical``)."""
        params = {"series_ticker": series_ticker, "show_historical": show_historical}
        doc = await self._request("GET", "/series/fee_changes", params=params, auth=False)
        return [SeriesFeeChange.from_json(c) for c in doc.get("series_fee_change_arr") or []]

    async def get_incentive_programs(
        self, *, status: str | None = None, type: str | None = None, limit: int = 1000
    ) -> AsyncIterator[IncentiveProgram]:
        """Iterate over incentive programs, every page (this list's cursor is ``next_cursor``)."""
        params = {"status": status, "type": type, "limit": limit}
        path, key = "/incentive_programs", "incentive_programs"
        async for item in self._pages(path, key, params, auth=False, cursor_key="next_cursor"):
            yield IncentiveProgram.from_json(item)
