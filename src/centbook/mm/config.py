"""Configuration of ``centbook mm``: a TOML file, overridden by command-line flags.

Example ``mm.toml``::

    env = "sim"                # sim (embedded exchange, default), demo, prod
    markets = ["KXDEMO-26DEC31-T50", "KXDEMO-26DEC31-T60", "KXBTCD-26DEC3117-T100000"]
    subaccount = 0             # passed on every call (omit for the primary account)
    duration_s = 60
    requote = "auto"           # auto (= the measured choice: amend), amend, cancel_create
    presign = true             # signatures made ahead of use (default: on for sim only)
    order_lane = true          # writes on raw HTTP/1.1 keep-alive connections (false: aiohttp)
    compiled_amend = true      # the compiled requote path: see centbook.mm.quoter
    on_group_trigger = "halt"  # an automatic order-group trigger: halt, or reset and go on

    [strategy]
    half_spread_bp = 200       # snapped away from fair to the band's step
    size = 500                 # hundredths of a contract
    skew_bp_per_contract = 5   # inventory skew
    requote_threshold_bp = 50
    min_quote_life_s = 0.2
    stop_before_close_s = 300

    [risk]
    max_position = 5000        # per market, hundredths
    max_total_position = 20000
    max_open_orders = 20
    max_loss_micro = 50000000  # $50
    group_contracts_limit = 1000000  # order-group fill limit (hundredths): the exchange triggers it
    position_check_s = 3.0     # market_positions may disagree with the ledger this long, then halt
    kill_deadline_s = 30.0     # the kill switch retries this long, then reports what may rest

    [guard]                    # the dead-man guard process (centbook.mm.guard)
    enabled = true
    timeout_s = 1.0            # heartbeat silent this long: the guard pulls the session's orders
    heartbeat_s = 0.2
    socket = ""                # a running guard's Unix socket (centbook guard --socket); "" = start one

Credentials for ``demo``/``prod`` come from ``KALSHI_API_KEY_ID`` and ``KALSHI_PRIVATE_KEY_PATH``.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["StrategyConfig", "RiskConfig", "GuardConfig", "MMConfig", "load_config", "REQUOTE_MODES",
           "GROUP_POLICIES"]

REQUOTE_MODES = ("auto", "amend", "cancel_create")
GROUP_POLICIES = ("halt", "reset")


@dataclass
class StrategyConfig:
    """Quoting parameters (prices in bp, sizes in hundredths, times in seconds)."""

    fair: str = "microprice"
    half_spread_bp: int = 200
    size: int = 500
    skew_bp_per_contract: float = 5.0
    requote_threshold_bp: int = 50
    size_threshold: int = 100
    min_quote_life_s: float = 0.2
    stop_before_close_s: float = 300.0
    post_only: bool = True


@dataclass
class RiskConfig:
    """Limits; breaching ``max_loss_micro`` or a reconciliation drift halts quoting (sticky)."""

    max_position: int = 5000
    max_total_position: int = 20000
    max_open_orders: int = 20
    max_loss_micro: int = 50_000_000
    group_contracts_limit: int = 1_000_000
    position_check_s: float = 3.0  # a market_positions value may disagree this long, then halt
    kill_deadline_s: float = 30.0  # the kill switch retries this long, then reports what may rest


@dataclass
class GuardConfig:
    """The dead-man guard (:mod:`centbook.mm.guard`): a separate process that pulls the session's
    orders when the maker's heartbeat stops for ``timeout_s`` or its process is gone."""

    enabled: bool = True
    timeout_s: float = 1.0
    heartbeat_s: float = 0.2
    socket: str = ""  # a guard serving on this Unix socket (centbook guard --socket) instead of a child


@dataclass
class MMConfig:
    """Everything ``centbook mm`` needs besides credentials."""

    env: str = "sim"
    markets: list[str] = field(default_factory=list)
    subaccount: int | None = None
    duration_s: float = 0.0
    client_order_id_root: str = "cbmm"
    reconcile_s: float = 5.0
    status_s: float = 1.0
    cancel_order_on_pause: bool = True
    sim_flow_rate: float = 150.0
    inject_disconnect_at_s: float | None = None
    requote: str = "auto"
    presign: bool | None = None
    order_lane: bool = True
    compiled_amend: bool = True
    on_group_trigger: str = "halt"
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)

    def validate(self) -> None:
        """Raise ValueError naming the first setting whose value is not one of its choices."""
        if self.requote not in REQUOTE_MODES:
            raise ValueError(f"requote must be one of {', '.join(REQUOTE_MODES)}, got {self.requote!r}")
        if self.on_group_trigger not in GROUP_POLICIES:
            raise ValueError(f"on_group_trigger must be one of {', '.join(GROUP_POLICIES)}, "
                             f"got {self.on_group_trigger!r}")

    def uses_amend(self) -> bool:
        """Whether requotes amend in place (``auto`` follows the benchmark's choice: amend)."""
        return self.requote in ("auto", "amend")


def _fill(obj: Any, data: dict[str, Any]) -> None:
    names = {f.name for f in fields(obj)}
    for key, value in data.items():
        if key not in names:
            raise ValueError(f"unknown configuration key {key!r} in {type(obj).__name__}")
        if key in ("strategy", "risk", "guard"):
            _fill(getattr(obj, key), value)
        else:
            setattr(obj, key, value)


def load_config(path: str | None = None, overrides: dict[str, Any] | None = None) -> MMConfig:
    """Read a TOML file (optional) and apply overrides (``None`` values ignored).

    Parameters
    ----------
    path : str, optional
        TOML file.
    overrides : dict, optional
        Top-level keys (``strategy``/``risk`` may be dicts).

    Returns
    -------
    MMConfig
    """
    cfg = MMConfig()
    if path:
        with open(path, "rb") as fh:
            _fill(cfg, tomllib.load(fh))
    if overrides:
        _fill(cfg, {k: v for k, v in overrides.items() if v is not None})
    cfg.validate()
    return cfg
