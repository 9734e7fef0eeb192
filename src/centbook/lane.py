"""The import path ``centbook.lane``: the public names of :mod:`centbook.rest.lane`."""
from centbook.rest.lane import (
    LaneError,
    LaneLostError,
    LaneNotSentError,
    LaneResponse,
    LaneWrite,
    OrderLane,
)

__all__ = [
    "LaneError", "LaneNotSentError", "LaneLostError", "LaneResponse", "LaneWrite", "OrderLane",
]
