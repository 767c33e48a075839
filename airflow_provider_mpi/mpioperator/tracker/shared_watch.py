"""One list+watch per cluster, namespace and kind, shared by every waiter of an event loop.

The common machinery of :class:`~.watch_hub.JobWatchHub` (the MPIJobs of a
namespace) and :class:`~.pod_hub.JobPodHub` (the MPI operator's pods of a
namespace): a hub lists once, then follows one watch from the list's
resourceVersion, resumes it from the last resourceVersion seen (bookmarks
included) when it is dropped, lists again after ``410 Gone``, hands a
permanent failure to its subscribers, stops when the last subscriber leaves,
and always runs on the API client of a subscriber still subscribed (their
clients are closed by their owners once they are done, so the stream moves
before that happens). A subclass says what it lists and watches (as
requests, :mod:`..client.requests`), what it does with a list and with a
change, and what it holds (set up by ``_reset``, which the one constructor
calls, and called again when the last subscriber has left).

Garbage collection with thousands of subscribers: :mod:`.hub_gc`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from typing import Any, Generic, Protocol, TypeVar

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, TransientBackendError
from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.descriptor import Request
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy, RetryState
from airflow_provider_mpi.mpioperator.client.translate import translate_error
from airflow_provider_mpi.mpioperator.client.transport import AsyncTransport as AsyncMPIJobApi
from airflow_provider_mpi.mpioperator.tracker.hub_gc import HUB_GC
from airflow_provider_mpi.mpioperator.tracker.waiting import MAX_WATCH_SECONDS
from airflow_provider_mpi.mpioperator.tracker.watch_cursor import (
    JobChange,
    WatchCursor,
    WatchRecovery,
)

__all__ = ["SharedWatch", "Subscriber", "cluster_key", "list_objects", "version_number"]

log = logging.getLogger(__name__)

_HUBS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Any]]
_HUBS = weakref.WeakKeyDictionary()

H = TypeVar("H", bound="SharedWatch[Any]")


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


def version_number(value: object) -> int | None:
    """A resourceVersion as an integer, or None when it is not one (opaque)."""
    try:
        return int(str(value))
    except ValueError:
        return None


async def list_objects(api: AsyncMPIJobApi, request: Request) -> tuple[list[dict[str, Any]], str]:
    """Send a list request: the items and the list's resourceVersion (a watch starts there)."""
    body = await api.send(request)
    return rq.list_items(body), rq.list_version(body)


class Subscriber(Protocol):
    """What a hub needs of a subscription: the API client it may stream on."""

    api: AsyncMPIJobApi


S = TypeVar("S", bound=Subscriber)


