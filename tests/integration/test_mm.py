"""The market maker end to end against the embedded exchange (in-process, synthetic flow, fast clocks).

Every check waits on a condition (conftest.wait_for) with a time budget; nothing asserts on timing.
"""
from __future__ import annotations

import asyncio
from typing import Any

from conftest import wait_for

from centbook.auth import Credentials
from centbook.feed.connection import FeedConfig
from centbook.mm import MarketMaker, MMConfig, OrderState
from centbook.sim import default_config, run_sim

MARKETS = ["KXDEMO-26DEC31-T50", "KXDEMO-26DEC31-T60", "KXBTCD-26DEC3117-T100000"]
FAST = FeedConfig(ping_idle_s=0.5, ping_reply_s=0.5, heartbeat_timeout_s=2.0, backoff_start_s=0.05,
                  backoff_cap_s=0.3, snapshot_timeout_s=1.5, command_timeout_s=2.0, status_poll_s=0.2)


def sim_config(rate: float = 200) -> dict[str, Any]:
    cfg = default_config()
    cfg["streams"] = {"heartbeat_s": 0.2}
    cfg["flow"] = {"enabled": True, "rate": rate, "seed": 3, "tick_s": 0.01}
    cfg["users"][0]["tier"] = "unlimited"
    return cfg


def mm_config(**risk: Any) -> MMConfig:
    cfg = MMConfig(markets=list(MARKETS), reconcile_s=1.0)
    cfg.strategy.half_spread_bp = 60  # close to fair: the flow fills us soon
    cfg.strategy.min_quote_life_s = 0.05
    cfg.strategy.stop_before_close_s = 0
    # in-process makers run without the guard process (its own tests start it): a loaded test
    # machine can stall the loop past the heartbeat timeout, and the guard would rightly pull
    cfg.guard.enabled = False
    for k, v in risk.items():
        setattr(cfg.risk, k, v)
    return cfg


def all_quoted(mm: MarketMaker) -> bool:
    return all(s.live is not None and s.live.state is OrderState.RESTING for s in mm.slots.values())


async def resting(mm: MarketMaker) -> list[Any]:
    return [o async for o in mm.rest.get_orders(status="resting")]


async def session(sim: Any, cfg: MMConfig, wait_all: bool = True) -> MarketMaker:
    mm = MarketMaker(cfg, sim.rest_url, sim.ws_url, Credentials(sim.api_key_id, sim.private_key_pem),
                     feed_config=FAST)
    await mm.start()
    runner = asyncio.ensure_future(mm.run(0))
    mm._tasks.add(runner)
    if wait_all:
        await wait_for(lambda: all_quoted(mm), 20)
    return mm


def test_quotes_fills_reconcile_and_shutdown(arun1):
    async def go() -> None:
        async with run_sim(sim_config(), seed=7) as sim:
            mm = await session(sim, mm_config())
            try:
                # our quotes rest on the exchange at the prices the order manager holds, on the grid
                orders = await resting(mm)
                ours = {(o.ticker, o.book_side): o.yes_price_bp for o in orders if o.order_id in mm.orders}
                assert len(ours) >= 1
                for (ticker, side), price in ours.items():
                    info = mm.markets[ticker]
                    assert info.grid.is_valid(price)
                    live = mm.slots[(ticker, side)].live
                    if live is not None and live.order_id in mm.orders and live.state is OrderState.RESTING:
                        assert live.price_bp == price or mm.slots[(ticker, side)].busy
                # never two resting orders of one slot
                seen: dict[tuple[str, str], int] = {}
                for o in orders:
                    if o.order_id in mm.orders:
                        seen[(o.ticker, o.book_side)] = seen.get((o.ticker, o.book_side), 0) + 1
                assert all(n == 1 for n in seen.values()), seen
                # flow trades against us: fills move the position; positions reconcile with REST
                await wait_for(lambda: mm.counts["fills"] >= 1, 40)
                diffs = await mm.reconcile("test")
                if diffs:  # a fill may be in flight between the two reads: the next round agrees
                    await wait_for(lambda: mm.counts["reconciles"] >= 3, 10)
                    diffs = await mm.reconcile("test")
                assert not diffs, diffs
                assert mm.halted is None
                assert mm.ledger.duplicates >= 0
                positions = {p.ticker: p.position async for p in mm.rest.get_positions()}
                for ticker, info in mm.markets.items():
                    assert positions.get(ticker, 0) == info.start_position + mm.ledger.market(ticker).position
                    m = mm.ledger.market(ticker)
                    if m.fills:
                        assert m.cash != 0
            finally:
                await mm.close()
            # shutdown: order groups triggered, nothing rests on any shard
            assert mm.left_resting == 0
            async with MarketMakerRest(sim) as rest:
                assert [o async for o in rest.get_orders(status="resting")] == []

    arun1(go())


