"""Replay checkpoints: the whole state of a replay at points of a recording, to start from there.

A checkpoint is where a replay stands between two records (the block's offset in its segment and
the record's offset in the decompressed block) with the state a replay from the start has there:
every book (grid, state, levels, last seq, the subscription that last delivered it), the
subscriptions' seq trackers and what the replay knows of the connections
(:meth:`centbook.replay.Replayer.save`). :func:`centbook.replay.books_at` starts from the last
checkpoint before the wanted time instead of from the start of the recording.

The checkpoints of a closed segment are kept beside it in ``seg-NNNNNN.ckpt`` (zstandard-compressed
JSON), written once by the first reader that needs them (:func:`centbook.replay.build_checkpoints`).
Segments are only ever appended to, so a checkpoint stays true for good.

Parts: :class:`Checkpoint`, :func:`checkpoint_path`, :func:`read_checkpoints`,
:func:`write_checkpoints`, :data:`CHECKPOINT_SUFFIX`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import zstandard

__all__ = ["CHECKPOINT_SUFFIX", "Checkpoint", "checkpoint_path", "read_checkpoints", "write_checkpoints"]

CHECKPOINT_SUFFIX = ".ckpt"
_VERSION = 1


class Checkpoint(NamedTuple):
    """A replay's state before one record of a recording.

    Attributes
    ----------
    segment : int
        The segment's position in :func:`~centbook.record.segment.segment_paths`.
    offset : int
        The offset of the record's block in the segment.
    position : int
        Its offset in the decompressed block.
    wall_ns : int
        The latest receive time (wall clock) of any record before it: a replay that stops at the
        first record after ``t_ns`` passes this point when ``wall_ns <= t_ns``.
    state : dict
        What :meth:`centbook.replay.Replayer.restore` takes.
    """
    segment: int
    offset: int
    position: int
    wall_ns: int
    state: dict[str, Any]


def checkpoint_path(segment: Path) -> Path:
    """The checkpoint file of a segment."""
    return segment.with_name(segment.name.replace(".cbrec", CHECKPOINT_SUFFIX))


def write_checkpoints(segment: Path, number: int, points: list[Checkpoint]) -> None:
    """Write the checkpoints of one segment (``number``: its position in the recording) beside it.

    Raises
    ------
    OSError
        When the file cannot be written (a read-only recording: the caller goes on without).
    """
    body = {"version": _VERSION, "segment": segment.name,
            "points": [[p.offset, p.position, p.wall_ns, p.state] for p in points if p.segment == number]}
    path = checkpoint_path(segment)
    tmp = path.with_suffix(".tmp")
    raw = json.dumps(body, separators=(",", ":")).encode()
    tmp.write_bytes(zstandard.ZstdCompressor(level=3).compress(raw))
    os.replace(tmp, path)


def read_checkpoints(segment: Path, number: int) -> list[Checkpoint] | None:
    """The checkpoints kept beside a segment, or None when there are none (or they are unreadable)."""
    path = checkpoint_path(segment)
    try:
        body = json.loads(zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes()))
    except (OSError, ValueError, zstandard.ZstdError):
        return None
    if not isinstance(body, dict) or body.get("version") != _VERSION:
        return None
    return [Checkpoint(number, offset, position, wall, state)
            for offset, position, wall, state in body["points"]]
