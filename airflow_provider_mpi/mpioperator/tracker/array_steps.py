"""The tracker's array operations, written once as pure steps (see :mod:`.run`).

An array is one MPIJob per task under an owner ConfigMap that records the
array's intent before the first task (see :mod:`.array_owner`): a submission
killed part way is completed by running it again, and readers know how many
tasks to expect. The tasks held back by ``max_parallel`` are released by
whoever waits on a task of the array, by a conditional update of the owner's
release mark (:func:`release_step`); the decisions are in :mod:`.release`.
Sending the creates of many tasks at once, and the waits, are the drivers'
(:mod:`.sync_io`, :mod:`.aio_io`); each task's create is :func:`create_task`.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import replace
from typing import Any

from airflow_provider_mpi.drmaa2.errors import (
    ConflictError,
    DRMAA2Error,
    JobNotFoundError,
    TransientBackendError,
)
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.status import job_id_of
from airflow_provider_mpi.mpioperator.tracker.array_owner import (
    ArrayIntent,
    intent_conflict,
    mark_patch,
    next_mark,
    read_intent,
)
from airflow_provider_mpi.mpioperator.tracker.arrays import is_held
from airflow_provider_mpi.mpioperator.tracker.control import release_patch
from airflow_provider_mpi.mpioperator.tracker.ids import ArrayRef, JobRef, format_job_id
from airflow_provider_mpi.mpioperator.tracker.queries import (
    array_selector,
    oldest_first,
    selector_from_labels,
)
from airflow_provider_mpi.mpioperator.tracker.release import (
    MARK_ATTEMPTS,
    limited_array_of,
    release_step_plan,
)
from airflow_provider_mpi.mpioperator.tracker.run import Step, gated, retrying
from airflow_provider_mpi.mpioperator.tracker.steps import create_attempt, get_job, list_mpi_jobs
from airflow_provider_mpi.mpioperator.tracker.submission import (
    ArrayPlan,
    adopt_intent,
    conflict_error,
    is_same_submission,
    prepare_array,
)
from airflow_provider_mpi.mpioperator.tracker.waiters import ArrayWaiter
from airflow_provider_mpi.mpioperator.tracker.waiting import wanted_states

__all__ = [
    "array_waiter",
    "create_task",
    "existing_tasks",
    "find_arrays",
    "held_array_tasks",
    "held_siblings",
    "intent_of",
    "list_array_jobs",
    "record_intent",
    "release_array_tasks",
    "release_for",
    "release_step",
    "remove_array",
    "resumed_plan",
]

log = logging.getLogger(__name__)


# Submission


def _record_attempt(plan: ArrayPlan) -> Step[ArrayIntent]:
    try:
        created = read_intent((yield rq.create_owner(plan.namespace, plan.owner)))
    except ConflictError:
        try:
            existing = yield rq.get_owner(plan.namespace, plan.array_name)
        except JobNotFoundError:  # deleted meanwhile: create again
            raise TransientBackendError(409, f"{plan.array_id} vanished after 409") from None
        found = read_intent(existing)
        if found is None or found.template_hash != plan.intent.template_hash:
            raise intent_conflict(plan.array_id, plan.intent, found) from None
        return found
    if created is None:
        raise TransientBackendError(None, f"array owner {plan.array_id} unreadable")
    return created


def record_intent(plan: ArrayPlan, policy: RetryPolicy) -> Step[ArrayPlan]:
    """Create the owner ConfigMap, or adopt the same submission's earlier one.

    Raises:
        ConflictError: the array name holds a different submission.
    """
    what = f"record array {plan.array_id}"
    intent = yield from retrying(lambda: _record_attempt(plan), policy, what=what)
    return adopt_intent(plan, intent)


def existing_tasks(plan: ArrayPlan) -> Step[set[str]]:
    """The tasks an earlier run of this submission created (none for a new array).

    Raises:
        ConflictError: a task name holds another submission's job.
    """
    if not plan.resumed:
        return set()
    items, _ = yield from list_mpi_jobs(plan.namespace, array_selector(plan.array_name))
    wanted = {str(task["metadata"]["name"]): task for task in plan.tasks}
    found = set()
    for item in items:
        name = str(item["metadata"]["name"])
        if name in wanted:
            if not is_same_submission(item, wanted[name]):
                raise conflict_error(format_job_id(plan.namespace, name))
            found.add(name)
    return found


def create_task(
    task: Mapping[str, Any],
    gate: AbstractContextManager[Any] | AbstractAsyncContextManager[Any],
    policy: RetryPolicy,
) -> Step[None]:
    """Create one task of an array, each attempt inside the submission's gate, repeating safely.

    Args:
        task: the prepared MPIJob (its name and token chosen beforehand).
        gate: the submission's AIMD gate (:mod:`.submit_window`): an attempt
            waits for a slot, and its outcome widens or narrows the window.
        policy: when to repeat a failed attempt.
    """
    job_id = format_job_id(task["metadata"]["namespace"], task["metadata"]["name"])
    yield from retrying(
        lambda: gated(create_attempt(task), gate), policy, what=f"create MPIJob {job_id}"
    )


def remove_array(plan: ArrayPlan, names: list[str]) -> Step[tuple[list[str], list[str]]]:
    """Delete the named tasks and the owner after a failed submission.

    Returns:
        The job IDs removed and those left (their delete failed).
    """
    removed, left = [], []
    for name in names:
        job_id = format_job_id(plan.namespace, name)
        try:
            yield rq.delete_mpi_job(
                plan.namespace, name, job_id=job_id, propagation_policy="Background"
            )
        except JobNotFoundError:
            pass
        except DRMAA2Error:
            left.append(job_id)
            continue
        removed.append(job_id)
    try:
        yield rq.delete_owner(plan.namespace, plan.array_name)
    except JobNotFoundError:
        pass
    except DRMAA2Error as exc:
        log.warning("Could not delete the owner of array %s: %s", plan.array_id, exc)
    return removed, left


def resumed_plan(ref: ArrayRef) -> Step[tuple[ArrayPlan, ArrayIntent, set[str]]]:
    """The plan of an array from its recorded intent, and the tasks already there.

    Raises:
        JobNotFoundError: the array has no owner object.
    """
    intent = yield from intent_of(ref)
    if intent is None:
        raise JobNotFoundError(str(ref), message=f"array job {str(ref)!r} has no owner object")
    plan = prepare_array(
        JobTemplate.from_json(intent.template),
        intent.begin,
        intent.end,
        intent.step,
        intent.max_parallel,
        namespace=intent.namespace,
        array_name=intent.name,
    )
    plan = replace(adopt_intent(plan, intent), resumed=True)
    before = yield from existing_tasks(plan)
    return plan, intent, before


# Reading


def intent_of(ref: ArrayRef) -> Step[ArrayIntent | None]:
    """The array's intent, or None for an array without an owner (older releases)."""
    if ref.name is None:
        return None
    try:
        return read_intent((yield rq.get_owner(ref.namespace, ref.name)))
    except JobNotFoundError:
        return None


