"""Fixtures of the integration tests: event loops (asyncio and uvloop) and a Kalshi test client.

The client here is deliberately independent of centbook's own REST client: plain aiohttp and
cryptography, written from Kalshi's docs, so the sim and the client are two readings of the
protocol that must agree. Every response it receives is validated against the official schemas
(see ``kalshi_schemas``) when they are present.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kalshi_requests  # noqa: E402
import kalshi_schemas  # noqa: E402

from centbook.rest.operations import OPERATIONS  # noqa: E402
from centbook.sim import SimHandle, run_sim  # noqa: E402

LOOPS = ["asyncio", "uvloop"]


def _runner(kind: str) -> asyncio.Runner:
    if kind == "uvloop":
        import uvloop

        return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    return asyncio.Runner()


@pytest.fixture(params=LOOPS)
def arun(request: pytest.FixtureRequest) -> Callable[[Any], Any]:
    """Run a coroutine to completion on a fresh loop, under asyncio and then uvloop."""

    def run(coro: Any) -> Any:
        with _runner(request.param) as runner:
            return runner.run(coro)

    return run


@pytest.fixture
def arun1() -> Callable[[Any], Any]:
    """Run a coroutine on a fresh asyncio loop (tests too slow to run twice)."""

    def run(coro: Any) -> Any:
        with _runner("asyncio") as runner:
            return runner.run(coro)

    return run


class KalshiTestClient:
    """A minimal Kalshi REST client written from the docs (signing per docs getting_started/api_keys).

    Parameters
    ----------
    rest_url : str
        ``http://127.0.0.1:PORT/trade-api/v2``.
    key_id, private_pem : str
        API key.
    validate : bool
        Validate every response against the official schemas (when present).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        rest_url: str,
        key_id: str,
        private_pem: str,
        validate: bool = True,
    ) -> None:
        self.session = session
        self.rest_url = rest_url
        self.prefix = "/trade-api/v2"
        self.key_id = key_id
        self.key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        self.validate = validate and kalshi_schemas.available()
        self.sources: list[str] = []

    def headers(
        self,
        method: str,
        path: str,
        *,
        salt: Any = padding.PSS.DIGEST_LENGTH,
        ts_ms: int | None = None,
        sign_path: str | None = None,
    ) -> dict[str, str]:
        ts = str(int(time.time() * 1000) if ts_ms is None else ts_ms)
        message = (ts + method.upper() + (sign_path or self.prefix + path.split("?")[0])).encode()
        sig = self.key.sign(
            message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt), hashes.SHA256()
        )
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": ts,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode(),
        }

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        expect: int | tuple[int, ...] | None = None,
    ) -> tuple[int, Any]:
        """Send a request; return ``(status, parsed JSON body)``; validate against the schemas."""
        hdrs = dict(self.headers(method, path) if auth else {})
        if headers is not None:
            hdrs.update(headers)
        async with self.session.request(
            method, self.rest_url + path, params=params, json=json, data=data, headers=hdrs
        ) as resp:
            assert resp.content_type == "application/json", (resp.status, await resp.text())
            body = await resp.json()
            status = resp.status
        assert status != 500, body
        if expect is not None:
            allowed = (expect,) if isinstance(expect, int) else expect
            assert status in allowed, (method, path, status, body)
        if self.validate:
            self.sources.append(kalshi_schemas.schemas().validate(method, path.split("?")[0], status, body))
        return status, body

    async def get(self, path: str, **kw: Any) -> Any:
        kw.setdefault("expect", 200)
        return (await self.request("GET", path, **kw))[1]

    async def post(self, path: str, body: Any, **kw: Any) -> Any:
        return (await self.request("POST", path, json=body, **kw))[1]

    async def delete(self, path: str, **kw: Any) -> Any:
        return (await self.request("DELETE", path, **kw))[1]

    async def order(self, ticker: str, side: str, count: str, price: str, **extra: Any) -> tuple[int, Any]:
        body = {
            "ticker": ticker,
            "side": side,
            "count": count,
            "price": price,
            "time_in_force": extra.pop("time_in_force", "good_till_canceled"),
            "self_trade_prevention_type": extra.pop("stp", "taker_at_cross"),
            **extra,
        }
        return await self.request("POST", "/portfolio/events/orders", json=body)


async def wait_for(predicate: Callable[[], Any], timeout_s: float = 10.0, interval_s: float = 0.01) -> Any:
    """Wait until ``predicate()`` is truthy (conditions, not sleeps); return its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval_s)


@pytest.fixture(scope="session")
def specs() -> kalshi_schemas.Schemas:
    """The official schemas; skips the test when the spec files are absent.

    Only the conformance tests ask for it: the others validate every response whenever the specs
    are present and still run (unvalidated) when they are not.
    """
    if not kalshi_schemas.available():
        pytest.skip(
            f"Kalshi spec files not found under {kalshi_schemas.SPEC_ROOT} "
            "(clone shared/ beside the repository or set CENTBOOK_KALSHI_SPECS)"
        )
    return kalshi_schemas.schemas()


@contextlib.asynccontextmanager
async def conforming_sim(*args: Any, **kwargs: Any) -> AsyncIterator[SimHandle]:
    """Run a sim (:func:`centbook.sim.run_sim`'s arguments) that records every REST request it
    receives; on a clean exit, check each against its 3.28 request schema (``kalshi_requests``)
    when the spec files are present."""
    async with run_sim(*args, **kwargs) as sim:
        sim.server.recorded = recorded = []
        yield sim
    # what the client sent must be in its operation table (docs/conformance.md is built from it)
    tabled = [(m, kalshi_schemas.template_rx(t)) for ops in OPERATIONS.values() for m, t in ops]
    for method, path, _query, _body in recorded:
        known = any(m == method and rx.match(path) for m, rx in tabled)
        assert known, f"{method} {path} is not in rest.operations.OPERATIONS"
    if kalshi_schemas.available():
        for method, path, query, body in recorded:
            kalshi_requests.check(method, path, query, body)
