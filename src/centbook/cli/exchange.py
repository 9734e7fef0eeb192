"""Which exchange a command talks to: the options ``centbook watch`` and ``centbook mm`` share.

Every setting comes from the first of: the command-line flag, the environment variable, the TOML
configuration file (``--config``), the default.

========================  =========================  ==============  =================================
flag                      environment variable       TOML key        meaning
========================  =========================  ==============  =================================
``--env sim|demo|prod``   ``CENTBOOK_ENV``           ``env``         a private embedded exchange
                                                                     (started and stopped by the
                                                                     command), Kalshi's demo, Kalshi
``--url URL``             ``CENTBOOK_URL``           ``url``         any exchange: a REST base URL
                                                                     (``.../trade-api/v2``) or a host
                                                                     root (what ``centbook sim``
                                                                     prints); wins over ``--env``
``--ws-url URL``          ``CENTBOOK_WS_URL``        ``ws_url``      the WebSocket URL (derived from
                                                                     the REST URL when absent)
``--credentials FILE``    ``KALSHI_PRIVATE_KEY_PATH``  ``credentials``  a PEM private key, or the JSON
                                                                     key file ``centbook sim`` writes
``--key-id ID``           ``KALSHI_API_KEY_ID``      ``key_id``      the API key id of a PEM key
========================  =========================  ==============  =================================

There is no default exchange: a command given none says how to choose one. ``--env sim`` needs no
credentials (the embedded exchange makes a key); every other exchange does.

- :func:`add_exchange_options`: the flags above on a parser;
- :func:`choose`: the settings, by precedence;
- :class:`Exchange`: the chosen exchange, connected-to details and the embedded one when started.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from centbook.auth import Credentials
from centbook.cli.errors import CommandError
from centbook.protocol.environments import (
    ENVIRONMENTS,
    REST_PATH,
    REST_URLS,
    WS_URLS,
    environment_of,
    exchange_urls,
)
from centbook.sim import SimProcess
from centbook.sim.config import ADMIN_TOKEN_ENV

__all__ = ["ENV_VARS", "Exchange", "ExchangeSettings", "add_exchange_options", "choose", "open_exchange",
           "require_exchange"]

#: setting -> environment variable (see the table above)
ENV_VARS = {"env": "CENTBOOK_ENV", "url": "CENTBOOK_URL", "ws_url": "CENTBOOK_WS_URL",
            "credentials": "KALSHI_PRIVATE_KEY_PATH", "key_id": "KALSHI_API_KEY_ID"}
PRECEDENCE = "flag > environment variable > TOML > default"
_GROUPS = (("env", "url"), ("ws_url",), ("credentials", "key_id"))


@dataclass
class ExchangeSettings:
    """The exchange settings of a command, after precedence (see the module's table)."""

    env: str | None = None
    url: str | None = None
    ws_url: str | None = None
    credentials: str | None = None
    key_id: str | None = None


def add_exchange_options(p: argparse.ArgumentParser) -> None:
    """Add ``--env``, ``--url``, ``--ws-url``, ``--credentials`` and ``--key-id`` to ``p``."""
    g = p.add_argument_group("exchange", f"which exchange; each setting from the first of: {PRECEDENCE}")
    g.add_argument("--env", choices=ENVIRONMENTS,
                   help="sim: start a private embedded exchange; demo, prod: Kalshi (env CENTBOOK_ENV)")
    g.add_argument("--url", metavar="URL",
                   help="any exchange: its REST base URL or host root, e.g. the one 'centbook sim' prints "
                        "(env CENTBOOK_URL)")
    g.add_argument("--ws-url", metavar="URL", help="WebSocket URL (default: derived from the REST URL; "
                                                  "env CENTBOOK_WS_URL)")
    g.add_argument("--credentials", metavar="FILE",
                   help="API key: a PEM private key (with --key-id) or the JSON key file 'centbook sim' "
                        "writes (env KALSHI_PRIVATE_KEY_PATH)")
    g.add_argument("--key-id", metavar="ID", help="API key id of a PEM key (env KALSHI_API_KEY_ID)")


def choose(args: argparse.Namespace, toml: Mapping[str, Any] | None = None,
           environ: Mapping[str, str] | None = None) -> ExchangeSettings:
    """Return the exchange settings: flag, else environment variable, else TOML, else None.

    Settings that go together come from one place: ``env``/``url`` from the first source
    that names an exchange, ``credentials``/``key_id`` from the first that names a key (so a key id
    in the environment is never paired with a key file given as a flag).
    """
    env = os.environ if environ is None else environ
    sources = [{name: getattr(args, name, None) for name in ENV_VARS},
               {name: env.get(var) for name, var in ENV_VARS.items()},
               dict(toml or {})]
    out = ExchangeSettings()
    for group in _GROUPS:
        source = next((s for s in sources if any(s.get(name) for name in group)), {})
        for name in group:
            setattr(out, name, source.get(name) or None)
    if out.env is not None and out.env not in ENVIRONMENTS:
        raise CommandError(f"unknown exchange environment {out.env!r} (from {ENV_VARS['env']} or the "
                           f"configuration): choose one of {', '.join(ENVIRONMENTS)}")
    return out


@dataclass
class Exchange:
    """An exchange a command talks to.

    Attributes
    ----------
    rest_url, ws_url : str
        REST base URL and WebSocket URL.
    credentials : Credentials or None
        The API key (None only for a command that reads public data).
    env : str or None
        ``sim``, ``demo`` or ``prod`` when known.
    sim : SimProcess or None
        The embedded exchange this command started (stopped by :meth:`close`).
    """

    rest_url: str
    ws_url: str
    credentials: Credentials | None
    env: str | None = None
    sim: SimProcess | None = field(default=None, repr=False)

    @property
    def host_root(self) -> str:
        """The URL without ``/trade-api/v2`` (where a sim's ``/admin`` API lives)."""
        return self.rest_url[: -len(REST_PATH)]

    @property
    def is_prod(self) -> bool:
        """Whether this is Kalshi's production exchange (real money)."""
        return self.env == "prod"

    def close(self) -> None:
        """Stop the embedded exchange this command started, if any."""
        if self.sim is not None:
            self.sim.stop()
            self.sim = None


def require_exchange(settings: ExchangeSettings, prog: str) -> None:
    """Raise :class:`CommandError` saying how to choose an exchange when ``settings`` name none."""
    if settings.env is None and settings.url is None:
        raise CommandError("no exchange chosen: pass --url URL (e.g. what 'centbook sim' prints), --env sim "
                           "for a private embedded exchange, or --env demo|prod for Kalshi (or set "
                           f"CENTBOOK_URL / CENTBOOK_ENV; see {prog} --help)")


def _credentials(settings: ExchangeSettings, where: str) -> Credentials:
    if settings.credentials:
        return Credentials.from_file(settings.credentials, settings.key_id)
    if settings.key_id:
        raise CommandError(f"an API key id was given without its key: pass --credentials FILE "
                           f"(or set KALSHI_PRIVATE_KEY_PATH) for {where}")
    raise CommandError(f"{where} needs an API key: pass --credentials FILE (a PEM key with --key-id, or "
                       "the JSON file 'centbook sim' prints) or set KALSHI_API_KEY_ID and "
                       "KALSHI_PRIVATE_KEY_PATH")


def open_exchange(settings: ExchangeSettings, prog: str, sim_args: Sequence[str] = (),
                  admin: bool = False) -> Exchange:
    """Resolve ``settings`` into an :class:`Exchange`; ``--env sim`` starts the embedded one.

    Parameters
    ----------
    settings : ExchangeSettings
    prog : str
        The command (``centbook mm``), for the message that says how to choose an exchange.
    sim_args : sequence of str
        Arguments of ``centbook sim`` when it is started here.
    admin : bool
        Turn on the admin API of the sim started here (fault injection); it is also on when
        ``CENTBOOK_SIM_ADMIN_TOKEN`` names its token.

    Raises
    ------
    CommandError
        No exchange chosen, a URL of neither accepted form, missing credentials.
    CredentialsError
        A key file that is missing, unreadable or corrupt.
    """
    require_exchange(settings, prog)
    if settings.url:
        try:
            rest, ws = exchange_urls(settings.url, settings.ws_url)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        env = environment_of(rest) or (None if settings.env == "sim" else settings.env)
        return Exchange(rest, ws, _credentials(settings, rest), env)
    if settings.env in REST_URLS:
        ws = settings.ws_url or WS_URLS[settings.env]
        return Exchange(REST_URLS[settings.env], ws, _credentials(settings, f"Kalshi {settings.env}"),
                        settings.env)
    admin = admin or bool(os.environ.get(ADMIN_TOKEN_ENV))
    sim = SimProcess(seed=1, args=list(sim_args), admin=admin).start()
    creds = Credentials(sim.api_key_id, sim.private_key_pem)
    return Exchange(sim.rest_url, sim.ws_url, creds, "sim", sim)
