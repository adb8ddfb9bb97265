# The two set-up commands of README.md: `make run` and `make test`.
# Both create the virtualenv and install the project on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# No network here or in CI: never let Kedro ask for telemetry consent.
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: install run test benchmark mlflow-ui

$(BIN)/kedro: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[test]'
	touch $(BIN)/kedro

install: $(BIN)/kedro

run: install
	$(BIN)/kedro run

# Lint and format are part of the test command, so CI enforces them.
test: install
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/pytest

# Every benchmark; reports (machine, command, date, figures) go to benchmarks/results/.
benchmark: install
	$(BIN)/python benchmarks/run_all.py

# MLflow's UI on the project's tracking store (http://127.0.0.1:5000).
mlflow-ui: install
	$(BIN)/kedro mlflow ui
