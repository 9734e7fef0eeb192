"""``centbook mm``: environment selection, the embedded exchange, status line, fault injection, summary.

``--env sim`` (default) starts the embedded exchange as a separate process (``centbook sim --flow``)
and quotes three of its markets on two shards (whole-cent, deci-cent and centi-cent grids).
``--env demo``/``prod`` read credentials from ``KALSHI_API_KEY_ID``/``KALSHI_PRIVATE_KEY_PATH``;
prod also wants ``--i-understand-this-trades-real-money``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
import urllib.request
from typing import Any

import uvloop

from centbook.auth import Credentials
from centbook.feed.connection import FeedConfig
from centbook.mm.config import MMConfig, load_config
from centbook.mm.kill import EXIT_MAY_REST
from centbook.mm.lock import InstanceRunningError
from centbook.mm.maker import MarketMaker
from centbook.protocol.environments import REST_URLS, WS_URLS
from centbook.sim import SimProcess

__all__ = ["add_parser", "run_mm", "SIM_MARKETS"]

SIM_MARKETS = ["KXDEMO-26DEC31-T50", "KXDEMO-26DEC31-T60", "KXBTCD-26DEC3117-T100000"]


def add_parser(sub: Any) -> None:
    """Register the ``mm`` subcommand."""
    p = sub.add_parser("mm", help="run the market maker", description=__doc__)
    p.add_argument("--config", metavar="FILE", help="TOML configuration (see centbook.mm.config)")
    p.add_argument("--env", choices=["sim", "demo", "prod"], help="exchange (default sim)")
    p.add_argument("--market", action="append", dest="markets", help="market ticker (repeatable)")
    p.add_argument("--duration", type=float, help="seconds to run (0 = until SIGINT/SIGTERM)")
    p.add_argument("--subaccount", type=int, help="subaccount passed on every call")
    p.add_argument("--inject-disconnect-at", type=float, metavar="S",
                   help="sim only: drop the WebSocket after S seconds (default: half the duration)")
    p.add_argument("--no-inject", action="store_true", help="sim only: no injected disconnect")
    p.add_argument("--flow-rate", type=float, help="sim only: synthetic flow actions per second")
    p.add_argument("--requote", choices=["auto", "amend", "cancel_create"],
                   help="how a quote moves: amend in place or cancel + create (default auto = amend)")
    p.add_argument("--json", metavar="FILE", help="write the summary (with latency) as JSON here")
    p.add_argument("--quiet", action="store_true", help="no status line")
    p.add_argument("--i-understand-this-trades-real-money", dest="confirm_prod", action="store_true",
                   help="required with --env prod")
    p.set_defaults(func=run_mm)


def _us(ns: float) -> str:
    return f"{ns / 1000:.0f}us"


def status_line(st: dict[str, Any]) -> str:
    """One line: per market state, quotes, position, P&L, fills; msgs/s; tick-to-trade p50."""
    parts = []
    for ticker, m in st["markets"].items():
        q = m["quotes"]
        bid = f"{q['bid'][0]}" if q["bid"] else "-"
        ask = f"{q['ask'][0]}" if q["ask"] else "-"
        parts.append(f"{ticker.split('-')[-1]}[{m['state'][:4]} {bid}/{ask} pos={m['position'] / 100:g} "
                     f"pnl=${m['pnl_micro'] / 1e6:+.2f} f={m['fills']}]")
    t2t = st["latency_ns"]["tick_to_trade"]
    halted = f" HALTED: {st['halted']}" if st["halted"] else ""
    return (f"{st['elapsed_s']:5.1f}s " + " ".join(parts)
            + f" {st['messages_per_s']:.0f} msg/s t2t p50={_us(t2t['p50'])}"
            + f" reconn={st['reconnects']}{halted}")


def summary_text(st: dict[str, Any], leftover: int) -> str:
    """The end-of-run summary."""
    lines = ["", "== centbook mm summary =="]
    lines.append(f"ran {st['elapsed_s']:.1f}s, reconnects {st['reconnects']}, halted: {st['halted'] or 'no'}")
    for ticker, m in st["markets"].items():
        lines.append(f"  {ticker:28s} {m['state']:8s} position {m['position'] / 100:8.2f}  "
                     f"fills {m['fills']:4d}  fees ${m['fees_micro'] / 1e6:7.4f}  "
                     f"P&L ${m['pnl_micro'] / 1e6:+9.4f}")
    t = st["totals"]
    lines.append(f"  total: P&L ${t['pnl'] / 1e6:+.4f} (realised ${t['realised'] / 1e6:+.4f}, unrealised "
                 f"${t['unrealised'] / 1e6:+.4f}, fees ${t['fees'] / 1e6:.4f})")
    c = st["counts"]
    lines.append(f"  orders: {c['creates']} created, {c['cancels']} canceled, {c['rejects']} rejected, "
                 f"{c['unknown']} unknown; {c['fills']} fills; {c['reconciles']} reconciliations; "
                 f"{c['pulls']} pulls")
    lines.append(f"  messages/s {st['messages_per_s']:.0f}; resting orders left: {leftover}")
    tokens = st.get("tokens", {})
    lines.append(f"  amends {c['amends']}; write tokens spent: create {tokens.get('create', 0)}, "
                 f"cancel {tokens.get('cancel', 0)}, amend {tokens.get('amend', 0)}; "
                 f"group triggers {c['group_triggers']}; unknown outcomes resolved over REST {c['resolved']}")
    for name, h in st["latency_ns"].items():
        lines.append(f"  {name:20s} n={h['count']:6d} p50={_us(h['p50'])} p99={_us(h['p99'])} "
                     f"p99.9={_us(h['p99.9'])}")
    return "\n".join(lines)


def _inject_drop(base_url: str) -> str:
    req = urllib.request.Request(base_url + "/admin/streams/faults",
                                 data=json.dumps({"fault": "drop"}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - 127.0.0.1 only
        return resp.read().decode()


async def run_session(cfg: MMConfig, rest_url: str, ws_url: str, credentials: Credentials,
                      base_url: str | None, duration: float, inject_at: float | None, quiet: bool,
                      feed_config: FeedConfig | None = None, out: Any = sys.stdout
                      ) -> tuple[dict[str, Any], int]:
    """Run one market-making session; return (final status, orders left resting)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    mm = MarketMaker(cfg, rest_url, ws_url, credentials, feed_config=feed_config)
    shown = 0
    try:
        await mm.start()
        runner = asyncio.ensure_future(mm.run(duration, stop))
        injected = False
        tty = out.isatty()
        while not runner.done():
            await asyncio.sleep(cfg.status_s)
            st = mm.status()
            if not quiet:
                line = status_line(st)
                text = ("\r" + line[:200] + "\033[K") if tty else line
                print(text, end="" if tty else "\n", file=out, flush=True)
            while shown < len(mm.events):
                if not quiet:
                    print(("\n" if tty else "") + "  * " + mm.events[shown], file=out, flush=True)
                shown += 1
            if base_url and inject_at is not None and not injected and st["elapsed_s"] >= inject_at:
                injected = True
                hit = await asyncio.to_thread(_inject_drop, base_url)
                mm.log(f"injected a disconnect via the sim's admin API: {hit}")
        await runner
    finally:
        final = mm.status()  # book states as they were while quoting (the feed closes next)
        await mm.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if not quiet:
        print(("\n" if out.isatty() else ""), end="", file=out)
        for e in mm.events[shown:]:
            print("  * " + e, file=out)
    after = mm.status()
    for key in ("counts", "tokens", "halted", "totals", "latency_ns", "elapsed_s", "reconnects"):
        final[key] = after[key]
    if mm.kill_result is not None:
        final["kill_switch"] = {"summary": mm.kill_result.summary(), "json": mm.kill_result.to_json()}
    return final, mm.left_resting


