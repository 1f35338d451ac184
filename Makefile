# The README's commands: `make demo` runs the service against the local Shopify simulator,
# `make test` runs every check. Both create the virtualenv when there is none.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test check lint demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-virtualenv -r requirements.lock
	$(BIN)/python -m pip install --quiet --require-virtualenv --no-deps -e .
	touch $(STAMP)

check: $(STAMP)
	scripts/check

test: $(STAMP)
	scripts/check
	scripts/test

lint: $(STAMP)
	scripts/lint

# `make demo ARGS=--keep-running` leaves the simulator and the service running.
demo: $(STAMP)
	$(BIN)/shopify-sync demo $(ARGS)

# `make bench` runs every benchmark at quick sizes (a few minutes on 2 cores) and writes JSON
# to bench/results/; `make bench FULL=1` runs the full sizes of BENCHMARKS.md. `wrk` (the
# webhook load generator) comes from Debian and is installed when missing.
BENCH_OUT := bench/results
ifdef FULL
BENCH_RECONCILE := --sizes 10000,100000 --naive 300
BENCH_LINK := --sizes 100000 --repeats 2
BENCH_WEBHOOKS := --duration 30 --connections 2,8,16
BENCH_PROPAGATION := --samples 200 --scan-samples 60
else
BENCH_RECONCILE := --sizes 10000 --naive 100
BENCH_LINK := --sizes 10000
BENCH_WEBHOOKS := --duration 12
BENCH_PROPAGATION := --samples 30
endif

bench: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m pip install --quiet --require-virtualenv -r bench/requirements.lock
	mkdir -p $(BENCH_OUT)
	$(BIN)/python bench/reconcile.py $(BENCH_RECONCILE) --json $(BENCH_OUT)/reconcile.json
	$(BIN)/python bench/link.py $(BENCH_LINK) --json $(BENCH_OUT)/link.json
	$(BIN)/python bench/webhooks.py $(BENCH_WEBHOOKS) --json $(BENCH_OUT)/webhooks.json
	$(BIN)/python bench/metrics_cost.py
	$(BIN)/python bench/webhook_profile.py
	$(BIN)/python bench/propagation.py $(BENCH_PROPAGATION) --json $(BENCH_OUT)/propagation.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
