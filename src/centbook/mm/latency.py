"""Latency histograms of the market maker's decisions (monotonic ns).

Stages of one decision: first frame of the socket read -> books applied (the read listener is
called) -> decision -> request bytes handed to the transport (the "written" hook:
:mod:`centbook.mm.stamp`: the order lane's ``on_written``, or an aiohttp request class) ->
response. The exchange's side: ``exchange_to_written`` is the ``ts_ms`` of the read's last book
frame (any market's; none when that frame was a snapshot; the exchange's clock, whole ms) to the
wall-clock time of the write, so it also holds the clock difference between the exchange and
this host (zero on the sim); an exchange clock ahead of ours counts as 0. ``tick_to_trade`` is read ->
written, also split by whether the write's signature was made ahead of use
(``tick_to_trade_presigned``) or on demand (``tick_to_trade_signed``). These time decisions that
found their slot idle, and include the client's rate budget; a decision made while the slot's
previous write was in flight waits for it (at most one write per slot) and is timed apart
(``tick_to_trade_queued``). A write released by the minimum quote life is not timed.
``tick_to_first_write`` (and its pre-signed part) counts only the first write each socket read
starts (marked when the write is armed: a write that then waits for the budget stays the first):
when a tick moves both quotes, the second write waits for the first (one thread), and every
write is in ``tick_to_trade``.

The compiled requote path (:mod:`centbook.mm.quoter`) is also timed stage by stage, per write it
made: ``compiled_python_frames`` the time its read's other frames spent in Python before the
path ran; ``compiled_read_to_hook`` first frame -> the path starts (books applied and those
frames); ``compiled_hook_to_decision`` -> its decision (targets, threshold, after the decisions
of the markets before it in the read); ``compiled_decision_to_request`` ->
its request made (the remaining checks, the budget, the bytes); ``compiled_request_to_written``
-> handed to the transport, for the first write of the read and apart for a later one
(``compiled_request_to_written_later``: it also waits for the writes before it).

Parts: :class:`Latency` (one histogram per stage), :data:`LATENCIES` (their names).
"""
from __future__ import annotations

from typing import Any

from centbook.metrics import Histogram

__all__ = ["LATENCIES", "Latency"]


class Latency:
    """Histograms per decision stage (ns); see the module docstring. One per annotation below."""

    read_to_applied: Histogram
    applied_to_decision: Histogram
    decision_to_written: Histogram
    written_to_response: Histogram
    exchange_to_written: Histogram
    tick_to_trade: Histogram
    tick_to_trade_presigned: Histogram
    tick_to_trade_signed: Histogram
    tick_to_trade_queued: Histogram
    tick_to_first_write: Histogram
    tick_to_first_write_presigned: Histogram
    compiled_python_frames: Histogram
    compiled_read_to_hook: Histogram
    compiled_hook_to_decision: Histogram
    compiled_decision_to_request: Histogram
    compiled_request_to_written: Histogram
    compiled_request_to_written_later: Histogram
    requote_amend: Histogram
    requote_cancel_create: Histogram

    def __init__(self) -> None:
        for name in LATENCIES:
            setattr(self, name, Histogram(name))

    def summaries(self) -> dict[str, dict[str, Any]]:
        """Every histogram's summary by name."""
        return {name: getattr(self, name).summary() for name in LATENCIES}


#: The histograms' names, in the order the summary prints them.
LATENCIES = tuple(Latency.__annotations__)
