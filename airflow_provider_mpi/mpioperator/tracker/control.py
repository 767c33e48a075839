"""Job control as JSON merge patches on ``runPolicy.suspend`` and two annotations.

The MPI operator has one lever: ``spec.runPolicy.suspend``. Setting it
deletes the job's pods and marks it Suspended; clearing it starts the job
again from scratch (an MPI program has no checkpoint the operator knows of,
so "resume" restarts it; this is documented for users). The five DRMAA2
actions map onto it:

=========  ===================================  ============================================
action     allowed in                           patch
=========  ===================================  ============================================
terminate  any state but Done and Failed        suspend, ``terminated: "true"``, un-held
suspend    Queued, Running, Requeued            suspend
resume     Suspended                            unsuspend
hold       Queued (not started yet)             suspend, ``held: "true"``
release    QueuedHeld                           unsuspend, drop ``held``
=========  ===================================  ============================================

Terminate keeps the MPIJob: its pods stop, the record stays and reads Failed
with substate ``terminated`` until ``delete_job``. Everything else is an
:class:`InvalidStateError` naming job, state and action. Pure; shared by the
sync and async trackers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_mpi.drmaa2.errors import InvalidStateError
from airflow_provider_mpi.drmaa2.state import JobControlAction, JobState
from airflow_provider_mpi.mpioperator.names import ANNOTATION_HELD, ANNOTATION_TERMINATED

__all__ = ["ALLOWED_STATES", "control_applied", "control_patch", "release_patch"]

A = JobControlAction
S = JobState

#: The states in which each action is accepted.
ALLOWED_STATES: dict[JobControlAction, frozenset[JobState]] = {
    A.TERMINATE: frozenset(state for state in S if not state.is_terminal),
    A.SUSPEND: frozenset({S.QUEUED, S.RUNNING, S.REQUEUED}),
    A.RESUME: frozenset({S.SUSPENDED}),
    A.HOLD: frozenset({S.QUEUED}),
    A.RELEASE: frozenset({S.QUEUED_HELD}),
}

# What each action writes: (runPolicy.suspend, annotations to set or remove).
_EFFECTS: dict[JobControlAction, tuple[bool, dict[str, str | None]]] = {
    A.TERMINATE: (True, {ANNOTATION_TERMINATED: "true", ANNOTATION_HELD: None}),
    A.SUSPEND: (True, {}),
    A.RESUME: (False, {}),
    A.HOLD: (True, {ANNOTATION_HELD: "true"}),
    A.RELEASE: (False, {ANNOTATION_HELD: None}),
}


def _patch(action: JobControlAction, resource_version: str | None) -> dict[str, Any]:
    suspend, annotations = _EFFECTS[action]
    metadata: dict[str, Any] = {}
    if annotations:
        metadata["annotations"] = dict(annotations)
    if resource_version:
        metadata["resourceVersion"] = resource_version
    patch: dict[str, Any] = {"spec": {"runPolicy": {"suspend": suspend}}}
    if metadata:
        patch["metadata"] = metadata
    return patch


def control_patch(
    job_id: str,
    state: JobState,
    action: JobControlAction,
    *,
    resource_version: str | None = None,
) -> dict[str, Any]:
    """Check an action against the job's state and build its merge patch.

    Args:
        job_id: the job (for the error message).
        state: the job's current state.
        action: the action.
        resource_version: the resourceVersion the state was read at; the
            patch then only applies to that version (409 otherwise), so a
            decision is never applied to a job that changed meanwhile.

    Returns:
        The JSON merge patch.

    Raises:
        InvalidStateError: the state does not allow the action.

    Example:
        >>> patch = control_patch("ns/pi", JobState.QUEUED, JobControlAction.HOLD)
        >>> patch["spec"], patch["metadata"]["annotations"]
        ({'runPolicy': {'suspend': True}}, {'airflow-provider-mpi/held': 'true'})
    """
    if state not in ALLOWED_STATES[action]:
        allowed = ", ".join(sorted(str(s) for s in ALLOWED_STATES[action]))
        raise InvalidStateError(
            job_id,
            state,
            action,
            message=f"cannot {action} job {job_id!r} in state {state} (allowed in: {allowed})",
        )
    return _patch(action, resource_version)


def release_patch() -> dict[str, Any]:
    """The merge patch that releases a held array task (no state check).

    Returns:
        The patch of :attr:`JobControlAction.RELEASE`.
    """
    return _patch(A.RELEASE, None)


def control_applied(mpijob: Mapping[str, Any], action: JobControlAction) -> bool:
    """Whether an MPIJob already shows the effect of an action.

    Used after a 409 on a patch whose first attempt may have landed: if the
    job already looks as the patch would make it, the action succeeded.

    Args:
        mpijob: the object as read now.
        action: the action that was sent.

    Returns:
        True when ``runPolicy.suspend`` and the annotations match the patch.
    """
    suspend, annotations = _EFFECTS[action]
    run_policy = (mpijob.get("spec") or {}).get("runPolicy") or {}
    if bool(run_policy.get("suspend", False)) is not suspend:
        return False
    present = (mpijob.get("metadata") or {}).get("annotations") or {}
    return all(present.get(key) == value for key, value in annotations.items())
