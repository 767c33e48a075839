"""The array job methods of :class:`~.async_tracker.AsyncMPIOperatorTracker`.

The coroutine twins of :mod:`.tracker_arrays`, sharing its pure parts (the
plan, the intent, the release decision); waits are served by the event
loop's shared :class:`~.watch_hub.JobWatchHub`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from airflow_provider_mpi.drmaa2.errors import (
    ConflictError,
    DRMAA2Error,
    JobNotFoundError,
    TransientBackendError,
    WaitTimeoutError,
)
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.aio import AsyncMPIJobApi
from airflow_provider_mpi.mpioperator.array_owner import (
    ArrayIntent,
    intent_conflict,
    mark_patch,
    next_mark,
    read_intent,
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
from airflow_provider_mpi.mpioperator.owner_api import (
    acreate_owner,
    adelete_owner,
    aget_owner,
    alist_owners,
    apatch_owner,
)
from airflow_provider_mpi.mpioperator.queries import (
    array_selector,
    oldest_first,
    selector_from_labels,
)
from airflow_provider_mpi.mpioperator.retry import RetryPolicy, acall_with_retry
from airflow_provider_mpi.mpioperator.status import job_id_of
from airflow_provider_mpi.mpioperator.submission import (
    ArrayPlan,
    adopt_intent,
    array_failure,
    conflict_error,
    is_same_submission,
    prepare_array,
)
from airflow_provider_mpi.mpioperator.submit_window import MAX_WINDOW, AsyncSubmitGate
from airflow_provider_mpi.mpioperator.tracker_array_release import (
    MARK_ATTEMPTS,
    limited_array_of,
    release_step_plan,
    single_wait_turn,
    turn_recheck_in,
)
from airflow_provider_mpi.mpioperator.waiters import ArrayWaiter, JobWaiter
from airflow_provider_mpi.mpioperator.waiting import Deadline, wanted_states
from airflow_provider_mpi.mpioperator.watch_cursor import JobChange, Snapshot
from airflow_provider_mpi.mpioperator.watch_hub import JobWatchHub, Subscription

__all__ = ["AsyncArrayJobMethods"]

log = logging.getLogger(__name__)


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


class AsyncArrayJobMethods:
    """Array job methods mixed into :class:`~.async_tracker.AsyncMPIOperatorTracker`."""

    namespace: str
    api: AsyncMPIJobApi
    retry: RetryPolicy

    # Submission

    async def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        """See :meth:`.tracker.MPIOperatorTracker.add_array_job`."""
        plan = prepare_array(template, begin, end, step, max_parallel, namespace=self.namespace)
        plan = await self._record_intent(plan)
        await self._create_tasks(plan)
        return plan.array_id

    async def _record_intent(self, plan: ArrayPlan) -> ArrayPlan:
        namespace, name = plan.namespace, plan.array_name

        async def attempt() -> ArrayIntent:
            try:
                created = read_intent(await acreate_owner(self.api, namespace, plan.owner))
            except ConflictError:
                try:
                    existing = await aget_owner(self.api, namespace, name)
                except JobNotFoundError:
                    raise TransientBackendError(409, f"{plan.array_id} vanished") from None
                found = read_intent(existing)
                if found is None or found.template_hash != plan.intent.template_hash:
                    raise intent_conflict(plan.array_id, plan.intent, found) from None
                return found
            if created is None:
                raise TransientBackendError(None, f"array owner {plan.array_id} unreadable")
            return created

        intent = await acall_with_retry(attempt, self.retry, what=f"record array {plan.array_id}")
        return adopt_intent(plan, intent)

    async def _existing_tasks(self, plan: ArrayPlan) -> set[str]:
        if not plan.resumed:
            return set()
        items, _ = await self.api.list_mpi_jobs(
            plan.namespace, label_selector=array_selector(plan.array_name)
        )
        wanted = {str(task["metadata"]["name"]): task for task in plan.tasks}
        found = set()
        for item in items:
            name = str(item["metadata"]["name"])
            if name in wanted:
                if not is_same_submission(item, wanted[name]):
                    raise conflict_error(format_job_id(plan.namespace, name))
                found.add(name)
        return found

    async def _create_tasks(self, plan: ArrayPlan) -> None:
        existing = await self._existing_tasks(plan)
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
                    await self._create_task(task, gate)
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
        removed, left = await self._remove_array(plan, created + sorted(existing))
        raise array_failure(plan.array_id, name, error, removed, left) from error

    async def _create_task(self, task: dict[str, Any], gate: AsyncSubmitGate) -> None:
        namespace = str(task["metadata"]["namespace"])
        name = str(task["metadata"]["name"])
        job_id = format_job_id(namespace, name)

        async def attempt() -> None:
            async with gate:
                try:
                    await self.api.create_mpi_job(namespace, task)
                except TransientBackendError as exc:
                    if exc.status == 429 or exc.retry_after:
                        gate.throttled(exc.retry_after)
                    raise
                except ConflictError:
                    try:
                        existing = await self.api.get_mpi_job(namespace, name, job_id=job_id)
                    except JobNotFoundError:
                        raise TransientBackendError(409, f"{job_id} vanished after 409") from None
                    if not is_same_submission(existing, task):
                        raise conflict_error(job_id) from None
            await gate.succeeded()

        await acall_with_retry(attempt, self.retry, what=f"create MPIJob {job_id}")

    async def _remove_array(self, plan: ArrayPlan, names: list[str]) -> tuple[list[str], list[str]]:
        removed, left = [], []
        for name in names:
            job_id = format_job_id(plan.namespace, name)
            try:
                await self.api.delete_mpi_job(
                    plan.namespace, name, job_id=job_id, propagation_policy="Background"
                )
            except JobNotFoundError:
                pass
            except DRMAA2Error:
                left.append(job_id)
                continue
            removed.append(job_id)
        try:
            await adelete_owner(self.api, plan.namespace, plan.array_name)
        except JobNotFoundError:
            pass
        except DRMAA2Error as exc:
            log.warning("Could not delete the owner of array %s: %s", plan.array_id, exc)
        return removed, left

    async def complete_array_submission(self, array_id: str) -> list[str]:
        """See :meth:`.tracker.MPIOperatorTracker.complete_array_submission`."""
        ref = parse_array_id(array_id, self.namespace)
        intent = await self._intent(ref)
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
        before = await self._existing_tasks(plan)
        await self._create_tasks(plan)
        return [format_job_id(plan.namespace, n) for n in intent.task_names if n not in before]

    # Reading

    async def _intent(self, ref: ArrayRef) -> ArrayIntent | None:
        if ref.name is None:
            return None
        try:
            return read_intent(await aget_owner(self.api, ref.namespace, ref.name))
        except JobNotFoundError:
            return None

    async def list_array_jobs(self, array_id: str) -> list[str]:
        """See :meth:`.tracker.MPIOperatorTracker.list_array_jobs`."""
        ref = parse_array_id(array_id, self.namespace)
        if ref.name is None:
            return [str(job) for job in ref.jobs]
        intent = await self._intent(ref)
        if intent is not None:
            return [format_job_id(ref.namespace, name) for name in intent.task_names]
        items, version = await self.api.list_mpi_jobs(
            ref.namespace, label_selector=array_selector(ref.name)
        )
        waiter = ArrayWaiter(str(ref), ref.namespace, frozenset())
        waiter.snapshot(items, as_of=version)
        return [format_job_id(ref.namespace, name) for name in waiter.names]

    async def find_arrays(self, labels: Mapping[str, str]) -> list[str]:
        """See :meth:`.tracker.MPIOperatorTracker.find_arrays`."""
        owners = await alist_owners(self.api, self.namespace, selector_from_labels(labels))
        found = [owner for owner in oldest_first(owners) if read_intent(owner) is not None]
        return [job_id_of(owner) for owner in found]

    async def held_siblings(self, job_id: str) -> list[str]:
        """See :meth:`.tracker.MPIOperatorTracker.held_siblings`."""
        ref = parse_job_id(job_id, self.namespace)
        mpijob = await self.api.get_mpi_job(ref.namespace, ref.name, job_id=str(ref))
        array = limited_array_of(mpijob)
        if array is None:
            return []
        return await self.held_array_tasks(format_job_id(ref.namespace, array))

    async def _array_waiter(
        self, ref: ArrayRef, states: tuple[JobState, ...], *, require_all: bool = True
    ) -> tuple[ArrayWaiter, ArrayIntent | None]:
        intent = await self._intent(ref)
        if intent is not None:
            names: Sequence[str] | None = intent.task_names
        else:
            names = None if ref.name is not None else [job.name for job in ref.jobs]
        waiter = ArrayWaiter(
            str(ref), ref.namespace, wanted_states(states), names, require_all=require_all
        )
        return waiter, intent

    # Waiting and releasing

    async def wait_array(
        self, array_id: str, timeout: float | None, *states: JobState
    ) -> dict[str, JobState]:
        """See :meth:`.tracker.MPIOperatorTracker.wait_array`; served by the shared watch."""
        ref = parse_array_id(array_id, self.namespace)
        deadline = Deadline.start(timeout, time.monotonic())
        waiter, intent = await self._array_waiter(ref, states)
        hub = JobWatchHub.for_api(self.api, ref.namespace)
        if ref.name is not None:
            scope = hub.subscribe(self.api, label=(LABEL_ARRAY_ID, ref.name))
        else:
            scope = hub.subscribe(self.api, names=frozenset(job.name for job in ref.jobs))
        async with scope as subscription:
            while not isinstance(item := await next_change(subscription, deadline), Quiet):
                if isinstance(item, Snapshot):
                    waiter.snapshot(item.objects.values(), as_of=item.resource_version)
                else:
                    waiter.observe(item.name, None if item.deleted else item.object)
                intent, _ = await self._release_step(ref.namespace, intent, waiter)
                if waiter.finished():
                    return waiter.states()
        raise WaitTimeoutError(str(ref), timeout, waiter.states())

    async def _wait_array_task(
        self, namespace: str, array: str, name: str, deadline: Deadline, wanted: frozenset[JobState]
    ) -> tuple[JobState, Mapping[str, Any]]:
        """Wait for one task of a limited array, releasing its held tasks meanwhile.

        Returns:
            The state reached and the task's MPIJob as the watch last showed it.
        """
        ref = ArrayRef(namespace, array)
        waiter, intent = await self._array_waiter(ref, (), require_all=False)
        target = JobWaiter(format_job_id(namespace, name), wanted)
        deferred: float | None = None
        recheck: float | None = None
        hub = JobWatchHub.for_api(self.api, namespace)
        async with hub.subscribe(self.api, label=(LABEL_ARRAY_ID, array)) as subscription:
            # Waiting ends early when this waiter must look again with no event
            # (a deferred step, a repair grace): a quiet array sends none.
            while True:
                item = await next_change(subscription, deadline.within(recheck, time.monotonic()))
                if isinstance(item, Quiet):
                    if deadline.expired(time.monotonic()):
                        break
                    reached = None
                elif isinstance(item, Snapshot):
                    waiter.snapshot(item.objects.values(), as_of=item.resource_version)
                    seen = item.objects.get(name)
                    reached = target.observe(seen, as_of=item.resource_version)
                else:
                    waiter.observe(item.name, None if item.deleted else item.object)
                    reached = None
                    if item.name == name:
                        reached = target.observe(None if item.deleted else item.object)
                turn, deferred = single_wait_turn(intent, waiter, name, deferred, time.monotonic())
                if turn:
                    intent, _ = await self._release_step(namespace, intent, waiter)
                if reached is not None:
                    assert target.current is not None
                    return reached, target.current
                recheck = turn_recheck_in(
                    intent, waiter, name, deferred, time.monotonic(), time.time()
                )
        raise WaitTimeoutError(format_job_id(namespace, name), deadline.timeout, target.last_state)

    async def _release_step(
        self, namespace: str, intent: ArrayIntent | None, waiter: ArrayWaiter
    ) -> tuple[ArrayIntent | None, list[str]]:
        """See :meth:`.tracker_arrays.ArrayJobMethods._release_step`."""
        if intent is None:
            released = waiter.to_release()
            for name in released:
                await self._release(namespace, name)
            return None, released
        if intent.max_parallel <= 0:
            return intent, []
        mark, repair = release_step_plan(intent, waiter, time.time())
        claim = secrets.token_hex(8)
        for _ in range(MARK_ATTEMPTS):
            if mark <= intent.mark:
                break
            patch = mark_patch(intent, mark, claim, now=time.time())
            try:
                moved = read_intent(await apatch_owner(self.api, namespace, intent.name, patch))
            except ConflictError:
                moved = read_intent(await aget_owner(self.api, namespace, intent.name))
                if moved is None or moved.claim != claim:
                    intent = moved or intent
                    mark = next_mark(intent, waiter.ended(intent.task_names))
                    continue
            repair += waiter.held_among(intent.task_names[intent.mark : mark])
            intent = moved or intent
            break
        for name in repair:
            await self._release(namespace, name)
        return intent, repair

    async def _release(self, namespace: str, name: str) -> None:
        job_id = format_job_id(namespace, name)
        with contextlib.suppress(JobNotFoundError):
            await self.api.patch_mpi_job(namespace, name, release_patch(), job_id=job_id)

    async def release_array_tasks(self, array_id: str) -> list[str]:
        """See :meth:`.tracker.MPIOperatorTracker.release_array_tasks`."""
        ref = parse_array_id(array_id, self.namespace)
        waiter, intent = await self._array_waiter(ref, (), require_all=False)
        selector = array_selector(ref.name) if ref.name is not None else None
        items, version = await self.api.list_mpi_jobs(ref.namespace, label_selector=selector)
        waiter.snapshot(items, as_of=version)
        _, released = await self._release_step(ref.namespace, intent, waiter)
        return [format_job_id(ref.namespace, name) for name in released]

    async def held_array_tasks(self, array_id: str) -> list[str]:
        """See :meth:`.tracker.MPIOperatorTracker.held_array_tasks`."""
        ref = parse_array_id(array_id, self.namespace)
        selector = array_selector(ref.name) if ref.name is not None else None
        items, _ = await self.api.list_mpi_jobs(ref.namespace, label_selector=selector)
        waiter = ArrayWaiter(str(ref), ref.namespace, frozenset(), require_all=False)
        waiter.snapshot(items)
        return [
            format_job_id(ref.namespace, n)
            for n in waiter.names
            if is_held(waiter.job(n) or {}) and not waiter.ended([n])[0]
        ]
