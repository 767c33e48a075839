"""The values the store hands out: watch events, deep copies and timestamps.

A stored object is never changed in place, so a :class:`WatchEvent` shares it
with the store and every subscriber; everything handed to a caller is a
:func:`copy_json` copy.
"""

from __future__ import annotations

import json
import marshal
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeVar, cast

from airflow_provider_mpi.testing.store.resources import ResourceType

__all__ = [
    "EventType",
    "JSONDict",
    "JSONList",
    "PropagationPolicy",
    "WatchEvent",
    "copy_json",
    "format_timestamp",
    "utc_now",
]

JSONDict = dict[str, Any]
JSONList = list[JSONDict]
_T = TypeVar("_T")


class EventType(str, Enum):
    """Types of watch events, as on the wire."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


class PropagationPolicy(str, Enum):
    """How a delete treats the object's dependents (``DeleteOptions.propagationPolicy``)."""

    BACKGROUND = "Background"
    FOREGROUND = "Foreground"
    ORPHAN = "Orphan"


@dataclass(frozen=True)
class WatchEvent:
    """One change of one object; ``object`` is shared by all subscribers: never mutate it."""

    type: EventType
    resource: ResourceType
    object: JSONDict
    resource_version: int
    _encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def namespace(self) -> str | None:
        """The object's namespace (None for cluster-scoped objects)."""
        ns: str | None = self.object.get("metadata", {}).get("namespace")
        return ns

    @property
    def key(self) -> tuple[str, str]:
        """The object's ``(namespace, name)``; the namespace is ``""`` when cluster-scoped."""
        meta = self.object.get("metadata", {})
        return meta.get("namespace") or "", str(meta.get("name", ""))

    def encoded(self) -> bytes:
        """The event as one watch-stream line (JSON ``{"type":..,"object":..}`` and a newline).

        Returns:
            UTF-8 JSON followed by a newline.
        """
        line = self._encoded.get("json")
        if line is None:
            line = (
                json.dumps(
                    {"type": self.type.value, "object": self.object}, separators=(",", ":")
                ).encode()
                + b"\n"
            )
            self._encoded["json"] = line
        return line


def copy_json(value: _T) -> _T:
    """Deep-copy a JSON-like value (dicts, lists, scalars) much faster than ``copy.deepcopy``.

    Args:
        value: the value.

    Returns:
        An independent copy.
    """
    return cast("_T", _copy_marshal(value))


def _copy_marshal(value: Any) -> Any:
    try:
        return marshal.loads(marshal.dumps(value))
    except ValueError:  # not plain JSON (a datetime a test put in): copy by hand
        return _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def format_timestamp(moment: datetime) -> str:
    """Format a time as Kubernetes does (RFC 3339, seconds, ``Z``).

    Args:
        moment: an aware or naive-UTC datetime.

    Returns:
        e.g. ``"2026-01-02T03:04:05Z"``.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime:
    """The current time in UTC (the store's default clock)."""
    return datetime.now(timezone.utc)
