"""centbook's embedded exchange: Kalshi's REST v2 protocol on 127.0.0.1, with a matching engine.

Start it in-process::

    async with centbook.sim.run_sim(seed=1) as sim:
        sim.rest_url        # "http://127.0.0.1:PORT/trade-api/v2"
        sim.api_key_id, sim.private_key_pem
        sim.admin.set_tier("demo", "fast")

or as a subprocess (``centbook sim --port 0``) with :class:`SimProcess`. It speaks Kalshi's
protocol (paths, signing, field names, status codes, error bodies); see :mod:`centbook.sim.http.app`
for the choices made where Kalshi's documents are silent.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from centbook.children import spawn_options
from centbook.fixed import parse_money, parse_price_bp
from centbook.sim.auth import KeyRing
from centbook.sim.config import ADMIN_TOKEN_ENV, TIERS, default_config
from centbook.sim.engine import EngineEvent, Exchange
from centbook.sim.http import SimServer
from centbook.sim.ratelimit import RateLimiter

__all__ = [
    "Admin",
    "Credentials",
    "EngineEvent",
    "Exchange",
    "SimHandle",
    "SimProcess",
    "TIERS",
    "build",
    "default_config",
    "run_sim",
]


@dataclass(frozen=True)
class Credentials:
    """An API key of a sim user."""

    user: str
    api_key_id: str
    private_key_pem: str


class Admin:
    """In-process administration of a running sim (the ``/admin`` HTTP endpoints do the same).

    Users are named by the ``name`` they were created with (the default user is ``"demo"``).
    """

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.exchange = server.exchange
        #: WebSocket faults, limits, seq state and the order flow (:class:`centbook.sim.stream.StreamAdmin`)
        self.streams = server.streams.admin

    def _uid(self, user: str) -> str:
        return self.exchange.users_by_name[user].user_id

    def add_user(self, name: str, tier: str = "basic", funding: dict[Any, Any] | None = None) -> Credentials:
        """Create a funded user with a fresh API key; ``funding`` is ``{exchange_index: dollars}``."""
        if tier not in self.server.limiter.tiers:
            raise ValueError(f"unknown tier {tier!r}; known: {', '.join(self.server.limiter.tiers)}")
        user_id = self.exchange.add_user(name, tier=tier, funding=funding)
        self.server.limiter.set_tier(user_id, tier)
        key_id, pem = self.server.keys.create(user_id)
        return Credentials(name, key_id, pem)

    def define_tier(
        self, name: str, *, read_rate: int, read_capacity: int, write_rate: int, write_capacity: int
    ) -> None:
        """Add (or replace) a rate-limit tier: refill rates in tokens/s and bucket capacities."""
        self.server.limiter.tiers[name] = (read_rate, read_capacity, write_rate, write_capacity)

    def set_tier(self, user: str, tier: str) -> None:
        """Set a user's rate-limit tier (its buckets restart full)."""
        self.server.limiter.set_tier(self._uid(user), tier)
        self.server.log_fault("tier_set", user=user, tier=tier)

    def fund(self, user: str, exchange_index: int, dollars: str, subaccount: int = 0) -> None:
        """Add dollars (a decimal string) to a user's balance on a shard."""
        self.exchange.fund(self._uid(user), exchange_index, parse_money(dollars), subaccount)

    def add_fault(
        self,
        path: str,
        action: str,
        *,
        method: str = "*",
        status: int = 503,
        delay_s: float = 30.0,
        times: int | None = 1,
    ) -> int:
        """Inject a REST fault on paths matching the regex ``path`` (after ``/trade-api/v2``).

        ``action``: ``status`` (answer ``status``), ``timeout`` (hold ``delay_s`` then drop),
        ``drop`` (execute, then close without an answer), ``delay`` (execute, answer late).
        """
        return self.server.add_fault(method, path, action, status=status, delay_s=delay_s, times=times)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.server.clear_faults()

    @property
    def fault_log(self) -> list[dict[str, Any]]:
        """Every injected fault and admin change, with timestamps."""
        return self.server.fault_log

    def pause_trading(self, exchange_index: int = 0) -> None:
        """Start a trading pause on a shard (cancels allowed; creates and amends refused)."""
        self.exchange.set_shard_status(exchange_index, trading_active=False)
        self.server.log_fault("trading_paused", exchange_index=exchange_index)

    def resume_trading(self, exchange_index: int = 0) -> None:
        """End a trading pause."""
        self.exchange.set_shard_status(exchange_index, trading_active=True)
        self.server.log_fault("trading_resumed", exchange_index=exchange_index)

    def pause_exchange(self, exchange_index: int = 0) -> None:
        """Start an exchange pause on a shard (every write refused, cancels too)."""
        self.exchange.set_shard_status(exchange_index, exchange_active=False)
        self.server.log_fault("exchange_paused", exchange_index=exchange_index)

    def resume_exchange(self, exchange_index: int = 0) -> None:
        """End an exchange pause."""
        self.exchange.set_shard_status(exchange_index, exchange_active=True)
        self.server.log_fault("exchange_resumed", exchange_index=exchange_index)

    def set_user_data_lag(self, seconds: float) -> None:
        """Make ``/exchange/user_data_timestamp`` report data this many seconds old."""
        self.server.user_data_lag_s = float(seconds)

    def shift_clock(self, seconds: float) -> None:
        """Move the exchange clock (signature timestamps are checked against it)."""
        self.exchange.clock.shift(seconds)
        self.server.log_fault("clock_shifted", shift_s=seconds)

    def create_event(self, spec: dict[str, Any]) -> None:
        """List a new event (a config ``events`` entry); ``event_lifecycle`` announces it."""
        self.exchange.add_event(spec)

    def create_market(self, spec: dict[str, Any]) -> None:
        """List a new market (a config ``markets`` entry, its offsets from now), opened when due;
        ``market_lifecycle_v2`` announces it (``created``)."""
        self.exchange.add_market(spec)
        self.exchange.tick()

    def update_market_metadata(self, ticker: str, **fields: Any) -> None:
        """Change a market's titles or strikes (``metadata_updated``)."""
        self.exchange.update_market_metadata(ticker, **fields)

    def close_market(self, ticker: str) -> None:
        """Close a market now (resting orders cancelled)."""
        self.exchange.close_market(ticker)

    def settle_market(self, ticker: str, result: str, settlement_value: str | None = None) -> None:
        """Settle a market ``"yes"`` ($1 per YES contract), ``"no"`` or ``"scalar"`` at
        ``settlement_value`` dollars (YES holders get the value minus any settlement floor)."""
        value_bp = parse_price_bp(settlement_value) if settlement_value is not None else None
        self.exchange.settle_market(ticker, result, value_bp)

    def set_settlement_floor(self, ticker: str, floor: str) -> list[str]:
        """Raise or lower a ``floor`` market's settlement floor (dollars); return cancelled order ids."""
        cancelled = self.exchange.set_settlement_floor(ticker, parse_price_bp(floor))
        self.server.log_fault("settlement_floor", ticker=ticker, floor=floor, cancelled=len(cancelled))
        return [o.order_id for o in cancelled]

    def arrivals(self, user: str) -> list[Any]:
        """Every request of a user as the rate limiter saw it arrive (monotonic ns, path, admitted)."""
        return list(self.server.limiter.arrivals.get(self._uid(user), []))


