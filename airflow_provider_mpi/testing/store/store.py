"""The emulated cluster's object store: the one source of truth for server and controller.

It plays the part of kube-apiserver's storage layer (etcd behind the registry):
objects keyed by resource, namespace and name; a cluster-wide
``resourceVersion`` counter; optimistic concurrency; a bounded event history
that watches resume from (``410 Gone`` once compacted); and the garbage
collector's ownerReference cascade. It knows nothing of HTTP: the server maps
:class:`StoreError` to ``Status`` responses and the controller calls the store
directly. All methods are thread-safe (one re-entrant lock).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial

from airflow_provider_mpi.testing.store.errors import AlreadyExists, BadRequest, NotFound
from airflow_provider_mpi.testing.store.history import EventLog
from airflow_provider_mpi.testing.store.indexes import Indexes, Key
from airflow_provider_mpi.testing.store.logbook import LogBook
from airflow_provider_mpi.testing.store.objects import (
    EventType,
    JSONDict,
    JSONList,
    PropagationPolicy,
    WatchEvent,
    copy_json,
    format_timestamp,
    utc_now,
)
from airflow_provider_mpi.testing.store.queries import (
    compile_field_selector,
    compile_label_selector,
    field_value,
)
from airflow_provider_mpi.testing.store.resources import RESOURCES, ResourceType
from airflow_provider_mpi.testing.store.selectors import FieldSelector, LabelSelector
from airflow_provider_mpi.testing.store.writes import (
    GENERATION_KINDS,
    check_metadata,
    check_preconditions,
    name_required,
    orphaned,
    replaced,
)

__all__ = ["DEFAULT_NAMESPACES", "Store"]

#: Namespaces every fresh store has, as a new cluster does.
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class Store:
    """Objects, resourceVersions, the watch bus and garbage collection.

    Args:
        now: the clock used for timestamps (inject the emulator's clock).
        history: how many events watches can resume from before ``410 Gone``.
        namespaces: namespaces created up front (a fresh cluster has
            :data:`DEFAULT_NAMESPACES`). Namespaced objects can only be created
            in an existing namespace, as on a real cluster.
    """

    def __init__(
        self,
        now: Callable[[], datetime] = utc_now,
        history: int = 10_000,
        *,
        namespaces: tuple[str, ...] = DEFAULT_NAMESPACES,
    ) -> None:
        if history < 1:
            raise ValueError(f"history must be at least 1, got {history!r}")
        self._now = now
        self._lock = threading.RLock()
        self._objects: dict[str, dict[tuple[str, str], JSONDict]] = {p: {} for p in RESOURCES}
        self._indexes = Indexes()
        self._events = EventLog(history)
        self._rng = random.Random()
        self.resource_version = 0
        self.logs = LogBook(now)
        for name in namespaces:
            self.create("namespaces", {"metadata": {"name": name}})

    @property
    def clock(self) -> Callable[[], datetime]:
        """The clock stamping objects and log lines (the server ages tables with it too)."""
        return self._now

    @property
    def lock(self) -> threading.RLock:
        """The store's re-entrant lock: hold it to make several calls one atomic step."""
        return self._lock

    # ----------------------------------------------------------------- helpers

    @staticmethod
    def resource(plural: str) -> ResourceType:
        """Look up a resource type by plural name.

        Args:
            plural: e.g. ``"mpijobs"``.

        Returns:
            Its :class:`ResourceType`.

        Raises:
            NotFound: for a resource the emulator does not serve.
        """
        try:
            return RESOURCES[plural]
        except KeyError:
            raise NotFound(f"the server could not find the requested resource ({plural})") from None

    def _not_found(self, rt: ResourceType, name: str) -> NotFound:
        return NotFound(
            f'{rt.qualified} "{name}" not found', name=name, group=rt.group, kind=rt.plural
        )

    def _ns_key(self, rt: ResourceType, namespace: str | None) -> str:
        if not rt.namespaced:
            return ""
        if not namespace:
            raise BadRequest(f"a namespace is required for {rt.qualified}")
        return namespace

    def _emit(self, kind: EventType, rt: ResourceType, obj: JSONDict) -> None:
        # No copy: a stored object is never changed in place (an update stores a new
        # dict, a delete emits a copy), so the event shares it with the store.
        self._events.append(WatchEvent(kind, rt, obj, self.resource_version))

    def _bump(self) -> str:
        self.resource_version += 1
        return str(self.resource_version)

    # ------------------------------------------------------------------- CRUD

    def create(
        self,
        plural: str,
        obj: JSONDict,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
    ) -> JSONDict:
        """Create an object.

        Fills ``kind``/``apiVersion``, ``uid``, ``resourceVersion``,
        ``creationTimestamp``, ``generation`` and the name from
        ``generateName``. The status is stored as given (the server clears it
        for clients, as the API server does; the controller may set it).

        Args:
            plural: the resource, e.g. ``"pods"``.
            obj: the object; not modified.
            namespace: the namespace (defaults to ``metadata.namespace``).
            dry_run: check only; the result is returned, not stored.

        Returns:
            A copy of the stored object.

        Raises:
            BadRequest: namespace missing or different from the object's.
            NotFound: the namespace does not exist.
            AlreadyExists: the name is taken.
            Invalid: the name is not a valid DNS name.
        """
        rt = self.resource(plural)
        new = copy_json(obj)
        meta = new.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise BadRequest("metadata must be an object")
        if rt.namespaced:
            own = meta.get("namespace")
            if namespace and own and own != namespace:
                raise BadRequest(
                    "the namespace of the provided object does not match the namespace "
                    "sent on the request"
                )
            ns = self._ns_key(rt, namespace or own)
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
            ns = ""
        with self._lock:
            if rt.namespaced and ("", ns) not in self._objects["namespaces"]:
                raise NotFound(f'namespaces "{ns}" not found', name=ns, kind="namespaces")
            if not meta.get("name"):
                prefix = meta.get("generateName")
                if not prefix:
                    raise name_required(rt)
                for _ in range(16):
                    suffix = "".join(self._rng.choice(_GENERATE_ALPHABET) for _ in range(5))
                    candidate = f"{prefix}{suffix}"
                    if (ns, candidate) not in self._objects[plural]:
                        break
                meta["name"] = candidate
            name = meta["name"]
            check_metadata(rt, meta)
            if (ns, name) in self._objects[plural]:
                raise AlreadyExists(
                    f'{rt.qualified} "{name}" already exists',
                    name=name,
                    group=rt.group,
                    kind=rt.plural,
                )
            new["kind"] = rt.kind
            new["apiVersion"] = rt.api_version
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = format_timestamp(self._now())
            meta.pop("deletionTimestamp", None)
            if plural in GENERATION_KINDS:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if dry_run:  # everything checked, nothing stored (``?dryRun=All``)
                return copy_json(new)
            meta["resourceVersion"] = self._bump()
            self._objects[plural][(ns, name)] = new
            self._indexes.update((plural, ns, name), new, None)
            self._emit(EventType.ADDED, rt, new)
            return copy_json(new)

    def get(self, plural: str, namespace: str | None, name: str) -> JSONDict:
        """Read one object.

        Args:
            plural: the resource.
            namespace: its namespace (ignored for cluster-scoped resources).
            name: its name.

        Returns:
            A deep copy.

        Raises:
            NotFound: no such object.
        """
        rt = self.resource(plural)
        ns = (namespace or "") if rt.namespaced else ""
        with self._lock:
            stored = self._objects[plural].get((ns, name))
            if stored is None:
                raise self._not_found(rt, name)
            return copy_json(stored)

    def list(
        self,
        plural: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[JSONList, int]:
        """List objects, sorted by namespace and name as etcd returns them.

        Args:
            plural: the resource.
            namespace: one namespace, or None for all.
            label_selector: e.g. ``"app=x,!legacy"``.
            field_selector: e.g. ``"metadata.name=x"``.

        Returns:
            Deep copies of the matching objects and the list's resourceVersion.

        Raises:
            BadRequest: a selector that does not parse or is not supported.
        """
        labels = compile_label_selector(label_selector)
        fields = compile_field_selector(self.resource(plural), field_selector)
        with self._lock:
            items = [copy_json(obj) for obj in self._select(plural, namespace, labels, fields)]
            return items, self.resource_version

    def _select(
        self,
        plural: str,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> Iterator[JSONDict]:
        rt = self.resource(plural)
        bucket = self._objects[plural]
        keys = self._indexes.candidates(plural, labels)
        pinned = fields.equals("metadata.name")
        if pinned is not None and namespace is not None and rt.namespaced:
            wanted = (namespace, pinned)
            keys = {wanted} if keys is None or wanted in keys else set()
        ordered = sorted(bucket) if keys is None else sorted(k for k in keys if k in bucket)
        for key in ordered:
            if namespace and rt.namespaced and key[0] != namespace:
                continue
            obj = bucket.get(key)
            if obj is None or not labels.matches_object(obj):
                continue
            if fields.requirements and not fields.matches(partial(field_value, obj)):
                continue
            yield obj

    def update(
        self,
        plural: str,
        obj: JSONDict,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> JSONDict:
        """Replace an object (PUT), or only its status with ``subresource="status"``.

        For kinds with a status subresource a main update keeps the stored
        status; a status update changes only the status. ``generation`` bumps
        when the spec changes. An update that changes nothing keeps the
        resourceVersion and emits no event, as the API server does.

        Args:
            plural: the resource.
            obj: the new object; its metadata names it.
            subresource: None or ``"status"``.
            dry_run: check only; the result is returned, not stored.

        Returns:
            A copy of the stored object.

        Raises:
            NotFound: no such object.
            Conflict: ``metadata.resourceVersion`` (or ``uid``) is set and stale.
            BadRequest: an unknown subresource.
        """
        rt = self.resource(plural)
        if subresource is not None and (
            subresource != "status" or subresource not in rt.subresources
        ):
            raise BadRequest(f"{rt.qualified} has no updatable subresource {subresource!r}")
        meta_in = obj.get("metadata") or {}
        name = meta_in.get("name")
        if not name:
            raise BadRequest("metadata.name is required for an update")
        ns = self._ns_key(rt, meta_in.get("namespace")) if rt.namespaced else ""
        with self._lock:
            stored = self._objects[plural].get((ns, name))
            if stored is None:
                raise self._not_found(rt, name)
            check_preconditions(rt, stored, meta_in)
            new = replaced(rt, stored, obj, subresource)
            if new == stored:
                return copy_json(stored)
            if subresource is None:
                check_metadata(rt, new["metadata"])
            if dry_run:
                return copy_json(new)
            new["metadata"]["resourceVersion"] = self._bump()
            self._objects[plural][(ns, name)] = new
            self._indexes.update((plural, ns, name), new, stored)
            self._emit(EventType.MODIFIED, rt, new)
            return copy_json(new)

    def delete(
        self,
        plural: str,
        namespace: str | None,
        name: str,
        *,
        propagation_policy: str = "Background",
        dry_run: bool = False,
    ) -> JSONDict:
        """Delete an object and, by ownerReference, its dependents.

        ``Background`` and ``Foreground`` delete dependents (recursively;
        Foreground deletes them before the owner, Background after),
        ``Orphan`` strips their ownerReferences to the owner. Deleting a
        namespace deletes everything in it. Finalizers are not modelled.

        Args:
            plural: the resource.
            namespace: the object's namespace.
            name: its name.
            propagation_policy: ``Background``, ``Foreground`` or ``Orphan``.
            dry_run: check only; nothing is deleted.

        Returns:
            The deleted object as it was last stored (its final resourceVersion).

        Raises:
            NotFound: no such object.
            BadRequest: an unknown propagation policy.
        """
        try:
            policy = PropagationPolicy(propagation_policy)
        except ValueError:
            raise BadRequest(
                f"propagationPolicy: Unsupported value: {propagation_policy!r}: supported "
                'values: "Foreground", "Background", "Orphan"'
            ) from None
        rt = self.resource(plural)
        ns = self._ns_key(rt, namespace) if rt.namespaced else ""
        with self._lock:
            stored = self._objects[plural].get((ns, name))
            if stored is None:
                raise self._not_found(rt, name)
            if dry_run:
                return copy_json(stored)
            return self._delete_locked(rt, ns, name, policy)

    def _delete_locked(
        self, rt: ResourceType, ns: str, name: str, policy: PropagationPolicy
    ) -> JSONDict:
        stored = self._objects[rt.plural][(ns, name)]
        uid = stored["metadata"]["uid"]
        dependents = self._indexes.dependents(uid)
        if policy is PropagationPolicy.ORPHAN:
            for plural, dns, dname in dependents:
                child = orphaned(self._objects[plural][(dns, dname)], uid)
                self.update(plural, child)
        elif policy is PropagationPolicy.FOREGROUND:
            self._delete_children(dependents, policy)
        if rt.plural == "namespaces":
            for plural, bucket in self._objects.items():
                if RESOURCES[plural].namespaced:
                    for dns, dname in sorted(k for k in bucket if k[0] == name):
                        if (dns, dname) in bucket:
                            self._delete_locked(RESOURCES[plural], dns, dname, policy)
        del self._objects[rt.plural][(ns, name)]
        if rt.plural == "pods":
            self.logs.forget(ns, name)
        self._indexes.update((rt.plural, ns, name), None, stored)
        stored = copy_json(stored)  # earlier events share the stored dict: never change it
        stored["metadata"]["resourceVersion"] = self._bump()
        self._emit(EventType.DELETED, rt, stored)
        if policy is PropagationPolicy.BACKGROUND:
            self._delete_children(dependents, policy)
        return copy_json(stored)

    def _delete_children(self, dependents: Sequence[Key], policy: PropagationPolicy) -> None:
        for plural, dns, dname in dependents:
            if (dns, dname) in self._objects[plural]:
                self._delete_locked(RESOURCES[plural], dns, dname, policy)

    # ------------------------------------------------------------------ watch

    def subscribe(
        self, callback: Callable[[WatchEvent], None], *, since: int | None = None
    ) -> Callable[[], None]:
        """Receive every change, after replaying those since a resourceVersion.

        Callbacks run synchronously under the store lock in resourceVersion
        order, so they must only enqueue (never call back into a blocking
        wait on another thread holding work for the store).

        Args:
            callback: called with each :class:`WatchEvent`.
            since: replay events with a greater resourceVersion first; None
                replays nothing.

        Returns:
            A function that unsubscribes (idempotent).

        Raises:
            Gone: ``since`` is older than the retained history.
        """
        with self._lock:
            token = self._events.subscribe(callback, since)

        def unsubscribe() -> None:
            with self._lock:
                self._events.unsubscribe(token)

        return unsubscribe

    @property
    def oldest_resource_version(self) -> int:
        """The oldest resourceVersion a watch can still resume from."""
        with self._lock:
            return self._events.compacted

    def compact(self) -> None:
        """Forget the whole event history, as etcd compaction does (tests of ``410 Gone``)."""
        with self._lock:
            self._events.compact(self.resource_version)
