"""How the ``centbook`` subcommands report a mistake: one line, an exit status, no traceback.

``centbook <command>: <what was wrong, what to do>`` on stderr, status 2 for usage and
configuration, 1 at run time; ``--debug`` or ``CENTBOOK_DEBUG=1`` re-raises instead.
"""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["debug_wanted", "fail", "missing_extra"]


def debug_wanted(args: argparse.Namespace) -> bool:
    """True when ``--debug`` was given or ``CENTBOOK_DEBUG=1`` is set."""
    return bool(getattr(args, "debug", False)) or os.environ.get("CENTBOOK_DEBUG") == "1"


def fail(command: str, error: object, status: int, debug: bool = False) -> int:
    """Print ``centbook <command>: <error>`` to stderr and return ``status``.

    Raises
    ------
    BaseException
        ``error`` itself, with its traceback, when it is an exception and ``debug`` is true.
    """
    if debug and isinstance(error, BaseException):
        raise error
    print(f"centbook {command}: {error}", file=sys.stderr)
    return status


def missing_extra(command: str, error: ImportError) -> int:
    """Report that the ``[record]`` extra is not installed (status 2)."""
    return fail(command, f"{error}: install the extra: pip install 'centbook[record]'", 2)
