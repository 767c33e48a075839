"""MPIJobOperator in whole DAG runs against the emulator: success and failure, sync and deferred."""

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
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import scripted_template as template


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
def test_success_returns_job_info(cluster: Any, run_dag: Any, deferrable: bool) -> None:
    with DAG(f"mpi_success_{deferrable}", schedule=None) as dag:
        MPIJobOperator(
            task_id="run",
            job_template=template(log="hello from rank 0\nresult 42"),
            deferrable=deferrable,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "success"}
    info = JobInfo.from_dict(xcom(dagrun, "run"))
    assert info.state is JobState.DONE
    assert info.exit_status == 0
    assert xcom(dagrun, "run", "job_id") == info.id
    tracker = MPIOperatorHook().get_tracker()
    assert tracker.list_jobs() == [info.id]
    labels = tracker.job_template(info.id)
    assert labels is not None


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
def test_failure_reports_exit_code(cluster: Any, run_dag: Any, deferrable: bool) -> None:
    with DAG(f"mpi_failure_{deferrable}", schedule=None) as dag:
        MPIJobOperator(
            task_id="run",
            job_template=template(exit_code=3, log="starting\nboom: bad input"),
            deferrable=deferrable,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "failed"}
    assert xcom(dagrun, "run") is None
    job_id = xcom(dagrun, "run", "job_id")
    tracker = MPIOperatorHook().get_tracker()
    assert tracker.job_state(job_id)[0] is JobState.FAILED
    assert tracker.job_info(job_id).exit_status == 3
