"""Chaos campaign: the sim with flow, the market maker and its guard, under a seeded schedule of faults.

Subcommands:

- ``run``: the campaign. The sim runs in this process (its admin API drives the faults, its
  engine's records are the truth); the maker runs as a child process (with its dead-man guard),
  so ``kill -9`` is real. A seeded schedule stacks REST faults (5xx, 429 storms, timeouts, drops,
  delays on writes and reads), WebSocket faults (drops, seq gaps, stalls, delays, closes),
  exchange pauses and kills of the maker (restarted after its guard pulled its orders).
  Invariants, from the exchange's records: no client_order_id twice; nothing of a killed maker
  rests once its guard is done (time to zero measured); after the final clean stop nothing
  rests, the exit code is 0, the maker's positions equal the exchange's and its ledger holds
  exactly the exchange's fills of its session; memory of every process bounded. Writes a JSON
  report (``--json``) and prints a table.
- ``deadman``: kill -9 a quoting maker N times; time until nothing of it rests (p50/max).
- ``maker``: the child the other two start (quotes until SIGTERM, then a clean stop).

Usage::

    python scripts/chaos.py run --minutes 5 --seed 1 --json build/chaos.json
    python scripts/chaos.py deadman --runs 5
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from typing import Any

from centbook.auth import Credentials
from centbook.book import BookState, Side
from centbook.feed.connection import FeedConfig
from centbook.mm import MarketMaker, MMConfig
from centbook.mm.lock import InstanceRunningError
from centbook.sim import default_config, run_sim

MARKETS = ["KXDEMO-26DEC31-T50", "KXDEMO-26DEC31-T60", "KXBTCD-26DEC3117-T100000"]
ROOT = "chaos"
FAST = FeedConfig(ping_idle_s=0.5, ping_reply_s=0.5, heartbeat_timeout_s=2.0, backoff_start_s=0.05,
                  backoff_cap_s=0.3, snapshot_timeout_s=1.5, command_timeout_s=2.0, status_poll_s=0.2)
ZERO_BUDGET_S = 15.0  # a killed maker's orders must be gone this long after the kill
LIVE_SLACK_S = 1.0  # a create decided on a LIVE book may reach the exchange this much later

# REST faults: (name, method, path regex, action, status)
REST_FAULTS = [
    ("create 503", "POST", r"^/portfolio/events/orders$", "status", 503),
    ("create drop", "POST", r"^/portfolio/events/orders$", "drop", 0),
    ("amend 500", "POST", r"/amend$", "status", 500),
    ("amend drop", "POST", r"/amend$", "drop", 0),
    ("cancel 503", "DELETE", r"^/portfolio/events/orders/[^/]+$", "status", 503),
    ("cancel timeout", "DELETE", r"^/portfolio/events/orders/[^/]+$", "timeout", 0),
    ("orders read 503", "GET", r"^/portfolio/orders", "status", 503),
    ("positions delay", "GET", r"^/portfolio/positions", "delay", 0),
    ("fills read 500", "GET", r"^/portfolio/fills", "status", 500),
    ("group trigger 503", "PUT", r"/trigger$", "status", 503),
    ("429 storm", "*", r".", "status", 429),
]
WS_FAULTS = ["ws drop", "ws seq gap", "ws stall", "ws delay", "ws close"]
PAUSES = ["trading pause", "exchange pause"]


def sim_config(rate: float) -> dict[str, Any]:
    cfg = default_config()
    cfg["streams"] = {"heartbeat_s": 0.2}
    cfg["flow"] = {"enabled": True, "rate": rate, "seed": 3, "tick_s": 0.01}
    cfg["users"][0]["tier"] = "unlimited"
    return cfg


# -- the maker child --------------------------------------------------------------------------------
def dump_books(mm: MarketMaker, path: str) -> None:
    """Write the maker's LIVE books (YES and NO bids, price_bp and size) as JSON to ``path``."""
    assert mm.feed is not None
    books = {}
    for ticker in mm.markets:
        book = mm.feed.books[ticker]
        if book.is_live:
            books[ticker] = {"yes": [list(lv) for lv in book.levels(Side.YES)],
                             "no": [list(lv) for lv in book.levels(Side.NO)]}
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"ns": time.time_ns(), "books": books}, fh)
    os.replace(tmp, path)


