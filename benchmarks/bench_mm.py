"""Tick-to-trade of the market maker: first frame of a socket read -> order request written.

Run: ``.venv/bin/python -m pytest benchmarks/bench_mm.py --benchmark-only -s`` (``-s`` prints a
summary per run). Not part of ``make test``.

The embedded exchange runs in its own process (``centbook sim --flow``, pinned to the last core
when there is more than one) with synthetic flow that moves the top of book; the market maker
(:class:`centbook.mm.MarketMaker`) runs in this process on uvloop, as ``centbook mm`` does (pinned
to core 0; its signing helper process, which makes the pre-made signatures in bursts, is pinned
with the exchange, off the maker's core), with its writes on the order lane (:mod:`centbook.rest.lane`,
the ``centbook mm`` default; requotes decided and written by the compiled path,
:mod:`centbook.mm.quoter`, also the default: the amend, or the cancel of a cancel + create), quoting
the sim's three default markets (whole-cent, deci-cent and centi-cent grids) with a requote threshold of
one bp and no minimum quote life, so that most book changes that move a target cause a write.
After start-up (books live, first quotes placed) ``gc.freeze()`` moves everything allocated so
far out of the collector's way; then the run lasts until ``DECISIONS`` timed decisions (or
``TIME_CAP_S``).

What is timed is the maker's own histogram (:mod:`centbook.mm.stamp`): from the first frame of
the socket read that changed the book to the moment the request's bytes were handed to the
transport, for decisions that found their quote slot idle (a decision that waits for the slot's
previous write is counted apart, ``queued``). Pre-signed and sign-on-demand paths are separate
runs (``presign`` on and off); each run also records which path each write took, so a pre-signed
run's few pool misses do not pollute its figure.

Before a run counts, the orders it made are read back from the sim over REST (every order the
session created exists there, under its client_order_id prefix) and, after shutdown, nothing of
the session rests. ``extra_info``: ``p50_ns``, ``p99_ns``, ``p999_ns``, ``samples`` (tick to
trade on the run's path), the other stages' medians, and for the requote comparison the round
trip of one requote (amend: one request; cancel + create: the cancel written to the create
answered) and the write tokens it cost (the client's endpoint costs).

The pre-signed amend session also runs as the compiled path was before it handed a read's public
trades and tickers (and the lifecycle of markets without an armed slot) to Python after itself
(``test_presigned_amend_before``: ``Quoter.defer_public`` off), and with every request of a read
made before any is written (``test_presigned_amend_paired``: ``Quoter.pair_writes`` on), right
after the normal run, on the same host; each records the compiled path's stages
(``compiled_<stage>_ns``: p50, p99, count; :mod:`centbook.mm.latency`), the host's 1-minute load
and its steal time (``/proc/stat``: the maker's core and all cores) over the run.

A second group (``WRITE_GROUP``) times one order write alone, from the call to the bytes handed
to the transport: pre-signed creates through :class:`~centbook.rest.RestClient` + aiohttp
against the same creates formatted by hand and written to a keep-alive socket (the floor a raw
HTTP/1.1 order lane would have); both are immediate-or-cancel at $0.01, so nothing rests.

``CENTBOOK_BENCH_QUICK=1`` shortens the runs. For comparisons: ``CENTBOOK_BENCH_LOOP=asyncio``
runs the maker on asyncio's own loop instead of uvloop, ``CENTBOOK_BENCH_SIGNER=inherit`` leaves
the signing helper on the maker's core.
"""
from __future__ import annotations

import asyncio
import gc
import os
import time
from typing import Any

import pytest
import uvloop

from centbook.auth import Credentials
from centbook.cli.mm import SIM_MARKETS
from centbook.feed.connection import FeedConfig
from centbook.mm import MarketMaker, MMConfig
from centbook.mm.latency import LATENCIES
from centbook.rest.client import RestClient
from centbook.sim import SimProcess

