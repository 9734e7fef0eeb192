"""``centbook guard``: the dead-man guard of a market maker (:mod:`centbook.mm.guard`).

``centbook mm`` starts it by default and writes the session and its heartbeats to its standard
input; run on its own (under systemd, say) with ``--socket PATH``, it serves the makers whose
``guard.socket`` names that path. With ``--env-credentials``
it signs with ``KALSHI_API_KEY_ID`` / ``KALSHI_PRIVATE_KEY_PATH`` instead of the session's key.
Exit status: 0 when nothing of the session rests (or the maker ended cleanly), 3 when something
may rest, 2 for a usage mistake, 1 for a runtime failure.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from centbook.auth import Credentials, CredentialsError
from centbook.mm.guard import Guard, serve

__all__ = ["add_parser", "run_guard"]


def add_parser(sub: Any) -> None:
    """Register the ``guard`` subcommand."""
    p = sub.add_parser("guard", help="dead-man guard of a market maker (reads its heartbeat on stdin)",
                       description=__doc__)
    p.add_argument("--env-credentials", action="store_true",
                   help="sign with KALSHI_API_KEY_ID / KALSHI_PRIVATE_KEY_PATH, not the session's key")
    p.add_argument("--socket", metavar="PATH",
                   help="serve makers on this Unix socket (their guard.socket) instead of standard input")
    p.add_argument("--ready-fd", type=int, default=-1, metavar="FD",
                   help="write 'ready' to this inherited file descriptor once able to pull (the maker's)")
    p.set_defaults(func=run_guard)


async def _main(credentials: Credentials | None, socket_path: str | None, ready_fd: int) -> int:
    if socket_path:
        await serve(socket_path, credentials)
        return 0
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return await Guard(reader, credentials, ready_fd=ready_fd).run()


def run_guard(args: argparse.Namespace) -> int:
    """Entry point of ``centbook guard``."""
    # a Ctrl-C meant for the maker must not stop the guard before it has pulled the orders
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    credentials = None
    if args.env_credentials:
        try:
            credentials = Credentials.from_env()
        except (OSError, CredentialsError, KeyError) as exc:
            print(f"centbook guard: --env-credentials: {exc}", file=sys.stderr)
            return 2
    # centbook.cli.main turns an exception into one line (a traceback with --debug)
    return asyncio.run(_main(credentials, args.socket, args.ready_fd))
