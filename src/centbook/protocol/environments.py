"""Kalshi's environments and exchange addresses: every URL centbook knows, in one place.

- :data:`REST_URLS`, :data:`WS_URLS`: the REST base URL and WebSocket URL of ``demo`` and ``prod``;
- :func:`rest_url`, :func:`ws_url`: the URLs of a named environment;
- :func:`exchange_urls`: the REST base URL and WebSocket URL of any exchange, from a REST base URL
  (``.../trade-api/v2``) or a host root (``http://127.0.0.1:PORT``, as ``centbook sim`` prints);
- :func:`environment_of`: which named environment a REST base URL belongs to.

The embedded exchange (``sim``) has no fixed address: it prints its URLs when it starts.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "ENVIRONMENTS", "REST_PATH", "REST_URLS", "WS_PATH", "WS_URLS", "environment_of",
    "exchange_urls", "rest_url", "ws_url",
]

REST_PATH = "/trade-api/v2"
WS_PATH = "/trade-api/ws/v2"

#: The environments a command can be pointed at: a private embedded exchange, Kalshi's demo, Kalshi.
ENVIRONMENTS = ("sim", "demo", "prod")

REST_URLS = {
    "prod": "https://external-api.kalshi.com" + REST_PATH,
    "demo": "https://external-api.demo.kalshi.co" + REST_PATH,
}
WS_URLS = {
    "prod": "wss://external-api-ws.kalshi.com" + WS_PATH,
    "demo": "wss://external-api-ws.demo.kalshi.co" + WS_PATH,
}
_WS_SCHEMES = {"http": "ws", "https": "wss"}


def rest_url(env: str, base_url: str | None = None) -> str:
    """Return the REST base URL of ``prod``, ``demo`` or ``sim`` (the sim needs ``base_url``).

    ``base_url`` may be a REST base URL or a host root (see :func:`exchange_urls`).
    """
    if base_url:
        return exchange_urls(base_url)[0]
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


def exchange_urls(url: str, ws: str | None = None) -> tuple[str, str]:
    """Return ``(REST base URL, WebSocket URL)`` of the exchange at ``url``.

    Parameters
    ----------
    url : str
        A REST base URL (``https://host/trade-api/v2``) or a host root (``http://127.0.0.1:PORT``,
        to which ``/trade-api/v2`` is added).
    ws : str, optional
        The WebSocket URL; by default Kalshi's for Kalshi's hosts, else the same host with
        ``ws``/``wss`` and ``/trade-api/ws/v2``.

    Raises
    ------
    ValueError
        ``url`` is not an http(s) URL, or its path is neither empty nor ``/trade-api/v2``
        (the message says which two forms are expected).
    """
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if parts.scheme not in _WS_SCHEMES or not parts.netloc or parts.query or path not in ("", REST_PATH):
        raise ValueError(f"{url!r} is not an exchange URL: give a REST base URL like "
                         f"http://127.0.0.1:PORT{REST_PATH} or a host root like http://127.0.0.1:PORT")
    rest = urlunsplit((parts.scheme, parts.netloc, REST_PATH, "", ""))
    if ws is None:
        env = environment_of(rest)
        ws = WS_URLS[env] if env in WS_URLS else urlunsplit(
            (_WS_SCHEMES[parts.scheme], parts.netloc, WS_PATH, "", ""))
    elif urlsplit(ws).scheme not in ("ws", "wss"):
        raise ValueError(f"{ws!r} is not a WebSocket URL (ws:// or wss://)")
    return rest, ws


def environment_of(rest: str) -> str | None:
    """Return ``"prod"`` or ``"demo"`` when ``rest`` is that environment's REST base URL, else None."""
    return next((env for env, known in REST_URLS.items() if known == rest.rstrip("/")), None)
