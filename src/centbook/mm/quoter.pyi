from collections.abc import Callable
from typing import Any

from centbook.book import OrderBook
from centbook.grid import PriceGrid
from centbook.hooks import ReadHook

__all__ = ["ArmedAmend", "DECLINE_REASONS", "Quoter"]

DECLINE_REASONS: tuple[str, ...]

class ArmedAmend:
    armed: bool
    cancel: bool
    key: Any
    market: int
    side: int
    book: OrderBook
    grid: PriceGrid
    live_price: int
    live_size: int
    filled: int
    own_a: int
    own_b: int
    own_a_size: int
    own_b_size: int
    half_spread_bp: float
    skew_bp_per_contract: float
    position: int
    size: int
    size_threshold: int
    threshold_bp: int
    floor_bp: int
    not_before_ns: int
    fresh_until_ns: int
    close_limit_ns: int
    tradable: dict[str, bool]
    shard_trading: dict[int, bool]
    ticker: str
    shard: int | None
    conn: Any
    transport: Any
    head: bytes
    body_pre: bytes
    body_mid: bytes
    body_post: bytes
    try_acquire: Callable[[str, float], bool]
    bucket: str
    cost: float
    write: Any
    fired_price: int
    fired_count: int
    read_ns: int
    applied_ns: int
    decided_ns: int
    written_ns: int
    python_ns: int
    nth: int
    made_ns: int
    sent_ms: int
    def __init__(self) -> None: ...

class Quoter(ReadHook):
    armed: int
    pair_writes: bool
    fired: int
    declined: int
    unchanged: int
    write_errors: int
    last_error: str | None
    @property
    def declines(self) -> dict[str, int]: ...
    on_fired: Callable[[list[ArmedAmend]], Any] | None
    def watches(self, market: int) -> bool: ...
    def __init__(self, on_fired: Callable[[list[ArmedAmend]], Any] | None = ...) -> None: ...
    def arm(self, a: ArmedAmend) -> None: ...
    def disarm(self, a: ArmedAmend) -> bool: ...
    def targets(self, a: ArmedAmend) -> tuple[int, int] | None: ...