class SharedWatch(Generic[S]):
    """The shared stream of one kind of object in one namespace (see the module doc).

    Args:
        namespace: the namespace watched.
        retry: bounds consecutive stream failures.
    """

    #: What the hub watches, for logs.
    kind = "objects"

    def __init__(self, namespace: str, retry: RetryPolicy) -> None:
        self.namespace = namespace
        self.retry = retry
        self._subscriptions: dict[S, None] = {}  # ordered; O(1) to leave
        self._cursor = WatchCursor()
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stream_api: AsyncMPIJobApi | None = None
        self._failure: DRMAA2Error | None = None
        self._reset()

    @classmethod
    def for_api(cls: type[H], api: AsyncMPIJobApi, namespace: str) -> H:
        """The hub of the running event loop for this cluster and namespace.

        Args:
            api: a waiter's API layer (identifies the cluster).
            namespace: the namespace.

        Returns:
            The shared hub (created on first use).
        """
        hubs = _HUBS.setdefault(asyncio.get_running_loop(), {})
        key = (cls.kind, *cluster_key(api), namespace)
        hub = hubs.get(key)
        if hub is None:
            hub = hubs[key] = cls(namespace, api.retry)
        assert isinstance(hub, cls)
        return hub

    @property
    def waiters(self) -> int:
        """The number of subscriptions."""
        return len(self._subscriptions)

    @property
    def running(self) -> bool:
        """Whether the stream task runs."""
        return self._task is not None and not self._task.done()

    @property
    def resource_version(self) -> str | None:
        """The resourceVersion the stream has reached (None before the first list)."""
        return self._cursor.resource_version

    # Subclasses: their state, what is listed and watched, and what a list or a change does.

    def _reset(self) -> None:
        """Start empty: hold no objects, know no subscriber.

        The constructor calls it (a subclass keeps its state here, not in an
        ``__init__`` of its own), and so does the hub when its last
        subscriber has left.
        """

    def _list_request(self) -> Request:
        raise NotImplementedError

    def _watch_request(self, resource_version: str) -> Request:
        """A watch from ``resource_version`` (for at most ``MAX_WATCH_SECONDS``)."""
        raise NotImplementedError

    def _listed(self, items: list[dict[str, Any]], version: str, relist: bool) -> None:
        raise NotImplementedError

    def _changed(self, change: JobChange | None) -> None:
        """A change (None: a bookmark or an unknown line moved the resourceVersion)."""
        raise NotImplementedError

    def _failed(self, error: DRMAA2Error) -> None:
        """The stream failed for good (the subscribers must hear of it)."""

    # Membership

    def _join(self, subscription: S) -> None:
        self._subscriptions[subscription] = None
        HUB_GC.joined()
        self._start()

    async def _leave(self, subscription: S) -> None:
        del self._subscriptions[subscription]
        HUB_GC.left()
        await self._after_leaving(subscription)

    async def _wait_synced(self) -> None:
        """Return once the hub's list is in; raise the stream's permanent failure."""
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
                self._run(), name=f"{self.kind} watch hub {self.namespace}"
            )

    async def _after_leaving(self, subscription: S) -> None:
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
            self._cursor = WatchCursor()
            self._synced.clear()
            self._reset()

    # The stream

    async def _run(self) -> None:
        failures = self.retry.start(time.monotonic())
        while self._subscriptions:
            api = next(reversed(self._subscriptions)).api
            self._stream_api = api
            try:
                await self._list_and_watch(api, failures)
            except Exception as exc:
                error = translate_error(exc)
                recovery = self._cursor.recover(error)
                delay = None
                if recovery is WatchRecovery.RELIST:  # never gives up: the list is the cure
                    log.info(
                        "watch of %s in %s expired (410); listing again", self.kind, self.namespace
                    )
                    delay = failures.after_expiry()
                elif recovery is not WatchRecovery.RAISE:
                    delay = failures.next_delay(error, time.monotonic())
                if delay is None:
                    log.warning("watch of %s in %s failed: %s", self.kind, self.namespace, error)
                    self._failure = error
                    self._synced.clear()
                    self._cursor = WatchCursor()
                    self._failed(error)
                    return
                log.info("watch of %s in %s broke (%s); resuming", self.kind, self.namespace, error)
                await asyncio.sleep(delay)

    async def _relist(self, api: AsyncMPIJobApi) -> None:
        # A method of its own: the list's decoded objects must not stay referenced
        # by the frame that then follows the stream for minutes (the hub keeps
        # only what _listed keeps).
        relist = self._synced.is_set()
        items, version = await list_objects(api, self._list_request())
        self._cursor.listed(version)
        self._listed(items, version, relist)
        self._synced.set()

    async def _list_and_watch(self, api: AsyncMPIJobApi, failures: RetryState) -> None:
        if self._cursor.needs_list:
            await self._relist(api)
        assert self._cursor.resource_version is not None
        opened, lines = time.monotonic(), 0
        async for line in api.lines(self._watch_request(self._cursor.resource_version)):
            lines += 1
            change = self._cursor.feed(line)
            failures.reset(time.monotonic())
            self._changed(change)
        if lines == 0 and time.monotonic() - opened < MAX_WATCH_SECONDS - 1:
            raise TransientBackendError(None, "watch closed early without an event")
