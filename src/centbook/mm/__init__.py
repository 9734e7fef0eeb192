"""``centbook mm``: a market maker on the feed, the REST client and the order manager.

Modules: :mod:`~centbook.mm.config` (TOML + flags), :mod:`~centbook.mm.strategy` (fair value,
pluggable), :mod:`~centbook.mm.ledger` (fills, position, P&L), :mod:`~centbook.mm.maker` (the
process: start-up, quoting, reporting) and the parts it holds: :mod:`~centbook.mm.orders` (order
manager), :mod:`~centbook.mm.armed` (slots armed for the compiled requote path,
:mod:`~centbook.mm.quoter`), :mod:`~centbook.mm.risk` (limits, reconciliation, kill switch),
:mod:`~centbook.mm.events` (WebSocket events), :mod:`~centbook.mm.latency` (histograms);
:mod:`~centbook.cli.mm` (the command: exchanges, status line, summary).
"""
from centbook.mm.config import MMConfig, RiskConfig, StrategyConfig, load_config
from centbook.mm.ledger import Ledger
from centbook.mm.maker import MarketMaker, OrderState
from centbook.mm.strategy import Microprice, Quote, Strategy

__all__ = ["MMConfig", "RiskConfig", "StrategyConfig", "load_config", "Ledger", "MarketMaker", "OrderState",
           "Microprice", "Quote", "Strategy"]
