from collections.abc import Sequence

from centbook.books import Books

__all__ = ["ReadHook"]

class ReadHook:
    """Base class of a compiled end-of-read hook (subclass it in Cython: ``centbook/hooks.pxd``)."""
    defer_public: bool
    python_ns: int
    def __init__(self) -> None: ...
    def on_read(self, changed: Sequence[int], read_ns: int = 0, books: Books | None = None) -> None: ...
