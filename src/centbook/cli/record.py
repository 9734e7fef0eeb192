"""``centbook record``: record markets' WebSocket frames, as received, into a recording directory.

``--url`` is the exchange's base URL (``http://127.0.0.1:PORT`` as ``centbook sim`` prints it) or
``prod`` / ``demo``; ``--credentials`` is a JSON file ``{"api_key_id", "private_key_pem"}`` (what
``centbook sim --credentials-out`` writes). The recording stops by itself after ``--duration``,
on SIGINT/SIGTERM, or when the disk is full or unwritable (one line, exit 1, what was flushed
stays readable). The format: :mod:`centbook.record.segment`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from centbook.auth import Credentials
from centbook.cli.report import debug_wanted, fail, missing_extra
from centbook.protocol.commands import CHANNELS
from centbook.protocol.environments import REST_PATH, REST_URLS, WS_PATH, WS_URLS

DEFAULT_CHANNELS = ("trade", "ticker", "market_lifecycle_v2")
KNOWN_CHANNELS = CHANNELS - {"orderbook_delta"}

__all__ = ["add_parser", "endpoints", "load_credentials", "run"]


class UsageError(ValueError):
    """A command-line value is wrong (exit 2)."""


def add_parser(sub: Any) -> None:
    """Add the ``record`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("record", help="record markets' frames, exact, into a recording directory",
                       description="Record every WebSocket frame of a set of markets, as received, with "
                                   "receive times, coverage and REST metadata (zstandard segments).")
    p.add_argument("--url", required=True,
                   help="exchange base URL (http://127.0.0.1:PORT), or prod/demo")
    p.add_argument("--credentials", required=True, metavar="FILE",
                   help='JSON file {"api_key_id", "private_key_pem"}')
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--markets", metavar="T1,T2", help="these markets")
    which.add_argument("--series", metavar="S", help="the open markets of a series")
    which.add_argument("--all", action="store_true", help="every open market of the exchange")
    p.add_argument("--out", required=True, metavar="DIR", help="recording directory (created)")
    p.add_argument("--channels", default=",".join(DEFAULT_CHANNELS), metavar="C1,C2",
                   help="channels besides orderbook_delta (default %(default)s; private ones such as "
                        "fill,user_orders,market_positions need credentials allowed to read them)")
    p.add_argument("--connections", type=int, default=1, metavar="N",
                   help="WebSocket connections (default 1)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="stop after this long")
    p.add_argument("--flush-interval", type=float, default=1.0, metavar="SECONDS",
                   help="the most a crash can lose (default 1)")
    p.add_argument("--segment-mb", type=float, default=256.0, metavar="MB",
                   help="rotate segments at this size")
    p.add_argument("--segment-s", type=float, default=3600.0, metavar="SECONDS",
                   help="rotate segments this often")
    p.set_defaults(func=run)


def endpoints(url: str) -> tuple[str, str]:
    """Return ``(rest_url, ws_url)`` of an exchange base URL or ``prod`` / ``demo``.

    Raises
    ------
    UsageError
        When ``url`` is neither an environment name nor an http(s) URL.
    """
    if url in REST_URLS:
        return REST_URLS[url], WS_URLS[url]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url wants http(s)://HOST[:PORT] or prod/demo, got {url!r}")
    base = parts.path.rstrip("/")
    for suffix in (REST_PATH, WS_PATH):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    scheme = "wss" if parts.scheme == "https" else "ws"
    return (urlunsplit((parts.scheme, parts.netloc, base + REST_PATH, "", "")),
            urlunsplit((scheme, parts.netloc, base + WS_PATH, "", "")))


def load_credentials(path: str) -> Credentials:
    """Read a credentials JSON file (``api_key_id``, ``private_key_pem``).

    Raises
    ------
    UsageError
        Naming the file and what is wrong with it.
    """
    try:
        with open(path) as fh:
            body = json.load(fh)
        return Credentials(body["api_key_id"], body["private_key_pem"])
    except OSError as exc:
        raise UsageError(f"cannot read --credentials {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--credentials {path} is not a JSON object with api_key_id and "
                         f"private_key_pem: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Run ``centbook record``; return the exit status."""
    try:
        # the [record] extra (zstandard) loads only when a recording is made
        from centbook.record.segment import RecordingError
    except ImportError as exc:
        return missing_extra("record", exc)
    debug = debug_wanted(args)
    try:
        _check(args)
        rest_url, ws_url = endpoints(args.url)
        credentials = load_credentials(args.credentials)
        return asyncio.run(_record(args, rest_url, ws_url, credentials))
    except UsageError as exc:
        return fail("record", exc, 2)
    except RecordingError as exc:
        if debug:
            raise
        return fail("record", f"{exc}; the recording stopped with what it had flushed", 1)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        if debug:
            raise
        return fail("record", f"{type(exc).__name__}: {exc} (--debug for a traceback)", 1)


def _check(args: argparse.Namespace) -> None:
    if args.connections < 1:
        raise UsageError(f"--connections must be >= 1, got {args.connections}")
    if args.duration is not None and args.duration <= 0:
        raise UsageError(f"--duration must be > 0, got {args.duration}")
    unknown = set(args.channels.split(",")) - KNOWN_CHANNELS - {""}
    if unknown:
        raise UsageError(f"--channels: unknown {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(sorted(KNOWN_CHANNELS))}")
    if args.flush_interval <= 0:
        raise UsageError(f"--flush-interval must be > 0, got {args.flush_interval}")


def _follow(series: str | None) -> Callable[[str], bool]:
    """Which markets opening during the recording to add: the series' (``S-...``), or all."""
    if series is None:
        return lambda ticker: True
    prefix = series + "-"
    return lambda ticker: ticker.startswith(prefix)


async def _record(args: argparse.Namespace, rest_url: str, ws_url: str, credentials: Credentials) -> int:
    import aiohttp

    from centbook.record.markets import MarketDirectory, MarketSelectionError
    from centbook.record.recorder import Recorder
    from centbook.record.segment import SegmentWriter

    async with aiohttp.ClientSession() as http:
        directory = MarketDirectory(rest_url, http)
        tickers = [t for t in (args.markets or "").split(",") if t]
        try:
            markets = await directory.select(tickers=tickers, series=args.series, every_open=args.all)
        except MarketSelectionError as exc:
            raise UsageError(f"{exc}: check --markets/--series against GET /markets") from None
        except aiohttp.ClientError as exc:
            raise UsageError(f"cannot list markets at {rest_url}: {exc}") from None
        writer = SegmentWriter(args.out, segment_bytes=int(args.segment_mb * (1 << 20)),
                               segment_s=args.segment_s)
        channels = [c for c in args.channels.split(",") if c]
        follow = None if tickers else _follow(args.series)
        recorder = Recorder(ws_url, credentials, markets, writer, connections=args.connections,
                            channels=channels, flush_interval_s=args.flush_interval, directory=directory,
                            follow=follow)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, recorder.stop)
        await recorder.run(args.duration)
    print(f"recorded {writer.records_written} records ({writer.bytes_written} bytes) of "
          f"{len(markets)} markets to {args.out}", file=sys.stderr)
    return 0
