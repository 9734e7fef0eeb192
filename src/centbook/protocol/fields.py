"""Reading Kalshi's REST JSON in centbook's units: the field helpers every REST model uses.

- :class:`ProtocolError`: a response without the shape Kalshi's spec gives it;
- :func:`required`, :func:`convert`: a field that must be present, a field put through a parser,
  each raising :class:`ProtocolError` naming the field;
- :func:`price_field`, :func:`size_field`, :func:`money_field`: dollar and count strings read
  exactly by :mod:`centbook.fixed` (basis points, hundredths, micro-dollars);
- :func:`parse_time_ns`, :func:`optional_str`: RFC 3339 times and optional strings.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from centbook.fixed import parse_money, parse_price_bp, parse_size

__all__ = [
    "ProtocolError", "convert", "money_field", "optional_str", "parse_time_ns", "price_field",
    "required", "size_field",
]


class ProtocolError(ValueError):
    """A response did not have the shape Kalshi's spec gives it."""


def required(d: Any, name: str) -> Any:
    """Return ``d[name]``; raise :class:`ProtocolError` when it is missing or null."""
    try:
        value = d[name]
    except (KeyError, TypeError):
        raise ProtocolError(f"response lacks required field {name!r}") from None
    if value is None:
        raise ProtocolError(f"required field {name!r} is null")
    return value


def convert(fn: Any, d: Any, name: str, optional: bool = False) -> Any:
    """Return ``fn(d[name])`` (None for an absent optional field), errors as :class:`ProtocolError`."""
    value = d.get(name) if optional else required(d, name)
    if value is None:
        return None
    try:
        return fn(value)
    except (ValueError, TypeError) as exc:
        raise ProtocolError(f"field {name!r}: {exc}") from None


def price_field(d: Any, name: str, optional: bool = False) -> Any:
    """Return the dollar string ``d[name]`` in basis points."""
    return convert(parse_price_bp, d, name, optional)


def size_field(d: Any, name: str, optional: bool = False) -> Any:
    """Return the contract-count string ``d[name]`` in hundredths."""
    return convert(parse_size, d, name, optional)


def money_field(d: Any, name: str, optional: bool = False) -> Any:
    """Return the dollar string ``d[name]`` in micro-dollars."""
    return convert(parse_money, d, name, optional)


def parse_time_ns(text: str | None) -> int | None:
    """Parse an RFC 3339 time (``2026-08-10T23:00:00.123456Z``) to Unix nanoseconds."""
    if text is None or text == "":
        return None
    try:
        dt = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ProtocolError(f"bad RFC 3339 time {text!r}: {exc}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.UTC)
    delta = dt - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def optional_str(d: Any, name: str) -> str | None:
    """Return ``str(d[name])``, or None when the field is absent or null."""
    v = d.get(name)
    return None if v is None else str(v)

