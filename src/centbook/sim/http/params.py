"""Parsing of the sim's REST query strings and JSON bodies; every failure names its field.

Parts: :data:`MAX_COUNT`, :data:`MAX_QUERY_DIGITS`, body fields (:func:`required_field`, :func:`str_field`,
:func:`bool_field`, :func:`int_field`, :func:`expiration_field`, :func:`enum_field`), values
(:func:`parse_count`, :func:`parse_price`), query fields (:func:`query_int`) and cursor paging
(:func:`paginate`).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from centbook.fixed import parse_price_bp, parse_size
from centbook.sim.errors import SimError, bad_request

MAX_COUNT = 100_000_000 * 100  # hundredths of a contract
# longest integer query field: a sign and 19 digits (Unix nanoseconds)
MAX_QUERY_DIGITS = 20


def required_field(body: dict[str, Any], name: str) -> Any:
    if name not in body or body[name] is None:
        raise SimError(400, "missing_parameters", "missing parameters", f"{name} is required")
    return body[name]


def str_field(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = required_field(body, name) if required else body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string, got {json.dumps(value)}")
    if required and not value:
        raise SimError(400, "missing_parameters", "missing parameters", f"{name} must not be empty")
    return value


def bool_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false, got {json.dumps(value)}")
    return value


def int_field(body: dict[str, Any], name: str, minimum: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{name} must be an integer, got {json.dumps(value)}")
    if minimum is not None and value < minimum:
        raise bad_request(f"{name} must be at least {minimum}, got {value}")
    return value


def expiration_field(body: dict[str, Any]) -> int | None:
    value = int_field(body, "expiration_time", 0)
    if value is not None and value >= 2**35:  # year 3058: beyond any market, and datetime's range
        raise bad_request(f"expiration_time must be Unix seconds, got {value}")
    return value


def enum_field(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = required_field(body, name)
    if value not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}, got {json.dumps(value)}")
    return str(value)


def parse_count(value: Any, name: str, allow_zero: bool = False) -> int:
    if not isinstance(value, str):
        raise bad_request(
            f'{name} must be a fixed-point contract string such as "10.00", got {json.dumps(value)}',
            code="invalid_order_size",
            message="invalid order size",
        )
    try:
        size = parse_size(value)
    except ValueError as exc:
        raise bad_request(f"{name}: {exc}", code="invalid_order_size", message="invalid order size") from None
    if size > MAX_COUNT:
        raise bad_request(
            f"{name} {value!r} is above the largest order size",
            code="invalid_order_size",
            message="invalid order size",
        )
    if size < 0 or (size == 0 and not allow_zero):
        raise bad_request(
            f"{name} must be positive, got {value!r}", code="invalid_order_size", message="invalid order size"
        )
    return size


def parse_price(value: Any, name: str) -> int:
    if not isinstance(value, str):
        raise bad_request(
            f'{name} must be a dollar string such as "0.5600", got {json.dumps(value)}',
            code="invalid_dollar_precision",
            message="invalid price",
        )
    try:
        return parse_price_bp(value)
    except ValueError as exc:
        raise bad_request(
            f"{name}: {exc}", code="invalid_dollar_precision", message="invalid price"
        ) from None


def query_int(
    request: web.Request, name: str, default: int | None = None, lo: int | None = None, hi: int | None = None
) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if len(raw) > MAX_QUERY_DIGITS:
        raise bad_request(f"query parameter {name} has {len(raw)} characters; an integer has at most 20")
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"query parameter {name} must be an integer, got {raw!r}") from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise bad_request(f"query parameter {name} must be in {lo}..{hi}, got {value}")
    return value


def paginate(
    request: web.Request,
    items: list[Any],
    default_limit: int = 100,
    max_limit: int = 1000,
    min_limit: int = 1,
) -> tuple[list[Any], str]:
    limit = query_int(request, "limit", default_limit, min_limit, max_limit) or default_limit
    cursor = request.query.get("cursor") or ""
    start = 0
    if cursor:
        if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > MAX_QUERY_DIGITS:
            raise bad_request(f"invalid cursor {cursor[:40]!r}")
        start = int(cursor)
    page = items[start : start + limit]
    nxt = start + limit
    return page, (str(nxt) if nxt < len(items) else "")


def in_time_window(request: web.Request, items: list[Any], ts: str = "ts_ns") -> list[Any]:
    """Keep the items whose ``ts`` attribute (ns) falls within the query's ``min_ts``/``max_ts``
    (Unix seconds, both inclusive, either absent), as a new list."""
    lo, hi = query_int(request, "min_ts"), query_int(request, "max_ts")
    return [x for x in items
            if (lo is None or getattr(x, ts) // 10**9 >= lo)
            and (hi is None or getattr(x, ts) // 10**9 <= hi)]
