"""``centbook export``: a recording (or a directory of them) to Parquet datasets for DuckDB.

The tables, their partitions and the incremental rule: :mod:`centbook.record.exporter`; DuckDB
queries over them: ``docs/recording.md``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from centbook.cli.errors import RUNTIME, CommandError

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Add the ``export`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("export", help="export recordings to Parquet (hive-partitioned, for DuckDB)",
                       description="Export a recording, or a directory of recordings, to Parquet datasets "
                                   "partitioned by date and series; a second run writes only what is new.")
    p.add_argument("source", metavar="DIR", help="a recording directory, or a directory of them")
    p.add_argument("--parquet", required=True, metavar="OUT", help="output directory of the datasets")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``centbook export``; return the exit status.

    Raises
    ------
    CommandError
        A source that holds no recording (status 2), an output that cannot be written (1).
    """
    # the [record] extra (pyarrow, zstandard) loads only when an export runs; without it the
    # ImportError reaches centbook.cli.main, which names the extra to install
    from centbook.record.exporter import ExportError, export

    try:
        rows = export(args.source, args.parquet)
    except ExportError as exc:
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError(f"cannot write {args.parquet}: {exc.strerror or exc}", RUNTIME) from exc
    written = ", ".join(f"{table} {n}" for table, n in rows.items() if n) or "nothing new"
    print(f"exported to {args.parquet}: {written}", file=sys.stderr)
    return 0
