"""The REST client's transport: one request through the rate budget, and what its answer means.

- :class:`Transport`: sends a request (aiohttp, or the order lane for writes), retries reads and
  429s with backoff, classifies a write's timeout, lost connection, 408 or 5xx as an unknown
  outcome (never re-sent), and pages cursor lists;
- :func:`encode_json`, :func:`query`, :func:`lane_target`: a body, a query and a lane request
  target as Kalshi reads them;
- :func:`backoff`: exponential backoff with jitter.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
import msgspec

from centbook.auth import Credentials
from centbook.protocol.errors import (
    AuthenticationError,
    KalshiError,
    OutcomeUnknownError,
    error_for,
    parse_error_body,
)
from centbook.protocol.models import ProtocolError
from centbook.rest import budget as _budget
from centbook.rest.budget import RateBudget, bucket_for
from centbook.rest.lane import LaneError, LaneNotSentError, OrderLane

if TYPE_CHECKING:  # centbook.rest.armed builds its writes with this module's helpers
    from centbook.rest.armed import StartedWrite

__all__ = ["Transport", "backoff", "encode_json", "lane_target", "query"]

log = logging.getLogger("centbook.rest")

#: Encode a request body as Kalshi reads it (compact JSON; the bytes sent on the wire).
encode_json = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def query(params: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Query parameters as Kalshi reads them: None dropped, booleans lower-case, a list repeated.

    A list value is sent as the parameter repeated (OpenAPI's ``style: form, explode: true``).
    """
    q: list[tuple[str, str]] = []
    for k, v in (params or {}).items():
        for item in v if isinstance(v, list | tuple) else (v,):
            if item is not None:
                q.append((k, str(item).lower() if isinstance(item, bool) else str(item)))
    return q


def lane_target(full_path: str, q: list[tuple[str, str]]) -> str:
    """The request target the order lane writes: the path and its query."""
    return f"{full_path}?{urlencode(q)}" if q else full_path


def backoff(attempt: int, base: float = 0.05, cap: float = 1.0) -> float:
    """Exponential backoff with full jitter in [delay/2, delay]."""
    delay = min(cap, base * 2.0 ** (attempt - 1))
    return delay * (0.5 + random.random() / 2)


