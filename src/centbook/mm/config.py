"""Configuration of ``centbook mm``: a TOML file, overridden by command-line flags.

Example ``mm.toml``::

    env = "sim"                # sim (a private embedded exchange), demo, prod; or url = ...
    # url = "http://127.0.0.1:8000"   # any exchange: a host root or a .../trade-api/v2 base URL
    # ws_url = "ws://..."             # derived from url when absent
    # credentials = "key.pem"         # a PEM (with key_id = "...") or the sim's JSON key file
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

Command-line flags win over environment variables, which win over this file, which wins over the
defaults: :mod:`centbook.cli.exchange` lists the exchange settings and their variables.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, get_args, get_origin, get_type_hints

__all__ = ["ConfigError", "GROUP_POLICIES", "GuardConfig", "MMConfig", "REQUOTE_MODES", "RiskConfig",
           "StrategyConfig", "fill", "load_config", "read_config_file", "read_toml"]

REQUOTE_MODES = ("auto", "amend", "cancel_create")
GROUP_POLICIES = ("halt", "reset")


class ConfigError(ValueError):
    """A configuration file that cannot be used: the message names the file, the key and the fix."""


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

    enabled: bool = True  # start the guard with the maker (a child process in its own session)
    timeout_s: float = 1.0  # heartbeat silence after which the guard pulls the session's orders
    heartbeat_s: float = 0.2  # how often the maker sends its heartbeat
    socket: str = ""  # a guard serving on this Unix socket (centbook guard --socket) instead of a child


@dataclass
class MMConfig:
    """Everything ``centbook mm`` needs besides credentials."""

    # The command sets env from the exchange it chose (centbook.cli.exchange); a maker made in
    # code keeps "sim" unless told otherwise (pre-signing defaults on for the embedded exchange).
    env: str | None = "sim"  # sim (a private embedded exchange), demo or prod
    url: str | None = None  # any exchange: a host root or its REST base URL (.../trade-api/v2)
    ws_url: str | None = None  # the WebSocket URL; derived from url when absent
    credentials: str | None = None  # a PEM private key (with key_id) or the sim's JSON key file
    key_id: str | None = None  # the API key id of a PEM key
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
        """Raise ConfigError naming the first setting whose value is not one of its choices."""
        if self.env is not None and self.env not in ("sim", "demo", "prod"):
            raise ConfigError(f"env must be one of sim, demo, prod, got {self.env!r}")
        if self.requote not in REQUOTE_MODES:
            raise ConfigError(f"requote must be one of {', '.join(REQUOTE_MODES)}, got {self.requote!r}")
        if self.on_group_trigger not in GROUP_POLICIES:
            raise ConfigError(f"on_group_trigger must be one of {', '.join(GROUP_POLICIES)}, "
                             f"got {self.on_group_trigger!r}")

    def uses_amend(self) -> bool:
        """Whether requotes amend in place (``auto`` follows the benchmark's choice: amend)."""
        return self.requote in ("auto", "amend")


def read_config_file(path: str) -> bytes:
    """Return the bytes of a configuration file (TOML here, JSON for ``centbook sim``).

    Raises
    ------
    ConfigError
        The file is missing or unreadable (the message names it).
    """
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ConfigError(f"the configuration file {path!r} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file {path!r}: {exc.strerror}") from None


def read_toml(path: str) -> dict[str, Any]:
    """Return the table of a TOML file.

    Raises
    ------
    ConfigError
        The file is missing or unreadable, or is not valid TOML (with line and column).
    """
    try:
        return tomllib.loads(read_config_file(path).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _type_name(hint: Any) -> str:
    args = [a for a in get_args(hint) if a is not type(None)]
    if get_origin(hint) is list:
        return "a list of strings"
    if len(args) == 1:
        return _type_name(args[0])
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))


def _fits(value: Any, hint: Any) -> bool:
    origin = get_origin(hint)
    if origin is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if origin is not None:  # X | None
        return any(_fits(value, a) for a in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def fill(obj: Any, data: dict[str, Any], source: str = "the configuration") -> None:
    """Set ``obj``'s dataclass fields from ``data``, checking every key and value type.

    Nested dataclass fields take a table. ``source`` names where ``data`` came from in messages.

    Raises
    ------
    ConfigError
        An unknown key (the known ones are listed) or a value of the wrong type.
    """
    hints = get_type_hints(type(obj))
    names = [f.name for f in fields(obj)]
    for key, value in data.items():
        if key not in hints or key not in names:
            where = f" [{_TABLES[type(obj)]}]" if type(obj) in _TABLES else ""
            raise ConfigError(f"unknown key {key!r}{where} in {source}; known: {', '.join(names)}")
        current = getattr(obj, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{key} in {source} must be a table ([{key}]), got {value!r}")
            fill(current, value, source)
        elif not _fits(value, hints[key]):
            raise ConfigError(f"{key} in {source} must be {_type_name(hints[key])}, got {value!r}")
        else:
            setattr(obj, key, float(value) if hints[key] is float else value)


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

    Raises
    ------
    ConfigError
        A missing or unreadable file, a TOML syntax error, an unknown key, a value of the wrong
        type or not among its choices.
    """
    cfg = MMConfig()
    if path:
        fill(cfg, read_toml(path), path)
    if overrides:
        fill(cfg, {k: v for k, v in overrides.items() if v is not None}, "the command line")
    cfg.validate()
    return cfg


_TABLES = {StrategyConfig: "strategy", RiskConfig: "risk", GuardConfig: "guard"}
