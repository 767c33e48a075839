"""The Kubernetes events of one MPIJob, its launcher Job and its pods.

When a job fails the reason is often only in an event (``FailedScheduling``,
``ErrImagePull``, ``Evicted``), on a pod rather than on the MPIJob. The
Airflow operator logs these; this module picks them out of the events
listed and turns them into :class:`JobEvent` records. Pure; shared by the
sync and async trackers.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["EventType", "JobEvent", "job_events_from_k8s", "parse_timestamp"]


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)$")


class EventType(str, enum.Enum):
    """The ``type`` of a Kubernetes event."""

    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class JobEvent:
    """One Kubernetes event about a job or one of its parts.

    Attributes:
        type: ``"Normal"`` or ``"Warning"`` (see :class:`EventType`).
        reason: the machine-readable reason, e.g. ``FailedScheduling``.
        message: the human-readable message.
        timestamp: when it last happened (UTC), if known.
        count: how often it happened.
        object_kind: the kind of the object it is about (MPIJob, Job, Pod).
        object_name: the name of that object.
    """

    type: str
    reason: str
    message: str
    timestamp: datetime | None
    count: int
    object_kind: str = ""
    object_name: str = ""

    @property
    def is_warning(self) -> bool:
        """True for a Warning event."""
        return self.type == EventType.WARNING.value


def parse_timestamp(value: object) -> datetime | None:
    """Read a Kubernetes RFC 3339 timestamp (``2026-01-01T12:00:00Z``).

    Args:
        value: the timestamp text.

    Returns:
        The aware datetime, or None when absent or unreadable.
    """
    if not isinstance(value, str) or not value:
        return None
    match = _RFC3339.match(value.strip())
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    # Python 3.10's fromisoformat wants 0, 3 or 6 fraction digits and no "Z".
    fraction = (fraction or "").ljust(6, "0")[:6]
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        when = datetime.fromisoformat(f"{whole}.{fraction}{zone}")
    except ValueError:
        return None
    return when.astimezone(timezone.utc)


def _event_time(event: Mapping[str, Any]) -> datetime | None:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        when = parse_timestamp(event.get(key))
        if when is not None:
            return when
    series = event.get("series") or {}
    return parse_timestamp(series.get("lastObservedTime")) or parse_timestamp(
        (event.get("metadata") or {}).get("creationTimestamp")
    )


def job_events_from_k8s(
    events: Iterable[Mapping[str, Any]],
    objects: Iterable[tuple[str, str]],
    *,
    warnings_only: bool = False,
) -> list[JobEvent]:
    """Select and convert the events about a set of objects.

    Args:
        events: Kubernetes ``Event`` objects (core/v1) of the namespace.
        objects: ``(kind, name)`` of the MPIJob, its launcher Job and its pods.
        warnings_only: keep Warning events only.

    Returns:
        The events, oldest first (events without a time first).
    """
    wanted = set(objects)
    selected = []
    for event in events:
        involved = event.get("involvedObject") or {}
        key = (str(involved.get("kind") or ""), str(involved.get("name") or ""))
        if key not in wanted:
            continue
        kind = str(event.get("type") or EventType.NORMAL.value)
        if warnings_only and kind != EventType.WARNING.value:
            continue
        series = event.get("series") or {}
        count = event.get("count") or series.get("count") or 1
        selected.append(
            JobEvent(
                type=kind,
                reason=str(event.get("reason") or ""),
                message=str(event.get("message") or event.get("note") or ""),
                timestamp=_event_time(event),
                count=int(count),
                object_kind=key[0],
                object_name=key[1],
            )
        )
    selected.sort(key=lambda e: (e.timestamp is not None, e.timestamp or datetime.min))
    return selected
