"""Every request the tracker sends, spelled once as a :class:`~.descriptor.Request`.

The tracker's steps build requests with the functions below and
get back the decoded answer, so the MPIJob, pod, event, log, CRD and owner
ConfigMap requests exist once for both transports. Pure: no client library.

Retry rules (see :mod:`.retry`): reads, watches, merge patches and deletes are
``idempotent`` and retried by the transport; a create is sent once (the
tracker repeats it safely by the submission token); a patch carrying a
resourceVersion precondition is retried on transient errors only (a 409 is
raised: somebody else moved first, and the caller decides again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow_provider_mpi.mpioperator.client.descriptor import (
    DEFAULT_REQUEST_TIMEOUT,
    MERGE_PATCH,
    WATCH_READ_SLACK,
    QueryValue,
    Read,
    Request,
    Verb,
    query,
)

__all__ = [
    "MPIJOB_CRD",
    "MPIJOB_GROUP",
    "MPIJOB_PLURAL",
    "MPIJOB_VERSION",
    "create_mpi_job",
    "create_owner",
    "delete_mpi_job",
    "delete_owner",
    "follow_pod_log",
    "get_crd",
    "get_mpi_job",
    "get_owner",
    "list_events",
    "list_items",
    "list_mpi_jobs",
    "list_owners",
    "list_pods",
    "list_version",
    "patch_mpi_job",
    "patch_owner",
    "read_pod_log",
    "watch_mpi_jobs",
    "watch_pods",
]

MPIJOB_GROUP = "kubeflow.org"
MPIJOB_VERSION = "v2beta1"
MPIJOB_PLURAL = "mpijobs"
MPIJOB_CRD = f"{MPIJOB_PLURAL}.{MPIJOB_GROUP}"


def _seg(name: str) -> str:
    return quote(name, safe="")


@dataclass(frozen=True)
class _Kind:
    """A namespaced kind of object: where its objects live and how requests name it."""

    #: The path of its API group and version (``/api/v1`` for the core group).
    prefix: str
    plural: str
    #: One object in a request's description (the plural adds an "s").
    noun: str

    def path(self, namespace: str, name: str | None = None) -> str:
        path = f"{self.prefix}/namespaces/{_seg(namespace)}/{self.plural}"
        return path if name is None else f"{path}/{_seg(name)}"


_MPIJOBS = _Kind(f"/apis/{MPIJOB_GROUP}/{MPIJOB_VERSION}", MPIJOB_PLURAL, "MPIJob")
_PODS = _Kind("/api/v1", "pods", "pod")
_EVENTS = _Kind("/api/v1", "events", "event")
_OWNERS = _Kind("/api/v1", "configmaps", "array owner")


# The verbs, once for every kind; ``ident`` names the object in descriptions
# and in the JobNotFoundError of a 404.


def _create(
    kind: _Kind, namespace: str, body: Mapping[str, Any], read: Read = Read.JSON
) -> Request:
    name = (body.get("metadata") or {}).get("name")
    return Request(
        Verb.POST,
        kind.path(namespace),
        body=body,
        read=read,
        idempotent=False,
        what=f"create {kind.noun} {namespace}/{name}",
    )


def _get(kind: _Kind, namespace: str, name: str, ident: str) -> Request:
    path = kind.path(namespace, name)
    return Request(Verb.GET, path, what=f"get {kind.noun} {ident}", not_found=ident)


def _list(kind: _Kind, namespace: str, **options: QueryValue | None) -> Request:
    what = f"list {kind.noun}s in {namespace}"
    return Request(Verb.GET, kind.path(namespace), query=query(**options), what=what)


def _patch(kind: _Kind, namespace: str, name: str, patch: Mapping[str, Any], ident: str) -> Request:
    return Request(
        Verb.PATCH,
        kind.path(namespace, name),
        body=patch,
        content_type=MERGE_PATCH,
        what=f"patch {kind.noun} {ident}",
        not_found=ident,
    )


def _delete(
    kind: _Kind, namespace: str, name: str, ident: str, propagation_policy: str, uid: str | None
) -> Request:
    body: dict[str, Any] = {"propagationPolicy": propagation_policy}
    if uid:
        body["preconditions"] = {"uid": uid}
    return Request(
        Verb.DELETE,
        kind.path(namespace, name),
        body=body,
        what=f"delete {kind.noun} {ident}",
        not_found=ident,
    )


def _watch(
    kind: _Kind,
    namespace: str,
    resource_version: str,
    timeout_seconds: int,
    **selectors: str | None,
) -> Request:
    return Request(
        Verb.GET,
        kind.path(namespace),
        query=(
            *query(**selectors),
            ("watch", True),
            ("allowWatchBookmarks", True),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", timeout_seconds),
        ),
        read=Read.LINES,
        what=f"watch {kind.noun}s in {namespace}",
        timeout=(DEFAULT_REQUEST_TIMEOUT[0], timeout_seconds + WATCH_READ_SLACK),
    )


def list_items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items of a Kubernetes list response."""
    return list(body.get("items") or [])


def list_version(body: Mapping[str, Any]) -> str:
    """The resourceVersion of a Kubernetes list response (a watch resumes there)."""
    return str((body.get("metadata") or {}).get("resourceVersion") or "")


# MPIJobs


