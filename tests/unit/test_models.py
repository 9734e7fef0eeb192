"""centbook.protocol.models: settlement bounds on ``Market`` and the client's local floor check.

The floor check needs no exchange: a market cached with ``remember_market`` is enough, and a
refused order never reaches the network (the client here is not even opened).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import centbook
from centbook.protocol.errors import SettlementFloorError
from centbook.protocol.models import Market, ProtocolError

T = "KXSHUTDOWN-26DEC31"


def _market_json(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "ticker": T,
        "event_ticker": "KXSHUTDOWN",
        "market_type": "binary",
        "status": "active",
        "yes_bid_dollars": "0.3100",
        "yes_ask_dollars": "0.3300",
        "no_bid_dollars": "0.6700",
        "no_ask_dollars": "0.6900",
        "last_price_dollars": "0.3200",
        "volume_fp": "10.00",
        "volume_24h_fp": "10.00",
        "open_interest_fp": "5.00",
        "notional_value_dollars": "1.0000",
        "price_level_structure": "linear_cent",
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
        "exchange_index": 0,
    }
    doc.update(extra)
    return doc


def test_settlement_bounds_are_parsed_exactly() -> None:
    m = Market.from_json(_market_json(settlement_bounds_type="floor", settlement_floor_dollars="0.3000"))
    assert (m.settlement_bounds_type, m.settlement_floor_bp) == ("floor", 3000)
    with pytest.raises(ProtocolError, match="settlement_floor_dollars"):  # never rounded
        Market.from_json(_market_json(settlement_bounds_type="floor", settlement_floor_dollars="0.12345"))
    m = Market.from_json(_market_json(settlement_bounds_type="floor", settlement_floor_dollars="0.0000"))
    assert m.settlement_floor_bp == 0  # a new floor market starts at $0: known, not absent
    m = Market.from_json(_market_json(settlement_bounds_type="default"))
    assert (m.settlement_bounds_type, m.settlement_floor_bp) == ("default", None)
    m = Market.from_json(_market_json())  # answers older than the field: "default"
    assert (m.settlement_bounds_type, m.settlement_floor_bp) == ("default", None)
    m = Market.from_json(_market_json(settlement_bounds_type="floor"))  # floor not sent
    assert (m.settlement_bounds_type, m.settlement_floor_bp) == ("floor", None)


def test_bad_settlement_bounds_name_the_field() -> None:
    with pytest.raises(ProtocolError, match="settlement_bounds_type"):
        Market.from_json(_market_json(settlement_bounds_type="ceiling"))
    with pytest.raises(ProtocolError, match="settlement_floor_dollars"):
        Market.from_json(_market_json(settlement_bounds_type="floor", settlement_floor_dollars="30c"))


def test_floor_refuses_at_or_below_the_floor_only_on_floor_markets() -> None:
    floor = Market.from_json(_market_json(settlement_bounds_type="floor", settlement_floor_dollars="0.3000"))
    assert floor.floor_refuses(3000) and floor.floor_refuses(2900) and not floor.floor_refuses(3100)
    unknown = Market.from_json(_market_json(settlement_bounds_type="floor"))
    default = Market.from_json(
        _market_json(settlement_bounds_type="default", settlement_floor_dollars="0.3000")
    )
    assert not unknown.floor_refuses(100) and not default.floor_refuses(100)


def test_create_and_amend_refuse_a_price_at_the_floor_locally() -> None:
    floor = Market.from_json(_market_json(settlement_bounds_type="floor", settlement_floor_dollars="0.3000"))
    client = centbook.RestClient("http://127.0.0.1:9/trade-api/v2", auto_limits=False)
    client.remember_market(floor)

    async def body() -> None:
        for side in ("bid", "ask"):  # the bound is on the YES price, whichever side
            with pytest.raises(SettlementFloorError) as info:
                await client.create_order(T, side, 3000, 100)
            assert (info.value.price_bp, info.value.floor_bp, info.value.ticker) == (3000, 3000, T)
            assert "3000" in str(info.value) and T in str(info.value)
        with pytest.raises(SettlementFloorError):
            await client.amend_order("some-order", T, "bid", 2500, 100)
        with pytest.raises(SettlementFloorError):
            await client.batch_create_orders([{"ticker": T, "side": "bid", "price_bp": 100, "count": 100}])
        # above the floor it passes the check and fails later, for want of an open client
        with pytest.raises(RuntimeError, match="not open"):
            await client.create_order(T, "bid", 3100, 100)

    asyncio.run(body())
    assert client.stats["requests"] == 0


def test_average_fill_price_is_money_not_a_grid_price():
    """A volume-weighted average of fills at 0.42 x 1 and 0.43 x 2 is 0.426667: off any grid."""
    from centbook.protocol.models import CreateOrderResult

    body = {"order_id": "o1", "client_order_id": "c1", "fill_count": "3.00", "remaining_count": "0.00",
            "average_fill_price": "0.426667", "average_fee_paid": "0.010000", "ts_ms": 1}
    r = CreateOrderResult.from_json(body, T, "bid", 4300, 0)
    assert r.average_fill_price_micro == 426_667 and r.average_fee_paid_micro == 10_000
    with pytest.raises(ProtocolError, match="average_fill_price"):
        CreateOrderResult.from_json({**body, "average_fill_price": "0.4266667"}, T, "bid", 4300, 0)
