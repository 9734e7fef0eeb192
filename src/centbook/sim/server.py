"""The sim's HTTP side under its original path; the parts live in :mod:`centbook.sim.http`."""

from centbook.sim.http import API, MAX_COUNT, WS_PATH, BodyError, Fault, SimServer

__all__ = ["SimServer", "Fault"]
__all__ += [
    "API",
    "BodyError",
    "MAX_COUNT",
    "WS_PATH",
]
