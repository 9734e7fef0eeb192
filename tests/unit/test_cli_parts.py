"""The CLI's parts alone: exchange URLs, precedence of settings, key files, configuration types,
watch's layout and the one-line explanation of errors."""
from __future__ import annotations

import argparse
import errno
import json
import socket

import aiohttp
import pytest

from centbook.auth import Credentials, CredentialsError
from centbook.cli.errors import RUNTIME, USAGE, CommandError, explain
from centbook.cli.exchange import ExchangeSettings, choose, open_exchange
from centbook.cli.watch import layout
from centbook.mm.config import ConfigError, MMConfig, fill
from centbook.protocol.environments import REST_URLS, WS_URLS, exchange_urls
from centbook.rest.settings import check_base_url
from centbook.sim.auth import generate_key_pair, write_credentials

KEY_ID = "3f1c2b9e-0000-4000-8000-000000000001"


def test_exchange_urls_from_a_base_url_or_a_host_root():
    assert exchange_urls("http://127.0.0.1:8000") == (
        "http://127.0.0.1:8000/trade-api/v2", "ws://127.0.0.1:8000/trade-api/ws/v2")
    assert exchange_urls("http://127.0.0.1:8000/trade-api/v2/")[0] == "http://127.0.0.1:8000/trade-api/v2"
    assert exchange_urls(REST_URLS["prod"]) == (REST_URLS["prod"], WS_URLS["prod"])  # another host for WS
    assert exchange_urls("https://external-api.demo.kalshi.co")[1] == WS_URLS["demo"]
    assert exchange_urls("https://x.test", "wss://y.test/ws")[1] == "wss://y.test/ws"
    for bad in ("http://127.0.0.1:8000/trade-api", "127.0.0.1:8000", "ftp://h/trade-api/v2", "http://h?x=1"):
        with pytest.raises(ValueError, match="host root like http://127.0.0.1:PORT"):
            exchange_urls(bad)
    with pytest.raises(ValueError, match="not a WebSocket URL"):
        exchange_urls("http://h", "http://h/ws")


def test_rest_client_base_url_takes_a_host_root_and_says_what_it_expects():
    assert check_base_url("http://127.0.0.1:9") == "http://127.0.0.1:9/trade-api/v2"
    with pytest.raises(ValueError, match="/trade-api/v2"):
        check_base_url("http://127.0.0.1:9/account")


def _args(**flags: str | None) -> argparse.Namespace:
    return argparse.Namespace(**{n: flags.get(n) for n in ("env", "url", "ws_url", "credentials", "key_id")})


def test_precedence_flag_then_environment_then_toml():
    toml = {"env": "demo", "credentials": "toml.pem", "key_id": "toml-id"}
    environ = {"CENTBOOK_URL": "http://127.0.0.1:7", "KALSHI_API_KEY_ID": "env-id"}
    s = choose(_args(), toml, environ)
    assert (s.env, s.url) == (None, "http://127.0.0.1:7")  # the variable names the exchange
    assert (s.credentials, s.key_id) == (None, "env-id")  # a key id comes with its own source's key
    s = choose(_args(env="sim"), toml, environ)
    assert (s.env, s.url) == ("sim", None)  # a flag wins over the variable's URL
    s = choose(_args(), toml, {})
    assert (s.env, s.credentials, s.key_id) == ("demo", "toml.pem", "toml-id")
    assert choose(_args(), None, {}) == ExchangeSettings()
    with pytest.raises(CommandError, match="unknown exchange environment 'moon'"):
        choose(_args(), {"env": "moon"}, {})


def test_open_exchange_without_one_or_without_a_key():
    with pytest.raises(CommandError, match="no exchange chosen"):
        open_exchange(ExchangeSettings(), "centbook x")
    with pytest.raises(CommandError, match="needs an API key"):
        open_exchange(ExchangeSettings(env="demo"), "centbook x")