def create_mpi_job(namespace: str, body: Mapping[str, Any]) -> Request:
    """Create an MPIJob, in one attempt (a create is not blindly repeatable).

    The answer (the whole object, ~3 KB) is read and dropped, not decoded:
    the tracker names every job itself and needs nothing from it, and an
    array sends a thousand of these.
    """
    return _create(_MPIJOBS, namespace, body, Read.DISCARD)


def get_mpi_job(namespace: str, name: str, *, job_id: str) -> Request:
    """Read one MPIJob (``job_id`` is named in :class:`JobNotFoundError` on 404)."""
    return _get(_MPIJOBS, namespace, name, job_id)


def list_mpi_jobs(
    namespace: str,
    *,
    label_selector: str | None = None,
    field_selector: str | None = None,
    limit: int | None = None,
) -> Request:
    """List MPIJobs of a namespace (see :func:`list_items` and :func:`list_version`)."""
    return _list(
        _MPIJOBS,
        namespace,
        labelSelector=label_selector,
        fieldSelector=field_selector,
        limit=limit or None,
    )


def patch_mpi_job(namespace: str, name: str, patch: Mapping[str, Any], *, job_id: str) -> Request:
    """Apply a JSON merge patch to an MPIJob (``None`` values remove keys)."""
    return _patch(_MPIJOBS, namespace, name, patch, job_id)


def delete_mpi_job(
    namespace: str,
    name: str,
    *,
    job_id: str,
    uid: str | None = None,
    propagation_policy: str = "Foreground",
) -> Request:
    """Delete an MPIJob (only the incarnation ``uid`` when given) and its dependents."""
    return _delete(_MPIJOBS, namespace, name, job_id, propagation_policy, uid)


def watch_mpi_jobs(
    namespace: str,
    *,
    resource_version: str,
    timeout_seconds: int,
    field_selector: str | None = None,
    label_selector: str | None = None,
) -> Request:
    """Watch MPIJobs from ``resource_version``: one JSON event per line, bookmarks included."""
    return _watch(
        _MPIJOBS,
        namespace,
        resource_version,
        timeout_seconds,
        labelSelector=label_selector,
        fieldSelector=field_selector,
    )


# Pods, events, logs, cluster checks


def list_pods(namespace: str, label_selector: str) -> Request:
    """List the pods matching a label selector."""
    return _list(_PODS, namespace, labelSelector=label_selector)


def watch_pods(
    namespace: str, *, label_selector: str, resource_version: str, timeout_seconds: int
) -> Request:
    """Watch pods from ``resource_version``: one JSON event per line, bookmarks included."""
    return _watch(_PODS, namespace, resource_version, timeout_seconds, labelSelector=label_selector)


def list_events(namespace: str, *, field_selector: str | None = None) -> Request:
    """List the events of a namespace (e.g. ``involvedObject.name=<name>``)."""
    return _list(_EVENTS, namespace, fieldSelector=field_selector)


def _log_query(container: str | None, tail_lines: int | None) -> tuple[tuple[str, QueryValue], ...]:
    return query(container=container or None, tailLines=tail_lines)


def read_pod_log(
    namespace: str, pod: str, *, container: str | None, tail_lines: int | None
) -> Request:
    """Read a container's log as it is now (the answer is text)."""
    return Request(
        Verb.GET,
        _PODS.path(namespace, pod) + "/log",
        query=_log_query(container, tail_lines),
        read=Read.TEXT,
        what=f"read log of pod {namespace}/{pod}",
    )


def follow_pod_log(
    namespace: str, pod: str, *, container: str | None, tail_lines: int | None
) -> Request:
    """Stream a container's log until the container ends (lines, no read limit)."""
    return Request(
        Verb.GET,
        _PODS.path(namespace, pod) + "/log",
        query=(("follow", True), *_log_query(container, tail_lines)),
        read=Read.LINES,
        what=f"follow log of pod {namespace}/{pod}",
        timeout=(DEFAULT_REQUEST_TIMEOUT[0], None),
    )


def get_crd(name: str = MPIJOB_CRD) -> Request:
    """Read a CustomResourceDefinition (to check the operator is installed)."""
    return Request(
        Verb.GET,
        f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{_seg(name)}",
        what=f"get CRD {name}",
    )


# The owner ConfigMap of an array (see ..tracker.array_owner), named
# "<namespace>/<name>" in errors


def create_owner(namespace: str, body: Mapping[str, Any]) -> Request:
    """Create an array's owner ConfigMap, in one attempt."""
    return _create(_OWNERS, namespace, body)


def get_owner(namespace: str, name: str) -> Request:
    """Read the owner ConfigMap (``JobNotFoundError`` naming the array on 404)."""
    return _get(_OWNERS, namespace, name, f"{namespace}/{name}")


def patch_owner(namespace: str, name: str, patch: Mapping[str, Any]) -> Request:
    """Merge-patch the owner ConfigMap (a 409 is raised, never retried)."""
    return _patch(_OWNERS, namespace, name, patch, f"{namespace}/{name}")


def list_owners(namespace: str, label_selector: str) -> Request:
    """List the ConfigMaps matching a label selector (array owners among them)."""
    return _list(_OWNERS, namespace, labelSelector=label_selector)


def delete_owner(namespace: str, name: str) -> Request:
    """Delete the owner ConfigMap; its tasks go with it (Background propagation)."""
    return _delete(_OWNERS, namespace, name, f"{namespace}/{name}", "Background", None)
