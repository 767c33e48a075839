"""Which objects a controller must look at again: a work queue fed by store changes.

Real controllers do not re-read the world on every change: informers map each
change to the key of the object that owns it (``handleObject`` in the MPI
operator) and put it on a work queue. :class:`WorkQueue` does the same over
the store's change stream, plus timers (``add_after``), so a pass of a
controller costs in proportion to what changed, not to the cluster's size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from airflow_provider_mpi.testing.controller.meta import label
from airflow_provider_mpi.testing.store import Store, StoreError, WatchEvent

__all__ = ["RETRY_AFTER", "Key", "WorkQueue", "owner_keys"]

#: ``(namespace, name)`` of the object a controller reconciles.
Key = tuple[str, str]

#: How soon a sync that the store refused (a write lost a race...) runs again.
RETRY_AFTER = timedelta(seconds=1)


def owner_keys(
    event: WatchEvent, kind: str, name_label: str, api_group: str | None = None
) -> set[Key]:
    """The keys of the ``kind`` objects that own the changed object (``handleObject``).

    An owner is named by the object's ``name_label`` label or by one of its
    ownerReferences of that kind; either way it lives in the object's namespace.

    Args:
        event: The change of the owned object.
        kind: The owner's kind, as ownerReferences name it (``"Job"``, ``"MPIJob"``).
        name_label: The label that carries the owner's name.
        api_group: When given, only references whose ``apiVersion`` is of this group count.

    Returns:
        The owners' keys (empty for an object nobody owns).
    """
    namespace, _ = event.key
    keys: set[Key] = set()
    owner = label(event.object, name_label)
    if owner:
        keys.add((namespace, owner))
    for ref in event.object.get("metadata", {}).get("ownerReferences") or []:
        of_group = api_group is None or str(ref.get("apiVersion", "")).startswith(f"{api_group}/")
        if ref.get("kind") == kind and of_group:
            keys.add((namespace, str(ref.get("name"))))
    return keys


class WorkQueue:
    """Keys to reconcile, filled from store changes by a mapping function.

    Args:
        store: The store whose changes feed the queue.
        keys_for: Maps one change to the keys it concerns; returns ``None``
            when every key is concerned (e.g. a CRD appeared).

    The queue starts "everything dirty", so the first pass sees all objects.
    """

    def __init__(self, store: Store, keys_for: Callable[[WatchEvent], set[Key] | None]) -> None:
        self._lock = threading.Lock()
        self._keys: set[Key] = set()
        self._all = True
        self._timers: dict[Key, datetime] = {}
        self._keys_for = keys_for
        self._unsubscribe: Callable[[], None] | None = store.subscribe(self._on_change)

    def _on_change(self, event: WatchEvent) -> None:
        keys = self._keys_for(event)
        with self._lock:
            if keys is None:
                self._all = True
            else:
                self._keys |= keys

    def add(self, key: Key) -> None:
        """Look at ``key`` on the next pass."""
        with self._lock:
            self._keys.add(key)

    def add_after(self, key: Key, when: datetime) -> None:
        """Look at ``key`` once the emulated time reaches ``when`` (the earliest wins)."""
        with self._lock:
            current = self._timers.get(key)
            if current is None or when < current:
                self._timers[key] = when

    def take(self, now: datetime) -> tuple[bool, set[Key]]:
        """Take the keys due now.

        Args:
            now: The emulated time (timers up to it fire).

        Returns:
            ``(everything, keys)``: when ``everything`` is True the caller
            must look at every object (``keys`` then holds the timers due).
        """
        with self._lock:
            due = {key for key, when in self._timers.items() if when <= now}
            for key in due:
                del self._timers[key]
            everything, keys = self._all, self._keys | due
            self._all, self._keys = False, set()
            return everything, keys

    def sync_each(
        self,
        now: datetime,
        keys: Iterable[Key],
        sync: Callable[[Key], datetime | None],
        retry_on: tuple[type[Exception], ...] = (StoreError,),
    ) -> datetime | None:
        """Sync each key in order, as a controller's worker drains its queue.

        What a sync returns is when it wants the key again; a sync that raises
        one of ``retry_on`` runs again :data:`RETRY_AFTER` later.

        Args:
            now: The emulated time of this pass.
            keys: The keys taken for this pass.
            sync: Reconciles one key; returns its next due time, or ``None``.
            retry_on: The errors that mean "try again shortly".

        Returns:
            The earliest pending timer (:meth:`next_timer`).
        """
        for key in sorted(keys):
            try:
                wake = sync(key)
            except retry_on:
                wake = now + RETRY_AFTER
            if wake is not None:
                self.add_after(key, wake)
        return self.next_timer()

    def next_timer(self) -> datetime | None:
        """The earliest pending timer, or ``None``."""
        with self._lock:
            return min(self._timers.values(), default=None)

    def close(self) -> None:
        """Stop following the store."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