def list_array_jobs(ref: ArrayRef) -> Step[list[str]]:
    """The task job IDs of an array, in task order: every task its intent names."""
    if ref.name is None:
        return [str(job) for job in ref.jobs]
    intent = yield from intent_of(ref)
    if intent is not None:
        return [format_job_id(ref.namespace, name) for name in intent.task_names]
    items, version = yield from list_mpi_jobs(ref.namespace, array_selector(ref.name))
    waiter = ArrayWaiter(str(ref), ref.namespace, frozenset())
    waiter.snapshot(items, as_of=version)
    return [format_job_id(ref.namespace, name) for name in waiter.names]


def find_arrays(namespace: str, labels: Mapping[str, str]) -> Step[list[str]]:
    """The arrays whose template carried all the labels, by their owners, oldest first."""
    body = yield rq.list_owners(namespace, selector_from_labels(labels))
    owners = rq.list_items(body)
    found = [owner for owner in oldest_first(owners) if read_intent(owner) is not None]
    return [job_id_of(owner) for owner in found]


def array_waiter(
    ref: ArrayRef, states: tuple[JobState, ...], *, require_all: bool = True
) -> Step[tuple[ArrayWaiter, ArrayIntent | None]]:
    """A waiter over the array's tasks (named by its intent when it has one)."""
    intent = yield from intent_of(ref)
    if intent is not None:
        names: Sequence[str] | None = intent.task_names
    else:
        names = None if ref.name is not None else [job.name for job in ref.jobs]
    waiter = ArrayWaiter(
        str(ref), ref.namespace, wanted_states(states), names, require_all=require_all
    )
    return waiter, intent


