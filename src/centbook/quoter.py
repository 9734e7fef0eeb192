"""The import path ``centbook.quoter``: the public names of :mod:`centbook.mm.quoter`."""
from centbook.mm.quoter import DECLINE_REASONS, ArmedAmend, Quoter

__all__ = ["ArmedAmend", "DECLINE_REASONS", "Quoter"]
