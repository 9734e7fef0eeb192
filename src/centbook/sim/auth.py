"""Kalshi request signing, checked: RSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt).

The signed message is ``timestamp_ms + METHOD + path`` where the path starts at ``/trade-api``
and carries no query string; the body is not signed (PROTOCOL.md 1.2 and 4.2).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import tempfile
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from centbook.sim.errors import SimError

__all__ = ["KeyRing", "generate_key_pair", "sign", "write_credentials"]

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def generate_key_pair(bits: int = 2048) -> tuple[str, str]:
    """Return a new RSA key pair as ``(private PEM, public PEM)`` strings."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def sign(private_pem: str, timestamp_ms: int, method: str, path: str) -> str:
    """Sign a request as a Kalshi client does (for the sim's own tools; tests sign themselves)."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    message = f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()
    return base64.b64encode(key.sign(message, _PSS, hashes.SHA256())).decode()


def write_credentials(path: str | None, api_key_id: str, private_pem: str) -> str:
    """Write ``{"api_key_id", "private_key_pem"}`` to ``path`` (a new temp file if None); return it.

    The file is created readable by its owner only (mode 0600, ``O_CREAT | O_EXCL``: the key is
    never readable by others, not even for a moment); an existing file at ``path`` is replaced.
    """
    body = json.dumps({"api_key_id": api_key_id, "private_key_pem": private_pem}).encode()
    if path is None:
        fd, path = tempfile.mkstemp(prefix="centbook-sim-credentials-", suffix=".json")  # 0600, O_EXCL
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    return path


@dataclass(slots=True)
class _Key:
    user_id: str
    public_key: rsa.RSAPublicKey


class KeyRing:
    """API keys known to the exchange and the check of a request's three signing headers.

    Parameters
    ----------
    max_skew_ms : int
        Largest accepted distance between ``KALSHI-ACCESS-TIMESTAMP`` and the exchange clock.
    """

    def __init__(self, max_skew_ms: int = 30_000) -> None:
        self.max_skew_ms = max_skew_ms
        self.keys: dict[str, _Key] = {}

    def register(self, user_id: str, public_pem: str, key_id: str | None = None) -> str:
        """Register a public key for a user; return its key id (a new UUID unless given)."""
        key = serialization.load_pem_public_key(public_pem.encode())
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("API keys must be RSA public keys")
        key_id = key_id or str(uuid.uuid4())
        self.keys[key_id] = _Key(user_id, key)
        return key_id

    def create(self, user_id: str) -> tuple[str, str]:
        """Create a key pair for a user; return ``(key id, private PEM)``."""
        private, public = generate_key_pair()
        return self.register(user_id, public), private

    def verify(self, headers: dict[str, str] | object, method: str, path: str, now_ms: int) -> str:
        """Check the signing headers of a request; return the user id.

        Raises
        ------
        SimError
            401 naming what is missing or wrong.
        """
        get = headers.get  # type: ignore[attr-defined]
        key_id = get("KALSHI-ACCESS-KEY")
        stamp = get("KALSHI-ACCESS-TIMESTAMP")
        signature = get("KALSHI-ACCESS-SIGNATURE")
        missing = [
            n
            for n, v in (
                ("KALSHI-ACCESS-KEY", key_id),
                ("KALSHI-ACCESS-TIMESTAMP", stamp),
                ("KALSHI-ACCESS-SIGNATURE", signature),
            )
            if not v
        ]
        if missing:
            raise SimError(
                401,
                "authentication_error",
                "authentication error",
                f"missing header(s): {', '.join(missing)}",
            )
        key = self.keys.get(key_id)
        if key is None:
            raise SimError(401, "authentication_error", "authentication error", f"unknown API key {key_id!r}")
        # ASCII digits only (str.isdigit also takes "²"), and at most 19 of them: int() of a few
        # thousand digits is slow and raises from 4,300 on
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 19):
            raise SimError(
                401,
                "authentication_error",
                "authentication error",
                "KALSHI-ACCESS-TIMESTAMP must be Unix time in milliseconds (at most 19 digits)",
            )
        if abs(int(stamp) - now_ms) > self.max_skew_ms:
            raise SimError(
                401,
                "authentication_error",
                "authentication error",
                f"timestamp {stamp} is more than {self.max_skew_ms} ms from the exchange clock {now_ms}",
            )
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise SimError(
                401, "authentication_error", "authentication error", "KALSHI-ACCESS-SIGNATURE is not base64"
            ) from None
        message = f"{stamp}{method.upper()}{path}".encode()
        try:
            key.public_key.verify(raw, message, _PSS, hashes.SHA256())
        except InvalidSignature:
            raise SimError(
                401,
                "authentication_error",
                "authentication error",
                "signature does not verify (RSA-PSS SHA-256, salt 32, over timestamp+METHOD+path "
                "without query)",
            ) from None
        return key.user_id
