"""Where our resting orders stand in the recorded queue when others cancel.

An order joins the back of its level: the size ahead of it is the recorded size there when it
arrives. Trades at the level consume the size ahead first (:mod:`centbook.backtest.exchange`);
a decrease of the level that no trade explains is others cancelling, and a queue model says how
much of it was ahead of us:

- :class:`Pessimistic`: cancels come from the back; only what exceeds the size behind us moves
  us forward;
- :class:`Proportional`: cancels spread over the level in proportion, so the size ahead shrinks
  by ``cancelled * ahead / level`` (rounded down: never ahead of the proportional share);
- :class:`Probabilistic`: each cancel is ahead of us with probability ``ahead / level``, drawn
  from a seeded generator.

Parts: :class:`QueueModel`, :class:`Pessimistic`, :class:`Proportional`, :class:`Probabilistic`,
:func:`queue_model`, :data:`QUEUE_MODELS`.
"""
from __future__ import annotations

import random
from typing import Protocol

__all__ = ["QUEUE_MODELS", "Pessimistic", "Probabilistic", "Proportional", "QueueModel", "queue_model"]


class QueueModel(Protocol):
    """The size ahead of an order after others cancel at its level."""

    def after_cancel(self, ahead: int, level: int, cancelled: int) -> int:
        """Return the new size ahead.

        Parameters
        ----------
        ahead : int
            Recorded size ahead of the order before the cancel (``<= level``).
        level : int
            Recorded size of the level before the cancel (our order not included).
        cancelled : int
            Size cancelled (``<= level``).
        """
        ...


class Pessimistic:
    """Cancels come from the back of the queue."""

    def after_cancel(self, ahead: int, level: int, cancelled: int) -> int:
        return min(ahead, level - cancelled)


class Proportional:
    """Cancels spread over the queue in proportion to position."""

    def after_cancel(self, ahead: int, level: int, cancelled: int) -> int:
        if level <= 0:
            return 0
        return min(ahead - cancelled * ahead // level, level - cancelled)


class Probabilistic:
    """Each cancel is ahead of us with probability ``ahead / level`` (seeded)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def after_cancel(self, ahead: int, level: int, cancelled: int) -> int:
        if level <= 0:
            return 0
        if self.rng.random() * level < ahead:
            ahead -= cancelled
        return max(0, min(ahead, level - cancelled))


QUEUE_MODELS = ("pessimistic", "proportional", "probabilistic")


def queue_model(name: str, seed: int = 0) -> QueueModel:
    """Return the queue model called ``name`` (one of :data:`QUEUE_MODELS`)."""
    if name == "pessimistic":
        return Pessimistic()
    if name == "proportional":
        return Proportional()
    if name == "probabilistic":
        return Probabilistic(seed)
    raise ValueError(f"queue model must be one of {', '.join(QUEUE_MODELS)}, got {name!r}")
