"""Reattach: what a new try of a task does with the jobs its earlier tries left.

A retry, or the new try of a cleared task, must never make a duplicate job.
Before submitting, it looks for the jobs of its earlier tries by the task's
identity labels; the newest one decides:

- a single job that is queued, held, suspended, running or Done is followed
  (a Done job's result is returned without running again);
- a Failed one (also "terminated": the earlier try was killed, or the task
  cleared) is left, and a new job submitted; when the template fixes the job
  name, the failed job is deleted first so that the name is free;
- an array is completed from its recorded intent (the tasks a cut-short
  submission did not create) and followed, unless one of its tasks failed
  (:func:`~airflow_provider_mpi.drmaa2.arrays.failed_tasks`): then a new
  array is submitted. An array of an older release, with no owner object, is
  found through the array label of its newest task.

The decisions are pure (:func:`decide`, :func:`frees_name`,
:func:`array_of_task`); :func:`reattach_job` and :func:`reattach_array` read
and act through the tracker they are given, and say in the caller's log
(the Airflow task log) what they found and did.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_mpi.drmaa2.arrays import failed_tasks
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.tracker.ids import format_job_id, parse_job_id

if TYPE_CHECKING:
    from airflow_provider_mpi.mpioperator.tracker.sync import MPIOperatorTracker

__all__ = [
    "EarlierJob",
    "ReattachAction",
    "TaskLog",
    "array_of_task",
    "decide",
    "frees_name",
    "reattach_array",
    "reattach_job",
]


class TaskLog(Protocol):
    """Where the decisions are told: the task's logger."""

    def info(self, msg: str, /, *args: Any) -> Any:
        """Log at INFO."""

    def warning(self, msg: str, /, *args: Any) -> Any:
        """Log at WARNING."""


class ReattachAction(str, enum.Enum):
    """What a new try does with the newest job of its earlier tries: follow it or resubmit."""

    FOLLOW = "follow"
    RESUBMIT = "resubmit"


@dataclass(frozen=True)
class EarlierJob:
    """The newest job of an earlier try, as found.

    Attributes:
        job_id: the job.
        state: its state now.
        sub_state: its substate (``"terminated"`` after a kill).
        submitted_by: the try number on its labels (``"?"`` when missing).
    """

    job_id: str
    state: JobState
    sub_state: str = ""
    submitted_by: str = "?"

    def describe(self, action: ReattachAction) -> str:
        """The task log's line about the decision."""
        if action is ReattachAction.FOLLOW:
            return (
                f"Reattaching to MPIJob {self.job_id}, submitted by try {self.submitted_by} "
                f"of this task (state {self.state}): this try follows it instead of "
                "submitting a new job"
            )
        killed = " because that try was killed or the task cleared"
        return (
            f"MPIJob {self.job_id}, submitted by try {self.submitted_by} of this task, "
            f"failed ({self.sub_state}){killed if self.sub_state == 'terminated' else ''}; "
            "submitting a new one"
        )


def decide(earlier: EarlierJob) -> ReattachAction:
    """Follow the earlier job unless it failed.

    Example:
        >>> decide(EarlierJob("default/a", JobState.RUNNING))
        <ReattachAction.FOLLOW: 'follow'>
        >>> decide(EarlierJob("default/a", JobState.FAILED, "terminated"))
        <ReattachAction.RESUBMIT: 'resubmit'>
    """
    return ReattachAction.RESUBMIT if earlier.state is JobState.FAILED else ReattachAction.FOLLOW


def frees_name(job_id: str, job_name: str | None, namespace: str) -> bool:
    """Whether a failed job holds the fixed name the new job needs (then delete it first).

    Args:
        job_id: the failed job.
        job_name: the template's ``job_name`` (None: a generated name, no clash).
        namespace: the tracker's namespace, for a bare job ID.

    Example:
        >>> frees_name("team-a/train", "train", "default")
        True
        >>> frees_name("team-a/mpijob-x1", None, "default")
        False
    """
    return bool(job_name) and parse_job_id(job_id, namespace).name == job_name


def array_of_task(row: Mapping[str, Any], namespace: str) -> str | None:
    """The array ID of a task job, from its array label.

    Args:
        row: the job's row (``job_view.describe_row``: its ID and labels).
        namespace: the tracker's namespace, for a bare job ID.

    Returns:
        ``"<namespace>/<array name>"``, or None when the job is no array's task.
    """
    name = (row.get("labels") or {}).get("array_id")
    if not name:
        return None
    return format_job_id(parse_job_id(row["id"], namespace).namespace, str(name))


def reattach_job(
    tracker: MPIOperatorTracker,
    labels: Mapping[str, str],
    job_name: str | None,
    log: TaskLog,
) -> tuple[str, JobState] | None:
    """Find the newest job of an earlier try and decide what to do with it.

    Args:
        tracker: the tracker of the job's cluster.
        labels: the task's identity labels (any try).
        job_name: the template's fixed ``job_name``, if any.
        log: the task log; each decision is written there.

    Returns:
        ``(job ID, state)`` of the job to follow, or None to submit a new
        job (a failed job holding the fixed name was deleted).
    """
    from airflow_provider_mpi.mpioperator.tracker.job_view import (
        jobs_table,  # kept out of DAG parsing
    )

    rows = jobs_table(tracker, labels)
    if not rows:
        return None
    row = rows[-1]
    job_id = str(row["id"])
    state, sub_state = tracker.job_state(job_id)
    earlier = EarlierJob(job_id, state, sub_state, str(row["labels"].get("try_number") or "?"))
    action = decide(earlier)
    log.info("%s", earlier.describe(action))
    if action is ReattachAction.FOLLOW:
        return job_id, state
    if frees_name(job_id, job_name, tracker.namespace):
        log.info("Deleting the failed MPIJob %s to reuse its name", job_id)
        tracker.delete_job(job_id)
    return None


def reattach_array(
    tracker: MPIOperatorTracker, labels: Mapping[str, str], log: TaskLog
) -> str | None:
    """Find the array of an earlier try, complete it, and decide whether to follow it.

    Args:
        tracker: the tracker of the array's cluster.
        labels: the task's identity labels (any try).
        log: the task log; each decision is written there.

    Returns:
        The array ID to follow, or None to submit a new array.
    """
    arrays = tracker.find_arrays(labels)
    if arrays:
        array_id = arrays[-1]
        created = tracker.complete_array_submission(array_id)
        if created:
            log.warning(
                "Array job %s of an earlier try was not fully submitted; created its %d "
                "missing task(s): %s",
                array_id,
                len(created),
                ", ".join(created),
            )
    else:  # an array without an owner object (older releases)
        from airflow_provider_mpi.mpioperator.tracker.job_view import jobs_table

        rows = jobs_table(tracker, labels)
        found = array_of_task(rows[-1], tracker.namespace) if rows else None
        if found is None:
            return None
        array_id = found
    states = {job: tracker.job_state(job)[0] for job in tracker.list_array_jobs(array_id)}
    failed = failed_tasks(states)
    if failed:
        log.info(
            "Array job %s of an earlier try has failed tasks (%s); submitting a new one",
            array_id,
            ", ".join(failed),
        )
        return None
    log.info("Reattaching to array job %s of an earlier try", array_id)
    return array_id
