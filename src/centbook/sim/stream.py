"""The sim's WebSocket side under its original path; the parts live in :mod:`centbook.sim.ws`."""

from centbook.sim.ws import (
    CHANNELS,
    DEFAULTS,
    ERRORS,
    FAULTS,
    FILTERED,
    NOT_SIMULATED,
    PRIVATE,
    SEQUENCED,
    UPDATABLE,
    UPDATE_REASONS,
    WS_PATH,
    CommandError,
    Connection,
    StreamAdmin,
    StreamHub,
    Subscription,
    market_id,
)

__all__ = ["StreamHub", "StreamAdmin", "Connection", "Subscription", "market_id", "CHANNELS"]
__all__ += [  # the names importers used besides the original __all__
    "CommandError",
    "DEFAULTS",
    "ERRORS",
    "FAULTS",
    "FILTERED",
    "NOT_SIMULATED",
    "PRIVATE",
    "SEQUENCED",
    "UPDATABLE",
    "UPDATE_REASONS",
    "WS_PATH",
]
