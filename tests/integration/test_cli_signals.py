"""Signals and child processes of ``centbook mm``, with real subprocesses and real signals.

A terminal's Ctrl-C goes to the whole foreground process group: the tests start ``centbook mm``
in a group of its own and signal that group, as a terminal would. The embedded exchange and the
signing helper must not see it (they run in sessions of their own), the maker pulls its quotes,
verifies and exits 0; a second signal exits at once; a maker killed with SIGKILL takes its
children with it.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from centbook.mm.kill import EXIT_MAY_REST

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_run import Run, read_until  # noqa: E402


def _quoting(line: str) -> bool:
    return "LIVE" in line and "/" in line.split("LIVE", 1)[1][:12]


def _children(run: Run, pid: int) -> list[int]:
    return [p for p in run.processes() if p != pid]


@contextlib.contextmanager
def quoting_maker(run: Run) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``centbook mm --env sim`` in a process group of its own, once it quotes; yield it and the
    embedded exchange's host root. Whatever of the run is left is killed afterwards.

    The dead-man guard is off: it outlives the maker by design (tests/integration/test_guard.py),
    while these tests follow the maker and the children that must die with it."""
    config = run.tmp.parent / f"no-guard-{run.mark[:8]}.toml"
    config.write_text("[guard]\nenabled = false\n")
    proc = run.start("mm", "--env", "sim", "--duration", "0", "--config", str(config))
    try:
        assert proc.stdout is not None
        lines = read_until(proc.stdout, _quoting)
        first = next(line for line in lines if line.startswith("embedded exchange"))
        yield proc, first.split(" at ", 1)[1].split(";", 1)[0]
    finally:
        run.kill_all()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_to_the_group_pulls_quotes_and_exits_0(tmp_path, sig):
    run = Run(tmp_path)
    with quoting_maker(run) as (proc, _):
        assert len(_children(run, proc.pid)) >= 2  # the exchange and the signing helper
        os.killpg(proc.pid, sig)  # the whole group, as a terminal's Ctrl-C
        out, err = proc.communicate(timeout=40)
    assert proc.returncode == 0, err
    assert f"{sig.name}: pulling quotes" in out
    assert "verified: nothing of this session rests" in out and "resting orders left: 0" in out
    assert "Traceback" not in err and "Traceback" not in out, err
    run.assert_clean()


def test_second_signal_exits_at_once_saying_what_may_rest(tmp_path):
    run = Run(tmp_path, CENTBOOK_SIM_ADMIN_TOKEN="signals-test")  # the private sim's admin API
    with quoting_maker(run) as (proc, root):
        # the shutdown's order-group trigger hangs: the maker is mid-shutdown at the second signal
        fault = {"path": "/portfolio/order_groups/.*/trigger", "action": "delay", "delay_s": 30,
                 "times": None}
        req = urllib.request.Request(root + "/admin/faults", data=json.dumps(fault).encode(),
                                     headers={"Content-Type": "application/json",
                                                  "Authorization": "Bearer signals-test"}, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - the test's own sim
            assert resp.status == 201
        os.killpg(proc.pid, signal.SIGINT)
        read_until(proc.stdout, lambda line: "pulling quotes" in line)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == EXIT_MAY_REST, err
    assert "centbook mm: interrupted twice" in err and "may rest" in err, err
    assert "Traceback" not in err
    run.assert_clean()


def test_killed_maker_takes_its_children_with_it(tmp_path):
    run = Run(tmp_path)
    with quoting_maker(run) as (proc, _):
        assert len(_children(run, proc.pid)) >= 2
        proc.kill()
        proc.wait(5)
        gone_s = run.wait_gone(timeout=3.0)
    print(f"children gone {gone_s * 1000:.0f} ms after SIGKILL of the maker")
    assert not run.leftovers(), run.leftovers()  # the exchange removed its key file on SIGTERM
