"""``centbook import``: captures (gzipped NDJSON of ``{"recv_ms", "event"}``) into a recording.

The format and its quirks: :mod:`centbook.record.importer`.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from centbook.cli.errors import RUNTIME, CommandError

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
    """Run ``centbook import``; return the exit status.

    Raises
    ------
    CommandError
        A capture or metadata file that cannot be read (status 2, naming the file and line), an
        ``--out`` that already holds a recording (2), a recording that cannot be written (1).
    """
    # the [record] extra (zstandard) loads only when a recording is made; without it the
    # ImportError reaches centbook.cli.main, which names the extra to install
    from centbook.record.importer import CaptureError, import_captures
    from centbook.record.segment import RecordingError, SegmentWriter, segment_paths

    if os.path.isdir(args.out) and segment_paths(args.out):
        raise CommandError(f"{args.out} already holds a recording: give a new --out directory")
    try:
        # offline: a slower zstandard level costs little here (captures: ~19 bytes/frame, 22 at 3)
        writer = SegmentWriter(args.out, sync=False, level=9)
        summary = import_captures(args.captures, args.metadata, writer)
    except CaptureError as exc:
        raise CommandError(str(exc)) from exc
    except RecordingError as exc:
        raise CommandError(str(exc), RUNTIME) from exc
    print(f"imported {summary.frames} frames of {len(summary.markets)} markets into {args.out}",
          file=sys.stderr)
    return 0
