"""Flood a ``centbook sim`` process with one-byte binary WebSocket frames; report its memory.

Usage: python -m scripts.hostile_flood [FRAMES] (from the checkout; default 1,000,000)

Starts the sim as a separate process, then sends FRAMES binary frames over one connection: from a
client that reads every reply, from one that never reads, and from one that never reads with the
command rate lifted (so only the send-queue bound ends it). Prints the sim's
resident memory (VmRSS) before and after each flood, the replies read, whether the sim ended the
connection (``/admin/streams``), and the latency of ``GET /exchange/status`` sampled during the
floods.
"""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import sys
import time

import aiohttp

from centbook.sim import SimProcess

FRAME = b"\x82\x81\x00\x00\x00\x00\x00"  # FIN + binary, masked (zero mask), one byte
CHUNK = 10_000


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def _latencies(rest_url: str, stop: asyncio.Event, out: list[float]) -> None:
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            async with http.get(rest_url + "/exchange/status") as r:
                await r.read()
            out.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.05)


async def _reading_client(ws_url: str, frames: int) -> tuple[int, bool]:
    """Send the frames and read every reply; return (replies, closed by the sim)."""
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        replies = 0

        async def read() -> None:
            nonlocal replies
            async for _ in ws:
                replies += 1
                if replies >= frames:
                    return

        reader = asyncio.ensure_future(read())
        try:
            for i in range(frames):
                await ws.send_bytes(b"\x00")
                if i % 100 == 0:
                    await asyncio.sleep(0)  # let the reader keep up
        except aiohttp.ClientConnectionResetError:
            return replies, True
        await asyncio.wait([reader], timeout=120)
        return replies, ws.closed


async def _silent_client(base_url: str, frames: int) -> tuple[int, bool]:
    """Send the frames and never read; return (frames written, closed by the sim)."""
    host, port = base_url.rsplit("//", 1)[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /trade-api/ws/v2 HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await reader.readuntil(b"\r\n\r\n")
    sent = 0
    try:
        while sent < frames:
            writer.write(FRAME * min(CHUNK, frames - sent))
            await asyncio.wait_for(writer.drain(), 30)
            sent += min(CHUNK, frames - sent)
    except (ConnectionError, TimeoutError):
        return sent, True
    return sent, False


async def _limits(base_url: str, headers: dict[str, str], **limits: int) -> None:
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(base_url + "/admin/streams/limits", json=limits) as r:
            assert r.status == 200, await r.text()


async def _wait_gone(base_url: str, headers: dict[str, str]) -> bool:
    """Wait (60 s at most) until the sim holds no WebSocket connection; False if it still does."""
    async with aiohttp.ClientSession(headers=headers) as http:
        for _ in range(600):
            async with http.get(base_url + "/admin/streams") as r:
                if not (await r.json())["connections"]:
                    return True
            await asyncio.sleep(0.1)
    return False


async def main(frames: int) -> None:
    with SimProcess(seed=1, args=["--ws-anonymous"], admin=True) as sim:
        assert sim.proc is not None
        pid = sim.proc.pid
        for name, flood in (
            ("reading client", _reading_client(sim.ws_url, frames)),
            ("silent client", _silent_client(sim.base_url, frames)),
            (
                "silent client, no command rate (the send-queue bound alone)",
                _silent_client(sim.base_url, frames),
            ),
        ):
            if "no command rate" in name:
                await _limits(sim.base_url, sim.admin_headers, command_rate=10**9)
            before = rss_mb(pid)
            stop = asyncio.Event()
            lat: list[float] = []
            sampler = asyncio.ensure_future(_latencies(sim.rest_url, stop, lat))
            t0 = time.perf_counter()
            count, closed = await flood
            gone = await _wait_gone(sim.base_url, sim.admin_headers)
            elapsed = time.perf_counter() - t0
            stop.set()
            await sampler
            after = rss_mb(pid)
            print(
                f"{name}: {frames} frames in {elapsed:.1f} s; {count} "
                f"{'replies read' if name.startswith('reading') else 'frames written'}; "
                f"send failed (closed by the sim): {closed}; connection gone from the sim: {gone}; "
                f"sim RSS {before:.0f} -> {after:.0f} MB; "
                f"GET /exchange/status during the flood: p50 {statistics.median(lat):.1f} ms, "
                f"max {max(lat):.1f} ms over {len(lat)} samples"
            )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
