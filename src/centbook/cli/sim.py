"""``centbook sim``: run the embedded Kalshi-compatible exchange on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any

from aiohttp import web

from centbook.sim import build, default_config
from centbook.sim.auth import write_credentials
from centbook.sim.config import ADMIN_TOKEN_ENV, TIERS

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sim",
        help="run the embedded Kalshi-compatible exchange on 127.0.0.1",
        description="Run centbook's embedded exchange: Kalshi's REST v2 protocol on 127.0.0.1.",
    )
    p.add_argument("--port", type=int, default=0, help="TCP port (0 = pick a free one; default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of generated ids (default 0)")
    p.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY_ID=PUBLIC_PEM_FILE",
        help="register an RSA public key for the default user (repeatable)",
    )
    p.add_argument(
        "--credentials-out",
        metavar="FILE",
        help="with no --api-key: write the generated key as JSON here (default: a temp file)",
    )
    p.add_argument("--config", metavar="FILE", help="JSON configuration (series, events, markets, users)")
    p.add_argument("--tier", help="rate-limit tier of every configured user (basic, advanced, ..., fast)")
    p.add_argument("--max-skew-ms", type=int, help="accepted signature timestamp skew in ms (default 30000)")
    p.add_argument("--flow", action="store_true", help="run synthetic order flow on every market")
    p.add_argument("--flow-rate", type=float, help="flow actions (~book updates) per second (default 200)")
    p.add_argument(
        "--ws-anonymous",
        action="store_true",
        help="accept unsigned WebSocket connections (public channels and books; to watch with any client)",
    )
    p.add_argument(
        "--admin",
        action="store_true",
        help=f"turn on the /admin HTTP API (faults, clock, settlement); calls send Authorization: "
        f"Bearer TOKEN, TOKEN from ${ADMIN_TOKEN_ENV} or printed at start",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the exchange until SIGINT or SIGTERM; return the exit status."""
    config = default_config()
    if args.config:
        with open(args.config) as fh:
            config = json.load(fh)
    if args.tier and args.tier not in TIERS:
        print(f"centbook sim: unknown tier {args.tier!r}; known: {', '.join(TIERS)}", file=sys.stderr)
        return 2
    if args.flow or args.flow_rate is not None:
        flow = config.setdefault("flow", {})
        flow["enabled"] = flow.get("enabled", False) or args.flow
        if args.flow_rate is not None:
            flow["rate"] = args.flow_rate
    if args.ws_anonymous:
        config.setdefault("streams", {})["allow_anonymous"] = True
    if args.admin:
        token = os.environ.get(ADMIN_TOKEN_ENV) or None
        config["server"] = {**config.get("server", {}), "admin": True, "admin_token": token}
    keys: dict[str, str] = {}
    for spec in args.api_key:
        key_id, sep, path = spec.partition("=")
        if not sep or not key_id or not path:
            print(f"centbook sim: --api-key wants KEY_ID=PUBLIC_PEM_FILE, got {spec!r}", file=sys.stderr)
            return 2
        try:
            with open(path) as fh:
                keys[key_id] = fh.read()
        except OSError as exc:
            print(f"centbook sim: cannot read {path}: {exc}", file=sys.stderr)
            return 2
    if keys:
        if not config.get("users"):
            print("centbook sim: the configuration has no user to attach --api-key to", file=sys.stderr)
            return 2
        config["users"][0]["api_keys"] = keys
    try:
        asyncio.run(_serve(args, config))
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(args: argparse.Namespace, config: dict[str, Any]) -> None:
    try:
        server, creds = build(config, seed=args.seed, max_skew_ms=args.max_skew_ms, tier=args.tier)
    except (KeyError, ValueError) as exc:
        print(f"centbook sim: bad configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    runner = server.runner()
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    # credentials first: whoever reads the URL line may read the credentials file at once
    written = None
    for cred in creds.values():
        written = (cred.user, write_credentials(args.credentials_out, cred.api_key_id, cred.private_key_pem))
        break
    print(f"http://127.0.0.1:{port}", flush=True)
    if written is not None:
        print(f"credentials for user {written[0]!r} written to {written[1]}", flush=True)
    unsigned = " (unsigned connections accepted)" if args.ws_anonymous else ""
    print(f"websocket ws://127.0.0.1:{port}/trade-api/ws/v2{unsigned}", flush=True)
    gate = server.admin_gate
    if gate.enabled and not os.environ.get(ADMIN_TOKEN_ENV):
        print(f"admin API on http://127.0.0.1:{port}/admin (Authorization: Bearer {gate.token})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
