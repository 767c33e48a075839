"""MPIJob (+ its pods and events) -> DRMAA2 job state and JobInfo: the pure status mapping.

The MPI operator v0.8.2 keeps one condition per type (``Created``,
``Running``, ``Suspended``, ``Succeeded``, ``Failed``; ``Restarting`` exists
in the API but is not set by v2), updated in place with ``status`` True or
False; ``Running`` turns False (reason ``MPIJobSuspended``) while suspended
and when the job finishes; ``startTime`` is set on the first reconcile that
is not suspended and reset on resume. A job that fails the operator's
validation gets no condition at all, only a Warning event ``ValidationError``.
The rules below turn that into one DRMAA2 state and a substate word from a
small vocabulary (:class:`SubState`); the README's state table lists them.

Everything here takes plain dicts (as the API returns them) and never raises
on a partial or unfinished object: a job seen a millisecond after creation
has no status yet and must still read as Queued.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mpi.drmaa2 import JobState
from airflow_provider_mpi.drmaa2.strenum import StrEnum
from airflow_provider_mpi.mpioperator import names as keys
from airflow_provider_mpi.mpioperator.names import LABEL_JOB_NAME as JOB_NAME_LABEL
from airflow_provider_mpi.mpioperator.names import LABEL_JOB_ROLE as JOB_ROLE_LABEL

__all__ = [
    "JOB_NAME_LABEL",
    "JOB_ROLE_LABEL",
    "LAUNCHER_FAILED",
    "SubState",
    "format_substate",
    "job_id_of",
    "job_state_from_condition",
    "job_state_from_mpi_job",
    "parse_substate",
    "signal_name",
]


class SubState(StrEnum):
    """The substate words; ``failed`` and ``requeued`` carry a reason after a colon."""

    CREATED = "created"  # Queued: accepted, pods not all running yet
    RESUMED = "resumed"  # Queued: resumed after a suspend, starting again from scratch
    RUNNING = "running"  # Running: launcher and every worker run
    SUCCEEDED = "succeeded"  # Done
    FAILED = "failed"  # Failed: "failed:<condition reason>", e.g. failed:BackoffLimitExceeded/Error
    TERMINATED = "terminated"  # Failed: stopped by job control (terminate)
    VALIDATION_ERROR = "validation-error"  # Failed: the operator rejected the spec (event only)
    HELD = "held"  # QueuedHeld: suspended before it started (submit_as_hold, hold)
    SUSPENDED = "suspended"  # Suspended: suspended after it started
    REQUEUED = "requeued"  # Requeued: "requeued:<reason>", e.g. requeued:launcher-failed


#: The reason of ``requeued`` when a launcher pod failed and the launcher Job retries.
LAUNCHER_FAILED = "launcher-failed"


def format_substate(substate: SubState, reason: str = "") -> str:
    """Write a substate, with its reason for ``failed`` and ``requeued``.

    Args:
        substate: the word.
        reason: the detail (a condition reason); ignored when empty.

    Returns:
        ``"failed:DeadlineExceeded"``, ``"running"``, ...
    """
    return f"{substate.value}:{reason}" if reason else substate.value


def parse_substate(text: str) -> tuple[SubState | None, str]:
    """Read a substate written by :func:`format_substate`.

    Args:
        text: the substate string.

    Returns:
        ``(word, reason)``; the word is None when it is not in the vocabulary.
    """
    word, _, reason = text.partition(":")
    try:
        return SubState(word), reason
    except ValueError:
        return None, reason


def signal_name(exit_code: int) -> str:
    """The signal that ends a process with ``exit_code`` (128 + N), or ``""``.

    Args:
        exit_code: a container exit code, e.g. 137.

    Returns:
        ``"SIGKILL"`` for 137, ``""`` for codes up to 128 or unknown signals.
    """
    if exit_code <= 128:
        return ""
    try:
        return signal.Signals(exit_code - 128).name
    except ValueError:
        return ""


# --------------------------------------------------------------------------- small readers


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if "." in text:  # Python 3.10 takes at most 6 fractional digits
        head, _, rest = text.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        text = head + "." + digits[:6].ljust(6, "0") + rest[len(digits) :]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _conditions(mpijob: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The conditions by type; the last one of a type wins (the operator keeps one)."""
    result: dict[str, Mapping[str, Any]] = {}
    for condition in _list(_map(mpijob.get("status")).get("conditions")):
        if isinstance(condition, Mapping) and isinstance(condition.get("type"), str):
            result[condition["type"]] = condition
    return result


