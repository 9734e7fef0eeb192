"""The ``centbook mm`` command's runner, under its older import path: it lives in
:mod:`centbook.cli.mm`. Loaded on first use, so that importing :mod:`centbook.mm` never loads the
command-line layer above it.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from centbook.cli.mm import SIM_MARKETS, add_parser, run_mm, run_session, status_line, summary_text

__all__ = ["add_parser", "run_mm", "run_session", "status_line", "summary_text", "SIM_MARKETS"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("centbook.cli.mm"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
