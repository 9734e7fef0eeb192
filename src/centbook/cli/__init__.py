"""The ``centbook`` command: one module per subcommand.

- :mod:`~centbook.cli.sim`: ``centbook sim``, the embedded exchange;
- :mod:`~centbook.cli.watch`: ``centbook watch``, a live terminal ladder per market;
- :mod:`~centbook.cli.mm`: ``centbook mm``, the market maker;
- :mod:`~centbook.cli.bench`: ``centbook bench``, the benchmark suites and their report;
- :mod:`~centbook.cli.record`: ``centbook record``, markets' frames into a recording;
- :mod:`~centbook.cli.importer`: ``centbook import``, captures into a recording;
- :mod:`~centbook.cli.export`: ``centbook export``, recordings to Parquet;
- :mod:`~centbook.cli.backtest`: ``centbook backtest``, the market maker on recordings;
- :mod:`~centbook.cli.report`: the one-line errors of the commands above;
- :mod:`~centbook.cli.demo`: what ``make demo`` runs.

Each subcommand's module has ``add_parser(subparsers)``, which adds its parser and sets ``func``;
:func:`main` dispatches.
"""

from __future__ import annotations

import argparse
import sys

from centbook.cli import backtest, bench, export, importer, mm, record, sim, watch

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``centbook`` command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="centbook", description="centbook: Kalshi market data and execution"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (sim, bench, watch, mm, record, importer, export, backtest):
        command.add_parser(sub)
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
