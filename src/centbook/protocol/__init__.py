"""Kalshi's vocabulary, without I/O.

- :mod:`~centbook.protocol.messages`: the WebSocket messages, decoded into typed objects;
- :mod:`~centbook.protocol.commands`: the WebSocket commands (subscribe, snapshots, ...);
- :mod:`~centbook.protocol.models`: the REST answers, in integer units, from
  :mod:`~centbook.protocol.orders` and :mod:`~centbook.protocol.markets` (fields parsed by
  :mod:`~centbook.protocol.fields`);
- :mod:`~centbook.protocol.errors`: the exchange's errors as exceptions;
- :mod:`~centbook.protocol.environments`: the exchange's REST and WebSocket URLs.
"""
