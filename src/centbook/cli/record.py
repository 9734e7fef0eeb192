"""``centbook record``: record markets' WebSocket frames, as received, into a recording directory.

The exchange is chosen as every centbook command chooses one (:mod:`centbook.cli.exchange`:
``--url``, ``--env``, ``--credentials``, ``--key-id``, their environment variables, or the TOML
file of ``--config``); ``--env sim`` records a private embedded exchange with flow. The recording
stops by itself after ``--duration``, on SIGINT/SIGTERM, or when the disk is full or unwritable
(one line, exit 1, what was flushed stays readable). The format: :mod:`centbook.record.segment`.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from typing import Any

from centbook.cli.errors import RUNTIME, CommandError
from centbook.cli.exchange import Exchange, ExchangeSettings, add_exchange_options, choose, open_exchange
from centbook.mm.config import fill, read_toml
from centbook.protocol.commands import CHANNELS

DEFAULT_CHANNELS = ("trade", "ticker", "market_lifecycle_v2")
KNOWN_CHANNELS = CHANNELS - {"orderbook_delta"}

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Add the ``record`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("record", help="record markets' frames, exact, into a recording directory",
                       description="Record every WebSocket frame of a set of markets, as received, with "
                                   "receive times, coverage and REST metadata (zstandard segments).")
    p.add_argument("--config", metavar="FILE",
                   help="TOML file with env, url, ws_url, credentials and key_id")
    add_exchange_options(p)
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


def run(args: argparse.Namespace) -> int:
    """Run ``centbook record``; return the exit status.

    Raises
    ------
    CommandError
        A usage mistake (status 2), or a recording that could not be written (status 1; what was
        flushed stays readable).
    """
    # the [record] extra (zstandard) loads only when a recording is made; without it the
    # ImportError reaches centbook.cli.main, which names the extra to install
    from centbook.record.segment import RecordingError

    _check(args)
    config = ExchangeSettings()
    if args.config:
        fill(config, read_toml(args.config), args.config)
    exchange = open_exchange(choose(args, vars(config)), "centbook record", ["--flow"])
    try:
        return asyncio.run(_record(args, exchange))
    except RecordingError as exc:
        raise CommandError(f"{exc}; the recording stopped with what it had flushed", RUNTIME) from exc
    except KeyboardInterrupt:   # SIGINT before the loop took it over: nothing to stop yet
        return 0
    finally:
        exchange.close()


def _check(args: argparse.Namespace) -> None:
    if args.connections < 1:
        raise CommandError(f"--connections must be >= 1, got {args.connections}")
    if args.duration is not None and args.duration <= 0:
        raise CommandError(f"--duration must be > 0, got {args.duration}")
    unknown = set(args.channels.split(",")) - KNOWN_CHANNELS - {""}
    if unknown:
        raise CommandError(f"--channels: unknown {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(sorted(KNOWN_CHANNELS))}")
    if args.flush_interval <= 0:
        raise CommandError(f"--flush-interval must be > 0, got {args.flush_interval}")


def _follow(series: str | None) -> Callable[[str], bool]:
    """Which markets opening during the recording to add: the series' (``S-...``), or all."""
    if series is None:
        return lambda ticker: True
    prefix = series + "-"
    return lambda ticker: ticker.startswith(prefix)


async def _record(args: argparse.Namespace, exchange: Exchange) -> int:
    import aiohttp

    from centbook.record.markets import MarketDirectory, MarketSelectionError
    from centbook.record.recorder import Recorder
    from centbook.record.segment import SegmentWriter

    async with aiohttp.ClientSession() as http:
        directory = MarketDirectory(exchange.rest_url, http)
        tickers = [t for t in (args.markets or "").split(",") if t]
        try:
            markets = await directory.select(tickers=tickers, series=args.series, every_open=args.all)
        except MarketSelectionError as exc:
            raise CommandError(f"{exc}: check --markets/--series against GET /markets") from None
        writer = SegmentWriter(args.out, segment_bytes=int(args.segment_mb * (1 << 20)),
                               segment_s=args.segment_s)
        channels = [c for c in args.channels.split(",") if c]
        follow = None if tickers else _follow(args.series)
        recorder = Recorder(exchange.ws_url, exchange.credentials, markets, writer,
                            connections=args.connections, channels=channels,
                            flush_interval_s=args.flush_interval, directory=directory, follow=follow)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, recorder.stop)
        await recorder.run(args.duration)
    print(f"recorded {writer.records_written} records ({writer.bytes_written} bytes) of "
          f"{len(markets)} markets to {args.out}", file=sys.stderr)
    return 0
