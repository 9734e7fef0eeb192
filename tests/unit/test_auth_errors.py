"""Kalshi's three error-body shapes, and what the exceptions say (never the key)."""

from __future__ import annotations

from centbook.protocol.errors import (
    AuthenticationError,
    RateLimitedError,
    RejectedError,
    ServerError,
    error_for,
    parse_error_body,
)


def test_envelope_top_level_and_429_shapes() -> None:
    env = b'{"error": {"code": "invalid_order", "message": "invalid order", "details": "post only cross"}}'
    assert parse_error_body(env) == ("invalid_order", "invalid order", "post only cross")
    top = b'{"code": "bad_request", "message": "bad request", "details": "bad json"}'
    assert parse_error_body(top) == ("bad_request", "bad request", "bad json")
    assert parse_error_body(b'{"error": "too many requests"}') == (
        "too_many_requests",
        "too many requests",
        "",
    )
    assert parse_error_body(b"<html>502 Bad Gateway</html>") == ("", "<html>502 Bad Gateway</html>", "")
    assert parse_error_body(b'{"error": {"code": "insufficient_balance", "message": "x"}}')[2] == ""


def test_status_classes() -> None:
    assert type(error_for(400, b"{}", "POST", "/p")) is RejectedError
    assert type(error_for(409, b"{}", "POST", "/p")) is RejectedError
    assert type(error_for(429, b'{"error": "too many requests"}', "GET", "/p")) is RateLimitedError
    assert type(error_for(503, b"{}", "GET", "/p")) is ServerError
    assert type(error_for(408, b"{}", "GET", "/p")) is ServerError
    err = error_for(
        404, b'{"error": {"code": "order_not_found", "message": "m", "details": "d"}}', "DELETE", "/x"
    )
    assert (err.status, err.code, err.message, err.details, err.method, err.path) == (
        404,
        "order_not_found",
        "m",
        "d",
        "DELETE",
        "/x",
    )
    assert "HTTP 404" in str(err) and "order_not_found" in str(err)


def test_authentication_error_reports_local_checks() -> None:
    err = AuthenticationError(
        401,
        "authentication_error",
        "authentication error",
        body='{"error": {"code": "authentication_error"}}',
        key_id="abc",
        key_id_well_formed=False,
        key_bits=4096,
        clock_skew_s=-42.0,
    )
    text = str(err)
    assert "NOT a UUID" in text and "RSA-4096" in text and "-42.0 s" in text and "LOCAL CLOCK IS OFF" in text
    assert "authentication_error" in text
