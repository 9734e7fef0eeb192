"""``centbook import``: captures (gzipped NDJSON of ``{"recv_ms", "event"}``) into a recording.

The format and its quirks: :mod:`centbook.record.importer`.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from centbook.cli.report import debug_wanted, fail, missing_extra

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Add the ``import`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("import", help="import captures (gzipped NDJSON) into a recording",
                       description="Import captures of {\"recv_ms\", \"event\"} lines, one market per file, "
                                   "with their event metadata, into a recording that replays and exports "
                                   "like one made by centbook record.")
    p.add_argument("captures", nargs="+", metavar="CAPTURE.ndjson.gz", help="capture files")
    p.add_argument("--metadata", required=True, metavar="DIR", help="directory of event metadata JSON")
    p.add_argument("--out", required=True, metavar="DIR", help="recording directory (created)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``centbook import``; return the exit status."""
    try:
        # the [record] extra (zstandard) loads only when a recording is made
        from centbook.record.importer import CaptureError, import_captures
        from centbook.record.segment import RecordingError, SegmentWriter, segment_paths
    except ImportError as exc:
        return missing_extra("import", exc)
    debug = debug_wanted(args)
    if os.path.isdir(args.out) and segment_paths(args.out):
        return fail("import", f"{args.out} already holds a recording: give a new --out directory", 2)
    try:
        # offline: a slower zstandard level costs little here (captures: ~19 bytes/frame, 22 at 3)
        writer = SegmentWriter(args.out, sync=False, level=9)
        summary = import_captures(args.captures, args.metadata, writer)
    except CaptureError as exc:
        return fail("import", exc, 2, debug)
    except RecordingError as exc:
        return fail("import", exc, 1, debug)
    print(f"imported {summary.frames} frames of {len(summary.markets)} markets into {args.out}",
          file=sys.stderr)
    return 0
