"""The embedded exchange's HTTP side: the aiohttp application, its REST routes and ``/admin``.

Parts: :mod:`centbook.sim.http.app` (:class:`SimServer`: the app, middleware and route table),
the route families it holds (:mod:`~centbook.sim.http.markets`, :mod:`~centbook.sim.http.account`,
:mod:`~centbook.sim.http.portfolio`, :mod:`~centbook.sim.http.orders`,
:mod:`~centbook.sim.http.groups`, :mod:`~centbook.sim.http.admin`), what they share
(:mod:`~centbook.sim.http.core`), REST fault injection (:mod:`~centbook.sim.http.faults`) and
query and body parsing (:mod:`~centbook.sim.http.params`). The choices the sim makes where Kalshi
is silent are listed in :mod:`centbook.sim.http.app`.
"""

from centbook.sim.http.app import API, WS_PATH, BodyError, Fault, SimServer
from centbook.sim.http.params import MAX_COUNT

__all__ = ["API", "MAX_COUNT", "WS_PATH", "BodyError", "Fault", "SimServer"]
