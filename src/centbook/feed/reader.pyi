from collections.abc import Callable
from typing import Any

import picows

from centbook.books import Books
from centbook.hooks import ReadHook
from centbook.metrics import Histogram

class BookListener(picows.WSListener):
    books: Books
    on_read: Callable[[list[str], int], Any] | None
    on_message: Callable[[int, bytes], Any] | None
    on_connected_cb: Callable[[Any], Any] | None
    on_disconnected_cb: Callable[[Any], Any] | None
    tap: Callable[[bytes, int], Any] | None
    hook: ReadHook | None
    quoter: ReadHook | None
    apply_latency: Histogram
    frames: int
    book_frames: int
    bytes_in: int
    reads: int
    other_frames: int
    refused_frames: int
    hooked_reads: int
    deferred_frames: int
    last_recv_ns: int
    last_ping_ns: int
    pings: int
    close_code: Any
    def __init__(
        self, books: Books, on_read: Callable[[list[str], int], Any] | None = None,
        on_message: Callable[[int, bytes], Any] | None = None,
        on_connected: Callable[[Any], Any] | None = None,
        on_disconnected: Callable[[Any], Any] | None = None,
        tap: Callable[[bytes, int], Any] | None = None, sample_every: int = 64,
    ) -> None: ...
    def stats(self) -> dict[str, int]: ...

class CountingListener(picows.WSListener):
    frames: int
    bytes_in: int
    reads: int
    first_ns: int
    last_ns: int
    stop_after: int
    on_stop: Callable[[CountingListener], Any] | None
    def __init__(
        self, stop_after: int = 0, on_stop: Callable[[CountingListener], Any] | None = None,
    ) -> None: ...
    @property
    def elapsed_ns(self) -> int: ...
    def stats(self) -> dict[str, int]: ...