async def maker_main(args: argparse.Namespace) -> int:
    with open(args.key_file) as fh:
        credentials = Credentials(args.key_id, fh.read())
    cfg = MMConfig(markets=list(MARKETS), reconcile_s=1.0, client_order_id_root=args.root)
    cfg.strategy.half_spread_bp = 60
    cfg.strategy.min_quote_life_s = 0.05
    cfg.strategy.stop_before_close_s = 0
    cfg.guard.timeout_s = args.guard_timeout
    cfg.risk.kill_deadline_s = 20.0
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    mm = MarketMaker(cfg, args.rest_url, args.ws_url, credentials, feed_config=FAST)
    try:
        await mm.start()
        assert mm.feed is not None
        if args.states_out:  # when each book was LIVE: the campaign checks creates against it
            states = open(args.states_out, "a", buffering=1)  # noqa: SIM115 - open for the session
            for ticker in mm.markets:
                states.write(f"{time.time_ns()} {ticker} {int(mm.feed.books[ticker].is_live)}\n")

            def note(change: Any) -> None:
                states.write(f"{time.time_ns()} {change.ticker} {int(change.new is BookState.LIVE)}\n")
            mm.feed.state_listeners.append(note)
        if args.books_out:  # SIGUSR1: write the LIVE books, for the campaign to compare
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump_books, mm, args.books_out)
        runner = asyncio.ensure_future(mm.run(0, stop))
        await mm.feed.wait_live(timeout=30)
        guard = mm.guard.pid if mm.guard is not None else 0
        print(f"quoting {mm.prefix} guard {guard}", flush=True)
        await runner
    except InstanceRunningError as exc:
        print(f"refused: {exc}", flush=True)
        return 1
    finally:
        await mm.close()
    status = mm.status()
    result = mm.kill_result
    if args.status_out:
        fills = [[t, o] for t, o in mm.ledger.seen if o in mm.orders]
        positions = {t: info.start_position + mm.ledger.market(t).position for t, info in mm.markets.items()}
        with open(args.status_out, "w") as fh:
            json.dump({"prefix": mm.prefix, "positions": positions, "fills": fills,
                       "counts": status["counts"],
                       "halted": mm.halted, "kill": json.loads(result.to_json()) if result else None}, fh)
    print(result.summary() if result else "no kill switch ran", flush=True)
    return result.exit_code if result else 0


# -- the campaign -----------------------------------------------------------------------------------
def _differ(ours: list[list[int]], theirs: list[list[int]]) -> list[tuple[int, int | None, int | None]]:
    """(price_bp, maker's size, exchange's size) of every level where the two books differ."""
    a, b = dict(map(tuple, ours)), dict(map(tuple, theirs))
    return [(p, a.get(p), b.get(p)) for p in sorted(a.keys() | b.keys()) if a.get(p) != b.get(p)]


