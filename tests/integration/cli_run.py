"""Run the real ``centbook`` command in a subprocess; find what it leaves behind.

Every run gets a marker in its environment (children inherit it) and a private ``TMPDIR``, so a
test can tell whether any process of that run still lives and whether a temporary file remains.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

MARK = "CENTBOOK_TEST_RUN"
CLEAN_VARS = ("CENTBOOK_ENV", "CENTBOOK_URL", "CENTBOOK_WS_URL", "CENTBOOK_DEBUG", "KALSHI_API_KEY_ID",
              "KALSHI_PRIVATE_KEY_PATH", "CENTBOOK_SIM_ADMIN_TOKEN")


class Run:
    """One run's environment: a marker, a temp folder; the command and its leftovers.

    Parameters
    ----------
    tmp_path : Path
        The test's folder; ``TMPDIR`` of the run is a fresh folder inside it.
    env : dict, optional
        Variables to add (after the exchange and key variables of the test process are removed).
    """

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.mark = uuid.uuid4().hex
        self.tmp = tmp_path / f"tmp-{self.mark[:8]}"
        self.tmp.mkdir()
        base = {k: v for k, v in os.environ.items() if k not in CLEAN_VARS}
        # the maker's instance locks are kept state, not temporary files: they live beside TMPDIR
        locks = tmp_path / f"locks-{self.mark[:8]}"
        self.env = {**base, MARK: self.mark, "TMPDIR": str(self.tmp), "CENTBOOK_LOCK_DIR": str(locks),
                    "COLUMNS": "120", "LINES": "40", "TERM": "dumb", **env}

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "centbook.cli", *args]

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``centbook ARGS`` to completion."""
        return subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout, env=self.env)

    def start(self, *args: str, **popen: Any) -> subprocess.Popen[str]:
        """Start ``centbook ARGS`` in a process group of its own (as a terminal's foreground job)."""
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env, start_new_session=True, **popen)

    def processes(self) -> list[int]:
        """Pids of live processes of this run (by the marker in their environment)."""
        needle = f"{MARK}={self.mark}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and needle in environ.split(b"\0"):
                found.append(int(entry.name))
        return found

    def wait_gone(self, timeout: float = 5.0) -> float:
        """Wait until no process of this run lives; return the seconds it took (raise if not)."""
        t0 = time.monotonic()
        while (left := self.processes()) and time.monotonic() - t0 < timeout:
            time.sleep(0.02)
        assert not left, f"processes of the run still alive after {timeout}s: {left}"
        return time.monotonic() - t0

    def leftovers(self) -> list[str]:
        """Files the run left in its TMPDIR."""
        return sorted(p.name for p in self.tmp.iterdir())

    def assert_clean(self) -> None:
        """Nothing of the run is alive and nothing is left in its TMPDIR."""
        self.wait_gone(timeout=2.0)
        assert not self.leftovers(), self.leftovers()

    def kill_all(self) -> None:
        """Kill what is left of the run (a failing test's cleanup)."""
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def one_line_error(proc: subprocess.CompletedProcess[str], command: str, status: int, *words: str) -> str:
    """Check a failed run: the exit status, one stderr line ``centbook COMMAND: ...``, no traceback."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"centbook {command}: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def read_until(stream: Any, predicate: Any, timeout: float = 40.0) -> list[str]:
    """Read lines from ``stream`` until one satisfies ``predicate``; return them all."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in stream:
        lines.append(line)
        if predicate(line):
            return lines
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"not seen within {timeout}s: {lines[-20:]}")
