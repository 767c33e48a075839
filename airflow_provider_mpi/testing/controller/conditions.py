"""MPIJob status conditions, with the operator's update rules.

``set_condition`` keeps an unchanged condition (same status and reason) as it
is, keeps ``lastTransitionTime`` when only the reason changes, moves the
updated condition to the end, and turns ``Running`` (and an earlier
``Failed``) to ``False`` when the job succeeds or fails, as the v0.8.2
operator does.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from airflow_provider_mpi.testing.controller.meta import JSONDict, find_condition, format_time

__all__ = [
    "ConditionReason",
    "JobConditionType",
    "is_failed",
    "is_finished",
    "is_succeeded",
    "set_condition",
]


class JobConditionType(str, Enum):
    """``status.conditions[].type`` of an MPIJob."""

    CREATED = "Created"
    RUNNING = "Running"
    RESTARTING = "Restarting"
    SUCCEEDED = "Succeeded"
    SUSPENDED = "Suspended"
    FAILED = "Failed"


class ConditionReason(str, Enum):
    """The reasons the operator writes (a launcher Job's failure reason is passed through)."""

    CREATED = "MPIJobCreated"
    SUCCEEDED = "MPIJobSucceeded"
    RUNNING = "MPIJobRunning"
    SUSPENDED = "MPIJobSuspended"
    RESUMED = "MPIJobResumed"
    FAILED = "MPIJobFailed"
    EVICTED = "MPIJobEvicted"


def _has_true(status: JSONDict, kind: JobConditionType) -> bool:
    condition = find_condition(status.get("conditions"), kind.value)
    return condition is not None and condition.get("status") == "True"


def is_succeeded(status: JSONDict) -> bool:
    """``Succeeded`` is True."""
    return _has_true(status, JobConditionType.SUCCEEDED)


def is_failed(status: JSONDict) -> bool:
    """``Failed`` is True."""
    return _has_true(status, JobConditionType.FAILED)


def is_finished(status: JSONDict) -> bool:
    """``Succeeded`` or ``Failed`` is True."""
    return is_succeeded(status) or is_failed(status)


def set_condition(
    status: JSONDict,
    kind: JobConditionType,
    value: bool,
    reason: str,
    message: str,
    now: datetime,
) -> bool:
    """Set one condition in ``status`` (in place) as the operator does.

    Args:
        status: The MPIJob status.
        kind: The condition type.
        value: The condition status (True/False).
        reason: The reason.
        message: The message.
        now: The time for ``lastUpdateTime``/``lastTransitionTime``.

    Returns:
        Whether anything changed.
    """
    text = "True" if value else "False"
    conditions: list[JSONDict] = list(status.get("conditions") or [])
    current = find_condition(conditions, kind.value)
    if current is not None and current.get("status") == text and current.get("reason") == reason:
        return False
    stamp = format_time(now)
    new = {
        "type": kind.value,
        "status": text,
        "reason": reason,
        "message": message,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
    }
    if current is not None and current.get("status") == text:
        new["lastTransitionTime"] = current.get("lastTransitionTime", stamp)
    kept = []
    finishing = kind in (JobConditionType.FAILED, JobConditionType.SUCCEEDED)
    for condition in conditions:
        other = condition.get("type")
        if other == kind.value:
            continue
        if {other, kind.value} == {
            JobConditionType.RUNNING.value,
            JobConditionType.RESTARTING.value,
        }:
            continue
        if finishing and other in (JobConditionType.RUNNING.value, JobConditionType.FAILED.value):
            condition = {**condition, "status": "False"}
        kept.append(condition)
    kept.append(new)
    status["conditions"] = kept
    return True
