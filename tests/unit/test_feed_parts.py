"""The parts a Feed holds, each alone: subscriptions, validity, tradability, events.

What goes over the wire is covered against the embedded exchange in tests/integration/test_feed*.py;
these drive each part with decoded messages and books, no connection.
"""
import asyncio
from collections import defaultdict
from types import SimpleNamespace

import pytest

from centbook.book import BookState
from centbook.books import Books
from centbook.feed import (
    BOOK_CHANNEL,
    Events,
    FeedConfig,
    MarketQuiet,
    StateChange,
    Subscriptions,
    Tradability,
    Validity,
)
from centbook.feed.subscriptions import Subscription
from centbook.protocol.messages import decode

TICKERS = ["KX-A", "KX-B", "KX-C"]


def make_books():
    books = Books(auto_create=False)
    for ticker in TICKERS:
        books.add(ticker, None)
    return books


def subscribed(command_id, channel, sid):
    return decode(b'{"type":"subscribed","id":%d,"msg":{"channel":"%s","sid":%d}}'
                  % (command_id, channel.encode(), sid))


def lifecycle(ticker, event, extra=b""):
    return decode(b'{"type":"market_lifecycle_v2","sid":9,"msg":{"market_ticker":"%s","event_type":"%s"%s}}'
                  % (ticker.encode(), event.encode(), extra))


# ---------------------------------------------------------------------------------- Subscriptions

def test_subscriptions_register_confirmed_books_and_find_their_sid():
    books, counts = make_books(), defaultdict(int)
    subs = Subscriptions(books, FeedConfig(), counts)
    subs.pending[(1, BOOK_CHANNEL)] = ["KX-A", "KX-B"]
    subs.pending[(2, "trade")] = []
    subs.on_subscribed(subscribed(1, BOOK_CHANNEL, 7))
    subs.on_subscribed(subscribed(2, "trade", 8))
    assert subs.sid_of("KX-A") == 7 and subs.sid_of("KX-B") == 7
    assert subs.sid_of("KX-C") is None                       # not subscribed
    assert set(subs.by_sid) == {7, 8} and not subs.pending
    subs.on_subscribed(subscribed(5, BOOK_CHANNEL, 9))       # no such command: ignored
    assert 9 not in subs.by_sid


def test_an_ok_adds_markets_to_the_existing_subscription_once():
    subs = Subscriptions(make_books(), FeedConfig(), defaultdict(int))
    subs.pending[(1, BOOK_CHANNEL)] = ["KX-A"]
    subs.on_subscribed(subscribed(1, BOOK_CHANNEL, 7))
    subs.pending[(2, BOOK_CHANNEL)] = ["KX-A", "KX-C"]
    subs.on_ok(decode(b'{"type":"ok","id":2,"sid":7}'))
    assert subs.by_sid[7].tickers == ["KX-A", "KX-C"] and subs.sid_of("KX-C") == 7


def test_replies_resolve_and_fail_their_commands_and_a_lost_connection_fails_the_rest():
    async def main():
        subs = Subscriptions(make_books(), FeedConfig(), defaultdict(int))
        loop = asyncio.get_running_loop()
        done, failed, lost = loop.create_future(), loop.create_future(), loop.create_future()
        subs.replies.update({1: done, 2: failed, 3: lost})
        subs.pending[(2, BOOK_CHANNEL)] = ["KX-B"]
        subs.pending[(2, "ticker")] = []
        subs.resolve(1, "reply")
        error = RuntimeError("refused")
        assert subs.fail(2, error) == ["KX-B"] and not subs.pending
        subs.pending[(4, BOOK_CHANNEL)] = ["KX-C"]
        subs.connection_lost()
        assert done.result() == "reply" and failed.exception() is error
        assert isinstance(lost.exception(), ConnectionError)
        assert not subs.replies and not subs.pending and not subs.by_sid
    asyncio.run(main())


def test_commands_need_a_connection_and_ids_count_up():
    async def main():
        subs = Subscriptions(make_books(), FeedConfig(), defaultdict(int))
        assert [subs.next_id(), subs.next_id()] == [1, 2]
        with pytest.raises(ConnectionError):
            await subs.subscribe_books(["KX-A"])
        subs.hold(0.0)
        assert subs.hold_until > 0
    asyncio.run(main())


# ---------------------------------------------------------------------------------- Validity

def make_validity():
    books, counts = make_books(), defaultdict(int)
    subs = Subscriptions(books, FeedConfig(), counts)
    validity = Validity(books, list(TICKERS), subs, FeedConfig(), counts, {})
    return books, counts, validity


def test_validity_reports_each_state_change_once():
    books, counts, validity = make_validity()
    heard = []
    validity.listeners.append(heard.append)
    validity.mark_all(BookState.SYNCING)
    validity.check_states(TICKERS)                          # nothing moved since: nothing heard
    assert heard == [StateChange(t, BookState.EMPTY, BookState.SYNCING, books[t].generation) for t in TICKERS]
    assert counts["to_syncing"] == 3


def snapshot(books, ticker, yes=b"0.4200", no=b"0.5000", sid=1):
    books.register_subscription(sid, use_yes_price=False)
    frame = (b'{"type":"orderbook_snapshot","sid":%d,"seq":1,"msg":{"market_ticker":"%s",'
             b'"yes_dollars_fp":[["%s","3"]],"no_dollars_fp":[["%s","2"]]}}')
    frame %= (sid, ticker.encode(), yes, no)
    books.apply_frame(frame)


