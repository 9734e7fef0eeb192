"""centbook's REST execution layer: Kalshi's V2 order endpoints over one aiohttp session.

::

    async with centbook.RestClient(url, centbook.Credentials.from_env()) as client:
        result = await client.create_order("KXDEMO-26DEC31-T50", "bid", 4200, 1000)  # $0.42 x 10
        await client.cancel_order(result.order_id)

What it guarantees (PROTOCOL.md 4-5):

* One ``aiohttp`` session, keep-alive, ``TCP_NODELAY`` (aiohttp sets it on every connection).
* Every authenticated request is signed (:mod:`centbook.auth`) and admitted by the client-side
  rate budget (:mod:`centbook.rest.budget`) first, so in normal operation no 429 comes back; a 429 is
  still handled (backoff with jitter, budget recalibrated, ``/account/limits`` re-read).
* Every order carries a ``client_order_id`` (generated when none is given).
* A write whose outcome is unknown (timeout, lost connection, 408, 5xx) is never re-sent: creates
  are resolved by paging ``GET /portfolio/orders`` for the ticker and matching the
  ``client_order_id``; "not placed" is concluded only once ``/exchange/user_data_timestamp`` is
  past the send time plus a margin. Reads are retried.
* Results are typed (:mod:`centbook.protocol.models`) in integer units; requests carry Kalshi's fixed-point
  strings, produced exactly by :mod:`centbook.fixed`.
* ``exchange_index`` is sent on every order write: the caller's, or the shard of the market from
  cached market metadata (fetched once per ticker).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeVar, overload
from urllib.parse import urlsplit

import aiohttp

from centbook.auth import Credentials
from centbook.protocol.environments import REST_URLS
from centbook.protocol.environments import rest_url as environment_url
from centbook.protocol.errors import (
    AuthenticationError,
    ExchangeError,
    OrderNotPlacedError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    ServerError,
)
from centbook.protocol.models import (
    AccountLimits,
    Balance,
    EndpointCostList,
    EventPosition,
    ExchangeStatus,
    Market,
    MarketPosition,
    Order,
    Orderbook,
    OrderGroup,
    PortfolioFill,
    Settlement,
    UserDataTimestamp,
)
from centbook.rest.armed import ArmedWrite, Armer, StartedWrite, amend_template
from centbook.rest.budget import RateBudget
from centbook.rest.cancels import Cancels
from centbook.rest.groups import OrderGroups
from centbook.rest.history import History
from centbook.rest.lane import LaneNotSentError, OrderLane
from centbook.rest.marketdata import MarketData
from centbook.rest.orders import Orders
from centbook.rest.outcome import Resolver
from centbook.rest.portfolio import Portfolio
from centbook.rest.presign import Presigner
from centbook.rest.reads import Reads
from centbook.rest.settings import RestSettings, check_base_url
from centbook.rest.transport import Transport
from centbook.rest.upkeep import BudgetUpkeep

__all__ = ["ENVIRONMENTS", "ArmedWrite", "RestClient", "StartedWrite", "environment_url"]

log = logging.getLogger("centbook.rest")

ENVIRONMENTS = REST_URLS  # the earlier name

_V = TypeVar("_V")
# the client's counters; presign_batches: helper round trips (refills) made for pre-signing,
# presign_signatures: the signatures those made
_STATS = ("requests", "rate_limited", "unknown", "resolved", "retried_reads", "presign_batches",
          "presign_signatures")


class _Forward(Generic[_V]):
    """An attribute of the facade that is an attribute of one of its parts."""

    def __init__(self, part: str, name: str, doc: str) -> None:
        self.part, self.name, self.__doc__ = part, name, doc

    @overload
    def __get__(self, client: None, owner: type) -> _Forward[_V]: ...
    @overload
    def __get__(self, client: object, owner: type | None = None) -> _V: ...
    def __get__(self, client: object, owner: type | None = None) -> Any:
        return self if client is None else getattr(getattr(client, self.part), self.name)

    def __set__(self, client: object, value: _V) -> None:
        setattr(getattr(client, self.part), self.name, value)


class RestClient:
    """An async Kalshi REST client for trading: signed, rate-budgeted, safe on unknown outcomes.

    A facade over the parts it holds, each reachable as an attribute: :attr:`transport`
    (:class:`~centbook.rest.transport.Transport`), :attr:`presigner`
    (:class:`~centbook.rest.presign.Presigner`, the signatures), :attr:`budget`, :attr:`lane`,
    :attr:`resolver` (:class:`~centbook.rest.outcome.Resolver`), :attr:`orders`
    (:class:`~centbook.rest.orders.Orders`), :attr:`cancels` (:class:`~centbook.rest.cancels.Cancels`),
    :attr:`armer` (:class:`~centbook.rest.armed.Armer`),
    :attr:`reads` (:class:`~centbook.rest.reads.Reads`), :attr:`groups`
    (:class:`~centbook.rest.groups.OrderGroups`) and :attr:`upkeep`
    (:class:`~centbook.rest.upkeep.BudgetUpkeep`). The order writes are methods of the
    :attr:`orders` and :attr:`cancels` parts and the writes prepared ahead the :attr:`armer`'s,
    held here as they are (their docstrings are there): ``create_order``, ``amend_order``,
    ``decrease_order``, ``batch_create_orders``, ``market_shard``, ``remember_market``,
    ``forget_order``; ``cancel_order``, ``batch_cancel_orders``, ``cancel_all_orders``;
    ``start_amend``, ``arm_amend``, ``arm_cancel``, ``armed_sent``, ``disarm``. So are the
    reads of :attr:`market_data` (:class:`~centbook.rest.marketdata.MarketData`): ``get_trades``,
    ``get_orderbooks``, ``get_market_candlesticks``, ``get_batch_candlesticks``,
    ``get_event_candlesticks``, ``get_events``, ``get_event``, ``get_event_metadata``,
    ``get_series_list``, ``get_series``, ``get_multivariate_collections``,
    ``get_multivariate_collection``; and of :attr:`history`
    (:class:`~centbook.rest.history.History`): ``get_historical_cutoff``,
    ``get_historical_markets``, ``get_historical_market``, ``get_historical_market_candlesticks``,
    ``get_historical_trades``,
    ``get_historical_fills``, ``get_historical_orders``, ``fills_since``, ``orders_since``; and
    of :attr:`portfolio` (:class:`~centbook.rest.portfolio.Portfolio`): ``get_queue_position``,
    ``get_queue_positions``, ``get_total_resting_order_value``, ``get_subaccount_balances``,
    ``create_subaccount``, ``transfer_between_subaccounts``, ``get_exchange_schedule``,
    ``get_exchange_announcements``, ``get_series_fee_changes``, ``get_incentive_programs``.

    Parameters
    ----------
    base_url : str
        ``.../trade-api/v2`` of the sim, demo or prod (:func:`environment_url`), or the host root
        (``http://127.0.0.1:PORT``): see :func:`~centbook.rest.settings.check_base_url`.
    credentials : Credentials, optional
        Needed for everything but public market data.
    settings : RestSettings, optional
        The options (:class:`~centbook.rest.settings.RestSettings`, which describes each one).
    **options
        Any field of :class:`~centbook.rest.settings.RestSettings` by name, laid over
        ``settings``: ``budget_share``, ``margin``, ``limits``, ``auto_limits``,
        ``refresh_limits_s``, ``timeout_s``, ``read_retries``, ``rate_limit_retries``,
        ``resolve_margin_s``, ``resolve_timeout_s``, ``client_order_id_prefix``, ``presign``,
        ``presign_max_age_s``, ``presign_orders``, ``presign_depth``, ``presign_order_paths``,
        ``signer``, ``session``, ``order_lane``, ``order_lane_connections``, ``clock``.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        settings: RestSettings | None = None,
        **options: Any,
    ) -> None:
        self.settings = settings = RestSettings.of(settings, options)
        self.base_url = check_base_url(base_url)
        self.path_prefix = urlsplit(self.base_url).path  # "/trade-api/v2": part of the signed path
        self.credentials = credentials
        self.budget = RateBudget(settings.limits, budget_share=settings.budget_share,
                                 margin=settings.margin, clock=settings.clock)
        self.timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        #: The writes' transport when ``order_lane`` (its ``on_written`` hook is the caller's).
        connections = settings.order_lane_connections
        self.lane = (OrderLane(self.base_url, connections=connections,
                               max_connections=max(16, 2 * connections), timeout_s=settings.timeout_s)
                     if settings.order_lane else None)
        self.prefix = settings.client_order_id_prefix or f"cb{uuid.uuid4().hex[:8]}"
        self._counter = itertools.count(1)
        self._own_session = settings.session is None
        self._markets: dict[str, Market] = {}  # the market metadata cache the parts share
        self.stats = dict.fromkeys(_STATS, 0)
        #: Signs every request; makes and keeps the signatures made ahead of use.
        self.presigner = Presigner(credentials, self.path_prefix, self.stats, presign=settings.presign,
                                   max_age_s=settings.presign_max_age_s, depth=settings.presign_depth,
                                   orders=settings.presign_orders, order_paths=settings.presign_order_paths,
                                   signer=settings.signer)
        #: The pre-made signatures (the presigner's pool).
        self.pool = self.presigner.pool
        #: Sends every request (budget, retries, unknown outcomes, pages).
        self.transport = Transport(self.base_url, self.path_prefix, credentials, self.budget, self.lane,
                                   self.presigner.sign_into, self._schedule_recalibration, self.stats,
                                   read_retries=settings.read_retries,
                                   rate_limit_retries=settings.rate_limit_retries)
        self.transport.session = settings.session
        #: The read endpoints (``get_*``); they fill the market cache.
        self.reads = Reads(self.transport.request, self.transport.pages, self._markets,
                           credentials is not None)
        #: Sizes the budget from the account's limits and the endpoint costs.
        self.upkeep = BudgetUpkeep(self.budget, self.reads, credentials is not None,
                                   auto_limits=settings.auto_limits,
                                   refresh_limits_s=settings.refresh_limits_s)
        #: Settles writes whose outcome is unknown by reading the state back.
        self.resolver = Resolver(self.transport, self.reads.get_order, self.reads.get_orders,
                                 self.reads.get_user_data_timestamp,
                                 resolve_margin_s=settings.resolve_margin_s,
                                 resolve_timeout_s=settings.resolve_timeout_s)
        #: The order-group endpoints.
        self.groups = OrderGroups(self.transport.request, self.resolver)
        #: The order writes.
        self.orders = orders = Orders(self.transport.request, self.reads, self.resolver, self.presigner,
                                      self.new_client_order_id)
        #: The cancels.
        self.cancels = cancels = Cancels(orders, self.transport.request, self.resolver, self.presigner)
        #: The writes that go out without waiting (at once, or armed for compiled code).
        self.armer = armer = Armer(self.transport, self.lane, self.presigner, self.budget, self.stats,
                                   orders.shards, orders.counts, self._markets)
        # The parts' own methods, held as they are: no call layer of the facade on the quoting
        # path (start_amend, arm_*, armed_sent, disarm are called per requote).
        self.create_order = orders.create_order
        self.amend_order = orders.amend_order
        self.decrease_order = orders.decrease_order
        self.batch_create_orders = orders.batch_create_orders
        self.cancel_order = cancels.cancel_order
        self.batch_cancel_orders = cancels.batch_cancel_orders
        self.cancel_all_orders = cancels.cancel_all_orders
        self.market_shard = orders.market_shard
        self.remember_market = orders.remember_market
        self.forget_order = orders.forget_order
        self.start_amend = armer.start_amend
        self.arm_amend = armer.arm_amend
        self.arm_cancel = armer.arm_cancel
        self.armed_sent = armer.armed_sent
        self.disarm = armer.disarm
        #: The public market-data reads: the tape, candlesticks, books, events, series.
        self.market_data = data = MarketData(self.transport.request, self.transport.pages, self._markets)
        self.get_trades = data.get_trades
        self.get_orderbooks = data.get_orderbooks
        self.get_market_candlesticks = data.get_market_candlesticks
        self.get_batch_candlesticks = data.get_batch_candlesticks
        self.get_event_candlesticks = data.get_event_candlesticks
        self.get_events = data.get_events
        self.get_event = data.get_event
        self.get_event_metadata = data.get_event_metadata
        self.get_series_list = data.get_series_list
        self.get_series = data.get_series
        self.get_multivariate_collections = data.get_multivariate_collections
        self.get_multivariate_collection = data.get_multivariate_collection
        #: The historical tier, and the fills and orders since a time across both tiers.
        self.history = history = History(self.transport.request, self.transport.pages, self.reads)
        self.get_historical_cutoff = history.get_historical_cutoff
        self.get_historical_markets = history.get_historical_markets
        self.get_historical_market = history.get_historical_market
        self.get_historical_trades = history.get_historical_trades
        self.get_historical_market_candlesticks = history.get_historical_market_candlesticks
        self.get_historical_fills = history.get_historical_fills
        self.get_historical_orders = history.get_historical_orders
        self.fills_since = history.fills_since
        self.orders_since = history.orders_since
        #: Queue positions, resting value, subaccounts; the exchange's schedule and notices.
        self.portfolio = extras = Portfolio(self.transport.request, self.transport.pages)
        self.get_queue_position = extras.get_queue_position
        self.get_queue_positions = extras.get_queue_positions
        self.get_total_resting_order_value = extras.get_total_resting_order_value
        self.get_subaccount_balances = extras.get_subaccount_balances
        self.create_subaccount = extras.create_subaccount
        self.transfer_between_subaccounts = extras.transfer_between_subaccounts
        self.get_exchange_schedule = extras.get_exchange_schedule
        self.get_exchange_announcements = extras.get_exchange_announcements
        self.get_series_fee_changes = extras.get_series_fee_changes
        self.get_incentive_programs = extras.get_incentive_programs

    #: An amend's JSON body split where the price and the count go
    #: (:func:`~centbook.rest.armed.amend_template`).
    amend_template = staticmethod(amend_template)

    @classmethod
    def for_environment(
        cls,
        env: str,
        credentials: Credentials | None = None,
        *,
        base_url: str | None = None,
        **options: Any,
    ) -> RestClient:
        """Make a client for ``prod``, ``demo`` or ``sim`` (the sim needs ``base_url``).

        ``credentials`` default to :meth:`Credentials.from_env` (``KALSHI_API_KEY_ID`` and
        ``KALSHI_PRIVATE_KEY_PATH``).
        """
        return cls(environment_url(env, base_url), credentials or Credentials.from_env(), **options)

    # -- lifecycle ----------------------------------------------------------------------------------
    async def __aenter__(self) -> RestClient:
        try:
            await self.open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the session; read limits and costs; start the refresh and pre-signing tasks."""
        transport = self.transport
        if transport.session is None:
            connector = aiohttp.TCPConnector(limit=64, keepalive_timeout=60, enable_cleanup_closed=True)
            transport.session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        # aiohttp silently re-sends an "idempotent" request (GET, PUT, DELETE) once when a reused
        # keep-alive connection drops. For Kalshi a DELETE (cancel) or PUT (order-group trigger)
        # is a write whose outcome is then unknown: it must not be re-sent blindly. There is no
        # public switch in aiohttp 3.14; the attribute is checked by the fault tests.
        if hasattr(transport.session, "_retry_connection"):
            transport.session._retry_connection = False
        else:  # pragma: no cover - a future aiohttp; fail loudly rather than resend writes
            raise RuntimeError("cannot disable aiohttp's automatic retry of idempotent requests")
        await self.upkeep.start()
        if self.lane is not None:
            try:
                await self.lane.open()
            except LaneNotSentError as exc:  # it connects on demand; the first write will say
                log.warning("order lane: %s", exc)
        await self.presigner.start()

    async def close(self) -> None:
        """Stop background tasks, close the session (if it is ours) and the signing helper."""
        for task in self.upkeep.tasks() + self.presigner.tasks():
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self.budget.close()
        if self.lane is not None:
            await self.lane.close()
        if self.transport.session is not None and self._own_session:
            await self.transport.session.close()
        self.transport.session = None
        if self.presigner.signer is not None:
            self.presigner.signer.close()

    def __repr__(self) -> str:
        return f"RestClient({self.base_url!r}, {self.credentials!r})"

    # -- options and state held by the parts (read and written there) --------------------------------
    presign: _Forward[bool] = _Forward(
        "presigner", "presign", "Pre-made signatures are used (off for good once its helper is gone).")
    presign_orders: _Forward[int] = _Forward(
        "presigner", "orders", "How many recent orders get their paths signed ahead.")
    presign_order_paths: _Forward[tuple[str, ...]] = _Forward(
        "presigner", "order_paths", 'Which paths of such an order are signed ahead ("cancel", "amend", ...).')
    auto_limits: _Forward[bool] = _Forward(
        "upkeep", "auto_limits", "Read the account's limits and the endpoint costs (on open, then again).")
    refresh_limits_s: _Forward[float] = _Forward(
        "upkeep", "refresh_limits_s", "Period of the limits' re-reads.")
    clock_skew_s: _Forward[float | None] = _Forward(
        "transport", "clock_skew_s", "Server clock minus ours (s), from a response's Date; None before one.")
    resolve_margin_s: _Forward[float] = _Forward(
        "resolver", "resolve_margin_s",
        "How far past the send time REST data must be before a missing order is not placed.")
    resolve_timeout_s: _Forward[float] = _Forward(
        "resolver", "resolve_timeout_s", "Longest time spent resolving one unknown outcome.")
    read_retries: _Forward[int] = _Forward(
        "transport", "read_retries", "Retries of a read after a timeout, lost connection, 408 or 5xx.")
    rate_limit_retries: _Forward[int] = _Forward("transport", "rate_limit_retries", "Retries after a 429.")

    @property
    def unresolved(self) -> dict[str, OutcomeUnknownError]:
        """``client_order_id -> OutcomeUnknownError`` of creates whose outcome is still unknown."""
        return self.transport.unresolved

    @property
    def signer_pid(self) -> int | None:
        """The signing helper process's pid once it runs (``signer="process"``), else None.

        For deployment: pin it off the trading process's core (``os.sched_setaffinity``); it
        signs ahead of use in bursts of several RSA signatures.
        """
        signer = self.presigner.signer
        proc = signer._proc if signer is not None else None
        return proc.pid if proc is not None else None

    # -- ids, the budget's upkeep, resolution ------------------------------------------------------
    def new_client_order_id(self) -> str:
        """Return a fresh ``client_order_id`` (prefix + counter; at most 64 characters)."""
        return f"{self.prefix}-{next(self._counter)}"

    async def refresh_limits(self) -> AccountLimits:
        """Read ``/account/limits`` and size the budget from it."""
        return await self.upkeep.refresh_limits()

    async def refresh_costs(self) -> EndpointCostList:
        """Read ``/account/endpoint_costs`` (public) and adopt the costs."""
        return await self.upkeep.refresh_costs()

    def _schedule_recalibration(self) -> None:
        # the transport's hook after a 429 (the upkeep part is made after the transport)
        self.upkeep.schedule_recalibration()

    async def resolve_create(self, unknown: OutcomeUnknownError) -> dict[str, Order | None]:
        """Find out whether the orders of a create with an unknown outcome exist.

        See :meth:`~centbook.rest.outcome.Resolver.resolve_create`.

        Returns
        -------
        dict
            ``client_order_id -> Order`` (placed) or ``None`` (not placed).
        """
        return await self.resolver.resolve_create(unknown)

    # -- reads (the Reads part) ---------------------------------------------------------------------
    async def get_order(self, order_id: str) -> Order:
        """Return one order (``GET /portfolio/orders/{id}``)."""
        return await self.reads.get_order(order_id)

    async def get_orders(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        status: str | None = None,
        subaccount: int | None = None,
        exchange_index: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[Order]:
        """Iterate over the user's orders, every page (``GET /portfolio/orders``)."""
        async for order in self.reads.get_orders(
            ticker=ticker, event_ticker=event_ticker, min_ts=min_ts, max_ts=max_ts, status=status,
            subaccount=subaccount, exchange_index=exchange_index, limit=limit,
        ):
            yield order

    async def get_fills(
        self,
        *,
        ticker: str | None = None,
        order_id: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        subaccount: int | None = None,
        exchange_index: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[PortfolioFill]:
        """Iterate over the user's fills, every page (``GET /portfolio/fills``)."""
        async for fill in self.reads.get_fills(
            ticker=ticker, order_id=order_id, min_ts=min_ts, max_ts=max_ts, subaccount=subaccount,
            exchange_index=exchange_index, limit=limit,
        ):
            yield fill

    async def get_positions(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        count_filter: str | None = None,
        subaccount: int | None = None,
        exchange_index: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[MarketPosition]:
        """Iterate over market positions, every page (``GET /portfolio/positions``)."""
        async for position in self.reads.get_positions(
            ticker=ticker, event_ticker=event_ticker, count_filter=count_filter, subaccount=subaccount,
            exchange_index=exchange_index, limit=limit,
        ):
            yield position

    async def get_event_positions(
        self, *, event_ticker: str | None = None, subaccount: int | None = None, limit: int = 200
    ) -> AsyncIterator[EventPosition]:
        """Iterate over event positions, every page (``GET /portfolio/positions``)."""
        async for position in self.reads.get_event_positions(
            event_ticker=event_ticker, subaccount=subaccount, limit=limit
        ):
            yield position

    async def get_balance(
        self, *, subaccount: int | None = None, exchange_index: int | None = None
    ) -> Balance:
        """Return the available balance (micro-dollars), with the per-shard breakdown."""
        return await self.reads.get_balance(subaccount=subaccount, exchange_index=exchange_index)

    async def get_settlements(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        subaccount: int | None = None,
        limit: int = 200,
    ) -> AsyncIterator[Settlement]:
        """Iterate over the user's settlements, every page (``GET /portfolio/settlements``)."""
        async for settlement in self.reads.get_settlements(
            ticker=ticker, event_ticker=event_ticker, min_ts=min_ts, max_ts=max_ts,
            subaccount=subaccount, limit=limit,
        ):
            yield settlement

    async def get_markets(
        self,
        *,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        status: str | None = None,
        tickers: list[str] | None = None,
        limit: int = 200,
        **filters: Any,
    ) -> AsyncIterator[Market]:
        """Iterate over markets, every page (``GET /markets``, public); caches each market's shard."""
        async for market in self.reads.get_markets(
            event_ticker=event_ticker, series_ticker=series_ticker, status=status, tickers=tickers,
            limit=limit, **filters,
        ):
            yield market

    async def get_market(self, ticker: str) -> Market:
        """Return one market (``GET /markets/{ticker}``, public) and cache it."""
        return await self.reads.get_market(ticker)

    async def get_market_orderbook(self, ticker: str, depth: int | None = None) -> Orderbook:
        """Return a market's book (``GET /markets/{ticker}/orderbook``; signed, as the spec lists)."""
        return await self.reads.get_market_orderbook(ticker, depth)

    async def get_exchange_status(self) -> ExchangeStatus:
        """Return the exchange status (``GET /exchange/status``, public)."""
        return await self.reads.get_exchange_status()

    async def get_user_data_timestamp(self) -> UserDataTimestamp:
        """Return how fresh the REST portfolio data is (``GET /exchange/user_data_timestamp``)."""
        return await self.reads.get_user_data_timestamp()

    async def get_account_api_limits(self) -> AccountLimits:
        """Return the user's tier and bucket sizes (``GET /account/limits``)."""
        return await self.reads.get_account_api_limits()

    async def get_account_endpoint_costs(self) -> EndpointCostList:
        """Return the non-default endpoint costs (``GET /account/endpoint_costs``, public)."""
        return await self.reads.get_account_endpoint_costs()

    # -- order groups (the OrderGroups part) --------------------------------------------------------
    async def create_order_group(
        self, contracts_limit: int, *, subaccount: int | None = None, exchange_index: int | None = None
    ) -> str:
        """Create an order group; ``contracts_limit`` in hundredths over a rolling 15 s; return its id."""
        return await self.groups.create_order_group(
            contracts_limit, subaccount=subaccount, exchange_index=exchange_index
        )

    async def get_order_groups(self, *, subaccount: int | None = None) -> list[OrderGroup]:
        """Return the user's order groups."""
        return await self.groups.get_order_groups(subaccount=subaccount)

    async def get_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> OrderGroup:
        """Return one order group with the ids of its orders."""
        return await self.groups.get_order_group(order_group_id, subaccount=subaccount)

    async def trigger_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> None:
        """Trigger a group: cancel its orders and block new ones until reset (cancel priority)."""
        await self.groups.trigger_order_group(order_group_id, subaccount=subaccount)

    async def reset_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> None:
        """Reset a group's matched-contracts counter so orders may be placed again."""
        await self.groups.reset_order_group(order_group_id, subaccount=subaccount)

    async def delete_order_group(self, order_group_id: str, *, subaccount: int | None = None) -> None:
        """Delete a group and cancel its orders (cancel priority)."""
        await self.groups.delete_order_group(order_group_id, subaccount=subaccount)

    async def update_order_group_limit(
        self, order_group_id: str, contracts_limit: int, *, subaccount: int | None = None
    ) -> None:
        """Change a group's limit (hundredths of a contract over a rolling 15 s)."""
        await self.groups.update_order_group_limit(order_group_id, contracts_limit, subaccount=subaccount)


# Names kept importable from here for callers that catch by module.
__all__ += [
    "AuthenticationError",
    "ExchangeError",
    "OrderNotPlacedError",
    "OutcomeUnknownError",
    "RateLimitedError",
    "RejectedError",
    "ServerError",
]
