"""The dead-man guard: a separate process that pulls a session's orders when its maker goes silent.

The maker starts the guard (``centbook guard``, in its own session, so a signal to the maker's
process group or the maker's death does not reach it) and talks to it over the guard's standard
input, one JSON object per line:

- ``{"session": {...}}`` first: ``rest_url``, ``prefix`` (the client_order_id prefix of the
  session), ``groups`` (shard -> order group id), ``subaccount``, ``timeout_s``,
  ``kill_deadline_s``, ``pid`` (the maker's), and the credentials (``api_key_id``,
  ``private_key_pem``) unless the guard was given its own;
- ``{"groups": {...}}`` when the session's order groups change;
- ``{"hb": n}`` heartbeats, every ``guard.heartbeat_s``;
- ``{"bye": true}`` at a clean end (the maker verified its own kill switch): the guard leaves.

When the heartbeat is silent for ``timeout_s``, or the pipe closes without ``bye`` (the kernel
closes it when the maker dies, ``kill -9`` included), the guard runs the kill switch
(:class:`~centbook.mm.kill.KillSwitch`: group triggers, cancels, verified over REST), prints its
summary line and JSON, and exits with its exit code (0: nothing rests).

A guard can also serve makers on a Unix socket (``centbook guard --socket PATH``, e.g. under
systemd; the maker's ``guard.socket``): the same lines, one connection per session.

Parts: :class:`GuardSession`, :class:`Guard`, :class:`GuardLink` (the maker's end),
:func:`guard_command`, :func:`serve` (the socket mode).
"""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

from centbook.auth import Credentials
from centbook.mm.kill import KillResult, KillSwitch
from centbook.rest.client import RestClient

__all__ = ["Guard", "GuardLink", "GuardSession", "guard_command", "serve"]


@dataclass
class GuardSession:
    """What the guard knows of the session it watches (from the ``session`` line)."""

    rest_url: str
    prefix: str
    groups: dict[int, str] = field(default_factory=dict)
    subaccount: int | None = None
    timeout_s: float = 1.0
    kill_deadline_s: float = 30.0
    pid: int = 0
    api_key_id: str = ""
    private_key_pem: str = ""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GuardSession:
        """Build from the ``session`` object; a missing or mistyped field raises ValueError naming it."""
        for name in ("rest_url", "prefix"):
            if not isinstance(d.get(name), str) or not d[name]:
                raise ValueError(f"the session line needs {name!r} (a non-empty string)")
        try:
            return cls(rest_url=d["rest_url"], prefix=d["prefix"],
                       groups={int(k): str(v) for k, v in (d.get("groups") or {}).items()},
                       subaccount=d.get("subaccount"), timeout_s=float(d.get("timeout_s", 1.0)),
                       kill_deadline_s=float(d.get("kill_deadline_s", 30.0)), pid=int(d.get("pid", 0)),
                       api_key_id=str(d.get("api_key_id", "")),
                       private_key_pem=str(d.get("private_key_pem", "")))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the session line has a bad field: {exc}") from None


