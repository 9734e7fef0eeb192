"""Exact parsing and formatting of Kalshi's decimal strings."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centbook import (
    format_money,
    format_price,
    format_size,
    parse_money,
    parse_price_bp,
    parse_size,
)


@pytest.mark.parametrize(("text", "bp"), [
    ("1", 10000), ("0", 0), ("0.96", 9600), ("0.960", 9600), ("0.9600", 9600), ("0.0001", 1),
    ("1.0000", 10000), ("0.5", 5000), ("00.10", 1000), (b"0.4200", 4200),
])
def test_price_parses_exactly(text, bp):
    assert parse_price_bp(text) == bp


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"), ("1.", "not a decimal"), (".5", "not a decimal"), ("0.12345", "more decimals"),
    ("1.0001", "out of range"), ("2", "out of range"), ("-0.10", "no sign"), ("+0.10", "no sign"),
    ("0.1a", "not a decimal"), (" 0.1", "not a decimal"), ("0.1 ", "not a decimal"),
    ("0,10", "not a decimal"), ("1e-2", "not a decimal"), ("0..1", "not a decimal"),
    ("99999999", "out of range"),
])
def test_price_refuses_with_the_input_named(text, why):
    with pytest.raises(ValueError) as info:
        parse_price_bp(text)
    assert repr(text) in str(info.value) and why in str(info.value)


def test_price_refuses_non_strings():
    with pytest.raises(TypeError, match="float"):
        parse_price_bp(0.5)


@pytest.mark.parametrize(("text", "size"), [
    ("13.5", 1350), ("-54.00", -5400), ("300", 30000), ("0.01", 1), ("+2", 200), ("-0", 0),
    ("9999999999999999.99", 999999999999999999),
])
def test_size_parses_exactly(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-", "1.234", "1.", "--1", "1-", "12345678901234567", "0.1.1"])
def test_size_refuses(text):
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


@pytest.mark.parametrize(("text", "micro"), [
    ("0.010000", 10000), ("-12.5", -12500000), ("1234.5678", 1234567800), ("0.000001", 1),
])
def test_money_parses_exactly(text, micro):
    assert parse_money(text) == micro


@pytest.mark.parametrize("text", ["0.0000001", "", "x", "1234567890123.0"])
def test_money_refuses(text):
    with pytest.raises(ValueError, match="invalid amount"):
        parse_money(text)


def test_formatting_is_kalshis():
    assert format_price(9600) == "0.9600"
    assert format_price(10000) == "1.0000"
    assert format_price(0) == "0.0000"
    assert format_size(-5400) == "-54.00"
    assert format_size(1) == "0.01"
    assert format_size(-1) == "-0.01"
    assert format_money(10000) == "0.010000"
    assert format_money(-1) == "-0.000001"
    with pytest.raises(ValueError, match="10001"):
        format_price(10001)


@given(st.integers(0, 10000))
def test_price_round_trip(bp):
    assert parse_price_bp(format_price(bp)) == bp
    assert Decimal(format_price(bp)) * 10000 == bp


@given(st.integers(-(10**17), 10**17))
def test_size_and_money_round_trip(v):
    assert parse_size(format_size(v)) == v
    assert Decimal(format_size(v)) * 100 == v
    if abs(v) < 10**17:
        assert parse_money(format_money(v)) == v


@given(st.decimals(min_value=0, max_value=1, places=4, allow_nan=False))
def test_price_agrees_with_decimal(d):
    text = format(d, "f")
    assert parse_price_bp(text) == int(d * 10000)
