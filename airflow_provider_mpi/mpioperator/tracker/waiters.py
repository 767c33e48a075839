"""What a wait on one job or on an array has seen, and when it is over.

A waiter is fed objects, from a list (a snapshot) or a watch (one change at
a time), and answers whether the wait is over. The sync tracker feeds it
from its own watch, the async tracker from the shared
:class:`~.watch_hub.JobWatchHub`; the decisions (state mapping, wanted
states, unreachable end states, which held array tasks to release) are the
same pure code for both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_mpi.drmaa2.errors import InvalidStateError, JobNotFoundError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.names import LABEL_TASK_ID
from airflow_provider_mpi.mpioperator.status import job_state_from_mpi_job
from airflow_provider_mpi.mpioperator.tracker.arrays import TaskStatus, is_held, tasks_to_release
from airflow_provider_mpi.mpioperator.tracker.ids import format_job_id
from airflow_provider_mpi.mpioperator.tracker.submission import ANNOTATION_MAX_PARALLEL
from airflow_provider_mpi.mpioperator.tracker.waiting import WaitOutcome, wait_outcome

__all__ = ["ArrayWaiter", "JobWaiter", "is_newer"]


def _as_int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _version(obj: Mapping[str, Any]) -> int | None:
    return _as_int((obj.get("metadata") or {}).get("resourceVersion"))


def _seen_after(obj: Mapping[str, Any] | None, as_of: str) -> bool:
    """Whether ``obj`` is a version later than a list taken at ``as_of``."""
    if obj is None:
        return False
    mine, listed = _version(obj), _as_int(as_of)
    return mine is not None and listed is not None and mine > listed


def is_newer(candidate: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether ``candidate`` is a later version of an object than ``current``.

    resourceVersions are opaque to clients in general; where both are
    integers (as with every API server in practice) an older version seen
    late (a queued event after a fresh read) is ignored.

    Args:
        candidate: the object just seen.
        current: the version held, if any.

    Returns:
        False only when both versions are integers and the candidate's is lower.
    """
    if current is None:
        return True
    new, old = _version(candidate), _version(current)
    return new is None or old is None or new >= old


class JobWaiter:
    """The wait for one job to reach one of ``wanted``.

    Args:
        job_id: the job (for errors).
        wanted: the states that end the wait.
    """

    __slots__ = ("_current", "job_id", "last_state", "wanted")  # one per waiting trigger

    def __init__(self, job_id: str, wanted: frozenset[JobState]) -> None:
        self.job_id = job_id
        self.wanted = wanted
        self.last_state: JobState | None = None
        self._current: Mapping[str, Any] | None = None

    @property
    def current(self) -> Mapping[str, Any] | None:
        """The latest version of the job seen (None before the first)."""
        return self._current

    def observe(self, mpijob: Mapping[str, Any] | None, *, as_of: str = "") -> JobState | None:
        """Take in the job as seen now.

        Args:
            mpijob: the object, or None when it no longer exists.
            as_of: for an absence seen in a list, the list's resourceVersion;
                a version seen later than the list wins over the absence.

        Returns:
            The state that ends the wait, or None to keep waiting.

        Raises:
            JobNotFoundError: the job does not exist (any more).
            InvalidStateError: the job ended in a state not waited for.
        """
        if mpijob is None:
            if as_of and _seen_after(self._current, as_of):
                return None
            raise JobNotFoundError(self.job_id)
        if not is_newer(mpijob, self._current):
            return None
        self._current = mpijob
        state, _ = job_state_from_mpi_job(mpijob)
        self.last_state = state
        outcome = wait_outcome(state, self.wanted)
        if outcome is WaitOutcome.SATISFIED:
            return state
        if outcome is WaitOutcome.UNREACHABLE:
            wanted = " or ".join(sorted(str(s) for s in self.wanted))
            raise InvalidStateError(
                self.job_id,
                state,
                "wait",
                message=f"job {self.job_id!r} ended {state} and can no longer become {wanted}",
            )
        return None


