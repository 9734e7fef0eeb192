"""Kalshi API credentials and request signing (RSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt).

The signed message is ``timestamp_ms + METHOD + path``: the path from the host root (it includes
``/trade-api/v2``) without the query string; the body is not signed (Kalshi docs,
getting_started/api_keys). Because the body is not part of it, a signature for a constant path
(create, batch create, batch cancel) or for an acknowledged order's own amend/cancel/decrease path
can be made before the request exists: :class:`PresignedPool` keeps a few, each used once and only
while younger than a bounded age.

The private key never appears in a log line, an exception message or a ``repr``; its size does (a
4096-bit key signs about six times slower than a 2048-bit one).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

import msgspec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "Credentials",
    "CredentialsError",
    "PresignedPool",
    "SALT_LENGTH",
    "sign_message",
    "signing_message",
]

log = logging.getLogger("centbook.auth")

SALT_LENGTH = 32  # bytes; = the SHA-256 digest length, what Kalshi's sample code uses
_KEY_ID_FORM = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class _SavedKey(msgspec.Struct):
    """The JSON key file of ``centbook sim --credentials-out``."""

    api_key_id: str
    private_key_pem: str


class CredentialsError(ValueError):
    """The API key id or private key cannot be used (the message never contains the key)."""


def signing_message(timestamp_ms: int, method: str, path: str) -> bytes:
    """Return the bytes Kalshi signs: ``timestamp_ms + METHOD + path`` without the query string.

    Parameters
    ----------
    timestamp_ms : int
        Unix time in milliseconds, as sent in ``KALSHI-ACCESS-TIMESTAMP``.
    method : str
        HTTP method (upper-cased here).
    path : str
        Path from the host root, e.g. ``/trade-api/v2/portfolio/orders``; a query is stripped.
    """
    return b"%d%s%s" % (timestamp_ms, method.upper().encode(), path.split("?", 1)[0].encode())


def sign_message(key: rsa.RSAPrivateKey, message: bytes, salt_length: int = SALT_LENGTH) -> str:
    """Sign ``message`` with RSA-PSS (SHA-256, MGF1-SHA-256) and return it base64-encoded."""
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt_length)
    return base64.b64encode(key.sign(message, pss, hashes.SHA256())).decode("ascii")


def signing_helper_main(fd: int) -> None:
    """Run the signing helper process on the socket ``fd`` (started by the REST client).

    The first message is the PEM key; then each message is msgpack
    ``(batch_id, [(timestamp_ms, method, path), ...])`` and the answer
    ``(batch_id, [signature, ...])``. The process lowers its own priority first: it makes
    signatures ahead of use, background work that must not take a core from the trading
    process or its exchange connection on a small machine. It ends when the socket closes.
    """
    try:
        os.nice(10)
    except OSError:  # pragma: no cover - not permitted: run at normal priority
        pass
    conn = Connection(fd)
    try:
        key = serialization.load_pem_private_key(conn.recv_bytes(), password=None)
    except (EOFError, OSError):
        return
    decode = msgspec.msgpack.Decoder(tuple[int, list[tuple[int, str, str]]]).decode
    encode = msgspec.msgpack.Encoder().encode
    while True:
        try:
            batch_id, jobs = decode(conn.recv_bytes())
        except (EOFError, OSError):
            return
        sigs = [sign_message(key, signing_message(ts, m, p)) for ts, m, p in jobs]  # type: ignore[arg-type]
        try:
            conn.send_bytes(encode((batch_id, sigs)))
        except OSError:  # the client closed while this batch was being signed: nothing to answer
            return


class Credentials:
    """A Kalshi API key: its id and the RSA private key that signs requests.

    Parameters
    ----------
    key_id : str
        The API key id (a UUID on Kalshi), sent as ``KALSHI-ACCESS-KEY``.
    private_key_pem : str or bytes
        The RSA private key in PEM (PKCS#1 or PKCS#8, unencrypted), as Kalshi hands it out.

    Raises
    ------
    CredentialsError
        The key does not parse or is not an RSA key (the message says which, never the key).

    Notes
    -----
    ``repr()`` shows the key id and the key size only. The key size is logged at INFO when the
    credentials are made.
    """

    __slots__ = ("key_id", "key_bits", "_key", "_pem", "_pss")

    def __init__(self, key_id: str, private_key_pem: str | bytes) -> None:
        if not isinstance(key_id, str) or not key_id.strip():
            raise CredentialsError("the API key id is empty")
        pem = private_key_pem.encode() if isinstance(private_key_pem, str) else bytes(private_key_pem)
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            # The library's message may quote the input; say what is wrong in our own words.
            kind = type(exc).__name__
            raise CredentialsError(
                f"the private key for API key {key_id!r} does not load as an unencrypted PEM "
                f"private key ({kind}; {len(pem)} bytes read)"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CredentialsError(f"the private key for API key {key_id!r} is not an RSA key")
        self.key_id = key_id.strip()
        self.key_bits: int = key.key_size
        self._key = key
        self._pem = pem
        self._pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=SALT_LENGTH)
        log.info(
            "Kalshi API key %s loaded: RSA-%d%s",
            self.key_id,
            self.key_bits,
            " (signing is ~6x slower than RSA-2048)" if self.key_bits >= 4096 else "",
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Load credentials from ``KALSHI_API_KEY_ID`` and ``KALSHI_PRIVATE_KEY_PATH``.

        ``KALSHI_PRIVATE_KEY_PATH`` may also name the JSON file ``centbook sim --credentials-out``
        writes, which carries its key id (``KALSHI_API_KEY_ID`` is then optional).

        Raises
        ------
        CredentialsError
            A variable is missing, or the key file cannot be read or parsed.
        """
        env = os.environ if environ is None else environ
        key_id = env.get("KALSHI_API_KEY_ID", "") or None
        path = env.get("KALSHI_PRIVATE_KEY_PATH", "")
        if not path:
            missing = "KALSHI_PRIVATE_KEY_PATH" if key_id else "KALSHI_API_KEY_ID, KALSHI_PRIVATE_KEY_PATH"
            raise CredentialsError(f"environment variable(s) not set: {missing}")
        return cls.from_file(path, key_id)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], key_id: str | None = None) -> Credentials:
        """Load credentials from a file: a PEM private key (with ``key_id``) or a sim's JSON.

        Parameters
        ----------
        path : str or path-like
            A PEM private key as Kalshi hands it out, or the JSON file
            ``{"api_key_id": ..., "private_key_pem": ...}`` that ``centbook sim
            --credentials-out`` writes.
        key_id : str, optional
            The API key id; required with a PEM file; with the JSON file it replaces the file's.

        Raises
        ------
        CredentialsError
            The file is missing or unreadable, is neither form, or a PEM file comes without a
            key id (the message names the file, never the key).
        """
        name = os.fspath(path)
        try:
            with open(name, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise CredentialsError(f"the key file {name!r} does not exist") from None
        except OSError as exc:
            raise CredentialsError(f"cannot read the key file {name!r}: {exc.strerror}") from None
        if data.lstrip().startswith(b"{"):
            try:
                saved = msgspec.json.decode(data, type=_SavedKey)
            except msgspec.DecodeError:
                raise CredentialsError(
                    f"the key file {name!r} is neither a PEM private key nor the JSON "
                    "{api_key_id, private_key_pem} that 'centbook sim --credentials-out' writes"
                ) from None
            return cls(key_id or saved.api_key_id, saved.private_key_pem)
        if not key_id:
            raise CredentialsError(f"the PEM key file {name!r} needs its API key id "
                                   "(KALSHI_API_KEY_ID, or --key-id on the command line)")
        return cls(key_id, data)

    def __repr__(self) -> str:
        return f"Credentials(key_id={self.key_id!r}, key_bits={self.key_bits})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Credentials are not picklable (the private key stays in this process)")

    @property
    def key_id_well_formed(self) -> bool:
        """Whether the key id has the form of Kalshi's key ids (a UUID)."""
        return bool(_KEY_ID_FORM.match(self.key_id))

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The loaded private key object (for a signing helper; never log it)."""
        return self._key

    def pem_bytes(self) -> bytes:
        """The PEM bytes (for handing the key to a signing helper process over a pipe)."""
        return self._pem

    def sign(self, timestamp_ms: int, method: str, path: str) -> str:
        """Return the base64 ``KALSHI-ACCESS-SIGNATURE`` of a request.

        Parameters
        ----------
        timestamp_ms : int
            The ``KALSHI-ACCESS-TIMESTAMP`` value that will be sent.
        method, path : str
            HTTP method and the path from the host root (query stripped here).
        """
        message = signing_message(timestamp_ms, method, path)
        return base64.b64encode(self._key.sign(message, self._pss, hashes.SHA256())).decode("ascii")

    def headers(self, method: str, path: str, timestamp_ms: int | None = None) -> dict[str, str]:
        """Return the three Kalshi authentication headers for a request signed now."""
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": str(ts),
            "KALSHI-ACCESS-SIGNATURE": self.sign(ts, method, path),
        }


class PresignedPool:
    """Signatures made ahead of use, per ``(METHOD, path)``, each used once while young enough.

    Parameters
    ----------
    max_age_s : float
        A signature older than this is thrown away unused (default 1 s). Kalshi does not document
        its timestamp tolerance or whether it rejects a replayed signature: validate on demo first.
    depth : int
        How many signatures to keep per path.
    wall_clock_ms : callable
        Unix time in ms (injectable for tests).

    Attributes
    ----------
    on_take : callable or None
        ``on_take(signature)`` for every pre-made signature :meth:`take` hands out, so a caller
        can tell a request sent with one from a request signed on demand (the market maker's
        latency split). Called synchronously; keep it cheap.

    Notes
    -----
    The pool holds ``(timestamp_ms, signature)`` pairs; :meth:`take` pops the newest usable one so
    the timestamp sent is as fresh as possible. Filling is the caller's job (a helper process or
    thread signs; see :class:`centbook.rest.RestClient`).
    """

    def __init__(
        self,
        max_age_s: float = 1.0,
        depth: int = 2,
        wall_clock_ms: Callable[[], int] | None = None,
    ) -> None:
        if max_age_s <= 0:
            raise ValueError("max_age_s must be positive")
        self.max_age_ms = int(max_age_s * 1000)
        self.depth = depth
        self._now_ms = wall_clock_ms or (lambda: int(time.time() * 1000))
        self._pool: dict[tuple[str, str], deque[tuple[int, str]]] = {}
        self._depths: dict[tuple[str, str], int] = {}
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self.on_take: Callable[[str], None] | None = None

    def set_depth(self, method: str, path: str, depth: int) -> None:
        """Keep ``depth`` signatures for this path instead of the default."""
        self._depths[(method, path)] = depth

    def depth_of(self, method: str, path: str) -> int:
        """How many signatures the pool keeps for a path."""
        return self._depths.get((method, path), self.depth)

    def put(self, method: str, path: str, timestamp_ms: int, signature: str) -> None:
        """Add a signature made for ``timestamp_ms``."""
        q = self._pool.setdefault((method, path), deque())
        q.append((timestamp_ms, signature))
        while len(q) > self.depth_of(method, path):
            q.popleft()
            self.expired += 1

    def give_back(self, method: str, path: str, timestamp_ms: int, signature: str) -> None:
        """Return a signature :meth:`take` handed out and nothing was sent with (kept in age
        order; dropped when it is too old, when the pool is full of fresher ones, or when the
        path was forgotten meanwhile)."""
        q = self._pool.get((method, path))
        self.hits -= 1  # the take did not end in a use
        if q is None or timestamp_ms <= self._now_ms() - self.max_age_ms:
            self.expired += 1
            return
        i = len(q)
        while i > 0 and q[i - 1][0] > timestamp_ms:
            i -= 1
        q.insert(i, (timestamp_ms, signature))
        while len(q) > self.depth_of(method, path):
            q.popleft()
            self.expired += 1

    def take(self, method: str, path: str) -> tuple[int, str] | None:
        """Pop a usable ``(timestamp_ms, signature)`` for the path, or None (sign inline then)."""
        q = self._pool.get((method, path))
        if q:
            oldest_ok = self._now_ms() - self.max_age_ms
            while q:
                ts, sig = q.pop()  # newest first
                if ts > oldest_ok:
                    self.hits += 1
                    if self.on_take is not None:
                        self.on_take(sig)
                    return ts, sig
                self.expired += 1
        self.misses += 1
        return None

    def needs(self, method: str, path: str, margin_ms: int) -> int:
        """How many fresh signatures the path needs so it holds ``depth`` valid ``margin_ms`` from now."""
        depth = self.depth_of(method, path)
        q = self._pool.get((method, path))
        if not q:
            return depth
        oldest_ok = self._now_ms() - self.max_age_ms + margin_ms
        while q and q[0][0] <= oldest_ok:
            q.popleft()
            self.expired += 1
        return max(0, depth - len(q))

    def count(self, method: str, path: str) -> int:
        """How many signatures the pool holds for a path (usable or not)."""
        q = self._pool.get((method, path))
        return len(q) if q else 0

    def forget(self, method: str, path: str) -> None:
        """Drop the signatures of a path (e.g. an order that is gone)."""
        self._pool.pop((method, path), None)
        self._depths.pop((method, path), None)

    def paths(self) -> list[tuple[str, str]]:
        """The paths the pool holds signatures for."""
        return list(self._pool)

    def __len__(self) -> int:
        return sum(len(q) for q in self._pool.values())
