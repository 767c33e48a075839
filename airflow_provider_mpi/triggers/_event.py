"""The one event an :class:`~airflow_provider_mpi.triggers.mpi_job.MPIJobTrigger` fires, typed.

The trigger decides the outcome of its wait here (pure functions over the
states and the JobInfo it already has) and sends it as a
:class:`MPIJobTriggerEvent`: the status, the state, the message and the
:class:`~airflow_provider_mpi.drmaa2.info.JobInfo` itself. The deferred
operator and sensor read it back with :meth:`MPIJobTriggerEvent.from_dict`
and use it as it is, without reading the job again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_mpi.drmaa2.arrays import failed_tasks
from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.info import JobInfo
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.drmaa2.strenum import StrEnum

__all__ = ["MPIJobTriggerEvent", "MPIJobTriggerStatus", "array_outcome", "job_outcome"]


class MPIJobTriggerStatus(StrEnum):
    """How the wait ended."""

    #: The job reached a target state (every array task Done).
    SUCCESS = "success"
    #: The job ended in a state that is not a target (an array task failed).
    FAILED = "failed"
    #: The deadline passed first.
    TIMEOUT = "timeout"
    #: The trigger could not follow the job (API failure, job gone, bad config).
    ERROR = "error"


@dataclass(frozen=True)
class MPIJobTriggerEvent:
    """The payload of the one event an ``MPIJobTrigger`` fires.

    Attributes:
        status: how the wait ended.
        job_id: the job ID, or the array job ID for an array.
        state: the job's state when the wait ended (None for an array or
            when unknown).
        message: a human explanation (the error, the timeout, the reason).
        job_info: the job's JobInfo when it ended (single jobs).
        task_states: task job ID to state (arrays).
    """

    status: MPIJobTriggerStatus
    job_id: str
    state: JobState | None = None
    message: str = ""
    job_info: JobInfo | None = None
    task_states: dict[str, JobState] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready payload (enums by name, the JobInfo with Go keys)."""
        return {
            "status": self.status.value,
            "job_id": self.job_id,
            "state": None if self.state is None else self.state.go_name,
            "message": self.message,
            "job_info": None if self.job_info is None else self.job_info.to_dict(),
            "task_states": {job: state.go_name for job, state in self.task_states.items()},
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> MPIJobTriggerEvent:
        """Read a payload written by :meth:`to_dict`.

        Raises:
            InvalidArgumentError: the payload is not one of ours.
        """
        try:
            status = MPIJobTriggerStatus(payload["status"])
            job_id = str(payload["job_id"])
        except (KeyError, TypeError, ValueError):
            raise InvalidArgumentError(
                "event", payload, "not an MPIJobTrigger event payload"
            ) from None
        state = payload.get("state")
        info = payload.get("job_info")
        return cls(
            status=status,
            job_id=job_id,
            state=None if state is None else JobState.parse(state),
            message=str(payload.get("message") or ""),
            job_info=JobInfo.from_dict(info) if info else None,
            task_states={
                job: JobState.parse(value)
                for job, value in (payload.get("task_states") or {}).items()
            },
        )


def job_outcome(
    job_id: str, state: JobState, info: JobInfo, targets: frozenset[JobState]
) -> MPIJobTriggerEvent:
    """The event of a single job's wait that ended in ``state``.

    Args:
        job_id: the job.
        state: the state the wait ended in.
        info: the job's JobInfo then.
        targets: the states that count as success.

    Returns:
        SUCCESS when ``state`` is a target, else FAILED; with the JobInfo.
    """
    status = MPIJobTriggerStatus.SUCCESS if state in targets else MPIJobTriggerStatus.FAILED
    detail = f" ({info.sub_state})" if info.sub_state else ""
    return MPIJobTriggerEvent(
        status, job_id, state=state, message=f"job {job_id} is {state}{detail}", job_info=info
    )


def array_outcome(array_id: str, states: dict[str, JobState]) -> MPIJobTriggerEvent:
    """The event of an array's wait that ended with every task in ``states``.

    Args:
        array_id: the array job.
        states: each task's end state.

    Returns:
        FAILED naming the failed tasks (see ``drmaa2.arrays.failed_tasks``),
        else SUCCESS.
    """
    failed = failed_tasks(states)
    if failed:
        return MPIJobTriggerEvent(
            MPIJobTriggerStatus.FAILED,
            array_id,
            message=f"{len(failed)} of {len(states)} tasks failed: {', '.join(failed)}",
            task_states=states,
        )
    return MPIJobTriggerEvent(
        MPIJobTriggerStatus.SUCCESS,
        array_id,
        message=f"all {len(states)} tasks done",
        task_states=states,
    )
