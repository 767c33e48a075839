"""Whole-DAG tests: a private Airflow home, its database, and an emulated cluster per test.

``tests.airflow_env`` is imported before anything imports Airflow: it points
``AIRFLOW_HOME`` at a temporary directory with SQLite. The database is created
once per session. Each test gets an :class:`MPICluster` (fast clock) and the
``kubernetes_default`` connection pointing at it, as a DAG author would set it.
"""

from __future__ import annotations

# isort: off
from tests import airflow_env

# isort: on
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from airflow_provider_mpi.testing import MPICluster

#: Emulated seconds per real second: scripted jobs of a few seconds end at once.
FAST_CLOCK = 20.0


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """The metadata database, created once per test session."""
    airflow_env.init_airflow_db()


def connection_env(cluster: Any, **extra: Any) -> str:
    """The ``AIRFLOW_CONN_*`` value of a ``kubernetes`` connection to ``cluster``."""
    return json.dumps(
        {
            "conn_type": "kubernetes",
            "extra": {
                "kube_config_path": cluster.kubeconfig_path,
                "namespace": cluster.namespace,
                **extra,
            },
        }
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """DAG tests on the emulator run its clock fast (scripted jobs of seconds end at once)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        dag_test = "tests/dags/" in str(item.path) and "cluster" in fixtures
        if dag_test and item.get_closest_marker("mpi_cluster") is None:
            item.add_marker(pytest.mark.mpi_cluster(clock=FAST_CLOCK))


@pytest.fixture
def start_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., MPICluster]]:
    """Start emulated clusters; the last one started is ``kubernetes_default``."""
    with ExitStack() as stack:

        def start(**options: Any) -> MPICluster:
            options.setdefault("clock", FAST_CLOCK)
            cluster = stack.enter_context(MPICluster(**options))
            monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(cluster))
            return cluster

        yield start


@pytest.fixture
def cluster(mpi_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The plugin's ``mpi_cluster`` (per ``--cluster``) behind ``kubernetes_default``.

    On the emulator its clock runs fast; on the real backend it is a
    namespace of the session's real control plane.
    """
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(mpi_cluster))
    return mpi_cluster


@pytest.fixture
def run_dag(airflow_db: None) -> Callable[..., Any]:
    """Run a DAG object with ``dag.test()`` after writing it to the database."""
    from tests.dags.dagrun import run

    return run
