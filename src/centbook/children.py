"""Helper processes that a terminal's Ctrl-C does not reach and that end with their parent.

- :func:`spawn_options`: keyword arguments of :class:`subprocess.Popen` for such a child;
- :func:`die_with_parent`: called by the child first thing, ends it when its parent goes;
- :data:`PARENT_PID_VAR`: the environment variable that carries the parent's pid.

A terminal sends Ctrl-C (SIGINT) to its whole foreground process group. A helper in that group
(the embedded exchange of ``centbook mm``, the signing helper of the REST client) would die before
its parent has pulled its quotes, so every child starts a session of its own and its parent stops
it after its own shutdown. The reverse case, a parent that dies without a shutdown (``kill -9``),
must take the child with it: the child asks Linux for SIGTERM when its parent dies
(``PR_SET_PDEATHSIG``) and, elsewhere, a thread polls its parent pid. Dying with the parent is
opt-in per child: a watchdog whose job starts when its parent dies does not call it.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from typing import Any

__all__ = ["PARENT_PID_VAR", "die_with_parent", "spawn_options"]

PARENT_PID_VAR = "CENTBOOK_PARENT_PID"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_POLL_S = 0.25


def spawn_options(die_with_parent: bool = True) -> dict[str, Any]:
    """Return Popen keyword arguments: a session of its own, and the parent pid when it dies with it.

    Parameters
    ----------
    die_with_parent : bool
        Pass this process's pid to the child in :data:`PARENT_PID_VAR`; the child's
        :func:`die_with_parent` reads it.

    Returns
    -------
    dict
        ``start_new_session`` and ``env``.
    """
    env = dict(os.environ)
    env.pop(PARENT_PID_VAR, None)
    if die_with_parent:
        env[PARENT_PID_VAR] = str(os.getpid())
    return {"start_new_session": True, "env": env}


def die_with_parent() -> bool:
    """End this process (SIGTERM) when the parent named in :data:`PARENT_PID_VAR` dies.

    Does nothing when the variable is not set. The variable is removed from this process's
    environment so that its own children do not inherit it.

    Returns
    -------
    bool
        Whether a parent is watched.
    """
    value = os.environ.pop(PARENT_PID_VAR, "")
    if not value.isdigit():
        return False
    parent = int(value)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    else:  # pragma: no cover - no PR_SET_PDEATHSIG: a thread polls the parent pid
        threading.Thread(target=_watch, args=(parent,), name="centbook-parent", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request above took effect
        os.kill(os.getpid(), signal.SIGTERM)
    return True


def _watch(parent: int) -> None:  # pragma: no cover - the fallback of platforms without prctl
    stop = threading.Event()
    while os.getppid() == parent:
        stop.wait(_POLL_S)
    os.kill(os.getpid(), signal.SIGTERM)
