# The two set-up commands of README.md: `make run` and `make test`.
# Both create the virtualenv and install the project on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# No network here or in CI: never let Kedro ask for telemetry consent.
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: install render-libs run test benchmark mlflow-ui

$(BIN)/kedro: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[test]'
	touch $(BIN)/kedro

install: $(BIN)/kedro render-libs

# Headless OpenGL for MuJoCo's rollout videos: Debian's EGL with mesa's software renderer, installed
# when missing and run as root. Without it the MuJoCo videos say they cannot render and runs go on.
GL_LIBS := libegl1 libegl-mesa0 libgl1-mesa-dri
render-libs:
	@if ! ldconfig -p 2>/dev/null | grep -q -e libEGL_mesa -e libEGL_nvidia -e libOSMesa; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	        apt-get install -y -q $(GL_LIBS) >/dev/null 2>&1 \
	        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $(GL_LIBS) >/dev/null 2>&1; } \
	        || echo "note: $(GL_LIBS) could not be installed; MuJoCo rollout videos will be skipped"; \
	    else echo "note: no EGL or OSMesa (Debian: apt-get install $(GL_LIBS)); MuJoCo rollout videos will be skipped"; fi; \
	fi

run: install
	$(BIN)/kedro run

# Lint and format are part of the test command, so CI enforces them.
test: install
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/pytest

# Every benchmark; reports (machine, command, date, figures) go to benchmarks/results/.
# BENCHMARK_ARGS="--jobs 2 --missing-only": the GAIL runs two at a time, continuing a campaign.
benchmark: install
	$(BIN)/python benchmarks/run_all.py $(BENCHMARK_ARGS)

# MLflow's UI on the project's tracking store (http://127.0.0.1:5000).
# MLflow 3 opens an experiment on its GenAI page; its runs table is the "Model training" view.
mlflow-ui: install
	@echo "MLflow: http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning"
	$(BIN)/kedro mlflow ui
