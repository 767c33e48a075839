"""The store's event history and its subscribers: what watches resume from.

A bounded deque of :class:`WatchEvent` in resourceVersion order; once an event
falls off the front, a watch resumed from before it gets ``410 Gone``, as
after an etcd compaction.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Callable

from airflow_provider_mpi.testing.store.errors import Gone
from airflow_provider_mpi.testing.store.objects import WatchEvent

__all__ = ["EventLog"]


class EventLog:
    """Retained events and live subscribers (not thread-safe: the store locks).

    Args:
        history: how many events are retained.
    """

    def __init__(self, history: int) -> None:
        self._events: deque[WatchEvent] = deque(maxlen=history)
        self._subscribers: dict[int, Callable[[WatchEvent], None]] = {}
        self._next_subscriber = 0
        self.compacted = 0  # events with resourceVersion <= this are gone

    def append(self, event: WatchEvent) -> None:
        """Retain an event and hand it to every subscriber, in order.

        Args:
            event: the change, with the store's new resourceVersion.
        """
        if len(self._events) == self._events.maxlen:
            self.compacted = self._events[0].resource_version
        self._events.append(event)
        for callback in list(self._subscribers.values()):
            callback(event)

    def subscribe(self, callback: Callable[[WatchEvent], None], since: int | None) -> int:
        """Replay the events after ``since`` to ``callback``, then add it as a subscriber.

        Args:
            callback: called with each event.
            since: replay events with a greater resourceVersion first; None replays nothing.

        Returns:
            The subscription's token for :meth:`unsubscribe`.

        Raises:
            Gone: ``since`` is older than the retained history.
        """
        if since is not None:
            if since < self.compacted:
                raise Gone(f"too old resource version: {since} ({self.compacted + 1})")
            first = bisect.bisect_right(
                self._events, since, key=lambda event: event.resource_version
            )
            for event in itertools.islice(self._events, first, None):
                callback(event)
        token = self._next_subscriber
        self._next_subscriber += 1
        self._subscribers[token] = callback
        return token

    def unsubscribe(self, token: int) -> None:
        """Remove a subscriber (no error when it is gone already).

        Args:
            token: what :meth:`subscribe` returned.
        """
        self._subscribers.pop(token, None)

    def compact(self, resource_version: int) -> None:
        """Forget every retained event, up to and including ``resource_version``.

        Args:
            resource_version: the store's current resourceVersion.
        """
        self._events.clear()
        self.compacted = resource_version
