"""The configuration reference of docs/market-maker.md: every field of centbook.mm.config, with a meaning."""
import dataclasses
import re
import sys
from pathlib import Path

from centbook.mm import config

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
import mmconfig  # noqa: E402


def test_every_field_has_a_row_with_its_default_and_a_meaning():
    comments = mmconfig.field_comments(config)
    for section, class_name in mmconfig.SECTIONS:
        cls = getattr(config, class_name)
        rows = {row[0]: row for row in mmconfig.config_rows(cls, section, comments)}
        fields = {f.name for f in dataclasses.fields(cls)} - {"strategy", "risk", "guard"}
        assert set(rows) == fields
        assert all(meaning for _, _, _, meaning in rows.values()), class_name
    top = {row[0]: row for row in mmconfig.config_rows(config.MMConfig, "", comments)}
    assert top["requote"][1:3] == ("str", '"auto"')
    assert top["presign"][2] == "unset"


def test_a_class_body_comment_wins_over_the_docstring_example():
    comments = mmconfig.field_comments(config)
    # RiskConfig.position_check_s has a comment in both places; the class body's is used
    assert comments[("risk", "position_check_s")].startswith("a market_positions value may disagree")


def test_the_pages_example_file_loads(tmp_path):
    page = (Path(__file__).resolve().parents[2] / "docs" / "market-maker.md").read_text()
    (example,) = re.findall(r"^```toml\n(.*?)^```", page, re.M | re.S)
    path = tmp_path / "mm.toml"
    path.write_text(example)
    cfg = config.load_config(str(path))
    assert (cfg.env, cfg.strategy.half_spread_bp, cfg.risk.max_loss_micro) == ("demo", 200, 50_000_000)
