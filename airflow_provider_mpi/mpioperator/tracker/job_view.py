"""What a status page shows of MPIJobs, read with few requests through the tracker.

:func:`job_view` describes one job: its DRMAA2 state and substate, the MPIJob's
conditions as a timeline, the launcher and worker pods with phase and node,
the Warning events about the job and its parts, and the launcher's log tail.
It costs four requests whatever the job's size: the MPIJob, its pods, the
namespace's Warning events (one list, filtered here to the job's objects) and
the launcher's log tail. :func:`jobs_table` lists the jobs carrying a set of
labels (a DAG run's, a task's) with one request.

The ``describe_*`` functions are pure: they turn Kubernetes objects into
JSON-ready dicts, so the page, its JSON API and the tests share them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error
from airflow_provider_mpi.mpioperator import names as keys
from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.transport import SyncTransport
from airflow_provider_mpi.mpioperator.status import (
    job_id_of,
    job_info_from_mpi_job,
    job_state_from_mpi_job,
)
from airflow_provider_mpi.mpioperator.status.events import EventType, job_events_from_k8s
from airflow_provider_mpi.mpioperator.tracker.queries import (
    LABEL_JOB_ROLE,
    container_started,
    job_event_objects,
    launcher_container,
    newest,
    oldest_first,
    pods_selector,
    selector_from_labels,
)


class _Tracker(Protocol):
    """What :func:`job_view` and :func:`jobs_table` need of a tracker (the sync one fits)."""

    namespace: str

    @property
    def api(self) -> SyncTransport: ...


__all__ = ["describe_job", "describe_pods", "describe_row", "job_view", "jobs_table"]

_ROLE_LABEL = LABEL_JOB_ROLE


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def describe_conditions(mpijob: Mapping[str, Any]) -> list[dict[str, str]]:
    """The MPIJob's conditions, oldest transition first (a timeline).

    Args:
        mpijob: the MPIJob as a dict.

    Returns:
        ``type``, ``status``, ``reason``, ``message`` and ``time`` (the last
        transition, RFC 3339) of each condition.
    """
    rows = [
        {
            "type": str(c.get("type") or ""),
            "status": str(c.get("status") or ""),
            "reason": str(c.get("reason") or ""),
            "message": str(c.get("message") or ""),
            "time": str(c.get("lastTransitionTime") or c.get("lastUpdateTime") or ""),
        }
        for c in _map(mpijob.get("status")).get("conditions") or []
        if isinstance(c, Mapping)
    ]
    return sorted(rows, key=lambda row: row["time"])


def _container_state(pod: Mapping[str, Any]) -> str:
    statuses = _map(pod.get("status")).get("containerStatuses") or []
    if not statuses:
        return ""
    state = _map(statuses[0].get("state"))
    for kind in ("waiting", "running", "terminated"):
        if kind in state:
            detail = _map(state[kind])
            reason = str(detail.get("reason") or "")
            code = detail.get("exitCode")
            text = kind + (f": {reason}" if reason else "")
            return text + (f" (exit {code})" if code is not None else "")
    return ""


def _role(pod: Mapping[str, Any]) -> str:
    return str(_map(_map(pod.get("metadata")).get("labels")).get(_ROLE_LABEL) or "")


def describe_pods(pods: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The job's pods, launcher first, then workers by name.

    Args:
        pods: the pods of one MPIJob.

    Returns:
        ``name``, ``role``, ``phase``, ``node``, ``container`` (its state) and
        ``restarts`` of each pod.
    """
    rows = []
    for pod in pods:
        metadata = _map(pod.get("metadata"))
        status = _map(pod.get("status"))
        statuses = status.get("containerStatuses") or [{}]
        rows.append(
            {
                "name": str(metadata.get("name") or ""),
                "role": _role(pod),
                "phase": str(status.get("phase") or ""),
                "node": str(_map(pod.get("spec")).get("nodeName") or ""),
                "container": _container_state(pod),
                "restarts": int(_map(statuses[0]).get("restartCount") or 0),
            }
        )
    return sorted(rows, key=lambda row: (row["role"] != "launcher", row["name"]))


