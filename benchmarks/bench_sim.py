"""Embedded exchange throughput: book updates the sim delivers over a real socket, per second.

Run: ``.venv/bin/python -m pytest benchmarks/bench_sim.py --benchmark-only -s``
(``-s`` prints the summary). Not part of ``make test``. Profile one rate without pytest:
``.venv/bin/python -m benchmarks.bench_sim RATE [SECONDS]``.

The sim (``centbook sim --ws-anonymous``) runs in its own process, pinned to core 0 when there
is more than one core. The benchmark process, pinned to core 1, is the subscriber: one picows
connection on 127.0.0.1 subscribes ``orderbook_delta`` for every flow market, applies each
snapshot and delta to a dict book and checks ``seq`` is gapless. The flow is started at the
requested rate through the admin API, a warm-up passes, then delivered ``orderbook_delta``
messages (book updates; snapshot levels do not count) are counted over a fixed window. The flow
is then paused, the subscriber reads up to the last seq the sim assigned, and every book is
compared with ``GET /markets/{ticker}/orderbook?depth=0``: a round whose books differ fails
before its rate is recorded.

``extra_info``: ``requested_per_s`` (flow actions per second asked for), ``updates_per_s``
(delivered deltas per second over the window), ``updates`` and ``window_s``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp
import picows
import pytest

from centbook.sim import SimProcess

RATES = (10_000, 25_000, 50_000, 75_000)
TARGET_PER_S = 50_000
WARMUP_S = 1.0
WINDOW_S = float(os.environ.get("CENTBOOK_BENCH_SIM_WINDOW_S", "4"))
RESULTS: dict[int, float] = {}
EXTRA = (
    "requested_per_s", "updates_per_s", "updates", "window_s", "markets", "sim_cpu_s",
    "updates_per_sim_cpu_s",
)  # fmt: skip


def _bp(price: str) -> int:
    whole, _, frac = price.partition(".")
    return int(whole) * 10000 + int((frac + "0000")[:4])


def _c100(size: str) -> int:
    neg = size.startswith("-")
    whole, _, frac = size.lstrip("-").partition(".")
    value = int(whole) * 100 + int((frac + "00")[:2])
    return -value if neg else value


class _Subscriber(picows.WSListener):
    """Apply snapshots and deltas of one ``orderbook_delta`` sid to dict books; count deltas."""

    def __init__(self) -> None:
        self.books: dict[tuple[str, str], dict[int, int]] = {}
        self.seq = 0
        self.deltas = 0
        self.snapshots = 0
        self.errors: list[str] = []
        self.wanted_seq = 0
        self.reached: asyncio.Future[None] | None = None

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type != picows.WSMsgType.TEXT:
            if frame.msg_type == picows.WSMsgType.PING:
                transport.send_pong(frame.get_payload_as_bytes())
            return
        msg = json.loads(frame.get_payload_as_bytes())
        kind = msg["type"]
        seq = msg.get("seq")
        if seq is not None:
            if seq != self.seq + 1:
                self.errors.append(f"seq {seq} after {self.seq}")
            self.seq = seq
        body = msg.get("msg")
        if kind == "orderbook_delta":
            self.deltas += 1
            level = self.books[(body["market_ticker"], body["side"])]
            price = _bp(body["price_dollars"])
            size = level.get(price, 0) + _c100(body["delta_fp"])
            if size < 0:
                self.errors.append(f"negative level {body}")
            if size:
                level[price] = size
            else:
                level.pop(price, None)
        elif kind == "orderbook_snapshot":
            self.snapshots += 1
            for side in ("yes", "no"):
                self.books[(body["market_ticker"], side)] = {
                    _bp(p): _c100(s) for p, s in body.get(f"{side}_dollars_fp", [])
                }
        elif kind == "error":
            self.errors.append(f"error {msg}")
        if self.reached is not None and not self.reached.done() and self.seq >= self.wanted_seq:
            self.reached.set_result(None)

    async def wait_seq(self, seq: int, timeout_s: float = 60.0) -> None:
        if self.seq >= seq:
            return
        self.wanted_seq = seq
        self.reached = asyncio.get_running_loop().create_future()
        await asyncio.wait_for(self.reached, timeout_s)


async def _flow(http: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> dict[str, Any]:
    async with http.post(base + "/admin/flow", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def _cpu_s(pid: int | None) -> float:
    """Return the CPU seconds (user + system) process ``pid`` used so far (0.0 if unknown)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    base_url: str,
    ws_url: str,
    rate: float,
    window_s: float = WINDOW_S,
    sim_pid: int | None = None,
    admin_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Subscribe every market, run the flow at ``rate``, count delivered deltas; check the books.

    With ``sim_pid``, also report the sim's CPU seconds over the window (``sim_cpu_s``): on a
    shared machine, updates per sim CPU-second is the figure other processes move least.
    ``admin_headers`` authorise the ``/admin/flow`` calls.
    """
    async with aiohttp.ClientSession(headers=admin_headers) as http:
        async with http.get(base_url + "/trade-api/v2/markets", params={"limit": 1000}) as resp:
            tickers = [m["ticker"] for m in (await resp.json())["markets"] if m["status"] == "active"]
        transport, sub = await picows.ws_connect(_Subscriber, ws_url)
        assert isinstance(sub, _Subscriber)
        try:
            cmd = {
                "id": 1,
                "cmd": "subscribe",
                "params": {"channels": ["orderbook_delta"], "market_tickers": tickers},
            }
            transport.send(picows.WSMsgType.TEXT, json.dumps(cmd).encode())
            await sub.wait_seq(len(tickers))
            await _flow(http, base_url, {"action": "rate", "rate": rate})
            state = await _flow(http, base_url, {"action": "resume"})
            if not state["running"]:
                await _flow(http, base_url, {"action": "start", "rate": rate})
            await asyncio.sleep(WARMUP_S)
            d0, t0, c0 = sub.deltas, time.perf_counter(), _cpu_s(sim_pid)
            await asyncio.sleep(window_s)
            d1, t1, c1 = sub.deltas, time.perf_counter(), _cpu_s(sim_pid)
            paused = await _flow(http, base_url, {"action": "pause"})
            conns = paused["streams"]["connections"]
            last_seq = max(int(s["seq"]) for c in conns for s in c["subscriptions"].values())
            await sub.wait_seq(last_seq)
            assert not sub.errors, sub.errors[:5]
            for t in tickers:
                async with http.get(
                    f"{base_url}/trade-api/v2/markets/{t}/orderbook", params={"depth": 0}
                ) as resp:
                    book = (await resp.json())["orderbook_fp"]
                for side in ("yes", "no"):
                    rest = {_bp(p): _c100(s) for p, s in book[f"{side}_dollars"]}
                    assert sub.books[(t, side)] == rest, f"{t} {side}: subscriber book != REST book"
        finally:
            transport.disconnect()
    return {
        "requested_per_s": rate,
        "updates_per_s": (d1 - d0) / (t1 - t0),
        "updates": d1 - d0,
        "window_s": t1 - t0,
        "markets": len(tickers),
        "sim_cpu_s": c1 - c0,
        "updates_per_sim_cpu_s": (d1 - d0) / (c1 - c0) if c1 > c0 else 0.0,
        "flow": paused,
    }


def _pin(pid: int, cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {cpu})


@pytest.fixture(scope="module")
def sim():
    with SimProcess(seed=7, args=["--ws-anonymous", "--flow-rate", "1"], admin=True) as proc:
        assert proc.proc is not None
        _pin(proc.proc.pid, 0)
        _pin(0, 1)
        yield proc


@pytest.mark.parametrize("rate", RATES)
def test_sim_delivered_updates(benchmark, sim, rate):
    benchmark.group = "sim: delivered book updates"
    out: dict[str, Any] = {}

    def run() -> None:
        assert sim.proc is not None
        out.update(
            asyncio.run(
                measure(sim.base_url, sim.ws_url, rate, sim_pid=sim.proc.pid, admin_headers=sim.admin_headers)
            )
        )

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update({k: out[k] for k in EXTRA})
    RESULTS[rate] = out["updates_per_s"]
    best = max(RESULTS.values())
    print(
        f"\nsim: requested {rate}/s, delivered {out['updates_per_s']:.0f} book updates/s "
        f"({out['updates']} in {out['window_s']:.2f} s; {out['updates_per_sim_cpu_s']:.0f} per sim "
        f"CPU-second); best so far {best:.0f}/s, "
        f"target {TARGET_PER_S}/s"
    )


if __name__ == "__main__":  # python -m benchmarks.bench_sim RATE [SECONDS]
    _rate = float(sys.argv[1]) if len(sys.argv) > 1 else 50_000.0
    _window = float(sys.argv[2]) if len(sys.argv) > 2 else WINDOW_S
    with SimProcess(seed=7, args=["--ws-anonymous", "--flow-rate", "1"], admin=True) as _proc:
        assert _proc.proc is not None
        _pin(_proc.proc.pid, 0)
        _pin(0, 1)
        _out = asyncio.run(
            measure(_proc.base_url, _proc.ws_url, _rate, _window, _proc.proc.pid, _proc.admin_headers)
        )
    print(
        f"requested {_rate:.0f}/s: delivered {_out['updates_per_s']:.0f} book updates/s "
        f"({_out['updates']} in {_out['window_s']:.2f} s, {_out['markets']} markets, "
        f"{_out['updates_per_sim_cpu_s']:.0f} per sim CPU-second); "
        f"flow {_out['flow']['actions']} actions, {_out['flow']['rejected']} rejected"
    )