@dataclass
class SimHandle:
    """A running in-process sim.

    Attributes
    ----------
    base_url : str
        ``http://127.0.0.1:PORT``.
    rest_url : str
        ``base_url + "/trade-api/v2"``.
    ws_url : str
        ``ws://127.0.0.1:PORT/trade-api/ws/v2``.
    api_key_id, private_key_pem : str
        The default user's key (user ``"demo"`` in the default configuration).
    admin : Admin
        Fault injection, tiers, pauses, clock, settlement.
    exchange : Exchange
        The engine itself (read it in tests; subscribe to its events).
    admin_headers : dict
        The ``Authorization`` header calls to the ``/admin`` HTTP API need (empty when it is off).
    """

    base_url: str
    rest_url: str
    ws_url: str
    api_key_id: str
    private_key_pem: str
    admin: Admin
    exchange: Exchange
    server: SimServer
    admin_headers: dict[str, str]


def build(
    config: dict[str, Any] | None = None,
    seed: int = 0,
    max_skew_ms: int | None = None,
    tier: str | None = None,
    admin: bool = False,
) -> tuple[SimServer, dict[str, Credentials]]:
    """Build the server of a sim without starting it; return it and each configured user's key.

    Users of the configuration get a generated key pair each (public key registered). ``admin``
    turns the ``/admin`` HTTP API on (``config["server"]["admin"]`` does too).
    """
    config = config if config is not None else default_config()
    if admin:
        config = {**config, "server": {**config.get("server", {}), "admin": True}}
    exchange = Exchange(config, seed=seed)
    skew = max_skew_ms if max_skew_ms is not None else int(config.get("auth", {}).get("max_skew_ms", 30000))
    keys = KeyRing(skew)
    limiter = RateLimiter()
    creds: dict[str, Credentials] = {}
    for u in config.get("users", []):
        user_id = exchange.users_by_name[u["name"]].user_id
        limiter.set_tier(user_id, tier or u.get("tier", "basic"))
        for key_id, public_pem in u.get("api_keys", {}).items():
            keys.register(user_id, public_pem, key_id)
        if not u.get("api_keys"):
            key_id, pem = keys.create(user_id)
            creds[u["name"]] = Credentials(u["name"], key_id, pem)
    return SimServer(exchange, keys, limiter), creds


