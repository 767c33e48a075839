"""Selectors and readings over MPIJob, pod and list objects.

The small pure pieces both trackers need to find a job's launcher pod, read
its template back, order listed jobs and build label selectors. Names of
the labels the MPI operator puts on pods are the operator's, not ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_mpi.drmaa2.errors import BackendError, InvalidArgumentError, JobNotFoundError
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.names import (
    ANNOTATION_JOB_TEMPLATE,
    KIND,
    LABEL_ARRAY_ID,
    LABEL_JOB_NAME,
    LABEL_JOB_ROLE,
    MPIJOB_CRD,
    MPIJOB_GROUP,
    MPIJOB_PLURAL,
    MPIJOB_VERSION,
)
from airflow_provider_mpi.mpioperator.template.validation import (
    label_value_error,
    qualified_name_error,
)
from airflow_provider_mpi.mpioperator.tracker.submission import ANNOTATION_SUBMITTED_AT

__all__ = [
    "LABEL_JOB_NAME",
    "LABEL_JOB_ROLE",
    "MPIJOB_CRD",
    "MPIJOB_GROUP",
    "MPIJOB_PLURAL",
    "MPIJOB_VERSION",
    "array_selector",
    "check_crd",
    "container_started",
    "crd_missing",
    "event_selector",
    "job_categories",
    "job_event_objects",
    "job_event_selectors",
    "job_template_from_mpi_job",
    "launcher_container",
    "launcher_selector",
    "mpijob_event_selector",
    "needs_events",
    "newest",
    "oldest_first",
    "pods_selector",
    "selector_from_labels",
]


def selector_from_labels(labels: Mapping[str, str], *, field: str = "labels") -> str:
    """Spell an equality label selector, checking keys and values.

    Args:
        labels: label keys and values (all must match).
        field: the argument name for errors.

    Returns:
        ``"k1=v1,k2=v2"`` (sorted by key).

    Raises:
        InvalidArgumentError: the mapping is empty, or a key or value is not
            valid label syntax.
    """
    if not isinstance(labels, Mapping) or not labels:
        raise InvalidArgumentError(field, labels, "must be a non-empty mapping of labels")
    parts = []
    for key, value in sorted(labels.items()):
        if (error := qualified_name_error(key)) is not None:
            raise InvalidArgumentError(field, labels, f"label key {key!r}: {error}")
        if (error := label_value_error(value)) is not None:
            raise InvalidArgumentError(field, labels, f"label value {value!r}: {error}")
        parts.append(f"{key}={value}")
    return ",".join(parts)


def pods_selector(job_name: str) -> str:
    """The selector of every pod of an MPIJob (launcher and workers)."""
    return f"{LABEL_JOB_NAME}={job_name}"


def launcher_selector(job_name: str) -> str:
    """The selector of an MPIJob's launcher pod(s)."""
    return f"{LABEL_JOB_NAME}={job_name},{LABEL_JOB_ROLE}=launcher"


def array_selector(array_name: str) -> str:
    """The selector of an array's task MPIJobs."""
    return f"{LABEL_ARRAY_ID}={array_name}"