class MarketMakerRest:
    """A fresh REST client on the sim (the maker's own is closed)."""

    def __init__(self, sim: Any) -> None:
        from centbook.rest.client import RestClient

        self.client = RestClient(sim.rest_url, Credentials(sim.api_key_id, sim.private_key_pem))

    async def __aenter__(self) -> Any:
        await self.client.open()
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


def test_disconnect_and_pause_pull_then_restore(arun1):
    async def go() -> None:
        async with run_sim(sim_config(), seed=8) as sim:
            mm = await session(sim, mm_config())
            try:
                pulls = mm.counts["pulls"]
                sim.admin.streams.drop()
                await wait_for(lambda: mm.feed.counts.get("reconnects", 0) >= 1, 20)
                await wait_for(lambda: mm.counts["pulls"] > pulls, 20)
                await wait_for(lambda: all_quoted(mm) and mm.counts["reconnects_seen"] >= 1, 20)
                # a seq gap on a book subscription: resync from a snapshot, quotes pulled and restored
                pulls = mm.counts["pulls"]
                sid = next(sid for sid, sub in mm.feed.subscriptions.by_sid.items()
                           if sub.channel == "orderbook_delta")
                sim.admin.streams.skip_seq(sid=sid)
                await wait_for(lambda: mm.feed.books.gaps >= 1 and mm.counts["pulls"] > pulls, 20)
                await wait_for(lambda: all_quoted(mm), 20)
                # a trading pause on shard 0: its quotes go (pulled by us or cancelled on pause)
                sim.admin.pause_trading(0)
                shard0 = [t for t, m in mm.markets.items() if m.shard == 0]
                await wait_for(lambda: all(mm.slots[(t, s)].live is None for t in shard0
                                           for s in ("bid", "ask")), 20)
                sim.admin.resume_trading(0)
                await wait_for(lambda: all_quoted(mm), 20)
                assert mm.halted is None
            finally:
                await mm.close()
            assert mm.left_resting == 0

    arun1(go())


def test_max_loss_halts_and_kill_switch_leaves_nothing(arun1):
    async def go() -> None:
        async with run_sim(sim_config(), seed=9) as sim:
            mm = await session(sim, mm_config())
            try:
                mm.config.risk.max_loss_micro = -10**15  # every P&L is now below the limit: halt
                await wait_for(lambda: mm.halted is not None, 10)
                assert "max loss" in mm.halted
                await wait_for(lambda: all(s.live is None and not s.busy for s in mm.slots.values()), 20)
            finally:
                await mm.close()
            assert mm.left_resting == 0
            assert mm.halted is not None  # sticky

    arun1(go())


def test_position_limit_stops_the_side_that_adds(arun1):
    async def go() -> None:
        async with run_sim(sim_config(300), seed=10) as sim:
            cfg = mm_config(max_position=500)  # one fill of a 5-contract quote reaches the limit
            mm = await session(sim, cfg, wait_all=False)
            try:
                await wait_for(lambda: any(m.position for m in mm.ledger.markets.values()), 40)
                ticker = next(t for t, m in mm.ledger.markets.items() if m.position)
                pos = mm.markets[ticker].start_position + mm.ledger.market(ticker).position
                adding = "bid" if pos > 0 else "ask"
                try:
                    await wait_for(lambda: mm.slots[(ticker, adding)].live is None, 20)
                except AssertionError:
                    raise AssertionError(f"{ticker} {pos} {mm.slots[(ticker, adding)]} {mm.halted}") from None
                assert abs(pos) <= 500
                assert mm.slots[(ticker, adding)].target is None
            finally:
                await mm.close()
            assert mm.left_resting == 0

    arun1(go())


