"""centbook.sim.safejson: nesting found without recursion, bounds named in the error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centbook.sim.safejson import MAX_DEPTH, MAX_INT_DIGITS, JsonRejected, nesting_depth, parse


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"", 0),
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'["a\\"[b", [1]]', 2),  # an escaped quote does not end the string
        (b'["\\\\", [[1]]]', 3),  # an escaped backslash does not escape the quote after it
        (b'{"[[[[": {"x": "]]]"}}', 2),
        (b"[" * 100_000 + b"]" * 100_000, 100_000),
    ],
)
def test_nesting_depth(raw: bytes, depth: int) -> None:
    assert nesting_depth(raw) == depth


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@given(_values)
def test_nesting_depth_agrees_with_the_decoded_value(value: object) -> None:
    assert nesting_depth(json.dumps(value).encode()) == _depth(value)
    assert nesting_depth(json.dumps(value, ensure_ascii=False).encode()) == _depth(value)


def test_parse_bounds() -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert nesting_depth(parse(at_limit).__repr__().encode()) == MAX_DEPTH
    with pytest.raises(JsonRejected, match=f"nested {MAX_DEPTH + 1} levels deep"):
        parse("[" + at_limit + "]")
    assert parse("-" + "9" * MAX_INT_DIGITS) == -int("9" * MAX_INT_DIGITS)
    with pytest.raises(JsonRejected, match=f"{MAX_INT_DIGITS + 1} digits"):
        parse("9" * (MAX_INT_DIGITS + 1))
    for text in ("NaN", "[Infinity]", "-Infinity"):
        with pytest.raises(JsonRejected, match="is not JSON"):
            parse(text)
    for raw in (b"\xff", b"{", "\ud800"):
        with pytest.raises(JsonRejected, match="not valid JSON"):
            parse(raw)
    assert parse(b'{"a": 1.5e3}') == {"a": 1500.0}