def _created(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    metadata = obj.get("metadata") or {}
    submitted = (metadata.get("annotations") or {}).get(ANNOTATION_SUBMITTED_AT)
    return (
        str(metadata.get("creationTimestamp") or ""),
        str(submitted or ""),
        str(metadata.get("name") or ""),
    )


def oldest_first(objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Order objects by creation time, then submission time, then name.

    ``creationTimestamp`` has whole seconds; the ``submitted-at`` annotation
    orders the jobs this provider created within one second. RFC 3339 UTC
    times sort as text.
    """
    return sorted(objects, key=_created)


def newest(objects: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The most recently created object, or None for none (e.g. a retried launcher)."""
    ordered = oldest_first(objects)
    return ordered[-1] if ordered else None


def launcher_container(pod: Mapping[str, Any]) -> str | None:
    """The name of the launcher pod's first container (the MPI program)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    return str(containers[0].get("name")) if containers else None


def container_started(pod: Mapping[str, Any]) -> bool:
    """Whether the pod's first container has run (its log can be read)."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    if not statuses:
        return False
    state = statuses[0].get("state") or {}
    last = statuses[0].get("lastState") or {}
    return "running" in state or "terminated" in state or bool(last.get("terminated"))


def job_event_objects(job_name: str, pods: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """The ``(kind, name)`` pairs whose events belong to a job.

    Args:
        job_name: the MPIJob's name.
        pods: the job's pods.

    Returns:
        The MPIJob, its launcher Job and every pod.
    """
    objects = {(KIND, job_name), ("Job", f"{job_name}-launcher")}
    objects.update(("Pod", str((pod.get("metadata") or {}).get("name"))) for pod in pods)
    return objects


def event_selector(kind: str, name: str, uid: str | None = None) -> str:
    """The field selector of the events about one object.

    The API server selects events by ``involvedObject`` fields, so reading
    one object's events costs what those events cost, not what the
    namespace's events cost.

    Args:
        kind: the object's kind (``MPIJob``, ``Job``, ``Pod``).
        name: its name.
        uid: its UID when known: events about an earlier object of the same
            name are then left out.

    Returns:
        e.g. ``"involvedObject.kind=Pod,involvedObject.name=pi-launcher-x"``.
    """
    parts = [f"involvedObject.kind={kind}", f"involvedObject.name={name}"]
    if uid:
        parts.append(f"involvedObject.uid={uid}")
    return ",".join(parts)


def _uid(obj: Mapping[str, Any]) -> str | None:
    uid = (obj.get("metadata") or {}).get("uid")
    return str(uid) if uid else None


def mpijob_event_selector(mpijob: Mapping[str, Any]) -> str:
    """The field selector of the events about an MPIJob itself (by kind, name and UID).

    Args:
        mpijob: the MPIJob object.

    Returns:
        The selector.
    """
    name = str((mpijob.get("metadata") or {}).get("name") or "")
    return event_selector(KIND, name, _uid(mpijob))


def job_event_selectors(mpijob: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[str]:
    """One field selector per object whose events belong to a job.

    Field selectors cannot say "one of these objects", so the events of a
    job take one list per object: the MPIJob, its launcher Job and each pod.

    Args:
        mpijob: the MPIJob object.
        pods: the job's pods.

    Returns:
        The selectors, MPIJob first.
    """
    name = str((mpijob.get("metadata") or {}).get("name") or "")
    selectors = [mpijob_event_selector(mpijob), event_selector("Job", f"{name}-launcher")]
    for pod in pods:
        pod_name = str((pod.get("metadata") or {}).get("name") or "")
        if pod_name:
            selectors.append(event_selector("Pod", pod_name, _uid(pod)))
    return selectors


def job_template_from_mpi_job(mpijob: Mapping[str, Any], job_id: str) -> JobTemplate:
    """Read back the template a job was submitted with.

    Args:
        mpijob: the MPIJob object.
        job_id: its ID (for the error).

    Returns:
        The template.

    Raises:
        JobNotFoundError: the job carries no template annotation (it was not
            submitted through this provider).
    """
    text = ((mpijob.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_JOB_TEMPLATE)
    if not text:
        raise JobNotFoundError(
            job_id, message=f"job {job_id!r} was not submitted with a DRMAA2 job template"
        )
    return JobTemplate.from_json(text)


def job_categories(mpijobs: Iterable[Mapping[str, Any]]) -> list[str]:
    """The launcher images in use: the job categories a cluster evidently runs.

    Args:
        mpijobs: MPIJob objects.

    Returns:
        Distinct images, sorted.
    """
    images = set()
    for job in mpijobs:
        spec = (job.get("spec") or {}).get("mpiReplicaSpecs") or {}
        launcher = (spec.get("Launcher") or {}).get("template") or {}
        for container in (launcher.get("spec") or {}).get("containers") or []:
            if container.get("image"):
                images.add(str(container["image"]))
    return sorted(images)


def needs_events(mpijob: Mapping[str, Any]) -> bool:
    """Whether the state of an MPIJob may depend on its events.

    Only before the operator set a condition: a ``ValidationError`` event
    then tells that it never will (see ``status.job_state_from_mpi_job``).
    """
    return not (mpijob.get("status") or {}).get("conditions")


def crd_missing(error: BackendError) -> BackendError:
    """Explain a failed read of the MPIJob CRD.

    Args:
        error: the error of the read.

    Returns:
        For a 404, an error saying the MPI operator is not installed and how
        to install it; any other error unchanged.
    """
    if error.status != 404:
        return error
    return BackendError(
        404,
        f"the MPIJob CRD {MPIJOB_CRD} is not installed: install the MPI operator "
        "(install_mpi_operator or MPIOperatorTracker(install_operator=True))",
    )


def check_crd(crd: Mapping[str, Any]) -> None:
    """Check that the MPIJob CRD serves the version the tracker speaks.

    Args:
        crd: the CustomResourceDefinition.

    Raises:
        BackendError: ``v2beta1`` is not among its versions.
    """
    versions = [v.get("name") for v in (crd.get("spec") or {}).get("versions") or []]
    if MPIJOB_VERSION not in versions:
        raise BackendError(
            None,
            f"the MPIJob CRD serves {versions}, not {MPIJOB_VERSION}: upgrade the MPI operator",
        )
