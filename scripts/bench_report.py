"""Turn a pytest-benchmark JSON file into centbook's performance section.

Usage: python -m scripts.bench_report RESULTS.json docs/performance.md [COMMAND] (from the checkout)

Writes the report's text (ratios first, then the targets with met / not met, per-group tables
and sections for each suite that ran, the scale and memory section and what kalshi-sdk's venv
made of the run (``sdk-env.json`` beside the JSON), headed by the command that reproduces it;
see :mod:`benchmarks.report`) between the page's ``<!-- bench:start -->`` and
``<!-- bench:end -->`` markers, and also to RESULTS.md beside the JSON. Nothing in that page's
performance section is typed by hand.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.report import render, update_readme
from benchmarks.sdkenv import SDK_STATUS, read_sdk_status


def main() -> None:
    results_path, readme_path = Path(sys.argv[1]), Path(sys.argv[2])
    command = sys.argv[3] if len(sys.argv) > 3 else "make bench"
    results = json.loads(results_path.read_text())
    body = render(results, command, sdk_status=read_sdk_status(results_path.with_name(SDK_STATUS)))
    results_path.with_suffix(".md").write_text(body)
    update_readme(readme_path, body)
    print(f"wrote {results_path.with_suffix('.md')} and the performance section of {readme_path}")


if __name__ == "__main__":
    main()