@contextlib.asynccontextmanager
async def run_sim(
    config: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    port: int = 0,
    max_skew_ms: int | None = None,
    tier: str | None = None,
    admin: bool = False,
) -> AsyncIterator[SimHandle]:
    """Run a sim on 127.0.0.1 inside the current event loop.

    Parameters
    ----------
    config : dict, optional
        :func:`default_config` by default.
    seed : int
        Seeds generated ids.
    port : int
        0 picks a free port.
    max_skew_ms : int, optional
        Accepted signature timestamp skew (default from the config, 30 s).
    tier : str, optional
        Rate-limit tier of every configured user (default: each user's own).
    admin : bool
        Turn the ``/admin`` HTTP API on; its calls send :attr:`SimHandle.admin_headers`.

    Yields
    ------
    SimHandle
    """
    server, creds = build(config, seed, max_skew_ms, tier, admin)
    runner = server.runner()
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        sockets = site._server.sockets  # type: ignore[union-attr]
        real_port = sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{real_port}"
        first = next(iter(creds.values()), Credentials("", "", ""))
        yield SimHandle(
            base,
            base + "/trade-api/v2",
            f"ws://127.0.0.1:{real_port}/trade-api/ws/v2",
            first.api_key_id,
            first.private_key_pem,
            Admin(server),
            server.exchange,
            server,
            server.admin_gate.headers,
        )
    finally:
        await runner.cleanup()


class SimProcess:
    """Run ``centbook sim`` as a subprocess (for the demo and tests that want a separate process).

    Use as a context manager::

        with SimProcess(seed=1) as sim:
            sim.rest_url, sim.api_key_id, sim.private_key_pem

    Parameters
    ----------
    seed : int
        Passed as ``--seed``.
    args : list of str
        Extra command-line arguments for ``centbook sim``.
    admin : bool
        Turn the ``/admin`` HTTP API on, with the token in ``CENTBOOK_SIM_ADMIN_TOKEN`` or a fresh
        one; its calls send :attr:`admin_headers`.
    """

    def __init__(
        self, seed: int = 0, args: list[str] | None = None, timeout_s: float = 30.0, admin: bool = False
    ) -> None:
        self.seed = seed
        self.args = list(args or [])
        self.timeout_s = timeout_s
        self.admin_token = (os.environ.get(ADMIN_TOKEN_ENV) or secrets.token_urlsafe(24)) if admin else None
        #: the ``Authorization`` header ``/admin`` calls need (empty when the API is off)
        self.admin_headers = {"Authorization": f"Bearer {self.admin_token}"} if admin else {}
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = self.rest_url = self.ws_url = ""
        self.api_key_id = self.private_key_pem = ""
        self.credentials_file: str | None = None
        #: the lines the sim printed on start
        self.banner: list[str] = []

    def start(self) -> SimProcess:
        """Start the process and wait until it prints its URLs (see :func:`centbook.cli.sim.banner`).

        The process runs in a session of its own (a terminal's Ctrl-C is for its parent, which
        stops it) and ends when this process dies (:mod:`centbook.children`).
        """
        cmd = [sys.executable, "-m", "centbook.cli", "sim", "--port", "0", "--seed", str(self.seed),
               *self.args]
        options = spawn_options(die_with_parent=True)
        if self.admin_token is not None:
            cmd.append("--admin")
            options["env"][ADMIN_TOKEN_ENV] = self.admin_token
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, **options)
        assert self.proc.stdout is not None
        self.banner = [self.proc.stdout.readline().rstrip("\n")]
        if not self.banner[0].startswith("http://127.0.0.1:"):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.stop()
            raise RuntimeError(f"centbook sim did not start: {self.banner[0]!r} {err}")
        while not self.banner[-1].startswith("  trade on it") and self.proc.poll() is None:
            self.banner.append(self.proc.stdout.readline().rstrip("\n"))
        self.base_url = self.banner[0]
        self.rest_url = self.base_url + "/trade-api/v2"
        self.ws_url = self.base_url.replace("http://", "ws://") + "/trade-api/ws/v2"
        label = "  credentials    "
        where = next((line[len(label):] for line in self.banner if line.startswith(label)), "")
        if " (user " in where:  # absent when the caller registered its own --api-key
            self.credentials_file = where.split(" (user ", 1)[0]
            with open(self.credentials_file) as fh:
                creds = json.load(fh)
            self.api_key_id, self.private_key_pem = creds["api_key_id"], creds["private_key_pem"]
        return self

    def stop(self) -> None:
        """Stop the process (terminate, then kill); its temporary key file goes with it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
        if self.credentials_file and "--credentials-out" not in self.args:
            with contextlib.suppress(FileNotFoundError):  # the sim removes it unless it was killed
                os.unlink(self.credentials_file)

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
