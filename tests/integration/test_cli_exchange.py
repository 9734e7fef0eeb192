"""Any command at any exchange: ``centbook sim``'s start-up lines pasted as they are, the URL, key
and exchange given by flag, environment variable or TOML, and ``watch`` fitting its terminal."""
from __future__ import annotations

import os
import shlex
import signal
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_run import Run, read_until  # noqa: E402

T50 = "KXDEMO-26DEC31-T50"


def test_the_sim_prints_what_to_paste_and_the_pasted_lines_run(tmp_path):
    sim_run = Run(tmp_path)
    sim = sim_run.start("sim", "--port", "0", "--flow")
    try:
        assert sim.stdout is not None
        lines = [line.rstrip("\n") for line in read_until(sim.stdout, lambda line: "trade on it" in line)]
        root = lines[0]
        assert root.startswith("http://127.0.0.1:")
        port = root.rsplit(":", 1)[1]
        assert f"  REST base URL  {root}/trade-api/v2" in lines
        assert f"  WebSocket URL  ws://127.0.0.1:{port}/trade-api/ws/v2" in lines
        key_file = next(line.split()[1] for line in lines if line.startswith("  credentials"))
        assert os.path.dirname(key_file) == str(sim_run.tmp)
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        pasted = {line.split()[0]: shlex.split(line.split("  ", 2)[2].strip()) for line in lines
                  if line.startswith(("  watch it", "  trade on it"))}
        run = Run(tmp_path)
        watch = run.run(*pasted["watch"][1:], "--duration", "2")
        assert watch.returncode == 0, watch.stderr
        assert "LIVE" in watch.stdout and "YES bid" in watch.stdout
        mm = run.run(*pasted["trade"][1:], "--duration", "3", "--quiet")
        assert mm.returncode == 0, mm.stdout + mm.stderr
        assert "resting orders left: 0" in mm.stdout and "embedded exchange" not in mm.stdout
        run.assert_clean()
        sim.send_signal(signal.SIGINT)
        assert sim.wait(10) == 0
    finally:
        sim_run.kill_all()
    sim_run.assert_clean()  # the key file went with the sim


def test_exchange_and_key_from_environment_variables_and_toml(tmp_path):
    sim_run = Run(tmp_path)
    sim = sim_run.start("sim", "--port", "0", "--flow")
    try:
        assert sim.stdout is not None
        lines = read_until(sim.stdout, lambda line: "trade on it" in line)
        root = lines[0].strip()
        key_file = next(line.split()[1] for line in lines if line.startswith("  credentials"))
        by_env = Run(tmp_path, CENTBOOK_URL=root + "/trade-api/v2", KALSHI_PRIVATE_KEY_PATH=key_file)
        proc = by_env.run("watch", T50, "--duration", "2")
        assert proc.returncode == 0 and "LIVE" in proc.stdout, proc.stderr
        toml = tmp_path / "mm.toml"
        toml.write_text(f'url = "{root}"\ncredentials = "{key_file}"\nmarkets = ["{T50}"]\nduration_s = 2\n')
        by_toml = Run(tmp_path)
        proc = by_toml.run("mm", "--config", str(toml), "--quiet")
        assert proc.returncode == 0 and "resting orders left: 0" in proc.stdout, proc.stdout + proc.stderr
        # a flag wins over the environment: this URL has no exchange behind it
        proc = by_env.run("watch", T50, "--url", "http://127.0.0.1:1", "--duration", "1")
        assert proc.returncode == 1 and "127.0.0.1:1" in proc.stderr, proc.stderr
        for run in (by_env, by_toml):
            run.assert_clean()
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(10)
        sim_run.kill_all()


def test_watch_fits_the_terminal_and_says_what_is_hidden(tmp_path):
    run = Run(tmp_path, COLUMNS="110", LINES="30")  # 2 ladders across, 2 down: 4 of the 5 markets
    proc = run.run("watch", "--env", "sim", "--duration", "2")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    frame = lines[max(i for i, line in enumerate(lines) if line.startswith("5 markets, ")):]  # the last one
    assert len(frame) <= 30 and frame[-1].startswith("markets 1-4 of 5 (page 1/2); 1 hidden: --page N"), frame
    assert sum(line.startswith("KX") for line in frame) == 2  # two rows of ladder titles
    assert max(len(line) for line in lines) <= 110
    proc = run.run("watch", "--env", "sim", "--duration", "2", "--page", "2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("markets 5-5 of 5 (page 2/2); 4 hidden")
    run.assert_clean()
