"""REST execution benchmarks against the sim in its own process (``SimProcess``) over loopback.

Run: ``.venv/bin/python -m pytest benchmarks/bench_rest.py --benchmark-only -q -s``
(``-s`` prints the p50/p99 table; the same numbers are in each benchmark's ``extra_info``).

* order round trip (create, answer decoded) p50/p99: centbook inline signing, centbook with
  pre-made signatures from a helper process, and a plain ``requests`` client written the way
  Kalshi's tutorial does (``requests.post`` per call, sign every call);
* client-side cost per order: build + sign + encode (pytest-benchmark), and this process's CPU time
  per order over whole round trips (the sim runs elsewhere, so it is all client: build, sign,
  send, read, decode), with and without pre-signing;
* event-loop lag p99 while orders stream, inline signing vs the helper process.

Each benchmark checks what it timed (orders exist with the sent price and size).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

import centbook
from centbook.rest import _encode
from centbook.sim import SimProcess

T = "KXDEMO-26DEC31-T50"
ROUNDS = 400
GAP_S = 0.005  # between orders: a market maker reacts to events; the helper refills meanwhile
RESULTS: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with SimProcess(seed=7, args=["--tier", "unlimited"]) as s:
        yield s


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    import uvloop

    lp = uvloop.new_event_loop()
    yield lp
    lp.close()


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def _record(name: str, samples_us: list[float], benchmark: Any, **extra: float) -> None:
    row = {"p50_us": _pct(samples_us, 0.5), "p99_us": _pct(samples_us, 0.99), **extra}
    RESULTS[name] = row
    benchmark.extra_info.update(row)
    print(f"\n{name}: " + ", ".join(f"{k}={v:.1f}" for k, v in row.items()))


def _client(sim: SimProcess, **kw: Any) -> centbook.RestClient:
    return centbook.RestClient(
        sim.rest_url, centbook.Credentials(sim.api_key_id, sim.private_key_pem), timeout_s=5.0, **kw
    )


def _round_trip(
    benchmark: Any, loop: asyncio.AbstractEventLoop, sim: SimProcess, name: str, **kw: Any
) -> None:
    client = _client(sim, **kw)
    loop.run_until_complete(client.open())
    samples: list[float] = []
    prices = iter(range(10**9))

    async def one() -> centbook.models.CreateOrderResult:
        price = 100 * (1 + next(prices) % 99)
        t0 = time.perf_counter_ns()
        r = await client.create_order(T, "bid", price, 100)
        samples.append((time.perf_counter_ns() - t0) / 1000)
        assert r.remaining_count + r.fill_count == 100 and r.price_bp == price and r.order_id
        return r

    async def run() -> float:
        for _ in range(20):  # warm the connection and the helper
            await one()
        samples.clear()
        cpu0 = time.process_time()
        for _ in range(ROUNDS):
            await one()
            await asyncio.sleep(GAP_S)
        return (time.process_time() - cpu0) / ROUNDS * 1e6

    try:
        hits0 = client.pool.hits
        cpu_us = benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=1, iterations=1)
        hits = client.pool.hits - hits0
        _record(name, samples, benchmark, client_cpu_us_per_order=cpu_us, presigned_used=hits)
        if kw.get("presign"):
            assert hits > ROUNDS // 2  # the timed path really used pre-made signatures
    finally:
        loop.run_until_complete(client.close())


def test_round_trip_centbook_inline(benchmark: Any, loop: Any, sim: SimProcess) -> None:
    _round_trip(benchmark, loop, sim, "centbook inline signing")


def test_round_trip_centbook_presigned(benchmark: Any, loop: Any, sim: SimProcess) -> None:
    _round_trip(benchmark, loop, sim, "centbook pre-signed (helper process)", presign=True, signer="process")


def test_round_trip_requests_tutorial(benchmark: Any, sim: SimProcess) -> None:
    key = serialization.load_pem_private_key(sim.private_key_pem.encode(), password=None)
    base = sim.base_url
    path = "/trade-api/v2/portfolio/events/orders"
    samples: list[float] = []
    counter = iter(range(10**9))

    def one() -> None:
        i = next(counter)
        price = f"0.{1 + i % 99:02d}00"
        t0 = time.perf_counter_ns()
        ts = str(int(time.time() * 1000))
        sig = key.sign(  # type: ignore[union-attr]
            (ts + "POST" + path).encode(),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
        headers = {
            "KALSHI-ACCESS-KEY": sim.api_key_id,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode(),
            "KALSHI-ACCESS-TIMESTAMP": ts,
        }
        body = {
            "ticker": T,
            "side": "bid",
            "count": "1.00",
            "price": price,
            "time_in_force": "good_till_canceled",
            "self_trade_prevention_type": "taker_at_cross",
            "client_order_id": f"req-{i}",
        }
        r = requests.post(base + path, json=body, headers=headers)
        samples.append((time.perf_counter_ns() - t0) / 1000)
        assert r.status_code == 201 and r.json()["client_order_id"] == f"req-{i}", r.text

    def run() -> float:
        for _ in range(20):
            one()
        samples.clear()
        cpu0 = time.process_time()
        for _ in range(ROUNDS):
            one()
            time.sleep(GAP_S)
        return (time.process_time() - cpu0) / ROUNDS * 1e6

    cpu_us = benchmark.pedantic(run, rounds=1, iterations=1)
    _record("requests, tutorial style", samples, benchmark, client_cpu_us_per_order=cpu_us)


@pytest.mark.parametrize("presign", [False, True], ids=["sign-inline", "presigned"])
def test_client_side_build_sign_encode(benchmark: Any, sim: SimProcess, presign: bool) -> None:
    client = _client(sim, auto_limits=False)
    client.presign = presign
    path = client.path_prefix + "/portfolio/events/orders"
    creds = client.credentials
    assert creds is not None

    def setup() -> None:
        if presign:  # what the helper does in the background (not timed here)
            ts = int(time.time() * 1000)
            client.pool.put("POST", path, ts, creds.sign(ts, "POST", path))

    def build() -> tuple[bytes, dict[str, str]]:
        body = client._order_body(
            T,
            "bid",
            4200,
            1000,
            client.new_client_order_id(),
            0,
            "good_till_canceled",
            "taker_at_cross",
            None,
            None,
            None,
            None,
            None,
            None,
        )
        if presign:  # take without kicking a refill task (no loop here)
            ts, sig = client.pool.take("POST", path) or (0, "")
            headers = {
                "KALSHI-ACCESS-KEY": creds.key_id,
                "KALSHI-ACCESS-TIMESTAMP": str(ts),
                "KALSHI-ACCESS-SIGNATURE": sig,
            }
        else:
            headers = client._auth_headers("POST", path)
        return _encode(body), headers

    data, headers = benchmark.pedantic(build, setup=setup, rounds=2000, iterations=1)
    assert b'"price":"0.4200"' in data and b'"count":"10.00"' in data
    assert headers["KALSHI-ACCESS-SIGNATURE"] and int(headers["KALSHI-ACCESS-TIMESTAMP"]) > 0


@pytest.mark.parametrize("mode", ["inline", "process", "thread"])
def test_event_loop_lag_while_ordering(benchmark: Any, loop: Any, sim: SimProcess, mode: str) -> None:
    """Lateness of a 1 ms timer while orders stream (a gap between orders, as a market maker would).

    ``inline`` signs on the loop; ``process`` / ``thread`` pre-sign in a helper process / thread.
    """
    kw: dict[str, Any] = {} if mode == "inline" else {"presign": True, "signer": mode}
    client = _client(sim, **kw)
    loop.run_until_complete(client.open())
    lags: list[float] = []
    placed: list[str] = []

    async def probe(stop: asyncio.Event) -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append((time.perf_counter() - t0 - 0.001) * 1e6)

    async def run() -> None:
        for i in range(20):  # warm up (helper started, pool filled)
            await client.create_order(T, "ask", 100 * (50 + i % 49), 100)
        stop = asyncio.Event()
        p = asyncio.get_running_loop().create_task(probe(stop))
        for i in range(ROUNDS):
            r = await client.create_order(T, "ask", 100 * (50 + i % 49), 100)
            placed.append(r.order_id)
            await asyncio.sleep(GAP_S)
        stop.set()
        await p

    try:
        benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=1, iterations=1)
        assert len(set(placed)) == ROUNDS
        _record(f"event-loop lag, {mode} signing", lags, benchmark, max_us=max(lags))
    finally:
        loop.run_until_complete(client.close())


def test_summary() -> None:
    """Print the collected table (runs last in the file)."""
    if RESULTS:
        print("\n| case | p50 µs | p99 µs | client CPU µs/order |")
        print("|---|---|---|---|")
        for name, row in RESULTS.items():
            cpu = row.get("client_cpu_us_per_order")
            cpu_text = "" if cpu is None else f"{cpu:.0f}"
            print(f"| {name} | {row['p50_us']:.0f} | {row['p99_us']:.0f} | {cpu_text} |")
    assert all(row["p50_us"] <= row["p99_us"] for row in RESULTS.values())