def run_mm(args: argparse.Namespace) -> int:
    """Entry point of ``centbook mm``."""
    try:
        cfg = load_config(args.config, {"env": args.env, "markets": args.markets, "duration_s": args.duration,
                                        "subaccount": args.subaccount, "sim_flow_rate": args.flow_rate,
                                        "inject_disconnect_at_s": args.inject_disconnect_at,
                                        "requote": args.requote})
    except (OSError, ValueError) as exc:
        print(f"centbook mm: {exc}", file=sys.stderr)
        return 2
    if cfg.env == "prod" and not args.confirm_prod:
        print("centbook mm: --env prod trades real money; add --i-understand-this-trades-real-money",
              file=sys.stderr)
        return 2
    sim = None
    if cfg.env == "sim":
        cfg.markets = cfg.markets or list(SIM_MARKETS)
        sim_args = ["--flow", "--flow-rate", str(cfg.sim_flow_rate), "--tier", "premier"]
        sim = SimProcess(seed=1, args=sim_args).start()
        rest_url, ws_url, base = sim.rest_url, sim.ws_url, sim.base_url
        credentials = Credentials(sim.api_key_id, sim.private_key_pem)
        print(f"embedded exchange (separate process) at {base}; quoting {', '.join(cfg.markets)}", flush=True)
    else:
        if not cfg.markets:
            print("centbook mm: name markets with --market or in the configuration", file=sys.stderr)
            return 2
        rest_url, ws_url, base = REST_URLS[cfg.env], WS_URLS[cfg.env], None
        credentials = Credentials.from_env()
    inject = None
    if sim is not None and not args.no_inject:
        inject = cfg.inject_disconnect_at_s
        if inject is None and cfg.duration_s > 0:
            inject = cfg.duration_s / 2
    feed_config = FeedConfig(status_poll_s=2.0, backoff_start_s=0.1, backoff_cap_s=1.0) if sim else None
    started = time.monotonic()
    try:
        # on uvloop, as the feed is built to run (picows' reads and the order lane's writes)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            st, leftover = runner.run(run_session(cfg, rest_url, ws_url, credentials, base, cfg.duration_s,
                                                  inject, args.quiet, feed_config))
    except InstanceRunningError as exc:
        print(f"centbook mm: {exc}", file=sys.stderr)
        return 1
    finally:
        if sim is not None:
            sim.stop()
    st["wall_s"] = time.monotonic() - started
    print(summary_text(st, max(leftover, 0)), flush=True)
    if "kill_switch" in st:  # the kill switch's verdict and what may rest, as one JSON line
        print(st["kill_switch"]["summary"], st["kill_switch"]["json"], sep="\n", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(st, fh, indent=2, default=str)
    return 0 if leftover == 0 else EXIT_MAY_REST
