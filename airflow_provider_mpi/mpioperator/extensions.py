"""The Go seed's JobTemplate extensions, typed: worker image and command, slots, MPI, resources.

Functions named like the Go ones (``SetWorkerImageExtension`` ->
:func:`set_worker_image_extension`), each taking and returning a JobTemplate:
a setter returns a new template and leaves its argument untouched; a getter
returns a typed value, the seed's default when the extension is unset or
empty, and raises :class:`InvalidTemplateError` naming the extension and the
value when the string is malformed (the seed silently fell back to the
default). Values written by the Go package read back the same (the worker
command joined by ``<!~!>``, quantities as Kubernetes prints them).

The extension names themselves, and the check that rejects unknown ones, are
in :mod:`.extension_keys`; they are re-exported here so that one import gives
the seed's whole vocabulary.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator.extension_keys import (
    EXTENSION_ACCELERATOR,
    EXTENSION_ALIASES,
    EXTENSION_ANNOTATIONS,
    EXTENSION_BACKOFF_LIMIT,
    EXTENSION_CLEAN_POD_POLICY,
    EXTENSION_DISTRIBUTION,
    EXTENSION_ENV_FROM_CONFIGMAP,
    EXTENSION_ENV_FROM_SECRET,
    EXTENSION_FS_GROUP,
    EXTENSION_IMAGE_PULL_POLICY,
    EXTENSION_IMAGE_PULL_SECRETS,
    EXTENSION_KUEUE_QUEUE,
    EXTENSION_LABELS,
    EXTENSION_LAUNCHER_CREATION_POLICY,
    EXTENSION_MPI_IMPLEMENTATION,
    EXTENSION_NAMESPACE,
    EXTENSION_NODE_SELECTORS,
    EXTENSION_PRIORITY_CLASS_NAME,
    EXTENSION_PRIVILEGED,
    EXTENSION_RUN_AS_GROUP,
    EXTENSION_RUN_AS_USER,
    EXTENSION_RUN_LAUNCHER_AS_WORKER,
    EXTENSION_SCHEDULER,
    EXTENSION_SERVICE_ACCOUNT_NAME,
    EXTENSION_SLOTS_PER_WORKER,
    EXTENSION_SSH_MOUNT_PATH,
    EXTENSION_TTL_SECONDS_AFTER_FINISHED,
    EXTENSION_WORKER_COMMAND,
    EXTENSION_WORKER_IMAGE,
    INT32_MAX,
    INT64_MAX,
    KNOWN_EXTENSIONS,
    RESOURCE_LIMIT_LAUNCHER_PREFIX,
    RESOURCE_LIMIT_WORKER_PREFIX,
    RESOURCE_REQUEST_LAUNCHER_PREFIX,
    RESOURCE_REQUEST_WORKER_PREFIX,
    WORKER_COMMAND_SEPARATOR,
    EnumExtension,
    IntExtension,
    check_extension_keys,
    raw_extension,
    with_checked_extension,
    with_extensions,
)
from airflow_provider_mpi.mpioperator.quantity import QuantityError, parse_quantity
from airflow_provider_mpi.mpioperator.validation import qualified_name_error

__all__ = [
    "DEFAULT_SLOTS_PER_WORKER",
    "DEFAULT_SSH_MOUNT_PATH",
    "EXTENSION_ACCELERATOR",
    "EXTENSION_ALIASES",
    "EXTENSION_ANNOTATIONS",
    "EXTENSION_BACKOFF_LIMIT",
    "EXTENSION_CLEAN_POD_POLICY",
    "EXTENSION_DISTRIBUTION",
    "EXTENSION_ENV_FROM_CONFIGMAP",
    "EXTENSION_ENV_FROM_SECRET",
    "EXTENSION_FS_GROUP",
    "EXTENSION_IMAGE_PULL_POLICY",
    "EXTENSION_IMAGE_PULL_SECRETS",
    "EXTENSION_KUEUE_QUEUE",
    "EXTENSION_LABELS",
    "EXTENSION_LAUNCHER_CREATION_POLICY",
    "EXTENSION_MPI_IMPLEMENTATION",
    "EXTENSION_NAMESPACE",
    "EXTENSION_NODE_SELECTORS",
    "EXTENSION_PRIORITY_CLASS_NAME",
    "EXTENSION_PRIVILEGED",
    "EXTENSION_RUN_AS_GROUP",
    "EXTENSION_RUN_AS_USER",
    "EXTENSION_RUN_LAUNCHER_AS_WORKER",
    "EXTENSION_SCHEDULER",
    "EXTENSION_SERVICE_ACCOUNT_NAME",
    "EXTENSION_SLOTS_PER_WORKER",
    "EXTENSION_SSH_MOUNT_PATH",
    "EXTENSION_TTL_SECONDS_AFTER_FINISHED",
    "EXTENSION_WORKER_COMMAND",
    "EXTENSION_WORKER_IMAGE",
    "KNOWN_EXTENSIONS",
    "RESOURCE_LIMIT_LAUNCHER_PREFIX",
    "RESOURCE_LIMIT_WORKER_PREFIX",
    "RESOURCE_REQUEST_LAUNCHER_PREFIX",
    "RESOURCE_REQUEST_WORKER_PREFIX",
    "WORKER_COMMAND_SEPARATOR",
    "MPIImplementation",
    "check_extension_keys",
    "get_launcher_resource_limit_extension",
    "get_launcher_resource_requests_extension",
    "get_mpi_implementation_extension",
    "get_run_as_user_extension",
    "get_slots_per_worker_extension",
    "get_ssh_mount_path_extension",
    "get_worker_command_extension",
    "get_worker_image_extension",
    "get_worker_resource_limit_extension",
    "get_worker_resource_requests_extension",
    "set_launcher_resource_limit_extension",
    "set_launcher_resource_requests_extension",
    "set_mpi_implementation_extension",
    "set_run_as_user_extension",
    "set_slots_per_worker_extension",
    "set_ssh_mount_path_extension",
    "set_worker_command_extension",
    "set_worker_image_extension",
    "set_worker_resource_limit_extension",
    "set_worker_resource_requests_extension",
]

DEFAULT_SLOTS_PER_WORKER = 1
DEFAULT_SSH_MOUNT_PATH = "/root/.ssh"


class MPIImplementation(str, enum.Enum):
    """The MPI implementations the operator knows (``spec.mpiImplementation``)."""

    OPEN_MPI = "OpenMPI"
    INTEL = "Intel"
    MPICH = "MPICH"

    def __str__(self) -> str:
        return self.value


_SLOTS_PER_WORKER = IntExtension(EXTENSION_SLOTS_PER_WORKER, 1, INT32_MAX)
_RUN_AS_USER = IntExtension(EXTENSION_RUN_AS_USER, 0, INT64_MAX)
_MPI_IMPLEMENTATION = EnumExtension(EXTENSION_MPI_IMPLEMENTATION, MPIImplementation)


# --------------------------------------------------------------------------- the seed's extensions


def set_worker_image_extension(jt: JobTemplate, worker_image: str) -> JobTemplate:
    """Set the workers' container image (default: the launcher image, ``job_category``).

    Args:
        jt: the template, left untouched.
        worker_image: an image reference.

    Returns:
        A new template with ``workerImage`` set.
    """
    return with_extensions(jt, {EXTENSION_WORKER_IMAGE: worker_image})


def get_worker_image_extension(jt: JobTemplate) -> str | None:
    """The workers' image, or None when unset (the converter then uses ``job_category``).

    Args:
        jt: the template.

    Returns:
        The image or None (the seed returned ``""``).
    """
    return raw_extension(jt, EXTENSION_WORKER_IMAGE)


def set_worker_command_extension(jt: JobTemplate, *command: str) -> JobTemplate:
    """Set the workers' command and arguments (stored joined by ``<!~!>``, as in Go).

    An empty first element keeps the image's entrypoint and passes the rest
    as arguments. No elements removes the extension (the image's entrypoint
    and arguments are used; the operator needs the workers to run sshd).

    Args:
        jt: the template, left untouched.
        *command: the command and its arguments.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: an element contains the separator ``<!~!>``.
    """
    for part in command:
        if WORKER_COMMAND_SEPARATOR in part:
            raise InvalidTemplateError(
                EXTENSION_WORKER_COMMAND, part, f"must not contain {WORKER_COMMAND_SEPARATOR!r}"
            )
    value = WORKER_COMMAND_SEPARATOR.join(command) if command else None
    return with_extensions(jt, {EXTENSION_WORKER_COMMAND: value})


def get_worker_command_extension(jt: JobTemplate) -> list[str] | None:
    """The workers' command and arguments, or None when unset.

    Args:
        jt: the template.

    Returns:
        The list split at ``<!~!>`` (the first element may be ``""``: keep the
        entrypoint), or None (the seed returned ``[""]``, which became an
        empty container command).
    """
    raw = raw_extension(jt, EXTENSION_WORKER_COMMAND)
    return None if raw is None else raw.split(WORKER_COMMAND_SEPARATOR)


def set_slots_per_worker_extension(jt: JobTemplate, slots_per_worker: int) -> JobTemplate:
    """Set the MPI slots per worker (``spec.slotsPerWorker``).

    Args:
        jt: the template, left untouched.
        slots_per_worker: at least 1.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not a positive 32-bit integer.
    """
    return _SLOTS_PER_WORKER.set(jt, slots_per_worker)


def get_slots_per_worker_extension(jt: JobTemplate) -> int:
    """The MPI slots per worker; 1 when unset.

    Args:
        jt: the template.

    Returns:
        The number of slots.

    Raises:
        InvalidTemplateError: not an integer between 1 and 2^31-1.
    """
    slots = _SLOTS_PER_WORKER.get(jt)
    return DEFAULT_SLOTS_PER_WORKER if slots is None else slots


def set_mpi_implementation_extension(
    jt: JobTemplate, mpi_implementation: MPIImplementation | str
) -> JobTemplate:
    """Set the MPI implementation (``OpenMPI``, ``Intel``, ``MPICH``; any case in).

    Args:
        jt: the template, left untouched.
        mpi_implementation: a member or its name.

    Returns:
        A new template with the canonical spelling stored.

    Raises:
        InvalidTemplateError: not one of the three.
    """
    return _MPI_IMPLEMENTATION.set(jt, mpi_implementation)


def get_mpi_implementation_extension(jt: JobTemplate) -> MPIImplementation:
    """The MPI implementation; Intel when unset (the seed's default, not the operator's).

    Args:
        jt: the template.

    Returns:
        The implementation.

    Raises:
        InvalidTemplateError: not OpenMPI, Intel or MPICH (case-insensitive).
    """
    implementation = _MPI_IMPLEMENTATION.get(jt)
    return MPIImplementation.INTEL if implementation is None else implementation


def set_ssh_mount_path_extension(jt: JobTemplate, ssh_mount_path: str) -> JobTemplate:
    """Set where the operator mounts the SSH keys (``spec.sshAuthMountPath``).

    Args:
        jt: the template, left untouched.
        ssh_mount_path: an absolute path.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not an absolute path.
    """
    return with_checked_extension(
        jt, EXTENSION_SSH_MOUNT_PATH, ssh_mount_path, get_ssh_mount_path_extension
    )


def get_ssh_mount_path_extension(jt: JobTemplate) -> str:
    """Where the SSH keys are mounted; ``/root/.ssh`` when unset.

    Args:
        jt: the template.

    Returns:
        The path (the seed returned ``""`` when other extensions were set).

    Raises:
        InvalidTemplateError: not an absolute path.
    """
    raw = raw_extension(jt, EXTENSION_SSH_MOUNT_PATH)
    if raw is None:
        return DEFAULT_SSH_MOUNT_PATH
    if not raw.startswith("/") or ":" in raw:
        raise InvalidTemplateError(EXTENSION_SSH_MOUNT_PATH, raw, "must be an absolute path")
    return raw


def set_run_as_user_extension(jt: JobTemplate, run_as_user: int) -> JobTemplate:
    """Set the UID the launcher and worker containers run as.

    Args:
        jt: the template, left untouched.
        run_as_user: a non-negative integer.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: negative or too large.
    """
    return _RUN_AS_USER.set(jt, run_as_user)


def get_run_as_user_extension(jt: JobTemplate) -> int | None:
    """The UID the containers run as, or None when unset (the seed returned -1).

    Also read from DRMAA2OS's spelling ``runasuser``.

    Args:
        jt: the template.

    Returns:
        The UID or None.

    Raises:
        InvalidTemplateError: not a non-negative integer.
    """
    return _RUN_AS_USER.get(jt)


def _set_resources(jt: JobTemplate, prefix: str, resources: Mapping[str, str | int]) -> JobTemplate:
    updates: dict[str, str | None] = {}
    for name, quantity in resources.items():
        updates[prefix + str(name)] = str(quantity)
    new = with_extensions(jt, updates)
    _get_resources(new, prefix)
    return new


def _get_resources(jt: JobTemplate, prefix: str) -> dict[str, str]:
    resources: dict[str, str] = {}
    for key, value in sorted((jt.extension_list or {}).items()):
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if (error := qualified_name_error(name)) is not None:
            raise InvalidTemplateError(key, value, f"resource name {name!r} {error}")
        if not isinstance(value, str):
            raise InvalidTemplateError(key, value, "must be a string")
        try:
            amount = parse_quantity(value)
        except QuantityError as exc:
            raise InvalidTemplateError(key, value, str(exc)) from None
        if amount < 0:
            raise InvalidTemplateError(key, value, "must not be negative")
        resources[name] = value
    return resources


def set_launcher_resource_requests_extension(
    jt: JobTemplate, requests: Mapping[str, str | int]
) -> JobTemplate:
    """Add launcher resource requests, e.g. ``{"cpu": "1", "memory": "1Gi"}``.

    Args:
        jt: the template, left untouched.
        requests: resource names and quantities (strings or integers).

    Returns:
        A new template with ``resourceRequestLauncher-<name>`` keys.

    Raises:
        InvalidTemplateError: a bad resource name or quantity.
    """
    return _set_resources(jt, RESOURCE_REQUEST_LAUNCHER_PREFIX, requests)


def get_launcher_resource_requests_extension(jt: JobTemplate) -> dict[str, str]:
    """The launcher's resource requests (empty when none).

    Args:
        jt: the template.

    Returns:
        Resource names and quantity strings, sorted by name.

    Raises:
        InvalidTemplateError: a bad resource name or quantity (the seed skipped it).
    """
    return _get_resources(jt, RESOURCE_REQUEST_LAUNCHER_PREFIX)


def set_launcher_resource_limit_extension(
    jt: JobTemplate, limits: Mapping[str, str | int]
) -> JobTemplate:
    """Add launcher resource limits (see :func:`set_launcher_resource_requests_extension`).

    Args:
        jt: the template, left untouched.
        limits: resource names and quantities.

    Returns:
        A new template with ``resourceLimitLauncher-<name>`` keys.

    Raises:
        InvalidTemplateError: a bad resource name or quantity.
    """
    return _set_resources(jt, RESOURCE_LIMIT_LAUNCHER_PREFIX, limits)


def get_launcher_resource_limit_extension(jt: JobTemplate) -> dict[str, str]:
    """The launcher's resource limits (empty when none).

    Args:
        jt: the template.

    Returns:
        Resource names and quantity strings.

    Raises:
        InvalidTemplateError: a bad resource name or quantity.
    """
    return _get_resources(jt, RESOURCE_LIMIT_LAUNCHER_PREFIX)


def set_worker_resource_requests_extension(
    jt: JobTemplate, requests: Mapping[str, str | int]
) -> JobTemplate:
    """Add worker resource requests (each worker pod gets them).

    Args:
        jt: the template, left untouched.
        requests: resource names and quantities.

    Returns:
        A new template with ``resourceRequestWorker-<name>`` keys.

    Raises:
        InvalidTemplateError: a bad resource name or quantity.
    """
    return _set_resources(jt, RESOURCE_REQUEST_WORKER_PREFIX, requests)


def get_worker_resource_requests_extension(jt: JobTemplate) -> dict[str, str]:
    """The workers' resource requests (empty when none).

    Args:
        jt: the template.

    Returns:
        Resource names and quantity strings.

    Raises:
        InvalidTemplateError: a bad resource name or quantity.
    """
    return _get_resources(jt, RESOURCE_REQUEST_WORKER_PREFIX)


def set_worker_resource_limit_extension(
    jt: JobTemplate, limits: Mapping[str, str | int]
) -> JobTemplate:
    """Add worker resource limits.

    Args:
        jt: the template, left untouched.
        limits: resource names and quantities.

    Returns:
        A new template with ``resourceLimitWorker-<name>`` keys.

    Raises:
        InvalidTemplateError: a bad resource name or quantity.
    """
    return _set_resources(jt, RESOURCE_LIMIT_WORKER_PREFIX, limits)


def get_worker_resource_limit_extension(jt: JobTemplate) -> dict[str, str]:
    """The workers' resource limits (empty when none).

    Args:
        jt: the template.

    Returns:
        Resource names and quantity strings.

    Raises:
        InvalidTemplateError: a bad resource name or quantity.
    """
    return _get_resources(jt, RESOURCE_LIMIT_WORKER_PREFIX)
