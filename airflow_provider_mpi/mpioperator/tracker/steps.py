"""The tracker's job operations, written once as pure steps (see :mod:`.run`).

Each function returns a :data:`~.run.Step`: it yields request descriptors
(:mod:`..client.requests`) and gets the decoded answers back, so
:class:`~.sync.MPIOperatorTracker` and :class:`~.aio.AsyncMPIOperatorTracker`
run the very same code and differ only in how a request is sent. The
decisions are the pure parts' (``submission``, ``control``, ``status``,
``queries``); the array operations are in :mod:`.array_steps`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow_provider_mpi.drmaa2.errors import (
    BackendError,
    ConflictError,
    DRMAA2Error,
    InvalidArgumentError,
    InvalidStateError,
    JobNotFoundError,
    TransientBackendError,
)
from airflow_provider_mpi.drmaa2.info import JobInfo
from airflow_provider_mpi.drmaa2.state import JobControlAction, JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.descriptor import Request
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.status import (
    job_id_of,
    job_info_from_mpi_job,
    job_state_from_mpi_job,
)
from airflow_provider_mpi.mpioperator.status.events import JobEvent, job_events_from_k8s
from airflow_provider_mpi.mpioperator.tracker.control import control_applied, control_patch
from airflow_provider_mpi.mpioperator.tracker.ids import JobRef, format_job_id
from airflow_provider_mpi.mpioperator.tracker.queries import (
    check_crd,
    crd_missing,
    job_categories,
    job_event_objects,
    job_event_selectors,
    job_template_from_mpi_job,
    launcher_container,
    launcher_selector,
    mpijob_event_selector,
    needs_events,
    newest,
    oldest_first,
    pods_selector,
    selector_from_labels,
)
from airflow_provider_mpi.mpioperator.tracker.run import Step, gather, retrying
from airflow_provider_mpi.mpioperator.tracker.submission import (
    conflict_error,
    is_lost_create,
    is_same_submission,
)

__all__ = [
    "CONTROL_ATTEMPTS",
    "EVENT_READERS",
    "OUTPUT_STATES",
    "check_cluster",
    "check_tail_lines",
    "create",
    "create_attempt",
    "delete_job",
    "get_job",
    "job_control",
    "job_events",
    "job_info",
    "job_template",
    "launcher",
    "launcher_log",
    "list_job_categories",
    "list_jobs",
    "list_mpi_jobs",
    "state_of",
    "validation_events",
]

log = logging.getLogger(__name__)

#: Attempts of a state-checked job control patch against concurrent changes.
CONTROL_ATTEMPTS = 5
#: Event lists of one job (one per object: MPIJob, launcher Job, pods) in flight at once.
EVENT_READERS = 8
#: The states after which a job's launcher output is complete or can be followed.
OUTPUT_STATES = (JobState.RUNNING, JobState.DONE, JobState.FAILED)


def check_tail_lines(tail_lines: int | None) -> None:
    """Refuse a bad ``tail_lines`` before any request.

    Raises:
        InvalidArgumentError: not None and not an int >= 0.
    """
    if tail_lines is not None and (not isinstance(tail_lines, int) or tail_lines < 0):
        raise InvalidArgumentError("tail_lines", tail_lines, "must be None or an int >= 0")


# Submission


def create_attempt(mpijob: Mapping[str, Any]) -> Step[None]:
    """One attempt to create a job whose name and token were chosen beforehand.

    A 409 is success when the name holds this very submission (the answer
    of an earlier attempt was lost); a name deleted meanwhile makes the
    attempt transient, so it is repeated.

    Raises:
        ConflictError: another job holds the name.
        TransientBackendError: the name was freed between the 409 and the read.
    """
    namespace = str(mpijob["metadata"]["namespace"])
    name = str(mpijob["metadata"]["name"])
    job_id = format_job_id(namespace, name)
    try:
        yield rq.create_mpi_job(namespace, mpijob)
    except ConflictError:
        try:
            existing = yield rq.get_mpi_job(namespace, name, job_id=job_id)
        except JobNotFoundError:  # deleted meanwhile: create again
            raise TransientBackendError(409, f"{job_id} vanished after 409") from None
        if not is_same_submission(existing, mpijob):
            raise conflict_error(job_id) from None


def create(mpijob: Mapping[str, Any], policy: RetryPolicy) -> Step[str]:
    """Create a prepared job, repeating safely; its job ID.

    A create that failed for good (a lost answer) is checked once more: if
    the name holds this submission's object, it took effect.
    """
    job_id = format_job_id(mpijob["metadata"]["namespace"], mpijob["metadata"]["name"])
    try:
        yield from retrying(lambda: create_attempt(mpijob), policy, what=f"create MPIJob {job_id}")
    except DRMAA2Error as error:
        if not is_lost_create(error) or not (yield from _created_here(mpijob, job_id)):
            raise
        log.warning("create of MPIJob %s failed (%s) but it took effect", job_id, error)
    return job_id


def _created_here(mpijob: Mapping[str, Any], job_id: str) -> Step[bool]:
    """After a create failed for good: does the name hold this submission's object?"""
    meta = mpijob["metadata"]
    try:
        existing = yield rq.get_mpi_job(meta["namespace"], meta["name"], job_id=job_id)
    except DRMAA2Error:
        return False  # not there, or unknowable: the create's own error is raised
    return is_same_submission(existing, mpijob)


