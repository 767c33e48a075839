"""Reading a Kubernetes watch stream, and where to resume it.

A watch is a long HTTP response of JSON lines. It ends when the server's
``timeoutSeconds`` pass, when a proxy drops it, or with an ``ERROR`` event
(``410 Expired`` when the resourceVersion it started from was compacted).
A waiter that must miss nothing keeps the resourceVersion of the last event
(bookmarks included) and reconnects from there; after a 410 it lists afresh
and re-evaluates everything it waits for, because events were lost.

This module is that bookkeeping, pure, shared by the sync wait and the async
:class:`~airflow_provider_mpi.mpioperator.tracker.watch_hub.JobWatchHub`: one line in,
one change (or nothing) out; errors come out as the provider's errors.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_mpi.drmaa2.errors import TransientBackendError, backend_error_for_status
from airflow_provider_mpi.mpioperator.client.translate import ResourceExpiredError

__all__ = ["JobChange", "Snapshot", "WatchCursor", "WatchEventType", "WatchRecovery"]


class WatchEventType(str, enum.Enum):
    """The ``type`` of a watch event."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


@dataclass(frozen=True)
class JobChange:
    """An object seen on a watch (or in a list standing in for one).

    Attributes:
        type: ADDED, MODIFIED or DELETED.
        name: the object's name.
        object: the object as the server sent it.
    """

    type: WatchEventType
    name: str
    object: dict[str, Any]

    @property
    def deleted(self) -> bool:
        """True when the object is gone."""
        return self.type is WatchEventType.DELETED


@dataclass(frozen=True)
class Snapshot:
    """The objects of a fresh list: the whole truth as of its resourceVersion.

    Attributes:
        objects: the listed objects by name.
        resource_version: the list's resourceVersion (what "absent" is relative to).
    """

    objects: dict[str, dict[str, Any]]
    resource_version: str = ""

    @classmethod
    def of(cls, items: list[dict[str, Any]], resource_version: str = "") -> Snapshot:
        """Index listed items by name."""
        by_name = {str((item.get("metadata") or {}).get("name")): item for item in items}
        return cls(by_name, resource_version)


class WatchRecovery(enum.Enum):
    """What to do after a watch failed."""

    #: Reconnect from the last resourceVersion (nothing was missed).
    RESUME = "resume"
    #: List afresh and re-evaluate (events were lost: 410 Gone).
    RELIST = "relist"
    #: Give up and raise (a permanent error).
    RAISE = "raise"


def _resource_version(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        value = metadata.get("resourceVersion")
        if value:
            return str(value)
    return None


class WatchCursor:
    """The resume point of a watch and the parser of its lines.

    Attributes:
        resource_version: where the next watch starts; ``None`` means a list
            is needed first (at the start and after ``410 Gone``).
    """

    def __init__(self, resource_version: str | None = None) -> None:
        self.resource_version = resource_version

    @property
    def needs_list(self) -> bool:
        """True when the caller must list before watching again."""
        return self.resource_version is None

    def recover(self, error: BaseException) -> WatchRecovery:
        """Decide how to go on after the watch (or its list) failed.

        Args:
            error: the translated error.

        Returns:
            RELIST after ``410 Gone`` (and resets the cursor), RESUME after a
            transient failure, RAISE otherwise.
        """
        if isinstance(error, ResourceExpiredError):
            self.resource_version = None
            return WatchRecovery.RELIST
        if isinstance(error, TransientBackendError):
            return WatchRecovery.RESUME
        return WatchRecovery.RAISE

    def listed(self, list_resource_version: str) -> None:
        """Record the resourceVersion of a fresh list.

        Args:
            list_resource_version: ``metadata.resourceVersion`` of the list.
        """
        self.resource_version = list_resource_version or None

    def feed(self, line: str | bytes) -> JobChange | None:
        """Read one line of the stream.

        Args:
            line: one JSON line of the watch response.

        Returns:
            The change for ADDED/MODIFIED/DELETED, ``None`` for a bookmark,
            a blank line or an event type this client does not know.

        Raises:
            ResourceExpiredError: a ``410`` ERROR event; the cursor is reset so
                that :attr:`needs_list` is True.
            TransientBackendError: a line that is not JSON (the stream was cut
                mid-event) or a transient ERROR event; reconnect from the
                current resource version.
            BackendError: another ERROR event.
        """
        if isinstance(line, bytes):
            line = line.decode("utf-8", errors="replace")
        if not line.strip():
            return None
        try:
            event = json.loads(line)
        except ValueError:
            raise TransientBackendError(
                None, "watch stream cut in the middle of an event"
            ) from None
        if not isinstance(event, dict):
            raise TransientBackendError(None, "watch stream sent something other than an event")
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, dict):
            obj = {}
        if kind == WatchEventType.ERROR.value:
            code = obj.get("code")
            message = str(obj.get("message") or obj.get("reason") or "watch error")
            if code == 410:
                self.resource_version = None
                raise ResourceExpiredError(410, message)
            raise backend_error_for_status(code if isinstance(code, int) else None, message)
        try:
            event_type = WatchEventType(kind)
        except ValueError:
            return None
        version = _resource_version(obj)
        if version is not None:
            self.resource_version = version
        if event_type is WatchEventType.BOOKMARK:
            return None
        name = (obj.get("metadata") or {}).get("name")
        if not isinstance(name, str):
            return None
        return JobChange(event_type, name, obj)
