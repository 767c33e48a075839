"""Array job helpers: task ranges, per-task templates, legacy array job IDs.

A DRMAA2 array job runs one template once per task ID of a range
``begin..end`` by ``step``; each task learns its ID from the ``TASK_ID``
environment variable and from the ``$DRMAA2_INDEX$`` placeholder in its
paths and arguments. These pieces are backend neutral, so they live here
and the tracker only decides how tasks become backend objects.

``max_parallel`` follows DRMAA2: ``0`` means no limit. Negative values are
rejected rather than read as "no limit", so a typo cannot silently lift a
limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate

__all__ = [
    "PLACEHOLDER_HOME_DIR",
    "PLACEHOLDER_INDEX",
    "PLACEHOLDER_WORKING_DIR",
    "TASK_ID_ENV",
    "TaskRange",
    "failed_tasks",
    "format_legacy_array_job_id",
    "parse_legacy_array_job_id",
    "substitute_index",
    "template_for_task",
    "validate_max_parallel",
]

#: Replaced by the task ID of an array job task (Go ``PlaceholderIndex``).
PLACEHOLDER_INDEX = "$DRMAA2_INDEX$"
#: Stands for the user's home directory (Go ``PlaceholderHomeDir``).
PLACEHOLDER_HOME_DIR = "$DRMAA2_HOME_DIR$"
#: Stands for the job's working directory (Go ``PlaceholderWorkingDir``).
PLACEHOLDER_WORKING_DIR = "$DRMAA2_WORKING_DIR$"
#: The environment variable that tells an array task its task ID.
TASK_ID_ENV = "TASK_ID"


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(name, value, "must be an integer")
    if value < minimum:
        raise InvalidArgumentError(name, value, f"must be at least {minimum}")
    return value


@dataclass(frozen=True)
class TaskRange:
    """The task IDs of an array job: ``begin, begin + step, ...`` up to ``end``.

    Iterating yields the task IDs; ``len()`` counts them.

    Attributes:
        begin: first task ID, at least 1.
        end: last possible task ID, at least ``begin`` (included when
            ``end - begin`` is a multiple of ``step``).
        step: increment, at least 1.

    Raises:
        InvalidArgumentError: naming ``begin``, ``end`` or ``step`` and its value.
    """

    begin: int
    end: int
    step: int = 1

    def __post_init__(self) -> None:
        _check_int("begin", self.begin, 1)
        _check_int("end", self.end, 1)
        _check_int("step", self.step, 1)
        if self.end < self.begin:
            raise InvalidArgumentError("end", self.end, f"must be at least begin ({self.begin})")

    @property
    def task_ids(self) -> range:
        """The task IDs as a ``range``."""
        return range(self.begin, self.end + 1, self.step)

    def __iter__(self) -> Iterator[int]:
        return iter(self.task_ids)

    def __len__(self) -> int:
        return len(self.task_ids)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self.task_ids


def validate_max_parallel(max_parallel: int, task_count: int) -> int:
    """Check ``max_parallel`` and return how many tasks may run at once.

    Args:
        max_parallel: the requested limit; ``0`` means no limit (DRMAA2).
        task_count: the number of tasks in the array.

    Returns:
        The effective limit: ``task_count`` when unlimited, else
        ``min(max_parallel, task_count)``.

    Raises:
        InvalidArgumentError: ``max_parallel`` is negative or not an integer.
    """
    _check_int("max_parallel", max_parallel, 0)
    _check_int("task_count", task_count, 0)
    if max_parallel == 0:
        return task_count
    return min(max_parallel, task_count)


def substitute_index(text: str, task_id: int) -> str:
    """Replace every ``$DRMAA2_INDEX$`` in ``text`` by the task ID."""
    return text.replace(PLACEHOLDER_INDEX, str(task_id))


def template_for_task(template: JobTemplate, task_id: int) -> JobTemplate:
    """Return the template one array task runs.

    A deep copy with ``TASK_ID`` set in ``job_environment`` and
    ``$DRMAA2_INDEX$`` replaced by the task ID in ``remote_command``,
    ``args``, ``working_directory``, the input, output and error paths,
    both sides of ``stage_in_files``/``stage_out_files``, and the values of
    ``job_environment`` and ``extension_list`` (a worker command or a label
    may name the task too). The argument is not changed.

    Args:
        template: the array job's template.
        task_id: the task ID, at least 1.

    Returns:
        The task's template.

    Raises:
        InvalidArgumentError: ``task_id`` is not a positive integer.
    """
    _check_int("task_id", task_id, 1)

    def sub(text: str) -> str:
        return substitute_index(text, task_id)

    task = template.copy()
    task.remote_command = sub(task.remote_command)
    task.args = [sub(arg) for arg in task.args]
    task.working_directory = sub(task.working_directory)
    task.input_path = sub(task.input_path)
    task.output_path = sub(task.output_path)
    task.error_path = sub(task.error_path)
    task.stage_in_files = {sub(k): sub(v) for k, v in task.stage_in_files.items()}
    task.stage_out_files = {sub(k): sub(v) for k, v in task.stage_out_files.items()}
    task.job_environment = {k: sub(v) for k, v in task.job_environment.items()}
    task.job_environment[TASK_ID_ENV] = str(task_id)
    task.extension_list = {k: sub(v) for k, v in task.extension_list.items()}
    return task


def parse_legacy_array_job_id(text: str) -> list[str] | None:
    """Read an array job ID in the seed's format, a JSON list of job IDs.

    Args:
        text: an array job ID.

    Returns:
        The job IDs when ``text`` is a JSON list (e.g. ``'["a-1", "a-2"]'``),
        None when it is not in the legacy format at all (e.g. ``"ns/array"``).

    Raises:
        InvalidArgumentError: ``text`` starts like a JSON list but is not a
            list of non-empty strings.
    """
    if not text.lstrip().startswith("["):
        return None
    try:
        ids = json.loads(text)
    except ValueError as exc:
        raise InvalidArgumentError("array_id", text, f"not a JSON list: {exc}") from None
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise InvalidArgumentError("array_id", text, "must be a JSON list of job IDs")
    return ids


def format_legacy_array_job_id(job_ids: list[str]) -> str:
    """Write job IDs as the seed's array job ID (a JSON list)."""
    return json.dumps(list(job_ids))


def failed_tasks(states: Mapping[str, JobState]) -> list[str]:
    """The failed tasks of an array job; the array failed when there is any.

    The one rule for an array's failure: a waiting operator or trigger fails
    the array with these tasks, and a retry resubmits an earlier array when
    any of its tasks failed (tasks still running are not failures).

    Args:
        states: each task job ID with its state.

    Returns:
        The job IDs of the Failed tasks, sorted.

    Example:
        >>> failed_tasks({"a-2": JobState.FAILED, "a-1": JobState.DONE})
        ['a-2']
    """
    return sorted(job for job, state in states.items() if state is JobState.FAILED)
