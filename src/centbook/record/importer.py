"""Captures in the gzipped NDJSON format into a recording.

The capture format: one line per WebSocket message, ``{"recv_ms": <Unix ms>, "event": <the
message as sent>}``, one file per market, gzipped, with the event's REST response
(``{"response": {"event": ..., "markets": [...]}}``) as ``<event_ticker>.json`` in a metadata
directory. Each file becomes one connection of the recording, its frames the ``event`` bytes
exactly as stored, merged across files in receive order; both receive times are ``recv_ms``
(the format has no monotonic clock).

The format's quirks, kept so a replay handles them as the live client did:

- seq counts a subscription the capturing client shared with markets outside the file, so it
  jumps within a file: each connection's ``import`` action says ``"seq": "shared"`` and the replay
  does not take the jumps for gaps;
- a snapshot in the middle of a file is a fresh subscription after a reconnect: the coverage
  record of the market shows the interval before it (from the market's previous frame) as a gap
  with cause ``reconnect``.

Parts: :func:`import_captures`, :class:`CaptureError`, :func:`read_capture`, :func:`load_metadata`.
"""
from __future__ import annotations

import gzip
import heapq
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from centbook.record.segment import Kind, SegmentWriter

__all__ = ["CaptureError", "ImportSummary", "import_captures", "load_metadata", "read_capture"]

_TYPE = re.compile(rb'"type":"([a-z_]+)"')
_TICKER = re.compile(rb'"market_ticker":"([^"]+)"')
MS = 1_000_000


class CaptureError(ValueError):
    """A capture or metadata file is not in the expected format (the message names file and line)."""


class ImportSummary(NamedTuple):
    """What an import wrote."""
    frames: int
    markets: list[str]
    connections: int


def read_capture(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    """Yield ``(recv_ms, event bytes as stored)`` for each line of a gzipped NDJSON capture.

    Raises
    ------
    CaptureError
        Naming the file and line that is not ``{"recv_ms": int, "event": {...}}``.
    """
    try:
        with gzip.open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                yield _parse_line(path, number, line)
    except (OSError, EOFError) as exc:
        raise CaptureError(f"{path}: cannot read: {exc}") from None


def _parse_line(path: Any, number: int, line: bytes) -> tuple[int, bytes]:
    try:
        body = json.loads(line)
    except ValueError as exc:
        raise CaptureError(f"{path}:{number}: not JSON: {exc}") from None
    if (not isinstance(body, dict) or list(body) != ["recv_ms", "event"]
            or not isinstance(body["recv_ms"], int) or not isinstance(body["event"], dict)):
        raise CaptureError(f'{path}:{number}: expected {{"recv_ms": int, "event": {{...}}}} in that order')
    start = line.index(b'"event"') + len(b'"event"')
    raw = line[start:-1].lstrip(b" :").rstrip()
    return body["recv_ms"], raw


def load_metadata(directory: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Return ``{ticker: market JSON}`` from every ``*.json`` event response in ``directory``.

    Raises
    ------
    CaptureError
        When the directory is missing or a file holds no markets.
    """
    d = Path(directory)
    if not d.is_dir():
        raise CaptureError(f"--metadata {d}: not a directory")
    markets: dict[str, dict[str, Any]] = {}
    for path in sorted(d.glob("*.json")):
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CaptureError(f"{path}: cannot read event metadata: {exc}") from None
        response = body.get("response", body) if isinstance(body, dict) else {}
        found = response.get("markets") or (response.get("event") or {}).get("markets") or []
        if not found:
            raise CaptureError(f"{path}: no markets in it (expected response.markets)")
        for market in found:
            markets[market["ticker"]] = market
    return markets


def _first_ticker(path: Path) -> str:
    for _, raw in read_capture(path):
        m = _TICKER.search(raw)
        if m:
            return m.group(1).decode()
    raise CaptureError(f"{path}: no message names a market")


def _tagged(path: Path, connection: int) -> Iterator[tuple[int, int, bytes]]:
    for ms, raw in read_capture(path):
        yield ms, connection, raw


def import_captures(captures: Sequence[str | os.PathLike[str]], metadata: str | os.PathLike[str],
                    writer: SegmentWriter) -> ImportSummary:
    """Import capture files and their metadata into a recording (the writer is closed at the end).

    Parameters
    ----------
    captures : sequence of paths
        Gzipped NDJSON captures, one market each (the market is read from the first message).
    metadata : path
        The directory of event metadata files.
    writer : SegmentWriter

    Returns
    -------
    ImportSummary

    Raises
    ------
    CaptureError
        A file in the wrong format, or a captured market missing from the metadata.
    """
    if not captures:
        raise CaptureError("no capture files given")
    paths = [Path(p) for p in captures]
    markets = load_metadata(metadata)
    tickers = [_first_ticker(p) for p in paths]
    missing = [t for t in tickers if t not in markets]
    if missing:
        raise CaptureError(f"no metadata for {', '.join(missing)} in {metadata}")
    first = min(next(read_capture(p))[0] for p in paths) * MS
    for c, (path, ticker) in enumerate(zip(paths, tickers, strict=True)):
        writer.add_json(Kind.ACTION, c, {"action": "import", "source": path.name, "seq": "shared",
                                         "use_yes_price": False, "connection": c}, first, first)
        writer.add_json(Kind.META, c, markets[ticker], first, first)
    streams = [_tagged(p, c) for c, p in enumerate(paths)]
    frames = 0
    last: dict[int, int] = {}
    gaps: dict[int, list[dict[str, Any]]] = {c: [] for c in range(len(paths))}
    live_from: dict[int, int] = {}
    for ms, c, raw in heapq.merge(*streams, key=lambda item: item[0]):
        ns = ms * MS
        m = _TYPE.search(raw)
        if m is not None and m.group(1) == b"orderbook_snapshot":
            if c in live_from:
                gaps[c].append({"from_ns": last[c], "to_ns": ns, "cause": "reconnect", "state": "STALE"})
            else:
                live_from[c] = ns
        last[c] = ns
        writer.add(Kind.FRAME, c, ns, ns, raw)
        frames += 1
    for c, ticker in enumerate(tickers):
        live, start = [], live_from.get(c)
        for gap in gaps[c]:
            live.append([start, gap["from_ns"]])
            start = gap["to_ns"]
        if start is not None:
            live.append([start, last[c]])
        writer.add_json(Kind.COVERAGE, c, {"ticker": ticker, "summary": True, "live": live, "gaps": gaps[c]},
                        last.get(c, first), last.get(c, first))
    writer.close()
    return ImportSummary(frames, tickers, len(paths))
