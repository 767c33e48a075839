"""Discovery documents of the emulated API server.

Clients learn what a server serves from ``/version``, ``/api``, ``/apis``,
the group-version resource lists and the OpenAPI v3 documents. They are pure
functions of the resource table in
:mod:`airflow_provider_mpi.testing.store`, kept out of the HTTP layer. The
discovery documents take the resources served at the moment (a custom
resource only while its CRD serves it): a group none of them belongs to is
not listed, and its documents are not found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from airflow_provider_mpi.testing.store import RESOURCES, ResourceType

__all__ = [
    "EMULATED_VERSION",
    "api_group",
    "api_group_list",
    "api_resource_list",
    "api_versions",
    "document",
    "openapi_v3_group_version",
    "openapi_v3_root",
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


def document(
    path: str,
    group: str | None,
    version: str | None,
    served: Iterable[ResourceType] | None,
    address: str,
) -> JSONDict | None:
    """The discovery document a path asks for.

    Args:
        path: the request path, without a trailing slash.
        group: the API group the path names (``""`` or None for the core group).
        version: the group version the path names, if any.
        served: the resources served now (None: all of them).
        address: ``host:port`` of the server (``/api`` names it).

    Returns:
        The document, or None when nothing is served there.
    """
    if path == "/version":
        return version_info()
    if path == "/api":
        return api_versions(address)
    if path == "/apis":
        return api_group_list(served)
    if path == "/openapi/v3":
        return openapi_v3_root(served)
    if path.startswith("/openapi/v3/"):
        parts = path.split("/")[3:]
        if parts[:1] == ["api"] and len(parts) == 2:
            return openapi_v3_group_version("", parts[1], served)
        if parts[:1] == ["apis"] and len(parts) == 3:
            return openapi_v3_group_version(parts[1], parts[2], served)
        return None
    if version is not None:
        return api_resource_list(group or "", version, served)
    if group:
        return api_group(group, served)
    return None
