"""Exceptions of centbook's REST client (the exchange's answers and the client's own verdicts).

Kalshi answers errors in three shapes (PROTOCOL.md 4.9): an envelope
``{"error": {"code", "message", "details"}}``, a top-level ``{"code", "message", "details"}``
(unparseable bodies), and ``{"error": "too many requests"}`` on 429. :func:`parse_error_body`
reads all three.

Outcome classes: 4xx (except 408 and 429) is a *rejection* (the write did not happen); 408, 5xx
and a lost connection leave a write's outcome *unknown* (:class:`OutcomeUnknownError`); a 429 is
a rejection the client waits out.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "AuthenticationError",
    "ExchangeError",
    "KalshiError",
    "OrderNotPlacedError",
    "OutcomeUnknownError",
    "RateLimitedError",
    "RejectedError",
    "ServerError",
    "SettlementFloorError",
    "WriteNotAppliedError",
    "error_for",
    "parse_error_body",
]


class KalshiError(Exception):
    """Base class of every error the REST client raises."""


class ExchangeError(KalshiError):
    """The exchange answered with an error status.

    Attributes
    ----------
    status : int
        HTTP status.
    code, message, details : str
        From the error body (empty when absent).
    method, path : str
        The request.
    body : str
        The raw body (truncated to 2,000 characters).
    """

    def __init__(
        self,
        status: int,
        code: str = "",
        message: str = "",
        details: str = "",
        *,
        method: str = "",
        path: str = "",
        body: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.method = method
        self.path = path
        self.body = body[:2000]
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [f"{self.method} {self.path} -> HTTP {self.status}"]
        if self.code:
            parts.append(self.code)
        if self.message:
            parts.append(repr(self.message))
        if self.details:
            parts.append(f"details: {self.details}")
        return ": ".join(parts[:1]) + (" " + " ".join(parts[1:]) if len(parts) > 1 else "")


class RejectedError(ExchangeError):
    """A 4xx answer: the request was refused and had no effect."""


class RateLimitedError(RejectedError):
    """HTTP 429 after the client's retries ran out (the request had no effect)."""


class ServerError(ExchangeError):
    """A 5xx answer to a read after the client's retries ran out."""


class AuthenticationError(RejectedError):
    """HTTP 401, with what the client could check locally.

    Attributes
    ----------
    key_id : str
        The key id sent.
    key_id_well_formed : bool
        Whether it has the form of a Kalshi key id (a UUID).
    key_bits : int
        Size of the private key (it parsed, or the client could not have signed).
    clock_skew_s : float or None
        Server ``Date`` minus local time, seconds (``Date`` has one-second resolution), when the
        response carried one.
    """

    def __init__(
        self,
        status: int,
        code: str = "",
        message: str = "",
        details: str = "",
        *,
        method: str = "",
        path: str = "",
        body: str = "",
        key_id: str = "",
        key_id_well_formed: bool = True,
        key_bits: int = 0,
        clock_skew_s: float | None = None,
    ) -> None:
        self.key_id = key_id
        self.key_id_well_formed = key_id_well_formed
        self.key_bits = key_bits
        self.clock_skew_s = clock_skew_s
        super().__init__(status, code, message, details, method=method, path=path, body=body)

    def _text(self) -> str:
        base = super()._text()
        checks = [
            f"server said {self.body!r}",
            f"key id {self.key_id!r} "
            + (
                "has the form of a Kalshi key id"
                if self.key_id_well_formed
                else "is NOT a UUID like Kalshi key ids"
            ),
            f"private key parses (RSA-{self.key_bits})",
        ]
        if self.clock_skew_s is None:
            checks.append("clock skew unknown (no Date header)")
        else:
            skew = self.clock_skew_s
            verdict = "local clock looks right" if abs(skew) < 5 else "LOCAL CLOCK IS OFF, fix NTP"
            checks.append(f"server clock - local clock = {skew:+.1f} s ({verdict})")
        return f"authentication failed: {base}; " + "; ".join(checks)


class OutcomeUnknownError(KalshiError):
    """A write whose outcome is unknown (timeout, lost connection, 408, 5xx) and stayed unresolved.

    Never re-send it blindly: the exchange may have executed it. The client resolves unknown
    outcomes of order writes itself by default (``resolve=True``); this is raised when that is
    off, for writes that cannot be resolved (order-group create and reset, cancel-all, a
    ``reduce_by`` decrease without known prior counts), or when the exchange's data did not
    allow a verdict within ``resolve_timeout_s``. Resolve it
    later (:meth:`centbook.rest.RestClient.resolve_create` for creates), or re-send a create with
    the *same* ``client_order_id`` so the exchange refuses a duplicate.

    Attributes
    ----------
    method, path : str
        The request.
    client_order_ids : list of str
        Orders the write would have created (creates and batch creates).
    order_id : str or None
        The order an amend/cancel/decrease targeted.
    ticker : str or None
        Market of a create.
    sent_unix_ms : int
        Local wall-clock time the request was sent.
    cause : str
        What happened (exception or status).
    """

    def __init__(
        self,
        method: str,
        path: str,
        cause: str,
        *,
        client_order_ids: list[str] | None = None,
        order_id: str | None = None,
        ticker: str | None = None,
        sent_unix_ms: int = 0,
    ) -> None:
        self.method = method
        self.path = path
        self.cause = cause
        self.client_order_ids = list(client_order_ids or [])
        self.order_id = order_id
        self.ticker = ticker
        self.sent_unix_ms = sent_unix_ms
        what = f" client_order_id(s) {self.client_order_ids}" if self.client_order_ids else ""
        if order_id:
            what += f" order {order_id}"
        super().__init__(f"outcome unknown: {method} {path}{what}: {cause}")


