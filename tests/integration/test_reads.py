"""The REST client's market-data reads against the embedded exchange over loopback.

Every number the client reads is checked against what the sim's engine did (its trades, its
book, its configuration), so the client and the sim must agree with each other and with Kalshi's
3.28 shapes (the sim's answers are also validated against them in ``test_conformance_reads``).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import conforming_sim

import centbook
from centbook.protocol.models import Market, MarketCandlesticks, MultivariateCollection, Ohlc, ProtocolError
from centbook.sim import default_config

T = "KXDEMO-26DEC31-T50"  # linear cent, shard 0
T_CENTI = "KXBTCD-26DEC3117-T100000"  # centi cent, shard 2


def _client(url: str, key_id: str, pem: str) -> centbook.RestClient:
    return centbook.RestClient(url, centbook.Credentials(key_id, pem), timeout_s=5.0)


def _strike_config() -> dict[str, Any]:
    config = default_config()
    config["markets"].append(
        {
            "ticker": "KXDEMO-26DEC31-B55",
            "event_ticker": "KXDEMO-26DEC31",
            "yes_sub_title": "50 to 60",
            "no_sub_title": "Outside 50 to 60",
            "strike_type": "between",
            "floor_strike": 50,
            "cap_strike": 59.99,
            "early_close_condition": "closes early if the index is published",
        }
    )
    return config


def test_market_carries_every_field_of_the_schema(arun: Any) -> None:
    async def body() -> None:
        async with conforming_sim(_strike_config(), seed=3, tier="unlimited") as sim:
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other.api_key_id, other.private_key_pem) as them,
            ):
                btc = await me.get_market(T_CENTI)
                strikes = (btc.strike_type, btc.floor_strike, btc.cap_strike)
                assert strikes == ("greater_or_equal", 100000.0, None)
                assert (btc.yes_sub_title, btc.no_sub_title) == ("$100,000 or above", "Below $100,000")
                engine = sim.exchange.markets[T_CENTI]
                assert btc.created_time_ns == engine.created_s * 10**9
                assert btc.latest_expiration_time_ns == (engine.close_s + 7 * 86400) * 10**9
                assert btc.settlement_timer_seconds == engine.settlement_timer_s
                assert btc.rules_primary == engine.rules_primary and btc.rules_secondary

                band = await me.get_market("KXDEMO-26DEC31-B55")
                assert (band.strike_type, band.floor_strike, band.cap_strike) == ("between", 50.0, 59.99)
                assert band.early_close_condition == "closes early if the index is published"

                # the day-ago figures: a trade now counts in the 24-hour volume; a day later it is
                # the previous price and the 24-hour volume is empty again
                await them.create_order(T, "ask", 4300, 500)
                await me.create_order(T, "bid", 4300, 200, time_in_force="immediate_or_cancel")
                now = await me.get_market(T)
                assert (now.volume_24h, now.last_price_bp, now.previous_price_bp) == (200, 4300, 0)
                assert (now.previous_yes_bid_bp, now.previous_yes_ask_bp) == (0, 10000)
                sim.admin.shift_clock(86_400 + 1)
                later = await me.get_market(T)
                assert (later.volume, later.volume_24h, later.previous_price_bp) == (200, 0, 4300)
                assert later.previous_yes_ask_bp == 4300  # the ask left resting a day ago

    arun(body())


def test_market_refuses_a_strike_type_it_does_not_know() -> None:
    market = {
        "ticker": "X", "event_ticker": "E", "status": "active", "price_ranges": [],
        **{f"{k}_dollars": "0.5000" for k in ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price")},
        "volume_fp": "0", "volume_24h_fp": "0", "open_interest_fp": "0", "notional_value_dollars": "1",
        "strike_type": "sideways",
    }  # fmt: skip
    with pytest.raises(ProtocolError, match="strike_type.*sideways"):
        Market.from_json(market)


async def _trade_tape(sim: Any, me: centbook.RestClient, them: centbook.RestClient) -> int:
    """Trade on ``T`` at known exchange times; return the hour ``H`` they follow (Unix seconds).

    At ``H + 10``: 200 at 43c. At ``H + 70``: 300 at 43c then 100 at 45c (one taker order).
    """
    now_s = sim.exchange.clock.now_ns() / 1e9
    hour = (int(now_s) // 3600 + 1) * 3600
    sim.admin.shift_clock(hour + 10 - now_s)
    await them.create_order(T, "ask", 4300, 500)
    await them.create_order(T, "ask", 4500, 100)
    await me.create_order(T, "bid", 4300, 200, time_in_force="immediate_or_cancel")
    sim.admin.shift_clock(60)
    await me.create_order(T, "bid", 4500, 400, time_in_force="immediate_or_cancel")
    return hour


def test_trades_and_candlesticks_come_from_the_sims_own_matching(arun: Any) -> None:
    async def body() -> None:
        async with conforming_sim(seed=5, tier="unlimited", max_skew_ms=10 * 86_400_000) as sim:
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other.api_key_id, other.private_key_pem) as them,
            ):
                h = await _trade_tape(sim, me, them)
                trades = [t async for t in me.get_trades(ticker=T, limit=2)]  # two pages
                assert [(t.yes_price_bp, t.count) for t in trades] == [(4500, 100), (4300, 300), (4300, 200)]
                engine = {t.trade_id: t for t in sim.exchange.markets[T].trades}
                for t in trades:
                    # RFC 3339 times carry microseconds
                    assert t.created_time_ns == engine[t.trade_id].ts_ns // 1000 * 1000
                    assert t.no_price_bp == 10000 - t.yes_price_bp
                    sides = (t.taker_outcome_side, t.taker_book_side, t.is_block_trade)
                    assert sides == ("yes", "bid", False)
                assert len([t async for t in me.get_trades(ticker=T, min_ts=h + 60)]) == 2
                assert [t async for t in me.get_trades(ticker="KXDEMO-26DEC31-T60")] == []

                minutes = await me.get_market_candlesticks(
                    "KXDEMO", T, start_ts=h + 1, end_ts=h + 120, period_interval=1
                )
                first, second = minutes.candlesticks
                assert (first.end_period_ts, second.end_period_ts) == (h + 60, h + 120)
                flat = Ohlc(4300, 4300, 4300, 4300)
                assert (first.price, first.mean_price_bp, first.previous_price_bp) == (flat, 4300, None)
                assert (first.volume, first.open_interest) == (200, 200)
                assert first.yes_ask == Ohlc(10000, 4300, 10000, 4300)
                assert first.yes_bid == Ohlc(0, 0, 0, 0)
                assert second.price == Ohlc(4300, 4300, 4500, 4500)
                mean = (300 * 4300 + 100 * 4500) // 400
                assert (second.mean_price_bp, second.previous_price_bp) == (mean, 4300)
                assert (second.volume, second.open_interest) == (400, 600)
                assert second.yes_ask == Ohlc(4300, 4300, 10000, 10000)  # the asks were taken

                hours = await me.get_market_candlesticks(
                    "KXDEMO", T, start_ts=h + 1, end_ts=h + 3600, period_interval=60
                )
                assert [(c.end_period_ts, c.volume, c.price) for c in hours.candlesticks] == [
                    (h + 3600, 600, Ohlc(4300, 4300, 4500, 4500))
                ]
                days = await me.get_market_candlesticks(
                    "KXDEMO", T, start_ts=h + 1, end_ts=h + 86_400, period_interval=1440
                )
                assert [(c.volume, c.open_interest) for c in days.candlesticks] == [(600, 600)]
                assert days.candlesticks[0].end_period_ts % 86_400 == 0

                # the synthetic candle carries the last close forward, without traded prices
                sim.admin.shift_clock(3600)
                later = await me.get_market_candlesticks(
                    "KXDEMO", T, start_ts=h + 3600, end_ts=h + 3660, period_interval=1,
                    include_latest_before_start=True,
                )
                synthetic, *real = later.candlesticks
                carried = (synthetic.end_period_ts, synthetic.price, synthetic.previous_price_bp)
                assert carried == (h + 3600, None, 4500)
                assert [(c.end_period_ts, c.volume, c.previous_price_bp) for c in real] == [
                    (h + 3600, 0, 4500), (h + 3660, 0, 4500)
                ]

                batch = await me.get_batch_candlesticks(
                    [T, "KXDEMO-26DEC31-T60"], start_ts=h + 1, end_ts=h + 120, period_interval=1
                )
                assert [b.ticker for b in batch] == [T, "KXDEMO-26DEC31-T60"]
                assert batch[0] == MarketCandlesticks(ticker=T, candlesticks=minutes.candlesticks)
                assert [c.volume for c in batch[1].candlesticks] == [0, 0]

                event = await me.get_event_candlesticks(
                    "KXDEMO", "KXDEMO-26DEC31", start_ts=h + 1, end_ts=h + 120, period_interval=1
                )
                assert event.adjusted_end_ts == h + 120
                by_ticker = {m.ticker: m.candlesticks for m in event.markets}
                assert set(by_ticker) == {m for m in sim.exchange.markets if m.startswith("KXDEMO-")}
                assert by_ticker[T] == minutes.candlesticks

                span = {"start_ts": h, "end_ts": h + 60}
                with pytest.raises(ValueError, match="period_interval"):
                    await me.get_market_candlesticks("KXDEMO", T, **span, period_interval=5)
                with pytest.raises(centbook.ExchangeError, match="not found"):
                    await me.get_market_candlesticks("KXBTCD", T, **span, period_interval=1)

    arun(body())


def test_batch_orderbooks_match_the_single_reads(arun: Any) -> None:
    async def body() -> None:
        async with conforming_sim(seed=6, tier="unlimited") as sim:
            async with _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me:
                await me.create_order(T, "bid", 4100, 300)
                await me.create_order(T_CENTI, "ask", 5123, 150)
                books = await me.get_orderbooks([T, T_CENTI, "KXDEMO-26DEC31-T60"])
                assert set(books) == {T, T_CENTI, "KXDEMO-26DEC31-T60"}
                for ticker, book in books.items():
                    assert book == await me.get_market_orderbook(ticker)
                assert books[T].yes == [(4100, 300)] and books[T_CENTI].no == [(10000 - 5123, 150)]
                with pytest.raises(ValueError, match="1 to 100"):
                    await me.get_orderbooks([])

    arun(body())


def test_events_and_series_as_configured(arun: Any) -> None:
    async def body() -> None:
        async with conforming_sim(_strike_config(), seed=7) as sim:
            async with _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me:
                series = {s.ticker: s for s in await me.get_series_list()}
                assert set(series) == {"KXDEMO", "KXBTCD"}
                demo = await me.get_series("KXDEMO")
                assert demo == series["KXDEMO"]
                fees = (demo.fee_type, demo.fee_multiplier_ppm, demo.frequency)
                assert fees == ("quadratic", 70_000, "daily")
                assert series["KXBTCD"].fee_type == "quadratic_with_maker_fees"

                events = [e async for e in me.get_events(with_nested_markets=True, limit=1)]  # two pages
                assert [e.event_ticker for e in events] == ["KXDEMO-26DEC31", "KXBTCD-26DEC3117"]
                nested = {m.ticker for e in events for m in e.markets}
                assert nested == set(sim.exchange.markets) and nested <= set(me.market_data.markets)
                assert [e.exchange_index for e in events] == [0, 2]
                bare = [e async for e in me.get_events(series_ticker="KXBTCD")]
                assert [(e.event_ticker, e.markets) for e in bare] == [("KXBTCD-26DEC3117", [])]

                one = await me.get_event("KXDEMO-26DEC31")
                assert one.title == "Demo index on Dec 31" and one.series_ticker == "KXDEMO"
                assert {m.ticker for m in one.markets} == {m for m in nested if m.startswith("KXDEMO-")}
                meta = await me.get_event_metadata("KXDEMO-26DEC31")
                assert [d["market_ticker"] for d in meta.market_details] == [m.ticker for m in one.markets]
                assert meta.settlement_sources[0].name == "centbook sim"
                with pytest.raises(centbook.ExchangeError, match="not found"):
                    await me.get_event("NOPE")
                # the sim lists no multivariate collection (combos are not simulated)
                assert [c async for c in me.get_multivariate_collections(status="open")] == []
                with pytest.raises(centbook.ExchangeError, match="not found"):
                    await me.get_multivariate_collection("KXMVECROSS")

    arun(body())


def test_historical_tier_and_the_merged_streams(arun: Any) -> None:
    async def body() -> None:
        config = default_config()
        config["historical"] = {"cutoff_age_s": 3600}
        async with conforming_sim(config, seed=8, tier="unlimited", max_skew_ms=10 * 86_400_000) as sim:
            other = sim.admin.add_user("other", tier="unlimited", funding={0: "5000", 2: "5000"})
            async with (
                _client(sim.rest_url, sim.api_key_id, sim.private_key_pem) as me,
                _client(sim.rest_url, other.api_key_id, other.private_key_pem) as them,
            ):
                t0 = sim.exchange.clock.now_ns() // 10**9
                await them.create_order(T, "ask", 4000, 500)
                old_take = await me.create_order(T, "bid", 4000, 100, time_in_force="immediate_or_cancel")
                old_cancel = await me.create_order(T, "bid", 3000, 100)
                await me.cancel_order(old_cancel.order_id, ticker=T)
                await them.create_order(T_CENTI, "ask", 5000, 100)
                await me.create_order(T_CENTI, "bid", 5000, 100, time_in_force="immediate_or_cancel")
                sim.admin.settle_market(T_CENTI, "yes")
                old_fills = [f async for f in me.get_fills()]
                assert len(old_fills) == 2

                sim.admin.shift_clock(2 * 3600)  # all of the above is now behind the cutoff
                t1 = sim.exchange.clock.now_ns() // 10**9
                new_take = await me.create_order(T, "bid", 4000, 150, time_in_force="immediate_or_cancel")
                resting = await me.create_order(T, "bid", 3500, 100)

                cutoff = await me.get_historical_cutoff()
                assert t1 - 3601 <= cutoff.trades_created_ns // 10**9 <= t1 - 3599
                assert cutoff.market_settled_ns == cutoff.orders_updated_ns == cutoff.trades_created_ns

                live = [f async for f in me.get_fills()]
                assert [f.order_id for f in live] == [new_take.order_id]
                archived = [f async for f in me.get_historical_fills()]
                assert {f.fill_id for f in archived} == {f.fill_id for f in old_fills}
                merged = [f async for f in me.fills_since(t0 - 1)]
                assert [f.fill_id for f in merged] == [f.fill_id for f in live + archived]
                times = [f.created_time_ns for f in merged]
                assert times == sorted(times, reverse=True)
                assert [f.fill_id async for f in me.fills_since(t1 - 1)] == [live[0].fill_id]
                assert [f async for f in me.fills_since(t0 - 1, ticker=T_CENTI)] == [
                    f for f in archived if f.ticker == T_CENTI
                ]

                live_orders = {o.order_id async for o in me.get_orders()}
                assert live_orders == {new_take.order_id, resting.order_id}
                old_orders = {o.order_id async for o in me.get_historical_orders(ticker=T)}
                assert old_orders == {old_take.order_id, old_cancel.order_id}
                since = [o.order_id async for o in me.orders_since(t0 - 1, ticker=T)]
                assert sorted(since) == sorted(live_orders | old_orders) and len(since) == 4
                assert {o.order_id async for o in me.orders_since(t1 - 1)} == live_orders

                assert T_CENTI not in {m.ticker async for m in me.get_markets()}
                assert [m.ticker async for m in me.get_historical_markets()] == [T_CENTI]
                settled = await me.get_historical_market(T_CENTI)
                assert settled.result == "yes" and settled.settlement_ts_ns is not None
                with pytest.raises(centbook.ExchangeError, match="historical"):
                    await me.get_historical_market(T)
                span = {"start_ts": t0 - 3600, "end_ts": t0 + 3600, "period_interval": 60}
                archived_candles = await me.get_historical_market_candlesticks(T_CENTI, **span)
                assert [(c.volume, c.price) for c in archived_candles.candlesticks if c.volume] == [
                    (100, Ohlc(5000, 5000, 5000, 5000))
                ]
                # the same figures as the live read of the same market, under the other names
                live_candles = await me.get_market_candlesticks("KXBTCD", T_CENTI, **span)
                assert archived_candles == live_candles
                assert [t.count async for t in me.get_trades(ticker=T)] == [150]
                assert [t.count async for t in me.get_historical_trades(ticker=T)] == [100]

    arun(body())


def test_multivariate_collection_reads_kalshis_shape() -> None:
    collection = {
        "collection_ticker": "KXMVESPORTS", "series_ticker": "KXMVESPORTS", "title": "Sports combos",
        "description": "Pick legs", "open_date": "2026-08-01T00:00:00Z", "close_date": "2026-12-31T00:00:00Z",
        "associated_event_tickers": ["KXNFL-26SEP07"], "is_ordered": False,
        "associated_events": [{"ticker": "KXNFL-26SEP07", "is_yes_only": True, "active_quoters": []}],
        "is_single_market_per_event": True, "is_all_yes": False, "size_min": 2, "size_max": 6,
        "functional_description": "", "exchange_index": 1,
    }  # fmt: skip
    parsed = MultivariateCollection.from_json(collection)
    assert (parsed.size_min, parsed.size_max, parsed.exchange_index) == (2, 6, 1)
    assert parsed.open_date_ns == 1_785_542_400 * 10**9
    with pytest.raises(ProtocolError, match="size_max"):
        MultivariateCollection.from_json({**collection, "size_max": None})
