"""The recording format: segment files of compressed blocks of records, and their indexes.

A recording is a directory of segment files ``seg-NNNNNN.cbrec``, each followed by its index
``seg-NNNNNN.idx.json`` once the segment is closed. A segment is a sequence of blocks; a block is
a fixed header (:data:`BLOCK`: magic, compressed and raw lengths, record count, first and last
wall-clock receive ns, CRC-32 of the compressed bytes) and one zstandard frame holding records.
A record (:data:`RECORD` header, then its payload) is one of :class:`Kind`:

- ``FRAME``: one WebSocket text frame, its bytes exactly as received;
- ``ACTION``: what the recorder did (JSON: connect, disconnect, start, stop, import, ...);
- ``META``: one market's REST metadata (JSON, the exchange's ``Market`` object as returned);
- ``COVERAGE``: a book's state change on a connection, with its cause (JSON).

Every record carries the connection it belongs to, the wall-clock ns and the monotonic ns of the
socket read that delivered it (one clock read per read, as the feed does).

Crash safety comes from the layout: blocks are only appended, each is written whole and then
flushed, and a reader stops at the first block that is incomplete or fails its CRC, so after a
kill or a power loss everything up to the last flush reads back. The index is a convenience
(block offsets and times); :func:`scan_blocks` rebuilds it from the block headers when it is
missing.

Parts: :class:`Kind`, :class:`Record`, :class:`SegmentWriter`, :func:`segment_paths`,
:func:`scan_blocks`, :func:`iter_blocks`, :func:`read_records`, :func:`iter_records`,
:func:`index_path`, :class:`RecordingError`.
"""
from __future__ import annotations

import json
import os
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import Any, NamedTuple

import zstandard

__all__ = ["BLOCK", "RECORD", "BlockInfo", "Kind", "Record", "RecordingError", "SegmentWriter", "index_path",
           "iter_blocks", "iter_records", "read_records", "scan_blocks", "segment_paths"]

MAGIC = b"CBB1"
BLOCK = struct.Struct("<4sIIIqqI")      # magic, compressed len, raw len, records, first/last wall ns, crc32
RECORD = struct.Struct("<BHqqI")        # kind, connection, wall ns, monotonic ns, payload length
SEGMENT_GLOB = "seg-*.cbrec"


class Kind(IntEnum):
    """What a record holds."""
    FRAME = 0
    ACTION = 1
    META = 2
    COVERAGE = 3


class Record(NamedTuple):
    """One record of a recording (``payload``: the frame bytes, or JSON for the other kinds)."""
    kind: int
    connection: int
    wall_ns: int
    mono_ns: int
    payload: bytes

    def json(self) -> Any:
        """The payload of an ACTION, META or COVERAGE record, decoded."""
        return json.loads(self.payload)


class RecordingError(Exception):
    """A recording cannot be written or read (the message names the file and the reason)."""


class BlockInfo(NamedTuple):
    """Where one block is and what it covers."""
    offset: int
    records: int
    first_wall_ns: int
    last_wall_ns: int


