"""The import path ``centbook.commands``: the public names of :mod:`centbook.protocol.commands`."""
from centbook.protocol.commands import (
    CHANNELS,
    UPDATE_ACTIONS,
    CommandIds,
    add_markets,
    delete_markets,
    get_snapshot,
    list_subscriptions,
    subscribe,
    unsubscribe,
    update_subscription,
)

__all__ = [
    "CHANNELS", "UPDATE_ACTIONS", "subscribe", "unsubscribe", "update_subscription", "add_markets",
    "delete_markets", "get_snapshot", "list_subscriptions", "CommandIds",
]
