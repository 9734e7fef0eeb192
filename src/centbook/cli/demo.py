"""`make demo`: the market maker (``centbook mm``) on the embedded exchange for about a minute.

Starts ``centbook sim`` with synthetic order flow as a separate process, quotes three markets on
two shards (whole-cent, deci-cent and a sub-cent centi-cent grid), prints a live status line,
injects one WebSocket disconnect halfway through via the sim's admin HTTP API (``--inject``), recovers
(resync, fill backfill, position reconciliation), then cancels everything, verifies that nothing
rests and prints a summary with tick-to-trade latency. Arguments are passed to ``centbook mm``
(defaults ``--env sim --inject --duration 60``); the demo is the one place where ``--env sim`` is
the default.
"""
from __future__ import annotations

import sys

from centbook.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    """Run ``centbook mm`` with the demo's defaults; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--duration" not in args:
        args += ["--duration", "60"]
    if "--env" not in args and "--url" not in args:
        args += ["--env", "sim"]
    if "--inject" not in args:
        args.append("--inject")
    return cli_main(["mm", *args])


if __name__ == "__main__":
    sys.exit(main())