def test_ledger_fills_pnl_and_duplicates():
    from centbook.mm import Ledger

    led = Ledger()
    assert led.apply("t1", "o1", "M", "bid", 4000, 1000, 7000)   # buy 10 @ $0.40
    assert not led.apply("t1", "o1", "M", "bid", 4000, 1000, 7000)  # duplicate: ignored
    assert led.apply("t2", "o2", "M", "ask", 4500, 400, 3000)   # sell 4 @ $0.45
    m = led.market("M")
    assert m.position == 600 and m.fees == 10000 and led.duplicates == 1
    assert m.cash == -4000 * 1000 + 4500 * 400
    assert m.realised == 400 * 500          # 4 contracts x $0.05 = $0.20 = 200000 micro
    assert m.unrealised(5000) == 600 * 1000  # 6 contracts marked at $0.50 from $0.40
    t = led.totals({"M": 5000})
    assert t["pnl"] == 200000 + 600000 - 10000


def test_the_command_runs_on_a_separate_sim_and_exits_0(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, "-m", "centbook.cli", "mm", "--env", "sim", "--duration", "4",
                           "--quiet", "--inject-disconnect-at", "2", "--json", str(out)],
                          capture_output=True, text=True, timeout=55)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "centbook mm summary" in proc.stdout
    st = json.loads(out.read_text())
    assert st["reconnects"] >= 1 and st["halted"] is None
    assert st["latency_ns"]["tick_to_trade"]["count"] > 0


def test_sigint_cancels_everything_and_exits_0():
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "centbook.cli", "mm", "--env", "sim", "--duration", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 40
        for line in proc.stdout:  # wait for the first status line showing a quote
            if "LIVE" in line and "/" in line.split("LIVE", 1)[1][:12] or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "verified: nothing of this session rests" in out
    assert "resting orders left: 0" in out


def test_toml_config_flags_and_prod_confirmation(tmp_path):
    import subprocess
    import sys

    from centbook.mm import load_config

    path = tmp_path / "mm.toml"
    path.write_text('markets = ["A", "B"]\nsubaccount = 2\n[strategy]\nhalf_spread_bp = 300\n'
                    '[risk]\nmax_position = 700\n')
    cfg = load_config(str(path), {"subaccount": 3, "duration_s": None})
    assert cfg.markets == ["A", "B"] and cfg.subaccount == 3 and cfg.strategy.half_spread_bp == 300
    assert cfg.risk.max_position == 700 and cfg.env == "sim"
    path.write_text("nonsense = 1\n")
    try:
        load_config(str(path))
    except ValueError as exc:
        assert "nonsense" in str(exc)
    else:
        raise AssertionError("an unknown key was accepted")
    proc = subprocess.run([sys.executable, "-m", "centbook.cli", "mm", "--env", "prod", "--market", "X"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "real money" in proc.stderr


def test_top_of_book_without_our_own_orders_matches_the_depth_reading():
    import random

    from centbook.book import OrderBook, Side
    from centbook.mm.strategy import top_level

    def by_depth(book: Any, side: str, own: dict[int, int]) -> tuple[int, int] | None:
        s = Side.YES if side == "bid" else Side.NO
        for price, size in book.depth(s, 5):
            yes = price if s == Side.YES else 10000 - price
            if size - own.get(yes, 0) > 0:
                return yes, size - own.get(yes, 0)
        return None

    rng = random.Random(1)
    for _ in range(3000):
        yes = {rng.randrange(1, 50) * 100: rng.randrange(1, 5) * 100 for _ in range(rng.randrange(0, 4))}
        no = {rng.randrange(1, 50) * 100: rng.randrange(1, 5) * 100 for _ in range(rng.randrange(0, 4))}
        book = OrderBook("T")
        book.apply_snapshot_bp(sorted(yes.items()), sorted(no.items()))
        own = {p: rng.choice([s, 100]) for p, s in list(yes.items())[:rng.randrange(0, 3)]}
        own.update({10000 - p: rng.choice([s, 100]) for p, s in list(no.items())[:rng.randrange(0, 3)]})
        for side in ("bid", "ask"):
            assert top_level(book, side, own) == by_depth(book, side, own), (yes, no, own, side)
