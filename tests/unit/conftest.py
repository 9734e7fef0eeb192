"""Fixtures of the unit tests of recordings: the real captures imported once per module."""
from __future__ import annotations

import pytest

from centbook.cli import main
from tests.unit.test_decode_captures import CAPTURES, FILES


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The captures of ``shared/kalshi/captures`` imported into a recording (``centbook import``)."""
    if not FILES:
        pytest.skip(f"captures not found at {CAPTURES}")
    out = tmp_path_factory.mktemp("imported") / "rec"
    metadata = CAPTURES.parent / "metadata"
    assert main(["import", *map(str, FILES), "--metadata", str(metadata), "--out", str(out)]) == 0
    return out
