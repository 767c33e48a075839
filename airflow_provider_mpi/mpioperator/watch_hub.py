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
has not seen yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, TransientBackendError
from airflow_provider_mpi.mpioperator.aio import AsyncMPIJobApi
from airflow_provider_mpi.mpioperator.retry import RetryPolicy, RetryState
from airflow_provider_mpi.mpioperator.translate import translate_error
from airflow_provider_mpi.mpioperator.waiting import MAX_WATCH_SECONDS
from airflow_provider_mpi.mpioperator.watch_cursor import (
    JobChange,
    Snapshot,
    WatchCursor,
    WatchRecovery,
)

__all__ = ["JobWatchHub", "Subscription", "cluster_key"]

log = logging.getLogger(__name__)

_HUBS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], JobWatchHub]]
_HUBS = weakref.WeakKeyDictionary()


def cluster_key(api: AsyncMPIJobApi) -> tuple[Any, ...]:
    """Identify the cluster and credentials an API client talks to.

    Two clients with the same key may share a stream: same server, same user.

    Args:
        api: the async API layer.

    Returns:
        A hashable key.
    """
    config = api.api_client.configuration
    api_key = getattr(config, "api_key", None) or {}
    return (
        getattr(config, "host", None),
        getattr(config, "username", None),
        tuple(sorted((str(k), str(v)) for k, v in api_key.items())),
        getattr(config, "cert_file", None),
    )


class Subscription:
    """One waiter's feed: a snapshot first, then the changes it asked for.

    Args:
        api: the waiter's API layer (the stream may run on it).
        names: the job names wanted, or None.
        label: ``(key, value)`` of a label every wanted job carries, or None.
    """

    def __init__(
        self,
        api: AsyncMPIJobApi,
        names: frozenset[str] | None = None,
        label: tuple[str, str] | None = None,
    ) -> None:
        self.api = api
        self.names = names
        self.label = label
        self.initial: Snapshot | None = None
        self._queue: asyncio.Queue[Snapshot | JobChange | DRMAA2Error] = asyncio.Queue()

    def matches(self, name: str, obj: Mapping[str, Any]) -> bool:
        """Whether a change to this object concerns the waiter."""
        if self.names is not None and name in self.names:
            return True
        if self.label is not None:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            return bool(labels.get(self.label[0]) == self.label[1])
        return False

    def select(self, objects: Mapping[str, dict[str, Any]], version: str) -> Snapshot:
        """The part of a namespace's objects the waiter wants, as a snapshot."""
        return Snapshot(
            {name: obj for name, obj in objects.items() if self.matches(name, obj)}, version
        )

    def put(self, item: Snapshot | JobChange | DRMAA2Error) -> None:
        """Queue a snapshot, a change, or the error that ended the stream."""
        self._queue.put_nowait(item)

    async def get(self) -> Snapshot | JobChange:
        """The next item: the initial snapshot, then queued ones in order.

        Raises:
            DRMAA2Error: the stream failed for good.
        """
        if self.initial is not None:
            first, self.initial = self.initial, None
            return first
        item = await self._queue.get()
        if isinstance(item, DRMAA2Error):
            raise item
        return item


