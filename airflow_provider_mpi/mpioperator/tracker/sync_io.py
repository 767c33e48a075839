"""What the sync tracker does with threads, watches and streams.

Functions over the sync transport, called by
:class:`~.sync.MPIOperatorTracker`: the waits (one watch each, on a job, an
array or one task of a limited array; what they do with each item is
:mod:`.array_wait`, shared with the async waits), the launcher's output, and
the creates of an array's tasks from a thread pool paced by an AIMD window
(:mod:`.submit_window`). Everything else is a step of :mod:`.steps` or
:mod:`.array_steps`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Protocol

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, InvalidStateError, WaitTimeoutError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.client.transport import SyncTransport
from airflow_provider_mpi.mpioperator.tracker.array_steps import (
    create_task,
    existing_tasks,
    remove_array,
)
from airflow_provider_mpi.mpioperator.tracker.array_wait import ArrayWait, TaskWait
from airflow_provider_mpi.mpioperator.tracker.ids import ArrayRef, JobRef
from airflow_provider_mpi.mpioperator.tracker.observe import observe_job
from airflow_provider_mpi.mpioperator.tracker.queries import (
    array_selector,
    container_started,
)
from airflow_provider_mpi.mpioperator.tracker.run import run_sync
from airflow_provider_mpi.mpioperator.tracker.steps import OUTPUT_STATES, launcher, launcher_log
from airflow_provider_mpi.mpioperator.tracker.submission import ArrayPlan, array_failure
from airflow_provider_mpi.mpioperator.tracker.submit_window import (
    INITIAL_WINDOW,
    MAX_WINDOW,
    AimdWindow,
    SubmitGate,
)
from airflow_provider_mpi.mpioperator.tracker.sync_watch import watch_mpi_jobs
from airflow_provider_mpi.mpioperator.tracker.waiters import JobWaiter
from airflow_provider_mpi.mpioperator.tracker.waiting import Deadline

__all__ = [
    "ARRAY_SUBMIT_WORKERS",
    "create_tasks",
    "output",
    "wait_array",
    "wait_array_task",
    "wait_job",
]

#: Threads sending creates while submitting an array (the AIMD window caps
#: how many of them send at once).
ARRAY_SUBMIT_WORKERS = MAX_WINDOW


def _submit_workers(api: SyncTransport) -> int:
    """Threads for creates: no more than the client keeps connections.

    A thread beyond urllib3's pool size would open (and discard) a new TLS
    connection per request, which costs more than it gains.
    """
    configuration = getattr(api.api_client, "configuration", None)
    pool = getattr(configuration, "connection_pool_maxsize", None)
    if not isinstance(pool, int) or pool < 1:
        return ARRAY_SUBMIT_WORKERS
    return min(ARRAY_SUBMIT_WORKERS, pool)


def create_tasks(api: SyncTransport, retry: RetryPolicy, plan: ArrayPlan) -> None:
    """Create the plan's missing tasks from a thread pool; on a lasting failure, delete the array.

    Raises:
        DRMAA2Error: the first create that failed for good (the array removed).
    """
    existing = run_sync(existing_tasks(plan), api)
    todo = [task for task in plan.tasks if task["metadata"]["name"] not in existing]
    workers = _submit_workers(api)
    gate = SubmitGate(AimdWindow(min(INITIAL_WINDOW, workers), maximum=workers))
    created: list[str] = []
    failure: tuple[str, DRMAA2Error] | None = None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: dict[Future[None], str] = {
            pool.submit(run_sync, create_task(task, gate, retry), api): task["metadata"]["name"]
            for task in todo
        }
        _done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        wait(pending)
        for future, name in futures.items():
            if future.cancelled():
                continue
            error = future.exception()
            if error is None:
                created.append(name)
            elif failure is None:
                if not isinstance(error, DRMAA2Error):
                    raise error
                failure = (name, error)
    if failure is None:
        return
    removed, left = run_sync(remove_array(plan, created + sorted(existing)), api)
    raise array_failure(plan.array_id, failure[0], failure[1], removed, left) from failure[1]


def wait_array(
    api: SyncTransport, retry: RetryPolicy, wait: ArrayWait, deadline: Deadline
) -> dict[str, JobState]:
    """Follow an array's tasks on one watch until :meth:`.ArrayWait.seen` says they all ended.

    Raises:
        WaitTimeoutError: the deadline passed (``last_state`` holds the task states).
    """
    ref = wait.ref
    selector = array_selector(ref.name) if ref.name is not None else None
    for item in watch_mpi_jobs(api, ref.namespace, deadline, retry=retry, label_selector=selector):
        if run_sync(wait.seen(item), api):
            return wait.states()
    raise wait.timed_out()


def wait_array_task(
    api: SyncTransport, retry: RetryPolicy, wait: TaskWait, deadline: Deadline
) -> JobState:
    """Follow one task of a limited array (see :class:`.TaskWait`) until it reaches a wanted state.

    Raises:
        WaitTimeoutError: the deadline passed (with the task's last state).
    """
    assert wait.ref.name is not None
    selector = array_selector(wait.ref.name)
    while not deadline.expired(time.monotonic()):
        # A watch window ends when this waiter must look again with no event
        # (a deferred step, a repair grace); the next window lists anew.
        window = deadline.within(wait.recheck, time.monotonic())
        for item in watch_mpi_jobs(
            api, wait.ref.namespace, window, retry=retry, label_selector=selector
        ):
            reached = run_sync(wait.seen(item), api)
            if reached is not None:
                return reached
            if wait.recheck is not None and window is deadline:
                break  # open a window that ends in time to look again
    raise wait.timed_out(deadline)


def wait_job(
    api: SyncTransport,
    retry: RetryPolicy,
    ref: JobRef,
    deadline: Deadline,
    wanted: frozenset[JobState],
    timeout: float | None,
) -> JobState:
    """Follow one job on a watch until it reaches a wanted state.

    A task of a limited array is followed with its whole array
    (:func:`wait_array_task`), which releases held tasks as others end.

    Raises:
        WaitTimeoutError: the deadline passed (with the last state seen).
    """
    waiter = JobWaiter(str(ref), wanted)
    array: str | None = None
    for item in watch_mpi_jobs(
        api, ref.namespace, deadline, retry=retry, field_selector=f"metadata.name={ref.name}"
    ):
        reached, array = observe_job(waiter, ref.name, item)
        if array is not None:  # a task of a limited array: follow the whole array
            break
        if reached is not None:
            return reached
    if array is not None:
        array_ref = ArrayRef(ref.namespace, array)
        task = run_sync(TaskWait.start(array_ref, ref.name, wanted), api)
        return wait_array_task(api, retry, task, deadline)
    raise WaitTimeoutError(str(ref), timeout, waiter.last_state)


class _Tracker(Protocol):
    @property
    def api(self) -> SyncTransport: ...

    def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState: ...


def output(tracker: _Tracker, ref: JobRef, follow: bool, tail_lines: int | None) -> Iterator[str]:
    """The launcher's log lines: so far, or (``follow``) until it ends.

    With ``follow``, waits (with ``tracker.wait``) until the job runs or ends first.
    """
    api = tracker.api
    pod = run_sync(launcher(ref), api)
    if pod is None or not container_started(pod):
        if not follow:
            return
        try:
            tracker.wait(str(ref), None, *OUTPUT_STATES)
        except InvalidStateError:
            return
        pod = run_sync(launcher(ref), api)
        if pod is None:
            return
    request = launcher_log(ref, pod, follow=follow, tail_lines=tail_lines)
    if follow:
        for line in api.lines(request):
            yield line.decode("utf-8", errors="replace").rstrip("\r")
    else:
        yield from str(api.send(request)).splitlines()
