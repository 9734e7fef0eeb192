"""The embedded exchange's WebSocket face: Kalshi's ``/trade-api/ws/v2`` commands and channels.

One :class:`StreamHub` per sim keeps the connections and their subscriptions; its
:class:`~centbook.sim.ws.publisher.Publisher` listens to the engine's
:class:`~centbook.sim.engine.EngineEvent` stream and turns each change into the messages Kalshi
sends, for every subscription that wants it, at the moment the engine makes the change. A
client that applies the snapshot and every delta of an ``orderbook_delta`` subscription
therefore holds exactly the book ``GET /markets/{ticker}/orderbook?depth=0`` returns at the same
point.

Choices where Kalshi's documents are silent (PROTOCOL.md 1.3-1.6 and 2):

* ``sid``: per connection, from 1, one per channel of a subscribe command.
* ``seq``: per sid, from 1, +1 per *sequenced* message of that sid; the ``orderbook_snapshot``
  and ``orderbook_delta`` messages of all its markets share one counter. Sequenced messages:
  snapshots, deltas, ``order_group_updates``, ``trade``, ``market_lifecycle_v2`` and
  ``multivariate_market_lifecycle`` (the later AsyncAPI revision puts ``seq`` on those), and
  the ``ok`` and ``unsubscribed`` replies that concern one sid: **an ``ok`` or ``unsubscribed``
  reply consumes the next seq of its sid**, so a client sees no gap across an
  ``update_subscription`` (the spec examples show ``seq`` on both). ``ticker``, ``fill``,
  ``user_order``, ``market_position`` and ``subscribed`` carry no ``seq``.
* Snapshots answering ``get_snapshot`` carry the command ``id`` and take the next seq of the sid;
  no ``ok`` is sent for ``get_snapshot``.
* Subscribing again to a channel the connection already has adds the new markets to the existing
  sid and answers ``ok`` (seq, full ``market_tickers``) followed by the snapshots of the added
  markets; nothing is sent for markets already subscribed.
* An unknown market ticker in a command: error 16 "Market not found" (retired in the later
  revision; what replaced it is not documented). Channels Kalshi has but the sim does not
  simulate (``communications``, index feeds): error 8.
* ``client_order_id`` / ``subaccount`` on a delta: when the subscriber's own request caused it
  (the taker's for a trade); ``subaccount`` only when it is not the primary (0).
* Unsigned upgrades are refused (401) unless ``allow_anonymous`` is set (``centbook sim
  --ws-anonymous``, for watching with any WebSocket client); such a connection gets the public
  channels and ``orderbook_delta``, and error 9 on the private ones.
* Heartbeat: a Ping with body ``heartbeat`` every ``heartbeat_s`` (10 s); client pings are
  answered. No pong timeout is enforced (Kalshi does not document one).
* A bounded send queue per connection (``send_queue`` messages): a subscription whose message
  does not fit is ended with error 25 (the client reads too slowly).
* Limits: ``max_markets`` per subscription (error 26), ``command_rate`` commands per second per
  connection (error 27); Kalshi's published limits (500k markets, 10k commands/s) by default.
* ``ticker``: sent once per event-loop turn for each market whose ticker fields changed;
  ``dollar_volume`` is the traded notional in whole dollars, ``dollar_open_interest`` the open
  interest valued at the last price (approximations; Kalshi does not define them exactly).
* Lifecycle: the engine's ``activated``/``deactivated`` (pause, resume, close), ``determined``,
  ``settled`` and ``price_level_structure_updated``; markets whose ticker starts ``KXMVE`` go to
  ``multivariate_market_lifecycle`` instead.

Faults (see :class:`StreamAdmin`) are applied on the way out and logged in the sim's fault log.
"""

from centbook.sim.ws.admin import StreamAdmin
from centbook.sim.ws.channels import (
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
    market_id,
)
from centbook.sim.ws.connection import Connection, Subscription
from centbook.sim.ws.hub import StreamHub

__all__ = [
    "CHANNELS",
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
    "CommandError",
    "Connection",
    "StreamAdmin",
    "StreamHub",
    "Subscription",
    "market_id",
]
