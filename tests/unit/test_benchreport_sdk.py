"""kalshi-sdk's runner on a short stream, in the sdk venv (skipped where there is none, outside CI).

The benchmark (``benchmarks/bench_kalshi_sdk.py``) relies on two things checked here on 2,000
deltas of the seeded stream: the runner rebuilds exactly the reference's final book and best-price
checksum through kalshi-sdk's own book, and it refuses to report figures when the reference it is
given disagrees. The reference is the project's oracle book (tests/reference_book.py).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks.kalshi_sdk_runner import load, run_runner, write_stream
from benchmarks.streams import make_stream
from tests.reference_book import ReferenceBook

ROOT = Path(__file__).resolve().parents[2]
SDK_PYTHON = ROOT / ".venv-sdk" / "bin" / "python"
N = 2_000


def _no_sdk_reason() -> str:
    """Why there is no sdk venv, as `make test` (sdk-venv) recorded it."""
    status = ROOT / "build" / "bench" / "sdk-env.json"
    if status.exists():
        return "no .venv-sdk: " + json.loads(status.read_text()).get("reason", "see " + str(status))
    return "no .venv-sdk (made by make test / make bench / centbook bench)"


# Outside CI a machine without Python 3.12+ has no sdk venv: these two tests are skipped with the
# reason (and `make bench` leaves kalshi-sdk out, saying why). In CI (`CI` set, as .ci/run is run)
# the venv is part of the set-up, so its absence fails them instead of hiding the check.
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")
needs_sdk = pytest.mark.skipif(not SDK_PYTHON.exists() and not IN_CI, reason=_no_sdk_reason())


@pytest.fixture(autouse=True)
def _sdk_venv_in_ci(request: pytest.FixtureRequest) -> None:
    if IN_CI and request.node.get_closest_marker("skipif") and not SDK_PYTHON.exists():
        pytest.fail(f"CI without the kalshi-sdk venv: {_no_sdk_reason()}")


def reference(stream):
    book = ReferenceBook(((0, 10000, stream.tick_bp),))
    book.apply_snapshot(stream.snapshot_yes, stream.snapshot_no)
    checksum = 0
    for side, price, delta in zip(*stream.as_lists(), strict=True):
        book.apply_delta(side, price, delta)
        checksum += max(book.levels[side], default=0)
    return [sorted(book.levels[0].items()), sorted(book.levels[1].items())], checksum


@pytest.fixture(scope="module")
def stream_file(tmp_path_factory):
    stream = make_stream(N, 10)
    final, checksum = reference(stream)
    path = tmp_path_factory.mktemp("sdk") / "stream.bin"
    write_stream(str(path), stream, final, checksum)
    return path, stream, final, checksum


def test_stream_file_round_trips(stream_file):
    """The file the 3.12 runner reads holds exactly the stream (read back here, under 3.11)."""
    path, stream, final, checksum = stream_file
    header, sides, prices, deltas = load(str(path))
    assert (list(sides), list(prices), list(deltas)) == stream.as_lists()
    assert header["expected_checksum"] == checksum and header["tick_bp"] == 10
    assert header["expected_final"] == [[list(lv) for lv in side] for side in final]


@needs_sdk
def test_runner_rebuilds_the_reference_book_through_kalshi_sdk(stream_file):
    path, stream, final, checksum = stream_file
    result = run_runner(str(SDK_PYTHON), str(path), 1)
    assert result["final"] == [[list(lv) for lv in side] for side in final]
    assert result["checksum"] == checksum and result["deltas"] == N
    assert result["kalshi_sdk"] == "22.4.0" and len(result["round_ns"]) == 1 and result["round_ns"][0] > 0


@needs_sdk
def test_runner_refuses_figures_when_the_reference_disagrees(stream_file, tmp_path):
    path = stream_file[0]
    raw = path.read_bytes()
    head, body = raw.split(b"\n", 1)
    header = json.loads(head)
    header["expected_checksum"] += 1
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(json.dumps(header).encode() + b"\n" + body)
    with pytest.raises(AssertionError, match="best-price checksum"):
        run_runner(str(SDK_PYTHON), str(wrong), 1)
