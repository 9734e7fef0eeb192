"""Encoders for the client-to-server commands of Kalshi's WebSocket API.

Each function returns the frame payload (``bytes``, compact JSON) for one command:
:func:`subscribe`, :func:`unsubscribe`, :func:`update_subscription` (and its shorthands
:func:`add_markets`, :func:`delete_markets`, :func:`get_snapshot`) and
:func:`list_subscriptions`. ``id`` is the client's command id (unique within the session,
from 1; replies echo it). Optional parameters left as None are not sent.

:class:`CommandIds` hands out ids.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

__all__ = [
    "CHANNELS", "CommandIds", "subscribe", "unsubscribe", "update_subscription", "add_markets",
    "delete_markets", "get_snapshot", "list_subscriptions",
]

CHANNELS = frozenset({
    "orderbook_delta", "ticker", "trade", "fill", "market_positions", "market_lifecycle_v2",
    "multivariate_market_lifecycle", "communications", "order_group_updates", "user_orders",
    "cfbenchmarks_value", "cfbenchmarks_value_5hz", "pyth_value",
})
UPDATE_ACTIONS = frozenset({
    "add_markets", "delete_markets", "get_snapshot", "subscribe_indices", "unsubscribe_indices",
    "indexlist", "subscribe_underlyings", "unsubscribe_underlyings", "underlying_list",
})


class _SubscribeParams(msgspec.Struct, omit_defaults=True, kw_only=True):
    channels: list[str]
    market_ticker: str | None = None
    market_tickers: list[str] | None = None
    market_id: str | None = None
    market_ids: list[str] | None = None
    send_initial_snapshot: bool | None = None
    skip_ticker_ack: bool | None = None
    use_yes_price: bool | None = None
    user_filter: str | None = None
    shard_factor: int | None = None
    shard_key: int | None = None
    index_ids: list[str] | None = None
    underlying_tickers: list[str] | None = None


class _UnsubscribeParams(msgspec.Struct, kw_only=True):
    sids: list[int]


class _UpdateParams(msgspec.Struct, omit_defaults=True, kw_only=True):
    sids: list[int]
    action: str
    market_tickers: list[str] | None = None
    market_ids: list[str] | None = None
    send_initial_snapshot: bool | None = None
    index_ids: list[str] | None = None
    underlying_tickers: list[str] | None = None


class _Command(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: int
    cmd: str
    params: _SubscribeParams | _UnsubscribeParams | _UpdateParams | None = None


_encoder = msgspec.json.Encoder()


def _check_id(id: int) -> None:
    if isinstance(id, bool) or not isinstance(id, int) or id < 0:
        raise ValueError(f"a command id is a non-negative int, got {id!r}")


def _strings(name: str, values: Iterable[str] | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of str, not a single {type(values).__name__}")
    out = list(values)
    if not out or not all(isinstance(v, str) and v for v in out):
        raise ValueError(f"{name} must be a non-empty sequence of non-empty str, got {out!r}")
    return out


def subscribe(id: int, channels: Sequence[str], *, market_ticker: str | None = None,
              market_tickers: Sequence[str] | None = None, market_id: str | None = None,
              market_ids: Sequence[str] | None = None, send_initial_snapshot: bool | None = None,
              skip_ticker_ack: bool | None = None, use_yes_price: bool | None = None,
              user_filter: str | None = None, shard_factor: int | None = None,
              shard_key: int | None = None, index_ids: Sequence[str] | None = None,
              underlying_tickers: Sequence[str] | None = None) -> bytes:
    """Encode a ``subscribe`` command.

    Parameters
    ----------
    id : int
        Command id.
    channels : sequence of str
        One or more of :data:`CHANNELS`; each becomes its own subscription (sid).
    market_ticker, market_tickers : str, sequence of str, optional
        The market filter (exclusive; ``orderbook_delta`` requires one).
    market_id, market_ids : optional
        Market ids (``ticker`` channel only).
    use_yes_price : bool, optional
        Orderbook only: NO levels in YES terms. Send it explicitly (Kalshi plans to flip the
        default), and register it with :meth:`centbook.books.Books.register_subscription`.
    send_initial_snapshot, skip_ticker_ack, user_filter, shard_factor, shard_key : optional
        As documented by Kalshi (PROTOCOL.md 1.3).
    index_ids, underlying_tickers : sequence of str, optional
        As documented by Kalshi (PROTOCOL.md 1.3).

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        On an unknown channel, an empty list, or both ``market_ticker`` and ``market_tickers``.
    """
    _check_id(id)
    chans = _strings("channels", channels)
    assert chans is not None
    unknown = [c for c in chans if c not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown channel(s) {unknown}; known: {sorted(CHANNELS)}")
    if market_ticker is not None and market_tickers is not None:
        raise ValueError("give market_ticker or market_tickers, not both")
    if market_id is not None and market_ids is not None:
        raise ValueError("give market_id or market_ids, not both")
    if "orderbook_delta" in chans and market_ticker is None and market_tickers is None:
        raise ValueError("orderbook_delta needs market_ticker or market_tickers (Kalshi error 14)")
    params = _SubscribeParams(
        channels=chans, market_ticker=market_ticker,
        market_tickers=_strings("market_tickers", market_tickers),
        market_id=market_id, market_ids=_strings("market_ids", market_ids),
        send_initial_snapshot=send_initial_snapshot, skip_ticker_ack=skip_ticker_ack,
        use_yes_price=use_yes_price, user_filter=user_filter, shard_factor=shard_factor, shard_key=shard_key,
        index_ids=_strings("index_ids", index_ids),
        underlying_tickers=_strings("underlying_tickers", underlying_tickers),
    )
    return _encoder.encode(_Command(id=id, cmd="subscribe", params=params))


def unsubscribe(id: int, sids: Sequence[int]) -> bytes:
    """Encode an ``unsubscribe`` command for one or more subscription ids.

    Raises
    ------
    ValueError
        If ``sids`` is empty or holds something other than positive ints.
    """
    _check_id(id)
    out = list(sids)
    if not out or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in out):
        raise ValueError(f"sids must be a non-empty sequence of positive int, got {out!r}")
    return _encoder.encode(_Command(id=id, cmd="unsubscribe", params=_UnsubscribeParams(sids=out)))


def update_subscription(id: int, sid: int, action: str, *, market_tickers: Sequence[str] | None = None,
                        market_ids: Sequence[str] | None = None, send_initial_snapshot: bool | None = None,
                        index_ids: Sequence[str] | None = None,
                        underlying_tickers: Sequence[str] | None = None) -> bytes:
    """Encode an ``update_subscription`` command on exactly one subscription.

    Parameters
    ----------
    id : int
    sid : int
        The subscription (sent as ``"sids": [sid]``).
    action : str
        ``add_markets``, ``delete_markets``, ``get_snapshot`` (orderbook only), or an index
        feed action (:data:`UPDATE_ACTIONS`).
    market_tickers, market_ids, send_initial_snapshot, index_ids, underlying_tickers : optional

    Raises
    ------
    ValueError
        On an unknown action, a bad sid, or ``get_snapshot`` without ``market_tickers`` (it accepts
        tickers only).
    """
    _check_id(id)
    if isinstance(sid, bool) or not isinstance(sid, int) or sid < 1:
        raise ValueError(f"sid must be a positive int, got {sid!r}")
    if action not in UPDATE_ACTIONS:
        raise ValueError(f"unknown action {action!r}; known: {sorted(UPDATE_ACTIONS)}")
    if action == "get_snapshot" and (market_tickers is None or market_ids is not None):
        raise ValueError("get_snapshot takes market_tickers only")
    params = _UpdateParams(
        sids=[sid], action=action, market_tickers=_strings("market_tickers", market_tickers),
        market_ids=_strings("market_ids", market_ids), send_initial_snapshot=send_initial_snapshot,
        index_ids=_strings("index_ids", index_ids),
        underlying_tickers=_strings("underlying_tickers", underlying_tickers),
    )
    return _encoder.encode(_Command(id=id, cmd="update_subscription", params=params))


def add_markets(id: int, sid: int, market_tickers: Sequence[str]) -> bytes:
    """Encode ``update_subscription`` / ``add_markets``."""
    return update_subscription(id, sid, "add_markets", market_tickers=market_tickers)


def delete_markets(id: int, sid: int, market_tickers: Sequence[str]) -> bytes:
    """Encode ``update_subscription`` / ``delete_markets``."""
    return update_subscription(id, sid, "delete_markets", market_tickers=market_tickers)


def get_snapshot(id: int, sid: int, market_tickers: Sequence[str]) -> bytes:
    """Encode ``update_subscription`` / ``get_snapshot``: fresh snapshots for these markets
    without interrupting the delta stream (the resync after a gap, see
    :meth:`centbook.books.Books.take_resync`)."""
    return update_subscription(id, sid, "get_snapshot", market_tickers=market_tickers)


def list_subscriptions(id: int) -> bytes:
    """Encode ``list_subscriptions`` (the reply is an ``ok`` whose ``msg`` is a list)."""
    _check_id(id)
    return _encoder.encode(_Command(id=id, cmd="list_subscriptions"))


class CommandIds:
    """Command ids for one session: 1, 2, 3, ... (0 means "no id" to Kalshi, so it is skipped)."""

    def __init__(self, start: int = 1) -> None:
        if start < 1:
            raise ValueError("command ids start at 1")
        self._next = start

    def __call__(self) -> int:
        """Return the next id."""
        n = self._next
        self._next += 1
        return n
