"""The garbage collector's second half: dependents whose owner was gone before they came.

The store deletes an owner's dependents together with the owner (its
cascade, :meth:`~airflow_provider_mpi.testing.store.Store.delete`). It cannot
see a dependent created *after* its owner was deleted: a controller that read
the owner just before the delete goes on with that copy and creates children
that name the old uid (the MPI operator works from its informer cache; the
emulated one from the object it read at the start of its sync). Nothing else
ever removes them, and a new object of the owner's name then meets them as
"already exists and is not managed by" it, for good.

Kubernetes' garbage collector handles them: for each ownerReference of a
dependent it looks the owner up by kind, name and namespace; an owner that is
absent, or present with another uid, is dangling. A dependent whose owners
all dangle is deleted (``Background``); one with a live owner left only loses
the dangling references. :class:`GarbageCollector` does the same for every
object whose ownerReferences are new or changed. An owner of a kind the
emulator does not serve counts as alive (the real collector cannot resolve
it either, and deletes nothing).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime

from airflow_provider_mpi.testing.controller.meta import JSONDict
from airflow_provider_mpi.testing.store import (
    RESOURCES,
    EventType,
    NotFound,
    ResourceType,
    Store,
    StoreError,
    WatchEvent,
    copy_json,
)

__all__ = ["GarbageCollector", "owner_resource"]

#: ``(plural, namespace, name)`` of a dependent (namespace ``""`` when cluster-scoped).
ObjectKey = tuple[str, str, str]


def owner_resource(ref: JSONDict) -> ResourceType | None:
    """The resource an ownerReference names, by its API group and kind (any version).

    Args:
        ref: one entry of ``metadata.ownerReferences``.

    Returns:
        The resource, or None for a kind the emulator does not serve.
    """
    group = str(ref.get("apiVersion") or "").rpartition("/")[0]
    kind = ref.get("kind")
    return next((rt for rt in RESOURCES.values() if rt.kind == kind and rt.group == group), None)


class GarbageCollector:
    """Deletes dependents whose owners are all gone; strips dangling references from others.

    Args:
        store: The cluster state.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._dirty: set[ObjectKey] = set()
        self._owners: dict[ObjectKey, frozenset[str]] = {}
        self._unsubscribe: Callable[[], None] | None = store.subscribe(self._on_change)

    def close(self) -> None:
        """Stop following the store."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_change(self, event: WatchEvent) -> None:
        """Note an object whose owner uids are new or changed (runs under the store lock)."""
        meta = event.object.get("metadata") or {}
        key = (event.resource.plural, str(meta.get("namespace") or ""), str(meta.get("name")))
        uids = frozenset(str(ref.get("uid")) for ref in meta.get("ownerReferences") or [])
        with self._lock:
            if event.type is EventType.DELETED or not uids:
                self._owners.pop(key, None)
            elif self._owners.get(key) != uids:
                self._owners[key] = uids
                self._dirty.add(key)

    def reconcile(self) -> datetime | None:
        """Check the owners of every object noted since the last pass.

        Returns:
            ``None``: nothing is ever due without a store change.
        """
        with self._lock:
            keys, self._dirty = sorted(self._dirty), set()
        for key in keys:
            try:
                self._collect(key)
            except StoreError:  # changed meanwhile: look again on the next pass
                with self._lock:
                    self._dirty.add(key)
        return None

    def _dangling(self, ref: JSONDict, namespace: str) -> bool:
        rt, name = owner_resource(ref), ref.get("name")
        if rt is None or not name or (rt.namespaced and not namespace):
            return False  # unresolvable: left alone, as the real collector does
        try:
            owner = self._store.get(rt.plural, namespace if rt.namespaced else None, str(name))
        except NotFound:
            return True
        return bool(owner["metadata"].get("uid") != ref.get("uid"))

    def _collect(self, key: ObjectKey) -> None:
        plural, namespace, name = key
        try:
            obj = self._store.get(plural, namespace or None, name)
        except NotFound:
            return
        refs = obj["metadata"].get("ownerReferences") or []
        dangling = {str(ref.get("uid")) for ref in refs if self._dangling(ref, namespace)}
        if not dangling:
            return
        if all(str(ref.get("uid")) in dangling for ref in refs):
            with contextlib.suppress(NotFound):
                self._store.delete(plural, namespace or None, name)
            return
        update = copy_json(obj)  # its resourceVersion makes the update conditional
        update["metadata"]["ownerReferences"] = [
            ref for ref in refs if str(ref.get("uid")) not in dangling
        ]
        with contextlib.suppress(NotFound):
            self._store.update(plural, update)
