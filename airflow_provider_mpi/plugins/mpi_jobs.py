"""The Airflow plugin adding the "MPI Jobs" pages (``airflow.plugins`` entry point).

- ``fastapi_apps`` (Airflow 3.0+): the pages and their JSON API, mounted in
  the API server at ``/mpi-jobs`` (:mod:`airflow_provider_mpi.plugins.app`).
- ``external_views`` (Airflow 3.1+): an "MPI Jobs" tab on a DAG run and an
  "MPI Job" tab on a task instance, showing those pages inside the UI. Airflow
  3.0 has no ``external_views``; the pages are then reached through the task's
  "MPI Job" extra link, which every version shows.

The plugin reads nothing at import: the app reads XComs and connections only
when a page is asked for, so a scheduler or worker loading plugins pays nothing.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_mpi.links import PAGE_PREFIX
from airflow_provider_mpi.plugins.app import create_app

__all__ = ["EXTERNAL_VIEWS", "MPIJobsPlugin"]

#: The tabs in the Airflow UI (3.1+); ``{DAG_ID}``... are filled by the UI.
EXTERNAL_VIEWS: list[dict[str, Any]] = [
    {
        "name": "MPI Jobs",
        "href": f"{PAGE_PREFIX}/run?dag_id={{DAG_ID}}&run_id={{RUN_ID}}",
        "destination": "dag_run",
        "url_route": "mpi-jobs-run",
    },
    {
        "name": "MPI Job",
        "href": (
            f"{PAGE_PREFIX}/job?dag_id={{DAG_ID}}&run_id={{RUN_ID}}"
            "&task_id={TASK_ID}&map_index={MAP_INDEX}"
        ),
        "destination": "task_instance",
        "url_route": "mpi-job",
    },
]


class MPIJobsPlugin(AirflowPlugin):
    """The "MPI Jobs" pages: a job's DRMAA2 state, conditions, pods, events and log, live."""

    name = "mpi_jobs"
    fastapi_apps = [{"app": create_app(), "url_prefix": PAGE_PREFIX, "name": "MPI Jobs"}]
    external_views = EXTERNAL_VIEWS
