"""The JobTracker protocol: what every DRMAA2 backend must do, in writing.

Modelled on the ``JobTracker`` interface of drmaa2os
(``pkg/jobtracker/jobtracker.go``): one small required interface whose
docstrings are the contract, and optional capabilities as separate small
protocols (:class:`JobTemplater`, :class:`JobOutputReader`) that a caller
checks with ``isinstance``. :class:`AsyncJobTracker` is the same contract as
coroutines, for triggers running on an event loop.

The differences from Go are Pythonic only: errors are raised (the classes of
:mod:`airflow_provider_mpi.drmaa2.errors`) instead of returned, timeouts are
seconds (``None`` waits forever, ``0`` checks once), ``wait`` returns the
state it reached, and actions are :class:`JobControlAction` members.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol, runtime_checkable

from airflow_provider_mpi.drmaa2.info import JobInfo
from airflow_provider_mpi.drmaa2.state import JobControlAction, JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate

__all__ = [
    "AsyncJobOutputReader",
    "AsyncJobTemplater",
    "AsyncJobTracker",
    "JobOutputReader",
    "JobTemplater",
    "JobTracker",
]


@runtime_checkable
class JobTracker(Protocol):
    """The operations a DRMAA2 job tracker must offer.

    Every method raises :class:`~airflow_provider_mpi.drmaa2.errors.BackendError`
    (or a subclass) when the backend fails, and
    :class:`~airflow_provider_mpi.drmaa2.errors.JobNotFoundError` for an
    unknown job ID; those are not repeated below.
    """

    def list_jobs(self) -> list[str]:
        """Return the IDs of all jobs this tracker can see.

        Returns:
            Job IDs, including the tasks of array jobs.
        """
        ...

    def list_array_jobs(self, array_id: str) -> list[str]:
        """Return the job IDs of the tasks an array job ID stands for.

        Args:
            array_id: an ID returned by :meth:`add_array_job`.

        Returns:
            The task job IDs in task ID order: every task the array was
            submitted with, also one whose creation was cut short.

        Raises:
            JobNotFoundError: no such array job.
            InvalidArgumentError: the ID is malformed.
        """
        ...

    def add_job(self, template: JobTemplate) -> str:
        """Submit (or start, when the backend does not queue) one job.

        The template is validated before anything reaches the backend.

        Args:
            template: the job to run.

        Returns:
            The unique job ID.

        Raises:
            InvalidTemplateError: a field has a bad value (the error names it).
            UnsupportedAttributeError: a field is set that the backend cannot honour.
        """
        ...

    def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        """Submit one job per task ID of ``range(begin, end + 1, step)``.

        Each task runs the same template with the environment variable
        ``TASK_ID`` set to its task ID, by which it decides what to do (which
        data set to read, ...); ``$DRMAA2_INDEX$`` in paths and arguments is
        replaced by the task ID.

        Idempotent per array: submitting the same array again (same array
        name, template, range and ``max_parallel``) creates only the tasks
        that are missing, e.g. after the first submitter was killed part way;
        the same name with a different template or range is a
        :class:`ConflictError`. No task is ever created twice.

        Args:
            template: the job every task runs.
            begin: first task ID, at least 1.
            end: last task ID, at least ``begin``.
            step: increment between task IDs, at least 1.
            max_parallel: at most this many tasks run at the same time;
                0 means no limit. An optional capability: a backend that
                cannot limit must reject a positive value rather than ignore it.

        Returns:
            The array job ID, accepted by :meth:`list_array_jobs`.

        Raises:
            ConflictError: the array's name is taken by another submission.
            InvalidArgumentError: a bad range or ``max_parallel`` (the error
                names the argument).
            InvalidTemplateError: a field has a bad value.
            UnsupportedAttributeError: a field the backend cannot honour.
        """
        ...

    def job_state(self, job_id: str) -> tuple[JobState, str]:
        """Return the DRMAA2 state of a job and a free-form substate.

        Args:
            job_id: the job.

        Returns:
            ``(state, substate)``; the substate explains the state in the
            backend's words (e.g. a condition reason), possibly empty.
        """
        ...

    def job_info(self, job_id: str) -> JobInfo:
        """Return what is known about a job.

        Must not fail for an unfinished job: unknown values stay unset.

        Args:
            job_id: the job.

        Returns:
            A JobInfo whose ``state`` agrees with :meth:`job_state`.
        """
        ...

    def job_control(self, job_id: str, action: JobControlAction) -> None:
        """Ask the backend to terminate, suspend, resume, hold or release a job.

        Returns once the backend accepted the request, not when the job
        reached its new state (use :meth:`wait` for that).

        Args:
            job_id: the job.
            action: the action.

        Raises:
            InvalidStateError: the job's state does not allow the action (e.g.
                suspending a finished job).
            UnsupportedAttributeError: the backend does not offer the action.
        """
        ...

    def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState:
        """Block until the job is in one of ``states``.

        Args:
            job_id: the job.
            timeout: seconds to wait at most; ``0`` checks once without
                waiting, ``None`` waits forever.
            *states: the states to wait for; none given means any end state
                (Done, Failed).

        Returns:
            The state reached, one of ``states``.

        Raises:
            WaitTimeoutError: the timeout passed first (carries the last state).
            InvalidStateError: the job reached an end state that is not
                among ``states``, so it can never reach them.
        """
        ...

    def delete_job(self, job_id: str) -> None:
        """Remove a finished job and its resources from the backend.

        Does not stop a job: the job must be in an end state.

        Args:
            job_id: the job.

        Raises:
            InvalidStateError: the job has not finished.
        """
        ...

    def list_job_categories(self) -> list[str]:
        """Return job categories usable as ``JobTemplate.job_category``.

        The list is informational (e.g. known container images); the backend
        may accept other categories.

        Returns:
            Category names, possibly empty.
        """
        ...


@runtime_checkable
class JobTemplater(Protocol):
    """A tracker that can return the template a job was submitted with."""

    def job_template(self, job_id: str) -> JobTemplate:
        """Return the template of a job, as submitted.

        Args:
            job_id: the job.

        Returns:
            A copy of the template.

        Raises:
            JobNotFoundError: no such job, or it was not submitted with a template.
        """
        ...


@runtime_checkable
class JobOutputReader(Protocol):
    """A tracker that can read a job's output (for MPI: the launcher's log)."""

    def job_output(
        self, job_id: str, *, follow: bool = False, tail_lines: int | None = None
    ) -> Iterator[str]:
        """Yield the job's output lines, without line endings.

        Args:
            job_id: the job.
            follow: keep yielding new lines until the output ends.
            tail_lines: start with only the last N lines; None for all.

        Returns:
            An iterator of lines; empty while the job has produced nothing.
        """
        ...


@runtime_checkable
class AsyncJobTracker(Protocol):
    """:class:`JobTracker` as coroutines; the same contract for each method."""

    async def list_jobs(self) -> list[str]:
        """See :meth:`JobTracker.list_jobs`."""
        ...

    async def list_array_jobs(self, array_id: str) -> list[str]:
        """See :meth:`JobTracker.list_array_jobs`."""
        ...

    async def add_job(self, template: JobTemplate) -> str:
        """See :meth:`JobTracker.add_job`."""
        ...

    async def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        """See :meth:`JobTracker.add_array_job`."""
        ...

    async def job_state(self, job_id: str) -> tuple[JobState, str]:
        """See :meth:`JobTracker.job_state`."""
        ...

    async def job_info(self, job_id: str) -> JobInfo:
        """See :meth:`JobTracker.job_info`."""
        ...

    async def job_control(self, job_id: str, action: JobControlAction) -> None:
        """See :meth:`JobTracker.job_control`."""
        ...

    async def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState:
        """See :meth:`JobTracker.wait`; cancelling the coroutine stops waiting."""
        ...

    async def delete_job(self, job_id: str) -> None:
        """See :meth:`JobTracker.delete_job`."""
        ...

    async def list_job_categories(self) -> list[str]:
        """See :meth:`JobTracker.list_job_categories`."""
        ...


@runtime_checkable
class AsyncJobTemplater(Protocol):
    """:class:`JobTemplater` as a coroutine."""

    async def job_template(self, job_id: str) -> JobTemplate:
        """See :meth:`JobTemplater.job_template`."""
        ...


@runtime_checkable
class AsyncJobOutputReader(Protocol):
    """:class:`JobOutputReader` as an async iterator."""

    def job_output(
        self, job_id: str, *, follow: bool = False, tail_lines: int | None = None
    ) -> AsyncIterator[str]:
        """See :meth:`JobOutputReader.job_output`."""
        ...
