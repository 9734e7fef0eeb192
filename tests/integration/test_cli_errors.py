"""Each mistake a person can make with the command line: one line, an exit status, nothing left.

Every test runs the real ``centbook`` command in a subprocess and checks its stderr (one line,
``centbook <command>: ...``, no traceback), its exit status (2: usage or configuration, 1: the run
failed), that no process of the run is alive afterwards and that its TMPDIR is empty.
"""
from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_run import Run, one_line_error  # noqa: E402

from centbook.sim import SimProcess  # noqa: E402
from centbook.sim.auth import generate_key_pair, write_credentials  # noqa: E402

T50 = "KXDEMO-26DEC31-T50"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    """A running exchange the commands are pointed at with --url."""
    with SimProcess(seed=5) as proc:
        yield proc


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check(tmp_path: Path, command: str, status: int, *args: str, words: tuple[str, ...] = (),
          **env: str) -> str:
    run = Run(tmp_path, **env)
    proc = run.run(command, *args)
    line = one_line_error(proc, command, status, *words)
    run.assert_clean()
    return line


# -- centbook sim --------------------------------------------------------------------------------

def test_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        check(tmp_path, "sim", 1, "--port", str(port), words=(f"port {port}", "in use", "--port"))


@pytest.mark.parametrize("port", ["70000", "-1", "eighty"])
def test_port_out_of_range(tmp_path, port):
    check(tmp_path, "sim", 2, "--port", port, words=("--port",))


def test_credentials_out_into_a_missing_folder(tmp_path):
    target = tmp_path / "nowhere" / "key.json"
    check(tmp_path, "sim", 2, "--credentials-out", str(target), words=("does not exist", "nowhere"))
    assert not target.parent.exists()


def test_sim_configuration_file_missing_or_corrupt(tmp_path):
    check(tmp_path, "sim", 2, "--config", str(tmp_path / "missing.json"), words=("does not exist",))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    check(tmp_path, "sim", 2, "--config", str(bad), words=("not valid JSON",))


# -- key files -----------------------------------------------------------------------------------

def _mm_at(url: str, *args: str) -> tuple[str, ...]:
    return ("--url", url, "--market", T50, *args)


def test_missing_unreadable_and_corrupt_key_files(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    check(tmp_path, "mm", 2, *_mm_at(url, "--credentials", str(tmp_path / "missing.pem"), "--key-id", "k"),
          words=("missing.pem", "does not exist"))
    check(tmp_path, "mm", 2, *_mm_at(url, "--credentials", str(tmp_path), "--key-id", "k"),
          words=("cannot read",))  # a folder: unreadable as a file, even for root
    pem = tmp_path / "corrupt.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    line = check(tmp_path, "mm", 2, *_mm_at(url, "--credentials", str(pem), "--key-id", "k"),
                 words=("does not load",))
    assert "not base64" not in line
    js = tmp_path / "corrupt.json"
    js.write_text('{"api_key_id": "k"')
    check(tmp_path, "mm", 2, *_mm_at(url, "--credentials", str(js)),
          words=("neither a PEM", "--credentials-out"))


def test_pem_without_key_id_and_key_id_without_key(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    private, _ = generate_key_pair()
    pem = tmp_path / "key.pem"
    pem.write_text(private)
    check(tmp_path, "mm", 2, *_mm_at(url, "--credentials", str(pem)), words=("needs its API key id",))
    check(tmp_path, "mm", 2, *_mm_at(url, "--key-id", "abc"), words=("without its key", "--credentials"))
    check(tmp_path, "watch", 2, "--env", "demo", words=("KALSHI_PRIVATE_KEY_PATH",), KALSHI_API_KEY_ID="abc")


# -- configuration -------------------------------------------------------------------------------

def test_missing_config_file(tmp_path):
    check(tmp_path, "mm", 2, "--config", str(tmp_path / "mm.toml"), words=("mm.toml", "does not exist"))


@pytest.mark.parametrize(("command", "toml", "words"), [
    ("mm", 'env = "sim"\nduration_s 10\n', ("not valid TOML", "line 2")),  # syntax
    ("mm", 'env = "sim"\n[risk]\nmax_postion = 5\n', ("'max_postion'", "[risk]", "max_position")),
    ("watch", 'urll = "http://127.0.0.1:1"\n', ("'urll'", "url")),
    # a wrong type is found before the embedded exchange starts (check() sees no process left)
    ("mm", 'env = "sim"\nduration_s = "ten"\n', ("duration_s", "a number", "'ten'")),
    ("mm", 'env = "sim"\n[strategy]\nsize = 1.5\n', ("size", "an integer")),
], ids=["syntax", "unknown-key", "unknown-key-watch", "wrong-type", "wrong-type-table"])
def test_toml_mistakes(tmp_path, command, toml, words):
    path = tmp_path / "config.toml"
    path.write_text(toml)
    check(tmp_path, command, 2, "--config", str(path), words=words)


def test_no_exchange_chosen(tmp_path):
    for command in ("mm", "watch"):
        check(tmp_path, command, 2, words=("no exchange chosen", "--url", "--env sim"))


def test_usage_mistakes_are_one_line(tmp_path):
    check(tmp_path, "mm", 2, "--env", "moon", words=("invalid choice", "--help"))
    check(tmp_path, "mm", 2, "--url", "http://127.0.0.1:1/api", "--market", T50, words=("/trade-api/v2",))


# -- the exchange --------------------------------------------------------------------------------

def test_unknown_market(tmp_path, sim):
    key = ("--credentials", sim.credentials_file or "")
    check(tmp_path, "mm", 2, "--url", sim.base_url, *key, "--market", "NOPE-1",
          words=("unknown market", "NOPE-1"))
    check(tmp_path, "watch", 2, "--url", sim.base_url, *key, "NOPE-1", words=("unknown market", "NOPE-1"))


def test_refused_connection(tmp_path, sim):
    port = closed_port()
    key = ("--credentials", sim.credentials_file or "")
    check(tmp_path, "mm", 1, "--url", f"http://127.0.0.1:{port}", *key, "--market", T50,
          words=(f"127.0.0.1:{port}", "connection refused", "--url"))
    check(tmp_path, "watch", 1, "--url", f"http://127.0.0.1:{port}", *key,
          words=(f"127.0.0.1:{port}", "connection refused"))


def test_tls_failure(tmp_path, sim):
    key = ("--credentials", sim.credentials_file or "")
    https = sim.base_url.replace("http://", "https://")
    check(tmp_path, "mm", 1, "--url", https, *key, "--market", T50, words=("TLS", "http://"))


def test_exchange_refuses_the_key(tmp_path, sim):
    private, _ = generate_key_pair()
    unknown = write_credentials(str(tmp_path / "other.json"), "3f1c2b9e-0000-4000-8000-00000000abcd", private)
    for command, extra in (("mm", ("--market", T50)), ("watch", ())):
        check(tmp_path, command, 1, "--url", sim.base_url, "--credentials", unknown, *extra,
              words=("refused API key", "401", "3f1c2b9e-0000-4000-8000-00000000abcd"))


def test_debug_shows_the_traceback(tmp_path):
    for args, env in ((("--debug", "mm"), {}), (("mm",), {"CENTBOOK_DEBUG": "1"})):
        run = Run(tmp_path, **env)
        proc = run.run(*args, "--config", str(tmp_path / "missing.toml"))
        assert proc.returncode == 1 and "Traceback" in proc.stderr and "ConfigError" in proc.stderr
        run.assert_clean()
