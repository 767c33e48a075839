"""Server-side ``Table`` rendering of the emulated API server, as ``kubectl get`` asks for.

Columns per kind as kube-apiserver prints them (pods, jobs, services,
events; Name and Age for the rest, MPIJobs included, as their CRD declares no
additionalPrinterColumns), with ``kubectl``'s human durations in the AGE column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mpi.testing.store import ResourceType

__all__ = ["human_duration", "parse_timestamp", "table"]

JSONDict = dict[str, Any]


def parse_timestamp(text: str | None) -> datetime | None:
    """Parse a Kubernetes RFC 3339 timestamp.

    Args:
        text: e.g. ``"2026-01-02T03:04:05Z"``.

    Returns:
        An aware datetime, or None for None or an unparseable value.
    """
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """Format a duration as ``kubectl`` does in its AGE columns.

    Args:
        seconds: the duration.

    Returns:
        e.g. ``"45s"``, ``"3m20s"``, ``"25m"``, ``"5h10m"``, ``"3d"``.
    """
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    hours = minutes // 60
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    days = hours // 24
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def _age(obj: JSONDict, now: datetime, path: str = "creationTimestamp") -> str:
    stamp = parse_timestamp(obj.get("metadata", {}).get(path) or obj.get(path))
    return "<unknown>" if stamp is None else human_duration((now - stamp).total_seconds())


def _pod_cells(pod: JSONDict, now: datetime) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    reason = status.get("reason") or status.get("phase") or "Pending"
    for container in statuses:
        state = container.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            terminated = state["terminated"]
            reason = terminated.get("reason") or (
                "Completed" if terminated.get("exitCode") == 0 else "Error"
            )
    total = len(spec.get("containers") or []) or len(statuses)
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        reason,
        restarts,
        _age(pod, now),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
    ]


def _job_cells(job: JSONDict, now: datetime) -> list[Any]:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    conditions = {
        c.get("type"): c.get("status")
        for c in status.get("conditions") or []
        if isinstance(c, dict)
    }
    state = "Running"
    for kind, label in (("Complete", "Complete"), ("Failed", "Failed"), ("Suspended", "Suspended")):
        if conditions.get(kind) == "True":
            state = label
    start = parse_timestamp(status.get("startTime"))
    end = parse_timestamp(status.get("completionTime")) or now
    duration = human_duration((end - start).total_seconds()) if start else ""
    completions = spec.get("completions", 1)
    return [
        job["metadata"]["name"],
        state,
        f"{status.get('succeeded', 0)}/{completions}",
        duration,
        _age(job, now),
    ]


def _service_cells(svc: JSONDict, now: datetime) -> list[Any]:
    spec = svc.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    return [
        svc["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        "<none>",
        ports or "<none>",
        _age(svc, now),
    ]


def _event_cells(event: JSONDict, now: datetime) -> list[Any]:
    involved = event.get("involvedObject") or {}
    last = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp")
    )
    stamp = parse_timestamp(last)
    return [
        human_duration((now - stamp).total_seconds()) if stamp else "<unknown>",
        event.get("type", ""),
        event.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        event.get("message", ""),
    ]


_Column = tuple[str, str, int]  # name, type, priority
_NAME_AGE: tuple[list[_Column], Callable[[JSONDict, datetime], list[Any]]] = (
    [("Name", "string", 0), ("Age", "string", 0)],
    lambda o, now: [o["metadata"]["name"], _age(o, now)],
)
_TABLES: dict[str, tuple[list[_Column], Callable[[JSONDict, datetime], list[Any]]]] = {
    "pods": (
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "integer", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
        ],
        _pod_cells,
    ),
    "jobs": (
        [
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            ("Age", "string", 0),
        ],
        _job_cells,
    ),
    "services": (
        [
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
        ],
        _service_cells,
    ),
    "configmaps": (
        [("Name", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)],
        lambda o, now: [o["metadata"]["name"], len(o.get("data") or {}), _age(o, now)],
    ),
    "secrets": (
        [
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Data", "integer", 0),
            ("Age", "string", 0),
        ],
        lambda o, now: [
            o["metadata"]["name"],
            o.get("type", "Opaque"),
            len(o.get("data") or {}),
            _age(o, now),
        ],
    ),
    "namespaces": (
        [("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)],
        lambda o, now: [
            o["metadata"]["name"],
            (o.get("status") or {}).get("phase", "Active"),
            _age(o, now),
        ],
    ),
    "events": (
        [
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Message", "string", 0),
        ],
        _event_cells,
    ),
    "customresourcedefinitions": (
        [("Name", "string", 0), ("Created At", "date", 0)],
        lambda o, now: [o["metadata"]["name"], o["metadata"].get("creationTimestamp", "")],
    ),
}


def table(
    rt: ResourceType,
    objects: Iterable[JSONDict],
    *,
    now: datetime,
    include_object: str = "Metadata",
    list_metadata: JSONDict | None = None,
) -> JSONDict:
    """Render objects as a ``meta.k8s.io/v1`` ``Table``, as ``kubectl get`` asks for.

    Args:
        rt: the resource type (selects the columns; MPIJobs have Name and Age,
            as their CRD declares no additionalPrinterColumns).
        objects: the objects, one row each.
        now: the time ages are computed against.
        include_object: ``None``, ``Metadata`` (default) or ``Object``.
        list_metadata: ``resourceVersion``/``continue`` of the list.

    Returns:
        The ``Table``.
    """
    columns, cells = _TABLES.get(rt.plural, _NAME_AGE)
    rows = []
    for obj in objects:
        row: JSONDict = {"cells": cells(obj, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata", {}),
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata or {},
        "columnDefinitions": [
            {
                "name": name,
                "type": kind,
                "format": "name" if name == "Name" else "",
                "description": "",
                "priority": priority,
            }
            for name, kind, priority in columns
        ],
        "rows": rows,
    }
