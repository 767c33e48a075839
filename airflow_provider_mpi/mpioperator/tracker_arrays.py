"""The array job methods of :class:`~.tracker.MPIOperatorTracker` (sync).

Split from ``tracker.py`` to keep modules small. An array is one MPIJob per
task (see :mod:`.arrays` and :mod:`.submission`); submission is all or
nothing, and the tasks held back by ``max_parallel`` are released by
whoever waits on the array.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, JobNotFoundError, WaitTimeoutError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.api import MPIJobApi
from airflow_provider_mpi.mpioperator.control import release_patch
from airflow_provider_mpi.mpioperator.ids import format_job_id, parse_array_id
from airflow_provider_mpi.mpioperator.queries import array_selector
from airflow_provider_mpi.mpioperator.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.submission import array_failure, prepare_array
from airflow_provider_mpi.mpioperator.sync_watch import watch_mpi_jobs
from airflow_provider_mpi.mpioperator.waiters import ArrayWaiter
from airflow_provider_mpi.mpioperator.waiting import Deadline, wanted_states
from airflow_provider_mpi.mpioperator.watch_cursor import Snapshot

__all__ = ["ARRAY_SUBMIT_WORKERS", "ArrayJobMethods"]

#: Concurrent creates while submitting an array.
ARRAY_SUBMIT_WORKERS = 8


class ArrayJobMethods:
    """Array job methods mixed into :class:`~.tracker.MPIOperatorTracker`."""

    namespace: str
    api: MPIJobApi
    retry: RetryPolicy

    def _create(self, mpijob: dict[str, Any]) -> str:
        raise NotImplementedError  # provided by MPIOperatorTracker

    def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        """Submit one MPIJob per task; see ``JobTracker.add_array_job``.

        Tasks are named ``<array>-<task-id>``; those beyond ``max_parallel``
        are created held and released by :meth:`wait_array` as slots free
        up. If a create fails, the tasks already created are deleted and the
        error says so.

        Args:
            template: the template every task runs (``TASK_ID`` set).
            begin: first task ID.
            end: last task ID.
            step: increment.
            max_parallel: cap on concurrently active tasks; 0 for none.

        Returns:
            The array job ID ``"<namespace>/<array>"``.
        """
        plan = prepare_array(template, begin, end, step, max_parallel, namespace=self.namespace)
        created: list[str] = []
        with ThreadPoolExecutor(max_workers=ARRAY_SUBMIT_WORKERS) as pool:
            futures: dict[Future[str], str] = {
                pool.submit(self._create, task): str(task["metadata"]["name"])
                for task in plan.tasks
            }
            _done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            wait(pending)
            failure: tuple[str, DRMAA2Error] | None = None
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
            return plan.array_id
        removed, left = self._remove_tasks(plan.namespace, created)
        raise array_failure(plan.array_id, failure[0], failure[1], removed, left) from failure[1]

    def _remove_tasks(self, namespace: str, names: list[str]) -> tuple[list[str], list[str]]:
        removed, left = [], []
        for name in names:
            job_id = format_job_id(namespace, name)
            try:
                self.api.delete_mpi_job(
                    namespace, name, job_id=job_id, propagation_policy="Background"
                )
            except JobNotFoundError:
                pass
            except DRMAA2Error:
                left.append(job_id)
                continue
            removed.append(job_id)
        return removed, left

    def list_array_jobs(self, array_id: str) -> list[str]:
        """The task job IDs of an array, in task order.

        Args:
            array_id: an ID from :meth:`add_array_job`, or the Go seed's JSON list.

        Returns:
            Job IDs.

        Raises:
            JobNotFoundError: no task carries the array's label.
        """
        ref = parse_array_id(array_id, self.namespace)
        if ref.name is None:
            return [str(job) for job in ref.jobs]
        items, _ = self.api.list_mpi_jobs(ref.namespace, label_selector=array_selector(ref.name))
        waiter = ArrayWaiter(str(ref), ref.namespace, frozenset())
        waiter.snapshot(items)
        return [format_job_id(ref.namespace, name) for name in waiter.names]

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
            JobNotFoundError: the array or one of its tasks does not exist.
            InvalidStateError: a task ended in a state not waited for.
        """
        ref = parse_array_id(array_id, self.namespace)
        deadline = Deadline.start(timeout, time.monotonic())
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
            for name in waiter.to_release():
                self._release(ref.namespace, name)
            if waiter.finished():
                return waiter.states()
        raise WaitTimeoutError(str(ref), timeout, waiter.states())

    def _release(self, namespace: str, name: str) -> None:
        job_id = format_job_id(namespace, name)
        self.api.patch_mpi_job(namespace, name, release_patch(), job_id=job_id)

    def release_array_tasks(self, array_id: str) -> list[str]:
        """One release step: start the held tasks that ``max_parallel`` now allows.

        Args:
            array_id: the array.

        Returns:
            The job IDs released (possibly none).
        """
        ref = parse_array_id(array_id, self.namespace)
        names = None if ref.name is not None else [job.name for job in ref.jobs]
        waiter = ArrayWaiter(str(ref), ref.namespace, wanted_states(()), names)
        selector = array_selector(ref.name) if ref.name is not None else None
        items, version = self.api.list_mpi_jobs(ref.namespace, label_selector=selector)
        waiter.snapshot(items, as_of=version)
        released = waiter.to_release()
        for name in released:
            self._release(ref.namespace, name)
        return [format_job_id(ref.namespace, name) for name in released]