def rss_kb(pid: int) -> int:
    """Resident memory of a process (kB; 0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Maker:
    """One maker child: its process, its output lines (its guard's too: it inherits the pipe)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.prefix = ""
        self.guard_pid = 0
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            self.lines.append(text)
            if text.startswith("quoting "):
                parts = text.split()
                self.prefix, self.guard_pid = parts[1], int(parts[3])


class Campaign:
    """The sim, the maker child and the schedule; counts and invariant violations."""

    def __init__(self, sim: Any, seed: int, workdir: str, guard_timeout: float) -> None:
        self.sim = sim
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.guard_timeout = guard_timeout
        self.key_file = os.path.join(workdir, "key.pem")
        with open(self.key_file, "w") as fh:
            fh.write(sim.private_key_pem)
        os.chmod(self.key_file, 0o600)
        self.faults: collections.Counter[str] = collections.Counter()
        self.violations: list[str] = []
        self.kills: list[float] = []  # time to zero per kill
        self.slowest_kill: dict[str, Any] = {}
        self.first_trigger: list[float] = []  # kill -> the guard's first group trigger at the exchange
        self.rss_max: dict[str, int] = collections.defaultdict(int)
        self.rss_first: dict[str, int] = {}
        self.sessions: list[str] = []
        self.maker: Maker | None = None
        self.status_out = ""
        self.states_out: list[str] = []  # per session: when its books were LIVE
        self.creates_checked = 0
        self.books_compared = 0

    async def start_maker(self) -> Maker:
        self.status_out = os.path.join(self.workdir, f"session-{len(self.sessions)}.json")
        self.states_out.append(os.path.join(self.workdir, f"states-{len(self.sessions)}.txt"))
        cmd = [sys.executable, os.path.abspath(__file__), "maker", "--rest-url", self.sim.rest_url,
               "--ws-url", self.sim.ws_url, "--key-id", self.sim.api_key_id, "--key-file", self.key_file,
               "--root", ROOT, "--guard-timeout", str(self.guard_timeout), "--status-out", self.status_out,
               "--states-out", self.states_out[-1],
               "--books-out", os.path.join(self.workdir, "books.json")]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
        maker = Maker(proc)
        deadline = time.monotonic() + 60
        while not maker.prefix:
            if proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the maker did not start: {maker.lines[-5:]}")
            await asyncio.sleep(0.05)
        self.sessions.append(maker.prefix)
        self.maker = maker
        return maker

    def resting(self, prefix: str = ROOT) -> list[Any]:
        return [o for o in self.sim.exchange.orders.values()
                if o.status == "resting" and o.client_order_id.startswith(prefix)]

    def check(self) -> None:
        """The invariants that hold at every moment."""
        seen = collections.Counter(o.client_order_id for o in self.sim.exchange.orders.values()
                                   if o.client_order_id.startswith(ROOT))
        dup = [c for c, n in seen.items() if n > 1]
        if dup:
            self.violations.append(f"client_order_id placed twice: {dup[:5]}")
        for name, pid in (("sim+driver", os.getpid()), ("maker", self.maker.proc.pid if self.maker else 0),
                          ("guard", self.maker.guard_pid if self.maker else 0)):
            kb = rss_kb(pid) if pid else 0
            if kb:
                self.rss_first.setdefault(name, kb)
                self.rss_max[name] = max(self.rss_max[name], kb)

    def rest_fault(self) -> str:
        name, method, path, action, status = self.rng.choice(REST_FAULTS)
        times = self.rng.randint(1, 4) if name != "429 storm" else self.rng.randint(5, 30)
        self.sim.admin.add_fault(path, action, method=method, status=status or 503,
                                 delay_s=self.rng.uniform(0.5, 3.0), times=times)
        return name

    async def ws_fault(self) -> str:
        streams = self.sim.admin.streams
        name = self.rng.choice(WS_FAULTS)
        if name == "ws drop":
            streams.drop()
        elif name == "ws seq gap":
            streams.skip_seq()
        elif name == "ws stall":
            streams.stall(self.rng.uniform(200, 3000))
        elif name == "ws delay":  # every message late, for a while
            streams.delay(self.rng.uniform(50, 1000))
            asyncio.get_running_loop().call_later(self.rng.uniform(1.0, 5.0), streams.delay, 0)
        else:
            streams.close()
        return name

    async def pause(self) -> str:
        name = self.rng.choice(PAUSES)
        shard = self.rng.choice([0, 1]) if len(self.sim.exchange.shards) > 1 else 0
        admin = self.sim.admin
        pause, resume = ((admin.pause_trading, admin.resume_trading) if name == "trading pause"
                         else (admin.pause_exchange, admin.resume_exchange))
        pause(shard)
        await asyncio.sleep(self.rng.uniform(0.5, 2.0))
        resume(shard)
        return name

    async def kill(self) -> str:
        maker = self.maker
        assert maker is not None
        prefix = maker.prefix
        resting_before = {o.order_id for o in self.resting(prefix)}
        maker.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        killed_ns, killed_wall_ns = time.monotonic_ns(), time.time_ns()
        while self.resting(prefix) and time.monotonic() - killed < ZERO_BUDGET_S:
            await asyncio.sleep(0.005)
        await maker.proc.wait()
        if self.resting(prefix):
            self.violations.append(f"{len(self.resting(prefix))} orders of killed session {prefix} rest "
                                   f"{ZERO_BUDGET_S:g}s after the kill")
        else:
            # time to zero from the exchange's records: the last of the session's orders that
            # rested at the kill left the book at its updated_ns (same host, same clock)
            ended = [self.sim.exchange.orders[i].updated_ns for i in resting_before]
            self.kills.append(max([(ns - killed_wall_ns) / 1e9 for ns in ended] + [0.0]))
            if self.kills[-1] == max(self.kills):
                self.slowest_kill = {"s": round(self.kills[-1], 3), "session": prefix,
                                     "faults_before": [e["kind"] for e in self.sim.admin.fault_log[-6:]]}
            triggers = [a.monotonic_ns for a in self.sim.admin.arrivals("demo")
                        if a.path.endswith("/trigger") and a.monotonic_ns > killed_ns]
            if triggers:  # the guard's first group trigger as the exchange saw it arrive
                self.first_trigger.append((min(triggers) - killed_ns) / 1e9)
        await asyncio.wait_for(maker.reader, 30)  # the guard has said what it did and left
        if self.slowest_kill.get("session") == prefix:
            said = [line for line in maker.lines if line.startswith("centbook guard")]
            self.slowest_kill["guard"] = said[-8:]
        if not any("verified, nothing rests" in line for line in maker.lines):
            self.violations.append(f"the guard of {prefix} did not verify: {maker.lines[-3:]}")
        self.sim.admin.clear_faults()  # the restart is not the test: start it on a calm exchange
        await self.start_maker()
        return "kill -9 maker"

    async def compare_books(self, maker: Maker, tries: int = 30) -> None:
        """With the flow paused, every LIVE book of the maker equals the exchange's book."""
        self.sim.admin.streams.pause_flow()
        path = os.path.join(self.workdir, "books.json")
        diffs: list[str] = []
        for _ in range(tries):
            await asyncio.sleep(0.3)  # the maker's own last writes reach its books
            asked = time.time_ns()
            maker.proc.send_signal(signal.SIGUSR1)
            while not os.path.exists(path) or json.load(open(path))["ns"] < asked:  # noqa: SIM115
                await asyncio.sleep(0.02)
            with open(path) as fh:
                books = json.load(fh)["books"]
            diffs = []
            for ticker, book in books.items():
                market = self.sim.exchange.markets[ticker]
                yes = sorted([p, n] for p, n in market.depth("bid"))
                no = sorted([10000 - p, n] for p, n in market.depth("ask"))
                ours_yes, ours_no = sorted(book["yes"]), sorted(book["no"])
                if ours_yes != yes or ours_no != no:
                    differ = ([("yes", lv) for lv in _differ(ours_yes, yes)]
                              + [("no", lv) for lv in _differ(ours_no, no)])
                    diffs.append(f"{ticker}: maker vs exchange {differ[:6]}")
            if not diffs:
                self.books_compared = len(books)
                break
        else:
            self.violations.append(f"LIVE books differ from the exchange's: {diffs}")
        self.sim.admin.streams.resume_flow()

    def check_creates_while_live(self) -> None:
        """No order created while its book was not LIVE (the maker's state log, the exchange's
        creation times), to a resolution of LIVE_SLACK_S: a create may reach the exchange that long
        after its book left LIVE, and the log may hear of a LIVE book that long after a create."""
        for prefix, path in zip(self.sessions, self.states_out, strict=False):
            changes: dict[str, list[tuple[int, bool]]] = collections.defaultdict(list)
            with open(path) as fh:
                for line in fh:
                    ns, ticker, live = line.split()
                    changes[ticker].append((int(ns), live == "1"))
            self.creates_checked += self._creates_outside_live(prefix, changes)

    def _creates_outside_live(self, prefix: str, changes: dict[str, list[tuple[int, bool]]]) -> int:
        checked = 0
        slack_ns = int(LIVE_SLACK_S * 1e9)
        for o in self.sim.exchange.orders.values():
            if not o.client_order_id.startswith(prefix):
                continue
            checked += 1
            log = changes.get(o.ticker, [])
            before = [live for ns, live in log if ns <= o.created_ns - slack_ns]
            live_at_start = bool(before) and before[-1]
            # the log hears of a book going LIVE after the read that made it LIVE (whose decisions
            # may already have written): a LIVE entry just after the create counts too
            created = o.created_ns
            went_live = any(live for ns, live in log if created - slack_ns < ns <= created + slack_ns)
            if not (live_at_start or went_live):
                self.violations.append(f"order {o.client_order_id} created while {o.ticker} was not LIVE")
        return checked

    async def finish(self) -> dict[str, Any]:
        """Stop the maker cleanly; check what must hold at the end."""
        self.sim.admin.clear_faults()
        self.sim.admin.streams.delay(0)
        maker = self.maker
        assert maker is not None
        # a few calm seconds: the maker reconciles what the faults hid, then stops cleanly
        status_out = self.status_out
        await asyncio.sleep(3.0)
        await self.compare_books(maker)
        maker.proc.send_signal(signal.SIGTERM)
        rc = await maker.proc.wait()
        await asyncio.wait_for(maker.reader, 30)
        if rc != 0:
            self.violations.append(f"the final clean stop exited {rc}: {maker.lines[-3:]}")
        if self.resting():
            self.violations.append(f"{len(self.resting())} orders rest after the final stop")
        with open(status_out) as fh:
            final = json.load(fh)
        user = next(iter(self.sim.exchange.users.values()))
        for ticker, position in final["positions"].items():
            pos = self.sim.exchange.positions.get((user.user_id, 0, ticker))
            theirs = pos.position if pos is not None else 0
            if theirs != position:
                self.violations.append(f"{ticker}: exchange position {theirs}, the maker's {position}")
        # a fill's trade_id on the wire is the engine's fill_id
        exchange_fills = {(f.fill_id, f.order_id) for f in user.fills
                          if f.client_order_id.startswith(final["prefix"])}
        ledger_fills = {tuple(x) for x in final["fills"]}
        if exchange_fills != ledger_fills:
            self.violations.append(f"fills of the final session: exchange {len(exchange_fills)}, "
                                   f"ledger {len(ledger_fills)}, "
                                   f"differing {len(exchange_fills ^ ledger_fills)}")
        self.check_creates_while_live()
        for name, first in self.rss_first.items():
            if self.rss_max[name] > max(4 * first, first + 400_000):
                self.violations.append(f"memory of {name} grew from {first} kB to {self.rss_max[name]} kB")
        return final


async def campaign(seconds: float, seed: int, rate: float, guard_timeout: float, min_kills: int = 0
                   ) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="centbook-chaos-") as workdir:
        os.environ["CENTBOOK_LOCK_DIR"] = workdir  # the children's locks stay in the campaign's folder
        async with run_sim(sim_config(rate), seed=seed) as sim:
            c = Campaign(sim, seed, workdir, guard_timeout)
            await c.start_maker()
            end = time.monotonic() + seconds
            kinds = ["rest"] * 6 + ["ws"] * 3 + ["pause"] + ["kill"]
            while time.monotonic() < end:
                await asyncio.sleep(c.rng.uniform(0.2, 1.5))
                kind = c.rng.choice(kinds)
                if len(c.kills) < min_kills and time.monotonic() > end - seconds / 2:
                    kind = "kill"  # the short version must kill at least this often
                if kind == "rest":
                    name = c.rest_fault()
                    if c.rng.random() < 0.5:  # stacked: a second one at once
                        c.faults[c.rest_fault()] += 1
                elif kind == "ws":
                    name = await c.ws_fault()
                elif kind == "pause":
                    name = await c.pause()
                else:
                    name = await c.kill()
                c.faults[name] += 1
                c.check()
            final = await c.finish()
            c.check()
            user = next(iter(sim.exchange.users.values()))
            orders = [o for o in sim.exchange.orders.values() if o.client_order_id.startswith(ROOT)]
            return {
                "seed": seed, "seconds": round(time.monotonic() - started, 1), "flow_rate": rate,
                "faults": dict(sorted(c.faults.items())), "faults_total": sum(c.faults.values()),
                "sessions": len(c.sessions), "kills": len(c.kills),
                "time_to_zero_s": {"p50": round(statistics.median(c.kills), 3) if c.kills else None,
                                   "max": round(max(c.kills), 3) if c.kills else None},
                "slowest_kill": c.slowest_kill,
                "orders": len(orders), "creates_checked_live": c.creates_checked,
                "live_books_compared": c.books_compared,
                "fills": sum(1 for f in user.fills if f.client_order_id.startswith(ROOT)),
                "final_session": {"counts": final["counts"], "halted": final["halted"]},
                "rss_max_kb": dict(c.rss_max), "violations": c.violations,
            }


