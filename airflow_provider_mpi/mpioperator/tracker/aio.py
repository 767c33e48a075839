"""``AsyncMPIOperatorTracker``: the MPIJob tracker as coroutines, for triggers.

A thin driver like :class:`~.sync.MPIOperatorTracker`: the very same steps
(:mod:`.steps`, :mod:`.array_steps`), run by :func:`~.run.run_async` over the
``kubernetes_asyncio`` transport (:class:`~..client.aio.AsyncMPIJobApi`).
Waits are served by the :class:`~.watch_hub.JobWatchHub` of the event loop
(every waiter of one cluster and namespace shares one watch stream); they,
the output and an array's creates are in :mod:`.aio_io`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import kubernetes_asyncio.client

from airflow_provider_mpi.drmaa2.info import JobInfo
from airflow_provider_mpi.drmaa2.state import JobControlAction, JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.client.aio import AsyncMPIJobApi
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.status import job_info_from_mpi_job
from airflow_provider_mpi.mpioperator.status.events import JobEvent
from airflow_provider_mpi.mpioperator.tracker import aio_io, array_steps, steps
from airflow_provider_mpi.mpioperator.tracker.array_wait import ArrayWait
from airflow_provider_mpi.mpioperator.tracker.arrays import is_held
from airflow_provider_mpi.mpioperator.tracker.ids import (
    JobRef,
    format_job_id,
    parse_array_id,
    parse_job_id,
    validate_namespace,
)
from airflow_provider_mpi.mpioperator.tracker.pod_hub import JobPodHub
from airflow_provider_mpi.mpioperator.tracker.run import Step, run_async
from airflow_provider_mpi.mpioperator.tracker.submission import prepare_array, prepare_job
from airflow_provider_mpi.mpioperator.tracker.waiting import Deadline, wanted_states

__all__ = ["AsyncMPIOperatorTracker"]

T = TypeVar("T")


class AsyncMPIOperatorTracker:
    """The MPIJob tracker for asyncio (Airflow triggers); see ``MPIOperatorTracker``.

    Every method is the coroutine of the sync tracker's method of the same
    name, with the same arguments, results and errors.

    Args:
        api_client: a configured ``kubernetes_asyncio.client.ApiClient``; the
            caller owns it and closes it after the tracker's last call.
        namespace: where jobs go and where bare job IDs point.
        retry: the retry policy of idempotent requests.

    Example:
        >>> async with await cluster.async_api_client() as client:  # doctest: +SKIP
        ...     tracker = AsyncMPIOperatorTracker(client, namespace="team-a")
        ...     state = await tracker.wait("team-a/pi", 600)
    """

    def __init__(
        self,
        api_client: kubernetes_asyncio.client.ApiClient,
        *,
        namespace: str = "default",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.namespace = validate_namespace(namespace)
        self.api_client = api_client
        self.retry = retry or RetryPolicy()
        self.api = AsyncMPIJobApi(api_client, self.retry)

    async def _run(self, step: Step[T]) -> T:
        return await run_async(step, self.api)

    def _ref(self, job_id: str) -> JobRef:
        return parse_job_id(job_id, self.namespace)

    # Submission and reading

    async def add_job(self, template: JobTemplate) -> str:
        """See :meth:`.sync.MPIOperatorTracker.add_job`."""
        mpijob = prepare_job(template, namespace=self.namespace)
        return await self._run(steps.create(mpijob, self.retry))

    async def list_jobs(self) -> list[str]:
        """See :meth:`.sync.MPIOperatorTracker.list_jobs`."""
        return await self._run(steps.list_jobs(self.namespace))

    async def find_jobs(self, labels: Mapping[str, str]) -> list[str]:
        """See :meth:`.sync.MPIOperatorTracker.find_jobs`."""
        return await self._run(steps.list_jobs(self.namespace, labels))

    async def job_state(self, job_id: str) -> tuple[JobState, str]:
        """See :meth:`.sync.MPIOperatorTracker.job_state`."""
        ref = self._ref(job_id)
        state, mpijob = await self._run(steps.state_of(ref))
        if state[0].is_terminal or is_held(mpijob):
            await self._run(array_steps.release_for(ref, mpijob))
        return state

    async def job_info(self, job_id: str) -> JobInfo:
        """See :meth:`.sync.MPIOperatorTracker.job_info`."""
        return await self._run(steps.job_info(self._ref(job_id)))

    async def job_events(self, job_id: str, *, warnings_only: bool = False) -> list[JobEvent]:
        """See :meth:`.sync.MPIOperatorTracker.job_events` (the lists are read at once)."""
        return await self._run(steps.job_events(self._ref(job_id), warnings_only=warnings_only))

    async def job_template(self, job_id: str) -> JobTemplate:
        """See :meth:`.sync.MPIOperatorTracker.job_template`."""
        return await self._run(steps.job_template(self._ref(job_id), job_id))

    async def list_job_categories(self) -> list[str]:
        """See :meth:`.sync.MPIOperatorTracker.list_job_categories`."""
        return await self._run(steps.list_job_categories(self.namespace))

    async def check_cluster(self) -> None:
        """See :meth:`.sync.MPIOperatorTracker.check_cluster`."""
        await self._run(steps.check_cluster(self.namespace))

    # Control

    async def job_control(self, job_id: str, action: JobControlAction | str) -> None:
        """See :meth:`.sync.MPIOperatorTracker.job_control`."""
        action = JobControlAction.parse(action)
        await self._run(steps.job_control(self._ref(job_id), action))

    async def delete_job(self, job_id: str) -> None:
        """See :meth:`.sync.MPIOperatorTracker.delete_job`."""
        await self._run(steps.delete_job(self._ref(job_id)))

    # Waiting (one shared watch per cluster and namespace)

    async def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState:
        """See :meth:`.sync.MPIOperatorTracker.wait`; served by the shared watch.

        Cancelling the coroutine stops the wait (and the stream, if it was
        the last waiter).
        """
        state, _ = await self._wait(self._ref(job_id), timeout, states)
        return state

    async def wait_info(
        self, job_id: str, timeout: float | None, *states: JobState
    ) -> tuple[JobState, JobInfo]:
        """Wait as :meth:`wait` does, and describe the job as the wait saw it end.

        The JobInfo comes from the shared watches, not from reads: the MPIJob
        from the MPIJobs' stream, its pods from the namespace's
        :class:`~.pod_hub.JobPodHub`. Only a wait that ends on a state
        other than Done or Failed may cost a read, of the job's events, when
        the operator has set no condition yet (a validation error shows there).

        Returns:
            The state reached and the job's JobInfo.

        Raises:
            WaitTimeoutError: the timeout passed first.
        """
        ref = self._ref(job_id)
        pod_hub = JobPodHub.for_api(self.api, ref.namespace)
        async with pod_hub.subscribe(self.api):
            state, mpijob = await self._wait(ref, timeout, states)
            version = str((mpijob.get("metadata") or {}).get("resourceVersion") or "")
            pods = await pod_hub.pods_at(ref.name, version)
        events = None
        if not state.is_terminal:  # an end by condition or annotation needs no events
            events = await self._run(steps.validation_events(ref, mpijob))
        return state, job_info_from_mpi_job(mpijob, pods=pods, events=events)

    async def _wait(
        self, ref: JobRef, timeout: float | None, states: tuple[JobState, ...]
    ) -> tuple[JobState, Mapping[str, Any]]:
        deadline = Deadline.start(timeout, time.monotonic())
        return await aio_io.wait_job(self.api, ref, deadline, wanted_states(states), timeout)

    # Arrays

    async def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        """See :meth:`.sync.MPIOperatorTracker.add_array_job`."""
        plan = prepare_array(template, begin, end, step, max_parallel, namespace=self.namespace)
        plan = await self._run(array_steps.record_intent(plan, self.retry))
        await aio_io.create_tasks(self.api, self.retry, plan)
        return plan.array_id

    async def complete_array_submission(self, array_id: str) -> list[str]:
        """See :meth:`.sync.MPIOperatorTracker.complete_array_submission`."""
        ref = parse_array_id(array_id, self.namespace)
        plan, intent, before = await self._run(array_steps.resumed_plan(ref))
        await aio_io.create_tasks(self.api, self.retry, plan)
        return [format_job_id(plan.namespace, n) for n in intent.task_names if n not in before]

    async def list_array_jobs(self, array_id: str) -> list[str]:
        """See :meth:`.sync.MPIOperatorTracker.list_array_jobs`."""
        ref = parse_array_id(array_id, self.namespace)
        return await self._run(array_steps.list_array_jobs(ref))

    async def find_arrays(self, labels: Mapping[str, str]) -> list[str]:
        """See :meth:`.sync.MPIOperatorTracker.find_arrays`."""
        return await self._run(array_steps.find_arrays(self.namespace, labels))

    async def held_siblings(self, job_id: str) -> list[str]:
        """See :meth:`.sync.MPIOperatorTracker.held_siblings`."""
        return await self._run(array_steps.held_siblings(self._ref(job_id)))

    async def held_array_tasks(self, array_id: str) -> list[str]:
        """See :meth:`.sync.MPIOperatorTracker.held_array_tasks`."""
        ref = parse_array_id(array_id, self.namespace)
        return await self._run(array_steps.held_array_tasks(ref))

    async def release_array_tasks(self, array_id: str) -> list[str]:
        """See :meth:`.sync.MPIOperatorTracker.release_array_tasks`."""
        ref = parse_array_id(array_id, self.namespace)
        return await self._run(array_steps.release_array_tasks(ref))

    async def wait_array(
        self, array_id: str, timeout: float | None, *states: JobState
    ) -> dict[str, JobState]:
        """See :meth:`.sync.MPIOperatorTracker.wait_array`; served by the shared watch."""
        ref = parse_array_id(array_id, self.namespace)
        deadline = Deadline.start(timeout, time.monotonic())
        wait = await self._run(ArrayWait.start(ref, states, timeout))
        return await aio_io.wait_array(self.api, wait, deadline)

    # Output

    def job_output(
        self, job_id: str, *, follow: bool = False, tail_lines: int | None = None
    ) -> AsyncIterator[str]:
        """See :meth:`.sync.MPIOperatorTracker.job_output` (an async iterator).

        Raises:
            InvalidArgumentError: ``tail_lines`` is negative (at once).
        """
        steps.check_tail_lines(tail_lines)
        return self._output(self._ref(job_id), follow, tail_lines)

    async def _output(
        self, ref: JobRef, follow: bool, tail_lines: int | None
    ) -> AsyncIterator[str]:
        await self._run(steps.get_job(ref))
        async for line in aio_io.output(self, ref, follow, tail_lines):
            yield line
