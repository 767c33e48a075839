"""Waiting on arrays and releasing their held tasks: the sync tracker's mixin.

Split from :mod:`.tracker_arrays` to keep modules small. Whoever waits on a
task of an array with ``max_parallel`` releases held tasks as others end, by
a conditional update of the release mark on the array's owner object (see
:mod:`.array_owner`): each range of tasks is won by one waiter, so racing
waiters never exceed the cap.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from airflow_provider_mpi.drmaa2.errors import ConflictError, JobNotFoundError, WaitTimeoutError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.api import MPIJobApi
from airflow_provider_mpi.mpioperator.array_owner import (
    REPAIR_GRACE,
    ArrayIntent,
    mark_patch,
    next_mark,
    read_intent,
    repair_due,
)
from airflow_provider_mpi.mpioperator.arrays import is_held
from airflow_provider_mpi.mpioperator.control import release_patch
from airflow_provider_mpi.mpioperator.ids import (
    ArrayRef,
    format_job_id,
    parse_array_id,
    parse_job_id,
)
from airflow_provider_mpi.mpioperator.names import LABEL_ARRAY_ID
from airflow_provider_mpi.mpioperator.owner_api import get_owner, patch_owner
from airflow_provider_mpi.mpioperator.queries import array_selector
from airflow_provider_mpi.mpioperator.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.submission import ANNOTATION_MAX_PARALLEL
from airflow_provider_mpi.mpioperator.sync_watch import watch_mpi_jobs
from airflow_provider_mpi.mpioperator.waiters import ArrayWaiter, JobWaiter
from airflow_provider_mpi.mpioperator.waiting import Deadline, wanted_states
from airflow_provider_mpi.mpioperator.watch_cursor import Snapshot

__all__ = [
    "MARK_ATTEMPTS",
    "STEP_DEFERRAL",
    "ArrayReleaseMethods",
    "limited_array_of",
    "release_step_plan",
    "single_wait_turn",
    "turn_recheck_in",
]

log = logging.getLogger(__name__)

#: Conditional updates of the release mark tried in one release step.
MARK_ATTEMPTS = 8


def limited_array_of(mpijob: Mapping[str, Any]) -> str | None:
    """The array name of a task whose array holds tasks back (``max_parallel``).

    Args:
        mpijob: an MPIJob.

    Returns:
        The array name, or None for a plain job or an array without a cap.
    """
    metadata = mpijob.get("metadata") or {}
    array = (metadata.get("labels") or {}).get(LABEL_ARRAY_ID)
    limit = (metadata.get("annotations") or {}).get(ANNOTATION_MAX_PARALLEL, "0")
    if not array or not str(limit).isdigit() or int(str(limit)) <= 0:
        return None
    return str(array)


def release_step_plan(
    intent: ArrayIntent, waiter: ArrayWaiter, now: float
) -> tuple[int, list[str]]:
    """What a release step wants: the new mark, and the held tasks to repair.

    Repair: tasks below the mark as read that are still held although the
    mark passed them :data:`~.array_owner.REPAIR_GRACE` seconds ago (their
    releaser stopped between moving the mark and unsuspending them).

    Args:
        intent: the intent as last read.
        waiter: the tasks as seen.
        now: the time (seconds since the epoch).

    Returns:
        ``(new_mark, tasks_to_repair)``.
    """
    names = intent.task_names
    repair = waiter.held_among(names[: intent.mark]) if repair_due(intent, now) else []
    return next_mark(intent, waiter.ended(names)), repair


#: Seconds a wait on one task leaves a due release step to the waiters of the
#: tasks concerned before it runs the step itself.
STEP_DEFERRAL = 5.0


def single_wait_turn(
    intent: ArrayIntent | None,
    waiter: ArrayWaiter,
    name: str,
    deferred_since: float | None,
    now: float,
) -> tuple[bool, float | None]:
    """Whether a wait on one task runs a release step now (few waiters race).

    Many waits on one array each see every change of it (mapped sensors, one
    per task). Each would race for every move of the mark; instead a step is
    run now only by the waiter of a task that just ended, or of a task the
    move would release, or of a held task the mark already passed (repair).
    Any other waiter runs it only if it stays due for :data:`STEP_DEFERRAL`
    seconds (nobody concerned is waiting). A waiter infers how far the mark
    went from the tasks it sees released, so a move made by another waiter
    costs it no request.

    Args:
        intent: the intent as last read (None: an array of an older release).
        waiter: the array's tasks as seen.
        name: the task this wait is for.
        deferred_since: when this waiter first saw a step due that was not
            its turn, or None.
        now: the time (monotonic).

    Returns:
        ``(run_now, deferred_since)`` for the next call.
    """
    if intent is None:
        return True, None
    if intent.max_parallel <= 0:
        return False, None
    names = intent.task_names
    released = [i + 1 for i, n in enumerate(names) if (job := waiter.job(n)) and not is_held(job)]
    seen = max([intent.mark, *released])
    mark = next_mark(replace(intent, mark=seen), waiter.ended(names))
    own = names.index(name) if name in names else -1
    job = waiter.job(name)
    own_ended = waiter.ended([name])[0] is True
    if job is not None and is_held(job) and 0 <= own < seen and repair_due(intent, time.time()):
        return True, None
    if mark <= seen:
        return False, None
    if own_ended or seen <= own < mark:
        return True, None
    if deferred_since is None:
        return False, now
    if now - deferred_since >= STEP_DEFERRAL:
        return True, None
    return False, deferred_since


def turn_recheck_in(
    intent: ArrayIntent | None,
    waiter: ArrayWaiter,
    name: str,
    deferred_since: float | None,
    now: float,
    wall_now: float,
) -> float | None:
    """Seconds until :func:`single_wait_turn` may answer yes with no new event.

    A waiter that deferred its step, or whose own task stays held behind a
    mark another waiter moved, must look again when the deferral or the
    repair grace runs out, even if the array is quiet by then (every task
    held or running): no other event would wake it.

    Args:
        intent: the intent as last read.
        waiter: the array's tasks as seen.
        name: the task this wait is for.
        deferred_since: as returned by :func:`single_wait_turn`.
        now: the time (monotonic).
        wall_now: the time (seconds since the epoch), for the repair grace.

    Returns:
        Seconds (never negative), or None when only an event can change the answer.
    """
    if intent is None or intent.max_parallel <= 0:
        return None
    if deferred_since is not None:
        return max(0.0, deferred_since + STEP_DEFERRAL - now)
    job = waiter.job(name)
    if job is not None and is_held(job) and intent.moved_at:
        return max(0.0, intent.moved_at + REPAIR_GRACE - wall_now) or None
    return None


class ArrayReleaseMethods:
    """Waiting on arrays and releasing held tasks, mixed into the sync tracker."""

    namespace: str
    api: MPIJobApi
    retry: RetryPolicy

    def _intent(self, ref: ArrayRef) -> ArrayIntent | None:
        """The array's intent, or None for an array without an owner (older releases)."""
        if ref.name is None:
            return None
        try:
            return read_intent(get_owner(self.api, ref.namespace, ref.name))
        except JobNotFoundError:
            return None

    def held_siblings(self, job_id: str) -> list[str]:
        """The tasks still held by ``max_parallel`` in the array of a task.

        Args:
            job_id: a job (a task of an array, or not).

        Returns:
            Job IDs, in task order (none for a job outside a limited array).
        """
        ref = parse_job_id(job_id, self.namespace)
        mpijob = self.api.get_mpi_job(ref.namespace, ref.name, job_id=str(ref))
        array = limited_array_of(mpijob)
        if array is None:
            return []
        return self.held_array_tasks(format_job_id(ref.namespace, array))

    # Waiting and releasing

    def wait_array(
        self, array_id: str, timeout: float | None, *states: JobState
    ) -> dict[str, JobState]:
        """Wait for every task of an array, releasing held tasks as slots free up.

        Args:
            array_id: the array.
            timeout: seconds; 0 checks once, None waits forever.
            *states: the states to wait for; none means Done or Failed.

        Returns:
            The state of each task by job ID, in task order.

        Raises:
            WaitTimeoutError: the timeout passed (``last_state`` holds the
                task states).
            JobNotFoundError: the array or one of its tasks does not exist
                (an array whose submission was interrupted is incomplete).
            InvalidStateError: a task ended in a state not waited for.
        """
        ref = parse_array_id(array_id, self.namespace)
        deadline = Deadline.start(timeout, time.monotonic())
        intent = self._intent(ref)
        if intent is not None:
            names: Sequence[str] | None = intent.task_names
        else:
            names = None if ref.name is not None else [job.name for job in ref.jobs]
        waiter = ArrayWaiter(str(ref), ref.namespace, wanted_states(states), names)
        selector = array_selector(ref.name) if ref.name is not None else None
        for item in watch_mpi_jobs(
            self.api, ref.namespace, deadline, retry=self.retry, label_selector=selector
        ):
            if isinstance(item, Snapshot):
                waiter.snapshot(item.objects.values(), as_of=item.resource_version)
            else:
                waiter.observe(item.name, None if item.deleted else item.object)
            intent, _ = self._release_step(ref.namespace, intent, waiter)
            if waiter.finished():
                return waiter.states()
        raise WaitTimeoutError(str(ref), timeout, waiter.states())

    def _wait_array_task(
        self, namespace: str, array: str, name: str, deadline: Deadline, wanted: frozenset[JobState]
    ) -> JobState:
        """Wait for one task of a limited array, releasing its held tasks meanwhile."""
        ref = ArrayRef(namespace, array)
        intent = self._intent(ref)
        names = intent.task_names if intent is not None else None
        waiter = ArrayWaiter(str(ref), namespace, frozenset(), names, require_all=False)
        target = JobWaiter(format_job_id(namespace, name), wanted)
        deferred: float | None = None
        recheck: float | None = None
        while not deadline.expired(time.monotonic()):
            # A watch window ends when this waiter must look again with no event
            # (a deferred step, a repair grace); the next window lists anew.
            window = deadline.within(recheck, time.monotonic())
            for item in watch_mpi_jobs(
                self.api, namespace, window, retry=self.retry, label_selector=array_selector(array)
            ):
                if isinstance(item, Snapshot):
                    waiter.snapshot(item.objects.values(), as_of=item.resource_version)
                    reached = target.observe(item.objects.get(name), as_of=item.resource_version)
                else:
                    waiter.observe(item.name, None if item.deleted else item.object)
                    reached = None
                    if item.name == name:
                        reached = target.observe(None if item.deleted else item.object)
                turn, deferred = single_wait_turn(intent, waiter, name, deferred, time.monotonic())
                if turn:
                    intent, _ = self._release_step(namespace, intent, waiter)
                if reached is not None:
                    return reached
                recheck = turn_recheck_in(
                    intent, waiter, name, deferred, time.monotonic(), time.time()
                )
                if recheck is not None and window is deadline:
                    break  # open a window that ends in time to look again
        raise WaitTimeoutError(format_job_id(namespace, name), deadline.timeout, target.last_state)

    def _release_step(
        self, namespace: str, intent: ArrayIntent | None, waiter: ArrayWaiter
    ) -> tuple[ArrayIntent | None, list[str]]:
        """Advance the release mark if tasks ended, and start the tasks this step won.

        Several waiters may run this at once: the mark moves only by a
        conditional update of the owner, so each range of tasks is won by one
        of them, and ``max_parallel`` is never exceeded. Tasks below the mark
        that are still held (their releaser stopped) are released as well.

        Returns:
            The intent as last read, and the tasks released.
        """
        if intent is None:  # an array of an older release: the per-task annotations
            released = waiter.to_release()
            for name in released:
                self._release(namespace, name)
            return None, released
        if intent.max_parallel <= 0:
            return intent, []
        mark, repair = release_step_plan(intent, waiter, time.time())
        start = intent.mark
        claim = secrets.token_hex(8)
        for _ in range(MARK_ATTEMPTS):
            if mark <= intent.mark:
                break
            patch = mark_patch(intent, mark, claim, now=time.time())
            try:
                moved = read_intent(patch_owner(self.api, namespace, intent.name, patch))
            except ConflictError:  # moved by another waiter, or by us with the answer lost
                moved = read_intent(get_owner(self.api, namespace, intent.name))
                if moved is None or moved.claim != claim:
                    intent = moved or intent
                    mark = next_mark(intent, waiter.ended(intent.task_names))
                    continue
            repair += waiter.held_among(intent.task_names[intent.mark : mark])
            intent = moved or intent
            break
        for name in repair:
            self._release(namespace, name)
        if intent.mark != start:
            log.debug("array %s: release mark %d -> %d", intent.name, start, intent.mark)
        return intent, repair

    def _release(self, namespace: str, name: str) -> None:
        job_id = format_job_id(namespace, name)
        with contextlib.suppress(JobNotFoundError):  # deleted meanwhile: nothing to start
            self.api.patch_mpi_job(namespace, name, release_patch(), job_id=job_id)

    def release_array_tasks(self, array_id: str) -> list[str]:
        """One release step: start the held tasks that ``max_parallel`` now allows.

        Args:
            array_id: the array.

        Returns:
            The job IDs released (possibly none).
        """
        ref = parse_array_id(array_id, self.namespace)
        intent = self._intent(ref)
        if intent is not None:
            names: Sequence[str] | None = intent.task_names
        else:
            names = None if ref.name is not None else [job.name for job in ref.jobs]
        waiter = ArrayWaiter(str(ref), ref.namespace, wanted_states(()), names, require_all=False)
        selector = array_selector(ref.name) if ref.name is not None else None
        items, version = self.api.list_mpi_jobs(ref.namespace, label_selector=selector)
        waiter.snapshot(items, as_of=version)
        _, released = self._release_step(ref.namespace, intent, waiter)
        return [format_job_id(ref.namespace, name) for name in released]

    def held_array_tasks(self, array_id: str) -> list[str]:
        """The tasks of an array still held by ``max_parallel`` (not ended).

        Args:
            array_id: the array.

        Returns:
            Job IDs, in task order.
        """
        ref = parse_array_id(array_id, self.namespace)
        selector = array_selector(ref.name) if ref.name is not None else None
        items, _ = self.api.list_mpi_jobs(ref.namespace, label_selector=selector)
        waiter = ArrayWaiter(str(ref), ref.namespace, frozenset(), require_all=False)
        waiter.snapshot(items)
        return [
            format_job_id(ref.namespace, n)
            for n in waiter.names
            if is_held(waiter.job(n) or {}) and not waiter.ended([n])[0]
        ]