def test_credentials_from_a_pem_or_the_sims_json(tmp_path):
    private, _ = generate_key_pair()
    saved = write_credentials(str(tmp_path / "key.json"), KEY_ID, private)
    assert Credentials.from_file(saved).key_id == KEY_ID
    assert Credentials.from_file(saved, "other").key_id == "other"
    pem = tmp_path / "key.pem"
    pem.write_text(private)
    assert Credentials.from_file(pem, KEY_ID).key_id == KEY_ID
    with pytest.raises(CredentialsError, match="needs its API key id"):
        Credentials.from_file(pem)
    env = {"KALSHI_PRIVATE_KEY_PATH": saved}
    assert Credentials.from_env(env).key_id == KEY_ID  # the JSON carries its key id
    (tmp_path / "bad.json").write_text(json.dumps({"api_key_id": KEY_ID}))
    with pytest.raises(CredentialsError, match="neither a PEM"):
        Credentials.from_file(tmp_path / "bad.json")


def test_key_file_is_private_from_the_start_and_replaced(tmp_path):
    path = tmp_path / "key.json"
    path.write_text("old")
    path.chmod(0o644)
    write_credentials(str(path), KEY_ID, "pem")
    assert path.stat().st_mode & 0o777 == 0o600 and json.loads(path.read_text())["api_key_id"] == KEY_ID


def test_configuration_values_are_type_checked():
    cfg = MMConfig()
    fill(cfg, {"duration_s": 5, "markets": ["A"], "strategy": {"skew_bp_per_contract": 2},
               "subaccount": None})
    assert cfg.duration_s == 5.0 and isinstance(cfg.duration_s, float) and cfg.markets == ["A"]
    cases = [({"duration_s": "10"}, "duration_s in x must be a number"),
             ({"markets": "A"}, "markets in x must be a list of strings"),
             ({"order_lane": 1}, "order_lane in x must be true or false"),
             ({"subaccount": True}, "subaccount in x must be an integer"),
             ({"risk": 5}, "risk in x must be a table"),
             ({"risk": {"max_loss": 1}}, r"unknown key 'max_loss' \[risk\] in x")]
    for data, message in cases:
        with pytest.raises(ConfigError, match=message):
            fill(MMConfig(), data, "x")


def test_watch_layout_fills_width_and_height():
    assert layout(5, 120, 40) == (slice(0, 5), 2, "")  # 2 across, 3 down: all fit
    shown, columns, note = layout(5, 110, 30)
    assert (shown, columns) == (slice(0, 4), 2) and note.startswith("markets 1-4 of 5 (page 1/2); 1 hidden")
    assert layout(5, 110, 30, page=9)[0] == slice(4, 5)  # past the last page: the last one
    assert layout(3, 20, 5)[:2] == (slice(0, 1), 1)  # a tiny window still shows one market


def test_explain_finds_what_a_person_can_act_on():
    assert explain(CommandError("x", RUNTIME)) == ("x", RUNTIME)
    assert explain(ConfigError("bad")) == ("bad", USAGE)
    key = aiohttp.client_reqrep.ConnectionKey("no-such-host.invalid", 443, True, True, None, None, None)
    dns = aiohttp.ClientConnectorDNSError(key, socket.gaierror(-2, "Name or service not known"))
    wrapped = RuntimeError("GET /markets: cannot connect")
    wrapped.__cause__ = dns
    line, status = explain(wrapped)
    assert status == RUNTIME and line == "cannot resolve no-such-host.invalid: check the host name in --url"
    line, status = explain(ZeroDivisionError("division by zero"))
    assert status == RUNTIME and "--debug" in line and "ZeroDivisionError" in line


def test_explain_names_the_record_extra_and_an_unwritable_disk():
    line, status = explain(ModuleNotFoundError("No module named 'zstandard'", name="zstandard"))
    assert status == USAGE and line.endswith("pip install 'centbook[record]'") and "zstandard" in line
    line, status = explain(ModuleNotFoundError("No module named 'nope'", name="nope"))
    assert "--debug" in line    # not the extra: no advice to install it
    full = OSError(errno.ENOSPC, "No space left on device", "/data/rec/seg-000001.cbrec")
    line, status = explain(full)
    assert status == RUNTIME and line.startswith("cannot write /data/rec/seg-000001.cbrec: No space left")