class Guard:
    """Watch one maker's heartbeat on ``reader``; pull its orders when it stops.

    Parameters
    ----------
    reader : asyncio.StreamReader
        The maker's lines (standard input when the maker started the guard).
    credentials : Credentials, optional
        The guard's own; default: those of the ``session`` line.
    out : file, optional
        Where the guard says what it did (default standard output).
    """

    def __init__(self, reader: asyncio.StreamReader, credentials: Credentials | None = None,
                 out: IO[str] | None = None, ready_fd: int = -1) -> None:
        self.reader = reader
        self.credentials = credentials
        self.out = out or sys.stdout
        self.ready_fd = ready_fd  # written "ready" (then closed) once the client's opening is done
        self.session: GuardSession | None = None
        self.heartbeats = 0
        self.last_beat = time.monotonic()
        self.rest: RestClient | None = None
        self._opening: asyncio.Task[None] | None = None

    def say(self, text: str) -> None:
        """One line on the guard's output."""
        print(f"centbook guard: {text}", file=self.out, flush=True)

    async def run(self) -> int:
        """Watch until ``bye`` (0) or until the maker goes silent (the kill switch's exit code)."""
        why = await self._watch()
        if why is None:
            self.say("the maker ended cleanly: nothing to do")
            await self._drop_client()
            return 0
        if self.session is None:
            self.say(f"{why} before it named its session: nothing to pull")
            return 0
        result = await self.pull(why)
        self.say(result.summary())
        print(result.to_json(), file=self.out, flush=True)
        return result.exit_code

    async def _watch(self) -> str | None:
        """Read the maker's lines; return why it is deemed dead, or None after ``bye``."""
        while True:
            timeout = self.session.timeout_s if self.session is not None else 30.0
            try:
                line = await asyncio.wait_for(self.reader.readline(), timeout)
            except TimeoutError:
                return f"heartbeat silent for {timeout:g}s"
            if not line:
                return "the maker's pipe closed (process gone)"
            try:
                msg = json.loads(line)
            except ValueError:
                self.say(f"ignored a line that is not JSON ({len(line)} bytes)")
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("bye"):
                return None
            if "session" in msg:
                self.session = GuardSession.from_json(msg["session"])
                self.say(f"watching session {self.session.prefix} (pid {self.session.pid}, "
                         f"timeout {self.session.timeout_s:g}s)")
                # the client opens now (limits, costs, a warm connection): a pull starts at once
                self._opening = asyncio.ensure_future(self._open(self.session))
            elif "groups" in msg and self.session is not None:
                try:
                    self.session.groups = {int(k): str(v) for k, v in msg["groups"].items()}
                except (AttributeError, TypeError, ValueError):
                    self.say("ignored a groups line that is not {shard: group id}")
            self.heartbeats += 1
            self.last_beat = time.monotonic()

    async def _drop_client(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
            try:
                await self._opening
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - cancelled or failed: it goes
                pass
        if self.rest is not None:
            await self.rest.close()

    async def _open(self, session: GuardSession) -> None:
        try:
            credentials = self.credentials or Credentials(session.api_key_id, session.private_key_pem)
            rest = RestClient(session.rest_url, credentials, timeout_s=5.0)
            self.rest = rest
            await rest.open()
            self.say(f"ready: client open on {session.rest_url}")
        finally:  # ready either way: a client that failed to open is opened again by a pull
            self._say_ready()

    def _say_ready(self) -> None:
        if self.ready_fd >= 0:
            try:
                os.write(self.ready_fd, b"ready\n")
                os.close(self.ready_fd)
            except OSError:  # the maker is gone already: the pipe's end says so
                pass
            self.ready_fd = -1

    async def pull(self, why: str) -> KillResult:
        """Run the kill switch on the session (never raises)."""
        session = self.session
        assert session is not None
        self.say(f"{why}: pulling every order of session {session.prefix}")
        try:
            try:
                if self._opening is None:
                    raise RuntimeError("no client yet")
                await self._opening
            except Exception as exc:  # noqa: BLE001 - opened again below, once
                self.say(f"opening the client failed ({exc!r}): again")
                if self.rest is not None:
                    await self.rest.close()
                await self._open(session)
            assert self.rest is not None
            switch = KillSwitch(self.rest, session.prefix, session.groups, subaccount=session.subaccount,
                                deadline_s=session.kill_deadline_s, log=self.say)
            return await switch.run(f"guard: {why}")
        except Exception as exc:  # noqa: BLE001 - the guard reports, it never dies with a traceback
            self.say(f"could not reach the exchange: {exc!r}")
            return KillResult(f"guard: {why}")
        finally:
            if self.rest is not None:
                await self.rest.close()


def guard_command() -> list[str]:
    """The command line that starts a guard reading its maker on standard input."""
    return [sys.executable, "-m", "centbook.cli", "guard"]


class GuardLink:
    """The maker's end: start the guard process (or connect to a running one), send it the
    session, heartbeat, say bye.

    Parameters
    ----------
    session : dict
        The ``session`` object (see the module docstring).
    heartbeat_s : float
    log : callable
        The maker's event log.
    socket_path : str, optional
        A guard serving on this Unix socket (``centbook guard --socket PATH``) instead of a guard
        process of the maker's own.
    """

    def __init__(self, session: dict[str, Any], heartbeat_s: float, log: Any, socket_path: str = "") -> None:
        self.session = session
        self.heartbeat_s = heartbeat_s
        self.log = log
        self.socket_path = socket_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self._fd = -1
        self._ready_fd = -1
        self.beats = 0
        self.broken = False

    @property
    def pid(self) -> int:
        """The guard process's pid (0 when connected to a guard over a socket)."""
        return self.proc.pid if self.proc is not None else 0

    def start(self) -> None:
        """Start the guard in its own session (it outlives the maker), or connect to the socket;
        send the session line.

        Raises
        ------
        OSError
            The guard's socket does not answer.
        """
        if self.socket_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(self.socket_path)
            self._fd = self.sock.fileno()
        else:
            # start_new_session: not in the maker's process group (a Ctrl-C or kill of the group
            # spares it) and no parent-death signal: the guard must outlive the maker
            self._ready_fd, theirs = os.pipe()
            self.proc = subprocess.Popen([*guard_command(), "--ready-fd", str(theirs)], stdin=subprocess.PIPE,
                                         start_new_session=True, close_fds=True, pass_fds=(theirs,))
            os.close(theirs)
            assert self.proc.stdin is not None
            self._fd = self.proc.stdin.fileno()
        self.send({"session": self.session})

    async def wait_ready(self, timeout_s: float) -> bool:
        """Wait until the guard it started says it is ready (it can pull); True at once for a
        guard on a socket. False when it did not say so within ``timeout_s`` or died first."""
        if self._ready_fd < 0:
            return True
        loop = asyncio.get_running_loop()
        said: asyncio.Future[bytes] = loop.create_future()

        def readable() -> None:
            try:
                data = os.read(self._ready_fd, 64)
            except OSError:
                data = b""
            if not said.done():
                said.set_result(data)

        os.set_blocking(self._ready_fd, False)
        loop.add_reader(self._ready_fd, readable)
        try:
            return (await asyncio.wait_for(said, timeout_s)).startswith(b"ready")
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(self._ready_fd)
            os.close(self._ready_fd)
            self._ready_fd = -1

    def send(self, msg: dict[str, Any]) -> None:
        """Write one line to the guard (a broken pipe is logged once)."""
        if self._fd < 0 or self.broken:
            return
        try:
            os.write(self._fd, json.dumps(msg).encode() + b"\n")
        except OSError as exc:
            self.broken = True
            self.log(f"the guard is gone ({exc!r}): no dead-man protection")

    async def beat(self) -> None:
        """Heartbeat forever (a task of the maker)."""
        while True:
            self.beats += 1
            self.send({"hb": self.beats})
            await asyncio.sleep(self.heartbeat_s)

    def close(self, clean: bool) -> None:
        """Say bye when ``clean`` (the maker verified nothing rests); else leave the guard to pull."""
        if clean:
            self.send({"bye": True})
        self._fd = -1
        for closable in (self.proc.stdin if self.proc is not None else None, self.sock):
            if closable is not None:
                try:
                    closable.close()
                except OSError:
                    pass


async def serve(path: str, credentials: Credentials | None = None, out: IO[str] | None = None) -> None:
    """Serve guards on the Unix socket ``path``: each connection is one maker's session."""
    if os.path.exists(path):
        os.unlink(path)  # a socket file left by an earlier guard

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await Guard(reader, credentials, out).run()
        finally:
            writer.close()

    server = await asyncio.start_unix_server(one, path, limit=1 << 20)
    os.chmod(path, 0o600)  # the session line carries the key: this user only
    print(f"centbook guard: serving on {path}", file=out or sys.stdout, flush=True)
    async with server:
        await server.serve_forever()