QUICK = os.environ.get("CENTBOOK_BENCH_QUICK") == "1"
DECISIONS = 500 if QUICK else 3000
TIME_CAP_S = 30.0 if QUICK else 120.0
FLOW_RATE = 1000
GROUP = "mm: tick-to-trade (first frame read -> order bytes written)"
RESULTS: dict[str, dict[str, Any]] = {}
COMPILED_STAGES = ("python_frames", "read_to_hook", "hook_to_decision", "decision_to_request",
                   "request_to_written", "request_to_written_later")


def _steal_ms(core: int | None = 0) -> float | None:
    """CPU time the hypervisor gave to others while ``core`` (None: any core) wanted it ("steal",
    /proc/stat), ms."""
    prefix = "cpu " if core is None else f"cpu{core} "
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith(prefix):
                    return int(line.split()[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return None


def _load() -> float | None:
    """The host's 1-minute load average (runnable tasks; the machine has ``os.cpu_count()`` cores)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _pin(pid: int, cores: set[int]) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, cores)


@pytest.fixture(scope="module")
def sim():
    """The exchange in its own process, on the other core; this process on core 0."""
    proc = SimProcess(seed=11, args=["--flow", "--flow-rate", str(FLOW_RATE), "--tier", "unlimited"]).start()
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        assert proc.proc is not None
        last = (os.cpu_count() or 1) - 1
        _pin(proc.proc.pid, {last})
        _pin(0, {0})
        yield proc
    finally:
        proc.stop()
        if before is not None:
            os.sched_setaffinity(0, before)


def _on_uvloop(coro: Any) -> Any:
    """Run as ``centbook mm`` runs: on uvloop."""
    factory = None if os.environ.get("CENTBOOK_BENCH_LOOP") == "asyncio" else uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


def _config(presign: bool, requote: str) -> MMConfig:
    cfg = MMConfig(env="sim", markets=list(SIM_MARKETS), presign=presign, requote=requote, reconcile_s=10.0)
    cfg.strategy.half_spread_bp = 150
    cfg.strategy.requote_threshold_bp = 1
    cfg.strategy.min_quote_life_s = 0.0
    cfg.strategy.stop_before_close_s = 0
    cfg.risk.max_position = 10**9  # quoting goes on whatever the flow does to the position
    cfg.risk.max_total_position = 10**9
    cfg.risk.max_loss_micro = 10**12
    return cfg


async def _session(sim: SimProcess, presign: bool, requote: str, defer: bool | None = None,
                   pair: bool | None = None) -> dict[str, Any]:
    credentials = Credentials(sim.api_key_id, sim.private_key_pem)
    mm = MarketMaker(_config(presign, requote), sim.rest_url, sim.ws_url, credentials,
                     feed_config=FeedConfig(status_poll_s=2.0))
    hist = mm.latency.tick_to_trade_presigned if presign else mm.latency.tick_to_trade_signed
    stop = asyncio.Event()
    try:
        await mm.start()
        if mm.quoter is not None:  # the compiled path's read order and write order (None: as is)
            mm.quoter.defer_public = mm.quoter.defer_public if defer is None else defer
            mm.quoter.pair_writes = mm.quoter.pair_writes if pair is None else pair
        if mm.rest.signer_pid is not None and os.environ.get("CENTBOOK_BENCH_SIGNER") != "inherit":
            _pin(mm.rest.signer_pid, {(os.cpu_count() or 1) - 1})
        runner = asyncio.ensure_future(mm.run(0, stop))
        deadline = time.monotonic() + 60
        while not all(s.live is not None for s in mm.slots.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for name in LATENCIES:
            getattr(mm.latency, name).clear()  # start-up writes are not the steady state
        gc.collect()
        gc.freeze()
        t0 = time.monotonic()
        while hist.count < DECISIONS and time.monotonic() - t0 < TIME_CAP_S and not runner.done():
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - t0
        status = mm.status()
        created = {oid: o.client_order_id for oid, o in mm.orders.items()}
        stop.set()
        await runner
    finally:
        await mm.close()
        gc.unfreeze()
    assert mm.halted is None or mm.halted == "shutdown", mm.halted
    assert mm.left_resting == 0, "orders of the session still rest after shutdown"
    # the orders this run made (and timed) exist on the exchange; nothing of the session rests
    async with RestClient(sim.rest_url, credentials) as rest:
        seen = {o.order_id: o async for o in rest.get_orders()}
    missing = [oid for oid in created if oid not in seen]
    assert not missing, f"{len(missing)} orders of the run are unknown to the sim"
    assert all(seen[oid].client_order_id.startswith(mm.prefix) for oid in created)
    assert not [o for o in seen.values() if o.status == "resting" and o.client_order_id.startswith(mm.prefix)]
    assert hist.count >= min(DECISIONS, 200), f"only {hist.count} timed decisions in {elapsed:.0f}s"
    q = mm.quoter
    modes = {"defer_public": q is not None and bool(q.defer_public),
             "pair_writes": q is not None and bool(q.pair_writes)}
    return {**modes, "status": status, "hist": hist.summary(), "elapsed_s": elapsed, "orders": len(created),
            "tokens": dict(mm.tokens), "counts": dict(mm.counts)}


def _record(benchmark: Any, name: str, presign: bool, requote: str, sim: SimProcess,
            defer: bool | None = None, pair: bool | None = None) -> None:
    out: dict[str, Any] = {}

    def run() -> None:
        steal, host = _steal_ms(), _steal_ms(None)
        load = _load()
        out.update(_on_uvloop(_session(sim, presign, requote, defer, pair)))
        after, host_after = _steal_ms(), _steal_ms(None)
        out["steal_ms"] = None if steal is None or after is None else round(after - steal, 1)
        out["host_steal_ms"] = None if host is None or host_after is None else round(host_after - host, 1)
        out["load"] = load

    benchmark.group = GROUP
    benchmark.pedantic(run, rounds=1, iterations=1)
    h, st = out["hist"], out["status"]
    lat = st["latency_ns"]
    counts, tokens = out["counts"], out["tokens"]
    info = {"p50_ns": h["p50"], "p99_ns": h["p99"], "p999_ns": h["p99.9"], "samples": h["count"],
            "presigned": presign, "requote": requote, "seconds": round(out["elapsed_s"], 1),
            "orders_checked": out["orders"], "flow_rate": FLOW_RATE, "steal_ms_core0": out["steal_ms"],
            "steal_ms_host": out["host_steal_ms"], "load_1min": out["load"], "cores": os.cpu_count(),
            "before": defer is False and pair is False, "defer_public": out["defer_public"],
            "pair_writes": out["pair_writes"]}
    for stage in ("read_to_applied", "applied_to_decision", "decision_to_written", "written_to_response",
                  "exchange_to_written"):
        info[f"{stage}_p50_ns"] = lat[stage]["p50"]
    # the compiled path stage by stage (mm.latency: compiled_*), p50 and p99 and how many
    for stage in COMPILED_STAGES:
        h_stage = lat[f"compiled_{stage}"]
        info[f"compiled_{stage}_ns"] = {key: h_stage[key] for key in ("p50", "p99", "count")}
    first = lat["tick_to_first_write_presigned" if presign else "tick_to_first_write"]
    info.update(first_p50_ns=first["p50"], first_p99_ns=first["p99"], first_samples=first["count"])
    other = "tick_to_trade_signed" if presign else "tick_to_trade_presigned"
    info["other_path_samples"] = lat[other]["count"]
    info["queued_samples"] = lat["tick_to_trade_queued"]["count"]
    # who wrote the amends: the compiled path, Python from the read callback, or the slot's task
    info["amends_compiled"], info["amends_now"] = counts["amends_compiled"], counts["amends_now"]
    info["cancels_compiled"], info["cancels"] = counts["cancels_compiled"], counts["cancels"]
    rt = lat["requote_amend" if requote == "amend" else "requote_cancel_create"]
    info["requote_rt_p50_ns"], info["requote_rt_p99_ns"], info["requotes"] = rt["p50"], rt["p99"], rt["count"]
    if requote == "amend" and counts["amends"]:
        info["tokens_per_requote"] = tokens["amend"] / counts["amends"]
    elif requote == "cancel_create" and rt["count"]:
        creates = max(counts["creates"], 1)
        info["tokens_per_requote"] = tokens["cancel"] / max(counts["cancels"], 1) + tokens["create"] / creates
    benchmark.extra_info.update(info)
    RESULTS[name] = info
    print(f"\n{GROUP}: {name}: n={info['samples']} p50={info['p50_ns'] / 1000:.1f}us "
          f"p99={info['p99_ns'] / 1000:.1f}us p99.9={info['p999_ns'] / 1000:.1f}us; first write of each "
          f"read: n={info['first_samples']} p50={info['first_p50_ns'] / 1000:.1f}us "
          f"p99={info['first_p99_ns'] / 1000:.1f}us; stage p50s (us): "
          + ", ".join(f"{k[:-7]} {info[k] / 1000:.1f}" for k in info if k.endswith("_p50_ns"))
          + f"; requote round trip p50 {info['requote_rt_p50_ns'] / 1000:.0f}us over {info['requotes']}, "
          f"tokens/requote {info.get('tokens_per_requote', 0):.1f}; other path {info['other_path_samples']}, "
          f"queued {info['queued_samples']}, amends compiled {info['amends_compiled']} / from Python's "
          f"callback {info['amends_now']} / of {counts['amends']}, cancels compiled "
          f"{info['cancels_compiled']} / of {counts['cancels']}, {info['seconds']}s, host steal on core 0 "
          f"{info['steal_ms_core0']} ms (all cores {info['steal_ms_host']} ms), load {info['load_1min']} on "
          f"{info['cores']} cores; compiled path stages p50/p99 us (n): "
          + ", ".join(f"{k} {v['p50'] / 1000:.1f}/{v['p99'] / 1000:.1f} ({v['count']})"
                      for k, v in ((st, info[f"compiled_{st}_ns"]) for st in COMPILED_STAGES)))


def test_presigned_amend(benchmark, sim):
    _record(benchmark, "presigned amend", True, "amend", sim)


def test_presigned_amend_before(benchmark, sim):
    """The same run with the compiled path's two changes off: every frame of a read handed to
    Python before it, and a second quote decided only after the first one's write."""
    _record(benchmark, "presigned amend, before", True, "amend", sim, defer=False, pair=False)


def test_presigned_amend_paired(benchmark, sim):
    """The same run with every request of a read made before any is written."""
    _record(benchmark, "presigned amend, paired", True, "amend", sim, pair=True)


def test_presigned_cancel_create(benchmark, sim):
    _record(benchmark, "presigned cancel+create", True, "cancel_create", sim)


def test_sign_on_demand_amend(benchmark, sim):
    _record(benchmark, "sign-on-demand amend", False, "amend", sim)


# ----------------------------------------------------------------------------- where the time goes
WRITE_GROUP = "mm: order write (call -> bytes handed to the transport)"
WRITES = 300 if QUICK else 2000
FLOOR_TICKER = "KXDEMO-26DEC31-T50"


def _floor_order(coid: str) -> dict[str, Any]:
    # immediate-or-cancel at $0.01: never rests, so a few thousand of them leave nothing behind
    return {"ticker": FLOOR_TICKER, "client_order_id": coid, "side": "bid", "count": "1.00",
            "price": "0.0100", "time_in_force": "immediate_or_cancel",
            "self_trade_prevention_type": "taker_at_cross", "exchange_index": 0}


async def _rest_writes(sim: SimProcess, lane: bool = False) -> dict[str, Any]:
    """One create at a time through RestClient (pre-signed), timed to the transport.

    ``lane``: the writes go on the client's order lane (:mod:`centbook.rest.lane`), else aiohttp.
    """
    from centbook.metrics import Histogram
    from centbook.mm.stamp import PresignTracker, WriteStamp, current_stamp, make_session, stamp_written

    credentials = Credentials(sim.api_key_id, sim.private_key_pem)
    session = make_session(10.0)
    hist, signed = Histogram("rest_write"), Histogram("rest_write_signed")
    async with RestClient(sim.rest_url, credentials, session=session, presign=True, order_lane=lane) as rest:
        if rest.lane is not None:
            rest.lane.on_written = stamp_written
        stamp = WriteStamp(PresignTracker(rest.pool))
        current_stamp.set(stamp)
        gc.collect()
        gc.freeze()
        try:
            for _ in range(WRITES):
                stamp.arm("POST")
                t0 = time.monotonic_ns()
                res = await rest.create_order(FLOOR_TICKER, "bid", 100, 100, exchange_index=0,
                                              time_in_force="immediate_or_cancel")
                assert res.remaining_count == 0
                (hist if stamp.presigned else signed).record(stamp.written_ns - t0)
        finally:
            gc.unfreeze()
            await session.close()
    return {"hist": hist.summary(), "other": signed.count}


async def _raw_writes(sim: SimProcess) -> dict[str, Any]:
    """The same creates as HTTP/1.1 bytes written straight to a keep-alive socket (the floor).

    Signed before the clock starts (as a pre-made signature would be); timed: encoding the body,
    formatting the request and ``transport.write``. The answer is read (untimed) and checked.
    """
    import msgspec

    from centbook.metrics import Histogram

    credentials = Credentials(sim.api_key_id, sim.private_key_pem)
    host, port = sim.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    path = "/trade-api/v2/portfolio/events/orders"
    encode = msgspec.json.Encoder().encode
    hist, syscall = Histogram("raw_write"), Histogram("raw_transport_write")
    gc.collect()
    gc.freeze()
    try:
        for i in range(WRITES):
            ts = int(time.time() * 1000)
            sig = credentials.sign(ts, "POST", path)
            coid = f"cbfloor{os.getpid()}-{i}"
            t0 = time.monotonic_ns()
            body = encode(_floor_order(coid))
            head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nKALSHI-ACCESS-KEY: {credentials.key_id}\r\n"
                    f"KALSHI-ACCESS-TIMESTAMP: {ts}\r\nKALSHI-ACCESS-SIGNATURE: {sig}\r\n\r\n").encode()
            data = head + body
            t1 = time.monotonic_ns()
            writer.write(data)
            t2 = time.monotonic_ns()
            hist.record(t2 - t0)
            syscall.record(t2 - t1)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            answer = await reader.readexactly(length)
            assert b" 201 " in status_line, (status_line, answer)
    finally:
        gc.unfreeze()
        writer.close()
    return {"hist": hist.summary(), "other": 0, "transport_write_p50_ns": syscall.summary()["p50"]}


def _record_write(benchmark: Any, name: str, run: Any, sim: SimProcess) -> None:
    out: dict[str, Any] = {}
    benchmark.group = WRITE_GROUP
    benchmark.pedantic(lambda: out.update(_on_uvloop(run(sim))), rounds=1, iterations=1)
    h = out["hist"]
    assert h["count"] >= WRITES // 2, h
    info = {"p50_ns": h["p50"], "p99_ns": h["p99"], "p999_ns": h["p99.9"], "samples": h["count"],
            "other_path_samples": out["other"]}
    if "transport_write_p50_ns" in out:
        info["transport_write_p50_ns"] = out["transport_write_p50_ns"]
    benchmark.extra_info.update(info)
    print(f"\n{WRITE_GROUP}: {name}: n={h['count']} p50={h['p50'] / 1000:.1f}us p99={h['p99'] / 1000:.1f}us "
          f"p99.9={h['p99.9'] / 1000:.1f}us (not pre-signed, left out: {out['other']}; "
          f"transport.write alone p50 {info.get('transport_write_p50_ns', 0) / 1000:.1f}us)")


def test_write_restclient_aiohttp(benchmark, sim):
    _record_write(benchmark, "RestClient + aiohttp, pre-signed", _rest_writes, sim)


def test_write_restclient_lane(benchmark, sim):
    async def run(sim: SimProcess) -> dict[str, Any]:
        return await _rest_writes(sim, lane=True)

    _record_write(benchmark, "RestClient + order lane, pre-signed", run, sim)


def test_write_raw_socket_floor(benchmark, sim):
    _record_write(benchmark, "raw HTTP/1.1 on a keep-alive socket", _raw_writes, sim)
