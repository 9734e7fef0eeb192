"""The ``centbook`` command: one subcommand per tool (``sim``, ``bench``, ``watch``, ``mm``).

Each subcommand registers itself with :func:`_add_sim`-style functions that add a parser and set
``func``; :func:`main` dispatches.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

__all__ = ["main"]


def _add_sim(sub: Any) -> None:
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
    p.set_defaults(func=_run_sim)


def _run_sim(args: argparse.Namespace) -> int:
    from centbook.sim import default_config
    from centbook.sim.config import TIERS

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
    from aiohttp import web

    from centbook.sim import build
    from centbook.sim.auth import write_credentials

    try:
        server, creds = build(config, seed=args.seed, max_skew_ms=args.max_skew_ms, tier=args.tier)
    except (KeyError, ValueError) as exc:
        print(f"centbook sim: bad configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
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
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def _add_bench(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="run the benchmark suites and write a Markdown report with charts",
        description=(
            "Run centbook's pytest-benchmark suites (from a checkout's benchmarks/ folder) and write "
            "report.md, PNG charts and results.json. Needs the test and bench extras: "
            "pip install 'centbook[test,bench]'. kalshi-sdk's book needs Python >= 3.12: it runs "
            "in a venv of its own (.venv-sdk in the checkout, made on first use with python3.12 or "
            "python3.13 from PATH or pyenv); without one the report says so and the rest runs."
        ),
    )
    p.add_argument("--report", metavar="DIR", default="build/bench/report",
                   help="folder for report.md, the charts and results.json (default build/bench/report)")
    p.add_argument("--quick", action="store_true",
                   help="small streams and few rounds, kalshi-sdk on a short prefix of the cent "
                        "stream (under a minute once .venv-sdk exists; noisier figures)")
    p.set_defaults(func=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from centbook.benchreport import run

    argv = ["--report", args.report] + (["--quick"] if args.quick else [])
    return run(args.report, quick=args.quick, argv=argv)


def main(argv: list[str] | None = None) -> int:
    """Run the ``centbook`` command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="centbook", description="centbook: Kalshi market data and execution"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_sim(sub)
    _add_bench(sub)
    from centbook.mm.app import add_parser as _add_mm
    from centbook.watch import add_parser as _add_watch

    _add_watch(sub)
    _add_mm(sub)
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
