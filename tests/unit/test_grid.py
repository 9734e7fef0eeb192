"""PriceGrid: every price structure on Kalshi's fixed-point page, and malformed ranges."""
import pytest

from centbook import PriceGrid

E = "0.1000"  # edge/center boundary
STRUCTURES = {
    "linear_cent": [("0.0000", "1.0000", "0.0100")],
    "deci_cent": [("0.0000", "1.0000", "0.0010")],
    "tapered_deci_cent": [("0.0000", E, "0.0010"), (E, "0.9000", "0.0100"), ("0.9000", "1.0000", "0.0010")],
    "center_whole_edge_half_cent": [("0.0000", E, "0.0050"), (E, "0.9000", "0.0100"), ("0.9000", "1.0000", "0.0050")],
    "center_whole_edge_quint_cent": [("0.0000", E, "0.0020"), (E, "0.9000", "0.0100"), ("0.9000", "1.0000", "0.0020")],
    "center_half_edge_half_cent": [("0.0000", "1.0000", "0.0050")],
    "center_half_edge_quint_cent": [("0.0000", E, "0.0020"), (E, "0.9000", "0.0050"), ("0.9000", "1.0000", "0.0020")],
    "center_half_edge_deci_cent": [("0.0000", E, "0.0010"), (E, "0.9000", "0.0050"), ("0.9000", "1.0000", "0.0010")],
    "center_quint_edge_quint_cent": [("0.0000", "1.0000", "0.0020")],
    "center_quint_edge_deci_cent": [("0.0000", E, "0.0010"), (E, "0.9000", "0.0020"), ("0.9000", "1.0000", "0.0010")],
    "center_centi_edge_centi_cent": [("0.0000", "1.0000", "0.0001")],
    "center_deci_edge_centi_cent": [("0.0000", "0.0100", "0.0001"), ("0.0100", "0.9900", "0.0010"), ("0.9900", "1.0000", "0.0001")],
}


def ranges(bands):
    return [{"start": s, "end": e, "step": st} for s, e, st in bands]


def expected_prices(bands):
    out = set()
    for s, e, st in bands:
        s, e, st = (round(float(x) * 10000) for x in (s, e, st))
        out.update(range(s, e + 1, st))
    return out


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_every_structure(name):
    bands = STRUCTURES[name]
    grid = PriceGrid.from_ranges(ranges(bands))
    valid = expected_prices(bands)
    assert set(grid.valid_prices().tolist()) == valid
    assert 10000 % grid.tick_bp == 0 and grid.slot_count == 10000 // grid.tick_bp + 1
    for p in range(0, 10001):
        assert grid.is_valid(p) == (p in valid)
    # whole cents are valid in every structure
    assert all(grid.is_valid(c) for c in range(0, 10001, 100))
    for p in sorted(valid)[:50]:
        assert grid.price(grid.slot(p)) == p
    assert grid.is_symmetric
    assert PriceGrid.from_ranges(grid.to_ranges()) is grid


def test_tick_is_the_gcd_of_steps_and_bounds():
    # 0.002 edges and 0.005 center: neither step divides the other, so the slots are 0.001 apart
    grid = PriceGrid.from_ranges(ranges(STRUCTURES["center_half_edge_quint_cent"]))
    assert grid.tick_bp == 10
    assert not grid.is_valid(1010) and grid.is_valid(1050) and grid.is_valid(20)
    assert PriceGrid.linear_cent().slot_count == 101
    assert PriceGrid.from_ranges(ranges(STRUCTURES["center_centi_edge_centi_cent"])).slot_count == 10001


def test_linear_cent_is_shared():
    assert PriceGrid.linear_cent() is PriceGrid.from_ranges(ranges(STRUCTURES["linear_cent"]))


def test_asymmetric_grid_mirrors_for_no():
    grid = PriceGrid.from_bands([(0, 5000, 10), (5000, 10000, 100)])
    assert not grid.is_symmetric
    assert grid.is_valid(10, 0) and not grid.is_valid(10, 1)
    assert grid.is_valid(9990, 1) and not grid.is_valid(9990, 0)
    assert set(grid.valid_prices(1).tolist()) == {10000 - p for p in grid.valid_prices(0).tolist()}


def test_rounding_and_steps():
    grid = PriceGrid.from_ranges(ranges(STRUCTURES["tapered_deci_cent"]))
    assert grid.round_down(1055) == 1000 and grid.round_up(1055) == 1100
    assert grid.round_down(955) == 950 and grid.round_up(955) == 960
    assert grid.step_at(955) == 10 and grid.step_at(5000) == 100
    assert grid.step_at(1000) == 10


@pytest.mark.parametrize(("bands", "why"), [
    ([("0.0000", "0.5000", "0.0100"), ("0.6000", "1.0000", "0.0100")], "gap"),
    ([("0.0000", "0.5000", "0.0100"), ("0.4000", "1.0000", "0.0100")], "overlaps"),
    ([("0.0000", "1.0000", "0.0300")], "does not divide"),
    ([("0.0000", "1.0000", "0.00005")], "more decimals"),
    ([("0.0000", "1.0000", "0.0000")], "at least 1 bp"),
    ([("0.5000", "0.5000", "0.0100")], "start must be below end"),
    ([("0.6000", "0.5000", "0.0100")], "start must be below end"),
    ([("0.0000", "1.5000", "0.0100")], "out of range"),
    ([], "non-empty"),
])
def test_malformed_ranges_are_refused(bands, why):
    with pytest.raises(ValueError, match=why):
        PriceGrid.from_ranges(ranges(bands))


def test_missing_keys_are_named():
    with pytest.raises(ValueError, match=r"price_ranges\[0\].*start, end and step"):
        PriceGrid.from_ranges([{"start": "0", "end": "1"}])


def test_off_grid_slot_lookup_names_the_price():
    with pytest.raises(ValueError, match="150 bp"):
        PriceGrid.linear_cent().slot(150)
