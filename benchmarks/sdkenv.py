"""kalshi-sdk's venv: the SDK needs Python >= 3.12, so its book runs in a venv of its own.

:func:`ensure_sdk_venv` finds an interpreter (``python3.12`` / ``python3.13`` on PATH, then
pyenv's versions), makes or refreshes ``.venv-sdk`` (pinned by ``constraints-sdk.txt``) and writes
a status file beside results.json; without one the sdk benchmark is skipped and the report says
why (:func:`read_sdk_status`).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SDK_REQUIREMENT", "SDK_STATUS", "ensure_sdk_venv", "find_sdk_python", "read_sdk_status"]

SDK_VENV = ".venv-sdk"
SDK_CONSTRAINTS = "constraints-sdk.txt"
SDK_REQUIREMENT = "kalshi-sdk==22.4.0"
SDK_MIN_PYTHON = (3, 12)        # kalshi-sdk's Requires-Python
SDK_STATUS = "sdk-env.json"     # written beside results.json


def _python_version(exe: str) -> tuple[int, ...] | None:
    """The interpreter's (major, minor, micro), or None when it does not run (a pyenv shim of a
    version that is not installed fails here, not later)."""
    try:
        proc = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:3])"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    try:
        return tuple(int(x) for x in proc.stdout.split())
    except ValueError:
        return None


def find_sdk_python() -> tuple[str | None, list[str]]:
    """Find a Python >= 3.12: ``python3.12``, ``python3.13`` on PATH, then pyenv's versions.

    Returns
    -------
    (str or None, list of str)
        The interpreter found (None if none), and every place looked at, for the report.
    """
    looked: list[str] = []
    for name in ("python3.12", "python3.13"):
        looked.append(f"{name} on PATH")
        exe = shutil.which(name)
        if exe and (_python_version(exe) or (0,)) >= SDK_MIN_PYTHON:
            return exe, looked
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    looked.append(f"{root}/3.1[2-9].*")
    versions = []
    for path in root.glob("3.*") if root.is_dir() else []:
        m = re.fullmatch(r"3\.(\d+)\.(\d+)", path.name)
        if m and (3, int(m.group(1))) >= SDK_MIN_PYTHON:
            versions.append(((int(m.group(1)), int(m.group(2))), path / "bin" / "python"))
    for _, exe_path in sorted(versions, key=lambda v: v[0]):
        if _python_version(str(exe_path)):
            return str(exe_path), looked
    return None, looked


def read_sdk_status(path: Path) -> dict[str, Any] | None:
    """The status :func:`ensure_sdk_venv` wrote (None when there is none, or it is unreadable)."""
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def ensure_sdk_venv(root: Path, status_path: Path | None = None,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Make or refresh the kalshi-sdk venv (``root``/.venv-sdk) and say what came of it.

    The venv is made with the first Python >= 3.12 that :func:`find_sdk_python` finds and gets
    ``kalshi-sdk==22.4.0`` under ``root``/constraints-sdk.txt; it is redone only when the
    constraints change (a stamp holds their hash). Nothing raises: a missing interpreter or a
    failed install becomes a status without ``python`` whose ``reason`` the report prints, and
    the rest of the benchmark run goes on.

    Parameters
    ----------
    root : Path
        The centbook checkout (where constraints-sdk.txt and benchmarks/ are).
    status_path : Path, optional
        Where to write the status as JSON too (``sdk-env.json`` beside results.json).
    log : callable
        Progress messages (the install takes a while the first time).

    Returns
    -------
    dict
        ``{"python": path, "version": "3.12.1"}`` when the venv is ready, else ``{"reason": ...}``.
    """
    status = _sdk_venv(Path(root).resolve(), log)
    if status_path is not None:
        status_path.parent.mkdir(parents=True, exist_ok=True)
        status_path.write_text(json.dumps(status, indent=1) + "\n")
    return status


def _sdk_venv(root: Path, log: Callable[[str], None]) -> dict[str, Any]:
    constraints = root / SDK_CONSTRAINTS
    if not constraints.exists():
        return {"reason": f"{constraints} is missing"}
    venv = root / SDK_VENV
    python = venv / "bin" / "python"
    stamp = venv / ".deps-stamp"
    want = hashlib.sha256(constraints.read_bytes() + SDK_REQUIREMENT.encode()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        ready = _python_version(str(python))
        if ready:
            return {"python": str(python), "version": ".".join(map(str, ready))}
    base, looked = find_sdk_python()
    if base is None:
        return {"reason": ("kalshi-sdk needs Python >= 3.12 and none was found (looked for "
                           f"{', '.join(looked)}); the rest of the run went on without it")}
    version = ".".join(map(str, _python_version(base) or ()))
    log(f"centbook bench: making {venv} with Python {version} ({base}) for {SDK_REQUIREMENT}")
    for step in ([base, "-m", "venv", "--clear", str(venv)],
                 [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                  "-c", str(constraints), SDK_REQUIREMENT]):
        try:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"reason": f"`{shlex.join(step)}` failed: {exc}"}
        if proc.returncode != 0:
            tail = " ".join(proc.stderr.strip().splitlines()[-3:])
            return {"reason": f"`{shlex.join(step)}` failed (exit {proc.returncode}): {tail}"}
    stamp.write_text(want)
    return {"python": str(python), "version": version}
