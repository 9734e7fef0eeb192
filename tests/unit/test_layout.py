"""The layout's promises: every public name keeps its import path, and the book imports alone.

``PUBLIC`` lists each module users may import from and the public names it offers. A move that
drops a name from its path fails here; a new public name is added to the table with its path.
"""
import importlib
import subprocess
import sys

import pytest

PUBLIC = {
    "centbook": [
        "AuthenticationError", "BookFault", "BookState", "Books", "Credentials",
        "CredentialsError", "DecodeError", "ExchangeError", "FrameKind", "KalshiError",
        "OrderBook", "OrderNotPlacedError", "OrderSide", "OutcomeUnknownError", "PriceGrid",
        "RateLimitedError", "RejectedError", "RestClient", "ServerError", "Side", "decode",
        "format_money", "format_price", "format_size", "parse_money", "parse_price_bp",
        "parse_size",
    ],
    "centbook.auth": [
        "Credentials", "CredentialsError", "PresignedPool", "SALT_LENGTH", "sign_message",
        "signing_helper_main", "signing_message",
    ],
    "centbook.book": [
        "BookFault", "BookState", "OrderBook", "OrderSide", "Side",
    ],
    "centbook.books": [
        "Books", "DecodeError", "FrameKind", "REASONS", "parse_frame",
    ],
    "centbook.budget": [
        "AMEND", "API_PREFIX", "BudgetCore", "BudgetTooSmallError", "CANCEL", "CREATE",
        "EndpointCosts", "Limits", "READ", "RateBudget", "Ticket", "TokenBucket", "bucket_for",
    ],
    "centbook.cli": [
        "main",
    ],
    "centbook.children": [
        "PARENT_PID_VAR", "die_with_parent", "spawn_options",
    ],
    "centbook.cli.bench": [
        "add_parser", "run",
    ],
    "centbook.cli.demo": [
        "main",
    ],
    "centbook.cli.guard": [
        "add_parser", "run_guard",
    ],
    "centbook.cli.errors": [
        "CommandError", "RECORD_EXTRA", "RUNTIME", "USAGE", "explain", "refused_key",
    ],
    "centbook.cli.exchange": [
        "ENV_VARS", "Exchange", "ExchangeSettings", "add_exchange_options", "choose", "open_exchange",
        "require_exchange",
    ],
    "centbook.cli.mm": [
        "SIM_MARKETS", "add_parser", "run_mm", "run_session", "status_line", "summary_text",
    ],
    "centbook.cli.sim": [
        "SIM_MARKET", "add_parser", "banner", "run",
    ],
    "centbook.cli.watch": [
        "DEPTH", "MARKET_HEIGHT", "MARKET_WIDTH", "STATE_STYLE", "TRADES", "WatchConfig", "Watcher",
        "add_parser", "check_key", "contracts", "dollars", "fetch_grids", "layout", "main", "render_market",
        "watch",
    ],
    "centbook.cli.export": [
        "add_parser", "run",
    ],
    "centbook.cli.backtest": [
        "add_parser", "run",
    ],
    "centbook.backtest": [
        "Backtest", "BacktestConfig", "BacktestResult", "load_backtest_config", "run_backtest",
    ],
    "centbook.backtest.config": [
        "BacktestConfig", "load_backtest_config",
    ],
    "centbook.backtest.engine": [
        "Backtest", "BacktestResult",
    ],
    "centbook.backtest.exchange": [
        "ASK", "BID", "ExchangeModel", "Fill", "SimOrder",
    ],
    "centbook.backtest.fees": [
        "FEE_TYPES", "FeeAccumulator", "FeeSchedule",
    ],
    "centbook.backtest.latency": [
        "Constant", "Empirical", "LatencyModel", "LogNormal", "SummaryLatency", "latency_model",
    ],
    "centbook.backtest.output": [
        "TABLES", "write_outputs",
    ],
    "centbook.backtest.queue": [
        "QUEUE_MODELS", "Pessimistic", "Probabilistic", "Proportional", "QueueModel", "queue_model",
    ],
    "centbook.backtest.quoting": [
        "Quoting", "Slot",
    ],
    "centbook.backtest.run": [
        "run_backtest", "settings_of",
    ],
    "centbook.backtest.settlement": [
        "load_results", "results_from_meta", "value_bp",
    ],
    "centbook.backtest.summary": [
        "HORIZONS_S", "markouts", "summarize",
    ],
    "centbook.backtest.sweep": [
        "FIGURES", "Job", "make_jobs", "overrides_of", "parse_sweeps", "run_job", "run_sweep",
        "spread_across_seeds",
    ],
    "centbook.cli.importer": [
        "add_parser", "run",
    ],
    "centbook.cli.record": [
        "add_parser", "run",
    ],
    "centbook.record": [
        "Coverage", "Kind", "MarketDirectory", "MarketSelectionError", "Record", "Recorder",
        "RecordingError", "SegmentWriter", "iter_records", "segment_paths",
    ],
    "centbook.record.exporter": [
        "SCHEMAS", "STATE_FILE", "ExportError", "export", "find_recordings",
    ],
    "centbook.record.importer": [
        "CaptureError", "ImportSummary", "import_captures", "load_metadata", "read_capture",
    ],
    "centbook.record.markets": [
        "MarketDirectory", "MarketSelectionError",
    ],
    "centbook.record.recorder": [
        "CAUSES", "Coverage", "FrameTap", "Recorder",
    ],
    "centbook.record.tap": [
        "APPLIED", "DONE", "FrameTap", "PYTHON", "STOP", "apply_block",
    ],
    "centbook.record.segment": [
        "BLOCK", "RECORD", "BlockInfo", "Kind", "Record", "RecordingError", "SegmentWriter", "index_path",
        "iter_blocks", "iter_records", "read_records", "scan_blocks", "segment_paths",
    ],
    "centbook.record.checkpoint": [
        "CHECKPOINT_SUFFIX", "Checkpoint", "checkpoint_path", "read_checkpoints", "write_checkpoints",
    ],
    "centbook.replay": [
        "CHECKPOINT_BYTES", "SID_STRIDE", "Event", "Replayer", "books_at", "build_checkpoints",
        "checkpoints", "renumber_sid", "replay",
    ],
    "centbook.commands": [
        "CHANNELS", "CommandIds", "UPDATE_ACTIONS", "add_markets", "delete_markets",
        "get_snapshot", "list_subscriptions", "subscribe", "unsubscribe", "update_subscription",
    ],
    "centbook.errors": [
        "AuthenticationError", "ExchangeError", "KalshiError", "OrderNotPlacedError",
        "OutcomeUnknownError", "RateLimitedError", "RejectedError", "ServerError",
        "SettlementFloorError", "WriteNotAppliedError", "error_for", "error_from_item",
        "parse_error_body",
    ],
    "centbook.feed": [
        "BOOK_CHANNEL", "ENVIRONMENTS", "Events", "Feed", "FeedConfig", "FeedError",
        "LIFECYCLE_CHANNELS", "LIMIT_ERRORS", "MarketQuiet", "PRIVATE_CHANNELS", "StateChange",
        "Subscription", "Subscriptions", "TERMINAL_ERRORS", "Tradability", "Validity",
        "WS_PATH", "backoff_delay",
    ],
    "centbook.feed.connection": [
        "ENVIRONMENTS", "Feed", "FeedConfig", "FeedError", "LIFECYCLE_CHANNELS", "LIMIT_ERRORS",
        "MarketQuiet", "PRIVATE_CHANNELS", "StateChange", "TERMINAL_ERRORS", "backoff_delay",
    ],
    "centbook.feed.events": [
        "Events", "MarketQuiet",
    ],
    "centbook.feed.reader": [
        "BookListener", "CountingListener",
    ],
    "centbook.feed.subscriptions": [
        "BOOK_CHANNEL", "MARKET_CHANNELS", "Subscription", "Subscriptions",
    ],
    "centbook.feed.tradability": [
        "Tradability",
    ],
    "centbook.feed.validity": [
        "StateChange", "Validity",
    ],
    "centbook.fixed": [
        "format_money", "format_price", "format_size", "parse_money", "parse_price_bp",
        "parse_size",
    ],
    "centbook.grid": [
        "PriceGrid",
    ],
    "centbook.hooks": [
        "ReadHook",
    ],
    "centbook.lane": [
        "LaneError", "LaneLostError", "LaneNotSentError", "LaneResponse", "LaneWrite",
        "OrderLane",
    ],
    "centbook.messages": [
        "CfbenchmarksAverage", "CfbenchmarksIndexList", "CfbenchmarksValue",
        "CfbenchmarksValueBody", "DeltaBody", "Error", "ErrorBody", "ErrorCode", "EventFeeBody",
        "EventFeeUpdate", "EventLifecycle", "EventLifecycleBody", "Fill", "FillBody",
        "IndexListBody", "LegacyFormatError", "LifecycleBody", "MESSAGE_TYPES",
        "MarketLifecycleV2", "MarketPosition", "MarketPositionBody", "Message",
        "MessageDecoder", "MicroDollars", "MultivariateMarketLifecycle", "MveLeg", "Ok",
        "OkMarkets", "OrderGroupBody", "OrderGroupUpdates", "OrderbookDelta",
        "OrderbookSnapshot", "PriceBp", "PriceRange", "PythUnderlyingList", "PythValue",
        "PythValueBody", "QuoteAccepted", "QuoteBody", "QuoteCreated", "QuoteExecuted",
        "QuoteExecutedBody", "RfqCreated", "RfqCreatedBody", "RfqDeleted", "RfqDeletedBody",
        "SizeC100", "SnapshotBody", "Subscribed", "SubscriptionInfo", "TERMINAL_ERROR_CODES",
        "Ticker", "TickerBody", "Trade", "TradeBody", "UnderlyingListBody", "UnknownMessage",
        "Unsubscribed", "UserOrder", "UserOrderBody", "decode", "decoder_stats",
    ],
    "centbook.metrics": [
        "Histogram",
    ],
    "centbook.mm": [
        "Ledger", "MMConfig", "MarketMaker", "Microprice", "OrderState", "Quote", "RiskConfig",
        "Strategy", "StrategyConfig", "load_config",
    ],
    "centbook.mm.app": [
        "SIM_MARKETS", "add_parser", "run_mm", "run_session", "status_line", "summary_text",
    ],
    "centbook.mm.armed": [
        "ArmedSlots",
    ],
    "centbook.mm.config": [
        "ConfigError", "GROUP_POLICIES", "GuardConfig", "MMConfig", "REQUOTE_MODES", "RiskConfig",
        "StrategyConfig", "fill", "load_config", "read_config_file", "read_toml",
    ],
    "centbook.mm.events": [
        "EventHandler",
    ],
    "centbook.mm.guard": [
        "Guard", "GuardLink", "GuardSession", "guard_command", "serve",
    ],
    "centbook.mm.kill": [
        "Backoff", "EXIT_MAY_REST", "KillResult", "KillSwitch",
    ],
    "centbook.mm.latency": [
        "LATENCIES", "Latency",
    ],
    "centbook.mm.ledger": [
        "Ledger", "MarketBook",
    ],
    "centbook.mm.lock": [
        "InstanceLock", "InstanceRunningError", "live_sessions", "lock_directory",
    ],
    "centbook.mm.maker": [
        "AMEND_PRESIGN_DEPTH", "CHANNELS", "LATENCIES", "LiveOrder", "MarketInfo",
        "MarketMaker", "OrderState", "Slot",
    ],
    "centbook.mm.orders": [
        "AMEND_PRESIGN_DEPTH", "LiveOrder", "MarketInfo", "OrderManager", "OrderState", "Slot",
    ],
    "centbook.mm.quoter": [
        "ArmedAmend", "DECLINE_REASONS", "Quoter",
    ],
    "centbook.mm.risk": [
        "Risk",
    ],
    "centbook.mm.stamp": [
        "PresignTracker", "StampedRequest", "WriteStamp", "current_stamp", "eager_task",
        "make_session", "stamp_written",
    ],
    "centbook.mm.strategy": [
        "FairModel", "Microprice", "Quote", "Strategy", "top_level",
    ],
    "centbook.models": [
        "AccountLimits", "AmendResult", "Balance", "BatchCancelItem", "BatchCreateItem",
        "CancelResult", "CreateOrderResult", "DecreaseResult", "EndpointCost",
        "EndpointCostList", "EventPosition", "ExchangeStatus", "Fill", "Market",
        "MarketPosition", "Order", "OrderGroup", "Orderbook", "ProtocolError", "Settlement",
        "ShardStatus", "UserDataTimestamp", "parse_time_ns",
    ],
    "centbook.protocol.commands": [
        "CHANNELS", "CommandIds", "UPDATE_ACTIONS", "add_markets", "delete_markets",
        "get_snapshot", "list_subscriptions", "subscribe", "unsubscribe", "update_subscription",
    ],
    "centbook.protocol.environments": [
        "ENVIRONMENTS", "REST_PATH", "REST_URLS", "WS_PATH", "WS_URLS", "environment_of",
        "exchange_urls", "rest_url", "ws_url",
    ],
    "centbook.protocol.errors": [
        "AuthenticationError", "ExchangeError", "KalshiError", "OrderNotPlacedError",
        "OutcomeUnknownError", "RateLimitedError", "RejectedError", "ServerError",
        "SettlementFloorError", "WriteNotAppliedError", "error_for", "error_from_item",
        "parse_error_body",
    ],
    "centbook.protocol.fields": [
        "ProtocolError", "convert", "money_field", "optional_str", "parse_time_ns",
        "price_field", "required", "size_field",
    ],
    "centbook.protocol.markets": [
        "AccountLimits", "Balance", "EndpointCost", "EndpointCostList", "ExchangeStatus",
        "Market", "Orderbook", "ShardStatus", "UserDataTimestamp",
    ],
    "centbook.protocol.messages": [
        "CfbenchmarksAverage", "CfbenchmarksIndexList", "CfbenchmarksValue",
        "CfbenchmarksValueBody", "DeltaBody", "Error", "ErrorBody", "ErrorCode", "EventFeeBody",
        "EventFeeUpdate", "EventLifecycle", "EventLifecycleBody", "Fill", "FillBody",
        "IndexListBody", "LegacyFormatError", "LifecycleBody", "MESSAGE_TYPES",
        "MarketLifecycleV2", "MarketPosition", "MarketPositionBody", "Message",
        "MessageDecoder", "MicroDollars", "MultivariateMarketLifecycle", "MveLeg", "Ok",
        "OkMarkets", "OrderGroupBody", "OrderGroupUpdates", "OrderbookDelta",
        "OrderbookSnapshot", "PriceBp", "PriceRange", "PythUnderlyingList", "PythValue",
        "PythValueBody", "QuoteAccepted", "QuoteBody", "QuoteCreated", "QuoteExecuted",
        "QuoteExecutedBody", "RfqCreated", "RfqCreatedBody", "RfqDeleted", "RfqDeletedBody",
        "SizeC100", "SnapshotBody", "Subscribed", "SubscriptionInfo", "TERMINAL_ERROR_CODES",
        "Ticker", "TickerBody", "Trade", "TradeBody", "UnderlyingListBody", "UnknownMessage",
        "Unsubscribed", "UserFill", "UserOrder", "UserOrderBody", "dec_hook", "decode",
        "decoder_stats",
    ],
    "centbook.protocol.marketdata": [
        "Candlestick", "Event", "EventCandlesticks", "EventMetadata", "HistoricalCutoff",
        "MarketCandlesticks", "MultivariateCollection", "Ohlc",
        "PublicTrade", "Series", "SettlementSource",
    ],
    "centbook.protocol.portfolio": [
        "Announcement", "ExchangeSchedule", "IncentiveProgram", "QueuePosition",
        "RestingOrderValue", "SeriesFeeChange", "SubaccountBalance",
    ],
    "centbook.protocol.models": [
        "Announcement", "ExchangeSchedule", "IncentiveProgram", "QueuePosition",
        "RestingOrderValue", "SeriesFeeChange", "SubaccountBalance",
        "Candlestick", "Event", "EventCandlesticks", "EventMetadata", "HistoricalCutoff",
        "MarketCandlesticks", "MultivariateCollection", "Ohlc",
        "PublicTrade", "Series", "SettlementSource",
        "AccountLimits", "AmendResult", "Balance", "BatchCancelItem", "BatchCreateItem",
        "CancelResult", "CreateOrderResult", "DecreaseResult", "EndpointCost",
        "EndpointCostList", "EventPosition", "ExchangeStatus", "Fill", "Market",
        "MarketPosition", "Order", "OrderGroup", "Orderbook", "PortfolioFill", "ProtocolError",
        "Settlement", "ShardStatus", "UserDataTimestamp", "parse_time_ns",
    ],
    "centbook.protocol.orders": [
        "AmendResult", "BatchCancelItem", "BatchCreateItem", "CancelResult",
        "CreateOrderResult", "DecreaseResult", "EventPosition", "Fill", "MarketPosition",
        "Order", "OrderGroup", "PortfolioFill", "Settlement",
    ],
    "centbook.quoter": [
        "ArmedAmend", "DECLINE_REASONS", "Quoter",
    ],
    "centbook.rest": [
        "ArmedWrite", "AuthenticationError", "ENVIRONMENTS", "ExchangeError",
        "OrderNotPlacedError", "OutcomeUnknownError", "RateLimitedError", "RejectedError",
        "RestClient", "RestSettings", "ServerError", "StartedWrite", "environment_url",
    ],
    "centbook.rest.armed": [
        "ArmedWrite", "Armer", "StartedWrite", "amend_body", "amend_template",
    ],
    "centbook.rest.budget": [
        "AMEND", "API_PREFIX", "BudgetCore", "BudgetTooSmallError", "CANCEL", "CREATE",
        "EndpointCosts", "Limits", "READ", "RateBudget", "Ticket", "TokenBucket", "bucket_for",
    ],
    "centbook.rest.cancels": [
        "Cancels",
    ],
    "centbook.rest.client": [
        "ArmedWrite", "AuthenticationError", "ENVIRONMENTS", "ExchangeError",
        "OrderNotPlacedError", "OutcomeUnknownError", "RateLimitedError", "RejectedError",
        "RestClient", "ServerError", "StartedWrite", "environment_url",
    ],
    "centbook.rest.groups": [
        "OrderGroups",
    ],
    "centbook.rest.history": [
        "History",
    ],
    "centbook.rest.lane": [
        "LaneError", "LaneLostError", "LaneNotSentError", "LaneResponse", "LaneWrite",
        "OrderLane",
    ],
    "centbook.rest.marketdata": [
        "CANDLE_PERIODS_MIN", "MAX_BATCH_MARKETS", "MarketData",
    ],
    "centbook.rest.operations": [
        "OPERATIONS",
    ],
    "centbook.rest.orders": [
        "Orders",
    ],
    "centbook.rest.outcome": [
        "Resolver", "WriteOutcome", "resolved_cancel", "result_from_order",
    ],
    "centbook.rest.portfolio": [
        "Portfolio",
    ],
    "centbook.rest.presign": [
        "ORDERS_BATCH_PATH", "ORDERS_PATH", "Presigner",
    ],
    "centbook.rest.reads": [
        "Reads",
    ],
    "centbook.rest.settings": [
        "RestSettings", "check_base_url",
    ],
    "centbook.rest.signer": [
        "HELPER_CHUNK", "Signer",
    ],
    "centbook.rest.transport": [
        "Transport", "backoff", "encode_json", "lane_target", "query",
    ],
    "centbook.rest.upkeep": [
        "BudgetUpkeep",
    ],
    "centbook.sim": [
        "Admin", "Credentials", "EngineEvent", "Exchange", "SimHandle", "SimProcess", "TIERS",
        "build", "default_config", "run_sim",
    ],
    "centbook.sim.auth": [
        "KeyRing", "generate_key_pair", "sign", "write_credentials",
    ],
    "centbook.sim.config": [
        "ADMIN_TOKEN_ENV", "PRICE_STRUCTURES", "SERVER_DEFAULTS", "TIERS", "default_config",
    ],
    "centbook.sim.engine": [
        "Account", "Clock", "EVENT_KINDS", "EngineEvent", "EngineFill", "Event", "Exchange",
        "Fill", "GROUP_WINDOW_NS", "KALSHI_UPDATE_REASONS", "MAX_BP", "MAX_SUBACCOUNT",
        "Market", "ONE_DOLLAR_PER_C100", "Order", "OrderGroup", "Position", "STATUS_FILTERS",
        "Series", "Settlement", "Trade", "User",
    ],
    "centbook.sim.engine.accounts": [
        "Ledger", "micro_from_dollars",
    ],
    "centbook.sim.engine.bus": [
        "DeltaHook", "EventBus", "IdSource",
    ],
    "centbook.sim.engine.candles": [
        "Candle", "MAX_CANDLES", "PERIODS_MIN", "candles", "latest_before",
    ],
    "centbook.sim.engine.history": [
        "DEFAULT_CUTOFF_AGE_S", "History",
    ],
    "centbook.sim.engine.schedule": [
        "FEE_TYPES", "FeeChange", "FeeSchedule", "MAINTENANCE_HOURS", "MAINTENANCE_WEEKDAY",
        "eastern_offset_h", "maintenance_windows",
    ],
    "centbook.sim.engine.exchange": [
        "Exchange",
    ],
    "centbook.sim.engine.groups": [
        "OrderGroups",
    ],
    "centbook.sim.engine.lifecycle": [
        "Lifecycle",
    ],
    "centbook.sim.engine.matching": [
        "Matcher",
    ],
    "centbook.sim.engine.orders": [
        "OrderDesk",
    ],
    "centbook.sim.engine.records": [
        "Account", "Clock", "EVENT_KINDS", "EngineEvent", "EngineFill", "Event", "Fill",
        "GROUP_WINDOW_NS", "KALSHI_UPDATE_REASONS", "MAX_BP", "MAX_SUBACCOUNT", "Market",
        "ONE_DOLLAR_PER_C100", "Order", "OrderGroup", "Position", "STATUS_FILTERS", "Series",
        "STRIKE_BOUNDS", "Settlement", "Trade", "User", "strike_bounds",
    ],
    "centbook.sim.errors": [
        "SimError", "bad_request", "invalid_order", "not_found",
    ],
    "centbook.sim.replayed": [
        "REPLAY_USER", "ReplaySource", "config_from_recording",
    ],
    "centbook.sim.flow": [
        "FLOW_DEFAULTS", "FUNDING", "Flow", "measure",
    ],
    "centbook.sim.http": [
        "API", "BodyError", "Fault", "MAX_COUNT", "SimServer", "WS_PATH",
    ],
    "centbook.sim.http.account": [
        "AccountRoutes",
    ],
    "centbook.sim.http.admin": [
        "AdminGate", "AdminRoutes",
    ],
    "centbook.sim.http.app": [
        "API", "BodyError", "Fault", "ROUTE_FAMILIES", "SimServer", "WS_PATH",
    ],
    "centbook.sim.http.calendar": [
        "CalendarRoutes",
    ],
    "centbook.sim.http.candles": [
        "CandleRoutes", "candle_query",
    ],
    "centbook.sim.http.core": [
        "BodyError", "HttpCore", "RouteFamily", "TooManyRequests",
    ],
    "centbook.sim.http.faults": [
        "Fault", "FaultInjector",
    ],
    "centbook.sim.http.groups": [
        "GroupRoutes",
    ],
    "centbook.sim.http.historical": [
        "HistoricalRoutes",
    ],
    "centbook.sim.http.markets": [
        "MarketRoutes",
    ],
    "centbook.sim.http.orders": [
        "OrderRoutes",
    ],
    "centbook.sim.http.params": [
        "MAX_COUNT", "MAX_QUERY_DIGITS", "bool_field", "enum_field", "expiration_field", "in_time_window",
        "int_field", "paginate", "parse_count", "parse_price", "query_int", "required_field", "str_field",
    ],
    "centbook.sim.http.portfolio": [
        "PortfolioRoutes",
    ],
    "centbook.sim.ratelimit": [
        "Arrival", "Bucket", "DEFAULT_COST", "ENDPOINT_COSTS", "RateLimiter", "cost_of",
    ],
    "centbook.sim.safejson": [
        "JsonRejected", "MAX_DEPTH", "MAX_INT_DIGITS", "nesting_depth", "parse",
    ],
    "centbook.sim.server": [
        "API", "BodyError", "Fault", "MAX_COUNT", "SimServer", "WS_PATH",
    ],
    "centbook.sim.stream": [
        "CHANNELS", "CommandError", "Connection", "DEFAULTS", "ERRORS", "FAULTS", "FILTERED",
        "NOT_SIMULATED", "PRIVATE", "SEQUENCED", "StreamAdmin", "StreamHub", "Subscription",
        "UPDATABLE", "UPDATE_REASONS", "WS_PATH", "market_id",
    ],
    "centbook.sim.http.unsimulated": [
        "UNSIMULATED", "UnsimulatedRoutes",
    ],
    "centbook.sim.wire": [
        "candle_json", "dollars4", "event_positions_json", "fill_json", "iso", "iso_s", "market_json",
        "order_json", "orderbook_json", "position_json", "settlement_json", "trade_json",
    ],
    "centbook.sim.ws": [
        "CHANNELS", "CommandError", "Connection", "DEFAULTS", "ERRORS", "FAULTS", "FILTERED",
        "NOT_SIMULATED", "PRIVATE", "SEQUENCED", "StreamAdmin", "StreamHub", "Subscription",
        "UPDATABLE", "UPDATE_REASONS", "WS_PATH", "market_id",
    ],
    "centbook.sim.ws.admin": [
        "StreamAdmin",
    ],
    "centbook.sim.ws.bodies": [
        "DELTA_FORMAT", "DELTA_TAIL", "delta_market_part", "price_table", "size_bytes",
    ],
    "centbook.sim.ws.channels": [
        "CHANNELS", "CommandError", "DEFAULTS", "ERRORS", "FAULTS", "FILTERED", "NOT_SIMULATED",
        "PRIVATE", "SEQUENCED", "UPDATABLE", "UPDATE_REASONS", "WS_PATH", "dumps", "market_id",
    ],
    "centbook.sim.ws.connection": [
        "Connection", "Subscription",
    ],
    "centbook.sim.ws.hub": [
        "StreamHub",
    ],
    "centbook.sim.ws.publisher": [
        "Publisher",
    ],
    "centbook.watch": [
        "DEPTH", "REST_URLS", "STATE_STYLE", "TRADES", "WS_URLS", "Watcher", "add_parser",
        "contracts", "dollars", "fetch_grids", "main", "render_market", "watch",
    ],
    "centbook.wsreader": [
        "BookListener", "CountingListener",
    ],
}

