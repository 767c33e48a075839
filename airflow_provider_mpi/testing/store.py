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

import bisect
import itertools
import json
import marshal
import random
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from functools import partial
from typing import Any, TypeVar, cast

from airflow_provider_mpi.testing.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Gone,
    Invalid,
    NotFound,
    StoreError,
)
from airflow_provider_mpi.testing.logbook import LogBook
from airflow_provider_mpi.testing.metadata import metadata_causes
from airflow_provider_mpi.testing.resources import RESOURCES, ResourceType
from airflow_provider_mpi.testing.selectors import (
    FieldSelector,
    LabelSelector,
    Operator,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

__all__ = [
    "DEFAULT_NAMESPACES",
    "RESOURCES",
    "AlreadyExists",
    "BadRequest",
    "Conflict",
    "EventType",
    "Gone",
    "Invalid",
    "LogBook",
    "NotFound",
    "PropagationPolicy",
    "ResourceType",
    "Store",
    "StoreError",
    "WatchEvent",
    "copy_json",
    "field_value",
    "format_timestamp",
]

#: Namespaces every fresh store has, as a new cluster does.
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

JSONDict = dict[str, Any]
JSONList = list[JSONDict]
_T = TypeVar("_T")


#: Kinds whose ``metadata.generation`` counts spec changes.
_GENERATION_KINDS = frozenset({"mpijobs", "jobs", "customresourcedefinitions", "pods"})

#: Extra fields each resource accepts in a field selector (all accept metadata.name/namespace).
_SELECTABLE_FIELDS: dict[str, frozenset[str]] = {
    "pods": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    "events": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "secrets": frozenset({"type"}),
    "jobs": frozenset({"status.successful"}),
    "namespaces": frozenset({"status.phase"}),
}

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


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


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


#: Field selector names that stand for another path (an event's ``source`` is its component).
_FIELD_PATHS = {"source": "source.component"}


def field_value(obj: JSONDict, path: str) -> str | None:
    """The string value of a selectable field, as field selectors compare it.

    Args:
        obj: the object.
        path: a dotted path such as ``status.phase``.

    Returns:
        The value (booleans as ``true``/``false``), or None when absent or not a scalar.
    """
    current: Any = obj
    for part in _FIELD_PATHS.get(path, path).split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    if isinstance(current, bool):
        return "true" if current else "false"
    if current is None or isinstance(current, (dict, list)):
        return None
    return str(current)


_Key = tuple[str, str, str]  # plural, namespace ("" when cluster-scoped), name


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
        now: Callable[[], datetime] = _utc_now,
        history: int = 10_000,
        *,
        namespaces: tuple[str, ...] = DEFAULT_NAMESPACES,
    ) -> None:
        if history < 1:
            raise ValueError(f"history must be at least 1, got {history!r}")
        self._now = now
        self._lock = threading.RLock()
        self._objects: dict[str, dict[tuple[str, str], JSONDict]] = {p: {} for p in RESOURCES}
        self._dependents: dict[str, set[_Key]] = {}
        self._label_index: dict[tuple[str, str, str], set[tuple[str, str]]] = {}
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._compacted = 0  # events with resourceVersion <= this are gone
        self._subscribers: dict[int, Callable[[WatchEvent], None]] = {}
        self._next_subscriber = 0
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
        event = WatchEvent(kind, rt, obj, self.resource_version)
        if len(self._history) == self._history.maxlen:
            self._compacted = self._history[0].resource_version
        self._history.append(event)
        for callback in list(self._subscribers.values()):
            callback(event)

    def _bump(self) -> str:
        self.resource_version += 1
        return str(self.resource_version)

    def _index_owners(self, key: _Key, obj: JSONDict | None, old: JSONDict | None) -> None:
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

    @staticmethod
    def _validate_metadata(rt: ResourceType, meta: JSONDict) -> None:
        causes = metadata_causes(rt.plural, meta)
        if not causes:
            return
        name = meta.get("name")
        details = [f"{c['field']}: {c['message']}" for c in causes]
        joined = details[0] if len(details) == 1 else "[" + ", ".join(details) + "]"
        raise Invalid(
            f'{rt.kind}{"." + rt.group if rt.group else ""} "{name}" is invalid: {joined}',
            causes=causes,
            name=str(name),
            group=rt.group,
            kind=rt.kind,
        )

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
                    raise Invalid(
                        f"{rt.kind} is invalid: metadata.name: Required value: "
                        "name or generateName is required",
                        causes=[
                            {
                                "reason": "FieldValueRequired",
                                "message": "Required value: name or generateName is required",
                                "field": "metadata.name",
                            }
                        ],
                        group=rt.group,
                        kind=rt.kind,
                    )
                for _ in range(16):
                    suffix = "".join(self._rng.choice(_GENERATE_ALPHABET) for _ in range(5))
                    candidate = f"{prefix}{suffix}"
                    if (ns, candidate) not in self._objects[plural]:
                        break
                meta["name"] = candidate
            name = meta["name"]
            self._validate_metadata(rt, meta)
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
            if plural in _GENERATION_KINDS:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if dry_run:  # everything checked, nothing stored (``?dryRun=All``)
                return copy_json(new)
            meta["resourceVersion"] = self._bump()
            self._objects[plural][(ns, name)] = new
            self._index_owners((plural, ns, name), new, None)
            self._index_labels((plural, ns, name), new, None)
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

    def compile_field_selector(self, plural: str, text: str | None) -> FieldSelector:
        """Parse a field selector and check its fields are selectable for the resource.

        Args:
            plural: the resource.
            text: the selector text.

        Returns:
            The compiled selector.

        Raises:
            BadRequest: unparseable, or a field the resource does not support.
        """
        rt = self.resource(plural)
        try:
            selector = parse_field_selector(text)
        except SelectorError as exc:
            raise BadRequest(str(exc)) from exc
        allowed = _SELECTABLE_FIELDS.get(plural, frozenset()) | {
            "metadata.name",
            "metadata.namespace",
        }
        for key in selector.keys - allowed:
            raise BadRequest(
                f"field label not supported: {key}",
                kind=rt.plural,
            )
        return selector

    @staticmethod
    def compile_label_selector(text: str | None) -> LabelSelector:
        """Parse a label selector.

        Args:
            text: the selector text.

        Returns:
            The compiled selector.

        Raises:
            BadRequest: when it does not parse.
        """
        try:
            return parse_label_selector(text)
        except SelectorError as exc:
            raise BadRequest(str(exc)) from exc

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
        labels = self.compile_label_selector(label_selector)
        fields = self.compile_field_selector(plural, field_selector)
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
        keys = self._candidates(plural, labels)
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

    def _candidates(self, plural: str, labels: LabelSelector) -> set[tuple[str, str]] | None:
        """Keys that can match the selector's equality requirements (None: no such requirement)."""
        found: set[tuple[str, str]] | None = None
        for req in labels.requirements:
            if req.operator not in (Operator.EQUALS, Operator.IN):
                continue
            keys: set[tuple[str, str]] = set()
            for value in req.values:
                keys |= self._label_index.get((plural, req.key, value), set())
            found = keys if found is None else found & keys
        return found

    def _index_labels(self, key: _Key, obj: JSONDict | None, old: JSONDict | None) -> None:
        plural, ns, name = key
        before = (old or {}).get("metadata", {}).get("labels") or {}
        after = (obj or {}).get("metadata", {}).get("labels") or {}
        if before == after:
            return
        for label, value in before.items():
            if after.get(label) != value:
                entry = self._label_index.get((plural, label, value))
                if entry is not None:
                    entry.discard((ns, name))
                    if not entry:
                        del self._label_index[(plural, label, value)]
        for label, value in after.items():
            if before.get(label) != value:
                self._label_index.setdefault((plural, label, str(value)), set()).add((ns, name))

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
            old_meta = stored["metadata"]
            wanted_rv = meta_in.get("resourceVersion")
            wanted_uid = meta_in.get("uid")
            if (wanted_rv and str(wanted_rv) != old_meta["resourceVersion"]) or (
                wanted_uid and wanted_uid != old_meta["uid"]
            ):
                raise Conflict(
                    f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has '
                    "been modified; please apply your changes to the latest version and try again",
                    name=name,
                    group=rt.group,
                    kind=rt.plural,
                )
            if subresource == "status":
                new = copy_json(stored)
                if "status" in obj:
                    new["status"] = copy_json(obj["status"])
                else:
                    new.pop("status", None)
            else:
                new = copy_json(obj)
                new["kind"] = rt.kind
                new["apiVersion"] = rt.api_version
                if "status" in rt.subresources:
                    if "status" in stored:
                        new["status"] = copy_json(stored["status"])
                    else:
                        new.pop("status", None)
                meta = new.setdefault("metadata", {})
                for fixed in ("uid", "creationTimestamp", "namespace", "name", "generation"):
                    if fixed in old_meta:
                        meta[fixed] = old_meta[fixed]
                    else:
                        meta.pop(fixed, None)
                if plural in _GENERATION_KINDS and new.get("spec") != stored.get("spec"):
                    meta["generation"] = int(old_meta.get("generation", 0)) + 1
            new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
            if new == stored:
                return copy_json(stored)
            if subresource is None:
                self._validate_metadata(rt, new["metadata"])
            if dry_run:
                return copy_json(new)
            new["metadata"]["resourceVersion"] = self._bump()
            self._objects[plural][(ns, name)] = new
            self._index_owners((plural, ns, name), new, stored)
            self._index_labels((plural, ns, name), new, stored)
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
        dependents = sorted(self._dependents.get(uid, ()))
        if policy is PropagationPolicy.ORPHAN:
            for plural, dns, dname in dependents:
                child = copy_json(self._objects[plural][(dns, dname)])
                child["metadata"]["ownerReferences"] = [
                    r for r in child["metadata"].get("ownerReferences", []) if r.get("uid") != uid
                ]
                if not child["metadata"]["ownerReferences"]:
                    del child["metadata"]["ownerReferences"]
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
        self._index_owners((rt.plural, ns, name), None, stored)
        self._index_labels((rt.plural, ns, name), None, stored)
        stored = copy_json(stored)  # earlier events share the stored dict: never change it
        stored["metadata"]["resourceVersion"] = self._bump()
        self._emit(EventType.DELETED, rt, stored)
        if policy is PropagationPolicy.BACKGROUND:
            self._delete_children(dependents, policy)
        return copy_json(stored)

    def _delete_children(self, dependents: Sequence[_Key], policy: PropagationPolicy) -> None:
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
            if since is not None:
                if since < self._compacted:
                    raise Gone(f"too old resource version: {since} ({self._compacted + 1})")
                first = bisect.bisect_right(
                    self._history, since, key=lambda event: event.resource_version
                )
                for event in itertools.islice(self._history, first, None):
                    callback(event)
            token = self._next_subscriber
            self._next_subscriber += 1
            self._subscribers[token] = callback

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers.pop(token, None)

        return unsubscribe

    @property
    def oldest_resource_version(self) -> int:
        """The oldest resourceVersion a watch can still resume from."""
        with self._lock:
            return self._compacted

    def compact(self) -> None:
        """Forget the whole event history, as etcd compaction does (tests of ``410 Gone``)."""
        with self._lock:
            self._history.clear()
            self._compacted = self.resource_version
