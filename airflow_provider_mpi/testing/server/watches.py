"""The server's watch fan-out: one store subscription, many watch streams.

The store calls its subscribers under its lock on the writer's thread. The hub
is its only subscriber on the server's side: it queues each event and wakes
the event loop once per batch (not once per watcher), then hands each event
to the watchers of that resource and namespace only, after their selectors.
Each event is serialised once and the bytes shared by every stream that sends
it unchanged. A label-selector watch sees an object that starts matching as
``ADDED`` and one that stops matching as ``DELETED``, as on a real API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from airflow_provider_mpi.testing.store import (
    RESOURCES,
    EventType,
    ResourceType,
    Store,
    WatchEvent,
    field_value,
)
from airflow_provider_mpi.testing.store.selectors import FieldSelector, LabelSelector

__all__ = ["SHUTDOWN", "Delivery", "WatchHub", "Watcher"]

JSONDict = dict[str, Any]
_ObjectKey = tuple[str, str, str]


@dataclass(frozen=True)
class Delivery:
    """One event as a given watcher must see it.

    Attributes:
        type: the event type for this watcher (may differ from the store's
            when a selector starts or stops matching).
        object: the object.
        source: the store event when the type is unchanged (its encoding is shared).
    """

    type: EventType
    object: JSONDict
    source: WatchEvent | None = None

    def encoded(self) -> bytes:
        """The watch-stream line for this delivery.

        Returns:
            JSON and a newline.
        """
        if self.source is not None:
            return self.source.encoded()
        body = {"type": self.type.value, "object": self.object}
        return json.dumps(body, separators=(",", ":")).encode() + b"\n"


#: Put in a watcher's queue to end its stream (server shutdown).
SHUTDOWN = Delivery(EventType.ERROR, {})


@dataclass(eq=False)
class Watcher:
    """One open watch stream's filter and queue.

    Attributes:
        rt: the watched resource.
        namespace: the watched namespace (None: all).
        labels: the label selector.
        fields: the field selector.
        min_resource_version: events at or below it are already known to the client.
        queue: deliveries waiting to be written.
    """

    rt: ResourceType
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    min_resource_version: int = 0
    queue: asyncio.Queue[Delivery] = field(default_factory=asyncio.Queue)

    def selects(self, obj: JSONDict | None) -> bool:
        """Tell whether the watcher's selectors match an object.

        Args:
            obj: the object (None never matches).

        Returns:
            True when selected.
        """
        if obj is None:
            return False
        if not self.labels.matches_object(obj):
            return False
        if not self.fields.requirements:
            return True
        return self.fields.matches(partial(field_value, obj))

    def offer(self, event: WatchEvent, previous: JSONDict | None, *, replay: bool = False) -> None:
        """Queue an event if this watcher sees it.

        Args:
            event: the store event.
            previous: the object's prior version (for selector transitions).
            replay: the event is replayed from history (prior version unknown).
        """
        if event.resource_version <= self.min_resource_version:
            return
        trivial = not self.labels.requirements and not self.fields.requirements
        if trivial:
            self.queue.put_nowait(Delivery(event.type, event.object, event))
            return
        now = self.selects(event.object)
        if event.type is not EventType.MODIFIED or replay:
            if now:
                self.queue.put_nowait(Delivery(event.type, event.object, event))
            return
        before = self.selects(previous)
        if now and before:
            self.queue.put_nowait(Delivery(event.type, event.object, event))
        elif now:
            self.queue.put_nowait(Delivery(EventType.ADDED, event.object))
        elif before:
            self.queue.put_nowait(Delivery(EventType.DELETED, event.object))


def _key(obj: JSONDict) -> _ObjectKey:
    meta = obj.get("metadata", {})
    return (obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))


class WatchHub:
    """Bridges store events onto the server loop and fans them out to watchers.

    Args:
        store: the store.
        loop: the server's event loop (the hub's methods, except the store
            callback, run on it).
    """

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop
        self._pending: deque[WatchEvent] = deque()
        self._pending_lock = threading.Lock()
        self._scheduled = False
        self._watchers: dict[tuple[str, str | None], set[Watcher]] = {}
        self._last: dict[_ObjectKey, JSONDict] = {}
        self._unsubscribe: Any = None
        self.delivered_resource_version = 0

    def start(self) -> None:
        """Subscribe to the store (call on the loop)."""
        with self._store.lock:
            for plural in RESOURCES:
                items, _ = self._store.list(plural)
                for obj in items:
                    self._last[_key(obj)] = obj
            self.delivered_resource_version = self._store.resource_version
            self._unsubscribe = self._store.subscribe(self._on_store_event)

    def stop(self) -> None:
        """Unsubscribe and end every open stream."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.queue.put_nowait(SHUTDOWN)

    @property
    def watcher_count(self) -> int:
        """How many watch streams are open."""
        return sum(len(w) for w in self._watchers.values())

    def _on_store_event(self, event: WatchEvent) -> None:
        # Runs on the writer's thread under the store lock: only enqueue.
        with self._pending_lock:
            self._pending.append(event)
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is stopping
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._pending_lock:
            self._scheduled = False
            batch = list(self._pending)
            self._pending.clear()
        for event in batch:
            key = _key(event.object)
            previous = self._last.get(key)
            if event.type is EventType.DELETED:
                self._last.pop(key, None)
            else:
                self._last[key] = event.object
            plural = event.resource.plural
            for watcher in self._watchers.get((plural, None), ()):
                watcher.offer(event, previous)
            if event.namespace is not None:
                for watcher in self._watchers.get((plural, event.namespace), ()):
                    watcher.offer(event, previous)
            self.delivered_resource_version = event.resource_version

    def register(self, watcher: Watcher, *, since: int | None) -> None:
        """Start delivering to a watcher (call on the loop).

        With ``since`` the events after it are replayed from the store's
        history; without, the current objects are sent as ``ADDED`` first.

        Args:
            watcher: the watcher.
            since: the resourceVersion the client has seen, or None.

        Raises:
            Gone: ``since`` is older than the store's history.
        """
        if since is None:
            items, list_rv = self._store.list(watcher.rt.plural, watcher.namespace)
            for obj in items:
                if watcher.selects(obj):
                    watcher.queue.put_nowait(Delivery(EventType.ADDED, obj))
            watcher.min_resource_version = list_rv
        else:
            # The client knows everything up to `since` (often from a list whose
            # resourceVersion is ahead of what the hub has dispatched yet).
            watcher.min_resource_version = since
            replayed: list[WatchEvent] = []
            with self._store.lock:
                self._store.subscribe(replayed.append, since=since)()
            limit = self.delivered_resource_version
            for event in replayed:
                if event.resource_version > limit:
                    break
                if event.resource.plural != watcher.rt.plural:
                    continue
                if watcher.namespace is not None and event.namespace != watcher.namespace:
                    continue
                watcher.offer(event, None, replay=True)
        self._watchers.setdefault((watcher.rt.plural, watcher.namespace), set()).add(watcher)

    def unregister(self, watcher: Watcher) -> None:
        """Stop delivering to a watcher.

        Args:
            watcher: the watcher.
        """
        scope = (watcher.rt.plural, watcher.namespace)
        watchers = self._watchers.get(scope)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[scope]