def _is_true(condition: Mapping[str, Any] | None) -> bool:
    return condition is not None and condition.get("status") == "True"


def _failure_reason(condition: Mapping[str, Any]) -> str:
    """The reason of a Failed condition, without the operator's empty pod part.

    For ``BackoffLimitExceeded`` the operator appends ``/<reason of the last
    failed pod>``; a pod that failed because its container exited non-zero
    has no pod-level reason, which leaves ``BackoffLimitExceeded/``.
    """
    return str(condition.get("reason") or "MPIJobFailed").rstrip("/") or "MPIJobFailed"


def _condition_message(condition: Mapping[str, Any]) -> str:
    """A condition's message, without the operator's empty ``": <pod message>"`` tail."""
    message = str(condition.get("message") or "")
    return message.removesuffix(": ")


def _annotation(mpijob: Mapping[str, Any], key: str) -> bool:
    return _map(_map(mpijob.get("metadata")).get("annotations")).get(key) == "true"


def _event_fields(event: Any) -> tuple[str, str, str, Mapping[str, Any]]:
    if isinstance(event, Mapping):
        return (
            str(event.get("type") or ""),
            str(event.get("reason") or ""),
            str(event.get("message") or event.get("note") or ""),
            _map(event.get("involvedObject") or event.get("regarding")),
        )
    return (
        str(getattr(event, "type", "") or ""),
        str(getattr(event, "reason", "") or ""),
        str(getattr(event, "message", "") or ""),
        {},
    )


def _validation_error(mpijob: Mapping[str, Any], events: Iterable[Any] | None) -> str | None:
    """The message of a Warning ValidationError event about this job, if any."""
    metadata = _map(mpijob.get("metadata"))
    for event in events or ():
        kind, reason, message, involved = _event_fields(event)
        if kind != "Warning" or reason != "ValidationError":
            continue
        if involved.get("uid") and metadata.get("uid") and involved["uid"] != metadata["uid"]:
            continue
        if involved.get("name") and metadata.get("name") and involved["name"] != metadata["name"]:
            continue
        return message
    return None


def _replica_status(mpijob: Mapping[str, Any], replica: str) -> Mapping[str, Any]:
    return _map(_map(_map(mpijob.get("status")).get("replicaStatuses")).get(replica))


# --------------------------------------------------------------------------- states


def job_state_from_condition(condition: Mapping[str, Any]) -> JobState:
    """The state one MPIJob condition stands for (the seed's ``JobStateFromCondition``).

    Unlike the seed, the condition's status counts: a condition that does not
    hold (``False``/``Unknown``, e.g. ``Running`` False while suspended) says
    nothing by itself and gives Undetermined. Use :func:`job_state_from_mpi_job`
    for the state of a job.

    Args:
        condition: a ``status.conditions[]`` entry.

    Returns:
        Created: Queued, Running: Running, Restarting: Requeued, Suspended:
        Suspended, Succeeded: Done, Failed: Failed; anything else Undetermined.
    """
    if not isinstance(condition, Mapping) or condition.get("status") != "True":
        return JobState.UNDETERMINED
    return {
        "Created": JobState.QUEUED,
        "Running": JobState.RUNNING,
        "Restarting": JobState.REQUEUED,
        "Suspended": JobState.SUSPENDED,
        "Succeeded": JobState.DONE,
        "Failed": JobState.FAILED,
    }.get(str(condition.get("type")), JobState.UNDETERMINED)


