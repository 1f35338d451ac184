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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
