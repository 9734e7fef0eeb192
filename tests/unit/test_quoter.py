"""The compiled amend path's decision (centbook.mm.quoter) against the Python strategy it mirrors.

For random books on every price structure, random resting orders of ours (at the top, deeper, or
filling the top levels), positions and strategy settings, the compiled targets must be exactly
the strategy's (``Strategy.targets``: microprice without our own orders, skew, half-spread
snapped to the grid), or the compiled side must leave the decision to Python; it may leave it
only where the strategy has no two-sided quote, or for the cases it declines by design (a
crossed book, sizes too large for exact arithmetic). The firing rules (threshold, floor,
crossing, quote life, tradability, budget) are checked over real sockets in
tests/integration/test_lane.py.
"""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from centbook import OrderBook, PriceGrid
from centbook.mm.config import StrategyConfig
from centbook.mm.quoter import DECLINE_REASONS, ArmedAmend, Quoter
from centbook.mm.strategy import Strategy
from tests.unit.test_grid import STRUCTURES, ranges

GRIDS = ["linear_cent", "deci_cent", "tapered_deci_cent", "center_half_edge_quint_cent",
         "center_centi_edge_centi_cent", "center_deci_edge_centi_cent"]
_GRIDS = {name: PriceGrid.from_ranges(ranges(STRUCTURES[name])) for name in GRIDS}
_VALID = {name: [p for p in range(1, 10000) if g.is_valid(p)] for name, g in _GRIDS.items()}


@st.composite
def situations(draw):
    name = draw(st.sampled_from(GRIDS))
    grid, valid = _GRIDS[name], _VALID[name]
    mid = draw(st.sampled_from(valid[len(valid) // 5: 4 * len(valid) // 5]))
    below = [p for p in valid if p < mid][-12:]
    above = [p for p in valid if p > mid][:12]
    crossed = draw(st.booleans()) and draw(st.booleans())  # now and then: a crossed book
    size = st.integers(1, 5_000_00)
    yes = {p: draw(size) for p in draw(st.lists(st.sampled_from(below + (above[:2] if crossed else [])),
                                                max_size=6, unique=True))}
    asks = {p: draw(size) for p in draw(st.lists(st.sampled_from(above + (below[-2:] if crossed else [])),
                                                 max_size=6, unique=True))}
    # our own resting orders: on either side, often exactly at a top level, sometimes all of it
    own: dict[int, int] = {}
    for book_side in draw(st.lists(st.sampled_from([yes, asks]), max_size=2)):
        if book_side and draw(st.booleans()):
            p = draw(st.sampled_from(sorted(book_side)))
            own[p] = own.get(p, 0) + draw(st.sampled_from([book_side[p], max(1, book_side[p] // 2)]))
    cfg = StrategyConfig()
    cfg.half_spread_bp = draw(st.one_of(st.integers(1, 400), st.floats(0.5, 400.0)))
    cfg.skew_bp_per_contract = draw(st.one_of(st.integers(-20, 20), st.floats(-20.0, 20.0)))
    cfg.size = draw(st.integers(1, 1000_00))
    small = st.integers(-30_00, 30_00)  # mostly positions whose skew keeps both quotes on the book
    position = draw(st.one_of(small, small, small, st.integers(-50_000_00, 50_000_00)))
    return name, grid, yes, asks, own, cfg, position


def _book(grid: PriceGrid, yes: dict[int, int], asks: dict[int, int]) -> OrderBook:
    book = OrderBook("KX-Q", grid)
    # YES asks rest as NO bids at 10000 - price
    book.apply_snapshot_bp(sorted(yes.items()), sorted((10000 - p, s) for p, s in asks.items()))
    return book


def _armed(book: OrderBook, grid: PriceGrid, own: dict[int, int], cfg: StrategyConfig,
           position: int) -> ArmedAmend:
    a = ArmedAmend()
    a.book, a.grid, a.market, a.side = book, grid, 0, 0
    prices = sorted(own)
    a.own_a, a.own_b = (prices + [-1, -1])[:2]
    a.own_a_size = own.get(a.own_a, 0) if prices else 0
    a.own_b_size = own.get(a.own_b, 0) if len(prices) > 1 else 0
    a.half_spread_bp, a.skew_bp_per_contract = cfg.half_spread_bp, cfg.skew_bp_per_contract
    a.position, a.size = position, cfg.size
    return a


def _check(case) -> bool:
    """One situation; True when both sides quoted (the compiled targets were compared)."""
    name, grid, yes, asks, own, cfg, position = case
    book = _book(grid, yes, asks)
    bid, ask, fair = Strategy(cfg).targets(book, grid, position, own)
    got = Quoter().targets(_armed(book, grid, own, cfg, position))
    if got is not None:
        assert bid is not None and ask is not None, (got, fair)
        assert got == (bid.price_bp, ask.price_bp), (name, fair)
        return True
    crossed = bool(yes) and bool(asks) and max(yes) >= min(asks)
    if not crossed:  # sizes here are far below the exactness limit: only "no two-sided quote"
        assert bid is None or ask is None, (name, bid, ask, fair)
    return False


@given(situations())
def test_compiled_targets_are_the_strategys_or_left_to_it(case) -> None:
    _check(case)


def test_most_situations_are_compared_not_left_to_python() -> None:
    """The property above must not pass by declining: most random situations quote both sides."""
    compared = []

    @given(situations())
    def one(case):
        compared.append(_check(case))

    one()
    assert len(compared) >= 50 and sum(compared) >= len(compared) // 5, (sum(compared), len(compared))


def test_a_top_level_that_is_all_ours_is_skipped_as_the_strategy_skips_it() -> None:
    grid = PriceGrid.linear_cent()
    yes, asks = {4500: 300, 4400: 1000}, {5500: 200, 5600: 700}
    own = {4500: 300, 5500: 100}  # all of the best bid, half of the best ask
    book = _book(grid, yes, asks)
    cfg = StrategyConfig()
    cfg.half_spread_bp, cfg.skew_bp_per_contract = 150, 0
    bid, ask, fair = Strategy(cfg).targets(book, grid, 0, own)
    assert fair == (4400 * 100 + 5500 * 1000) / 1100  # 4400 x 1000 against 5500 x (200 - 100)
    assert Quoter().targets(_armed(book, grid, own, cfg, 0)) == (bid.price_bp, ask.price_bp)


def test_every_decline_reason_is_named() -> None:
    q = Quoter()
    assert set(q.declines) == set(DECLINE_REASONS) and not any(q.declines.values())
    assert q.armed == q.fired == q.declined == 0
