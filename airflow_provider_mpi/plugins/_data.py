"""Server side of the "MPI Jobs" page: which jobs a task or a run made, read with its connection.

Runs in Airflow's API server. The task's XComs say which job it submitted
(``job_id``) and how to reach the cluster (``mpi_job_access``: the connection
ID and the operator's overrides, never a credential); the hook resolves the
connection here, on the server, so nothing of it reaches the browser. A job
is shown only when its identity labels name the DAG (and run) the caller was
authorised for, so a ``job_id`` in the URL cannot reach another DAG's job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, InvalidArgumentError
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.links import ACCESS_XCOM_KEY, JOB_ID_XCOM_KEY
from airflow_provider_mpi.mpioperator import names as keys
from airflow_provider_mpi.mpioperator.tracker.job_view import job_view, jobs_table
from airflow_provider_mpi.mpioperator.tracker.sync import MPIOperatorTracker
from airflow_provider_mpi.operators._labels import safe_label_value

__all__ = ["JobNotShownError", "MPIJobsReader", "TaskKey", "XComReader", "database_xcoms"]

#: How long a connection's tracker is reused before the connection is read again.
TRACKER_TTL_SECONDS = 300.0

#: ``(dag_id, run_id, task_id or None, keys) -> [(task_id, map_index, key, value)]``.
XComReader = Callable[[str, str, str | None, tuple[str, ...]], list[tuple[str, int, str, Any]]]


class JobNotShownError(DRMAA2Error):
    """No job to show for this task or run (none submitted, or not the caller's DAG's)."""


@dataclass(frozen=True)
class TaskKey:
    """A task instance as the page's URL names it."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1


def database_xcoms(
    dag_id: str, run_id: str, task_id: str | None, xcom_keys: tuple[str, ...]
) -> list[tuple[str, int, str, Any]]:
    """Read XComs of a run from Airflow's metadata database (in the API server).

    Args:
        dag_id: the DAG.
        run_id: the run.
        task_id: only this task (None: every task of the run).
        xcom_keys: the keys to read.

    Returns:
        ``(task_id, map_index, key, value)`` rows.
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = session.query(XComModel).filter(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.key.in_(xcom_keys),
        )
        if task_id is not None:
            query = query.filter(XComModel.task_id == task_id)
        return [
            (str(row.task_id), int(row.map_index), str(row.key), XComModel.deserialize_value(row))
            for row in query.all()
        ]


class MPIJobsReader:
    """Finds a task's or a run's jobs and reads them through the tracker.

    Args:
        xcoms: reads XComs (default: Airflow's metadata database).
        hook_factory: builds a hook from an access description (default:
            :class:`MPIOperatorHook`).
        clock: monotonic seconds, for the trackers' reuse.
    """

    def __init__(
        self,
        xcoms: XComReader = database_xcoms,
        hook_factory: Callable[[Mapping[str, Any]], MPIOperatorHook] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._xcoms = xcoms
        self._hook_factory = hook_factory or _hook_from_access
        self._clock = clock
        self._trackers: dict[tuple[Any, ...], tuple[float, MPIOperatorTracker]] = {}
        self._lock = threading.Lock()

    def tracker(self, access: Mapping[str, Any]) -> MPIOperatorTracker:
        """The tracker for an access description, reused for a while."""
        key = tuple(sorted((str(k), repr(v)) for k, v in access.items()))
        now = self._clock()
        with self._lock:
            cached = self._trackers.get(key)
            if cached is not None and now - cached[0] < TRACKER_TTL_SECONDS:
                return cached[1]
        tracker = self._hook_factory(access).get_tracker()
        with self._lock:
            self._trackers[key] = (now, tracker)
        return tracker

    def task_job(
        self, task: TaskKey, job_id: str | None = None, *, tail_lines: int = 50
    ) -> dict[str, Any]:
        """The job of a task instance (or ``job_id``, one of the run's jobs).

        Args:
            task: the task instance.
            job_id: a job of the same DAG run (an array task's job); default
                the job the task pushed.
            tail_lines: launcher log lines.

        Returns:
            :func:`~airflow_provider_mpi.mpioperator.tracker.job_view.job_view` of the job.

        Raises:
            JobNotShownError: the task pushed no job, or the job is not this run's.
        """
        rows = self._xcoms(
            task.dag_id, task.run_id, task.task_id, (JOB_ID_XCOM_KEY, ACCESS_XCOM_KEY)
        )
        pushed = {key: value for _, index, key, value in rows if index == task.map_index}
        if ACCESS_XCOM_KEY not in pushed:
            raise JobNotShownError(
                f"task {task.task_id} (map index {task.map_index}) of run {task.run_id} "
                "has submitted no MPIJob (yet)"
            )
        wanted = job_id or str(pushed.get(JOB_ID_XCOM_KEY) or "")
        if not wanted:
            raise JobNotShownError(f"task {task.task_id} has submitted no MPIJob (yet)")
        view = job_view(self.tracker(pushed[ACCESS_XCOM_KEY]), wanted, tail_lines=tail_lines)
        if not _of_run(view["labels"], task.dag_id, task.run_id):
            raise JobNotShownError(f"MPIJob {wanted} does not belong to this DAG run")
        return view

    def run_jobs(
        self, dag_id: str, run_id: str, task_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The jobs a DAG run (or one of its tasks) made, found by their identity labels.

        One list per distinct cluster access the run's tasks pushed (usually one).

        Args:
            dag_id: the DAG.
            run_id: the run.
            task_id: only this task's jobs.

        Returns:
            Table rows (see ``job_view.describe_row``), each with ``task_id``
            and ``map_index`` of the task that made it.
        """
        rows = self._xcoms(dag_id, run_id, task_id, (ACCESS_XCOM_KEY,))
        accesses: dict[tuple[Any, ...], Mapping[str, Any]] = {}
        for _, _, _, value in rows:
            if isinstance(value, Mapping):
                accesses[tuple(sorted((str(k), repr(v)) for k, v in value.items()))] = value
        selector = {
            keys.LABEL_DAG_ID: safe_label_value(dag_id),
            keys.LABEL_RUN_ID: safe_label_value(run_id),
        }
        if task_id is not None:
            selector[keys.LABEL_AIRFLOW_TASK_ID] = safe_label_value(task_id)
        jobs: dict[str, dict[str, Any]] = {}
        for access in accesses.values():
            tracker = self.tracker(access)
            namespace = access.get("namespace") or tracker.namespace
            for row in jobs_table(tracker, selector, namespace=str(namespace)):
                if _of_run(row["labels"], dag_id, run_id):
                    jobs.setdefault(row["id"], row)
        return sorted(jobs.values(), key=lambda row: (row["created"], row["name"]))


def _of_run(labels: Mapping[str, str], dag_id: str, run_id: str) -> bool:
    """Whether a job's identity labels name this DAG run (the run ID may be hashed)."""
    return labels.get("dag_id") == safe_label_value(dag_id) and labels.get("run_id") in (
        run_id,
        safe_label_value(run_id),
    )


def _hook_from_access(access: Mapping[str, Any]) -> MPIOperatorHook:
    conn_id = access.get("conn_id")
    if not isinstance(conn_id, str) or not conn_id:
        raise InvalidArgumentError("mpi_job_access.conn_id", conn_id, "a connection ID is needed")
    return MPIOperatorHook(
        conn_id,
        namespace=access.get("namespace"),
        config_file=access.get("config_file"),
        cluster_context=access.get("cluster_context"),
        in_cluster=access.get("in_cluster"),
    )
