"""MPIJobArrayOperator waiting for its tasks: max_parallel holds, failures are listed."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
from datetime import timedelta
from typing import Any

import kubernetes.client
import pytest
from airflow.sdk import DAG

from airflow_provider_mpi.drmaa2 import JobState
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.operators.mpi_job import MPIJobArrayOperator
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import scripted_template


def _running_at_once(cluster: Any) -> int:
    """The most launchers the kubelet ever ran at the same time (from pod start/end)."""
    client = cluster.api_client()
    listed = kubernetes.client.CoreV1Api(client).list_namespaced_pod(
        cluster.namespace, label_selector="training.kubeflow.org/job-role=launcher"
    )
    items = client.sanitize_for_serialization(listed.items)
    spans = []
    for pod in items:
        state = (pod["status"].get("containerStatuses") or [{}])[0].get("state", {})
        end = state.get("terminated") or {}
        if end.get("startedAt") and end.get("finishedAt"):
            spans.append((end["startedAt"], end["finishedAt"]))
    return max((sum(1 for s, e in spans if s <= start < e) for start, _ in spans), default=0)


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
def test_wait_for_all_tasks_with_max_parallel(cluster: Any, run_dag: Any, deferrable: bool) -> None:
    with DAG(f"mpi_array_wait_{deferrable}", schedule=None) as dag:
        MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(duration=10),
            begin=1,
            end=4,
            max_parallel=2,
            wait_for_completion=True,
            deferrable=deferrable,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"sweep": "success"}
    job_ids = xcom(dagrun, "sweep")
    assert [job_id.rsplit("-", 1)[1] for job_id in job_ids] == ["1", "2", "3", "4"]
    tracker = MPIOperatorHook().get_tracker()
    assert {tracker.job_state(job_id)[0] for job_id in job_ids} == {JobState.DONE}
    assert xcom(dagrun, "sweep", "array_id") == job_ids[0].rsplit("-", 1)[0]
    assert _running_at_once(cluster) == 2  # never 3 or 4: held tasks wait their turn


def test_failed_tasks_are_listed(cluster: Any, run_dag: Any) -> None:
    with DAG("mpi_array_failure", schedule=None) as dag:
        MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(exit_code=1),
            begin=1,
            end=2,
            wait_for_completion=True,
            deferrable=True,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"sweep": "failed"}
    array_id = xcom(dagrun, "sweep", "array_id")
    tracker = MPIOperatorHook().get_tracker()
    assert {tracker.job_state(job)[0] for job in tracker.list_array_jobs(array_id)} == {
        JobState.FAILED
    }


@pytest.mark.emulator_only("injects faults")
def test_retry_reattaches_to_the_array(cluster: Any, run_dag: Any) -> None:
    # The first try loses its wait (403 on the watch) while the tasks run on.
    cluster.faults.fail(403, times=1, verb="watch", resource="mpijobs")
    with DAG("mpi_array_retry", schedule=None) as dag:
        MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(duration=20),
            begin=1,
            end=3,
            wait_for_completion=True,
            retries=1,
            retry_delay=timedelta(0),
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"sweep": "success"}
    assert [ti.try_number for ti in dagrun.get_task_instances()] == [2]
    assert len(MPIOperatorHook().get_tracker().list_jobs()) == 3  # not 6
