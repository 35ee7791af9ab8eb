# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv on first use and installs the pinned set (constraints.txt).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint test-postgres e2e drills bench bench-scale venv clean gallery

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/copflow demo

# One of every kind of email from the demo, HTML, text and a picture of each (Debian's chromium,
# through Playwright), in docs/emails/ with an index, README.md.
gallery: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/copflow gallery docs/emails

# Tests run in one process per core (pytest-xdist), a module's tests together (they share
# its fixtures, such as the end-to-end tests' Prefect server). TEST_WORKERS=0 runs them in one.
TEST_WORKERS ?= auto
# The slowest tests are listed at the end, so a suite that grows slow says where.
PYTEST := env PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope \
	--durations=15

# make test checks the code first (ruff, then mypy as configured in pyproject.toml), then runs the suite.
test: lint
	$(PYTEST)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The resilience drills alone (make test runs them too): crash and resume, races, transport
# faults, hostile input, who may act, data protection. COPFLOW_DRILL_SEED picks the kill points.
drills: $(STAMP)
	$(PYTEST) tests/drills

# The same suite against a throwaway PostgreSQL cluster on loopback (installed if absent), less
# what cannot reach it: the unit tests use no database, and the demo always runs on its own
# embedded defaults (a SQLite file), as `make demo` does; and less the tests marked any_database
# (pyproject.toml), where which database copflow uses plays no part: Prefect's local server,
# browser-only checks, commands refused before a database is opened. All ran in `make test`.
# Anything touching storage, the outbox, erasure, races or the drills runs in both. The tests
# marked postgres_only (two workers or machines sharing copflow's data) run here alone.
ON_SQLITE_ONLY := --ignore=tests/unit --ignore=tests/cli/test_demo.py --ignore=tests/cli/test_demo_emails.py \
	-m "not any_database"
test-postgres: $(STAMP)
	scripts/with-postgres.sh $(PYTEST) $(ON_SQLITE_ONLY)

# Flows against a bare baseline, memory, SQL statements and CLI latency (docs/performance.md).
BENCH_N ?= 1000
BENCH_LARGE ?= 10000
BENCH_REPEAT ?= 3
bench: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/python -m bench.run --n $(BENCH_N) \
		--large $(BENCH_LARGE) --repeat $(BENCH_REPEAT)
	if [ "$(BENCH_SCALE)" = 1 ]; then $(MAKE) bench-scale; fi

# Scale on PostgreSQL (bench/scale.py, docs/performance.md): health and sponsor reports at
# N=10,000 and N=100,000 in one process, and at N=100,000 spread over two task workers. Hours,
# not minutes: not part of `make bench` (or: make bench BENCH_SCALE=1, after the usual sections).
BENCH_SCALE_N ?= 10000
BENCH_SCALE_LARGE ?= 100000
bench-scale: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false scripts/with-postgres.sh $(BIN)/python -m bench.scale \
		--n $(BENCH_SCALE_N) --large $(BENCH_SCALE_LARGE)

# Only the end-to-end tests: a real Prefect server on loopback, the deployments, a worker.
# (`make test` runs them too; this is the quick way to run just them.)
e2e: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/python -m pytest -m e2e tests/e2e

clean:
	rm -rf $(VENV) copflow-data
