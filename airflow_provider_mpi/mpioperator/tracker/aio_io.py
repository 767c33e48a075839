"""What the async tracker does with the event loop's shared watches and streams.

Functions over the asyncio transport, called by
:class:`~.aio.AsyncMPIOperatorTracker`: the waits, served by the loop's
:class:`~.watch_hub.JobWatchHub` (every waiter of one cluster and namespace
shares one stream; what the array waits do with each item is
:mod:`.array_wait`, shared with the sync waits), the
launcher's output, and the creates of an array's tasks by a few senders paced
by an AIMD window. Everything else is a step of :mod:`.steps` or
:mod:`.array_steps`, the same the sync tracker runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, InvalidStateError, WaitTimeoutError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.client.transport import AsyncTransport
from airflow_provider_mpi.mpioperator.names import LABEL_ARRAY_ID
from airflow_provider_mpi.mpioperator.tracker.array_steps import (
    create_task,
    existing_tasks,
    remove_array,
)
from airflow_provider_mpi.mpioperator.tracker.array_wait import ArrayWait, TaskWait
from airflow_provider_mpi.mpioperator.tracker.ids import ArrayRef, JobRef
from airflow_provider_mpi.mpioperator.tracker.observe import observe_job
from airflow_provider_mpi.mpioperator.tracker.queries import container_started
from airflow_provider_mpi.mpioperator.tracker.run import run_async
from airflow_provider_mpi.mpioperator.tracker.steps import OUTPUT_STATES, launcher, launcher_log
from airflow_provider_mpi.mpioperator.tracker.submission import ArrayPlan, array_failure
from airflow_provider_mpi.mpioperator.tracker.submit_window import MAX_WINDOW, AsyncSubmitGate
from airflow_provider_mpi.mpioperator.tracker.waiters import JobWaiter
from airflow_provider_mpi.mpioperator.tracker.waiting import Deadline
from airflow_provider_mpi.mpioperator.tracker.watch_cursor import JobChange, Snapshot
from airflow_provider_mpi.mpioperator.tracker.watch_hub import JobWatchHub, Subscription

__all__ = [
    "Quiet",
    "create_tasks",
    "next_change",
    "output",
    "wait_array",
    "wait_array_task",
    "wait_job",
]


class Quiet:
    """Nothing arrived before the deadline given to :func:`next_change`."""


_QUIET = Quiet()


async def next_change(
    subscription: Subscription, deadline: Deadline
) -> Snapshot | JobChange | Quiet:
    """The next item of a hub subscription, or a :class:`Quiet` once the deadline passed."""
    if subscription.initial is not None:
        return await subscription.get()
    remaining = deadline.remaining(time.monotonic())
    if remaining is None:
        return await subscription.get()
    if remaining <= 0:
        return _QUIET
    try:
        return await asyncio.wait_for(subscription.get(), remaining)
    except asyncio.TimeoutError:
        return _QUIET


# Submission


async def create_tasks(api: AsyncTransport, retry: RetryPolicy, plan: ArrayPlan) -> None:
    """Create the plan's missing tasks by a few senders; on a lasting failure, delete the array.

    Raises:
        DRMAA2Error: the first create that failed for good (the array removed).
    """
    existing = await run_async(existing_tasks(plan), api)
    todo = iter([task for task in plan.tasks if task["metadata"]["name"] not in existing])
    gate = AsyncSubmitGate()
    created: list[str] = []
    failures: list[tuple[str, DRMAA2Error]] = []

    async def sender() -> None:  # a few senders share the tasks (not one coroutine each)
        for task in todo:
            if failures:
                return
            name = str(task["metadata"]["name"])
            try:
                await run_async(create_task(task, gate, retry), api)
            except DRMAA2Error as exc:
                failures.append((name, exc))
                return
            created.append(name)

    for outcome in await asyncio.gather(
        *(sender() for _ in range(MAX_WINDOW)), return_exceptions=True
    ):
        if isinstance(outcome, BaseException):
            raise outcome  # not a DRMAA2Error: a bug or a cancellation
    if not failures:
        return
    name, error = failures[0]
    removed, left = await run_async(remove_array(plan, created + sorted(existing)), api)
    raise array_failure(plan.array_id, name, error, removed, left) from error


# Waiting (one shared watch per cluster and namespace)


async def wait_job(
    api: AsyncTransport,
    ref: JobRef,
    deadline: Deadline,
    wanted: frozenset[JobState],
    timeout: float | None,
) -> tuple[JobState, Mapping[str, Any]]:
    """Follow one job on the shared watch until it reaches a wanted state.

    Returns:
        The state reached and the MPIJob as the watch last showed it.

    Raises:
        WaitTimeoutError: the deadline passed (with the last state seen).
    """
    waiter = JobWaiter(str(ref), wanted)
    hub = JobWatchHub.for_api(api, ref.namespace)
    array: str | None = None
    async with hub.subscribe(api, names=frozenset({ref.name})) as subscription:
        while not isinstance(item := await next_change(subscription, deadline), Quiet):
            reached, array = observe_job(waiter, ref.name, item)
            if array is not None:  # a task of a limited array: follow the array
                break
            if reached is not None:
                assert waiter.current is not None
                return reached, waiter.current
    if array is not None:
        task = await run_async(
            TaskWait.start(ArrayRef(ref.namespace, array), ref.name, wanted), api
        )
        return await wait_array_task(api, task, deadline)
    raise WaitTimeoutError(str(ref), timeout, waiter.last_state)


async def wait_array(
    api: AsyncTransport, wait: ArrayWait, deadline: Deadline
) -> dict[str, JobState]:
    """Follow an array's tasks on the shared watch until :meth:`.ArrayWait.seen` says they ended.

    Raises:
        WaitTimeoutError: the deadline passed (``last_state`` holds the task states).
    """
    ref = wait.ref
    hub = JobWatchHub.for_api(api, ref.namespace)
    if ref.name is not None:
        scope = hub.subscribe(api, label=(LABEL_ARRAY_ID, ref.name))
    else:
        scope = hub.subscribe(api, names=frozenset(job.name for job in ref.jobs))
    async with scope as subscription:
        while not isinstance(item := await next_change(subscription, deadline), Quiet):
            if await run_async(wait.seen(item), api):
                return wait.states()
    raise wait.timed_out()


async def wait_array_task(
    api: AsyncTransport, wait: TaskWait, deadline: Deadline
) -> tuple[JobState, Mapping[str, Any]]:
    """Follow one task of a limited array (see :class:`.TaskWait`) on the shared watch.

    Returns:
        The state reached and the task's MPIJob as the watch last showed it.

    Raises:
        WaitTimeoutError: the deadline passed (with the task's last state).
    """
    assert wait.ref.name is not None
    hub = JobWatchHub.for_api(api, wait.ref.namespace)
    async with hub.subscribe(api, label=(LABEL_ARRAY_ID, wait.ref.name)) as subscription:
        # Waiting ends early when this waiter must look again with no event
        # (a deferred step, a repair grace): a quiet array sends none.
        while True:
            item = await next_change(subscription, deadline.within(wait.recheck, time.monotonic()))
            if isinstance(item, Quiet) and deadline.expired(time.monotonic()):
                break
            reached = await run_async(wait.seen(None if isinstance(item, Quiet) else item), api)
            if reached is not None:
                assert wait.target.current is not None
                return reached, wait.target.current
    raise wait.timed_out(deadline)


# Output


class _Tracker(Protocol):
    @property
    def api(self) -> AsyncTransport: ...

    async def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState: ...


async def output(
    tracker: _Tracker, ref: JobRef, follow: bool, tail_lines: int | None
) -> AsyncIterator[str]:
    """The launcher's log lines: so far, or (``follow``) until it ends.

    With ``follow``, waits (with ``tracker.wait``) until the job runs or ends first.
    """
    api = tracker.api
    pod = await run_async(launcher(ref), api)
    if pod is None or not container_started(pod):
        if not follow:
            return
        try:
            await tracker.wait(str(ref), None, *OUTPUT_STATES)
        except InvalidStateError:
            return
        pod = await run_async(launcher(ref), api)
        if pod is None:
            return
    request = launcher_log(ref, pod, follow=follow, tail_lines=tail_lines)
    if follow:
        async for raw in api.lines(request):
            yield raw.decode("utf-8", errors="replace").rstrip("\r\n")
    else:
        for text in str(await api.send(request)).splitlines():
            yield text
