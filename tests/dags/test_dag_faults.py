"""A DAG run while the API server misbehaves: 503s, throttling, dropped and expired watches."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_mpi.drmaa2 import JobInfo, JobState
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.operators.mpi_job import MPIJobOperator
from airflow_provider_mpi.sensors.mpi_job import MPIJobSensor
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import scripted_template


@pytest.mark.emulator_only("injects faults")
@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
def test_dag_succeeds_under_api_faults(cluster: Any, run_dag: Any, deferrable: bool) -> None:
    faults = cluster.faults
    faults.fail(503, times=2, verb="create", resource="mpijobs")
    faults.fail(500, rate=0.2, verb=["get", "list"])
    faults.throttle(retry_after=1, rate=0.05)
    faults.drop_watches(after_events=1)
    faults.expire_watches(times=1)
    with DAG(f"mpi_faults_{deferrable}", schedule=None) as dag:
        run = MPIJobOperator(
            task_id="run", job_template=scripted_template(duration=5), deferrable=deferrable
        )
        MPIJobSensor(
            task_id="check",
            job_id="{{ ti.xcom_pull(task_ids='run', key='job_id') }}",
            deferrable=deferrable,
            poke_interval=1,
        ).set_upstream(run)
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "success", "check": "success"}
    tracker = MPIOperatorHook().get_tracker()
    jobs = tracker.list_jobs()
    assert len(jobs) == 1  # retried creates did not make duplicates
    assert JobInfo.from_dict(xcom(dagrun, "run")).state is JobState.DONE
    errors = sum(stats.errors for stats in cluster.requests.snapshot().values())
    assert errors >= 2  # the faults did hit the run