class Transport:
    """Signed, rate-budgeted requests to one Kalshi REST base URL.

    Parameters
    ----------
    base_url : str
        ``.../trade-api/v2``.
    path_prefix : str
        The URL's path (part of every signed path).
    credentials : Credentials, optional
        Whose requests these are (needed for ``auth``).
    budget : RateBudget
        Admits every authenticated request.
    lane : OrderLane, optional
        Carries the writes when given; reads stay on aiohttp.
    sign : callable
        ``sign(headers, method, full_path)`` puts the auth headers into ``headers``.
    on_rate_limited : callable
        Called after a 429 (the owner re-reads its limits).
    stats : dict
        Counters shared with the owner (``requests``, ``rate_limited``, ``unknown``,
        ``retried_reads``).
    read_retries, rate_limit_retries : int
        See :class:`~centbook.rest.settings.RestSettings`.

    Attributes
    ----------
    session : aiohttp.ClientSession or None
        Set by the owner when it opens; None while closed.
    clock_skew_s : float or None
        Server clock minus ours, from a response's ``Date``.
    unresolved : dict
        ``client_order_id -> OutcomeUnknownError`` of creates whose outcome is still unknown.
    """

    def __init__(
        self,
        base_url: str,
        path_prefix: str,
        credentials: Credentials | None,
        budget: RateBudget,
        lane: OrderLane | None,
        sign: Callable[[dict[str, str], str, str], None],
        on_rate_limited: Callable[[], None],
        stats: dict[str, int],
        *,
        read_retries: int,
        rate_limit_retries: int,
    ) -> None:
        self.base_url = base_url
        self.path_prefix = path_prefix
        self.credentials = credentials
        self.budget = budget
        self.lane = lane
        self._sign = sign
        self._on_rate_limited = on_rate_limited
        self.stats = stats
        self.read_retries = read_retries
        self.rate_limit_retries = rate_limit_retries
        self.session: aiohttp.ClientSession | None = None
        self.clock_skew_s: float | None = None
        self.unresolved: dict[str, OutcomeUnknownError] = {}

    def _note_date(self, headers: Any) -> None:
        date = headers.get("Date") or headers.get("date")  # aiohttp's headers, or the lane's
        if not date:
            return
        try:
            server = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        self.clock_skew_s = server - time.time()

    async def request(
        self,
        method: str,
        sub_path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        auth: bool = True,
        write: bool = False,
        priority: int = _budget.READ,
        exchange_index: int | None = None,
        units: int = 1,
        batch: bool = False,
        unknown: dict[str, Any] | None = None,
        started: StartedWrite | None = None,
    ) -> Any:
        """Send one request through the budget; return the decoded JSON body.

        Writes: a timeout, lost connection, 408 or 5xx raises OutcomeUnknownError (never re-sent).
        Reads: those are retried ``read_retries`` times. Any request: 429 waits and retries.
        ``started``: the first attempt was already written on the lane (with these
        same arguments); only its answer is awaited.
        """
        if self.session is None:
            raise RuntimeError("the client is not open (use 'async with RestClient(...)')")
        full_path = self.path_prefix + sub_path
        data = encode_json(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        q = query(params)
        lane = self.lane if write else None
        bucket = bucket_for(method, full_path, exchange_index, batch)
        cost = self.budget.cost_of(method, full_path, units)
        attempt_429 = attempt_read = 0
        while True:
            if started is not None:
                sent_ms = started.sent_ms
            else:
                if auth:
                    if self.credentials is None:
                        raise KalshiError(f"{method} {sub_path} needs credentials")
                    await self.budget.acquire(bucket, cost, priority)
                    self._sign(headers, method, full_path)
                sent_ms = int(time.time() * 1000)
                self.stats["requests"] += 1
            first, started = started, None  # a retry is written anew
            try:
                if lane is None:
                    assert first is None, "a started write is a lane write"
                    raw, status = await self._via_aiohttp(method, sub_path, q, headers, data)
                else:  # the lane's writes are awaited here: no call layer between them and the socket
                    answer = await (lane.finish(first.write) if first is not None
                                    else lane.request(method, lane_target(full_path, q), headers, data))
                    raw, status = answer.body, answer.status
                    if status == 401 or self.clock_skew_s is None:
                        self._note_date(answer.headers)
            except (TimeoutError, aiohttp.ClientError, LaneError) as exc:
                error = self._failed(exc, method, sub_path, write, sent_ms, unknown, attempt_read)
                if error is not None:
                    raise error from exc
                attempt_read += 1
                await self._wait_to_retry_read(attempt_read)
                continue
            if status < 300:
                return self._decoded(raw, method, sub_path)
            if status == 429:
                self.stats["rate_limited"] += 1
                self.budget.on_rate_limited(bucket)
                self._on_rate_limited()
                if attempt_429 < self.rate_limit_retries:
                    attempt_429 += 1
                    await asyncio.sleep(backoff(attempt_429, base=0.02, cap=2.0))
                    continue
                raise error_for(status, raw, method, full_path)
            if status == 401:
                raise self.auth_error(status, raw, method, full_path)
            if status == 408 or status >= 500:
                if write:
                    raise self.unknown(method, sub_path, f"HTTP {status}", sent_ms, unknown)
                if attempt_read < self.read_retries:
                    attempt_read += 1
                    await self._wait_to_retry_read(attempt_read)
                    continue
            raise error_for(status, raw, method, full_path)

    async def _via_aiohttp(self, method: str, sub_path: str, q: list[tuple[str, str]],
                           headers: dict[str, str], data: bytes | None) -> tuple[bytes, int]:
        """One attempt on the aiohttp session: the answer's body and status."""
        assert self.session is not None
        request = self.session.request(method, self.base_url + sub_path, params=q, data=data, headers=headers)
        async with request as resp:
            raw = await resp.read()
            status = resp.status
            if status == 401 or self.clock_skew_s is None:
                self._note_date(resp.headers)
        return raw, status

    def _failed(self, exc: BaseException, method: str, sub_path: str, write: bool, sent_ms: int,
                unknown: dict[str, Any] | None, attempt_read: int) -> KalshiError | None:
        """What a timeout or lost connection means: the error to raise, or None to retry the read.

        A write that may have been sent has an unknown outcome (never re-sent); one that never
        left, and a read, are retried ``read_retries`` times.
        """
        never_sent = isinstance(exc, (aiohttp.ClientConnectorError, LaneNotSentError))
        cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if write and not never_sent:
            return self.unknown(method, sub_path, cause, sent_ms, unknown)
        if attempt_read < self.read_retries:
            return None
        if never_sent:
            return KalshiError(f"{method} {sub_path}: cannot connect: {cause}")
        return KalshiError(f"{method} {sub_path}: {cause}")

    async def _wait_to_retry_read(self, attempt: int) -> None:
        self.stats["retried_reads"] += 1
        await asyncio.sleep(backoff(attempt))

    @staticmethod
    def _decoded(raw: bytes, method: str, sub_path: str) -> Any:
        """A 2xx answer's JSON body (``{}`` when empty)."""
        if not raw:
            return {}
        try:
            return _decode(raw)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"{method} {sub_path}: response is not JSON: {raw[:200]!r}") from exc

    def unknown(
        self, method: str, sub_path: str, cause: str, sent_ms: int, ctx: dict[str, Any] | None
    ) -> OutcomeUnknownError:
        """Count and log a write whose outcome is unknown; return its error (to raise)."""
        self.stats["unknown"] += 1
        ctx = ctx or {}
        err = OutcomeUnknownError(
            method,
            sub_path,
            cause,
            client_order_ids=ctx.get("client_order_ids"),
            order_id=ctx.get("order_id"),
            ticker=ctx.get("ticker"),
            sent_unix_ms=sent_ms,
        )
        for coid in err.client_order_ids:
            self.unresolved[coid] = err
        log.warning("%s", err)
        return err

    def auth_error(self, status: int, raw: bytes, method: str, full_path: str) -> AuthenticationError:
        """The error of a 401, with what helps find its cause (key, clock skew)."""
        code, message, details = parse_error_body(raw)
        creds = self.credentials
        return AuthenticationError(
            status,
            code,
            message,
            details,
            method=method,
            path=full_path,
            body=raw.decode("utf-8", "replace"),
            key_id=creds.key_id if creds else "",
            key_id_well_formed=creds.key_id_well_formed if creds else False,
            key_bits=creds.key_bits if creds else 0,
            clock_skew_s=self.clock_skew_s,
        )

    async def pages(
        self, sub_path: str, key: str, params: dict[str, Any], auth: bool = True, cursor_key: str = "cursor"
    ) -> AsyncIterator[Any]:
        """Yield the items of every page of a cursor-paginated list (empty/null cursor ends).

        ``cursor_key`` names the answer's field holding the next cursor (``next_cursor`` in a few
        lists); the request always sends it back as ``cursor``.
        """
        params = dict(params)
        seen: set[str] = set()
        while True:
            doc = await self.request("GET", sub_path, params=params, auth=auth)
            for item in doc.get(key) or []:
                yield item
            cursor = doc.get(cursor_key)
            if not cursor:
                return
            if cursor in seen:
                raise ProtocolError(f"GET {sub_path}: the cursor {cursor!r} repeats")
            seen.add(cursor)
            params["cursor"] = cursor
