"""Retries reattach to the job of an earlier try: never a duplicate MPIJob.

The first try is made to fail at a chosen point by an injected API fault (a
403 the tracker does not retry), as a worker losing its connection would,
while the job itself carries on in the cluster.
"""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
from datetime import timedelta
from typing import Any

import kubernetes.client
import pytest
from airflow.sdk import DAG

from airflow_provider_mpi.drmaa2 import JobInfo, JobState
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.mpioperator import names as keys
from airflow_provider_mpi.operators.mpi_job import MPIJobOperator
from tests.airflow_versions import broken_before
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import scripted_template


def _operator(template: dict[str, Any], deferrable: bool) -> MPIJobOperator:
    return MPIJobOperator(
        task_id="run",
        job_template=template,
        deferrable=deferrable,
        get_logs=False,  # one watch per try, so the injected fault hits the wait
        retries=1,
        retry_delay=timedelta(0),
    )


def _try_numbers(cluster: Any) -> list[str]:
    """The try-number labels of the MPIJobs in the cluster, sorted."""
    api = kubernetes.client.CustomObjectsApi(cluster.api_client())
    found = api.list_namespaced_custom_object(
        "kubeflow.org", "v2beta1", cluster.namespace, "mpijobs"
    )
    return sorted(job["metadata"]["labels"][keys.LABEL_TRY_NUMBER] for job in found["items"])


@pytest.mark.emulator_only("injects faults")
@pytest.mark.parametrize(
    "deferrable",
    [
        False,
        pytest.param(
            True,
            marks=broken_before(
                "3.1",
                "a retry keeps the deferred try's next_method and trigger event, so try 2 "
                "resumes try 1's failure instead of starting and reattaching",
            ),
        ),
    ],
    ids=["sync", "deferred"],
)
def test_retry_follows_the_running_job(
    cluster: Any, run_dag: Any, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    # The first try loses its wait (403 on the watch) while the job runs on.
    cluster.faults.fail(403, times=1, verb="watch", resource="mpijobs")
    with DAG(f"mpi_retry_running_{deferrable}", schedule=None) as dag:
        _operator(scripted_template(duration=20), deferrable)
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "success"}
    tracker = MPIOperatorHook().get_tracker()
    jobs = tracker.list_jobs()
    assert len(jobs) == 1  # reattached, not resubmitted
    assert [ti.try_number for ti in dagrun.get_task_instances()] == [2]
    assert JobInfo.from_dict(xcom(dagrun, "run")).id == jobs[0]
    assert _try_numbers(cluster) == ["1"]
    logged = capfd.readouterr()
    assert f"Reattaching to MPIJob {jobs[0]}, submitted by try 1 of this task" in (
        logged.out + logged.err
    )  # the task log says so (mpioperator/tracker/reattach.py decides, the operator logs)


@pytest.mark.emulator_only("injects faults")
def test_retry_returns_the_result_of_a_done_job(cluster: Any, run_dag: Any) -> None:
    # The job ends Done, but the first try fails reading its JobInfo.
    cluster.faults.fail(403, times=1, verb="list", resource="pods")
    with DAG("mpi_retry_done", schedule=None) as dag:
        _operator(scripted_template(duration=1), deferrable=False)
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "success"}
    tracker = MPIOperatorHook().get_tracker()
    assert len(tracker.list_jobs()) == 1
    assert tracker.job_state(tracker.list_jobs()[0])[0] is JobState.DONE


def test_retry_after_a_failed_job_submits_anew(cluster: Any, run_dag: Any) -> None:
    with DAG("mpi_retry_failed", schedule=None) as dag:
        _operator(scripted_template(exit_code=2), deferrable=False)
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "failed"}
    tracker = MPIOperatorHook().get_tracker()
    jobs = tracker.list_jobs()
    assert len(jobs) == 2  # one per try: the failed job is not retried in place
    assert _try_numbers(cluster) == ["1", "2"]


def test_retry_with_a_fixed_job_name_reuses_the_name(cluster: Any, run_dag: Any) -> None:
    with DAG("mpi_retry_named", schedule=None) as dag:
        _operator(scripted_template(exit_code=2, jobName="nightly-sim"), deferrable=False)
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "failed"}
    assert [ti.try_number for ti in dagrun.get_task_instances()] == [2]
    # The failed job of try 1 made way for try 2's job of the same name.
    assert MPIOperatorHook().get_tracker().list_jobs() == [f"{cluster.namespace}/nightly-sim"]
    assert _try_numbers(cluster) == ["2"]


def _in_namespace(namespace: str, **script: Any) -> dict[str, Any]:
    template = scripted_template(**script)
    template["extension"]["extensionList"]["namespace"] = namespace
    return template


@pytest.mark.emulator_only("injects faults")
def test_retry_finds_the_job_in_the_templates_namespace(cluster: Any, run_dag: Any) -> None:
    cluster.store.create(
        "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    )
    cluster.faults.fail(403, times=1, verb="watch", resource="mpijobs")
    with DAG("mpi_retry_namespace", schedule=None) as dag:
        _operator(_in_namespace("team-a", duration=20), deferrable=False)
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "success"}
    assert [ti.try_number for ti in dagrun.get_task_instances()] == [2]
    items, _ = cluster.store.list("mpijobs", "team-a")
    assert len(items) == 1  # found again in team-a, not resubmitted
    assert xcom(dagrun, "run", "job_id").startswith("team-a/")


@pytest.mark.emulator_only("reads the emulator store")
def test_conflicting_namespaces_fail_before_submitting(cluster: Any, run_dag: Any) -> None:
    with DAG("mpi_namespace_conflict", schedule=None) as dag:
        MPIJobOperator(task_id="run", job_template=_in_namespace("team-a"), namespace="team-b")
    assert task_states(run_dag(dag)) == {"run": "failed"}
    assert cluster.store.list("mpijobs")[0] == []  # in no namespace
