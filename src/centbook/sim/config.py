"""What the embedded exchange lists and who trades on it: series, events, markets, users, tiers.

A configuration is a plain dict (JSON-friendly) so ``centbook sim --config FILE`` and tests can
build one without importing anything. :func:`default_config` is the demo's set: markets on two
exchange shards (0 and 2) whose ``price_ranges`` cover whole-cent, deci-cent, tapered deci-cent and
centi-cent grids.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["ADMIN_TOKEN_ENV", "PRICE_STRUCTURES", "SERVER_DEFAULTS", "TIERS", "default_config"]

# price_level_structure -> price_ranges, as Kalshi publishes them (PROTOCOL.md 3.2).
PRICE_STRUCTURES: dict[str, list[dict[str, str]]] = {
    "linear_cent": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
    "deci_cent": [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}],
    "tapered_deci_cent": [
        {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
        {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
        {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
    ],
    "center_centi_edge_centi_cent": [{"start": "0.0000", "end": "1.0000", "step": "0.0001"}],
    "center_deci_edge_centi_cent": [
        {"start": "0.0000", "end": "0.0100", "step": "0.0001"},
        {"start": "0.0100", "end": "0.9900", "step": "0.0010"},
        {"start": "0.9900", "end": "1.0000", "step": "0.0001"},
    ],
}

# Usage tiers: (read refill/s, read capacity, write refill/s, write capacity), PROTOCOL.md 5.
# Read buckets of Basic and Advanced and write buckets above Basic hold 2 s of budget.
# "fast" is the sim's own test tier: small buckets so a test meets a 429 within a few requests,
# quick refill so it never waits long.
TIERS: dict[str, tuple[int, int, int, int]] = {
    "basic": (200, 400, 100, 100),
    "advanced": (300, 600, 300, 600),
    "expert": (600, 600, 600, 1200),
    "premier": (1000, 1000, 1000, 2000),
    "paragon": (2000, 2000, 2000, 4000),
    "prime": (4000, 4000, 4000, 8000),
    "prestige": (10000, 10000, 8000, 16000),
    "fast": (200, 200, 100, 100),
    "unlimited": (10**9, 10**9, 10**9, 10**9),
}

# How the sim serves hostile or broken clients (``config["server"]``, each key optional).
# header_timeout_s: a connection that has not sent a whole request head within this many seconds
#   (idle, or headers half-sent) is closed; longer than client pools keep idle connections (15 s
#   in aiohttp) so a client's reused connection is never closed under it.
# body_timeout_s: a request body not received whole within this many seconds gets 408.
# admin: the /admin API, off unless enabled; when on, every call needs
#   ``Authorization: Bearer <token>`` (a random token when none is configured).
SERVER_DEFAULTS: dict[str, Any] = {
    "header_timeout_s": 60.0,
    "body_timeout_s": 60.0,
    "admin": False,
    "admin_token": None,
}

#: environment variable ``centbook sim --admin`` takes its admin token from (else a random one)
ADMIN_TOKEN_ENV = "CENTBOOK_SIM_ADMIN_TOKEN"

_DEFAULT: dict[str, Any] = {
    "series": [
        {
            "ticker": "KXDEMO",
            "title": "centbook demo index",
            "category": "Economics",
            "frequency": "daily",
            "fee_type": "quadratic",
            "fee_multiplier": 0.07,
        },
        {
            "ticker": "KXBTCD",
            "title": "Bitcoin price",
            "category": "Crypto",
            "frequency": "hourly",
            "fee_type": "quadratic_with_maker_fees",
            "fee_multiplier": 0.07,
        },
    ],
    "events": [
        {
            "event_ticker": "KXDEMO-26DEC31",
            "series_ticker": "KXDEMO",
            "title": "Demo index on Dec 31",
            "sub_title": "On Dec 31, 2026",
            "exchange_index": 0,
            "mutually_exclusive": False,
        },
        {
            "event_ticker": "KXBTCD-26DEC3117",
            "series_ticker": "KXBTCD",
            "title": "Bitcoin price at 5pm",
            "sub_title": "Dec 31, 2026 at 5pm EST",
            "exchange_index": 2,
            "mutually_exclusive": False,
        },
    ],
    # open/close offsets are seconds from the sim's start; markets open at once and close in a day.
    "markets": [
        {
            "ticker": "KXDEMO-26DEC31-T50",
            "event_ticker": "KXDEMO-26DEC31",
            "price_level_structure": "linear_cent",
            "yes_sub_title": "Above 50",
            "no_sub_title": "50 or below",
            "strike_type": "greater",
            "floor_strike": 50,
        },
        {
            "ticker": "KXDEMO-26DEC31-T60",
            "event_ticker": "KXDEMO-26DEC31",
            "price_level_structure": "deci_cent",
            "yes_sub_title": "Above 60",
            "no_sub_title": "60 or below",
            "strike_type": "greater",
            "floor_strike": 60,
        },
        {
            "ticker": "KXDEMO-26DEC31-T70",
            "event_ticker": "KXDEMO-26DEC31",
            "price_level_structure": "tapered_deci_cent",
            "yes_sub_title": "Above 70",
            "no_sub_title": "70 or below",
            "strike_type": "greater",
            "floor_strike": 70,
        },
        {
            "ticker": "KXBTCD-26DEC3117-T100000",
            "event_ticker": "KXBTCD-26DEC3117",
            "price_level_structure": "center_centi_edge_centi_cent",
            "yes_sub_title": "$100,000 or above",
            "no_sub_title": "Below $100,000",
            "strike_type": "greater_or_equal",
            "floor_strike": 100000,
        },
        {
            "ticker": "KXBTCD-26DEC3117-T110000",
            "event_ticker": "KXBTCD-26DEC3117",
            "price_level_structure": "linear_cent",
            "yes_sub_title": "$110,000 or above",
            "no_sub_title": "Below $110,000",
            "strike_type": "greater_or_equal",
            "floor_strike": 110000,
        },
    ],
    # Users; the first one gets the generated key when no --api-key is given.
    # funding: dollars per exchange shard (strings, exact).
    "users": [
        {"name": "demo", "tier": "basic", "funding": {"0": "10000.00", "2": "10000.00"}},
    ],
    "market_defaults": {"open_offset_s": -60, "close_offset_s": 86400, "settlement_timer_seconds": 60},
    "auth": {"max_skew_ms": 30000},
}


def default_config() -> dict[str, Any]:
    """Return a fresh copy of the built-in configuration (the demo's markets and one user).

    Returns
    -------
    dict
        Keys ``series``, ``events``, ``markets``, ``users``, ``market_defaults``, ``auth``;
        an optional ``server`` dict overrides :data:`SERVER_DEFAULTS`; an optional
        ``historical`` dict sets ``cutoff_age_s``, how far Kalshi's historical cutoff trails the
        exchange clock (:mod:`centbook.sim.engine.history`).
        Events may set ``fee_type_override`` and ``fee_multiplier_override``: their markets'
        fills pay those instead of the series' fee type and multiplier.
        Markets may set ``strike_type`` with ``floor_strike`` and/or ``cap_strike`` (numbers in
        the underlying's units; ``between`` needs both, ``greater*`` the floor, ``less*`` the
        cap), ``functional_strike``, ``custom_strike`` and ``early_close_condition``.
        Markets may set ``price_ranges`` directly or name a ``price_level_structure`` from
        :data:`PRICE_STRUCTURES`; ``open_offset_s``/``close_offset_s`` (seconds from start) or
        absolute ``open_ts``/``close_ts`` (Unix seconds) schedule them.
    """
    return copy.deepcopy(_DEFAULT)
