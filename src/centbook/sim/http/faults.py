"""REST fault injection for the embedded exchange: what to break, and the log of what was broken.

Parts: :class:`Fault` (one injected fault: which requests it hits and what it does) and
:class:`FaultInjector` (the active faults, their ids and the fault log, with wall and exchange
timestamps). The middleware of :class:`centbook.sim.http.app.SimServer` applies them.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from centbook.sim.engine import Exchange

__all__ = ["Fault", "FaultInjector"]

log = logging.getLogger("centbook.sim")


@dataclass
class Fault:
    """An injected REST fault.

    Attributes
    ----------
    method : str
        HTTP method to match, or ``*``.
    path : str
        Regular expression matched (``re.search``) against the path after ``/trade-api/v2``.
    action : str
        ``status`` (answer ``status`` without processing), ``timeout`` (hold the request
        ``delay_s`` seconds, then close the connection unanswered), ``drop`` (process it, then close
        the connection without answering), ``delay`` (process it, answer after ``delay_s``).
    status : int
        The status for ``status`` faults (5xx).
    delay_s : float
        Seconds for ``timeout`` and ``delay``.
    times : int or None
        How many requests it hits before it expires; None = until removed.
    """

    method: str
    path: str
    action: str
    status: int = 503
    delay_s: float = 30.0
    times: int | None = 1
    fault_id: int = 0
    _rx: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, sub_path: str) -> bool:
        if self._rx is None:
            self._rx = re.compile(self.path)
        return (self.method in ("*", method)) and bool(self._rx.search(sub_path))


class FaultInjector:
    """The REST faults of one sim and the log of faults and admin changes.

    Parameters
    ----------
    exchange : Exchange
        The engine, whose clock stamps log entries.

    Attributes
    ----------
    faults : list of Fault
        The active faults, matched in order.
    fault_log : list of dict
        Every injected fault and admin change, oldest first.
    """

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.faults: list[Fault] = []
        self.fault_log: list[dict[str, Any]] = []
        self._fault_ids = 0

    def add_fault(
        self,
        method: str,
        path: str,
        action: str,
        *,
        status: int = 503,
        delay_s: float = 30.0,
        times: int | None = 1,
    ) -> int:
        """Inject a REST fault (see :class:`Fault`); return its id."""
        if action not in ("status", "timeout", "drop", "delay"):
            raise ValueError(f"unknown fault action {action!r}")
        re.compile(path)
        self._fault_ids += 1
        self.faults.append(Fault(method.upper(), path, action, status, delay_s, times, self._fault_ids))
        self.log_fault(
            "fault_added",
            method=method,
            path=path,
            action=action,
            status=status,
            delay_s=delay_s,
            times=times,
            fault_id=self._fault_ids,
        )
        return self._fault_ids

    def clear_faults(self) -> None:
        """Remove every injected REST fault."""
        self.faults.clear()
        self.log_fault("faults_cleared")

    def log_fault(self, kind: str, **data: Any) -> None:
        """Record an injected fault (or admin change) with wall and exchange timestamps."""
        entry = {
            "ts_ms": int(time.time() * 1000),
            "exchange_ts_ms": self.exchange.clock.now_ms(),
            "kind": kind,
            **data,
        }
        self.fault_log.append(entry)
        log.info("sim fault: %s", entry)

    def take_fault(self, method: str, sub_path: str) -> Fault | None:
        """Return the first fault matching the request, counting it down; None if none does."""
        for fault in self.faults:
            if fault.matches(method, sub_path):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None