class WriteNotAppliedError(KalshiError):
    """A write whose outcome was unknown was shown not to have taken effect.

    Raised once the exchange's REST data is past the send time plus the resolution margin and
    the order (or group) still shows the state from before the write. Nothing was changed;
    whether to send the write again is the caller's decision (the client re-sends only writes
    that can only reduce exposure, and only when asked to; see
    :meth:`centbook.rest.RestClient.cancel_order`).

    Attributes
    ----------
    method, path : str
        The request.
    order_id : str or None
        The order the write targeted (None for order-group writes).
    cause : str
        What made the outcome unknown in the first place.
    state : object
        What the exchange showed when the verdict was reached (an
        :class:`~centbook.protocol.models.Order` or :class:`~centbook.protocol.models.OrderGroup`), or None.
    """

    def __init__(
        self,
        method: str,
        path: str,
        cause: str,
        *,
        order_id: str | None = None,
        state: Any = None,
        detail: str = "",
    ) -> None:
        self.method = method
        self.path = path
        self.cause = cause
        self.order_id = order_id
        self.state = state
        what = f" order {order_id}" if order_id else ""
        extra = f"; {detail}" if detail else ""
        super().__init__(
            f"not applied: {method} {path}{what} did not take effect (outcome was unknown: {cause}){extra}"
        )


class OrderNotPlacedError(WriteNotAppliedError):
    """An order whose create had an unknown outcome was shown not to exist on the exchange.

    It is safe to send again, best with the same ``client_order_id``. A subclass of
    :class:`WriteNotAppliedError`, so one ``except`` catches every "did not happen" verdict.

    Attributes
    ----------
    client_order_id : str
    ticker : str
    cause : str
        What made the outcome unknown in the first place.
    """

    def __init__(self, client_order_id: str, ticker: str, cause: str) -> None:
        self.client_order_id = client_order_id
        self.ticker = ticker
        self.method, self.path, self.cause = "POST", "/portfolio/events/orders", cause
        self.order_id, self.state = None, None
        KalshiError.__init__(
            self,
            f"order {client_order_id!r} on {ticker} was not placed (outcome was unknown: {cause}); "
            "safe to re-send",
        )


class SettlementFloorError(KalshiError, ValueError):
    """An order price refused locally: at or below the market's settlement floor.

    Kalshi requires the YES price of every order on a ``floor`` market to be above
    ``settlement_floor_dollars`` (a NO price below $1 minus it: the same bound); the client
    refuses such a create or amend before sending it, when it has the market's metadata cached.

    Attributes
    ----------
    ticker : str
    price_bp : int
        The YES price asked for.
    floor_bp : int
        The market's floor as cached.
    """

    def __init__(self, ticker: str, price_bp: int, floor_bp: int) -> None:
        self.ticker = ticker
        self.price_bp = price_bp
        self.floor_bp = floor_bp
        super().__init__(
            f"price_bp {price_bp} is at or below the settlement floor of {ticker}, {floor_bp} bp "
            "(a 'floor' market: the YES price must be above the floor); not sent"
        )


def parse_error_body(raw: bytes | str) -> tuple[str, str, str]:
    """Return ``(code, message, details)`` from any of Kalshi's three error shapes.

    Unparseable bodies give ``("", first 200 characters, "")``.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        doc = json.loads(text)
    except ValueError:
        return "", text[:200], ""
    if not isinstance(doc, dict):
        return "", text[:200], ""
    err = doc.get("error")
    if isinstance(err, dict):
        doc = err
    elif isinstance(err, str):
        return err.replace(" ", "_"), err, ""
    return (
        str(doc.get("code") or ""),
        str(doc.get("message") or ""),
        str(doc.get("details") or ""),
    )


def error_for(status: int, raw: bytes | str, method: str, path: str) -> ExchangeError:
    """Build the exception class that fits an error status (401 is built by the client)."""
    code, message, details = parse_error_body(raw)
    body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    cls: type[ExchangeError]
    if status == 429:
        cls = RateLimitedError
    elif status >= 500 or status == 408:
        cls = ServerError
    else:
        cls = RejectedError
    return cls(status, code, message, details, method=method, path=path, body=body)


def error_from_item(item: Any) -> tuple[str, str, str]:
    """Return ``(code, message, details)`` of a batch item's ``error`` object."""
    if not isinstance(item, dict):
        return "", str(item), ""
    return str(item.get("code") or ""), str(item.get("message") or ""), str(item.get("details") or "")
