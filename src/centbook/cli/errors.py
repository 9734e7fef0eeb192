"""What a failed command prints: one line, ``centbook <command>: <what was wrong, what to do>``.

- :class:`CommandError`: a mistake the command found itself, with its exit status;
- :func:`explain`: the line and exit status for any exception a command lets out;
- :data:`USAGE` (2: usage and configuration) and :data:`RUNTIME` (1: the run failed);
- :data:`RECORD_EXTRA`: the optional modules whose absence is explained as the missing
  ``[record]`` extra (a full or unwritable disk is explained too).

:func:`centbook.cli.main` prints the line; ``--debug`` or ``CENTBOOK_DEBUG=1`` shows the
traceback instead.
"""
from __future__ import annotations

import errno
import socket
import ssl

import aiohttp

from centbook.auth import CredentialsError
from centbook.mm.config import ConfigError
from centbook.protocol.errors import AuthenticationError

__all__ = ["RECORD_EXTRA", "RUNTIME", "USAGE", "CommandError", "explain", "refused_key"]

USAGE = 2
RUNTIME = 1

#: The modules of the ``[record]`` extra (recording, import, export).
RECORD_EXTRA = frozenset({"zstandard", "pyarrow", "duckdb"})
#: OS errors that mean a file cannot be written where the command was told to write it.
_UNWRITABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})


class CommandError(Exception):
    """A mistake a person can act on; ``str()`` is the line after ``centbook <command>:``.

    Parameters
    ----------
    message : str
        What was wrong and what to do.
    status : int
        Exit status: :data:`USAGE` (default) or :data:`RUNTIME`.
    """

    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.status = status


def refused_key(key_id: str) -> str:
    """The line for an exchange that answers HTTP 401 to a signed request."""
    return (f"the exchange refused API key {key_id!r} (HTTP 401): check that the key id and the key "
            "file belong to this exchange (demo keys do not work on prod)")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _where(exc: aiohttp.ClientConnectorError) -> str:
    return f"{exc.host}:{exc.port}"


def _explain_one(exc: BaseException) -> tuple[str, int] | None:
    if isinstance(exc, CommandError):
        return str(exc), exc.status
    if isinstance(exc, (CredentialsError, ConfigError)):
        return str(exc), USAGE
    if isinstance(exc, AuthenticationError):
        return refused_key(exc.key_id), RUNTIME
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError | ssl.SSLError):
        where = _where(exc) if isinstance(exc, aiohttp.ClientConnectorError) else "the exchange"
        return (f"TLS with {where} failed ({exc}): check the URL's host and scheme "
                "(http:// for a local sim, https:// for Kalshi)"), RUNTIME
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        where = exc.host if isinstance(exc, aiohttp.ClientConnectorError) else "the exchange's host"
        return f"cannot resolve {where}: check the host name in --url", RUNTIME
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = "connection refused" if isinstance(exc.os_error, ConnectionRefusedError) else (
            exc.os_error.strerror or str(exc.os_error))
        return (f"cannot connect to {_where(exc)} ({why}): "
                "is the exchange running, and is --url right?"), RUNTIME
    if isinstance(exc, ConnectionRefusedError):
        return "the exchange refused the connection: is it running, and is --url right?", RUNTIME
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in RECORD_EXTRA:
        return (f"this command needs the [record] extra ({exc.name} is missing): "
                "pip install 'centbook[record]'"), USAGE
    if isinstance(exc, OSError) and exc.errno in _UNWRITABLE:
        where = exc.filename or "a file"
        return f"cannot write {where}: {exc.strerror}; free space or choose another directory", RUNTIME
    return None


def explain(exc: BaseException) -> tuple[str, int]:
    """Return the one line (without the ``centbook <command>:`` prefix) and the exit status.

    The exception's causes are searched for one a person can act on (a connection refused under
    the REST client's own error, say); anything else is named with ``--debug`` as the way to see
    more.
    """
    for link in _chain(exc):
        found = _explain_one(link)
        if found is not None:
            return found
    text = str(exc) or type(exc).__name__
    return f"{text} ({type(exc).__name__}; --debug shows the traceback)", RUNTIME