def test_a_snapshot_is_reported_after_the_read_that_brought_it():
    async def main():
        books, counts, validity = make_validity()
        heard = []
        validity.listeners.append(heard.append)
        snapshot(books, "KX-A")
        validity.after_read(["KX-A"], 123)
        return books, counts, validity, heard
    books, counts, validity, heard = asyncio.run(main())
    assert heard == [StateChange("KX-A", BookState.EMPTY, BookState.LIVE, books["KX-A"].generation)]
    assert validity.last_change_ns == {"KX-A": 123} and counts["resyncs"] == 0


def test_a_book_crossed_past_one_read_is_resynced():
    async def main():
        books, counts, validity = make_validity()
        snapshot(books, "KX-A", yes=b"0.6000", no=b"0.5000")  # YES bid 60c over YES ask 50c
        assert books["KX-A"].is_crossed
        validity.after_read(["KX-A"], 1)
        first = counts["resyncs"]
        validity.after_read(["KX-A"], 2)
        await asyncio.sleep(0)                                # the snapshot request finds no sid
        return first, counts["resyncs"]
    assert asyncio.run(main()) == (0, 1)


def test_a_terminal_error_on_a_channel_subscribes_it_again():
    async def main():
        books, counts, validity = make_validity()
        sub = SimpleNamespace(sid=4, channel="trade", tickers=[])
        validity.on_terminal(sub)
        await asyncio.sleep(0)                               # the resubscribe finds no connection
        assert list(validity.subscriptions.pending) == [(1, "trade")]
    asyncio.run(main())


def test_snapshot_deadlines_recreate_the_subscription_when_it_is_unknown():
    async def main():
        books, counts, validity = make_validity()
        validity.snapshot_deadline["KX-A"] = 0.0
        validity.waiting_grid["KX-B"] = 0.0
        await validity.check_deadlines(1.0)
        assert counts["resubscribes"] == 1 and not validity.snapshot_deadline
        assert not validity.waiting_grid                    # given up: a snapshot on the old grid
    asyncio.run(main())


def test_late_markets_of_one_subscription_are_one_resubscribe():
    async def main():
        books, counts, validity = make_validity()
        validity.subscriptions.by_sid[7] = Subscription(7, BOOK_CHANNEL, list(TICKERS))
        for ticker in TICKERS:                              # all three snapshots late
            validity.snapshot_deadline[ticker] = 0.0
        await validity.check_deadlines(1.0)
        assert counts["resubscribes"] == 1                  # one subscription recreated, not three
        assert 7 not in validity.subscriptions.by_sid and not validity.snapshot_deadline
    asyncio.run(main())


# ---------------------------------------------------------------------------------- Tradability

def test_lifecycle_events_move_tradability_and_grids():
    grids = []
    trade = Tradability(TICKERS, set(TICKERS), market_shards={"KX-A": 1},
                        on_grid=lambda t, g: grids.append((t, g.tick_bp)))
    assert all(trade.is_tradable(t) for t in TICKERS)
    trade.on_lifecycle(lifecycle("KX-A", "deactivated"))
    assert not trade.is_tradable("KX-A")
    trade.on_lifecycle(lifecycle("KX-A", "activated"))
    assert trade.is_tradable("KX-A")
    trade.on_lifecycle(lifecycle("KX-A", "activated", b',"is_deactivated":true'))
    assert not trade.is_tradable("KX-A")
    trade.on_lifecycle(lifecycle("KX-B", "settled"))
    assert not trade.is_tradable("KX-B")
    trade.on_lifecycle(lifecycle("KX-OTHER", "deactivated"))  # not followed: ignored
    assert "KX-OTHER" not in trade.tradable and not trade.is_tradable("KX-OTHER")
    trade.on_lifecycle(lifecycle("KX-C", "price_level_structure_updated",
                                 b',"price_ranges":[{"start":"0.0000","end":"1.0000","step":"0.0010"}]'))
    assert grids == [("KX-C", 10)] and trade.is_tradable("KX-C")


def test_a_shard_that_stops_trading_stops_its_markets():
    class Rest:
        async def get_exchange_status(self):
            shard = SimpleNamespace(exchange_index=1, exchange_active=True, trading_active=False)
            return SimpleNamespace(exchange_index_statuses=[shard])

    trade = Tradability(TICKERS, set(TICKERS), market_shards={"KX-A": 1, "KX-B": 2}, rest=Rest())
    asyncio.run(trade.poll_exchange_status())
    assert trade.shard_trading == {1: False}
    assert not trade.is_tradable("KX-A") and trade.is_tradable("KX-B") and trade.is_tradable("KX-C")


# ---------------------------------------------------------------------------------- Events

def test_events_reach_listeners_always_and_the_reader_only_while_it_reads():
    async def main():
        counts = defaultdict(int)
        events = Events(make_books(), TICKERS, 2, counts)
        heard = []
        events.listeners.append(heard.append)
        events.emit("before")                                # nobody reads: not queued
        reader = events.messages()
        first = asyncio.ensure_future(reader.__anext__())
        await asyncio.sleep(0)
        for message in ("a", "b", "c"):                      # one more than the queue holds
            events.emit(message)
        got = [await first, await reader.__anext__()]
        await reader.aclose()
        return heard, got, counts

    heard, got, counts = asyncio.run(main())
    assert heard == ["before", "a", "b", "c"]
    assert got == ["b", "c"] and counts["events_dropped"] == 1


def test_a_quiet_live_market_is_reported_once_per_spell():
    counts = defaultdict(int)
    books = make_books()
    events = Events(books, TICKERS, 10, counts)
    heard = []
    events.listeners.append(heard.append)
    snapshot(books, "KX-B")                                   # the one LIVE book
    events.report_quiet(1e-9)
    events.report_quiet(1e-9)
    assert [m.ticker for m in heard] == ["KX-B"] and counts["quiet_alerts"] == 1
    assert all(isinstance(m, MarketQuiet) and m.quiet_s > 0 for m in heard)
    assert events.quiet_s("KX-A") > 0
