"""The import path ``centbook.watch``: the public names of :mod:`centbook.cli.watch`."""
from centbook.cli.watch import (
    DEPTH,
    REST_URLS,
    STATE_STYLE,
    TRADES,
    WS_URLS,
    Watcher,
    add_parser,
    contracts,
    dollars,
    fetch_grids,
    main,
    render_market,
    watch,
)

__all__ = [
    "REST_URLS", "WS_URLS",
    "DEPTH", "TRADES", "STATE_STYLE", "dollars", "contracts", "fetch_grids", "render_market",
    "Watcher", "watch", "add_parser", "main",
]
