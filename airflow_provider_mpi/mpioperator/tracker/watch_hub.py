"""One watch stream per cluster and namespace, serving every waiter of an event loop.

A triggerer runs hundreds of deferred MPIJob tasks on one event loop. A watch
per task would cost the API server a connection each, and a polling loop a
request per task per interval. :class:`JobWatchHub` keeps ONE list+watch of
the MPIJobs of a namespace per (cluster, namespace) per event loop, keeps
the objects it saw, and hands each waiter the changes it asked for:

- a waiter subscribes with job names or an array label and receives a
  :class:`~.watch_cursor.Snapshot` first, then :class:`~.watch_cursor.JobChange`
  records through its own queue;
- the stream resumes from the last resourceVersion (bookmarks included) when
  it is dropped; after ``410 Gone`` it lists again and sends every waiter a
  fresh snapshot, so nothing is missed;
- a permanent failure is handed to every waiter;
- the stream stops when the last waiter leaves, and it always runs on the
  API client of a waiter still waiting (waiters' clients are closed by their
  owners once they are done, so the stream moves before that happens).

Requests therefore do not grow with the length of a wait: one list and one
open stream for the hub, plus at most one read per waiter whose job the hub
has not seen yet. The stream itself (list, resume, relist, failure, moving
between clients) is :class:`~.shared_watch.SharedWatch`.

A waiter's state is kept small, since a triggerer may hold thousands: the
hub keeps of each MPIJob only what a wait and its JobInfo read
(:func:`~.status.mpijob_for_wait`: no job-template annotation, no pod
templates) with its keys and short strings shared between objects
(:func:`~.hub_gc.compact`), a subscription has slots, shares the hub's
objects (no copies), the index of waiters has one entry per waited job (a
list only when several wait on one), and a subscription's queue is a plain
deque with one future while its waiter sleeps.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error
from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.descriptor import Request
from airflow_provider_mpi.mpioperator.client.transport import AsyncTransport as AsyncMPIJobApi
from airflow_provider_mpi.mpioperator.status import mpijob_for_wait
from airflow_provider_mpi.mpioperator.tracker.hub_gc import compact
from airflow_provider_mpi.mpioperator.tracker.shared_watch import (
    SharedWatch,
    cluster_key,
    list_objects,
)
from airflow_provider_mpi.mpioperator.tracker.waiting import MAX_WATCH_SECONDS
from airflow_provider_mpi.mpioperator.tracker.watch_cursor import JobChange, Snapshot

__all__ = ["JobWatchHub", "Subscription", "cluster_key"]


def _kept(snapshot: Snapshot) -> Snapshot:
    """A snapshot of the parts of the MPIJobs a wait reads (:func:`~.status.mpijob_for_wait`)."""
    objects = {name: compact(mpijob_for_wait(obj)) for name, obj in snapshot.objects.items()}
    return Snapshot(objects, snapshot.resource_version)


class Subscription:
    """One waiter's feed: a snapshot first, then the changes it asked for.

    Args:
        api: the waiter's API layer (the stream may run on it).
        names: the job names wanted, or None.
        label: ``(key, value)`` of a label every wanted job carries, or None.
        hub: the hub (entering the subscription joins it, leaving it leaves).
    """

    __slots__ = ("_hub", "_items", "_names", "_waiter", "api", "initial", "label", "ready")

    def __init__(
        self,
        api: AsyncMPIJobApi,
        names: frozenset[str] | None,
        label: tuple[str, str] | None,
        hub: JobWatchHub,
    ) -> None:
        self._hub = hub
        self.api = api
        # one name (the common case, thousands at once) is kept as the string:
        # a one-element frozenset costs 216 bytes
        self._names: str | frozenset[str] | None = (
            next(iter(names)) if names is not None and len(names) == 1 else names
        )
        self.label = label
        self.initial: Snapshot | None = None
        self.ready = False  # entered: its first snapshot is in
        self._items: collections.deque[Snapshot | JobChange | DRMAA2Error] | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def names(self) -> frozenset[str] | None:
        """The job names wanted, or None."""
        names = self._names
        return frozenset((names,)) if isinstance(names, str) else names

    async def __aenter__(self) -> Subscription:
        await self._hub._enter(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._hub._exit(self)

    def matches(self, name: str, obj: Mapping[str, Any]) -> bool:
        """Whether a change to this object concerns the waiter."""
        if self.names is not None and name in self.names:
            return True
        if self.label is not None:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            return bool(labels.get(self.label[0]) == self.label[1])
        return False

    def select(self, objects: Mapping[str, dict[str, Any]], version: str) -> Snapshot:
        """The part of a namespace's objects the waiter wants, as a snapshot.

        A waiter of named jobs costs a lookup per name, not a pass over the
        namespace: after ``410 Gone`` every waiter gets a snapshot at once.
        """
        if self.label is None:
            names = self.names or ()
            return Snapshot({name: objects[name] for name in names if name in objects}, version)
        return Snapshot(
            {name: obj for name, obj in objects.items() if self.matches(name, obj)}, version
        )

    def put(self, item: Snapshot | JobChange | DRMAA2Error) -> None:
        """Queue a snapshot, a change, or the error that ended the stream."""
        if self._items is None:
            self._items = collections.deque()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Snapshot | JobChange:
        """The next item: the initial snapshot, then queued ones in order.

        Raises:
            DRMAA2Error: the stream failed for good.
        """
        if self.initial is not None:
            first, self.initial = self.initial, None
            return first
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if isinstance(item, DRMAA2Error):
            raise item
        return item


class JobWatchHub(SharedWatch[Subscription]):
    """The shared list+watch of the MPIJobs of one namespace (see the module doc).

    Get it with :meth:`for_api`; subscribe with :meth:`subscribe`.
    """

    kind = "MPIJobs"

    def _reset(self) -> None:
        # index for fan-out: the one waiter of a job, or a list when several wait on it
        self._by_name: dict[str, Subscription | list[Subscription]] = {}
        self._labelled: list[Subscription] = []  # label subscriptions (arrays), few
        self._objects: dict[str, dict[str, Any]] = {}
        self._ready = 0

    @property
    def ready(self) -> int:
        """The subscriptions that have their first snapshot (the others are joining)."""
        return self._ready

    def subscribe(
        self,
        api: AsyncMPIJobApi,
        *,
        names: frozenset[str] | None = None,
        label: tuple[str, str] | None = None,
    ) -> Subscription:
        """Follow some MPIJobs of the namespace for the duration of an ``async with`` block.

        Args:
            api: the waiter's API layer (its client must stay open meanwhile).
            names: job names to follow.
            label: ``(key, value)``: follow every job with this label (arrays).

        Returns:
            The subscription, an async context manager (a class, not a
            generator: thousands are alive at once); entered, its first item
            is a snapshot of the wanted jobs.
        """
        return Subscription(api, names, label, self)

    async def _enter(self, subscription: Subscription) -> None:
        for name in subscription.names or ():
            present = self._by_name.setdefault(name, subscription)
            if isinstance(present, list):
                present.append(subscription)
            elif present is not subscription:
                self._by_name[name] = [present, subscription]
        if subscription.label is not None:
            self._labelled.append(subscription)
        self._join(subscription)
        try:
            subscription.initial = await self._initial(subscription)
        except BaseException:
            await self._exit(subscription)
            raise
        self._ready += 1
        subscription.ready = True

    async def _exit(self, subscription: Subscription) -> None:
        if subscription.ready:
            self._ready -= 1
            subscription.ready = False
        # Out of the index first: the last one to leave finds the hub empty
        # (_reset), and no change is fanned out to a waiter that has left.
        for name in subscription.names or ():
            waiting = self._by_name[name]
            if not isinstance(waiting, list):
                del self._by_name[name]
                continue
            waiting.remove(subscription)
            if len(waiting) == 1:
                self._by_name[name] = waiting[0]
        if subscription.label is not None:
            self._labelled.remove(subscription)
        await self._leave(subscription)

    async def _initial(self, subscription: Subscription) -> Snapshot:
        # The hub's own first list is not sent to waiters, so a waiter's snapshot must
        # not be older than it: changes in between would reach nobody. Hence wait for
        # the hub's list before reading our own; later changes then arrive as events.
        await self._wait_synced()
        if subscription.names is not None:
            version = self._cursor.resource_version or ""
            if all(name in self._objects for name in subscription.names):
                return subscription.select(self._objects, version)
            if len(subscription.names) == 1:  # not seen yet (created just now?): read it
                (name,) = subscription.names
                request = rq.list_mpi_jobs(self.namespace, field_selector=f"metadata.name={name}")
                items, version = await list_objects(subscription.api, request)
                return _kept(Snapshot.of(items, version))
        selector = (
            f"{subscription.label[0]}={subscription.label[1]}" if subscription.label else None
        )
        request = rq.list_mpi_jobs(self.namespace, label_selector=selector)
        items, version = await list_objects(subscription.api, request)
        snapshot = _kept(Snapshot.of(items, version))
        return subscription.select(snapshot.objects, version)

    # The stream's side (see SharedWatch)

    def _list_request(self) -> Request:
        return rq.list_mpi_jobs(self.namespace)

    def _watch_request(self, resource_version: str) -> Request:
        return rq.watch_mpi_jobs(
            self.namespace, resource_version=resource_version, timeout_seconds=MAX_WATCH_SECONDS
        )

    def _listed(self, items: list[dict[str, Any]], version: str, relist: bool) -> None:
        self._objects = _kept(Snapshot.of(items, version)).objects
        if relist:
            for subscription in list(self._subscriptions):
                subscription.put(subscription.select(self._objects, version))

    def _changed(self, change: JobChange | None) -> None:
        if change is None:
            return
        change = JobChange(change.type, change.name, compact(mpijob_for_wait(change.object)))
        if change.deleted:
            self._objects.pop(change.name, None)
        else:
            self._objects[change.name] = change.object
        # Indexed: an event costs the waiters of its job and the label
        # subscriptions, not a pass over every waiter.
        found = self._by_name.get(change.name)
        targets: Sequence[Subscription] = (
            () if found is None else found if isinstance(found, list) else (found,)
        )
        for subscription in targets:
            subscription.put(change)
        for subscription in self._labelled:
            if subscription not in targets and subscription.matches(change.name, change.object):
                subscription.put(change)

    def _failed(self, error: DRMAA2Error) -> None:
        for subscription in list(self._subscriptions):
            subscription.put(error)