async def deadman(runs: int, guard_timeout: float) -> dict[str, Any]:
    """Kill -9 a quoting maker ``runs`` times; time to zero each time."""
    with tempfile.TemporaryDirectory(prefix="centbook-deadman-") as workdir:
        os.environ["CENTBOOK_LOCK_DIR"] = workdir
        async with run_sim(sim_config(100), seed=5) as sim:
            c = Campaign(sim, 5, workdir, guard_timeout)
            await c.start_maker()
            resting_at_kill = []
            for _ in range(runs):
                maker = c.maker
                # quoting, and its guard started and ready (the kill is measured, not the start-up)
                while len(c.resting(maker.prefix)) < 6 or not any(line.startswith("centbook guard: ready")
                                                                  for line in maker.lines):
                    await asyncio.sleep(0.05)
                resting_at_kill.append(len(c.resting(c.maker.prefix)))
                await c.kill()
            c.maker.proc.send_signal(signal.SIGTERM)
            await c.maker.proc.wait()
            return {"runs": runs, "guard_timeout_s": guard_timeout, "resting_at_kill": resting_at_kill,
                    "time_to_zero_s": [round(t, 3) for t in c.kills],
                    "first_trigger_s": [round(t, 3) for t in c.first_trigger],
                    "first_trigger_p50_s": (round(statistics.median(c.first_trigger), 3)
                                            if c.first_trigger else None),
                    "p50_s": round(statistics.median(c.kills), 3) if c.kills else None,
                    "max_s": round(max(c.kills), 3) if c.kills else None, "violations": c.violations}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaos.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the campaign")
    run.add_argument("--minutes", type=float, default=5.0)
    run.add_argument("--seconds", type=float, help="instead of --minutes (the short version in the tests)")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--flow-rate", type=float, default=150.0)
    run.add_argument("--guard-timeout", type=float, default=1.0)
    run.add_argument("--min-kills", type=int, default=0, help="kill -9 the maker at least this often")
    run.add_argument("--json", metavar="FILE")
    dm = sub.add_parser("deadman", help="kill -9 the maker N times: time until nothing rests")
    dm.add_argument("--runs", type=int, default=5)
    dm.add_argument("--guard-timeout", type=float, default=1.0)
    mk = sub.add_parser("maker", help="the maker child")
    for name in ("--rest-url", "--ws-url", "--key-id", "--key-file"):
        mk.add_argument(name, required=True)
    mk.add_argument("--root", default=ROOT)
    mk.add_argument("--guard-timeout", type=float, default=1.0)
    mk.add_argument("--status-out")
    mk.add_argument("--states-out")
    mk.add_argument("--books-out")
    args = parser.parse_args(argv)
    if args.command == "maker":
        return asyncio.run(maker_main(args))
    if args.command == "deadman":
        report = asyncio.run(deadman(args.runs, args.guard_timeout))
        print(json.dumps(report, indent=2))
        return 0 if not report["violations"] else 1
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    report = asyncio.run(campaign(seconds, args.seed, args.flow_rate, args.guard_timeout, args.min_kills))
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    if report["violations"]:
        print(f"chaos: {len(report['violations'])} invariant violations", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
