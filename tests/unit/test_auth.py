"""Credentials and signing: exact message, PSS parameters, secrecy of the key, pre-made signatures."""

from __future__ import annotations

import base64
import logging
import pickle

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from centbook.auth import Credentials, CredentialsError, PresignedPool, signing_message

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
).decode()
KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"


def test_message_is_timestamp_method_path_without_query() -> None:
    assert (
        signing_message(1703123456789, "get", "/trade-api/v2/portfolio/orders?limit=5")
        == b"1703123456789GET/trade-api/v2/portfolio/orders"
    )


def test_signature_is_pss_sha256_with_32_byte_salt() -> None:
    creds = Credentials(KEY_ID, PEM)
    sig = base64.b64decode(creds.sign(1703123456789, "POST", "/trade-api/v2/portfolio/events/orders"))
    message = b"1703123456789POST/trade-api/v2/portfolio/events/orders"
    pub = KEY.public_key()
    pub.verify(sig, message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    with pytest.raises(InvalidSignature):  # salt length is part of the contract
        pub.verify(
            sig, message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20), hashes.SHA256()
        )


def test_headers_carry_key_id_timestamp_and_signature() -> None:
    creds = Credentials(KEY_ID, PEM)
    h = creds.headers("GET", "/trade-api/v2/portfolio/balance", timestamp_ms=42)
    assert h["KALSHI-ACCESS-KEY"] == KEY_ID and h["KALSHI-ACCESS-TIMESTAMP"] == "42"
    assert len(base64.b64decode(h["KALSHI-ACCESS-SIGNATURE"])) == 256


def test_key_never_in_repr_exception_or_log(caplog: pytest.LogCaptureFixture) -> None:
    body = PEM.splitlines()[5]
    with caplog.at_level(logging.DEBUG, logger="centbook"):
        creds = Credentials(KEY_ID, PEM)
    assert "RSA-2048" in caplog.text and body not in caplog.text
    assert body not in repr(creds) and body not in str(creds)
    assert "key_bits=2048" in repr(creds)
    broken = PEM.replace(body, body[::-1])
    with pytest.raises(CredentialsError) as info:
        Credentials(KEY_ID, broken)
    assert body[::-1] not in str(info.value) and body[::-1] not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(TypeError):
        pickle.dumps(creds)


def test_from_env(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "key.pem"  # type: ignore[operator]
    path.write_text(PEM)
    creds = Credentials.from_env({"KALSHI_API_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(path)})
    assert creds.key_id == KEY_ID and creds.key_id_well_formed
    with pytest.raises(CredentialsError, match="KALSHI_PRIVATE_KEY_PATH"):
        Credentials.from_env({"KALSHI_API_KEY_ID": KEY_ID})
    with pytest.raises(CredentialsError, match="does not exist"):
        Credentials.from_env({"KALSHI_API_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(path) + ".missing"})
    assert not Credentials("not-a-uuid", PEM).key_id_well_formed


def test_non_rsa_key_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(CredentialsError, match="not an RSA key"):
        Credentials(KEY_ID, ec_pem)


def test_presigned_pool_uses_each_signature_once_and_only_while_young() -> None:
    now = [10_000]
    pool = PresignedPool(max_age_s=1.0, depth=2, wall_clock_ms=lambda: now[0])
    pool.put("POST", "/p", 9_500, "old")
    pool.put("POST", "/p", 9_900, "new")
    assert pool.take("POST", "/p") == (9_900, "new")  # newest first
    assert pool.take("POST", "/p") == (9_500, "old")
    assert pool.take("POST", "/p") is None  # used once
    pool.put("POST", "/p", 9_000, "stale")
    assert pool.take("POST", "/p") is None  # 1 s old: thrown away
    assert pool.expired == 1
    pool.put("POST", "/p", 9_800, "a")
    assert pool.needs("POST", "/p", margin_ms=500) == 1  # 9_800 stays valid 800 ms more
    assert pool.needs("POST", "/p", margin_ms=900) == 2  # ... but not 900 ms more
    assert pool.needs("DELETE", "/q", margin_ms=0) == 2
    pool.put("DELETE", "/q", 10_000, "b")
    pool.forget("DELETE", "/q")
    assert pool.take("DELETE", "/q") is None


def test_pool_tells_its_on_take_hook_each_signature_it_hands_out() -> None:
    now = [10_000]
    pool = PresignedPool(max_age_s=1.0, depth=2, wall_clock_ms=lambda: now[0])
    taken: list[str] = []
    pool.on_take = taken.append
    pool.put("POST", "/p", 9_000, "stale")
    pool.put("POST", "/p", 9_900, "fresh")
    assert pool.take("POST", "/p") == (9_900, "fresh")
    assert pool.take("POST", "/p") is None          # the stale one is thrown away, not handed out
    assert pool.take("DELETE", "/q") is None
    assert taken == ["fresh"]


def test_a_signature_given_back_keeps_the_pools_age_order_and_the_fresher_ones() -> None:
    now = [10_000]
    pool = PresignedPool(max_age_s=1.0, depth=2, wall_clock_ms=lambda: now[0])
    pool.put("POST", "/p", 9_500, "a")
    pool.put("POST", "/p", 9_900, "b")
    assert pool.take("POST", "/p") == (9_900, "b")  # newest first
    pool.put("POST", "/p", 9_950, "c")
    pool.give_back("POST", "/p", 9_900, "b")  # full (depth 2): the oldest, not a fresher one, goes
    assert [pool.take("POST", "/p"), pool.take("POST", "/p"), pool.take("POST", "/p")] == [
        (9_950, "c"), (9_900, "b"), None]
    pool.put("POST", "/p", 9_990, "d")
    taken = pool.take("POST", "/p")
    now[0] = 11_000  # too old by now: not kept
    pool.give_back("POST", "/p", *taken)
    assert pool.count("POST", "/p") == 0
    pool.forget("POST", "/p")
    pool.give_back("POST", "/p", 10_990, "e")  # a forgotten path stays forgotten
    assert pool.paths() == []