def job_state_from_mpi_job(
    mpijob: Mapping[str, Any], events: Iterable[Any] | None = None
) -> tuple[JobState, str]:
    """The DRMAA2 state and substate of an MPIJob.

    The first rule that matches decides:

    1. ``Succeeded`` True: Done, ``succeeded``.
    2. annotation ``airflow-provider-mpi/terminated: "true"``: Failed, ``terminated``.
    3. ``Failed`` True: Failed, ``failed:<reason>``.
    4. no condition and a Warning ``ValidationError`` event about the job in
       ``events``: Failed, ``validation-error``.
    5. suspended (``spec.runPolicy.suspend`` true, or ``Suspended`` True and
       suspend not turned off): QueuedHeld, ``held`` when the ``held``
       annotation is set or the job never started (no ``startTime``); else
       Suspended, ``suspended``.
    6. ``Restarting`` True: Requeued, ``requeued:<reason>``.
    7. a launcher pod failed (``replicaStatuses.Launcher.failed`` > 0) and no
       launcher pod runs: Requeued, ``requeued:launcher-failed`` (the launcher
       Job retries within ``backoffLimit``).
    8. ``Running`` True: Running, ``running``.
    9. resumed after a suspend (a ``Suspended`` condition exists, suspend is
       off), not running yet: Queued, ``resumed``.
    10. otherwise (no status yet, ``Created``): Queued, ``created``.

    Args:
        mpijob: the MPIJob as a dict.
        events: the job's events (core/v1 Event dicts, or objects with
            ``type``, ``reason`` and ``message``), needed for rule 4 only.

    Returns:
        ``(state, substate)``.
    """
    conditions = _conditions(mpijob)
    if _is_true(conditions.get("Succeeded")):
        return JobState.DONE, format_substate(SubState.SUCCEEDED)
    if _annotation(mpijob, keys.ANNOTATION_TERMINATED):
        return JobState.FAILED, format_substate(SubState.TERMINATED)
    failed = conditions.get("Failed")
    if _is_true(failed):
        assert failed is not None
        return JobState.FAILED, format_substate(SubState.FAILED, _failure_reason(failed))
    if not conditions and _validation_error(mpijob, events) is not None:
        return JobState.FAILED, format_substate(SubState.VALIDATION_ERROR)
    suspend = _map(_map(mpijob.get("spec")).get("runPolicy")).get("suspend")
    suspended_condition = conditions.get("Suspended")
    if suspend is True or (_is_true(suspended_condition) and suspend is not False):
        started = _map(mpijob.get("status")).get("startTime")
        if _annotation(mpijob, keys.ANNOTATION_HELD) or not started:
            return JobState.QUEUED_HELD, format_substate(SubState.HELD)
        return JobState.SUSPENDED, format_substate(SubState.SUSPENDED)
    restarting = conditions.get("Restarting")
    if _is_true(restarting):
        assert restarting is not None
        return JobState.REQUEUED, format_substate(
            SubState.REQUEUED, str(restarting.get("reason") or "Restarting")
        )
    launcher = _replica_status(mpijob, "Launcher")
    if _int(launcher.get("failed")) > 0 and _int(launcher.get("active")) == 0:
        return JobState.REQUEUED, format_substate(SubState.REQUEUED, LAUNCHER_FAILED)
    if _is_true(conditions.get("Running")):
        return JobState.RUNNING, format_substate(SubState.RUNNING)
    if suspended_condition is not None:
        return JobState.QUEUED, format_substate(SubState.RESUMED)
    return JobState.QUEUED, format_substate(SubState.CREATED)


# --------------------------------------------------------------------------- job info


def job_id_of(mpijob: Mapping[str, Any]) -> str:
    """The DRMAA2 job ID of an MPIJob: ``"<namespace>/<name>"``.

    Args:
        mpijob: the MPIJob as a dict.

    Returns:
        The ID (``"default"`` when the object carries no namespace).
    """
    metadata = _map(mpijob.get("metadata"))
    return f"{metadata.get('namespace') or 'default'}/{metadata.get('name') or ''}"
