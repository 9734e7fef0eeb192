"""``centbook mm``: the market maker on an exchange; the runner is :mod:`centbook.mm.app`."""
from centbook.mm.app import add_parser

__all__ = ["add_parser"]
