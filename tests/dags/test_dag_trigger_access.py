"""A connection that exists only in the worker's environment, and a triggerer that cannot see it."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from airflow.sdk import DAG
from airflow.triggers.base import TriggerEvent

from airflow_provider_mpi.operators.mpi_job import MPIJobOperator
from airflow_provider_mpi.triggers.mpi_job import MPIJobTrigger
from tests.dags.conftest import connection_env
from tests.dags.dagrun import task_states
from tests.dags.jobs import scripted_template

WORKER_ONLY = "AIRFLOW_CONN_WORKER_ONLY"
SEEN: list[str] = []


class TriggererWithoutTheConnection(MPIJobTrigger):
    """Runs where the worker's ``AIRFLOW_CONN_WORKER_ONLY`` is not set."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        saved = os.environ.pop(WORKER_ONLY)
        try:
            async for event in super().run():
                SEEN.append(event.payload["message"])
                yield event
        finally:
            os.environ[WORKER_ONLY] = saved


class Operator(MPIJobOperator):
    def _trigger(self, **kwargs: Any) -> MPIJobTrigger:
        return TriggererWithoutTheConnection(**super()._trigger(**kwargs).serialize()[1])


@pytest.mark.parametrize(("pass_config", "state"), [(True, "success"), (False, "failed")])
def test_pass_kube_config_to_trigger(
    cluster: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, pass_config: bool, state: str
) -> None:
    SEEN.clear()
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
    if not pass_config:  # the error says what to do
        assert "pass_kube_config_to_trigger=True" in SEEN[0]
