"""Request paths of the Kubernetes API, parsed into what the server must do.

Kubernetes paths are regular but not trivially routable: ``/api/v1/namespaces/x``
is a namespace while ``/api/v1/namespaces/x/pods`` is a collection in it. The
server parses every path once into a :class:`Target` (verb, resource,
namespace, name, subresource) before the fault layer, the counters and the
handlers look at it.

A custom resource is part of the API only while its CustomResourceDefinition
serves it (:class:`ServedResources`): before that, and after the CRD is
deleted, its paths are unknown to the router, as they are to a real server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_provider_mpi.testing.faults import Verb
from airflow_provider_mpi.testing.store import (
    RESOURCES,
    EventType,
    ResourceType,
    Store,
    WatchEvent,
)

__all__ = ["PathKind", "ServedResources", "Target", "crd_served_versions", "parse_target"]

_CRDS = "customresourcedefinitions"


def crd_served_versions(crd: Mapping[str, Any]) -> frozenset[str]:
    """The versions a CustomResourceDefinition makes the API server serve.

    As kube-apiserver's CRD handler and discovery controller: nothing unless
    the CRD is ``Established``, then each of ``spec.versions`` with ``served:
    true``. A CRD whose name is not ``<spec.names.plural>.<spec.group>`` serves
    nothing (a real server refuses to create it).

    Args:
        crd: the CustomResourceDefinition.

    Returns:
        The served version names.
    """
    spec = crd.get("spec") or {}
    status = crd.get("status") or {}
    established = any(
        isinstance(c, dict) and c.get("type") == "Established" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    names = spec.get("names") or {}
    name = (crd.get("metadata") or {}).get("name")
    if not established or name != f"{names.get('plural')}.{spec.get('group')}":
        return frozenset()
    return frozenset(
        str(v.get("name"))
        for v in spec.get("versions") or []
        if isinstance(v, dict) and v.get("served") is True
    )


class ServedResources:
    """Which resources the API serves now, following the CRDs in a store.

    Built-in resources are always served; a custom resource
    (:attr:`ResourceType.custom`) only while the CRD named after it serves
    its version (:func:`crd_served_versions`). The answer is kept up to date
    from the store's change feed, so routing a request costs no store read.

    Args:
        store: the store whose CRDs decide.
    """

    def __init__(self, store: Store) -> None:
        self._versions: dict[str, frozenset[str]] = {}
        with store.lock:  # no change can slip between the list and the subscription
            crds, _ = store.list(_CRDS)
            for crd in crds:
                self._note(crd)
            self._unsubscribe = store.subscribe(self._on_change)

    def _note(self, crd: Mapping[str, Any]) -> None:
        name = str((crd.get("metadata") or {}).get("name"))
        self._versions[name] = crd_served_versions(crd)

    def _on_change(self, event: WatchEvent) -> None:
        if event.resource.plural != _CRDS:
            return
        if event.type is EventType.DELETED:
            self._versions.pop(str(event.object.get("metadata", {}).get("name")), None)
        elif event.type in (EventType.ADDED, EventType.MODIFIED):
            self._note(event.object)

    def served(self, rt: ResourceType) -> bool:
        """Tell whether a resource is served now.

        Args:
            rt: the resource type.

        Returns:
            True for a built-in resource, or a custom one its CRD serves.
        """
        return not rt.custom or rt.version in self._versions.get(rt.qualified, frozenset())

    def resources(self) -> list[ResourceType]:
        """The resource types served now, in the table's order.

        Returns:
            The served types.
        """
        return [rt for rt in RESOURCES.values() if self.served(rt)]

    def close(self) -> None:
        """Stop following the store (idempotent)."""
        self._unsubscribe()


class PathKind(str, Enum):
    """What a path addresses."""

    RESOURCE = "resource"
    DISCOVERY = "discovery"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Target:
    """A parsed request.

    Attributes:
        kind: resource, discovery or unknown path.
        verb: the API verb (discovery reads are ``get``).
        path: the request path.
        rt: the resource type, for resource paths.
        namespace: the namespace in the path.
        name: the object name in the path.
        subresource: ``status``, ``log``... in the path.
        group: the API group in the path (discovery).
        version: the API version in the path (discovery).
    """

    kind: PathKind
    verb: Verb
    path: str
    rt: ResourceType | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    group: str | None = None
    version: str | None = None

    @property
    def resource(self) -> str:
        """The resource as counted and matched by faults: ``pods``, ``pods/log``, or ``""``."""
        if self.rt is None:
            return ""
        return f"{self.rt.plural}/{self.subresource}" if self.subresource else self.rt.plural


def _verb(method: str, *, collection: bool, watch: bool) -> Verb | None:
    if method == "GET":
        if watch:
            return Verb.WATCH
        return Verb.LIST if collection else Verb.GET
    if collection:
        return {"POST": Verb.CREATE, "DELETE": Verb.DELETECOLLECTION}.get(method)
    return {"PUT": Verb.UPDATE, "PATCH": Verb.PATCH, "DELETE": Verb.DELETE}.get(method)


def _find(
    group: str, version: str, plural: str, served: Callable[[ResourceType], bool] | None
) -> ResourceType | None:
    rt = RESOURCES.get(plural)
    if rt is None or rt.group != group or rt.version != version:
        return None
    if served is not None and not served(rt):
        return None
    return rt


def parse_target(
    method: str,
    path: str,
    *,
    watch: bool = False,
    served: Callable[[ResourceType], bool] | None = None,
) -> Target | None:
    """Parse a request path.

    Args:
        method: the HTTP method.
        path: the URL path (no query).
        watch: the ``watch`` query parameter is true.
        served: tells whether a resource is served now (e.g.
            :meth:`ServedResources.served`); the path of one that is not is
            unknown. None serves every resource of the table.

    Returns:
        The target, or None when the method is not allowed on that path.
    """
    parts = [p for p in path.split("/") if p]
    unknown = Target(PathKind.UNKNOWN, Verb.GET, path)
    if not parts:
        return unknown
    if parts[0] in ("version", "openapi", "healthz", "livez", "readyz"):
        return Target(PathKind.DISCOVERY, Verb.GET, path) if method == "GET" else None
    if parts[0] == "api":
        group, rest = "", parts[1:]
    elif parts[0] == "apis":
        if len(parts) <= 2:
            group_name = parts[1] if len(parts) == 2 else None
            kind = PathKind.DISCOVERY
            return Target(kind, Verb.GET, path, group=group_name) if method == "GET" else None
        group, rest = parts[1], parts[2:]
    else:
        return unknown
    if not rest:
        return Target(PathKind.DISCOVERY, Verb.GET, path, group="") if method == "GET" else None
    version, rest = rest[0], rest[1:]
    if not rest:
        if method != "GET":
            return None
        return Target(PathKind.DISCOVERY, Verb.GET, path, group=group, version=version)
    if rest[0] == "watch":  # the deprecated /watch/ prefix
        watch, rest = True, rest[1:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        candidate = _find(group, version, rest[2], served)
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = _find(group, version, rest[0], served) if rest else None
    if rt is None or len(rest) > 3:
        return unknown
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource is not None and subresource not in rt.subresources:
        return unknown
    if rt.namespaced and name is not None and namespace is None:
        return unknown
    verb = _verb(method, collection=name is None, watch=watch)
    if verb is None:
        return None
    return Target(
        PathKind.RESOURCE,
        verb,
        path,
        rt=rt,
        namespace=namespace,
        name=name,
        subresource=subresource,
        group=group,
        version=version,
    )
