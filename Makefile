# Everything installs into .venv from requirements.lock; nothing is needed beyond python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt

# The venv's tools first: dagster-dbt calls `dbt` by name when it re-parses under `dagster dev`.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PIPELINES_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
# `make ui` serves the Dagster UI on http://127.0.0.1:$(DAGSTER_PORT).
export DAGSTER_PORT ?= 3000
# `make docs` serves dbt's documentation on http://127.0.0.1:$(DBT_DOCS_PORT).
export DBT_DOCS_PORT ?= 8080
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1

.PHONY: install manifest run test test-fast ui sql docs lint lock bench scale chaos clean

# Bytecode is compiled at install (uv's --compile-bytecode; pip does it by default): with
# PYTHONDONTWRITEBYTECODE set, as on the machines we measure on, Python never caches it and every
# process compiled each imported module again: loading the pipelines' definitions (what each Dagster
# step process and test worker does first) took 6.0 s without it and 3.5 s with it.
$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip uv
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.lock \
		|| $(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e . \
		|| $(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	printf 'telemetry:\n  enabled: false\n' > $@

# dagster-dbt loads the dbt manifest at import time: build it before anything imports the pipelines.
manifest: install $(DAGSTER_HOME)/dagster.yaml
	cd dbt_project && ../$(DBT) parse --quiet --profiles-dir .

# Exit status 1 when a vendor or dbt failed; the summary says which and the log file why.
run: manifest
	$(PY) -m pipelines.run $(RUN_ARGS)

# On every core (pytest-xdist), at most 4 workers: each may hold a dbt build and a simulator's
# data. A module's tests stay on one worker, as several share a module-scoped warehouse or server.
PYTEST_PARALLEL := -n auto --maxprocesses 4 --dist loadfile

test: manifest
	$(PY) -m pytest $(PYTEST_PARALLEL) --durations 15

# The inner loop: clients, simulators, landing and HTTP, without dbt builds or whole runs.
test-fast: manifest
	$(PY) -m pytest $(PYTEST_PARALLEL) -m "not slow"

ui: manifest
	$(PY) -m pipelines.run --ui

# The DuckDB shell on the warehouse, read-only, marts in scope; works while dbt builds.
# `make sql Q="select count(*) from marts.fct_reading"` prints the answer and exits.
# Q travels in the environment, so no quote in it can break the command line.
sql: export PIPELINES_SQL_QUERY := $(Q)
sql: install
	$(PY) -m pipelines.sql $(if $(Q),-c "$$PIPELINES_SQL_QUERY")

# dbt's documentation of every model and column, with the lake's types (its catalog), then served.
docs: manifest
	cd dbt_project && ../$(DBT) docs generate --quiet --profiles-dir .
	@echo "dbt docs on http://127.0.0.1:$(DBT_DOCS_PORT) (Ctrl-C to stop)"
	cd dbt_project && ../$(DBT) docs serve --profiles-dir . --host 127.0.0.1 --port $(DBT_DOCS_PORT) --no-browser

# Style and formatting (ruff), then types (mypy on pipelines/, configured in pyproject.toml).
lint: install
	$(VENV)/bin/ruff check pipelines tests bench
	$(VENV)/bin/ruff format --check pipelines tests bench
	$(VENV)/bin/mypy

# Throughput, memory and incremental cost beside dlt and orjson; SCALE=smoke|quick|default|large;
# ONLY=dbt (or extraction, extraction_dsmr, transforms) runs that section alone.
SCALE ?= default
ONLY ?=
bench: manifest
	$(PY) -m bench.run --scale $(SCALE) $(if $(ONLY),--only $(ONLY))

# A simulated fleet of DEVICES for one day: each vendor's extraction over HTTP from its simulator,
# then dbt; writes bench/scale-results.md and .json (docs/scaling.md). SCALE_ARGS="--vendor baxo".
DEVICES ?= 10000
SCALE_ARGS ?=
scale: manifest
	$(PY) -m bench.scale --devices $(DEVICES) $(SCALE_ARGS)

# Kill -9 runs at random instants under injected faults, re-run, compare with a clean run
# (README: "Chaos suite"); CHAOS_ARGS="--seeds 5 --days 3" for more. Exit 1 on any row lost or repeated.
CHAOS_ARGS ?=
chaos: manifest
	$(PY) -m pipelines.chaos $(CHAOS_ARGS)

# Re-pin after editing pyproject.toml's dependencies (records versions only, no download addresses).
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras -o requirements.lock --python-version 3.11 --no-header

# Everything generated: the venv, dbt's target and logs, and all of the data directory but its
# .gitkeep (landing, quarantine, audio, cursors, warehouse, Dagster home, run logs).
DBT_GENERATED := dbt_project/target dbt_project/logs
clean:
	rm -rf $(VENV) $(DBT_GENERATED)
	if [ -d "$(PIPELINES_DATA_DIR)" ]; then \
		find "$(PIPELINES_DATA_DIR)" -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +; \
	fi
