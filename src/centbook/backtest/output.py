"""What ``centbook backtest`` writes: ``summary.json``, Parquet tables, charts and a report.

Into the output directory:

- ``summary.json``: :func:`centbook.backtest.summary.summarize` (sorted keys, so equal runs give
  equal files but for ``events_per_s``);
- ``fills.parquet``, ``orders.parquet``, ``pnl.parquet``: every fill, every write as it reached
  the exchange, and the sampled series per market (position, P&L realised and marked, fees, the
  book's best bid/ask and ours); integer units as in the recording's own Parquet tables;
- ``pnl.png``, ``inventory.png``, ``quotes.png``, ``fills.png`` (matplotlib) and ``report.md``
  / ``report.html`` showing them with the figures.

Parts: :func:`write_outputs`, :data:`TABLES`.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from centbook.backtest.engine import BacktestResult  # noqa: E402

__all__ = ["TABLES", "write_outputs"]

_I64, _I32, _STR, _F64, _BOOL = pa.int64(), pa.int32(), pa.string(), pa.float64(), pa.bool_()

TABLES = {
    "fills": pa.schema([("t_ns", _I64), ("ticker", _STR), ("order_id", _I64), ("side", _STR),
                        ("price_bp", _I32), ("size_c100", _I64), ("taker", _BOOL), ("fee_micro", _I64)]),
    "orders": pa.schema([("sent_ns", _I64), ("arrived_ns", _I64), ("ticker", _STR), ("side", _STR),
                         ("action", _STR), ("order_id", _I64), ("price_bp", _I32), ("size_c100", _I64),
                         ("status", _STR), ("ahead_c100", _I64), ("filled_c100", _I64)]),
    "pnl": pa.schema([("t_ns", _I64), ("ticker", _STR), ("position_c100", _I64),
                      ("realized_micro", _I64), ("marked_micro", _I64), ("fees_micro", _I64),
                      ("mid_bp", _F64), ("best_bid_bp", _I32), ("best_ask_bp", _I32),
                      ("our_bid_bp", _I32), ("our_ask_bp", _I32)]),
}


def _rows(result: BacktestResult) -> dict[str, list[tuple[Any, ...]]]:
    fills = [(f.t_ns, f.ticker, f.order_id, "bid" if f.side == 0 else "ask", f.price_bp, f.size,
              f.taker, f.fee_micro) for f in result.fills]
    return {"fills": fills, "orders": result.orders, "pnl": result.series}


def _table(name: str, rows: list[tuple[Any, ...]]) -> pa.Table:
    schema = TABLES[name]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    arrays = [pa.array(list(col), type=f.type) for col, f in zip(columns, schema, strict=True)]
    return pa.table(arrays, schema=schema)


def _charts(out: Path, result: BacktestResult) -> list[str]:
    series = result.series
    t0 = result.first_ns
    by_ticker: dict[str, list[tuple[Any, ...]]] = {}
    for row in series:
        by_ticker.setdefault(row[1], []).append(row)
    made = []

    def figure(name: str, title: str, ylabel: str, draw: Any) -> None:
        fig, ax = plt.subplots(figsize=(9, 3.6))
        draw(ax)
        ax.set_title(title)
        ax.set_xlabel("seconds into the recording")
        ax.set_ylabel(ylabel)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", loc="best")
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=90)
        plt.close(fig)
        made.append(name)

    def secs(rows: list[tuple[Any, ...]]) -> list[float]:
        return [(r[0] - t0) / 1e9 for r in rows]

    def pnl(ax: Any) -> None:
        for ticker, rows in by_ticker.items():
            ax.plot(secs(rows), [r[4] / 1e6 for r in rows], label=f"{ticker} marked")
            ax.plot(secs(rows), [r[3] / 1e6 for r in rows], linestyle="--", label=f"{ticker} realised")

    def inventory(ax: Any) -> None:
        for ticker, rows in by_ticker.items():
            ax.step(secs(rows), [r[2] / 100 for r in rows], where="post", label=ticker)

    def quotes(ax: Any) -> None:
        for ticker, rows in list(by_ticker.items())[:1]:
            x = secs(rows)
            ax.plot(x, [r[7] for r in rows], color="tab:green", lw=0.8, label="book bid")
            ax.plot(x, [r[8] for r in rows], color="tab:red", lw=0.8, label="book ask")
            ax.plot(x, [r[9] for r in rows], ".", color="tab:green", ms=2, label="our bid")
            ax.plot(x, [r[10] for r in rows], ".", color="tab:red", ms=2, label="our ask")
            ax.set_title(ticker)

    def fills(ax: Any) -> None:
        for side, colour in ((0, "tab:green"), (1, "tab:red")):
            rows = [f for f in result.fills if f.side == side]
            ax.scatter([(f.t_ns - t0) / 1e9 for f in rows], [f.price_bp for f in rows], s=8, color=colour,
                       label="bought" if side == 0 else "sold")

    figure("pnl", "P&L net of fees ($)", "$", pnl)
    figure("inventory", "Inventory (contracts, + = long YES)", "contracts", inventory)
    figure("quotes", "Quotes against the book (YES bp)", "bp", quotes)
    figure("fills", "Fills (YES bp)", "bp", fills)
    return made


def _report(summary: dict[str, Any], charts: list[str]) -> tuple[str, str]:
    keys = [k for k in summary if not isinstance(summary[k], dict) and not isinstance(summary[k], list)]
    lines = ["# Backtest report", "", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {summary[k]} |" for k in keys]
    lines += ["", "Money in micro-dollars, sizes in hundredths of a contract; P&L net of fees.", ""]
    lines += [f"![{name}]({name}.png)" for name in charts]
    md = "\n".join(lines) + "\n"
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(summary[k]))}</td></tr>" for k in keys)
    imgs = "".join(f'<p><img src="{name}.png" alt="{name}"></p>' for name in charts)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Backtest report</title></head>"
            f"<body><h1>Backtest report</h1><table>{rows}</table>{imgs}</body></html>\n")
    return md, page


def write_outputs(out_dir: str | Path, result: BacktestResult, summary: dict[str, Any],
                  charts: bool = True) -> Path:
    """Write a run's files into ``out_dir`` (created); return its path.

    Parameters
    ----------
    out_dir : str or Path
    result : BacktestResult
    summary : dict
        From :func:`centbook.backtest.summary.summarize`.
    charts : bool
        Whether to draw the charts and the report (a sweep leaves them out).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    for name, rows in _rows(result).items():
        pq.write_table(_table(name, rows), out / f"{name}.parquet")
    if charts:
        made = _charts(out, result)
        md, page = _report(summary, made)
        (out / "report.md").write_text(md)
        (out / "report.html").write_text(page)
    return out
