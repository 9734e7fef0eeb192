"""The import path ``centbook.budget``: the public names of :mod:`centbook.rest.budget`."""
from centbook.rest.budget import (
    AMEND,
    API_PREFIX,
    CANCEL,
    CREATE,
    READ,
    BudgetCore,
    BudgetTooSmallError,
    EndpointCosts,
    Limits,
    RateBudget,
    Ticket,
    TokenBucket,
    bucket_for,
)

__all__ = [
    "CANCEL", "AMEND", "CREATE", "READ", "API_PREFIX", "BudgetTooSmallError", "Limits",
    "EndpointCosts", "bucket_for", "TokenBucket", "Ticket", "BudgetCore", "RateBudget",
]
