# Two entry points that work on a fresh clone with only Python and pip:
#   make run    the main job (the retrain pipeline) on Prefect's ephemeral local API, data in ./data
#   make test   the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.fontpipe-installed
# colorjs.io, the independent APCA/WCAG implementation some tests check against (Node and npm).
ORACLE := tests/oracle/node_modules/.installed

# Environment defaults (Prefect's ephemeral-server timeout, no telemetry, quiet TensorFlow) live in
# flows/environment.py, shared by every entry point; the Makefile sets none of its own.
PYTEST_ARGS ?=
# Test processes: two keep both cores of a CI machine busy while one test waits on a server, a
# browser or a child process (the suite took 14.4 min with two, against about 18 serially, on
# 2 cores). Whole files go to one process (--dist loadfile), so module fixtures are built once.
# PYTEST_WORKERS=0 runs the suite in this process.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

.PHONY: run test test-fast lint format bench clean-venv

# The stamp is older than pyproject.toml when dependencies changed, and missing when the venv is
# new or broken (an interpreter that no longer starts): either way, (re)install.
$(STAMP): pyproject.toml
	@$(BIN)/python -c "" 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(ORACLE): tests/oracle/package.json tests/oracle/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		(cd tests/oracle && npm ci --no-audit --no-fund --silent) && touch $@ \
		|| echo "npm ci failed: the colorjs.io oracle tests will be skipped"; \
	else echo "no npm: the colorjs.io oracle tests will be skipped"; fi

run: $(STAMP)
	$(BIN)/fontpipe retrain

test: $(STAMP) $(ORACLE)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-fast: $(STAMP) $(ORACLE)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -m "not slow and not server" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check fontpipe flows cli tests bench deploy
	$(BIN)/ruff format --check fontpipe flows cli tests bench deploy
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format fontpipe flows cli tests bench deploy
	$(BIN)/ruff check --fix fontpipe flows cli tests bench deploy

bench: $(STAMP)
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/train.py
	$(BIN)/python bench/evaluate.py
	$(BIN)/python bench/score.py

clean-venv:
	rm -rf $(VENV)
