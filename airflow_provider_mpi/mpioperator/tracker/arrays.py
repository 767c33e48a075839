"""Array jobs: naming and labelling their tasks, and when held tasks may start.

An array job is one MPIJob per task, named ``<array>-<task-id>`` and labelled
with the array name and task ID. ``max_parallel`` caps how many tasks are
active at once: the tasks beyond the cap are created held (suspended, with
the ``held`` annotation) and released one by one as earlier tasks end, by
whoever waits on the array (``wait_array``, the Airflow trigger). Nothing
in the cluster does this for us, so the decision must be cheap, pure and the
same for the sync and async trackers: it lives here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.names import (
    ANNOTATION_HELD,
    LABEL_ARRAY_ID,
    LABEL_TASK_ID,
)
from airflow_provider_mpi.mpioperator.tracker.ids import task_job_name

__all__ = [
    "TaskStatus",
    "array_task_labels",
    "held_at_submission",
    "is_held",
    "is_unlimited",
    "task_id_of",
    "task_job_name",
    "tasks_to_release",
]


@dataclass(frozen=True)
class TaskStatus:
    """What the release decision needs to know about one array task.

    Attributes:
        task_id: the task ID.
        name: the task's MPIJob name.
        state: its DRMAA2 state.
        held: True while it carries the ``held`` annotation.
    """

    task_id: int
    name: str
    state: JobState
    held: bool

    @property
    def active(self) -> bool:
        """True when the task occupies a slot: released and not yet ended."""
        return not self.held and not self.state.is_terminal

    @property
    def releasable(self) -> bool:
        """True for a held task that has not ended (e.g. not terminated)."""
        return self.held and not self.state.is_terminal


def is_unlimited(max_parallel: int) -> bool:
    """True when ``max_parallel`` sets no limit (0, as in DRMAA2).

    Callers validate ``max_parallel`` first
    (:func:`airflow_provider_mpi.drmaa2.arrays.validate_max_parallel`), so a
    negative value never gets here; it also reads as "no limit".
    """
    return max_parallel <= 0


def held_at_submission(task_ids: Sequence[int], max_parallel: int) -> frozenset[int]:
    """The tasks to create held so that at most ``max_parallel`` start at once.

    Args:
        task_ids: the array's task IDs in task order.
        max_parallel: the cap; 0 for none.

    Returns:
        The IDs of the tasks beyond the first ``max_parallel``.

    Example:
        >>> sorted(held_at_submission([1, 2, 3, 4], 2))
        [3, 4]
    """
    if is_unlimited(max_parallel):
        return frozenset()
    return frozenset(task_ids[max_parallel:])


def tasks_to_release(tasks: Iterable[TaskStatus], max_parallel: int) -> list[TaskStatus]:
    """Choose the held tasks that may start now.

    Released, unfinished tasks occupy slots; the free slots go to the held
    tasks with the lowest task IDs, so tasks start in task order.

    Args:
        tasks: every task of the array with its current state.
        max_parallel: the cap; 0 releases every held task.

    Returns:
        The tasks to release, in task order (possibly none).

    Example:
        >>> t = [TaskStatus(1, "a-1", JobState.DONE, False),
        ...      TaskStatus(2, "a-2", JobState.RUNNING, False),
        ...      TaskStatus(3, "a-3", JobState.QUEUED_HELD, True),
        ...      TaskStatus(4, "a-4", JobState.QUEUED_HELD, True)]
        >>> [task.task_id for task in tasks_to_release(t, 2)]
        [3]
    """
    tasks = list(tasks)
    waiting = sorted((task for task in tasks if task.releasable), key=lambda task: task.task_id)
    if is_unlimited(max_parallel):
        return waiting
    free = max_parallel - sum(1 for task in tasks if task.active)
    return waiting[: max(0, free)]


def array_task_labels(array_name: str, task_id: int) -> dict[str, str]:
    """The labels that mark an MPIJob as a task of an array.

    Args:
        array_name: the array's name.
        task_id: the task ID.

    Returns:
        The array and task ID labels.
    """
    return {LABEL_ARRAY_ID: array_name, LABEL_TASK_ID: str(task_id)}


def task_id_of(mpijob: Mapping[str, Any]) -> int:
    """Read the task ID of an array task from its label.

    Args:
        mpijob: the MPIJob object.

    Returns:
        The task ID.

    Raises:
        InvalidArgumentError: the label is missing or not an integer.
    """
    metadata = mpijob.get("metadata") or {}
    value = (metadata.get("labels") or {}).get(LABEL_TASK_ID)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            LABEL_TASK_ID, value, f"MPIJob {metadata.get('name')!r} is not an array task"
        ) from None


def is_held(mpijob: Mapping[str, Any]) -> bool:
    """True when the MPIJob carries the ``held`` annotation.

    Args:
        mpijob: the MPIJob object.

    Returns:
        Whether it is held.
    """
    annotations = (mpijob.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(ANNOTATION_HELD, "")).lower() == "true"
