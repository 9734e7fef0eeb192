"""``centbook watch --sim``: the terminal ladder over the embedded exchange, as a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys


def test_watch_sim_prints_a_live_ladder() -> None:
    env = {**os.environ, "COLUMNS": "120", "TERM": "dumb"}
    proc = subprocess.run([sys.executable, "-m", "centbook.cli", "watch", "--sim", "--duration", "3"],
                          capture_output=True, text=True, timeout=50, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "LIVE" in out, out[-2000:]
    assert "YES bid" in out and "YES ask" in out and "spread" in out
    assert "msgs/s" in out and "$0." in out
