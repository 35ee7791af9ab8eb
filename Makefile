# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv on first use and installs the pinned set (constraints.txt).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-postgres venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/copflow demo

test: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/python -m pytest

# The same suite against a throwaway PostgreSQL cluster on loopback (installed if absent).
test-postgres: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false scripts/with-postgres.sh $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) copflow-data
