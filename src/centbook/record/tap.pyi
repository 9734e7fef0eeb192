from collections.abc import Callable
from typing import Any

from centbook.books import Books

DONE: int
STOP: int
PYTHON: int
APPLIED: int

class FrameTap:
    frames: int
    def __init__(self, writer: Any, connection: int, on_error: Callable[[Exception], Any]) -> None: ...
    def __call__(self, payload: bytes, mono_ns: int) -> None: ...
    def take(self) -> tuple[int, int, int]: ...
    def detach(self) -> None: ...

def apply_block(books: Books, raw: bytes, pos: int, stop_pos: int, stop_ns: int, shared: bytearray,
                sid_stride: int) -> tuple[int, int, int, int]: ...
