"""Discovery documents and ``Table`` rendering of the emulated API server.

Clients learn what a server serves from ``/version``, ``/api``, ``/apis`` and
the group-version resource lists, and ``kubectl get`` asks for rows in the
server-side ``Table`` format. Both are pure functions of the resource table in
:mod:`airflow_provider_mpi.testing.store`, kept out of the HTTP layer. The
discovery documents take the resources served at the moment (a custom
resource only while its CRD serves it): a group none of them belongs to is
not listed, and its documents are not found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mpi.testing.store import RESOURCES, ResourceType

__all__ = [
    "EMULATED_VERSION",
    "api_group",
    "api_group_list",
    "api_resource_list",
    "api_versions",
    "human_duration",
    "openapi_v3_group_version",
    "openapi_v3_root",
    "parse_timestamp",
    "table",
    "version_info",
]

JSONDict = dict[str, Any]

#: The Kubernetes release the emulator answers as.
EMULATED_VERSION = (1, 31, 0)

_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "log": ["get"]}


def version_info() -> JSONDict:
    """``/version``.

    Returns:
        A ``version.Info`` document.
    """
    major, minor, patch = EMULATED_VERSION
    return {
        "major": str(major),
        "minor": str(minor),
        "gitVersion": f"v{major}.{minor}.{patch}",
        "gitCommit": "emulator",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.22.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> JSONDict:
    """``/api``.

    Args:
        server_address: ``host:port`` of the server.

    Returns:
        An ``APIVersions`` document.
    """
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _served(resources: Iterable[ResourceType] | None) -> list[ResourceType]:
    return list(RESOURCES.values() if resources is None else resources)


def _group_versions(resources: Iterable[ResourceType] | None) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for rt in _served(resources):
        if rt.group and rt.version not in groups.setdefault(rt.group, []):
            groups[rt.group].append(rt.version)
    return groups


def api_group_list(resources: Iterable[ResourceType] | None = None) -> JSONDict:
    """``/apis``.

    Args:
        resources: the resources served now (default: the whole table).

    Returns:
        An ``APIGroupList`` document with every non-core group served.
    """
    groups = []
    for group, versions in sorted(_group_versions(resources).items()):
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str, resources: Iterable[ResourceType] | None = None) -> JSONDict | None:
    """``/apis/<group>``.

    Args:
        group: the group name.
        resources: the resources served now (default: the whole table).

    Returns:
        An ``APIGroup`` document, or None when the group is not served.
    """
    versions = _group_versions(resources).get(group)
    if not versions:
        return None
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": entries,
        "preferredVersion": entries[0],
    }


def api_resource_list(
    group: str, version: str, resources: Iterable[ResourceType] | None = None
) -> JSONDict | None:
    """``/api/v1`` or ``/apis/<group>/<version>``.

    Args:
        group: ``""`` for the core group.
        version: the version.
        resources: the resources served now (default: the whole table).

    Returns:
        An ``APIResourceList``, or None when that group-version is not served.
    """
    served = [r for r in _served(resources) if r.group == group and r.version == version]
    if not served:
        return None
    listed: list[JSONDict] = []
    for rt in sorted(served, key=lambda r: r.plural):
        entry: JSONDict = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(_VERBS),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        listed.append(entry)
        for sub in sorted(rt.subresources):
            listed.append(
                {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": rt.kind,
                    "verbs": list(_SUBRESOURCE_VERBS.get(sub, ["get"])),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": listed,
    }


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


def openapi_v3_root(resources: Iterable[ResourceType] | None = None) -> JSONDict:
    """``/openapi/v3``: the index of the per group-version documents.

    Each URL carries a hash of what its document describes, as a real
    server's does, so a client's cache of it goes stale when a CRD changes it.

    Args:
        resources: the resources served now (default: the whole table).

    Returns:
        ``{"paths": {"api/v1": {"serverRelativeURL": ...}, ...}}``.
    """
    kinds: dict[tuple[str, str], list[str]] = {}
    for rt in _served(resources):
        kinds.setdefault((rt.group, rt.version), []).append(rt.plural)
    paths: JSONDict = {}
    for (group, version), plurals in sorted(kinds.items()):
        key = f"apis/{group}/{version}" if group else f"api/{version}"
        digest = hashlib.sha256(",".join(sorted(plurals)).encode()).hexdigest()[:16].upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def openapi_v3_group_version(
    group: str, version: str, resources: Iterable[ResourceType] | None = None
) -> JSONDict | None:
    """``/openapi/v3/apis/<group>/<version>``: the operations of each resource.

    Only what clients look up is described: every item path with its verbs,
    the ``x-kubernetes-group-version-kind`` of each operation, and the query
    parameters, among them ``fieldValidation`` (``kubectl`` then validates on
    the server instead of downloading schemas).

    Args:
        group: ``""`` for the core group.
        version: the version.
        resources: the resources served now (default: the whole table).

    Returns:
        An OpenAPI 3.0 document, or None when that group-version is not served.
    """
    served = [r for r in _served(resources) if r.group == group and r.version == version]
    if not served:
        return None
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    params = [
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")
    ]
    paths: JSONDict = {}
    for rt in served:
        gvk = {"group": group, "version": version, "kind": rt.kind}
        base = (
            f"{prefix}/namespaces/{{namespace}}/{rt.plural}"
            if rt.namespaced
            else (f"{prefix}/{rt.plural}")
        )

        def operation(verb: str, action: str, kind: JSONDict = gvk) -> JSONDict:
            return {
                "operationId": f"{action}{kind['kind']}",
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": kind,
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
            }

        paths[base] = {
            "get": operation("get", "list"),
            "post": operation("post", "post"),
            "delete": operation("delete", "deletecollection"),
        }
        paths[f"{base}/{{name}}"] = {
            "get": operation("get", "get"),
            "put": operation("put", "put"),
            "patch": operation("patch", "patch"),
            "delete": operation("delete", "delete"),
        }
        if "status" in rt.subresources:
            paths[f"{base}/{{name}}/status"] = {
                "get": operation("get", "get"),
                "put": operation("put", "put"),
                "patch": operation("patch", "patch"),
            }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (emulated)", "version": "v1.31.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }
