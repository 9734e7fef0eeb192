"""The ``centbook`` command: one module per subcommand.

- :mod:`~centbook.cli.sim`: ``centbook sim``, the embedded exchange;
- :mod:`~centbook.cli.watch`: ``centbook watch``, a live terminal ladder per market;
- :mod:`~centbook.cli.mm`: ``centbook mm``, the market maker;
- :mod:`~centbook.cli.guard`: ``centbook guard``, the market maker's dead-man guard;
- :mod:`~centbook.cli.bench`: ``centbook bench``, the benchmark suites and their report;
- :mod:`~centbook.cli.demo`: what ``make demo`` runs.

Each subcommand's module has ``add_parser(subparsers)``, which adds its parser and sets ``func``;
:func:`main` dispatches.
"""

from __future__ import annotations

import argparse
import sys

from centbook.cli import bench, guard, mm, sim, watch

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``centbook`` command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="centbook", description="centbook: Kalshi market data and execution"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (sim, bench, watch, mm, guard):
        command.add_parser(sub)
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
