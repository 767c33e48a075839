"""The vocabulary of JobTemplate extensions: names, aliases, and how values are read.

DRMAA2 leaves backend specifics to the template's ``extension_list``, a map of
strings. This module owns the names the MPI operator tracker understands (the
Go seed's ``workerImage``, ``slotsPerWorker``, ..., the DRMAA2OS Kubernetes
tracker's ``labels``, ``node-selectors``, ..., and the MPIJob settings), the
registry that makes a misspelt key fail with a suggestion instead of being
ignored, and the small readers and writers the typed get/set functions in
:mod:`.extensions`, :mod:`.k8s_extensions` and :mod:`.policy_extensions` share.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate, UnsupportedAttributeError

__all__ = [
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
    "INT32_MAX",
    "INT64_MAX",
    "KNOWN_EXTENSIONS",
    "RESOURCE_LIMIT_LAUNCHER_PREFIX",
    "RESOURCE_LIMIT_WORKER_PREFIX",
    "RESOURCE_PREFIXES",
    "RESOURCE_REQUEST_LAUNCHER_PREFIX",
    "RESOURCE_REQUEST_WORKER_PREFIX",
    "WORKER_COMMAND_SEPARATOR",
    "BoolExtension",
    "EnumExtension",
    "IntExtension",
    "check_extension_keys",
    "parse_bool_extension",
    "parse_choice_extension",
    "parse_int_extension",
    "raw_extension",
    "with_checked_extension",
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
RESOURCE_PREFIXES = (
    RESOURCE_REQUEST_LAUNCHER_PREFIX,
    RESOURCE_LIMIT_LAUNCHER_PREFIX,
    RESOURCE_REQUEST_WORKER_PREFIX,
    RESOURCE_LIMIT_WORKER_PREFIX,
)

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
_TRUE = frozenset({"1", "t", "true"})
_FALSE = frozenset({"0", "f", "false"})


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


def with_checked_extension(
    jt: JobTemplate, key: str, value: str, getter: Callable[[JobTemplate], object]
) -> JobTemplate:
    """Write one extension, then read it back with ``getter`` so a bad value fails at once.

    Args:
        jt: the template, left untouched.
        key: the extension name.
        value: the string to store.
        getter: the typed getter of ``key``, which validates.

    Returns:
        The new template.

    Raises:
        InvalidTemplateError: the getter rejects the value.
    """
    new = with_extensions(jt, {key: value})
    getter(new)
    return new


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


_E = TypeVar("_E", bound=enum.Enum)


@dataclasses.dataclass(frozen=True)
class IntExtension:
    """A decimal integer extension within bounds; the rule behind each typed int get/set pair.

    Attributes:
        key: the extension name.
        minimum: the smallest allowed value.
        maximum: the largest allowed value.
    """

    key: str
    minimum: int
    maximum: int

    def get(self, jt: JobTemplate) -> int | None:
        """The value, or None when unset or empty.

        Args:
            jt: the template.

        Returns:
            The integer or None.

        Raises:
            InvalidTemplateError: not a decimal integer or out of range.
        """
        raw = raw_extension(jt, self.key)
        if raw is None:
            return None
        return parse_int_extension(self.key, raw, self.minimum, self.maximum)

    def set(self, jt: JobTemplate, value: int) -> JobTemplate:
        """Write ``value`` and check it.

        Args:
            jt: the template, left untouched.
            value: the integer to store.

        Returns:
            A new template.

        Raises:
            InvalidTemplateError: out of range.
        """
        return with_checked_extension(jt, self.key, str(value), self.get)


@dataclasses.dataclass(frozen=True)
class BoolExtension:
    """A boolean extension, written ``true``/``false`` and read as Go's ``ParseBool``.

    Attributes:
        key: the extension name.
    """

    key: str

    def get(self, jt: JobTemplate) -> bool | None:
        """The value, or None when unset or empty.

        Args:
            jt: the template.

        Returns:
            The boolean or None.

        Raises:
            InvalidTemplateError: not a boolean.
        """
        raw = raw_extension(jt, self.key)
        return None if raw is None else parse_bool_extension(self.key, raw)

    def set(self, jt: JobTemplate, value: bool) -> JobTemplate:
        """Write ``value`` as ``"true"`` or ``"false"``.

        Args:
            jt: the template, left untouched.
            value: the boolean to store.

        Returns:
            A new template.
        """
        return with_extensions(jt, {self.key: "true" if value else "false"})


@dataclasses.dataclass(frozen=True)
class EnumExtension(Generic[_E]):
    """An extension holding one member of a string enum, matched case-insensitively.

    Attributes:
        key: the extension name.
        choices: the enum whose values are the canonical spellings.
    """

    key: str
    choices: type[_E]

    def _canonical(self, raw: str) -> str:
        return parse_choice_extension(self.key, raw, (str(m.value) for m in self.choices))

    def get(self, jt: JobTemplate) -> _E | None:
        """The member, or None when unset or empty.

        Args:
            jt: the template.

        Returns:
            The member or None.

        Raises:
            InvalidTemplateError: not one of the enum's values (any case).
        """
        raw = raw_extension(jt, self.key)
        return None if raw is None else self.choices(self._canonical(raw))

    def set(self, jt: JobTemplate, value: _E | str) -> JobTemplate:
        """Write the canonical spelling of ``value``.

        Args:
            jt: the template, left untouched.
            value: a member or its value in any case.

        Returns:
            A new template.

        Raises:
            InvalidTemplateError: not one of the enum's values.
        """
        return with_extensions(jt, {self.key: self._canonical(str(value))})


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
        if any(key.startswith(prefix) and len(key) > len(prefix) for prefix in RESOURCE_PREFIXES):
            continue
        close = difflib.get_close_matches(key, known + list(RESOURCE_PREFIXES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnsupportedAttributeError(
            f"extension_list[{key!r}]",
            jt.extension_list[key],
            message=f"unknown JobTemplate extension {key!r} for the MPI operator tracker{hint}",
        )
