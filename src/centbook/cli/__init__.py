"""The ``centbook`` command: one module per subcommand.

- :mod:`~centbook.cli.sim`: ``centbook sim``, the embedded exchange;
- :mod:`~centbook.cli.watch`: ``centbook watch``, a live terminal ladder per market;
- :mod:`~centbook.cli.mm`: ``centbook mm``, the market maker;
- :mod:`~centbook.cli.guard`: ``centbook guard``, the market maker's dead-man guard;
- :mod:`~centbook.cli.bench`: ``centbook bench``, the benchmark suites and their report;
- :mod:`~centbook.cli.record`: ``centbook record``, markets' frames into a recording;
- :mod:`~centbook.cli.importer`: ``centbook import``, captures into a recording;
- :mod:`~centbook.cli.export`: ``centbook export``, recordings to Parquet;
- :mod:`~centbook.cli.backtest`: ``centbook backtest``, the market maker on recordings;
- :mod:`~centbook.cli.demo`: what ``make demo`` runs;
- :mod:`~centbook.cli.exchange`: the options that choose an exchange, shared by ``watch`` and ``mm``;
- :mod:`~centbook.cli.errors`: the one-line error of a failed command.

Each subcommand's module has ``add_parser(subparsers)``, which adds its parser and sets ``func``;
:func:`main` dispatches. A mistake prints one line, ``centbook <command>: <what was wrong, what to
do>``, and exits 2 (usage, configuration) or 1 (the run failed); ``--debug`` or
``CENTBOOK_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from centbook.cli import backtest, bench, export, guard, importer, mm, record, sim, watch
from centbook.cli.errors import USAGE, explain

__all__ = ["main"]

#: The subcommands, in the order ``centbook --help`` lists them.
COMMANDS = (sim, bench, watch, mm, guard, record, importer, export, backtest)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage mistakes are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Run the ``centbook`` command line; return the exit status."""
    parser = _Parser(prog="centbook", description="centbook: Kalshi market data and execution")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (also CENTBOOK_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    for subparser in sub.choices.values():
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                               help="show tracebacks (also CENTBOOK_DEBUG=1)")
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return USAGE
    debug = args.debug or os.environ.get("CENTBOOK_DEBUG", "") not in ("", "0")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"centbook {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        line, status = explain(exc)
        print(f"centbook {args.command}: {line}", file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
