"""The recording format: records read back exactly, a torn tail is dropped, errors are clear."""
from __future__ import annotations

import contextlib
import os
import resource
import signal
import time

import pytest

from centbook.record.segment import (
    BLOCK,
    Kind,
    RecordingError,
    SegmentWriter,
    index_path,
    iter_records,
    scan_blocks,
    segment_paths,
)
from centbook.record.tap import FrameTap


def frames(n: int) -> list[bytes]:
    return [b'{"type":"orderbook_delta","sid":1,"seq":%d,"msg":{"x":"%s"}}' % (i, b"y" * (i % 50))
            for i in range(n)]


def write(directory, payloads, **options):
    writer = SegmentWriter(directory, sync=False, **options)
    for i, p in enumerate(payloads):
        writer.add(Kind.FRAME, i % 3, 1_000 + i, 2_000 + i, p)
    return writer


def test_records_read_back_exactly_across_blocks_and_segments(tmp_path):
    payloads = frames(5000) + [b"", bytes(range(256))]
    writer = write(tmp_path, payloads, block_bytes=4096, segment_bytes=20_000)
    writer.add_json(Kind.ACTION, 7, {"action": "stop"}, mono_ns=5, wall_ns=6)
    writer.close()
    assert len(segment_paths(tmp_path)) > 3
    records = list(iter_records(tmp_path))
    assert [r.payload for r in records[:-1]] == payloads
    assert [(r.kind, r.connection, r.wall_ns, r.mono_ns) for r in records[:3]] == [
        (Kind.FRAME, 0, 1000, 2000), (Kind.FRAME, 1, 1001, 2001), (Kind.FRAME, 2, 1002, 2002)]
    assert records[-1].json() == {"action": "stop"} and records[-1].connection == 7
    assert writer.records_written == len(payloads) + 1
    for seg in segment_paths(tmp_path):
        assert index_path(seg).exists()


def test_a_torn_or_corrupt_tail_loses_only_the_last_block(tmp_path):
    writer = write(tmp_path, frames(300), block_bytes=2048)
    writer.flush()
    (seg,) = writer.segments
    blocks = len(scan_blocks(seg))        # no index yet: rebuilt from the headers
    size = seg.stat().st_size
    # a crash in the middle of the last write: the file ends inside a block
    with open(seg, "ab") as fh:
        fh.write(BLOCK.pack(b"CBB1", 1000, 2000, 3, 0, 0, 0) + b"\x28\xb5")
    assert len(list(iter_records(seg))) == 300
    assert len(scan_blocks(seg)) == blocks
    # a flipped byte inside the last block: the CRC drops it, the earlier blocks stay
    os.truncate(seg, size)
    with open(seg, "r+b") as fh:
        fh.seek(size - 3)
        fh.write(b"\x00\x00\x00")
    records = list(iter_records(seg))
    assert 0 < len(records) < 300
    assert [r.payload for r in records] == frames(300)[:len(records)]


def test_rotation_by_time(tmp_path):
    writer = SegmentWriter(tmp_path, sync=False, segment_s=0.001)
    for i in range(3):
        writer.add(Kind.FRAME, 0, i, i, b"x")
        writer.flush()
        time.sleep(0.002)  # the rotation clock must move on; nothing is asserted on time itself
    writer.close()
    assert len(segment_paths(tmp_path)) == 3
    assert [r.wall_ns for r in iter_records(tmp_path)] == [0, 1, 2]


@contextlib.contextmanager
def file_size_limit(limit: int):
    """Writes past ``limit`` bytes fail with EFBIG, as writes to a full disk fail with ENOSPC."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_a_failed_write_is_one_clear_error_and_what_was_flushed_stays(tmp_path):
    writer = write(tmp_path, frames(100))
    writer.flush()
    written = writer.bytes_written
    for p in frames(5000):
        writer.add(Kind.FRAME, 0, 1, 1, p)
    with file_size_limit(written + 100), pytest.raises(RecordingError, match="File too large") as info:
        writer.flush()
    assert "seg-000001.cbrec" in str(info.value)
    assert writer.closed
    with pytest.raises(RecordingError, match="closed"):
        writer.flush()
    assert [r.payload for r in iter_records(tmp_path)] == frames(100)


def test_a_new_writer_continues_the_numbering(tmp_path):
    write(tmp_path, frames(10)).close()
    write(tmp_path, frames(5)).close()
    assert [p.name for p in segment_paths(tmp_path)] == ["seg-000001.cbrec", "seg-000002.cbrec"]
    assert len(list(iter_records(tmp_path))) == 15


def test_bad_paths_and_files_are_named(tmp_path):
    with pytest.raises(RecordingError, match="no recording at"):
        list(iter_records(tmp_path / "missing"))
    bad = tmp_path / "seg-000001.cbrec"
    bad.write_bytes(b"not a segment at all, clearly not one")
    with pytest.raises(RecordingError, match="not a centbook segment"):
        list(iter_records(tmp_path))
    with pytest.raises(ValueError, match="must be > 0"):
        SegmentWriter(tmp_path / "x", segment_bytes=0)


def test_the_compiled_tap_interleaves_with_other_records_and_reports_write_errors(tmp_path):
    writer = SegmentWriter(tmp_path, sync=False, block_bytes=1 << 30)
    errors: list[Exception] = []
    tap = FrameTap(writer, 4, errors.append)
    payloads = frames(1000)
    for i, p in enumerate(payloads):
        tap(p, 10 + i // 7)                  # seven frames per socket read: one wall clock each
        if i % 250 == 0:
            writer.add_json(Kind.ACTION, 0, {"i": i})
    writer.flush()
    (block,) = scan_blocks(writer.segments[0])
    records = list(iter_records(tmp_path))
    assert block.records == len(records) == 1004 and tap.frames == 1000
    got = [r for r in records if r.kind == Kind.FRAME]
    assert [r.payload for r in got] == payloads and {r.connection for r in got} == {4}
    assert [r.mono_ns for r in got] == [10 + i // 7 for i in range(1000)]
    walls = [r.wall_ns for r in got]
    assert walls == sorted(walls) and len(set(walls)) <= 143        # at most one per read
    assert block.first_wall_ns == records[0].wall_ns and block.last_wall_ns == max(r.wall_ns for r in records)
    assert [r.json()["i"] for r in records if r.kind == Kind.ACTION] == [0, 250, 500, 750]
    # a full buffer flushes from inside the tap; a failed write goes to on_error, not up
    small = SegmentWriter(tmp_path / "small", sync=False, block_bytes=4096)
    tap = FrameTap(small, 0, errors.append)
    tap(payloads[0], 1)
    small.flush()
    with file_size_limit(small.bytes_written + 10):
        for p in payloads:
            tap(p, 2)
    assert len(errors) >= 1 and isinstance(errors[0], RecordingError) and small.closed
    with pytest.raises(ValueError, match="connection"):
        FrameTap(writer, 70000, errors.append)
