"""Wait for an MPIJob that something else submitted, then react to its outcome.

The job ID comes from the ``job_id`` param (``"<namespace>/<name>"``, e.g. a
job started with ``kubectl apply``). The sensor defers while it waits; a
Failed job fails the sensor unless ``failed_is_target`` is set, as here, so
the next task can branch on the state in the returned JobInfo.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_mpi.drmaa2 import JobInfo, JobState
from airflow_provider_mpi.sensors.mpi_job import MPIJobSensor

with DAG(
    dag_id="example_mpi_sensor",
    schedule=None,
    catchup=False,
    tags=["example", "mpi"],
    params={"job_id": Param("default/nightly-simulation", type="string")},
    doc_md=__doc__,
) as dag:
    wait = MPIJobSensor(
        task_id="wait_for_job",
        job_id="{{ params.job_id }}",
        target_states=[JobState.DONE],
        failed_is_target=True,
        deferrable=True,
        timeout=6 * 3600,
    )

    @task
    def report(info: dict[str, Any]) -> str:
        """Say how the job ended."""
        job = JobInfo.from_dict(info)
        return f"{job.id} ended {job.state} with exit status {job.exit_status}"

    report(wait.output)
