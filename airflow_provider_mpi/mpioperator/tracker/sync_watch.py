"""List-then-watch of MPIJobs for the sync tracker: nothing missed, nothing polled.

:func:`watch_mpi_jobs` lists the selected MPIJobs once (a
:class:`~.watch_cursor.Snapshot`), then follows a watch from the list's
resourceVersion and yields each change. A stream the server closes (its
``timeoutSeconds``), a proxy drops or a reset cuts is reopened from the last
resourceVersion seen (bookmarks included); a ``410 Gone`` leads to a fresh
list, whose snapshot the caller re-evaluates. Each watch asks the server to
end by the caller's deadline, and the generator returns once the deadline
has passed, so a wait never overstays its timeout by more than a moment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, TransientBackendError
from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.client.transport import SyncTransport
from airflow_provider_mpi.mpioperator.tracker.waiting import Deadline
from airflow_provider_mpi.mpioperator.tracker.watch_cursor import (
    JobChange,
    Snapshot,
    WatchCursor,
    WatchRecovery,
)

__all__ = ["watch_mpi_jobs"]

log = logging.getLogger(__name__)


def watch_mpi_jobs(
    api: SyncTransport,
    namespace: str,
    deadline: Deadline,
    *,
    retry: RetryPolicy,
    field_selector: str | None = None,
    label_selector: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Snapshot | JobChange]:
    """Yield a snapshot of the selected MPIJobs, then their changes, until the deadline.

    Args:
        api: the API layer.
        namespace: the namespace.
        deadline: when to stop (the generator returns).
        retry: bounds consecutive failures of the stream, 410s included
            (reset by every line received); a failure past its bounds is raised.
        field_selector: e.g. ``metadata.name=<job>``.
        label_selector: e.g. an array's label.
        clock: a monotonic clock.
        sleep: how to wait between reconnections.

    Yields:
        A :class:`Snapshot` first and after every re-list, a
        :class:`JobChange` per event.

    Raises:
        DRMAA2Error: a permanent failure, or transient ones beyond the policy.
    """
    cursor = WatchCursor()
    failures = retry.start(clock())
    while True:
        try:
            if cursor.needs_list:
                body = api.send(
                    rq.list_mpi_jobs(
                        namespace, label_selector=label_selector, field_selector=field_selector
                    )
                )
                items, version = rq.list_items(body), rq.list_version(body)
                cursor.listed(version)
                yield Snapshot.of(items, version)
            if deadline.expired(clock()):
                return
            assert cursor.resource_version is not None
            window = deadline.watch_seconds(clock())
            opened, lines = clock(), 0
            request = rq.watch_mpi_jobs(
                namespace,
                resource_version=cursor.resource_version,
                timeout_seconds=window,
                field_selector=field_selector,
                label_selector=label_selector,
            )
            for line in api.lines(request):
                lines += 1
                change = cursor.feed(line)
                failures.reset(clock())
                if change is not None:
                    yield change
                if deadline.expired(clock()):
                    return
            if deadline.expired(clock()):
                return
            if lines == 0 and clock() - opened < window - 1:
                raise TransientBackendError(None, "watch closed early without an event")
        except DRMAA2Error as error:
            recovery = cursor.recover(error)
            if recovery is WatchRecovery.RAISE:
                raise
            if recovery is WatchRecovery.RELIST:  # never gives up: the list is the cure
                log.info("watch of MPIJobs in %s expired (410); listing again", namespace)
                delay: float | None = failures.after_expiry()
            else:
                delay = failures.next_delay(error, clock())
            if delay is None:
                raise
            log.info(
                "watch of MPIJobs in %s broke (%s); resuming in %.2fs", namespace, error, delay
            )
            remaining = deadline.remaining(clock())
            sleep(delay if remaining is None else min(delay, remaining))
