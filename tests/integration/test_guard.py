"""The dead-man guard: what it reads from its maker, and a maker killed with SIGKILL while quoting.

The kill test runs the sim in this process (its engine's records are the truth) and the maker as
a child (``scripts/chaos.py maker``), whose guard outlives it; it waits on conditions only.
Time to zero is measured by ``scripts/chaos.py deadman``, not asserted here.
"""
from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import wait_for
from test_mm import mm_config, session, sim_config

from centbook.mm.guard import Guard, GuardSession
from centbook.sim import run_sim

CHAOS = Path(__file__).resolve().parents[2] / "scripts" / "chaos.py"
NOWHERE = "http://127.0.0.1:9/trade-api/v2"  # never contacted: these guards do not pull


def guard_on(lines: list[dict], eof: bool = True) -> tuple[Guard, io.StringIO]:
    reader = asyncio.StreamReader()
    for line in lines:
        reader.feed_data(json.dumps(line).encode() + b"\n")
    if eof:
        reader.feed_eof()
    out = io.StringIO()
    return Guard(reader, out=out), out


def test_a_clean_bye_leaves_without_pulling():
    async def main() -> int:
        guard, out = guard_on([{"session": {"rest_url": NOWHERE, "prefix": "cbmm1"}},
                               {"hb": 1}, {"hb": 2}, {"bye": True}])
        rc = await guard.run()
        assert "ended cleanly" in out.getvalue() and guard.heartbeats == 3
        return rc
    assert asyncio.run(main()) == 0


def test_a_pipe_closed_before_the_session_line_has_nothing_to_pull():
    async def main() -> str:
        guard, out = guard_on([])
        assert await guard.run() == 0
        return out.getvalue()
    assert "nothing to pull" in asyncio.run(main())


def test_a_session_line_without_its_prefix_is_refused_by_name():
    with pytest.raises(ValueError, match="'prefix'"):
        GuardSession.from_json({"rest_url": NOWHERE})


def test_a_killed_maker_s_guard_pulls_everything_and_verifies(arun1):
    async def go() -> None:
        with tempfile.TemporaryDirectory() as workdir:
            async with run_sim(sim_config(rate=50), seed=51) as sim:
                key = os.path.join(workdir, "key.pem")
                with open(key, "w") as fh:
                    fh.write(sim.private_key_pem)
                env = dict(os.environ, CENTBOOK_LOCK_DIR=workdir)
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, str(CHAOS), "maker", "--rest-url", sim.rest_url, "--ws-url", sim.ws_url,
                    "--key-id", sim.api_key_id, "--key-file", key, "--root", "guarded",
                    stdout=asyncio.subprocess.PIPE, env=env)
                assert proc.stdout is not None
                try:
                    said: list[str] = []  # the guard's lines come first: it is ready before any quote
                    while not said or not said[-1].startswith("quoting "):
                        said.append((await asyncio.wait_for(proc.stdout.readline(), 60)).decode())
                        assert said[-1], said
                    assert any(line.startswith("centbook guard: ready") for line in said), said
                    prefix = said[-1].split()[1]

                    def resting() -> list:
                        return [o for o in sim.exchange.orders.values()
                                if o.status == "resting" and o.client_order_id.startswith(prefix)]
                    await wait_for(lambda: len(resting()) >= 1, 30)
                    proc.send_signal(signal.SIGKILL)
                    assert await proc.wait() == -signal.SIGKILL
                    await wait_for(lambda: not resting(), 30)  # the guard pulled them
                    # the guard inherited the pipe: its report, then end of file when it leaves
                    rest = (await asyncio.wait_for(proc.stdout.read(), 30)).decode()
                finally:
                    if proc.returncode is None:
                        proc.kill()
                        await proc.wait()
                assert "pipe closed (process gone)" in rest, rest
                assert "verified, nothing rests" in rest, rest
                report = json.loads(next(line for line in rest.splitlines() if line.startswith("{")))
                assert report["verified"] and report["resting"] == []
                assert report["attempts"]["trigger"] >= 1  # its groups: the session can place nothing more

    arun1(go())


def test_a_guard_on_a_socket_pulls_when_the_heartbeat_stops(arun1):
    """``centbook guard --socket``: the maker connects to it; its heartbeat stops (a stalled maker,
    not a dead one: the connection stays open), and the guard pulls after guard.timeout_s."""
    async def go() -> None:
        with tempfile.TemporaryDirectory() as workdir:
            path = os.path.join(workdir, "guard.sock")
            guard = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "centbook.cli", "guard", "--socket", path,
                stdout=asyncio.subprocess.PIPE)
            assert guard.stdout is not None
            try:
                line = (await asyncio.wait_for(guard.stdout.readline(), 60)).decode()
                assert "serving on" in line, line
                async with run_sim(sim_config(rate=20), seed=52) as sim:
                    cfg = mm_config()
                    cfg.guard.enabled, cfg.guard.socket, cfg.guard.timeout_s = True, path, 1.0
                    mm = await session(sim, cfg)
                    try:
                        assert mm.guard is not None and mm.guard.pid == 0
                        await wait_for(lambda: mm.guard.beats >= 3, 10)
                        mm.guard.heartbeat_s = 3600.0  # the next beat never comes
                        said = []
                        while not any("verified, nothing rests" in s for s in said):
                            said.append((await asyncio.wait_for(guard.stdout.readline(), 60)).decode())
                            assert said[-1], f"the guard ended: {said}"
                        assert any("heartbeat silent for 1s" in s for s in said), said
                        assert not [o for o in sim.exchange.orders.values()
                                    if o.status == "resting" and o.client_order_id.startswith(mm.prefix)]
                        # the maker learns its groups were triggered: it stops quoting
                        await wait_for(lambda: mm.halted is not None, 20)
                    finally:
                        await mm.close()
            finally:
                guard.terminate()
                await guard.wait()

    arun1(go())


def test_a_bad_groups_line_is_ignored_and_said():
    async def main() -> tuple[int, str]:
        guard, out = guard_on([{"session": {"rest_url": NOWHERE, "prefix": "cbmm1", "groups": {"0": "g0"}}},
                               {"groups": [1, 2]}, {"bye": True}])
        rc = await guard.run()
        assert guard.session is not None and guard.session.groups == {0: "g0"}
        return rc, out.getvalue()
    rc, said = asyncio.run(main())
    assert rc == 0 and "ignored a groups line" in said


def test_backoff_waits_are_full_jitter_under_a_growing_cap():
    import random

    from centbook.mm.kill import Backoff

    backoff = Backoff(base_s=0.1, cap_s=1.0, rng=random.Random(3))
    waits = [backoff.next_wait() for _ in range(40)]
    caps = [min(1.0, 0.1 * 2 ** n) for n in range(40)]
    assert all(0.0 <= w <= c for w, c in zip(waits, caps, strict=True))
    assert max(waits[10:]) > 0.5 and min(waits) < 0.1  # jitter spans the range, capped at 1 s
    backoff.reset()
    assert backoff.next_wait() <= 0.1


def test_guard_command_line_mistakes_are_one_line():
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    proc = subprocess.run([sys.executable, "-m", "centbook.cli", "guard", "--env-credentials"],
                          input="", capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("centbook guard: --env-credentials: ") and proc.stderr.count("\n") == 1
    assert "KALSHI_API_KEY_ID" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "centbook.cli", "guard"],
                          input='{"session": {"prefix": "x"}}\n', capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "'rest_url'" in proc.stderr and "Traceback" not in proc.stderr
