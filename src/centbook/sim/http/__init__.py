"""The embedded exchange's HTTP side: the aiohttp application, its REST routes and ``/admin``.

Parts: :mod:`centbook.sim.http.app` (:class:`SimServer`, the routes, REST fault injection and
admin) and :mod:`centbook.sim.http.params` (query and body parsing). The choices the sim makes
where Kalshi is silent are listed in :mod:`centbook.sim.http.app`.
"""

from centbook.sim.http.app import API, WS_PATH, BodyError, Fault, SimServer
from centbook.sim.http.params import MAX_COUNT

__all__ = ["API", "MAX_COUNT", "WS_PATH", "BodyError", "Fault", "SimServer"]