class ArrayWaiter:
    """The wait for every task of an array, releasing held tasks as slots free up.

    Args:
        array_id: the array (for errors).
        namespace: the tasks' namespace.
        wanted: the states that end the wait for a task.
        names: the task names when fixed in advance (a seed-style array ID,
            or the intent on the array's owner object); None to take the
            tasks from the first snapshot (an array of an older release).
        require_all: a fixed task that does not exist fails the wait (False:
            it reads as not created yet, when waiting for one task only).
    """

    def __init__(
        self,
        array_id: str,
        namespace: str,
        wanted: frozenset[JobState],
        names: Iterable[str] | None = None,
        *,
        require_all: bool = True,
    ) -> None:
        self.require_all = require_all
        self.array_id = array_id
        self.namespace = namespace
        self.wanted = wanted
        self.fixed_names = tuple(names) if names is not None else None
        self._jobs: dict[str, Mapping[str, Any]] = {}
        self._states: dict[str, JobState] = {}
        self._released: set[str] = set()

    @property
    def names(self) -> tuple[str, ...]:
        """The task names known so far, in task order."""
        if self.fixed_names is not None:
            if self.require_all:
                return self.fixed_names
            return tuple(name for name in self.fixed_names if name in self._jobs)
        return tuple(sorted(self._jobs, key=lambda name: (_task_id(self._jobs[name]), name)))

    def wants(self, name: str) -> bool:
        """Whether a change to this object concerns the array."""
        return name in self._jobs or (self.fixed_names is not None and name in self.fixed_names)

    def snapshot(self, mpijobs: Iterable[Mapping[str, Any]], *, as_of: str = "") -> None:
        """Take in a list of the array's tasks (at the start, or after 410 Gone).

        A task seen in a version later than the list is kept as seen.

        Args:
            mpijobs: the listed objects (others are ignored for fixed names).
            as_of: the list's resourceVersion.

        Raises:
            JobNotFoundError: the array has no task, or a task is missing.
        """
        listed = {str(job["metadata"]["name"]): job for job in mpijobs}
        if self.fixed_names is not None:
            listed = {name: job for name, job in listed.items() if name in self.fixed_names}
        for name in list(self._jobs):
            if name not in listed and not _seen_after(self._jobs[name], as_of):
                self.observe(name, None)
        for name, job in listed.items():
            if is_newer(job, self._jobs.get(name)):
                self._take(name, job)
        missing = [name for name in self.fixed_names or () if name not in self._jobs]
        if missing and self.require_all:
            raise JobNotFoundError(
                format_job_id(self.namespace, missing[0]),
                message=f"array job {self.array_id!r} is incomplete: {len(missing)} of "
                f"{len(self.fixed_names or ())} tasks do not exist (first: "
                f"{format_job_id(self.namespace, missing[0])}); "
                "submitting the array again creates the missing tasks",
            )
        if not self._jobs:
            raise JobNotFoundError(self.array_id, message=f"array job {self.array_id!r} not found")

    def observe(self, name: str, mpijob: Mapping[str, Any] | None) -> None:
        """Take in one task as seen now (None: deleted).

        Raises:
            JobNotFoundError: a task was deleted while waited for.
        """
        if mpijob is None:
            if self.wants(name):
                raise JobNotFoundError(
                    format_job_id(self.namespace, name),
                    message=f"task {name!r} of array job {self.array_id!r} was deleted",
                )
            return
        wanted = self.fixed_names is None or name in self.fixed_names
        if wanted and is_newer(mpijob, self._jobs.get(name)):
            self._take(name, mpijob)

    def _take(self, name: str, job: Mapping[str, Any]) -> None:
        self._jobs[name] = job
        self._states[name] = job_state_from_mpi_job(job)[0]
        if not is_held(job):
            self._released.discard(name)

    def states(self) -> dict[str, JobState]:
        """The current state of each task, by job ID, in task order."""
        return {format_job_id(self.namespace, n): self._states[n] for n in self.names}

    def finished(self) -> bool:
        """Whether every task reached a wanted state.

        Raises:
            InvalidStateError: a task ended in a state not waited for.
        """
        for name in self.names:
            outcome = wait_outcome(self._states[name], self.wanted)
            if outcome is WaitOutcome.UNREACHABLE:
                job_id = format_job_id(self.namespace, name)
                raise InvalidStateError(
                    job_id,
                    self._states[name],
                    "wait",
                    message=f"task {job_id!r} of array job {self.array_id!r} ended "
                    f"{self._states[name]} and can no longer reach the awaited states",
                )
            if outcome is WaitOutcome.PENDING:
                return False
        return True

    def ended(self, names: Iterable[str]) -> list[bool | None]:
        """Per task: True once it ended, False while not, None if it does not exist.

        Args:
            names: task names, in task order.

        Returns:
            The flags, in the same order (input of :func:`.array_owner.next_mark`).
        """
        return [self._states[name].is_terminal if name in self._states else None for name in names]

    def held_among(self, names: Iterable[str]) -> list[str]:
        """The tasks among ``names`` that are held, not ended, and not released by us yet.

        Args:
            names: task names.

        Returns:
            The held ones, in the given order; they count as released from now on.
        """
        held = [
            name
            for name in names
            if name in self._jobs
            and name not in self._released
            and is_held(self._jobs[name])
            and not self._states[name].is_terminal
        ]
        self._released.update(held)
        return held

    def job(self, name: str) -> Mapping[str, Any] | None:
        """The task object as last seen, or None."""
        return self._jobs.get(name)

    def to_release(self) -> list[str]:
        """The held tasks to release now (each name at most once until seen released).

        Returns:
            Task names, in task order.
        """
        tasks = []
        max_parallel = 0
        for name in self.names:
            job = self._jobs[name]
            held = is_held(job) and name not in self._released
            tasks.append(TaskStatus(_task_id(job), name, self._states[name], held))
            max_parallel = max(max_parallel, _max_parallel(job))
        chosen = [task.name for task in tasks_to_release(tasks, max_parallel)]
        self._released.update(chosen)
        return chosen


def _task_id(job: Mapping[str, Any]) -> int:
    value = ((job.get("metadata") or {}).get("labels") or {}).get(LABEL_TASK_ID)
    try:
        return int(str(value))
    except ValueError:
        return 0


def _max_parallel(job: Mapping[str, Any]) -> int:
    value = ((job.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_MAX_PARALLEL)
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0
