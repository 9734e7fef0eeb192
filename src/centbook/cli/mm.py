"""``centbook mm``: the market maker on any exchange: status line, fault injection, summary.

The exchange is chosen as every centbook command chooses one (:mod:`centbook.cli.exchange`:
``--env sim|demo|prod``, ``--url``, ``--credentials``; flag > environment variable > TOML >
default). ``--env sim`` starts a private embedded exchange as a separate process (``centbook sim
--flow``) and quotes three of its markets on two shards (whole-cent, deci-cent and centi-cent
grids). ``--env prod`` (or Kalshi's production URL) also wants
``--i-understand-this-trades-real-money``. Faults are injected only when asked: ``--inject`` drops
the WebSocket once (through a sim's admin API) halfway through, or at ``--inject-disconnect-at``.

The first Ctrl-C or SIGTERM pulls every quote, verifies that nothing rests, prints the summary and
exits 0 (3 if something may still rest); a second one exits at once (3), saying what may rest. Child
processes (the embedded exchange, the signing helper) do not receive the terminal's Ctrl-C: they
are stopped after the maker's own shutdown, and die with it if it is killed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import uvloop

from centbook.cli.errors import CommandError
from centbook.cli.exchange import (
    ENV_VARS,
    Exchange,
    add_exchange_options,
    choose,
    open_exchange,
    require_exchange,
)
from centbook.feed.connection import FeedConfig
from centbook.mm.config import MMConfig, load_config, read_toml
from centbook.mm.kill import EXIT_MAY_REST
from centbook.mm.lock import InstanceRunningError
from centbook.mm.maker import MarketMaker
from centbook.protocol.environments import environment_of, exchange_urls
from centbook.protocol.errors import RejectedError
from centbook.sim.config import ADMIN_TOKEN_ENV

__all__ = ["add_parser", "run_mm", "run_session", "status_line", "summary_text", "SIM_MARKETS"]

SIM_MARKETS = ["KXDEMO-26DEC31-T50", "KXDEMO-26DEC31-T60", "KXBTCD-26DEC3117-T100000"]


def add_parser(sub: Any) -> None:
    """Register the ``mm`` subcommand."""
    p = sub.add_parser("mm", help="run the market maker", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="FILE", help="TOML configuration (see centbook.mm.config)")
    add_exchange_options(p)
    p.add_argument("--market", action="append", dest="markets", help="market ticker (repeatable)")
    p.add_argument("--duration", type=float, help="seconds to run (0 = until SIGINT/SIGTERM)")
    p.add_argument("--subaccount", type=int, help="subaccount passed on every call")
    p.add_argument("--inject", action="store_true",
                   help="sim only: drop the WebSocket once, halfway through (or at --inject-disconnect-at)")
    p.add_argument("--inject-disconnect-at", type=float, metavar="S",
                   help="sim only: drop the WebSocket after S seconds (implies --inject)")
    p.add_argument("--flow-rate", type=float, help="--env sim only: synthetic flow actions per second")
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
                     f"P&L ${m['pnl_micro'] / 1e6:+9.4f}  {_quotes_text(m['quotes'])}")
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
    taken = {name: h for name, h in st["latency_ns"].items() if h["count"]}  # paths this run took
    width = max(map(len, taken), default=0)
    for name, h in taken.items():
        lines.append(f"  {name:{width}s} n={h['count']:6d} p50={_us(h['p50'])} p99={_us(h['p99'])} "
                     f"p99.9={_us(h['p99.9'])}")
    return "\n".join(lines)


def _quotes_text(quotes: dict[str, Any]) -> str:
    resting = [f"{side} {q[0]}bp x{q[1] / 100:g} {q[2]}" for side, q in quotes.items() if q is not None]
    return "quotes: " + ("; ".join(resting) if resting else "nothing rests")


def _inject_drop(base_url: str, admin_headers: dict[str, str]) -> str:
    req = urllib.request.Request(base_url + "/admin/streams/faults",
                                 data=json.dumps({"fault": "drop"}).encode(),
                                 headers={"Content-Type": "application/json", **admin_headers}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - 127.0.0.1 only
        return resp.read().decode()


class _Interrupts:
    """SIGINT/SIGTERM during a session: the first stops it gracefully, the second exits at once."""

    def __init__(self, stop: asyncio.Event, out: Any, abort: Callable[[], None] | None) -> None:
        self.stop, self.out, self.abort = stop, out, abort
        self.count = 0

    def __call__(self, name: str) -> None:
        self.count += 1
        if self.count == 1:
            print(f"\n{name}: pulling quotes and verifying; {name} again exits at once", file=self.out,
                  flush=True)
            self.stop.set()
        elif self.abort is not None:
            self.abort()


async def run_session(cfg: MMConfig, rest_url: str, ws_url: str, credentials: Any,
                      base_url: str | None, duration: float, inject_at: float | None, quiet: bool,
                      feed_config: FeedConfig | None = None, out: Any = sys.stdout,
                      abort: Callable[[], None] | None = None,
                      admin_headers: dict[str, str] | None = None) -> tuple[dict[str, Any], int]:
    """Run one market-making session; return (final status, orders left resting).

    ``abort`` is called on a second SIGINT/SIGTERM (the first one ends the session gracefully);
    ``admin_headers`` authorise the disconnect injected through the sim's admin API.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    interrupts = _Interrupts(stop, out, abort)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupts, sig.name)
    mm = MarketMaker(cfg, rest_url, ws_url, credentials, feed_config=feed_config)
    shown = 0
    tty = out.isatty()
    try:
        await _start(mm)
        runner = asyncio.ensure_future(mm.run(duration, stop))
        injected = False
        while not runner.done():
            await asyncio.wait([runner], timeout=cfg.status_s)
            st = mm.status()
            shown = _print_events(mm, shown, quiet, tty, out)  # events first: the line shows "now"
            if not quiet and not runner.done():
                line = status_line(st)
                print(("\r" + line[:200] + "\033[K") if tty else line, end="" if tty else "\n", file=out,
                      flush=True)
            if base_url and inject_at is not None and not injected and st["elapsed_s"] >= inject_at:
                injected = True
                hit = await asyncio.to_thread(_inject_drop, base_url, admin_headers or {})
                mm.log(f"injected a disconnect via the sim's admin API: {hit}")
        await runner
    finally:
        final = mm.status()  # book states as they were while quoting (the feed closes next)
        await mm.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    _print_events(mm, shown, quiet, tty, out)
    after = mm.status()
    for key in ("counts", "tokens", "halted", "totals", "latency_ns", "elapsed_s", "reconnects"):
        final[key] = after[key]
    for ticker, m in final["markets"].items():  # what rests now, as the text says
        # the last quotes' price and size, without a state that would no longer be true
        m["last_quotes"] = {side: None if q is None else q[:2] for side, q in m["quotes"].items()}
        m["quotes"] = after["markets"][ticker]["quotes"] if mm.left_resting else dict.fromkeys(m["quotes"])
    final["left_resting"] = max(mm.left_resting, 0)
    if mm.kill_result is not None:
        final["kill_switch"] = {"summary": mm.kill_result.summary(), "json": mm.kill_result.to_json()}
    return final, mm.left_resting


