"""Pre-built bytes of the ``orderbook_delta`` message, so a delta costs one bytes formatting.

Parts: :data:`DELTA_FORMAT`, :data:`DELTA_TAIL`, :func:`price_table`, :func:`size_bytes` and
:func:`delta_market_part`.
"""

from __future__ import annotations

import functools
import json

from centbook.fixed import format_price, format_size
from centbook.sim.engine import MAX_BP
from centbook.sim.ws.channels import (
    market_id,
)

# Pre-built pieces of ``orderbook_delta`` (byte for byte what ``dumps`` makes of the message
# dict: ``test_sim_stream`` checks it), so a delta costs one bytes formatting, not dict + json.
DELTA_FORMAT = b'%s%d%s%s","delta_fp":"%s%s%d}}'
DELTA_TAIL = {True: b'","side":"yes","ts_ms":', False: b'","side":"no","ts_ms":'}
_price_bytes: list[bytes] = []


def price_table() -> list[bytes]:
    """Return ``format_price(bp)`` as bytes for every bp 0..MAX_BP (built on first use)."""
    if not _price_bytes:
        _price_bytes.extend(format_price(p).encode() for p in range(MAX_BP + 1))
    return _price_bytes


@functools.lru_cache(maxsize=8192)
def size_bytes(size: int) -> bytes:
    return format_size(size).encode()


@functools.lru_cache(maxsize=65536)
def delta_market_part(ticker: str) -> bytes:
    """Return the bytes between ``"seq":N`` and the price of a delta of ``ticker``."""
    return (
        b',"msg":{"market_ticker":' + json.dumps(ticker).encode()
        + b',"market_id":' + json.dumps(market_id(ticker)).encode() + b',"price_dollars":"'
    )  # fmt: skip
