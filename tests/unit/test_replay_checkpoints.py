"""``books_at`` from checkpoints equals a replay from the start, on the imported real captures.

The checkpoints hold the whole replay state (:meth:`centbook.replay.Replayer.save`); a replay
resumed from one must reach, at every time, the books a replay from the start reaches: the same
markets, states, levels, last seqs, the same sids per market and the same seq trackers.
"""
from __future__ import annotations

import pytest

from centbook.record.checkpoint import checkpoint_path, read_checkpoints
from centbook.record.segment import Kind, iter_records, segment_paths
from centbook.replay import Replayer, books_at, build_checkpoints, checkpoints, replay_books


def state_of(books):
    """Everything of a registry a replay decides, but the decoder's counters."""
    markets = {t: (books[t].state, books[t].levels(0), books[t].levels(1), books[t].last_seq,
                   books.market_sid(t)) for t in books}
    return markets, sorted(books.subscriptions())


def states_at(path, times, tickers=None):
    """The state of a replay from the start just before the first record received after each time."""
    out, pending = {}, sorted(times)
    state = Replayer(tickers)
    for record in iter_records(path):
        while pending and record.wall_ns > pending[0]:
            out[pending.pop(0)] = state_of(state.books)
        if not pending:
            break
        state.apply(record)
    for t in pending:
        out[t] = state_of(state.books)
    return out


def test_books_at_from_checkpoints_equals_the_replay_from_the_start(imported):
    points = build_checkpoints(imported, every_bytes=256 << 10)
    assert len(points) > 5
    seg = segment_paths(imported)[0]
    assert checkpoint_path(seg).exists() and read_checkpoints(seg, 0) == points
    assert checkpoints(imported) == points       # read back, not built again
    frames = [r.wall_ns for r in iter_records(imported) if r.kind == Kind.FRAME]
    # before the first checkpoint, on checkpoints, between them, at the end
    times = [frames[0], points[0].wall_ns, points[len(points) // 2].wall_ns + 1,
             *(frames[len(frames) * k // 7] for k in range(1, 7)), frames[-1] + 1]
    expected = states_at(imported, times)
    for t in times:
        got = state_of(books_at(imported, t))
        assert got == expected[t], t
    # the times saw books with levels and markets on subscriptions: the comparison has teeth
    assert sum(bool(book[1]) for t in times for book in expected[t][0].values()) >= 5


def test_books_at_of_some_markets_from_checkpoints(imported):
    build_checkpoints(imported, every_bytes=256 << 10)
    one = sorted(state_of(books_at(imported, 1 << 62))[0])[0]
    frames = [r.wall_ns for r in iter_records(imported) if r.kind == Kind.FRAME]
    times = [frames[len(frames) * k // 5] for k in range(1, 5)]
    expected = states_at(imported, times, [one])
    for t in times:
        got = books_at(imported, t, tickers=[one])
        assert list(got.tickers()) == [one]
        assert state_of(got)[0] == expected[t][0]


def test_a_saved_state_restores_exactly(imported):
    state = Replayer(None)
    for n, record in enumerate(iter_records(imported)):
        state.apply(record)
        if n == 40_000:
            break
    copy = Replayer(None)
    copy.restore(state.save())
    assert state_of(copy.books) == state_of(state.books)
    assert copy.save() == state.save()


def test_replay_books_yields_the_books_of_each_time(imported):
    walls = [r.wall_ns for r in iter_records(imported)]
    every = (walls[-1] - walls[0]) // 11 + 1
    got = [(t, state_of(books)) for t, books in replay_books(imported, every)]
    times = [t for t, _ in got]
    assert times == [walls[0] + every * k for k in range(1, 12)] and times[-1] >= walls[-1]
    expected = states_at(imported, times)
    assert [state for _, state in got] == [expected[t] for t in times]
    one = sorted(got[-1][1][0])[0]
    start = (walls[0] + walls[-1]) // 2       # from a checkpoint in the middle, one market
    got = [(t, state_of(books)) for t, books in replay_books(imported, every, tickers=[one], start_ns=start)]
    expected = states_at(imported, [t for t, _ in got], [one])
    assert len(got) >= 5 and all(state[0] == expected[t][0] for t, state in got)
    with pytest.raises(ValueError, match="every_ns must be > 0"):
        next(replay_books(imported, 0))
