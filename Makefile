# The two commands a newcomer needs: `make demo` and `make test`.
# Both bootstrap .venv with the interpreter named by PYTHON (3.10 or newer).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo lint typecheck layers bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check airflow_provider_mpi tests example_dags bench tools
	$(BIN)/ruff format --check airflow_provider_mpi tests example_dags bench tools

typecheck: $(STAMP)
	$(BIN)/mypy airflow_provider_mpi

layers: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck layers
	$(BIN)/pytest $(PYTEST_ARGS)

# The main job: the Pi example DAG runs a real two-rank mpirun on the embedded
# emulated cluster and prints the task state, the JobInfo and the result.
demo: $(STAMP)
	$(BIN)/python tools/demo.py

# Benchmarks print their figures; they are not part of `make test`.
bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