# Reading


def get_job(ref: JobRef) -> Step[dict[str, Any]]:
    """The job's MPIJob (``JobNotFoundError`` naming the job on 404)."""
    mpijob: dict[str, Any] = yield rq.get_mpi_job(ref.namespace, ref.name, job_id=str(ref))
    return mpijob


def list_mpi_jobs(
    namespace: str, label_selector: str | None = None
) -> Step[tuple[list[dict[str, Any]], str]]:
    """The MPIJobs of a namespace (matching a selector) and the list's resourceVersion."""
    body = yield rq.list_mpi_jobs(namespace, label_selector=label_selector)
    return rq.list_items(body), rq.list_version(body)


def list_jobs(namespace: str, labels: Mapping[str, str] | None = None) -> Step[list[str]]:
    """The job IDs of a namespace (those carrying all ``labels``), oldest first."""
    selector = selector_from_labels(labels) if labels is not None else None
    items, _ = yield from list_mpi_jobs(namespace, selector)
    return [job_id_of(job) for job in oldest_first(items)]


def validation_events(ref: JobRef, mpijob: Mapping[str, Any]) -> Step[list[dict[str, Any]] | None]:
    """The events about the MPIJob, read only when its state may depend on them."""
    if not needs_events(mpijob):
        return None
    selector = mpijob_event_selector(mpijob)
    body = yield rq.list_events(ref.namespace, field_selector=selector)
    return rq.list_items(body)


def state_of(ref: JobRef) -> Step[tuple[tuple[JobState, str], dict[str, Any]]]:
    """The job's state and substate, and the MPIJob they were read from."""
    mpijob = yield from get_job(ref)
    events = yield from validation_events(ref, mpijob)
    return job_state_from_mpi_job(mpijob, events), mpijob


def _pods(ref: JobRef, selector: str) -> Step[list[dict[str, Any]]]:
    body = yield rq.list_pods(ref.namespace, selector)
    return rq.list_items(body)


def job_info(ref: JobRef) -> Step[JobInfo]:
    """The job's JobInfo from its MPIJob, pods and (while it has no condition) events."""
    mpijob = yield from get_job(ref)
    pods = yield from _pods(ref, pods_selector(ref.name))
    events = yield from validation_events(ref, mpijob)
    return job_info_from_mpi_job(mpijob, pods=pods, events=events)


