# centbook: everything a person does is a target here. Nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q -c constraints.txt
DEPS := $(VENV)/.deps-stamp
DEBUG_SITE := build/debug/site
SOURCES := $(wildcard src/centbook/*.pyx src/centbook/*.pxd src/centbook/*/*.pyx src/centbook/*/*.pxd csrc/*.h csrc/*.c) setup.py
BOOK_TESTS := $(wildcard tests/unit/test_fixed.py tests/unit/test_grid.py tests/unit/test_book*.py)
PYTEST_FLAGS ?=

FUZZ_BIN := build/fuzz/fuzz_frame
FUZZ_CFLAGS := -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -Wall -Wextra -Icsrc
FUZZ_SEED ?= 1

.PHONY: all setup build debug-build test test-debug docs bench sdk-venv lint demo backtest-demo fuzz fuzz-smoke chaos clean

all: build

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Dependencies (pinned by constraints.txt) and the editable install; redone when they change.
$(DEPS): constraints.txt pyproject.toml | $(BIN)/python
	$(PIP) setuptools wheel cython picows  # picows.pxd is cimported at build time
	$(PIP) --no-build-isolation -e '.[test,lint,docs,record,backtest]'
	touch $@

setup: $(DEPS)

# Release build of the extensions in place (incremental: only changed modules recompile).
build: $(DEPS)
	@mkdir -p build
	$(BIN)/python setup.py -q build_ext --inplace > build/release.log 2>&1 \
		|| (tail -40 build/release.log; echo "release build failed: build/release.log"; exit 1)

# Debug build (-O0 -g, bounds checks on) in its own directory; never touches the release build.
debug-build: $(DEPS)
	@mkdir -p build/debug
	CENTBOOK_DEBUG=1 $(BIN)/python -m pip install -q --no-build-isolation --no-deps --upgrade \
		--target $(DEBUG_SITE) . > build/debug/build.log 2>&1 \
		|| (tail -40 build/debug/build.log; echo "debug build failed: build/debug/build.log"; exit 1)

test: build debug-build fuzz-smoke sdk-venv docs
	$(BIN)/python -m pytest $(PYTEST_FLAGS)
	$(MAKE) --no-print-directory test-debug

test-debug:
	CENTBOOK_EXPECT_DEBUG=1 PYTHONPATH=$(DEBUG_SITE) $(BIN)/python -m pytest -p no:cacheprovider \
		$(BOOK_TESTS) -q --durations=5

# The documentation (docs/: Sphinx, MyST pages, API reference from the docstrings) into
# build/docs/html, warnings as errors. Offline: nothing is fetched. autodoc imports the compiled
# modules, hence build. Part of `make test`.
docs: build
	$(BIN)/python -m sphinx -b html -W --keep-going -q docs build/docs/html

# The frame parser alone, under AddressSanitizer + UBSan, fed mutations of real frames.
$(FUZZ_BIN): fuzz/fuzz_frame.c csrc/cb_frame.c csrc/cb_frame.h csrc/cb_fixed.h
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) fuzz/fuzz_frame.c csrc/cb_frame.c -o $@

fuzz-smoke: $(FUZZ_BIN)
	$(FUZZ_BIN) fuzz/seeds.txt 100000 $(FUZZ_SEED)

fuzz: $(FUZZ_BIN)
	$(FUZZ_BIN) fuzz/seeds.txt 10000000 $(FUZZ_SEED)

# kalshi-sdk's book needs Python >= 3.12 (this venv is 3.11): a second venv, .venv-sdk, pinned by
# constraints-sdk.txt, made (or refreshed when the constraints change) with python3.12/python3.13
# from PATH or pyenv's versions by benchmarks.sdkenv.ensure_sdk_venv. Where there is none, the
# status file says why, the sdk benchmark is skipped, the report says so and the rest goes on.
SDK_STATUS := build/bench/sdk-env.json

sdk-venv: build
	@mkdir -p build/bench
	$(BIN)/python -c "from pathlib import Path; from benchmarks.sdkenv import ensure_sdk_venv; \
		print('kalshi-sdk venv:', ensure_sdk_venv(Path('.'), Path('$(SDK_STATUS)')))"

# Every suite in benchmarks/ (book contenders with kalshi-sdk in its own venv, decode, feed, REST,
# tick-to-trade, sim, scale and memory) in one run; docs/performance.md and
# build/bench/report/ (report.md + charts) come from the same results.json.
# `centbook bench --quick` is the short version (CENTBOOK_BENCH_QUICK=1). Not part of `make test`.
# kalshi-sdk costs hundreds of µs per delta: by default it replays the first SDK_DELTAS deltas of
# each grid's stream (checked on that prefix, marked "(prefix)" in the report);
# `make bench SDK_DELTAS=1000000` replays the whole stream (about 25 minutes more).
SDK_DELTAS ?= 200000
bench: build sdk-venv
	$(PIP) --no-build-isolation -e '.[test,lint,docs,record,backtest,bench]'
	@mkdir -p build/bench/report
	$(BIN)/python -c "from benchmarks.runner import build_floor; build_floor()"
	CENTBOOK_SDK_STATUS=$(SDK_STATUS) CENTBOOK_BENCH_SDK_DELTAS=$(SDK_DELTAS) $(BIN)/python -m pytest benchmarks --timeout=3600 --benchmark-only \
		--benchmark-json=build/bench/results.json --benchmark-columns=min,median,mean,stddev,rounds \
		--benchmark-sort=name -q
	$(BIN)/python -m scripts.bench_report build/bench/results.json docs/performance.md "make bench"
	$(BIN)/python -c "from pathlib import Path; from benchmarks.runner import write_report; \
		print(write_report(Path('build/bench/results.json'), Path('build/bench/report'), 'make bench'))"

CHAOS_MINUTES ?= 10
CHAOS_SEED ?= 1
# The chaos campaign (RELIABILITY.md): sim + flow + maker + guard under seeded stacked faults and
# kills; its short version runs in `make test` (tests/integration/test_chaos_smoke.py).
chaos: build
	@mkdir -p build
	$(BIN)/python scripts/chaos.py run --minutes $(CHAOS_MINUTES) --seed $(CHAOS_SEED) --json build/chaos.json
	$(BIN)/python scripts/chaos.py deadman --runs 10 | tee build/deadman.json

lint: build
	$(BIN)/ruff check src tests benchmarks scripts docs
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/cython-lint src/centbook
	$(BIN)/mypy

DEMO_DURATION ?= 60
# The market maker on the embedded exchange (a separate process) with one injected disconnect.
demo: build
	$(BIN)/python -m centbook.cli.demo --duration $(DEMO_DURATION) --json build/demo-summary.json

# a real 15-minute Kalshi market, imported and backtested (report in build/backtest-demo/out)
CAPTURES ?= ../shared/kalshi/captures
BACKTEST_CAPTURE ?= KXGOLD15M-26AUG101830-30-2026-08-10
backtest-demo: build
	rm -rf build/backtest-demo
	$(BIN)/centbook import $(CAPTURES)/events/$(BACKTEST_CAPTURE).ndjson.gz --metadata $(CAPTURES)/metadata \
		--out build/backtest-demo/rec
	$(BIN)/centbook backtest --recording build/backtest-demo/rec --results $(CAPTURES)/MARKETS.csv --seed 1 \
		--set half_spread_bp=100 --set requote_threshold_bp=100 --out build/backtest-demo/out
	@cat build/backtest-demo/out/summary.json | head -40

clean:
	rm -rf build docs/generated src/centbook/*.so src/centbook/*/*.so src/centbook/*.c benchmarks/*.so .pytest_cache
