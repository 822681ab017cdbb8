# Set-up and everyday commands. `make run` and `make test` do all the set-up on a fresh
# clone: they create .venv with the Python named in .python-version (3.12) and install the
# project with its development dependencies from pyproject.toml.

PYTHON ?= python
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/sprint_race.toml

.PHONY: run test lint format bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "killline needs Python >= 3.12 (pyenv: the .python-version file asks for 3.12)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/killline run $(SCENARIO)

test: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/ruff format --check sim tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format sim tests benchmarks
	$(BIN)/ruff check --fix sim tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_time.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/reference_ratio.py
	$(BIN)/python benchmarks/ensemble_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
