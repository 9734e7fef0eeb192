"""``centbook backtest`` end to end on a real Kalshi capture (imported with ``centbook import``).

Runs are repeatable to the byte (but for the measured speed), the compiled requote arithmetic
and the Python strategy drive the backtest to the same results, the settled P&L is what the
fills table and the market's result give, and sweeps give the same figures on a process pool,
in this process and on a local Dask cluster (on 127.0.0.1).
"""
from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest

from centbook.cli import main
from tests.unit.test_decode_captures import CAPTURES as EVENTS

CAPTURES = EVENTS.parent
CAPTURE = EVENTS / "KXGOLD15M-26AUG101900-00-2026-08-10.ndjson.gz"
TICKER = "KXGOLD15M-26AUG101900-00"

pytestmark = pytest.mark.skipif(not CAPTURE.exists(),
                                reason=f"no captures in {CAPTURES} (shared/ is beside the repository)")

CONFIG = """
[strategy]
half_spread_bp = 100
requote_threshold_bp = 100

[backtest]
queue = "probabilistic"
entry_latency_ms = {dist = "lognormal", median_ms = 20, sigma = 0.5}
data_latency_ms = 5
"""


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    root = tmp_path_factory.mktemp("backtest")
    rec = root / "rec"
    assert main(["import", str(CAPTURE), "--metadata", str(CAPTURES / "metadata"), "--out", str(rec)]) == 0
    config = root / "mm.toml"
    config.write_text(CONFIG)
    return rec, config


def backtest(rec, config, out, *extra):
    code = main(["backtest", "--recording", str(rec), "--config", str(config), "--out", str(out),
                 "--results", str(CAPTURES / "MARKETS.csv"), "--no-progress", *extra])
    assert code == 0
    return json.loads((out / "summary.json").read_text())


def comparable(summary):
    return {k: v for k, v in summary.items() if k != "events_per_s"}


def test_same_recording_config_and_seed_give_the_same_summary(recording, tmp_path):
    rec, config = recording
    first = backtest(rec, config, tmp_path / "a", "--seed", "7")
    again = backtest(rec, config, tmp_path / "b", "--seed", "7")
    other = backtest(rec, config, tmp_path / "c", "--seed", "8")
    assert comparable(first) == comparable(again)
    for table in ("fills.parquet", "orders.parquet", "pnl.parquet"):
        assert (tmp_path / "a" / table).read_bytes() == (tmp_path / "b" / table).read_bytes(), table
    assert comparable(first) != comparable(other)     # the latencies and the queue draw from the seed
    assert first["fills"] > 0 and first["maker_fills"] > 0 and first["events"] > 20_000
    assert first["fills"] == first["maker_fills"] + first["taker_fills"]
    assert first["settlement_bp"] == {TICKER: 10_000}     # MARKETS.csv: it settled yes
    for name in ("summary.json", "report.md", "report.html", "pnl.png", "inventory.png", "quotes.png",
                 "fills.png", "fills.parquet", "orders.parquet", "pnl.parquet"):
        assert (tmp_path / "a" / name).stat().st_size > 0, name
    assert "![pnl](pnl.png)" in (tmp_path / "a" / "report.md").read_text()


def test_settled_pnl_is_the_fills_cash_plus_the_payout_less_fees(recording, tmp_path):
    rec, config = recording
    summary = backtest(rec, config, tmp_path / "a")
    fills = pq.read_table(tmp_path / "a" / "fills.parquet").to_pylist()
    assert len(fills) == summary["fills"]
    cash = sum(-f["price_bp"] * f["size_c100"] if f["side"] == "bid" else f["price_bp"] * f["size_c100"]
               for f in fills)
    position = sum(f["size_c100"] if f["side"] == "bid" else -f["size_c100"] for f in fills)
    fees = sum(f["fee_micro"] for f in fills)
    assert summary["positions"] == {TICKER: position}
    assert summary["fees_micro"] == fees
    assert summary["pnl_settled_micro"] == cash + position * 10_000 - fees
    assert summary["volume"] == sum(f["size_c100"] for f in fills)
    orders = pq.read_table(tmp_path / "a" / "orders.parquet").to_pylist()
    # every write reaches the exchange but a cancel or amend of an order that was already gone
    assert 0 < len(orders) <= summary["orders"]["writes"]
    assert sum(o["action"] == "create" for o in orders) == summary["orders"]["creates"]
    assert {o["action"] for o in orders} <= {"create", "amend", "cancel"}


