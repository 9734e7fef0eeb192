"""Kalshi's vocabulary, without I/O.

- :mod:`~centbook.protocol.messages`: the WebSocket messages, decoded into typed objects;
- :mod:`~centbook.protocol.commands`: the WebSocket commands (subscribe, snapshots, ...);
- :mod:`~centbook.protocol.models`: the REST answers, in integer units;
- :mod:`~centbook.protocol.errors`: the exchange's errors as exceptions.
"""
