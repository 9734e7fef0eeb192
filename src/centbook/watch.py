"""The import path ``centbook.watch``: the public names of :mod:`centbook.cli.watch`."""
from centbook.cli.watch import (
    DEPTH,
    STATE_STYLE,
    TRADES,
    Watcher,
    add_parser,
    contracts,
    dollars,
    fetch_grids,
    main,
    render_market,
    watch,
)
from centbook.protocol.environments import REST_URLS, WS_URLS

__all__ = [
    "REST_URLS", "WS_URLS",
    "DEPTH", "TRADES", "STATE_STYLE", "dollars", "contracts", "fetch_grids", "render_market",
    "Watcher", "watch", "add_parser", "main",
]
