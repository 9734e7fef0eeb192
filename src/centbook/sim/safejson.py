"""JSON from clients the sim does not trust: nesting and integer size are bounded before use.

Python's ``json`` recurses once per nesting level (a 100,000-deep array raises
``RecursionError``) and turns any run of digits into an ``int`` (4,300 digits and more raise, a
few thousand cost quadratic time and overflow every later conversion). Kalshi's request bodies
and WebSocket commands are a few levels deep and carry integers of at most 19 digits, so the sim
refuses anything beyond :data:`MAX_DEPTH` levels or :data:`MAX_INT_DIGITS` digits before a handler
sees it.

Parts: :func:`parse` (decode one JSON text within the bounds), :func:`nesting_depth` (the
deepest nesting of a text, found without recursion) and :class:`JsonRejected` (what was wrong).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "JsonRejected", "nesting_depth", "parse"]

#: deepest nesting of arrays and objects accepted (Kalshi's bodies and commands use 3)
MAX_DEPTH = 32
#: most digits of a JSON integer accepted (Unix nanoseconds have 19)
MAX_INT_DIGITS = 24

# string literals, whose brackets do not nest; an unterminated one is left for json to reject
# (unrolled: a run of plain bytes, then escape + run pairs; linear, with no per-byte alternation)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# every byte but the four brackets, deleted by bytes.translate
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
# +1 for an opening bracket, -1 for a closing one
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


class JsonRejected(ValueError):
    """A text that is not JSON, or JSON beyond the sim's bounds; the message says which."""


def nesting_depth(raw: bytes) -> int:
    """Return the deepest nesting of arrays and objects in a JSON text, without recursing.

    Brackets inside string literals do not count. The scan runs at C speed: tens of milliseconds
    for a 4 MB body.
    """
    openers = raw.count(b"[") + raw.count(b"{")
    if openers == 0:
        return 0
    brackets = _STRING.sub(b'""', raw).translate(None, _NOT_BRACKET)
    if not brackets:
        return 0
    steps = _STEP[np.frombuffer(brackets, dtype=np.uint8)].astype(np.int32)
    return int(np.cumsum(steps).max())


def _bounded_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise JsonRejected(f"an integer has {digits} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(text)


def _no_constant(name: str) -> Any:
    raise JsonRejected(f"{name} is not JSON")


def parse(raw: bytes | str) -> Any:
    """Decode one JSON text from a client, within :data:`MAX_DEPTH` and :data:`MAX_INT_DIGITS`.

    Parameters
    ----------
    raw : bytes or str
        The text (UTF-8 when bytes).

    Returns
    -------
    Any
        The decoded value.

    Raises
    ------
    JsonRejected
        Not UTF-8, not JSON, nested deeper than :data:`MAX_DEPTH`, an integer longer than
        :data:`MAX_INT_DIGITS` digits, or ``NaN`` / ``Infinity``; the message names which.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH:  # else it cannot nest deeper
        depth = nesting_depth(data)
        if depth > MAX_DEPTH:
            raise JsonRejected(f"JSON nested {depth} levels deep; at most {MAX_DEPTH} are accepted")
    try:
        return json.loads(data, parse_int=_bounded_int, parse_constant=_no_constant)
    except JsonRejected:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise JsonRejected(f"not valid JSON: {exc}") from None