def test_the_compiled_arithmetic_and_the_python_strategy_backtest_alike(recording, tmp_path):
    rec, config = recording
    compiled = backtest(rec, config, tmp_path / "a")
    python = backtest(rec, config, tmp_path / "b", "--python-strategy")
    assert compiled["orders"]["compiled_targets"] > 0 and python["orders"]["compiled_targets"] == 0
    drop = ("events_per_s", "orders", "settings")
    def figures(summary):
        return {k: v for k, v in summary.items() if k not in drop}
    assert figures(compiled) == figures(python)


def sweep(rec, config, out, *extra):
    code = main(["backtest", "--recording", str(rec), "--config", str(config), "--out", str(out),
                 "--results", str(CAPTURES / "MARKETS.csv"), "--no-progress",
                 "--sweep", "spread_bp=200,400", "--seeds", "1,2", *extra])
    assert code == 0
    with open(out / "sweep.csv") as fh:
        return list(csv.DictReader(fh))


def test_a_sweep_gives_one_row_per_run_equal_to_the_single_runs(recording, tmp_path):
    rec, config = recording
    rows = sweep(rec, config, tmp_path / "pool", "--workers", "2")
    points = [(r["spread_bp"], r["seed"]) for r in rows]
    assert points == [("200", "1"), ("200", "2"), ("400", "1"), ("400", "2")]
    single = backtest(rec, config, tmp_path / "one", "--seed", "2", "--set", "half_spread_bp=200")
    assert int(rows[3]["pnl_settled_micro"]) == single["pnl_settled_micro"]
    assert int(rows[3]["fills"]) == single["fills"]
    assert "Settled P&L across seeds" in (tmp_path / "pool" / "sweep.md").read_text()
    inline = sweep(rec, config, tmp_path / "inline", "--workers", "1")
    strip = [{k: v for k, v in r.items() if k != "events_per_s"} for r in rows]
    assert strip == [{k: v for k, v in r.items() if k != "events_per_s"} for r in inline]


def test_a_sweep_runs_on_a_dask_cluster(recording, tmp_path):
    import distributed  # the [backtest] extra, which make test installs
    rec, config = recording
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        rows = sweep(rec, config, tmp_path / "dask", "--dask", cluster.scheduler_address)
    local = sweep(rec, config, tmp_path / "local", "--workers", "1")
    assert len(rows) == 4
    strip = [{k: v for k, v in r.items() if k != "events_per_s"} for r in rows]
    assert strip == [{k: v for k, v in r.items() if k != "events_per_s"} for r in local]


@pytest.mark.parametrize("args, message", [
    (["--sweep", "colour=1,2"], "--sweep 'colour': not a strategy, risk or backtest setting"),
    (["--set", "queue=fifo"], "queue model must be one of"),
    (["--seeds", "a,b"], "--seeds 'a,b': give integers"),
])
def test_mistakes_are_one_line_and_exit_2(recording, tmp_path, capsys, args, message):
    rec, config = recording
    code = main(["backtest", "--recording", str(rec), "--config", str(config), "--out", str(tmp_path / "o"),
                 "--no-progress", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("centbook backtest: ") and message in err and len(err.strip().splitlines()) == 1


def test_a_missing_recording_is_named(tmp_path, capsys):
    code = main(["backtest", "--recording", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--recording" in capsys.readouterr().err


def test_an_unreachable_dask_scheduler_is_one_line_and_exit_1(recording, tmp_path, capsys):
    import dask  # the [backtest] extra, which make test installs
    rec, config = recording
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["backtest", "--recording", str(rec), "--config", str(config),
                     "--out", str(tmp_path / "o"), "--no-progress", "--sweep", "spread_bp=100,200",
                     "--dask", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("centbook backtest: --dask tcp://127.0.0.1:9: cannot use the scheduler")