async def _start(mm: MarketMaker) -> None:
    try:
        await mm.start()
    except RejectedError as exc:
        if exc.status == 404 and "/markets/" in exc.path:
            ticker = exc.path.rsplit("/", 1)[-1]
            raise CommandError(f"unknown market {ticker!r} on this exchange: check --market "
                               "(GET /markets lists the open ones)") from None
        raise


def _print_events(mm: MarketMaker, shown: int, quiet: bool, tty: bool, out: Any) -> int:
    if not quiet:
        for event in mm.events[shown:]:
            print(("\r\033[K" if tty else "") + "  * " + event, file=out, flush=True)
    return len(mm.events)


def _settings(args: argparse.Namespace) -> tuple[MMConfig, Any]:
    cfg = load_config(args.config, {"markets": args.markets, "duration_s": args.duration,
                                    "subaccount": args.subaccount, "sim_flow_rate": args.flow_rate,
                                    "inject_disconnect_at_s": args.inject_disconnect_at,
                                    "requote": args.requote})
    toml = read_toml(args.config) if args.config else {}  # what the file says, not MMConfig's defaults
    settings = choose(args, {name: toml.get(name) for name in ENV_VARS})
    require_exchange(settings, "centbook mm")
    prod = settings.env == "prod" or (settings.url is not None and _is_prod_url(settings.url))
    if prod and not args.confirm_prod:
        raise CommandError("Kalshi prod trades real money; add --i-understand-this-trades-real-money")
    if settings.env == "sim" and settings.url is None:
        cfg.markets = cfg.markets or list(SIM_MARKETS)
    elif not cfg.markets:
        raise CommandError("name the markets to quote: --market TICKER (repeatable), or markets = [...] "
                           "in --config")
    inject = args.inject or cfg.inject_disconnect_at_s is not None
    if inject and (settings.url is None and settings.env != "sim" or prod or settings.env == "demo"):
        raise CommandError("--inject needs a sim (--env sim, or --url of a 'centbook sim'): it uses "
                           "the sim's admin API")
    return cfg, settings


