"""Recording, replay and export throughput.

Run: ``.venv/bin/python -m pytest benchmarks/bench_record.py --benchmark-only -s`` (not part of
``make test``). Each benchmark checks what it timed before recording its rate:

- ``test_record_loopback``: the recorder's hot path (the feed's compiled listener with a
  :class:`~centbook.record.recorder.FrameTap` writing to a :class:`SegmentWriter`) against
  bench_feed's pusher, which sends a snapshot and 100,000 deltas as fast as the socket takes
  them; the recording must replay to the exact final book. ``frames_per_s`` counts frames
  recorded (and decoded into the books, as the recorder's feed does) per second, compression
  and writes included; ``x_feed`` is its time per frame over the plain feed's in the same run;
- ``test_import_captures``: the real captures imported (zstandard level 9, as ``centbook
  import``); ``bytes_per_frame`` after compression;
- ``test_replay_captures``: replayed frames per second into books, and ``x_decoder``, its time
  per frame over the compiled decoder's alone (``Books.apply_frames``) on the same frames;
- ``test_replay_books_captures``: the same through :func:`centbook.replay.replay_books`, the
  compiled path that applies a block's frames in one loop and makes no event per record;
- ``test_books_at_captures``: ``books_at`` at 90% of the captures from the nearest checkpoint
  (:data:`centbook.replay.CHECKPOINT_BYTES` apart), against a replay from the start to the same
  time (``speedup``);
- ``test_export_captures``: rows per second into Parquet, and the dataset's bytes per million
  deltas;
- ``test_record_cpu_at_a_steady_rate``: CPU seconds of a ``centbook record`` process (startup
  included) recording the sim's flow at a steady rate, as a share of one core.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import picows
import pytest

from benchmarks.bench_feed import END, TICKER, centbook_feed, pusher  # noqa: F401 - pusher: fixture
from centbook.books import Books
from centbook.feed.reader import BookListener
from centbook.record.exporter import export
from centbook.record.importer import import_captures, read_capture
from centbook.record.recorder import FrameTap
from centbook.record.segment import SegmentWriter, iter_blocks, iter_records, segment_paths
from centbook.replay import Replayer, books_at, build_checkpoints, replay, replay_books

CAPTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "kalshi" / "captures"
FILES = sorted((CAPTURES / "events").glob("*.ndjson.gz")) if CAPTURES.is_dir() else []
RESULTS: dict[str, float] = {}


async def record_loopback(url: str, out: Path) -> int:
    books = Books(auto_create=False)
    books.add(TICKER)
    writer = SegmentWriter(out, sync=False)
    done = asyncio.get_running_loop().create_future()
    errors: list[Exception] = []

    def on_message(kind: int, payload: bytes) -> None:
        if payload == END and not done.done():
            done.set_result(None)

    listener = BookListener(books, on_message=on_message, sample_every=1 << 30)
    listener.tap = FrameTap(writer, 0, errors.append)
    transport, _ = await picows.ws_connect(lambda: listener, url)
    await done
    transport.disconnect()
    writer.close()
    assert not errors and books.decode_errors == 0
    return writer.records_written


def test_record_loopback(benchmark, pusher, tmp_path):  # noqa: F811 - the fixture
    url, want, messages, _ = pusher
    out = tmp_path / "rec"

    def once() -> int:
        shutil.rmtree(out, ignore_errors=True)
        return asyncio.run(record_loopback(url, out))

    n = benchmark.pedantic(once, rounds=5, iterations=1)
    assert n == messages + 1
    books = books_at(out, 1 << 62)
    assert [dict(books[TICKER].levels(0)), dict(books[TICKER].levels(1))] == want
    rate = n / benchmark.stats.stats.min
    start = time.perf_counter()
    asyncio.run(centbook_feed(url))
    feed_s = time.perf_counter() - start
    benchmark.extra_info.update(frames_per_s=round(rate), ns_per_frame=round(1e9 / rate, 1),
                                bytes_per_frame=round(sum(p.stat().st_size for p in out.iterdir()) / n, 2),
                                x_feed=round((1 / rate) / (feed_s / n), 2))
    print(f"\nrecord loopback: {rate:,.0f} frames/s ({benchmark.extra_info})")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    if not FILES:
        pytest.skip(f"captures not found at {CAPTURES}")
    out = tmp_path_factory.mktemp("bench") / "rec"
    summary = import_captures(FILES, CAPTURES / "metadata", SegmentWriter(out, sync=False))
    return out, summary.frames


def test_import_captures(benchmark, imported, tmp_path):
    _, frames = imported
    out = tmp_path / "rec"

    def once() -> int:
        shutil.rmtree(out, ignore_errors=True)
        return import_captures(FILES, CAPTURES / "metadata", SegmentWriter(out, sync=False, level=9)).frames

    assert benchmark.pedantic(once, rounds=3, iterations=1) == frames
    size = sum(p.stat().st_size for p in out.iterdir())
    raw = sum(len(raw) for f in FILES for _, raw in read_capture(f))
    gz = sum(f.stat().st_size for f in FILES)
    benchmark.extra_info.update(frames=frames, bytes_per_frame=round(size / frames, 2),
                                raw_bytes_per_frame=round(raw / frames, 1),
                                capture_gz_bytes_per_frame=round(gz / frames, 2))
    print(f"\nimport: {benchmark.extra_info}")


def test_replay_captures(benchmark, imported):
    path, frames = imported

    def once() -> int:
        n = 0
        for _event, _books in replay(path):
            n += 1
        return n

    records = benchmark.pedantic(once, rounds=3, iterations=1)
    assert records > frames
    rate = frames / benchmark.stats.stats.min
    # the decoder alone on the same frames (seq renumbered per sid: the capture's jumps are no gaps)
    payloads = [r.payload for r in iter_records(path) if r.kind == 0]
    decoder_s = min(_decode_once(payloads) for _ in range(3))
    benchmark.extra_info.update(frames_per_s=round(rate), decoder_frames_per_s=round(frames / decoder_s),
                                x_decoder=round((1 / rate) / (decoder_s / frames), 2))
    print(f"\nreplay: {benchmark.extra_info}")


def test_replay_books_captures(benchmark, imported):
    """The compiled fast path: replay_books over the whole captures, one yield at the end."""
    path, frames = imported

    def once() -> Books:
        *_, (_t, books) = replay_books(path, 1 << 62)
        return books

    books = benchmark.pedantic(once, rounds=9, iterations=1)   # a few ms each: the best of more runs
    *_, (_event, final) = replay(path)
    assert all(books[k].levels(s) == final[k].levels(s) for k in final for s in (0, 1))
    rate = frames / benchmark.stats.stats.min
    payloads = [r.payload for r in iter_records(path) if r.kind == 0]
    decoder_s = min(_decode_once(payloads) for _ in range(9))
    blocks = [raw for seg in segment_paths(path) for _, raw in iter_blocks(seg)]
    start = time.perf_counter()
    for seg in segment_paths(path):
        for _ in iter_blocks(seg):
            pass
    read_s = time.perf_counter() - start
    benchmark.extra_info.update(frames_per_s=round(rate), decoder_frames_per_s=round(frames / decoder_s),
                                x_decoder=round((1 / rate) / (decoder_s / frames), 2),
                                read_and_decompress_s=round(read_s, 4), blocks=len(blocks))
    print(f"\nreplay_books: {benchmark.extra_info}")


def test_books_at_captures(benchmark, imported):
    """``books_at`` late in the captures, from checkpoints, against a replay from the start to it."""
    path, _ = imported
    walls = [r.wall_ns for r in iter_records(path)]
    t = walls[len(walls) * 9 // 10]
    points = build_checkpoints(path)        # kept beside the segment, as a first books_at does
    books = benchmark.pedantic(lambda: books_at(path, t), rounds=5, iterations=1)

    def from_start() -> Replayer:
        state = Replayer(None)
        for record in iter_records(path):
            if record.wall_ns > t:
                break
            state.apply(record)
        return state

    start = time.perf_counter()
    state = from_start()
    start_s = time.perf_counter() - start
    assert all(books[k].levels(s) == state.books[k].levels(s) for k in state.books for s in (0, 1))
    benchmark.extra_info.update(checkpoints=len(points), from_start_s=round(start_s, 4),
                                books_at_s=round(benchmark.stats.stats.min, 4),
                                speedup=round(start_s / benchmark.stats.stats.min, 1))
    print(f"\nbooks_at: {benchmark.extra_info}")


def _decode_once(payloads: list[bytes]) -> float:
    books = Books()
    start = time.perf_counter()
    for p in payloads:
        books.forget_subscription(1)
        books.apply_frame(p)
    return time.perf_counter() - start


def test_export_captures(benchmark, imported, tmp_path):
    path, _ = imported
    out = tmp_path / "lake"

    def once() -> dict[str, int]:
        shutil.rmtree(out, ignore_errors=True)
        return export(path, out)

    rows = benchmark.pedantic(once, rounds=3, iterations=1)
    assert rows["book_deltas"] > 79_000
    total = sum(rows.values())
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    benchmark.extra_info.update(rows=total, rows_per_s=round(total / benchmark.stats.stats.min),
                                bytes_per_million_deltas=round(size / rows["book_deltas"] * 1e6))
    print(f"\nexport: {benchmark.extra_info}")


RATE = 1000        # flow actions per second over the sim's markets (Kalshi's busiest days: hundreds/s)
SECONDS = 10.0


def test_record_cpu_at_a_steady_rate(benchmark, tmp_path):
    """CPU of ``centbook record`` (its own process) recording the sim's flow at RATE for SECONDS."""
    creds = tmp_path / "creds.json"
    sim = subprocess.Popen([sys.executable, "-m", "centbook.cli", "sim", "--flow", "--flow-rate",
                            str(RATE), "--credentials-out", str(creds)], stdout=subprocess.PIPE, text=True)
    try:
        url = sim.stdout.readline().strip()
        sim.stdout.readline()

        def once() -> tuple[float, int]:
            out = tmp_path / "rec"
            shutil.rmtree(out, ignore_errors=True)
            proc = subprocess.Popen([sys.executable, "-m", "centbook.cli", "record", "--url", url,
                                     "--credentials", str(creds), "--all", "--out", str(out),
                                     "--duration", str(SECONDS)], stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
            frames = sum(r.kind == 0 for r in iter_records(out))
            return usage.ru_utime + usage.ru_stime, frames

        cpu_s, frames = benchmark.pedantic(once, rounds=1, iterations=1)
    finally:
        sim.terminate()
        sim.wait()
    assert frames > RATE * SECONDS / 4
    benchmark.extra_info.update(frames=frames, frames_per_s=round(frames / SECONDS), cpu_s=round(cpu_s, 2),
                                cpu_percent_of_one_core=round(100 * cpu_s / SECONDS, 1))
    print(f"\nrecord CPU at a steady rate: {benchmark.extra_info} (startup included)")