def _snapshot(ref: ArrayRef, waiter: ArrayWaiter) -> Step[None]:
    selector = array_selector(ref.name) if ref.name is not None else None
    items, version = yield from list_mpi_jobs(ref.namespace, selector)
    waiter.snapshot(items, as_of=version)


def held_array_tasks(ref: ArrayRef) -> Step[list[str]]:
    """The tasks of an array still held by ``max_parallel`` (not ended), in task order."""
    waiter = ArrayWaiter(str(ref), ref.namespace, frozenset(), require_all=False)
    yield from _snapshot(ref, waiter)
    return [
        format_job_id(ref.namespace, n)
        for n in waiter.names
        if is_held(waiter.job(n) or {}) and not waiter.ended([n])[0]
    ]


def held_siblings(ref: JobRef) -> Step[list[str]]:
    """The tasks still held in the limited array of a task (none for other jobs)."""
    mpijob = yield from get_job(ref)
    array = limited_array_of(mpijob)
    if array is None:
        return []
    return (yield from held_array_tasks(ArrayRef(ref.namespace, array)))


# Releasing


def _release(namespace: str, name: str) -> Step[None]:
    job_id = format_job_id(namespace, name)
    with contextlib.suppress(JobNotFoundError):  # deleted meanwhile: nothing to start
        yield rq.patch_mpi_job(namespace, name, release_patch(), job_id=job_id)


def release_step(
    namespace: str, intent: ArrayIntent | None, waiter: ArrayWaiter
) -> Step[tuple[ArrayIntent | None, list[str]]]:
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
            yield from _release(namespace, name)
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
            moved = read_intent((yield rq.patch_owner(namespace, intent.name, patch)))
        except ConflictError:  # moved by another waiter, or by us with the answer lost
            moved = read_intent((yield rq.get_owner(namespace, intent.name)))
            if moved is None or moved.claim != claim:
                intent = moved or intent
                mark = next_mark(intent, waiter.ended(intent.task_names))
                continue
        repair += waiter.held_among(intent.task_names[intent.mark : mark])
        intent = moved or intent
        break
    for name in repair:
        yield from _release(namespace, name)
    if intent.mark != start:
        log.debug("array %s: release mark %d -> %d", intent.name, start, intent.mark)
    return intent, repair


def release_array_tasks(ref: ArrayRef) -> Step[list[str]]:
    """One release step: start the held tasks that ``max_parallel`` now allows."""
    waiter, intent = yield from array_waiter(ref, (), require_all=False)
    yield from _snapshot(ref, waiter)
    _, released = yield from release_step(ref.namespace, intent, waiter)
    return [format_job_id(ref.namespace, name) for name in released]


def release_for(ref: JobRef, mpijob: Mapping[str, Any]) -> Step[None]:
    """A poke on a task of a limited array releases what ``max_parallel`` allows.

    Only a poke on a task that ended (its end frees a slot) or is held (it
    waits for one) comes here; a failure is logged, not raised: the state
    asked for matters more, and the next poke retries.
    """
    array = limited_array_of(mpijob)
    if array is None:
        return
    try:
        yield from release_array_tasks(ArrayRef(ref.namespace, array))
    except DRMAA2Error as exc:
        log.warning("Could not release held tasks of array %s: %s", array, exc)
