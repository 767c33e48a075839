"""``AsyncMPIOperatorTracker``: the MPIJob tracker as coroutines, for triggers.

The twin of :class:`~.tracker.MPIOperatorTracker` over ``kubernetes_asyncio``.
It is not a subclass: it shares the pure parts (``submission``, ``control``,
``waiters``, ``status``, ``queries``, ``retry``, ``waiting``, ``ids``) and
differs only in how requests are sent. Waits are served by the
:class:`~.watch_hub.JobWatchHub` of the event loop: every waiter of one
cluster and namespace shares one watch stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import kubernetes_asyncio.client

from airflow_provider_mpi.drmaa2.errors import (
    BackendError,
    ConflictError,
    DRMAA2Error,
    InvalidArgumentError,
    InvalidStateError,
    JobNotFoundError,
    TransientBackendError,
    WaitTimeoutError,
)
from airflow_provider_mpi.drmaa2.info import JobInfo
from airflow_provider_mpi.drmaa2.state import JobControlAction, JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.aio import AsyncMPIJobApi
from airflow_provider_mpi.mpioperator.arrays import is_held
from airflow_provider_mpi.mpioperator.async_tracker_arrays import (
    AsyncArrayJobMethods,
    Quiet,
    next_change,
)
from airflow_provider_mpi.mpioperator.control import control_applied, control_patch
from airflow_provider_mpi.mpioperator.events import JobEvent, job_events_from_k8s
from airflow_provider_mpi.mpioperator.ids import (
    JobRef,
    format_job_id,
    parse_job_id,
    validate_namespace,
)
from airflow_provider_mpi.mpioperator.pod_hub import JobPodHub
from airflow_provider_mpi.mpioperator.queries import (
    check_crd,
    container_started,
    crd_missing,
    job_categories,
    job_event_objects,
    job_event_selectors,
    job_template_from_mpi_job,
    launcher_container,
    launcher_selector,
    mpijob_event_selector,
    needs_events,
    newest,
    oldest_first,
    pods_selector,
    selector_from_labels,
)
from airflow_provider_mpi.mpioperator.retry import RetryPolicy, acall_with_retry
from airflow_provider_mpi.mpioperator.status import (
    job_id_of,
    job_info_from_mpi_job,
    job_state_from_mpi_job,
)
from airflow_provider_mpi.mpioperator.submission import (
    conflict_error,
    is_lost_create,
    is_same_submission,
    prepare_job,
)
from airflow_provider_mpi.mpioperator.tracker import CONTROL_ATTEMPTS
from airflow_provider_mpi.mpioperator.tracker_array_release import limited_array_of
from airflow_provider_mpi.mpioperator.waiters import JobWaiter
from airflow_provider_mpi.mpioperator.waiting import Deadline, wanted_states
from airflow_provider_mpi.mpioperator.watch_cursor import Snapshot
from airflow_provider_mpi.mpioperator.watch_hub import JobWatchHub

__all__ = ["AsyncMPIOperatorTracker"]

log = logging.getLogger(__name__)

_OUTPUT_STATES = (JobState.RUNNING, JobState.DONE, JobState.FAILED)
#: Event lists of one job (one per object: MPIJob, launcher Job, pods) in flight at once.
EVENT_READERS = 8


class AsyncMPIOperatorTracker(AsyncArrayJobMethods):
    """The MPIJob tracker for asyncio (Airflow triggers); see ``MPIOperatorTracker``.

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

    def _ref(self, job_id: str) -> JobRef:
        return parse_job_id(job_id, self.namespace)

    async def _get(self, ref: JobRef) -> dict[str, Any]:
        return await self.api.get_mpi_job(ref.namespace, ref.name, job_id=str(ref))

    # Submission

    async def add_job(self, template: JobTemplate) -> str:
        """See :meth:`.tracker.MPIOperatorTracker.add_job`."""
        return await self._create(prepare_job(template, namespace=self.namespace))

    async def _create(self, mpijob: dict[str, Any]) -> str:
        namespace = str(mpijob["metadata"]["namespace"])
        name = str(mpijob["metadata"]["name"])
        job_id = format_job_id(namespace, name)

        async def attempt() -> None:
            try:
                await self.api.create_mpi_job(namespace, mpijob)
            except ConflictError:
                try:
                    existing = await self.api.get_mpi_job(namespace, name, job_id=job_id)
                except JobNotFoundError:
                    raise TransientBackendError(409, f"{job_id} vanished after 409") from None
                if not is_same_submission(existing, mpijob):
                    raise conflict_error(job_id) from None

        try:
            await acall_with_retry(attempt, self.retry, what=f"create MPIJob {job_id}")
        except DRMAA2Error as error:
            if not is_lost_create(error) or not await self._created_here(mpijob, job_id):
                raise
            log.warning("create of MPIJob %s failed (%s) but it took effect", job_id, error)
        return job_id

    async def _created_here(self, mpijob: Mapping[str, Any], job_id: str) -> bool:
        """See :meth:`.tracker.MPIOperatorTracker._created_here`."""
        meta = mpijob["metadata"]
        try:
            existing = await self.api.get_mpi_job(meta["namespace"], meta["name"], job_id=job_id)
        except DRMAA2Error:
            return False
        return is_same_submission(existing, mpijob)

    # Reading

    async def list_jobs(self) -> list[str]:
        """See :meth:`.tracker.MPIOperatorTracker.list_jobs`."""
        items, _ = await self.api.list_mpi_jobs(self.namespace)
        return [job_id_of(job) for job in oldest_first(items)]

    async def find_jobs(self, labels: Mapping[str, str]) -> list[str]:
        """See :meth:`.tracker.MPIOperatorTracker.find_jobs`."""
        selector = selector_from_labels(labels)
        items, _ = await self.api.list_mpi_jobs(self.namespace, label_selector=selector)
        return [job_id_of(job) for job in oldest_first(items)]

    async def job_state(self, job_id: str) -> tuple[JobState, str]:
        """See :meth:`.tracker.MPIOperatorTracker.job_state`."""
        ref = self._ref(job_id)
        mpijob = await self._get(ref)
        state = job_state_from_mpi_job(mpijob, await self._validation_events(ref, mpijob))
        if state[0].is_terminal or is_held(mpijob):
            await self._release_for(ref, mpijob)
        return state

    async def _release_for(self, ref: JobRef, mpijob: Mapping[str, Any]) -> None:
        """See :meth:`.tracker.MPIOperatorTracker._release_for`."""
        array = limited_array_of(mpijob)
        if array is None:
            return
        try:
            await self.release_array_tasks(format_job_id(ref.namespace, array))
        except DRMAA2Error as exc:
            log.warning("Could not release held tasks of array %s: %s", array, exc)

    async def _validation_events(
        self, ref: JobRef, mpijob: Mapping[str, Any]
    ) -> list[dict[str, Any]] | None:
        """The events about the MPIJob, read only when its state may depend on them."""
        if not needs_events(mpijob):
            return None
        return await self.api.list_events(
            ref.namespace, field_selector=mpijob_event_selector(mpijob)
        )

    async def job_info(self, job_id: str) -> JobInfo:
        """See :meth:`.tracker.MPIOperatorTracker.job_info`."""
        ref = self._ref(job_id)
        mpijob = await self._get(ref)
        pods = await self.api.list_pods(ref.namespace, pods_selector(ref.name))
        events = await self._validation_events(ref, mpijob)
        return job_info_from_mpi_job(mpijob, pods=pods, events=events)

    async def job_events(self, job_id: str, *, warnings_only: bool = False) -> list[JobEvent]:
        """See :meth:`.tracker.MPIOperatorTracker.job_events`."""
        ref = self._ref(job_id)
        mpijob = await self._get(ref)
        pods = await self.api.list_pods(ref.namespace, pods_selector(ref.name))
        limit = asyncio.Semaphore(EVENT_READERS)

        async def read(selector: str) -> list[dict[str, Any]]:
            async with limit:
                return await self.api.list_events(ref.namespace, field_selector=selector)

        lists = await asyncio.gather(*(read(s) for s in job_event_selectors(mpijob, pods)))
        events = [event for found in lists for event in found]
        objects = job_event_objects(ref.name, pods)
        return job_events_from_k8s(events, objects, warnings_only=warnings_only)

    async def job_template(self, job_id: str) -> JobTemplate:
        """See :meth:`.tracker.MPIOperatorTracker.job_template`."""
        return job_template_from_mpi_job(await self._get(self._ref(job_id)), job_id)

    async def list_job_categories(self) -> list[str]:
        """See :meth:`.tracker.MPIOperatorTracker.list_job_categories`."""
        items, _ = await self.api.list_mpi_jobs(self.namespace)
        return job_categories(items)

    async def check_cluster(self) -> None:
        """See :meth:`.tracker.MPIOperatorTracker.check_cluster`."""
        try:
            crd = await self.api.get_crd()
        except BackendError as exc:
            raise crd_missing(exc) from exc
        check_crd(crd)
        await self.api.list_mpi_jobs(self.namespace, limit=1)

    # Control

    async def job_control(self, job_id: str, action: JobControlAction | str) -> None:
        """See :meth:`.tracker.MPIOperatorTracker.job_control`."""
        action = JobControlAction.parse(action)
        ref = self._ref(job_id)
        for attempt in range(CONTROL_ATTEMPTS):
            mpijob = await self._get(ref)
            if attempt and control_applied(mpijob, action):
                return
            state, _ = job_state_from_mpi_job(mpijob)
            version = (mpijob.get("metadata") or {}).get("resourceVersion")
            patch = control_patch(str(ref), state, action, resource_version=version)
            try:
                await self.api.patch_mpi_job(ref.namespace, ref.name, patch, job_id=str(ref))
                return
            except ConflictError:
                continue
        raise ConflictError(409, f"job {ref} kept changing; {action} was not applied")

    async def delete_job(self, job_id: str) -> None:
        """See :meth:`.tracker.MPIOperatorTracker.delete_job`."""
        ref = self._ref(job_id)
        mpijob = await self._get(ref)
        state, _ = job_state_from_mpi_job(mpijob)
        if not state.is_terminal:
            raise InvalidStateError(str(ref), state, "delete")
        uid = (mpijob.get("metadata") or {}).get("uid")
        try:
            await self.api.delete_mpi_job(
                ref.namespace, ref.name, job_id=str(ref), uid=uid, propagation_policy="Background"
            )
        except JobNotFoundError:
            return

    # Waiting (one shared watch per cluster and namespace)

    async def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState:
        """See :meth:`.tracker.MPIOperatorTracker.wait`; served by the shared watch.

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
            events = await self._validation_events(ref, mpijob)
        return state, job_info_from_mpi_job(mpijob, pods=pods, events=events)

    async def _wait(
        self, ref: JobRef, timeout: float | None, states: tuple[JobState, ...]
    ) -> tuple[JobState, Mapping[str, Any]]:
        deadline = Deadline.start(timeout, time.monotonic())
        waiter = JobWaiter(str(ref), wanted_states(states))
        hub = JobWatchHub.for_api(self.api, ref.namespace)
        array: str | None = None
        async with hub.subscribe(self.api, names=frozenset({ref.name})) as subscription:
            while not isinstance(item := await next_change(subscription, deadline), Quiet):
                if isinstance(item, Snapshot):
                    seen = item.objects.get(ref.name)
                    array = limited_array_of(seen) if seen is not None else None
                    if array is not None:  # a task of a limited array: follow the array
                        break
                    reached = waiter.observe(seen, as_of=item.resource_version)
                elif item.name != ref.name:
                    continue
                else:
                    reached = waiter.observe(None if item.deleted else item.object)
                if reached is not None:
                    assert waiter.current is not None
                    return reached, waiter.current
        if array is not None:
            wanted = wanted_states(states)
            return await self._wait_array_task(ref.namespace, array, ref.name, deadline, wanted)
        raise WaitTimeoutError(str(ref), timeout, waiter.last_state)

    # Output

    def job_output(
        self, job_id: str, *, follow: bool = False, tail_lines: int | None = None
    ) -> AsyncIterator[str]:
        """See :meth:`.tracker.MPIOperatorTracker.job_output` (an async iterator).

        Raises:
            InvalidArgumentError: ``tail_lines`` is negative (at once).
        """
        if tail_lines is not None and (not isinstance(tail_lines, int) or tail_lines < 0):
            raise InvalidArgumentError("tail_lines", tail_lines, "must be None or an int >= 0")
        return self._output(self._ref(job_id), follow, tail_lines)

    async def _output(
        self, ref: JobRef, follow: bool, tail_lines: int | None
    ) -> AsyncIterator[str]:
        await self._get(ref)
        pod = await self._launcher(ref)
        if pod is None or not container_started(pod):
            if not follow:
                return
            try:
                await self.wait(str(ref), None, *_OUTPUT_STATES)
            except InvalidStateError:
                return
            pod = await self._launcher(ref)
            if pod is None:
                return
        name = str(pod["metadata"]["name"])
        container = launcher_container(pod)
        if follow:
            async for line in self.api.follow_pod_log(
                ref.namespace, name, container=container, tail_lines=tail_lines
            ):
                yield line
        else:
            for line in await self.api.read_pod_log(
                ref.namespace, name, container=container, tail_lines=tail_lines
            ):
                yield line

    async def _launcher(self, ref: JobRef) -> Mapping[str, Any] | None:
        return newest(await self.api.list_pods(ref.namespace, launcher_selector(ref.name)))