NETWORK_MODULES = ("aiohttp", "cryptography", "picows", "msgspec", "uvloop", "rich")
RECORD_MODULES = ("zstandard", "pyarrow", "duckdb")   # the [record] extra


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_keep_their_paths(module):
    mod = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert not missing, f"{module} lost {missing}"


def test_names_in_all_exist():
    for module in PUBLIC:
        mod = importlib.import_module(module)
        missing = [name for name in getattr(mod, "__all__", ()) if not hasattr(mod, name)]
        assert not missing, f"{module}.__all__ names what it does not have: {missing}"


def _fresh(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize("statement", [
    "import centbook.book",
    "from centbook import OrderBook, PriceGrid, Books",
    "import centbook.books, centbook.grid, centbook.fixed, centbook.metrics, centbook.hooks",
])
def test_the_book_imports_alone(statement):
    loaded = _fresh(f"import sys; {statement}; print(*sorted(sys.modules))")
    network = [m for m in loaded if m.split(".")[0] in NETWORK_MODULES + RECORD_MODULES]
    assert not network, f"{statement!r} loaded {network}"
    assert "numpy" in loaded
    assert not [m for m in loaded if m.startswith(("centbook.rest", "centbook.feed", "centbook.protocol",
                                                   "centbook.mm", "centbook.sim"))]


@pytest.mark.parametrize("package", ["centbook.protocol", "centbook.feed", "centbook.rest", "centbook.mm",
                                     "centbook.mm.app", "centbook.sim", "centbook.replay"])
def test_lower_layers_never_load_the_command_line(package):
    loaded = _fresh(f"import sys, {package}; print(*sorted(sys.modules))")
    assert not [m for m in loaded if m.startswith("centbook.cli")], f"{package} loaded centbook.cli"


def test_the_command_line_loads_the_record_extra_only_when_it_records():
    loaded = _fresh("import sys, centbook.cli; print(*sorted(sys.modules))")
    assert not [m for m in loaded if m.split(".")[0] in RECORD_MODULES or m.startswith("centbook.record")]


def test_network_names_load_on_first_use():
    loaded = _fresh("import sys, centbook; centbook.RestClient; centbook.decode; print(*sorted(sys.modules))")
    assert "aiohttp" in loaded and "msgspec" in loaded
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        getattr(importlib.import_module("centbook"), "nope")  # noqa: B009
