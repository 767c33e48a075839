"""Request paths of the Kubernetes API, parsed into what the server must do.

Kubernetes paths are regular but not trivially routable: ``/api/v1/namespaces/x``
is a namespace while ``/api/v1/namespaces/x/pods`` is a collection in it. The
server parses every path once into a :class:`Target` (verb, resource,
namespace, name, subresource) before the fault layer, the counters and the
handlers look at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from airflow_provider_mpi.testing.faults import Verb
from airflow_provider_mpi.testing.store import RESOURCES, ResourceType

__all__ = ["PathKind", "Target", "parse_target"]


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


def _find(group: str, version: str, plural: str) -> ResourceType | None:
    rt = RESOURCES.get(plural)
    if rt is None or rt.group != group or rt.version != version:
        return None
    return rt


def parse_target(method: str, path: str, *, watch: bool = False) -> Target | None:
    """Parse a request path.

    Args:
        method: the HTTP method.
        path: the URL path (no query).
        watch: the ``watch`` query parameter is true.

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
        candidate = _find(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = _find(group, version, rest[0]) if rest else None
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