def _is_prod_url(url: str) -> bool:
    try:
        return environment_of(exchange_urls(url)[0]) == "prod"
    except ValueError:
        return False  # open_exchange says what is wrong with it


def run_mm(args: argparse.Namespace) -> int:
    """Entry point of ``centbook mm``."""
    cfg, settings = _settings(args)
    inject = cfg.inject_disconnect_at_s
    if inject is None and args.inject and cfg.duration_s > 0:
        inject = cfg.duration_s / 2
    sim_args = ["--flow", "--flow-rate", str(cfg.sim_flow_rate), "--tier", "premier"]
    exchange = open_exchange(settings, "centbook mm", sim_args, admin=inject is not None)
    cfg.env = exchange.env  # the maker's defaults follow it (pre-signing on for the embedded exchange)
    started = time.monotonic()
    try:
        if exchange.sim is not None:
            print(f"embedded exchange (separate process) at {exchange.host_root}; quoting "
                  f"{', '.join(cfg.markets)}", flush=True)
        # quick reconnects on a local exchange
        local = exchange.sim is not None or exchange.host_root.startswith("http://127.0.0.1:")
        feed_config = FeedConfig(status_poll_s=2.0, backoff_start_s=0.1, backoff_cap_s=1.0) if local else None
        # on uvloop, as the feed is built to run (picows' reads and the order lane's writes)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            st, leftover = runner.run(run_session(
                cfg, exchange.rest_url, exchange.ws_url, exchange.credentials,
                exchange.host_root if inject is not None else None, cfg.duration_s, inject, args.quiet,
                feed_config, abort=lambda: _abort(exchange), admin_headers=_admin_headers(exchange)))
    except InstanceRunningError as exc:
        print(f"centbook mm: {exc}", file=sys.stderr)
        return 1
    finally:
        exchange.close()  # after the maker's own shutdown
    st["wall_s"] = time.monotonic() - started
    print(summary_text(st, max(leftover, 0)), flush=True)
    if "kill_switch" in st:  # the kill switch's verdict and what may rest, as one JSON line
        print(st["kill_switch"]["summary"], st["kill_switch"]["json"], sep="\n", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(st, fh, indent=2, default=str)
    return 0 if leftover == 0 else EXIT_MAY_REST


def _admin_headers(exchange: Exchange) -> dict[str, str]:
    """The admin API's token: the sim started here, or ``CENTBOOK_SIM_ADMIN_TOKEN`` for one at --url."""
    if exchange.sim is not None:
        return exchange.sim.admin_headers
    token = os.environ.get(ADMIN_TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _abort(exchange: Exchange) -> None:
    """A second interrupt: say what may rest, stop the children, exit now (no cleanup of quotes)."""
    print(f"\ncentbook mm: interrupted twice: exiting without pulling quotes; this session's orders may "
          f"rest on {exchange.rest_url} (the next 'centbook mm' there cancels them on start)",
          file=sys.stderr, flush=True)
    exchange.close()
    os._exit(EXIT_MAY_REST)  # now: the loop is mid-shutdown; the signing helper dies with this process
