"""``centbook sim``: run the embedded Kalshi-compatible exchange on 127.0.0.1.

On start it prints its URLs, its key file and ready-to-paste ``centbook watch`` and ``centbook
mm`` lines (:func:`banner`); it runs until SIGINT or SIGTERM. Its key file is created mode 0600
and, unless named with ``--credentials-out``, removed when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import signal
from typing import Any

from aiohttp import web

from centbook.children import die_with_parent
from centbook.cli.errors import RUNTIME, CommandError
from centbook.mm.config import read_config_file
from centbook.protocol.environments import REST_PATH, WS_PATH
from centbook.sim import Credentials, build, default_config
from centbook.sim.auth import write_credentials
from centbook.sim.config import ADMIN_TOKEN_ENV, TIERS
from centbook.sim.http import SimServer

__all__ = ["SIM_MARKET", "add_parser", "banner", "run"]

#: a market of the default configuration, for the commands the banner suggests
SIM_MARKET = "KXDEMO-26DEC31-T50"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sim",
        help="run the embedded Kalshi-compatible exchange on 127.0.0.1",
        description="Run centbook's embedded exchange: Kalshi's REST v2 protocol on 127.0.0.1.",
    )
    p.add_argument("--port", type=_port, default=0, help="TCP port (0 = pick a free one; default 0)")
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
        help="with no --api-key: write the generated key as JSON here (default: a temp file, removed "
             "when the sim stops)",
    )
    p.add_argument("--config", metavar="FILE", help="JSON configuration (series, events, markets, users)")
    p.add_argument("--tier", help="rate-limit tier of every configured user (basic, advanced, ..., fast)")
    p.add_argument("--max-skew-ms", type=int, help="accepted signature timestamp skew in ms (default 30000)")
    p.add_argument("--replay", metavar="PATH",
                   help="serve the markets of a recording (centbook record / import), their books played "
                        "as recorded (needs the [record] extra)")
    p.add_argument("--speed", type=float, default=1.0, metavar="X",
                   help="with --replay: play X times faster than recorded (default 1)")
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


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port {text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range: 1-65535, or 0 for a free one")
    return port


def _config(args: argparse.Namespace) -> dict[str, Any]:
    if args.replay:
        if args.config or args.flow:
            raise CommandError("--replay serves the recording's markets: give it without --config and --flow")
        if not args.speed > 0:
            raise CommandError(f"--speed must be > 0, got {args.speed}")
        # the [record] extra loads only for a replay; without it the ImportError names the extra
        from centbook.record.segment import RecordingError
        from centbook.sim.replayed import config_from_recording
        try:
            return config_from_recording(args.replay)
        except (RecordingError, ValueError) as exc:
            raise CommandError(f"--replay {args.replay}: {exc}") from None
    if not args.config:
        return default_config()
    try:
        config = json.loads(read_config_file(args.config))
    except json.JSONDecodeError as exc:
        raise CommandError(f"{args.config} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise CommandError(f"{args.config} must hold a JSON object (series, events, markets, users)")
    return config


def _api_keys(specs: list[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for spec in specs:
        key_id, sep, path = spec.partition("=")
        if not sep or not key_id or not path:
            raise CommandError(f"--api-key wants KEY_ID=PUBLIC_PEM_FILE, got {spec!r}")
        try:
            with open(path) as fh:
                keys[key_id] = fh.read()
        except OSError as exc:
            raise CommandError(f"cannot read the public key {path!r} of --api-key: {exc.strerror}") from None
    return keys


def run(args: argparse.Namespace) -> int:
    """Run the exchange until SIGINT or SIGTERM; return the exit status."""
    die_with_parent()  # when started by SimProcess: end with the process that started it
    config = _config(args)
    if args.tier and args.tier not in TIERS:
        raise CommandError(f"unknown tier {args.tier!r}; known: {', '.join(TIERS)}")
    if args.credentials_out:
        folder = os.path.dirname(os.path.abspath(args.credentials_out))
        if not os.path.isdir(folder):
            raise CommandError(f"--credentials-out {args.credentials_out}: the folder {folder} does not "
                               "exist; create it or choose another path")
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
    keys = _api_keys(args.api_key)
    if keys:
        if not config.get("users"):
            raise CommandError("the configuration has no user to attach --api-key to")
        config["users"][0]["api_keys"] = keys
    try:
        server, creds = build(config, seed=args.seed, max_skew_ms=args.max_skew_ms, tier=args.tier)
    except (KeyError, ValueError, TypeError) as exc:
        raise CommandError(f"bad configuration: {exc}") from None
    asyncio.run(_serve(args, server, creds))
    return 0


async def _serve(args: argparse.Namespace, server: SimServer, creds: dict[str, Credentials]) -> None:
    runner = server.runner()
    await runner.setup()
    written = None
    try:
        site = web.TCPSite(runner, "127.0.0.1", args.port)
        try:
            await site.start()
        except OSError as exc:
            why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be opened ({exc.strerror})"
            raise CommandError(f"port {args.port} on 127.0.0.1 {why}: choose another --port, or 0 for a "
                               "free one", RUNTIME) from None
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        # credentials first: whoever reads the URL line may read the credentials file at once
        cred = next(iter(creds.values()), None)
        if cred is not None:
            written = write_credentials(args.credentials_out, cred.api_key_id, cred.private_key_pem)
        gate = server.admin_gate
        # a token the caller chose (SimProcess passes one in the environment) is not printed
        admin = gate.token if gate.enabled and not os.environ.get(ADMIN_TOKEN_ENV) else None
        print(banner(port, written, cred.user if cred else None, args.ws_anonymous, admin), flush=True)
        if args.replay:
            from centbook.sim.replayed import ReplaySource  # the [record] extra, as in _config

            ReplaySource(server.exchange, args.replay, args.speed, server.streams.publisher).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
        if written is not None and args.credentials_out is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(written)


def banner(port: int, credentials_file: str | None, user: str | None, anonymous: bool = False,
           admin_token: str | None = None) -> str:
    """What ``centbook sim`` prints on start: its URLs, its key file and commands to paste.

    The first line is the host root alone (:class:`~centbook.sim.SimProcess` reads it); the last
    starts with ``  trade on it``.
    """
    root = f"http://127.0.0.1:{port}"
    if credentials_file is not None:
        key = f"--credentials {credentials_file}"
        where = f"{credentials_file} (user {user!r}; removed when the sim stops unless --credentials-out)"
    else:
        key = "--credentials YOUR_KEY.pem --key-id KEY_ID"
        where = "the keys given with --api-key"
    unsigned = " (unsigned connections accepted)" if anonymous else ""
    return "\n".join([
        root,
        "centbook sim: a Kalshi-compatible exchange on 127.0.0.1; Ctrl-C stops it",
        f"  REST base URL  {root}{REST_PATH}",
        f"  WebSocket URL  ws://127.0.0.1:{port}{WS_PATH}{unsigned}",
        f"  credentials    {where}",
        *([f"  admin API      {root}/admin (Authorization: Bearer {admin_token})"] if admin_token else []),
        f"  watch it       centbook watch --url {root} {key}",
        f"  trade on it    centbook mm --url {root} {key} --market {SIM_MARKET}",
    ])
