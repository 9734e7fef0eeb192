"""Kalshi's environments: the REST and WebSocket URLs of demo and production, in one place.

The embedded exchange (``sim``) has no fixed address: it prints its URLs when it starts.
"""
from __future__ import annotations

__all__ = ["REST_PATH", "REST_URLS", "WS_PATH", "WS_URLS", "rest_url", "ws_url"]

REST_PATH = "/trade-api/v2"
WS_PATH = "/trade-api/ws/v2"

REST_URLS = {
    "prod": "https://external-api.kalshi.com" + REST_PATH,
    "demo": "https://external-api.demo.kalshi.co" + REST_PATH,
}
WS_URLS = {
    "prod": "wss://external-api-ws.kalshi.com" + WS_PATH,
    "demo": "wss://external-api-ws.demo.kalshi.co" + WS_PATH,
}


def rest_url(env: str, base_url: str | None = None) -> str:
    """Return the REST base URL of ``prod``, ``demo`` or ``sim`` (the sim needs ``base_url``)."""
    if base_url:
        return base_url
    if env in REST_URLS:
        return REST_URLS[env]
    if env == "sim":
        raise ValueError("the sim's URL is printed when it starts; pass it as base_url")
    raise ValueError(f"unknown environment {env!r}: prod, demo or sim")


def ws_url(env: str) -> str:
    """Return the WebSocket URL of ``prod`` or ``demo``."""
    if env in WS_URLS:
        return WS_URLS[env]
    raise ValueError(f"unknown environment {env!r}: prod or demo (the sim prints its own URL)")
