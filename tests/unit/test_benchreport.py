"""The benchmark report renders from pytest-benchmark JSON (no benchmark is run here)."""
from __future__ import annotations

import pytest

from centbook.benchreport import END, START, render, update_readme


def bench(name, group, median_s, ops, **extra):
    return {"name": name, "group": group, "stats": {"median": median_s, "min": median_s},
            "extra_info": {"ops": ops, **extra}}


RESULTS = {
    "machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}, "python_version": "3.11.7"},
    "datetime": "2026-11-24T18:00:00",
    "benchmarks": [
        bench("test_dict_max[cent]", "book apply+best cent", 2.0, 1000),
        bench("test_order_book_c[cent]", "book apply+best cent", 1.0, 1000),
        bench("test_centbook_tuple[cent]", "book apply+best cent", 0.1, 1000),
        bench("test_memory_per_book[cent]", "scale: book construction", 0.001, 200,
              bytes_per_book=2400.0, slots=101, grid="cent"),
        bench("test_spread_markets[1]", "scale: deltas spread over N markets", 0.01, 1000,
              markets=1, levels=16),
        bench("test_spread_markets[10000]", "scale: deltas spread over N markets", 0.05, 1000,
              markets=10000, levels=16),
    ],
}


def test_render_puts_command_and_ratios_first():
    text = render(RESULTS, "centbook bench --quick")
    assert text.startswith("Reproduce with `centbook bench --quick`")
    assert text.index("Ratios first") < text.index("ns per operation")
    assert "| dict book + max() (tutorial) | 20.00x |" in text
    assert "| bmoscon order-book C SortedDict | 10.00x |" in text
    assert "| 10,000 | 23,438 KiB | 50,000 |" in text      # working set = markets x measured bytes
    assert "(5.0x)" in text
    assert "kalshi-sdk" in text


def test_update_readme_replaces_only_the_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{START}\nold\n{END}\nafter\n")
    update_readme(readme, "new")
    assert readme.read_text() == f"before\n{START}\nnew\n{END}\nafter\n"
    readme.write_text("no markers")
    with pytest.raises(SystemExit):
        update_readme(readme, "new")