def _events(namespace: str, selector: str) -> Step[list[dict[str, Any]]]:
    body = yield rq.list_events(namespace, field_selector=selector)
    return rq.list_items(body)


def job_events(ref: JobRef, *, warnings_only: bool) -> Step[list[JobEvent]]:
    """The events of the job, its launcher Job and its pods: one list per object."""
    mpijob = yield from get_job(ref)
    pods = yield from _pods(ref, pods_selector(ref.name))
    selectors = job_event_selectors(mpijob, pods)
    lists = yield from gather([_events(ref.namespace, s) for s in selectors], EVENT_READERS)
    events = [event for found in lists for event in found]
    objects = job_event_objects(ref.name, pods)
    return job_events_from_k8s(events, objects, warnings_only=warnings_only)


def job_template(ref: JobRef, job_id: str) -> Step[JobTemplate]:
    """The template the job was submitted with (from its annotation)."""
    mpijob = yield from get_job(ref)
    return job_template_from_mpi_job(mpijob, job_id)


def list_job_categories(namespace: str) -> Step[list[str]]:
    """The launcher images of the namespace's MPIJobs."""
    items, _ = yield from list_mpi_jobs(namespace)
    return job_categories(items)


def check_cluster(namespace: str) -> Step[None]:
    """Check that the CRD serves ``v2beta1`` and MPIJobs may be listed.

    Raises:
        BackendError: the CRD is missing or does not serve ``v2beta1``.
        AuthorizationError: MPIJobs may not be listed in the namespace.
    """
    try:
        crd = yield rq.get_crd()
    except BackendError as exc:
        raise crd_missing(exc) from exc
    check_crd(crd)
    yield rq.list_mpi_jobs(namespace, limit=1)


def launcher(ref: JobRef) -> Step[Mapping[str, Any] | None]:
    """The job's newest launcher pod, if any."""
    pods = yield from _pods(ref, launcher_selector(ref.name))
    return newest(pods)


def launcher_log(
    ref: JobRef, pod: Mapping[str, Any], *, follow: bool, tail_lines: int | None
) -> Request:
    """The request for a launcher pod's log: as it is now (text), or followed (lines)."""
    name, container = str(pod["metadata"]["name"]), launcher_container(pod)
    log_request = rq.follow_pod_log if follow else rq.read_pod_log
    return log_request(ref.namespace, name, container=container, tail_lines=tail_lines)


# Control


def job_control(ref: JobRef, action: JobControlAction) -> Step[None]:
    """Apply a control action, decided on the state and bound to its resourceVersion.

    Raises:
        InvalidStateError: the state does not allow the action.
        ConflictError: the job kept changing for :data:`CONTROL_ATTEMPTS` attempts.
    """
    for attempt in range(CONTROL_ATTEMPTS):
        mpijob = yield from get_job(ref)
        if attempt and control_applied(mpijob, action):
            return
        state, _ = job_state_from_mpi_job(mpijob)
        version = (mpijob.get("metadata") or {}).get("resourceVersion")
        patch = control_patch(str(ref), state, action, resource_version=version)
        try:
            yield rq.patch_mpi_job(ref.namespace, ref.name, patch, job_id=str(ref))
            return
        except ConflictError:
            continue
    raise ConflictError(409, f"job {ref} kept changing; {action} was not applied")


def delete_job(ref: JobRef) -> Step[None]:
    """Delete a finished job (this incarnation only) with its dependents.

    Raises:
        InvalidStateError: the job has not ended.
    """
    mpijob = yield from get_job(ref)
    state, _ = job_state_from_mpi_job(mpijob)
    if not state.is_terminal:
        raise InvalidStateError(str(ref), state, "delete")
    uid = (mpijob.get("metadata") or {}).get("uid")
    try:
        yield rq.delete_mpi_job(
            ref.namespace, ref.name, job_id=str(ref), uid=uid, propagation_policy="Background"
        )
    except JobNotFoundError:
        return  # gone already (an earlier attempt whose answer was lost)