def describe_job(
    mpijob: Mapping[str, Any],
    pods: list[Mapping[str, Any]],
    warning_events: Iterable[Mapping[str, Any]],
    log_tail: list[str],
) -> dict[str, Any]:
    """Everything the job page shows, as a JSON-ready dict.

    Args:
        mpijob: the MPIJob.
        pods: its pods.
        warning_events: Warning events of the namespace (others are dropped
            here, as are events about objects that are not the job's).
        log_tail: the launcher's last log lines.

    Returns:
        ``id``, ``state``/``subState`` (DRMAA2 names), ``terminal``, ``info``
        (the JobInfo's readable companion), ``conditions``, ``pods``,
        ``events`` (Warning only), ``log`` and the Airflow identity labels.
    """
    metadata = _map(mpijob.get("metadata"))
    name = str(metadata.get("name") or "")
    info = job_info_from_mpi_job(mpijob, pods=pods)
    events = job_events_from_k8s(
        [e for e in warning_events if e.get("type") == EventType.WARNING.value],
        job_event_objects(name, pods),
        warnings_only=True,
    )
    return {
        "id": job_id_of(mpijob),
        "state": info.state.go_name,
        "subState": info.sub_state,
        "terminal": info.state.is_terminal,
        "info": info.readable(),
        "labels": _airflow_labels(metadata),
        "conditions": describe_conditions(mpijob),
        "pods": describe_pods(pods),
        "events": [
            {
                "reason": e.reason,
                "message": e.message,
                "object": f"{e.object_kind}/{e.object_name}",
                "count": e.count,
                "time": e.timestamp.isoformat() if e.timestamp else "",
            }
            for e in events
        ],
        "log": log_tail,
    }


def _airflow_labels(metadata: Mapping[str, Any]) -> dict[str, str]:
    labels = _map(metadata.get("labels"))
    annotations = _map(metadata.get("annotations"))
    wanted = {
        "dag_id": keys.LABEL_DAG_ID,
        "task_id": keys.LABEL_AIRFLOW_TASK_ID,
        "run_id": keys.LABEL_RUN_ID,
        "map_index": keys.LABEL_MAP_INDEX,
        "try_number": keys.LABEL_TRY_NUMBER,
        "array_id": keys.LABEL_ARRAY_ID,
        "array_task": keys.LABEL_TASK_ID,
    }
    found = {field: str(labels[key]) for field, key in wanted.items() if key in labels}
    if keys.ANNOTATION_RUN_ID in annotations:  # the unsanitised run ID
        found["run_id"] = str(annotations[keys.ANNOTATION_RUN_ID])
    return found


def describe_row(mpijob: Mapping[str, Any]) -> dict[str, Any]:
    """One line of a jobs table: the job, its state and its Airflow identity.

    Args:
        mpijob: the MPIJob.

    Returns:
        ``id``, ``name``, ``state``, ``subState``, ``created`` and the labels.
    """
    metadata = _map(mpijob.get("metadata"))
    state, sub_state = job_state_from_mpi_job(mpijob)
    return {
        "id": job_id_of(mpijob),
        "name": str(metadata.get("name") or ""),
        "state": state.go_name,
        "subState": sub_state,
        "created": str(metadata.get("creationTimestamp") or ""),
        "labels": _airflow_labels(metadata),
    }


def job_view(tracker: _Tracker, job_id: str, *, tail_lines: int = 50) -> dict[str, Any]:
    """Read and describe one job (four requests; three before its launcher started).

    Args:
        tracker: the tracker of the job's cluster.
        job_id: ``"<namespace>/<name>"`` or a bare name in the tracker's namespace.
        tail_lines: launcher log lines to include.

    Returns:
        :func:`describe_job` of the job.

    Raises:
        JobNotFoundError: no such job.
        BackendError: the cluster could not be read.
    """
    namespace, _, name = job_id.rpartition("/")
    namespace = namespace or tracker.namespace
    api = tracker.api
    mpijob = api.send(rq.get_mpi_job(namespace, name, job_id=f"{namespace}/{name}"))
    pods: list[Mapping[str, Any]] = list(
        rq.list_items(api.send(rq.list_pods(namespace, pods_selector(name))))
    )
    warnings = rq.list_events(namespace, field_selector=f"type={EventType.WARNING.value}")
    events = rq.list_items(api.send(warnings))
    launcher = newest(p for p in pods if _role(p) == "launcher")
    log: list[str] = []
    if launcher is not None and container_started(launcher):
        try:
            request = rq.read_pod_log(
                namespace,
                str(_map(launcher.get("metadata")).get("name")),
                container=launcher_container(launcher),
                tail_lines=tail_lines,
            )
            log = str(api.send(request)).splitlines()
        except DRMAA2Error as exc:  # the log is a courtesy; the state matters more
            log = [f"(the launcher log could not be read: {exc})"]
    return describe_job(mpijob, pods, events, log)


def jobs_table(
    tracker: _Tracker, labels: Mapping[str, str], *, namespace: str | None = None
) -> list[dict[str, Any]]:
    """The jobs carrying all ``labels``, oldest first, as table rows (one request).

    Args:
        tracker: the tracker of the cluster.
        labels: label keys and values (e.g. a DAG run's identity labels).
        namespace: where to look (default: the tracker's namespace).

    Returns:
        :func:`describe_row` of each job.
    """
    request = rq.list_mpi_jobs(
        namespace or tracker.namespace, label_selector=selector_from_labels(labels)
    )
    items = rq.list_items(tracker.api.send(request))
    return [describe_row(job) for job in oldest_first(items)]
