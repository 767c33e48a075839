"""The store's secondary indexes: dependents by owner, objects by label.

The garbage collector finds an owner's dependents through the first; a list
or watch with ``app=x`` or ``app in (x,y)`` in its label selector reads only
the objects the second names. The store keeps both current under its lock.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_mpi.testing.store.selectors import LabelSelector, Operator

__all__ = ["Indexes", "Key"]

#: An object's key: plural, namespace ("" when cluster-scoped), name.
Key = tuple[str, str, str]

_JSONDict = dict[str, Any]


class Indexes:
    """Owner and label indexes over the stored objects (not thread-safe: the store locks)."""

    def __init__(self) -> None:
        self._dependents: dict[str, set[Key]] = {}
        self._labels: dict[tuple[str, str, str], set[tuple[str, str]]] = {}

    def update(self, key: Key, obj: _JSONDict | None, old: _JSONDict | None) -> None:
        """Index an object's change: created (``old`` None), replaced, or deleted (``obj`` None).

        Args:
            key: the object's key.
            obj: the object as now stored, or None once deleted.
            old: the object as stored before, or None when new.
        """
        self._index_owners(key, obj, old)
        self._index_labels(key, obj, old)

    def dependents(self, uid: str) -> list[Key]:
        """The keys of the objects that name ``uid`` in an ownerReference, sorted.

        Args:
            uid: the owner's ``metadata.uid``.

        Returns:
            Their keys.
        """
        return sorted(self._dependents.get(uid, ()))

    def candidates(self, plural: str, labels: LabelSelector) -> set[tuple[str, str]] | None:
        """Keys that can match the selector's equality requirements (None: no such requirement).

        Args:
            plural: the resource.
            labels: the compiled label selector.

        Returns:
            ``(namespace, name)`` keys, or None when every object is a candidate.
        """
        found: set[tuple[str, str]] | None = None
        for req in labels.requirements:
            if req.operator not in (Operator.EQUALS, Operator.IN):
                continue
            keys: set[tuple[str, str]] = set()
            for value in req.values:
                keys |= self._labels.get((plural, req.key, value), set())
            found = keys if found is None else found & keys
        return found

    def _index_owners(self, key: Key, obj: _JSONDict | None, old: _JSONDict | None) -> None:
        for source, add in ((old, False), (obj, True)):
            if source is None:
                continue
            for ref in source.get("metadata", {}).get("ownerReferences") or []:
                uid = ref.get("uid")
                if not uid:
                    continue
                if add:
                    self._dependents.setdefault(uid, set()).add(key)
                else:
                    deps = self._dependents.get(uid)
                    if deps is not None:
                        deps.discard(key)
                        if not deps:
                            del self._dependents[uid]

    def _index_labels(self, key: Key, obj: _JSONDict | None, old: _JSONDict | None) -> None:
        plural, ns, name = key
        before = (old or {}).get("metadata", {}).get("labels") or {}
        after = (obj or {}).get("metadata", {}).get("labels") or {}
        if before == after:
            return
        for label, value in before.items():
            if after.get(label) != value:
                entry = self._labels.get((plural, label, value))
                if entry is not None:
                    entry.discard((ns, name))
                    if not entry:
                        del self._labels[(plural, label, value)]
        for label, value in after.items():
            if before.get(label) != value:
                self._labels.setdefault((plural, label, str(value)), set()).add((ns, name))
