"""A connection that exists only in the worker's environment, and a triggerer that cannot see it."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from airflow.sdk import DAG
from airflow.triggers.base import TriggerEvent

from airflow_provider_mpi.operators.mpi_job import MPIJobOperator
from airflow_provider_mpi.triggers.mpi_job import MPIJobTrigger
from tests.airflow_versions import needs_airflow
from tests.dags.conftest import connection_env
from tests.dags.dagrun import task_states
from tests.dags.jobs import scripted_template

WORKER_ONLY = "AIRFLOW_CONN_WORKER_ONLY"
SEEN: list[str] = []
#: The kwargs of every trigger the operators built (what the triggerer gets).
KWARGS: list[dict[str, Any]] = []


class TriggererWithoutTheConnection(MPIJobTrigger):
    """Runs where the worker's ``AIRFLOW_CONN_WORKER_ONLY`` is not set."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        saved = os.environ.pop(WORKER_ONLY, None)
        try:
            async for event in super().run():
                SEEN.append(event.payload["message"])
                yield event
        finally:
            if saved is not None:
                os.environ[WORKER_ONLY] = saved


class Operator(MPIJobOperator):
    def _trigger(self, **kwargs: Any) -> MPIJobTrigger:
        trigger = TriggererWithoutTheConnection(**super()._trigger(**kwargs).serialize()[1])
        KWARGS.append(trigger.serialize()[1])
        self.log.info("Deferring to %r", trigger)
        return trigger


@needs_airflow(
    "3.1",
    "a Task SDK that does not log every supervisor message at DEBUG (3.0 logs the trigger "
    "kwargs, a passed kube config's token included, and even its own mask requests)",
)
@pytest.mark.parametrize(
    ("pass_config", "state"), [(None, "success"), (True, "success"), (False, "failed")]
)
def test_worker_only_connection(
    cluster: Any,
    run_dag: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    pass_config: bool | None,
    state: str,
) -> None:
    SEEN.clear()
    KWARGS.clear()
    monkeypatch.setenv(WORKER_ONLY, connection_env(cluster))
    with DAG(f"mpi_worker_only_{pass_config}", schedule=None) as dag:
        Operator(
            task_id="run",
            conn_id="worker_only",
            job_template=scripted_template(duration=5),
            deferrable=True,
            pass_kube_config_to_trigger=pass_config,
        )
    assert task_states(run_dag(dag)) == {"run": state}
    assert len(SEEN) == 1
    (kwargs,) = KWARGS
    if pass_config is False:  # the error says what to do
        assert "pass_kube_config_to_trigger=True" in SEEN[0]
        assert kwargs["kube_config"] is None
    else:
        assert kwargs["conn_id"] is None
        assert kwargs["kube_config"] == cluster.kubeconfig()
        assert cluster.token not in repr(MPIJobTrigger(**kwargs))
    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert "Deferring to" in logged
    assert cluster.token not in logged  # neither the decision nor the trigger's repr
    if pass_config is None:
        assert f"environment variable {WORKER_ONLY}" in logged


class TriggererWithTheDatabase(MPIJobTrigger):
    """Reads connections of the metadata database, as a triggerer does through the API server.

    ``dag.test()`` runs triggers inline, where only the environment's
    connections are visible; the stored connection is exposed there for the
    duration of the wait.
    """

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow.models.connection import Connection
        from airflow.utils.session import create_session

        with create_session() as session:
            stored = session.query(Connection).filter_by(conn_id=self.access.conn_id).one()
            variable = f"AIRFLOW_CONN_{stored.conn_id.upper()}"
            os.environ[variable] = stored.as_json()
        try:
            async for event in super().run():
                yield event
        finally:
            del os.environ[variable]


class DatabaseOperator(MPIJobOperator):
    def _trigger(self, **kwargs: Any) -> MPIJobTrigger:
        trigger = TriggererWithTheDatabase(**super()._trigger(**kwargs).serialize()[1])
        KWARGS.append(trigger.serialize()[1])
        return trigger


@pytest.fixture
def database_connection(cluster: Any, airflow_db: None) -> Iterator[str]:
    """A connection to ``cluster`` stored in the metadata database, not in the environment."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    conn_id = "in_database"
    with create_session() as session:
        session.add(
            Connection(
                conn_id=conn_id,
                conn_type="mpi_operator",
                extra=json.dumps({"kube_config_path": cluster.kubeconfig_path}),
            )
        )
    try:
        yield conn_id
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()


def test_a_database_connection_is_not_passed(
    database_connection: str, run_dag: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    SEEN.clear()
    KWARGS.clear()
    assert f"AIRFLOW_CONN_{database_connection.upper()}" not in os.environ
    with DAG("mpi_database_connection", schedule=None) as dag:
        DatabaseOperator(
            task_id="run",
            conn_id=database_connection,
            job_template=scripted_template(duration=5),
            deferrable=True,
        )
    assert task_states(run_dag(dag)) == {"run": "success"}
    (kwargs,) = KWARGS
    assert (kwargs["conn_id"], kwargs["kube_config"]) == (database_connection, None)
    captured = capfd.readouterr()
    assert "not defined by the worker's environment" in captured.out + captured.err
