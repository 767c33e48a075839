"""JobTemplate extensions of the MPI operator tracker: names, checks, and the seed's accessors.

DRMAA2 leaves backend specifics to the template's ``extension_list``, a map of
strings. This module owns the vocabulary: the extension names of the Go seed
(``workerImage``, ``workerCommand``, ``slotsPerWorker``, ...), the registry of
every name the converter understands (so that a misspelt key fails with a
suggestion instead of being ignored), and the typed get/set functions of the
seed, named like the Go ones in snake case. The Kubernetes-flavoured
extensions (labels, node selectors, ...) live in :mod:`.k8s_extensions`.

Every setter returns a new JobTemplate and leaves its argument untouched.
Every getter returns a typed value, the seed's default when the extension is
unset or empty, and raises :class:`InvalidTemplateError` naming the extension
and the value when the string is malformed (the seed silently fell back to
the default). Values written by the Go package read back the same.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Mapping

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate, UnsupportedAttributeError
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
    "parse_bool_extension",
    "parse_choice_extension",
    "parse_int_extension",
    "raw_extension",
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
    "with_extensions",
]

# The seed's extensions (Go package mpioperatortracker), same strings.
EXTENSION_WORKER_IMAGE = "workerImage"
EXTENSION_WORKER_COMMAND = "workerCommand"
EXTENSION_SLOTS_PER_WORKER = "slotsPerWorker"
EXTENSION_MPI_IMPLEMENTATION = "mpiImplementation"
EXTENSION_SSH_MOUNT_PATH = "sshMountPath"
EXTENSION_RUN_AS_USER = "runAsUser"
RESOURCE_REQUEST_LAUNCHER_PREFIX = "resourceRequestLauncher-"
RESOURCE_LIMIT_LAUNCHER_PREFIX = "resourceLimitLauncher-"
RESOURCE_REQUEST_WORKER_PREFIX = "resourceRequestWorker-"
RESOURCE_LIMIT_WORKER_PREFIX = "resourceLimitWorker-"
#: How the Go seed joins the worker command into one string.
WORKER_COMMAND_SEPARATOR = "<!~!>"

# The DRMAA2OS Kubernetes tracker's extensions, same strings and syntax.
EXTENSION_LABELS = "labels"
EXTENSION_SCHEDULER = "scheduler"
EXTENSION_PRIVILEGED = "privileged"
EXTENSION_IMAGE_PULL_POLICY = "pullpolicy"
EXTENSION_IMAGE_PULL_SECRETS = "imagepullsecrets"
EXTENSION_SERVICE_ACCOUNT_NAME = "service-account-name"
EXTENSION_NODE_SELECTORS = "node-selectors"
EXTENSION_ENV_FROM_SECRET = "env-from-secret"
EXTENSION_ENV_FROM_CONFIGMAP = "env-from-configmap"
EXTENSION_DISTRIBUTION = "distribution"
EXTENSION_ACCELERATOR = "accelerator"
EXTENSION_TTL_SECONDS_AFTER_FINISHED = "ttlsecondsafterfinished"
EXTENSION_RUN_AS_GROUP = "runasgroup"
EXTENSION_FS_GROUP = "fsgroup"

# MPIJob fields and metadata a user needs (camelCase like the seed's).
EXTENSION_NAMESPACE = "namespace"
EXTENSION_ANNOTATIONS = "annotations"
EXTENSION_LAUNCHER_CREATION_POLICY = "launcherCreationPolicy"
EXTENSION_RUN_LAUNCHER_AS_WORKER = "runLauncherAsWorker"
EXTENSION_CLEAN_POD_POLICY = "cleanPodPolicy"
EXTENSION_PRIORITY_CLASS_NAME = "priorityClassName"
EXTENSION_BACKOFF_LIMIT = "backoffLimit"
EXTENSION_KUEUE_QUEUE = "kueueQueue"

#: Other spellings accepted on input (DRMAA2OS writes these); setters write the canonical key.
EXTENSION_ALIASES: Mapping[str, str] = {
    "runasuser": EXTENSION_RUN_AS_USER,
    "env-from-secrets": EXTENSION_ENV_FROM_SECRET,
    "env-from-configmaps": EXTENSION_ENV_FROM_CONFIGMAP,
}

#: Every fixed extension name the converter understands (families not included).
KNOWN_EXTENSIONS: frozenset[str] = frozenset(
    {
        EXTENSION_WORKER_IMAGE,
        EXTENSION_WORKER_COMMAND,
        EXTENSION_SLOTS_PER_WORKER,
        EXTENSION_MPI_IMPLEMENTATION,
        EXTENSION_SSH_MOUNT_PATH,
        EXTENSION_RUN_AS_USER,
        EXTENSION_LABELS,
        EXTENSION_SCHEDULER,
        EXTENSION_PRIVILEGED,
        EXTENSION_IMAGE_PULL_POLICY,
        EXTENSION_IMAGE_PULL_SECRETS,
        EXTENSION_SERVICE_ACCOUNT_NAME,
        EXTENSION_NODE_SELECTORS,
        EXTENSION_ENV_FROM_SECRET,
        EXTENSION_ENV_FROM_CONFIGMAP,
        EXTENSION_DISTRIBUTION,
        EXTENSION_ACCELERATOR,
        EXTENSION_TTL_SECONDS_AFTER_FINISHED,
        EXTENSION_RUN_AS_GROUP,
        EXTENSION_FS_GROUP,
        EXTENSION_NAMESPACE,
        EXTENSION_ANNOTATIONS,
        EXTENSION_LAUNCHER_CREATION_POLICY,
        EXTENSION_RUN_LAUNCHER_AS_WORKER,
        EXTENSION_CLEAN_POD_POLICY,
        EXTENSION_PRIORITY_CLASS_NAME,
        EXTENSION_BACKOFF_LIMIT,
        EXTENSION_KUEUE_QUEUE,
    }
)
_RESOURCE_PREFIXES = (
    RESOURCE_REQUEST_LAUNCHER_PREFIX,
    RESOURCE_LIMIT_LAUNCHER_PREFIX,
    RESOURCE_REQUEST_WORKER_PREFIX,
    RESOURCE_LIMIT_WORKER_PREFIX,
)

DEFAULT_SLOTS_PER_WORKER = 1
DEFAULT_SSH_MOUNT_PATH = "/root/.ssh"
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
_TRUE = frozenset({"1", "t", "true"})
_FALSE = frozenset({"0", "f", "false"})


class MPIImplementation(str, enum.Enum):
    """The MPI implementations the operator knows (``spec.mpiImplementation``)."""

    OPEN_MPI = "OpenMPI"
    INTEL = "Intel"
    MPICH = "MPICH"

    def __str__(self) -> str:
        return self.value


# --------------------------------------------------------------------------- helpers


def raw_extension(jt: JobTemplate, key: str) -> str | None:
    """The string stored under ``key`` or one of its aliases; None when unset or empty.

    Args:
        jt: the template.
        key: the canonical extension name.

    Returns:
        The stored value, or None (Go's seed treats an empty value as unset).

    Raises:
        InvalidTemplateError: the key and an alias are both set, differently.
    """
    extensions = jt.extension_list or {}
    found: dict[str, str] = {}
    for name in (key, *(a for a, canonical in EXTENSION_ALIASES.items() if canonical == key)):
        value = extensions.get(name)
        if value:
            found[name] = value
    if len(set(found.values())) > 1:
        raise InvalidTemplateError(
            key,
            found,
            f"set under several spellings ({', '.join(sorted(found))}) with different values",
        )
    return next(iter(found.values()), None)


def with_extensions(jt: JobTemplate, updates: Mapping[str, str | None]) -> JobTemplate:
    """Return a deep copy of ``jt`` with extensions written (None removes a key).

    Writing a key also removes its aliases, so a value cannot be shadowed.

    Args:
        jt: the template, left untouched.
        updates: extension names and their new string values.

    Returns:
        The new template.
    """
    extensions = dict(jt.extension_list or {})
    for key, value in updates.items():
        for alias, canonical in EXTENSION_ALIASES.items():
            if canonical == key:
                extensions.pop(alias, None)
        if value is None:
            extensions.pop(key, None)
        else:
            extensions[key] = value
    return jt.replace(extension_list=extensions)


def parse_int_extension(key: str, raw: str, minimum: int, maximum: int) -> int:
    """Read a decimal integer extension value within bounds.

    Args:
        key: the extension name, for the error.
        raw: the stored string.
        minimum: the smallest allowed value.
        maximum: the largest allowed value.

    Returns:
        The integer.

    Raises:
        InvalidTemplateError: not a decimal integer or out of range.
    """
    text = raw.strip()
    if not text.lstrip("+-").isdigit() or not text.isascii():
        raise InvalidTemplateError(key, raw, "must be a decimal integer")
    value = int(text)
    if not minimum <= value <= maximum:
        raise InvalidTemplateError(key, raw, f"must be between {minimum} and {maximum}")
    return value


def parse_bool_extension(key: str, raw: str) -> bool:
    """Read a boolean extension value as Go's ``strconv.ParseBool`` does (any case).

    Args:
        key: the extension name, for the error.
        raw: the stored string (``true``/``false``, ``t``/``f``, ``1``/``0``).

    Returns:
        The boolean.

    Raises:
        InvalidTemplateError: anything else.
    """
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidTemplateError(key, raw, "must be true or false")


def parse_choice_extension(key: str, raw: str, choices: Iterable[str]) -> str:
    """Read one of a fixed set of words, case-insensitively; return its canonical spelling.

    Args:
        key: the extension name, for the error.
        raw: the stored string.
        choices: the canonical spellings.

    Returns:
        The canonical spelling that matches.

    Raises:
        InvalidTemplateError: no choice matches.
    """
    options = list(choices)
    for option in options:
        if raw.strip().lower() == option.lower():
            return option
    raise InvalidTemplateError(key, raw, "must be one of " + ", ".join(options))


def check_extension_keys(jt: JobTemplate) -> None:
    """Reject extension names the converter does not understand.

    The resource families (``resourceRequestWorker-<resource>`` and the
    other three prefixes) stay open to every resource name.

    Args:
        jt: the template.

    Raises:
        UnsupportedAttributeError: an unknown key, with the closest known key
            suggested when there is one.
    """
    known = sorted(KNOWN_EXTENSIONS | set(EXTENSION_ALIASES))
    for key in jt.extension_list or {}:
        if key in KNOWN_EXTENSIONS or key in EXTENSION_ALIASES:
            continue
        if any(key.startswith(prefix) and len(key) > len(prefix) for prefix in _RESOURCE_PREFIXES):
            continue
        close = difflib.get_close_matches(key, known + list(_RESOURCE_PREFIXES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnsupportedAttributeError(
            f"extension_list[{key!r}]",
            jt.extension_list[key],
            message=f"unknown JobTemplate extension {key!r} for the MPI operator tracker{hint}",
        )


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
    new = with_extensions(jt, {EXTENSION_SLOTS_PER_WORKER: str(slots_per_worker)})
    get_slots_per_worker_extension(new)
    return new


def get_slots_per_worker_extension(jt: JobTemplate) -> int:
    """The MPI slots per worker; 1 when unset.

    Args:
        jt: the template.

    Returns:
        The number of slots.

    Raises:
        InvalidTemplateError: not an integer between 1 and 2^31-1.
    """
    raw = raw_extension(jt, EXTENSION_SLOTS_PER_WORKER)
    if raw is None:
        return DEFAULT_SLOTS_PER_WORKER
    return parse_int_extension(EXTENSION_SLOTS_PER_WORKER, raw, 1, _INT32_MAX)


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
    value = parse_choice_extension(
        EXTENSION_MPI_IMPLEMENTATION, str(mpi_implementation), (m.value for m in MPIImplementation)
    )
    return with_extensions(jt, {EXTENSION_MPI_IMPLEMENTATION: value})


def get_mpi_implementation_extension(jt: JobTemplate) -> MPIImplementation:
    """The MPI implementation; Intel when unset (the seed's default, not the operator's).

    Args:
        jt: the template.

    Returns:
        The implementation.

    Raises:
        InvalidTemplateError: not OpenMPI, Intel or MPICH (case-insensitive).
    """
    raw = raw_extension(jt, EXTENSION_MPI_IMPLEMENTATION)
    if raw is None:
        return MPIImplementation.INTEL
    return MPIImplementation(
        parse_choice_extension(
            EXTENSION_MPI_IMPLEMENTATION, raw, (m.value for m in MPIImplementation)
        )
    )


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
    new = with_extensions(jt, {EXTENSION_SSH_MOUNT_PATH: ssh_mount_path})
    get_ssh_mount_path_extension(new)
    return new


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
    new = with_extensions(jt, {EXTENSION_RUN_AS_USER: str(run_as_user)})
    get_run_as_user_extension(new)
    return new


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
    raw = raw_extension(jt, EXTENSION_RUN_AS_USER)
    if raw is None:
        return None
    return parse_int_extension(EXTENSION_RUN_AS_USER, raw, 0, _INT64_MAX)


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
