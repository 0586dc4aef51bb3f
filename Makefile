# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export NEWS_DATA_ROOT ?= $(CURDIR)/data
DEMO_DATES := 2026-11-23 2026-11-24 2026-11-25

.PHONY: install demo test test-fast lint clean airflow airflow-password browser services scale-demo bench

# uv itself comes from PyPI into a private venv; uv then installs the locked environment.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check 'uv==0.13.9'

# Bytecode compiled at install, the dependencies' and ours (an editable install is not compiled by uv): every
# run and Airflow task would otherwise compile what it imports (this environment sets PYTHONDONTWRITEBYTECODE),
# about a third of a no-op rerun's time. compileall skips what is up to date.
$(BIN)/news-etl: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --compile-bytecode
	@touch $@

install: $(BIN)/news-etl
	@$(BIN)/python -m compileall -q pipeline dags

demo: install
	NEWS_RAW_ROOT=$(CURDIR)/samples/raw bash scripts/demo.sh $(DEMO_DATES)

# The browser tests drive Debian's chromium (never a browser download); as root we install it, else they skip.
browser:
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The scale-out test (tests/test_scale.py) runs Debian's PostgreSQL and Redis; as root we install them, else it skips.
services:
	@{ ls /usr/lib/postgresql/*/bin/initdb && command -v redis-server; } >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null; }

# Every tier: unit, integration and e2e (see README, "Tests").
test: install browser services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# While working: lint and the unit tier only (pure functions, the spaCy model at most; about 15 s).
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -m unit -q

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(TOOLS) data

airflow: install
	bash scripts/airflow.sh

# The URL and admin password of `make airflow` again (it prints them once started, and logs access to a file).
airflow-password:
	@bash scripts/airflow.sh password

# The nightly DAG on PostgreSQL + Redis + two Celery workers on this machine, into $(NEWS_DATA_ROOT)/scale
# (its own lake: a rerun over the demo's lake would take most files over unchanged). See README, "Scaling out".
scale-demo: install
	NEWS_DATA_ROOT=$(NEWS_DATA_ROOT)/scale bash scripts/scale_demo.sh

# Benchmarks are scripts, not tests: figures side by side with bare spaCy (see docs/benchmarks.md).
bench: install
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)
