"""The rejections the embedded exchange answers with, shaped as Kalshi's error envelope."""

from __future__ import annotations

__all__ = ["SimError", "bad_request", "not_found", "invalid_order"]


class SimError(Exception):
    """A request the exchange refuses, answered as ``{"error": {"code", "message", "details"}}``.

    Parameters
    ----------
    status : int
        HTTP status of the answer.
    code : str
        Kalshi's machine-readable error code (``invalid_order``, ``insufficient_balance`` ...).
    message : str
        The human-readable message Kalshi pairs with the code.
    details : str
        What exactly was wrong (which field, which value); empty when there is nothing to add.
    """

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(f"{status} {code}: {message} ({details})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict:
        """Return the inner error object ``{code, message, details}``."""
        return {"code": self.code, "message": self.message, "details": self.details}


def bad_request(
    details: str, code: str = "invalid_parameters", message: str = "invalid parameters"
) -> SimError:
    """Return a 400 naming what was wrong with the request."""
    return SimError(400, code, message, details)


def not_found(details: str, code: str = "not_found", message: str = "not found") -> SimError:
    """Return a 404."""
    return SimError(404, code, message, details)


def invalid_order(details: str) -> SimError:
    """Return a 400 ``invalid_order`` rejection."""
    return SimError(400, "invalid_order", "invalid order", details)
