"""Object-metadata helpers shared by the emulated controllers.

Small functions over plain JSON objects (as stored): timestamps in the
Kubernetes wire format, owner references, conditions. Kept apart so that the
MPI operator, the Job controller and the kubelet read the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "JSONDict",
    "controller_ref",
    "find_condition",
    "format_time",
    "is_controlled_by",
    "label",
    "owner_reference",
    "parse_time",
]

JSONDict = dict[str, Any]


def format_time(moment: datetime) -> str:
    """Format a time as Kubernetes does (RFC 3339, UTC, whole seconds).

    Args:
        moment: A timezone-aware time.

    Returns:
        For example ``"2026-01-02T03:04:05Z"``.
    """
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    """Parse a Kubernetes timestamp (``None`` and ``""`` give ``None``).

    Args:
        text: An RFC 3339 time such as ``"2026-01-02T03:04:05Z"``.

    Returns:
        The timezone-aware time, or ``None``.
    """
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def owner_reference(owner: JSONDict, *, controller: bool = True) -> JSONDict:
    """Build an ownerReference to ``owner`` as ``metav1.NewControllerRef`` does.

    Args:
        owner: The owning object (with kind, apiVersion, metadata.name/uid).
        controller: Whether the owner is the managing controller.

    Returns:
        The reference.
    """
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def controller_ref(obj: JSONDict) -> JSONDict | None:
    """Return the ownerReference marked ``controller: true``, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def is_controlled_by(obj: JSONDict, owner: JSONDict) -> bool:
    """Tell whether ``owner`` is the controller of ``obj`` (by uid)."""
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == owner["metadata"]["uid"]


def label(obj: JSONDict, key: str) -> str | None:
    """Return one label of ``obj`` (or ``None``)."""
    value = (obj.get("metadata", {}).get("labels") or {}).get(key)
    return None if value is None else str(value)


def find_condition(conditions: Iterable[JSONDict] | None, kind: str) -> JSONDict | None:
    """Return the first condition of type ``kind``, or ``None``."""
    for condition in conditions or ():
        if condition.get("type") == kind:
            return condition
    return None