class SegmentWriter:
    """Append records to the segment files of one recording directory.

    Records are buffered uncompressed; :meth:`flush` compresses the buffer into one block,
    appends it and flushes it to the OS (and ``fsync``s it when ``sync`` is true). The owner
    calls :meth:`flush` at least every ``flush_interval``; a full buffer (``block_bytes``)
    flushes by itself. A segment is closed and a new one opened once it holds ``segment_bytes``
    compressed bytes or spans ``segment_s`` seconds.

    Parameters
    ----------
    directory : str or Path
        Created if missing. New segments number on from the highest already there.
    segment_bytes : int
        Rotate after this many bytes in a segment.
    segment_s : float
        Rotate after a segment has been open this long.
    block_bytes : int
        Flush when this many raw bytes are buffered.
    level : int
        zstandard compression level.
    sync : bool
        ``os.fsync`` after every block (power-loss safety; costs a disk round trip per flush).

    Raises
    ------
    RecordingError
        When the directory or a segment cannot be created or written (disk full, read-only):
        the message names the file and the OS error. The writer is closed after such an error.
    """

    def __init__(self, directory: str | os.PathLike[str], *, segment_bytes: int = 256 << 20,
                 segment_s: float = 3600.0, block_bytes: int = 1 << 20, level: int = 3,
                 sync: bool = True) -> None:
        if segment_bytes <= 0 or segment_s <= 0 or block_bytes <= 0:
            raise ValueError("segment_bytes, segment_s and block_bytes must be > 0")
        self.directory = Path(directory)
        self.segment_bytes, self.segment_s, self.block_bytes = segment_bytes, segment_s, block_bytes
        self.sync = sync
        self._compressor = zstandard.ZstdCompressor(level=level)
        self.buffer = bytearray()
        self._records = 0
        self._first_wall = self._last_wall = 0
        self._file: Any = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._blocks: list[BlockInfo] = []
        self._taps: list[Any] = []
        self.closed = False
        self.records_written = 0
        self.bytes_written = 0
        self.raw_bytes = 0
        self.segments: list[Path] = []
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot create {self.directory}: {exc.strerror or exc}") from None
        existing = segment_paths(self.directory)
        self._number = int(existing[-1].name[4:10]) if existing else 0

    def add(self, kind: int, connection: int, wall_ns: int, mono_ns: int, payload: bytes) -> None:
        """Buffer one record (flushes by itself when the buffer is full)."""
        buf = self.buffer
        buf += RECORD.pack(kind, connection, wall_ns, mono_ns, len(payload))
        buf += payload
        if not self._records:
            self._first_wall = wall_ns
        self._last_wall = max(self._last_wall, wall_ns) if self._records else wall_ns
        self._records += 1
        if len(buf) >= self.block_bytes:
            self.flush()

    def attach(self, tap: Any) -> None:
        """Count the records a compiled tap appends to :attr:`buffer` (its ``take()`` at each flush)."""
        self._taps.append(tap)

    def detach(self, tap: Any) -> None:
        """Stop counting a tap's records (what it appended before stays)."""
        self._collect()
        self._taps.remove(tap)

    def _collect(self) -> None:
        for tap in self._taps:
            n, first, last = tap.take()
            if n:
                self._first_wall = first if not self._records else min(self._first_wall, first)
                self._last_wall = max(self._last_wall, last) if self._records else last
                self._records += n

    def add_json(self, kind: int, connection: int, body: Any, mono_ns: int | None = None,
                 wall_ns: int | None = None) -> None:
        """Buffer one JSON record stamped now (or at the given times)."""
        self.add(kind, connection, time.time_ns() if wall_ns is None else wall_ns,
                 time.monotonic_ns() if mono_ns is None else mono_ns,
                 json.dumps(body, separators=(",", ":"), sort_keys=True).encode())

    def flush(self) -> None:
        """Write the buffered records as one block and hand it to the OS (fsync if ``sync``)."""
        if self.closed:
            raise RecordingError("the recording is closed")
        self._collect()
        if not self._records:
            return
        raw = bytes(self.buffer)
        comp = self._compressor.compress(raw)
        head = BLOCK.pack(MAGIC, len(comp), len(raw), self._records, self._first_wall, self._last_wall,
                          zlib.crc32(comp))
        try:
            if self._file is None or self._due():
                self._rotate()
            offset = self._file.tell()
            self._file.write(head + comp)
            self._file.flush()
            if self.sync:
                os.fsync(self._file.fileno())
        except OSError as exc:
            self._fail(exc)
        self._blocks.append(BlockInfo(offset, self._records, self._first_wall, self._last_wall))
        self.records_written += self._records
        self.bytes_written += len(head) + len(comp)
        self.raw_bytes += len(raw)
        self.buffer.clear()
        self._records = 0

    def _due(self) -> bool:
        return (self._file.tell() >= self.segment_bytes
                or time.monotonic() - self._opened_at >= self.segment_s)

    def _rotate(self) -> None:
        self._close_segment()
        self._number += 1
        self._path = self.directory / f"seg-{self._number:06d}.cbrec"
        self._file = open(self._path, "ab")  # noqa: SIM115 - held open across flushes
        self._opened_at = time.monotonic()
        self._blocks = []
        self.segments.append(self._path)

    def _close_segment(self) -> None:
        if self._file is None:
            return
        self._file.close()
        self._file = None
        assert self._path is not None
        write_index(self._path, self._blocks)

    def _fail(self, exc: OSError) -> None:
        path = self._path or self.directory
        self.closed = True
        try:
            if self._file is not None:
                self._file.close()
        except OSError:
            pass
        self._file = None
        raise RecordingError(f"cannot write {path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        """Flush what is buffered, close the segment and write its index."""
        if self.closed:
            return
        try:
            self.flush()
            self._close_segment()
        except OSError as exc:
            self._fail(exc)
        finally:
            self.closed = True


def index_path(segment: Path) -> Path:
    """The index file of a segment."""
    return segment.with_name(segment.name.replace(".cbrec", ".idx.json"))


def write_index(segment: Path, blocks: list[BlockInfo]) -> None:
    """Write a segment's index: its blocks (offset, records, first and last wall ns)."""
    body = {"segment": segment.name, "blocks": [list(b) for b in blocks],
            "records": sum(b.records for b in blocks),
            "first_wall_ns": blocks[0].first_wall_ns if blocks else None,
            "last_wall_ns": blocks[-1].last_wall_ns if blocks else None}
    tmp = index_path(segment).with_suffix(".tmp")
    tmp.write_text(json.dumps(body))
    os.replace(tmp, index_path(segment))


def segment_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The segment files of a recording (a directory, or one segment file), in order.

    Raises
    ------
    RecordingError
        When ``path`` does not exist or holds no segment.
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise RecordingError(f"no recording at {p}: not a file or directory")
    return sorted(p.glob(SEGMENT_GLOB))


def scan_blocks(segment: Path) -> list[BlockInfo]:
    """The complete blocks of a segment, from its index or, when missing, from its headers."""
    idx = index_path(segment)
    if idx.exists():
        return [BlockInfo(*b) for b in json.loads(idx.read_text())["blocks"]]
    blocks = []
    with open(segment, "rb") as fh:
        while True:
            offset = fh.tell()
            head = fh.read(BLOCK.size)
            if len(head) < BLOCK.size:
                break
            magic, clen, _rlen, n, first, last, crc = BLOCK.unpack(head)
            comp = fh.read(clen)
            if magic != MAGIC or len(comp) < clen or zlib.crc32(comp) != crc:
                break
            blocks.append(BlockInfo(offset, n, first, last))
    return blocks


def _blocks_of(segment: Path) -> Iterator[bytes]:
    """The raw bytes of each complete block of a segment; stops at a torn or corrupt tail."""
    for _info, raw in iter_blocks(segment):
        yield raw


def iter_blocks(segment: Path, start: int = 0) -> Iterator[tuple[BlockInfo, bytes]]:
    """``(block info, raw bytes)`` of each complete block of a segment from byte ``start`` (a
    block's offset); stops at a torn or corrupt tail.

    Raises
    ------
    RecordingError
        When a block header is not where one should be (not a segment, or a wrong ``start``).
    """
    decompressor = zstandard.ZstdDecompressor()
    with open(segment, "rb") as fh:
        fh.seek(start)
        while True:
            head = fh.read(BLOCK.size)
            if len(head) < BLOCK.size:
                return
            magic, clen, rlen, n, first, last, crc = BLOCK.unpack(head)
            offset = fh.tell() - BLOCK.size
            if magic != MAGIC:
                raise RecordingError(f"{segment}: not a centbook segment (bad block magic at byte {offset})")
            comp = fh.read(clen)
            if len(comp) < clen or zlib.crc32(comp) != crc:
                return   # the tail a crash left: everything before it is whole
            yield BlockInfo(offset, n, first, last), decompressor.decompress(comp, max_output_size=rlen)


def read_records(raw: bytes) -> Iterator[Record]:
    """The records of one decompressed block."""
    unpack = RECORD.unpack_from
    size = RECORD.size
    pos, end = 0, len(raw)
    while pos < end:
        kind, conn, wall, mono, n = unpack(raw, pos)
        pos += size
        yield Record(kind, conn, wall, mono, raw[pos:pos + n])
        pos += n


def iter_records(path: str | os.PathLike[str] | Iterable[Path]) -> Iterator[Record]:
    """Every record of a recording (directory, segment file, or list of segments), in order."""
    segments = segment_paths(path) if isinstance(path, str | os.PathLike) else list(path)
    for segment in segments:
        for raw in _blocks_of(segment):
            yield from read_records(raw)
