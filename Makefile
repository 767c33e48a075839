# The two commands a newcomer needs: `make demo` and `make test`.
# Both bootstrap .venv with the interpreter named by PYTHON (3.10 or newer).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo lint typecheck layers bench clean real-cluster compat

# `make demo CLUSTER=real` runs the demo on the real control plane instead of the emulator.
CLUSTER ?= emulated

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

# The real tier (a real control plane, docs/real-cluster.md) runs where Go is found:
# mpi_cluster tests run on both backends. `make test MPI_TEST_CLUSTER=emulated` turns it
# off. Passed as --cluster, not exported, so pytest runs inside tests keep their default.
GO := $(shell command -v go 2>/dev/null || (test -x /usr/local/go/bin/go && echo /usr/local/go/bin/go))
ifneq ($(GO),)
MPI_TEST_CLUSTER ?= both
else
MPI_TEST_CLUSTER ?= emulated
endif
# One real cluster per machine (mpi-operator's port 8080 is fixed): wait for another's turn.
MPI_REAL_CLUSTER_WAIT ?= 900
export MPI_REAL_CLUSTER_WAIT

test: lint typecheck layers
	@test -n "$(GO)" || echo "make test: no Go toolchain (not on PATH, not in /usr/local/go/bin): the real cluster tier is skipped; see docs/real-cluster.md"
	$(BIN)/pytest --cluster=$(MPI_TEST_CLUSTER) $(PYTEST_ARGS)

# The main job: the Pi example DAG runs a real two-rank mpirun on the embedded
# emulated cluster and prints the task state, the JobInfo and the result.
# CLUSTER=real: on a real kube-apiserver v1.35.4 with the real mpi-operator v0.8.2.
demo: $(STAMP)
	$(BIN)/python tools/demo.py --cluster $(CLUSTER)

# Build the real control plane from Go modules into .cache/real-cluster (what is missing).
real-cluster: $(STAMP)
	$(BIN)/python -m airflow_provider_mpi.testing build-real

# The Airflow-facing tests on older Airflow 3 releases (default 3.0.6 3.1.8 3.2.2), each in a
# venv of its own under .cache/compat (the main .venv stays as it is); prints a table.
# `make compat AIRFLOW=3.1.8`, `make compat PYTEST_ARGS="tests/unit"`. Not part of `make test`.
AIRFLOW ?=
compat:
	$(PYTHON) tools/compat.py $(AIRFLOW) $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

# Benchmarks print their figures; they are not part of `make test`.
bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
# The real control plane's binaries stay: `rm -rf .cache/real-cluster` rebuilds them.
