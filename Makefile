# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.arraykit-installed
DEMO   := $(VENV)/.arraykit-demo-installed

.PHONY: demo test test-fast lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "arraykit needs Python 3.11 or newer (found $$($(PYTHON) --version)): name one, e.g. make $(or $(MAKECMDGOALS),demo) PYTHON=python3.12"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
	  { echo "could not create $(VENV): on Debian/Ubuntu install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make demo` installs what the demo needs (the default install); `make test` the rest
$(DEMO): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $(DEMO)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP) $(DEMO)

demo: $(DEMO)
	$(BIN)/arraykit demo

# the whole suite: lint, format, types, then every test (the `slow` ones included)
test: $(STAMP) lint
	MPLBACKEND=Agg OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest

# the quick loop while developing: every test not marked `slow` (make test runs them all)
test-fast: $(STAMP)
	MPLBACKEND=Agg OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -m "not slow and not hardware"

lint: $(STAMP)
	$(BIN)/ruff check arraykit tests benchmarks
	$(BIN)/ruff format --check arraykit tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python benchmarks/bench_doa.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python benchmarks/bench_beamform.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python benchmarks/bench_diagnostics.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python benchmarks/bench_frontend.py
	@if [ -d ../shared/data/office-ula32 ]; then \
	  OPENBLAS_NUM_THREADS=1 $(BIN)/python benchmarks/validate_office.py; \
	else echo "validate_office: ../shared/data/office-ula32 is absent, skipped"; fi

clean:
	rm -rf $(VENV) build dist .pytest_cache
