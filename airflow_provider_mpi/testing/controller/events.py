"""Kubernetes Events as the emulated components record them.

Mirrors client-go's event recorder: a core/v1 ``Event`` named
``<object>.<hex time>`` pointing at the object through ``involvedObject``;
a repeat of the same event (same object, type, reason and message) bumps
``count`` and ``lastTimestamp`` instead of creating a new one.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from airflow_provider_mpi.testing.controller.meta import JSONDict, format_time, parse_time
from airflow_provider_mpi.testing.store import NotFound, Store, StoreError

__all__ = ["EventNote", "EventReaper", "EventRecorder", "EventSeverity", "event_key", "new_event"]

#: Shared by every recorder so that two events at the same instant get distinct names.
_SERIAL = itertools.count()


class EventSeverity(str, Enum):
    """The ``type`` of a core/v1 Event."""

    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class EventNote:
    """One event a kubelet or the scheduler reports about a pod, before it is an Event.

    Attributes:
        severity: Normal or Warning.
        reason: The machine-readable reason, e.g. ``"Scheduled"``.
        message: The human-readable message.
        component: Who reports it (``kubelet`` or ``default-scheduler``).
        host: The node, for a kubelet's event.
        field_path: The container it is about, e.g. ``spec.containers{launcher}``.
    """

    severity: EventSeverity
    reason: str
    message: str
    component: str
    host: str | None = None
    field_path: str | None = None


def event_key(obj: JSONDict, note: EventNote) -> tuple[str, ...]:
    """What makes two events the same one (a repeat bumps ``count``); the namespace first."""
    meta = obj["metadata"]
    return (
        meta.get("namespace") or "default",
        str(meta.get("uid")),
        note.field_path or "",
        note.severity.value,
        note.reason,
        note.message,
        note.host or "",
    )


def new_event(obj: JSONDict, note: EventNote, now: datetime) -> JSONDict:
    """A core/v1 Event about ``obj``, as client-go's recorder writes it.

    Args:
        obj: The object the event is about.
        note: What is reported, and by whom (``source``).
        now: The time of the event.

    Returns:
        The Event (named ``<object>.<hex nanoseconds>``).
    """
    meta = obj["metadata"]
    namespace = meta.get("namespace") or "default"
    involved: JSONDict = {
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta["name"],
        "uid": meta.get("uid"),
        "apiVersion": obj.get("apiVersion"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    if note.field_path:
        involved["fieldPath"] = note.field_path
    source: JSONDict = {"component": note.component}
    if note.host:
        source["host"] = note.host
    stamp = format_time(now)
    serial = next(_SERIAL)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{int(now.timestamp() * 1e9) + serial:x}",
            "namespace": namespace,
        },
        "involvedObject": involved,
        "reason": note.reason,
        "message": note.message,
        "source": source,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "type": note.severity.value,
        "eventTime": None,
        "reportingComponent": note.component,
        "reportingInstance": note.host or "",
    }


class EventRecorder:
    """Writes Events for one component into the store.

    Args:
        store: Where the events go.
        now: The emulated clock.
        component: ``source.component``, e.g. ``"mpi-job-controller"``.
    """

    def __init__(self, store: Store, now: Callable[[], datetime], component: str) -> None:
        self._store = store
        self._now = now
        self._component = component
        self._seen: dict[tuple[str, ...], str] = {}

    def record(
        self,
        obj: JSONDict,
        severity: EventSeverity,
        reason: str,
        message: str,
        *,
        host: str | None = None,
        field_path: str | None = None,
    ) -> None:
        """Record one event about ``obj``.

        Args:
            obj: The object the event is about (as stored).
            severity: Normal or Warning.
            reason: The machine-readable reason, e.g. ``"MPIJobCreated"``.
            message: The human-readable message.
            host: ``source.host`` (the node, for kubelet events).
            field_path: ``involvedObject.fieldPath`` (e.g. a container).
        """
        note = EventNote(severity, reason, message, self._component, host, field_path)
        key = event_key(obj, note)
        namespace = key[0]
        stamp = format_time(self._now())
        name = self._seen.get(key)
        if name is not None and self._bump(namespace, name, stamp):
            return
        event = new_event(obj, note, self._now())
        try:
            created = self._store.create("events", event, namespace=namespace)
        except StoreError:
            return  # the namespace is going away; a real recorder drops it too
        self._seen[key] = created["metadata"]["name"]

    def _bump(self, namespace: str, name: str, stamp: str) -> bool:
        try:
            event = self._store.get("events", namespace, name)
        except NotFound:
            return False
        event["count"] = int(event.get("count") or 1) + 1
        event["lastTimestamp"] = stamp
        event["metadata"].pop("resourceVersion", None)
        try:
            self._store.update("events", event)
        except StoreError:
            return False
        return True


class EventReaper:
    """Deletes Events an hour after their last occurrence, as the API server's event TTL does.

    Args:
        store: The cluster state.
        now: The emulated clock.
        ttl: Seconds an Event lives after its ``lastTimestamp``.
    """

    def __init__(self, store: Store, now: Callable[[], datetime], ttl: float = 3600.0) -> None:
        self._store = store
        self._now = now
        self._ttl = timedelta(seconds=ttl)
        self._next: datetime | None = None

    def reconcile(self) -> datetime | None:
        """Delete expired Events when the oldest one is due.

        Returns:
            When the oldest remaining Event expires.
        """
        now = self._now()
        if self._next is not None and now < self._next:
            return self._next
        events, _ = self._store.list("events")
        upcoming = now + self._ttl
        for event in events:
            last = parse_time(
                event.get("lastTimestamp") or event["metadata"].get("creationTimestamp")
            )
            expiry = (last or now) + self._ttl
            if expiry <= now:
                with contextlib.suppress(NotFound):
                    self._store.delete(
                        "events", event["metadata"]["namespace"], event["metadata"]["name"]
                    )
            else:
                upcoming = min(upcoming, expiry)
        self._next = upcoming
        return upcoming
