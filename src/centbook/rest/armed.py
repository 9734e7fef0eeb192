"""Order writes prepared ahead of the moment they are sent.

- :class:`ArmedWrite`: a write reserved by :meth:`~centbook.rest.client.RestClient.arm_amend` or
  :meth:`~centbook.rest.client.RestClient.arm_cancel` (signature, connection, request bytes);
- :class:`StartedWrite`: a write already handed to the order lane, whose answer is still owed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from centbook.rest.lane import LaneWrite

__all__ = ["ArmedWrite", "StartedWrite"]

@dataclass(slots=True)
class ArmedWrite:
    """What :meth:`RestClient.arm_amend` or :meth:`RestClient.arm_cancel` reserved for one write
    of an order (see there).

    An amend's ``head`` is the request up to its Content-Length value; the body is ``body_pre``
    + price (4 decimals) + ``body_mid`` + count (2 decimals) + ``body_post``. A cancel's ``head``
    is the whole request (no body; the three body parts are empty). The write is due to the
    budget bucket ``bucket`` (``cost`` tokens). ``fresh_until_ns`` (monotonic): after it the
    signature or the connection is too old to be used.
    """

    method: str
    order_id: str
    full_path: str
    conn: Any
    head: bytes
    body_pre: bytes
    body_mid: bytes
    body_post: bytes
    bucket: str
    cost: int
    timestamp_ms: int
    signature: str
    fresh_until_ns: int


class StartedWrite:
    """An order write already handed to the order lane (:meth:`RestClient.start_amend`).

    Attributes
    ----------
    write : centbook.rest.lane.LaneWrite
    sent_ms : int
        Unix ms just before the write (an unknown outcome's time).
    signature : str
        The pre-made signature it carries.
    written_ns : int
        ``time.monotonic_ns()`` right after its bytes were handed to the transport.
    """

    __slots__ = ("write", "sent_ms", "signature", "written_ns")

    def __init__(self, write: LaneWrite, sent_ms: int, signature: str) -> None:
        self.write = write
        self.sent_ms = sent_ms
        self.signature = signature
        self.written_ns = time.monotonic_ns()
