"""The requests on an array's owner ConfigMap, sync and async (see :mod:`.array_owner`).

Thin like :mod:`.api` and :mod:`.aio`, whose clients and retry they reuse:
a create is sent once (the tracker resolves a lost answer by the submission
token), a read and a delete are retried, a patch carrying a resourceVersion
precondition is retried on transient errors only (a 409 means somebody else
moved first, and the caller decides again).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_mpi.mpioperator.aio import AsyncMPIJobApi
from airflow_provider_mpi.mpioperator.api import (
    MERGE_PATCH,
    RAW_REQUEST,
    MPIJobApi,
    _read_json,
    list_items,
)

__all__ = [
    "acreate_owner",
    "adelete_owner",
    "aget_owner",
    "alist_owners",
    "apatch_owner",
    "create_owner",
    "delete_owner",
    "get_owner",
    "list_owners",
    "patch_owner",
]


def _id(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def create_owner(api: MPIJobApi, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create the owner ConfigMap, in one attempt."""
    return api._once(
        lambda: _read_json(api.core.create_namespaced_config_map(namespace, body, **RAW_REQUEST))
    )


def get_owner(api: MPIJobApi, namespace: str, name: str) -> dict[str, Any]:
    """Read the owner ConfigMap (``JobNotFoundError`` naming the array on 404)."""
    return api._retried(
        f"get array owner {_id(namespace, name)}",
        lambda: _read_json(api.core.read_namespaced_config_map(name, namespace, **RAW_REQUEST)),
        not_found=_id(namespace, name),
    )


def patch_owner(api: MPIJobApi, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Merge-patch the owner ConfigMap (a 409 is raised, never retried)."""
    return api._retried(
        f"patch array owner {_id(namespace, name)}",
        lambda: _read_json(
            api.core.patch_namespaced_config_map(
                name, namespace, patch, _content_type=MERGE_PATCH, **RAW_REQUEST
            )
        ),
        not_found=_id(namespace, name),
    )


def list_owners(api: MPIJobApi, namespace: str, label_selector: str) -> list[dict[str, Any]]:
    """List the ConfigMaps matching a label selector (array owners among them)."""
    body = api._retried(
        f"list array owners in {namespace}",
        lambda: _read_json(
            api.core.list_namespaced_config_map(
                namespace, label_selector=label_selector, **RAW_REQUEST
            )
        ),
    )
    return list_items(body)


def delete_owner(api: MPIJobApi, namespace: str, name: str) -> None:
    """Delete the owner ConfigMap; its tasks go with it (Background propagation)."""
    body = {"propagationPolicy": "Background"}
    api._retried(
        f"delete array owner {_id(namespace, name)}",
        lambda: _read_json(
            api.core.delete_namespaced_config_map(name, namespace, body=body, **RAW_REQUEST)
        ),
        not_found=_id(namespace, name),
    )


async def acreate_owner(
    api: AsyncMPIJobApi, namespace: str, body: dict[str, Any]
) -> dict[str, Any]:
    """See :func:`create_owner`."""
    return await api._once(
        lambda: api._json(api.core.create_namespaced_config_map(namespace, body, **RAW_REQUEST))
    )


async def aget_owner(api: AsyncMPIJobApi, namespace: str, name: str) -> dict[str, Any]:
    """See :func:`get_owner`."""
    return await api._retried(
        f"get array owner {_id(namespace, name)}",
        lambda: api._json(api.core.read_namespaced_config_map(name, namespace, **RAW_REQUEST)),
        not_found=_id(namespace, name),
    )


async def apatch_owner(
    api: AsyncMPIJobApi, namespace: str, name: str, patch: dict[str, Any]
) -> dict[str, Any]:
    """See :func:`patch_owner`."""
    return await api._retried(
        f"patch array owner {_id(namespace, name)}",
        lambda: api._json(
            api.core.patch_namespaced_config_map(
                name, namespace, patch, _content_type=MERGE_PATCH, **RAW_REQUEST
            )
        ),
        not_found=_id(namespace, name),
    )


async def alist_owners(
    api: AsyncMPIJobApi, namespace: str, label_selector: str
) -> list[dict[str, Any]]:
    """See :func:`list_owners`."""
    body = await api._retried(
        f"list array owners in {namespace}",
        lambda: api._json(
            api.core.list_namespaced_config_map(
                namespace, label_selector=label_selector, **RAW_REQUEST
            )
        ),
    )
    return list_items(body)


async def adelete_owner(api: AsyncMPIJobApi, namespace: str, name: str) -> None:
    """See :func:`delete_owner`."""
    body = {"propagationPolicy": "Background"}
    await api._retried(
        f"delete array owner {_id(namespace, name)}",
        lambda: api._json(
            api.core.delete_namespaced_config_map(name, namespace, body=body, **RAW_REQUEST)
        ),
        not_found=_id(namespace, name),
    )
