"""``centbook record`` as a user runs it: a subprocess against the embedded exchange with flow.

The sim runs in the test's event loop on 127.0.0.1; the command runs in a child process with the
fixed interface (``--url --credentials --all/--markets --out --connections --duration``).
"""
from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sys
from pathlib import Path
from typing import Any

from conftest import wait_for
from test_feed import sim_config

from centbook.cli.exchange import ENV_VARS
from centbook.record.segment import Kind, iter_records, scan_blocks, segment_paths
from centbook.sim import run_sim


async def record(sim: Any, tmp: Path, *extra: str, limit: int | None = None,
                 kill_when_flushed: bool = False, via_env: bool = False) -> tuple[int, str]:
    creds = tmp / "creds.json"
    creds.write_text(json.dumps({"api_key_id": sim.api_key_id, "private_key_pem": sim.private_key_pem}))
    base = sim.rest_url.split("/trade-api")[0]

    def limit_files() -> None:
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    # the exchange as flags, or as every command also takes it: from the environment
    exchange = ["--url", base, "--credentials", str(creds)]
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    if via_env:
        env.update({ENV_VARS["url"]: base, ENV_VARS["credentials"]: str(creds)})
        exchange = []
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "centbook.cli", "record", *exchange, "--out", str(tmp / "rec"), *extra,
        stderr=asyncio.subprocess.PIPE, preexec_fn=limit_files, env=env)
    if kill_when_flushed:
        def flushed_records() -> int:
            segs = segment_paths(tmp / "rec") if (tmp / "rec").exists() else []
            n = sum(b.records for seg in segs for b in scan_blocks(seg))
            return n if n > 200 else 0
        seen = await wait_for(flushed_records, 30, 0.05)
        proc.kill()
        await proc.communicate()
        return proc.returncode or 0, str(seen)
    _, err = await proc.communicate()
    return proc.returncode or 0, err.decode()


def run_with_sim(arun1: Any, tmp: Path, *extra: str, **options: Any) -> tuple[int, str]:
    async def main() -> tuple[int, str]:
        async with run_sim(sim_config(), seed=5) as sim:
            return await record(sim, tmp, *extra, **options)
    return arun1(main())


def test_duration_run_stops_by_itself_with_a_complete_recording(arun1, tmp_path):
    code, err = run_with_sim(arun1, tmp_path, "--all", "--connections", "2", "--duration", "1.5",
                             "--flush-interval", "0.2", "--channels", "trade,ticker,market_lifecycle_v2,fill",
                             via_env=True)
    assert code == 0, err
    records = list(iter_records(tmp_path / "rec"))
    actions = [r.json()["action"] for r in records if r.kind == Kind.ACTION]
    assert actions[0] == "start" and actions[-1] == "stop"
    # two connections for the markets, a third for every market's lifecycle (--all follows new ones)
    assert {r.connection for r in records if r.kind == Kind.FRAME} == {0, 1, 2}
    watcher = [r.payload for r in records if r.kind == Kind.FRAME and r.connection == 2]
    assert watcher and not [p for p in watcher if b"orderbook" in p]
    assert sum(r.kind == Kind.FRAME for r in records) > 50
    assert records[0].json()["channels"] == ["trade", "ticker", "market_lifecycle_v2", "fill"]
    subscribed = {r.payload for r in records if r.kind == Kind.FRAME and b'"subscribed"' in r.payload}
    assert any(b'"fill"' in p for p in subscribed)
    metas = {r.json()["ticker"] for r in records if r.kind == Kind.META}
    assert metas == set(records[0].json()["markets"])
    for seg in segment_paths(tmp_path / "rec"):
        assert seg.with_name(seg.name.replace(".cbrec", ".idx.json")).exists()


def test_a_killed_recorder_leaves_everything_flushed_readable(arun1, tmp_path):
    code, seen = run_with_sim(arun1, tmp_path, "--all", "--flush-interval", "0.05", kill_when_flushed=True)
    assert code == -signal.SIGKILL
    records = list(iter_records(tmp_path / "rec"))   # no index, maybe a torn tail: still readable
    assert records[0].json()["action"] == "start"
    assert len(records) >= int(seen) > 200     # every record flushed before the kill
    assert any(r.kind == Kind.FRAME for r in records)


def test_an_unwritable_recording_stops_with_one_line_and_exit_1(arun1, tmp_path):
    code, err = run_with_sim(arun1, tmp_path, "--all", "--flush-interval", "0.05", "--duration", "20",
                             limit=40_000)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("centbook record: cannot write "), err
    assert "File too large" in lines[0] and "Traceback" not in err
    assert sum(r.kind == Kind.FRAME for r in iter_records(tmp_path / "rec")) > 0


def test_usage_mistakes_are_one_line_and_exit_2(arun1, tmp_path):
    async def main() -> list[tuple[int, str]]:
        async with run_sim(sim_config(), seed=5) as sim:
            out = [await record(sim, tmp_path, "--markets", "NOPE-1,NOPE-2", "--duration", "1")]
            out.append(await record(sim, tmp_path, "--all", "--channels", "trade,nope"))
            (tmp_path / "creds.json").write_text("{}")
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "centbook.cli", "record", "--url", "ftp://x", "--credentials",
                str(tmp_path / "creds.json"), "--all", "--out", str(tmp_path / "r2"),
                stderr=asyncio.subprocess.PIPE)
            _, err = await proc.communicate()
            out.append((proc.returncode or 0, err.decode()))
            return out
    (code1, err1), (code3, err3), (code2, err2) = arun1(main())
    assert code3 == 2 and err3.strip().startswith("centbook record: --channels: unknown nope; known: ")
    assert code1 == 2 and err1.strip() == (
        "centbook record: unknown markets: NOPE-1, NOPE-2: check --markets/--series against GET /markets")
    assert code2 == 2 and err2.strip().startswith("centbook record: 'ftp://x' is not an exchange URL: ")
    assert len(err2.strip().splitlines()) == 1
