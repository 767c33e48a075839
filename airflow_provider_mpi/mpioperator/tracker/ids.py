"""Job and array job IDs: parsing, formatting and generated names.

A job ID is ``"<namespace>/<mpijob-name>"`` so it stays unambiguous when one
Airflow deployment drives several namespaces; a bare ``"<name>"`` means the
tracker's namespace. An array job ID has the same shape and names the array;
its tasks are the MPIJobs ``<array-name>-<task-id>``. The Go seed spelled an
array ID as a JSON list of job IDs; that form is still read.

Everything here is pure and validates before any request is sent, so a typo
in an ID fails with :class:`InvalidArgumentError` naming the argument rather
than with a 404 from the cluster.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass

from airflow_provider_mpi.drmaa2.arrays import parse_legacy_array_job_id
from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError

__all__ = [
    "ArrayRef",
    "JobRef",
    "format_job_id",
    "generate_name",
    "parse_array_id",
    "parse_job_id",
    "task_job_name",
    "validate_namespace",
]

# RFC 1123 label (namespaces) and subdomain (object names), as Kubernetes checks them.
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_MAX_NAMESPACE = 63
_MAX_NAME = 253
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
#: Length of the random suffix of generated names (36**8, about 2.8e12 choices).
SUFFIX_LENGTH = 8


@dataclass(frozen=True, order=True)
class JobRef:
    """One MPIJob: its namespace and name.

    ``str(ref)`` is the job ID ``"<namespace>/<name>"``.
    """

    namespace: str
    name: str

    def __str__(self) -> str:
        return format_job_id(self.namespace, self.name)

    @property
    def job_id(self) -> str:
        """The job ID, ``"<namespace>/<name>"``."""
        return str(self)


@dataclass(frozen=True)
class ArrayRef:
    """An array job: either a named array or the Go seed's explicit list of jobs.

    Attributes:
        namespace: the namespace of the array's tasks.
        name: the array name (its tasks are labelled with it), or ``None``
            for a seed-style ID that lists its jobs.
        jobs: the listed jobs of a seed-style ID, in the order given.
    """

    namespace: str
    name: str | None
    jobs: tuple[JobRef, ...] = ()

    def __str__(self) -> str:
        if self.name is not None:
            return format_job_id(self.namespace, self.name)
        return json.dumps([str(job) for job in self.jobs])


def _check_namespace(namespace: str, field: str, value: object) -> None:
    if len(namespace) > _MAX_NAMESPACE or not _LABEL.match(namespace):
        raise InvalidArgumentError(
            field,
            value,
            f"namespace {namespace!r} must be a lowercase RFC 1123 label of at most "
            f"{_MAX_NAMESPACE} characters",
        )


def _check_name(name: str, field: str, value: object) -> None:
    if len(name) > _MAX_NAME or not _SUBDOMAIN.match(name):
        raise InvalidArgumentError(
            field,
            value,
            f"name {name!r} must be a lowercase RFC 1123 subdomain (letters, digits, '-' and '.')",
        )


def validate_namespace(namespace: object, *, field: str = "namespace") -> str:
    """Check a namespace name.

    Args:
        namespace: the candidate.
        field: the argument name for errors.

    Returns:
        The namespace.

    Raises:
        InvalidArgumentError: not a lowercase RFC 1123 label.
    """
    if not isinstance(namespace, str):
        raise InvalidArgumentError(field, namespace, "must be a string")
    _check_namespace(namespace, field, namespace)
    return namespace


def format_job_id(namespace: str, name: str) -> str:
    """Spell a job ID.

    Args:
        namespace: the MPIJob's namespace.
        name: the MPIJob's name.

    Returns:
        ``"<namespace>/<name>"``.
    """
    return f"{namespace}/{name}"


def parse_job_id(job_id: object, default_namespace: str, *, field: str = "job_id") -> JobRef:
    """Read a job ID.

    Args:
        job_id: ``"<namespace>/<name>"`` or a bare ``"<name>"``.
        default_namespace: the namespace of a bare name (the tracker's).
        field: the argument name used in error messages.

    Returns:
        The job's namespace and name.

    Raises:
        InvalidArgumentError: the ID is not a string, is empty, has more than
            one ``/``, or its parts are not valid Kubernetes names.

    Example:
        >>> parse_job_id("team-a/train-1", "default")
        JobRef(namespace='team-a', name='train-1')
        >>> parse_job_id("train-1", "default").job_id
        'default/train-1'
    """
    if not isinstance(job_id, str) or not job_id.strip():
        raise InvalidArgumentError(field, job_id, "must be '<namespace>/<name>' or '<name>'")
    text = job_id.strip()
    parts = text.split("/")
    if len(parts) == 1:
        namespace, name = default_namespace, parts[0]
    elif len(parts) == 2:
        namespace, name = parts
    else:
        raise InvalidArgumentError(field, job_id, "must be '<namespace>/<name>' or '<name>'")
    _check_namespace(namespace, field, job_id)
    _check_name(name, field, job_id)
    return JobRef(namespace, name)


def parse_array_id(array_id: object, default_namespace: str) -> ArrayRef:
    """Read an array job ID.

    Args:
        array_id: ``"<namespace>/<array-name>"``, a bare ``"<array-name>"``,
            or the Go seed's JSON list of job IDs (``'["ns/a-1", "ns/a-2"]'``).
        default_namespace: the namespace of bare names.

    Returns:
        The array reference.

    Raises:
        InvalidArgumentError: the ID is malformed, or a JSON list is empty,
            holds something other than job IDs, or spans several namespaces.
    """
    legacy = parse_legacy_array_job_id(array_id) if isinstance(array_id, str) else None
    if legacy is not None:
        if not legacy:
            raise InvalidArgumentError("array_id", array_id, "the JSON list of job IDs is empty")
        jobs = tuple(parse_job_id(item, default_namespace, field="array_id") for item in legacy)
        if len({job.namespace for job in jobs}) != 1:
            raise InvalidArgumentError(
                "array_id", array_id, "the jobs of one array must share a namespace"
            )
        return ArrayRef(jobs[0].namespace, None, jobs)
    ref = parse_job_id(array_id, default_namespace, field="array_id")
    return ArrayRef(ref.namespace, ref.name)


def task_job_name(array_name: str, task_id: int) -> str:
    """Name the MPIJob of one array task.

    Args:
        array_name: the array's name.
        task_id: the task ID (the DRMAA2 index).

    Returns:
        ``"<array_name>-<task_id>"``.
    """
    return f"{array_name}-{task_id}"


def generate_name(prefix: str) -> str:
    """Choose a unique object name on the client side.

    The tracker names objects itself instead of using the server's
    ``generateName``: a create whose response was lost can then be retried
    and meets ``409 AlreadyExists`` instead of making a second job.

    Args:
        prefix: the start of the name, e.g. ``"mpijob"``; a trailing ``-``
            is added when missing.

    Returns:
        ``"<prefix>-<8 random lowercase letters or digits>"``.
    """
    stem = prefix if prefix.endswith("-") else prefix + "-"
    return stem + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