class JobWatchHub:
    """The shared list+watch of the MPIJobs of one namespace (see the module doc).

    Get it with :meth:`for_api`; subscribe with :meth:`subscribe`.

    Args:
        namespace: the namespace watched.
        retry: bounds consecutive stream failures.
    """

    def __init__(self, namespace: str, retry: RetryPolicy) -> None:
        self.namespace = namespace
        self.retry = retry
        self._subscriptions: list[Subscription] = []
        self._by_name: dict[str, list[Subscription]] = {}  # index for fan-out
        self._labelled: list[Subscription] = []  # label subscriptions (arrays), few
        self._objects: dict[str, dict[str, Any]] = {}
        self._cursor = WatchCursor()
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stream_api: AsyncMPIJobApi | None = None
        self._failure: DRMAA2Error | None = None

    @classmethod
    def for_api(cls, api: AsyncMPIJobApi, namespace: str) -> JobWatchHub:
        """The hub of the running event loop for this cluster and namespace.

        Args:
            api: a waiter's API layer (identifies the cluster).
            namespace: the namespace.

        Returns:
            The shared hub (created on first use).
        """
        loop = asyncio.get_running_loop()
        hubs = _HUBS.setdefault(loop, {})
        key = (*cluster_key(api), namespace)
        hub = hubs.get(key)
        if hub is None:
            hub = hubs[key] = cls(namespace, api.retry)
        return hub

    @property
    def waiters(self) -> int:
        """The number of subscriptions."""
        return len(self._subscriptions)

    @property
    def running(self) -> bool:
        """Whether the stream task runs."""
        return self._task is not None and not self._task.done()

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        api: AsyncMPIJobApi,
        *,
        names: frozenset[str] | None = None,
        label: tuple[str, str] | None = None,
    ) -> AsyncIterator[Subscription]:
        """Follow some MPIJobs of the namespace for the duration of the block.

        Args:
            api: the waiter's API layer (its client must stay open meanwhile).
            names: job names to follow.
            label: ``(key, value)``: follow every job with this label (arrays).

        Yields:
            The subscription; its first item is a snapshot of the wanted jobs.
        """
        subscription = Subscription(api, names, label)
        self._subscriptions.append(subscription)
        for name in names or ():
            self._by_name.setdefault(name, []).append(subscription)
        if label is not None:
            self._labelled.append(subscription)
        try:
            self._start()
            subscription.initial = await self._initial(subscription)
            yield subscription
        finally:
            self._subscriptions.remove(subscription)
            for name in names or ():
                waiting = self._by_name[name]
                waiting.remove(subscription)
                if not waiting:
                    del self._by_name[name]
            if label is not None:
                self._labelled.remove(subscription)
            await self._after_leaving(subscription)

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
                items, version = await subscription.api.list_mpi_jobs(
                    self.namespace, field_selector=f"metadata.name={name}"
                )
                return Snapshot.of(items, version)
        selector = (
            f"{subscription.label[0]}={subscription.label[1]}" if subscription.label else None
        )
        items, version = await subscription.api.list_mpi_jobs(
            self.namespace, label_selector=selector
        )
        snapshot = Snapshot.of(items, version)
        return subscription.select(snapshot.objects, version)

    async def _wait_synced(self) -> None:
        while not self._synced.is_set():
            self._start()
            task = self._task
            assert task is not None
            synced = asyncio.ensure_future(self._synced.wait())
            try:
                await asyncio.wait({synced, task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                synced.cancel()
            if self._synced.is_set():
                return
            if task is self._task and task.done() and self._failure is not None:
                raise self._failure
            # otherwise the stream moved to another client meanwhile: wait for that one

    def _start(self) -> None:
        if not self.running and self._subscriptions:
            self._failure = None
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"MPIJob watch hub {self.namespace}"
            )

    async def _after_leaving(self, subscription: Subscription) -> None:
        if not self._subscriptions:
            await self._stop()
        elif self._stream_api is not None and subscription.api.api_client is (
            self._stream_api.api_client
        ):
            if any(s.api.api_client is subscription.api.api_client for s in self._subscriptions):
                return  # another waiter still uses (and keeps open) the same client
            # The leaving waiter's client may be closed now: move the stream.
            await self._stop()
            self._start()

    async def _stop(self) -> None:
        task, self._task = self._task, None
        self._stream_api = None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not self._subscriptions:
            self._objects = {}
            self._cursor = WatchCursor()
            self._synced.clear()

    def _broadcast(self, item: JobChange | DRMAA2Error) -> None:
        if isinstance(item, DRMAA2Error):
            for subscription in list(self._subscriptions):
                subscription.put(item)
            return
        # Indexed: an event costs the waiters of its job and the label
        # subscriptions, not a pass over every waiter (200 waiters, a burst of
        # 1,000 events).
        targets = list(self._by_name.get(item.name, ()))
        targets += [
            s for s in self._labelled if s not in targets and s.matches(item.name, item.object)
        ]
        for subscription in targets:
            subscription.put(item)

    async def _run(self) -> None:
        failures = self.retry.start(time.monotonic())
        while self._subscriptions:
            api = self._subscriptions[-1].api
            self._stream_api = api
            try:
                await self._list_and_watch(api, failures)
            except Exception as exc:
                error = translate_error(exc)
                recovery = self._cursor.recover(error)
                delay = None
                if recovery is WatchRecovery.RELIST:  # never gives up: the list is the cure
                    log.info("watch of MPIJobs in %s expired (410); listing again", self.namespace)
                    delay = failures.after_expiry()
                elif recovery is not WatchRecovery.RAISE:
                    delay = failures.next_delay(error, time.monotonic())
                if delay is None:
                    log.warning("watch of MPIJobs in %s failed: %s", self.namespace, error)
                    self._failure = error
                    self._synced.clear()
                    self._cursor = WatchCursor()
                    self._broadcast(error)
                    return
                log.info("watch of MPIJobs in %s broke (%s); resuming", self.namespace, error)
                await asyncio.sleep(delay)

    async def _list_and_watch(self, api: AsyncMPIJobApi, failures: RetryState) -> None:
        if self._cursor.needs_list:
            relist = self._synced.is_set()
            items, version = await api.list_mpi_jobs(self.namespace)
            self._cursor.listed(version)
            self._objects = Snapshot.of(items, version).objects
            self._synced.set()
            if relist:
                for subscription in list(self._subscriptions):
                    subscription.put(subscription.select(self._objects, version))
        assert self._cursor.resource_version is not None
        opened, lines = time.monotonic(), 0
        async for line in api.watch_mpi_jobs(
            self.namespace,
            resource_version=self._cursor.resource_version,
            timeout_seconds=MAX_WATCH_SECONDS,
        ):
            lines += 1
            change = self._cursor.feed(line)
            failures.reset(time.monotonic())
            if change is None:
                continue
            if change.deleted:
                self._objects.pop(change.name, None)
            else:
                self._objects[change.name] = change.object
            self._broadcast(change)
        if lines == 0 and time.monotonic() - opened < MAX_WATCH_SECONDS - 1:
            raise TransientBackendError(None, "watch closed early without an event")
