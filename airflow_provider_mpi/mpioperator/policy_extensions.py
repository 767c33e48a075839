"""Run-policy and MPIJob-spec extensions: retries, cleanup, TTL, launcher policy, accelerators.

The settings of ``spec.runPolicy`` and ``spec`` a user needs beyond the Go
seed (``backoffLimit``, ``cleanPodPolicy``, ``ttlsecondsafterfinished``,
``launcherCreationPolicy``, ``runLauncherAsWorker``) and the DRMAA2OS GPU
request (``accelerator``, ``distribution``), as typed get/set functions with
enums for the fixed vocabularies. Like every extension function, setters
return a new JobTemplate and getters raise :class:`InvalidTemplateError`
naming the extension and the value.
"""

from __future__ import annotations

import dataclasses
import enum

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator.extension_keys import (
    EXTENSION_ACCELERATOR,
    EXTENSION_BACKOFF_LIMIT,
    EXTENSION_CLEAN_POD_POLICY,
    EXTENSION_DISTRIBUTION,
    EXTENSION_LAUNCHER_CREATION_POLICY,
    EXTENSION_RUN_LAUNCHER_AS_WORKER,
    EXTENSION_TTL_SECONDS_AFTER_FINISHED,
    INT32_MAX,
    BoolExtension,
    EnumExtension,
    IntExtension,
    raw_extension,
    with_checked_extension,
)
from airflow_provider_mpi.mpioperator.validation import label_value_error

__all__ = [
    "GPU_RESOURCE",
    "Accelerator",
    "CleanPodPolicy",
    "Distribution",
    "LauncherCreationPolicy",
    "get_accelerator_extension",
    "get_backoff_limit_extension",
    "get_clean_pod_policy_extension",
    "get_distribution_extension",
    "get_launcher_creation_policy_extension",
    "get_run_launcher_as_worker_extension",
    "get_ttl_seconds_after_finished_extension",
    "set_accelerator_extension",
    "set_backoff_limit_extension",
    "set_clean_pod_policy_extension",
    "set_distribution_extension",
    "set_launcher_creation_policy_extension",
    "set_run_launcher_as_worker_extension",
    "set_ttl_seconds_after_finished_extension",
]

#: The extended resource an ``accelerator`` extension requests on each worker.
GPU_RESOURCE = "nvidia.com/gpu"


class CleanPodPolicy(str, enum.Enum):
    """Which pods the operator deletes when the job ends (``runPolicy.cleanPodPolicy``)."""

    RUNNING = "Running"
    ALL = "All"
    NONE = "None"

    def __str__(self) -> str:
        return self.value


class LauncherCreationPolicy(str, enum.Enum):
    """When the operator creates the launcher (``spec.launcherCreationPolicy``)."""

    AT_STARTUP = "AtStartup"
    WAIT_FOR_WORKERS_READY = "WaitForWorkersReady"

    def __str__(self) -> str:
        return self.value


class Distribution(str, enum.Enum):
    """The Kubernetes distribution, which decides how accelerators are requested."""

    AKS = "aks"
    EKS = "eks"
    GKE = "gke"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class Accelerator:
    """An ``accelerator`` extension: ``count`` GPUs of ``gpu_type`` per worker.

    Written ``"<count>*<type>"``, e.g. ``"2*nvidia-tesla-t4"``, as in DRMAA2OS.
    """

    count: int
    gpu_type: str

    def __str__(self) -> str:
        return f"{self.count}*{self.gpu_type}"


_DISTRIBUTION = EnumExtension(EXTENSION_DISTRIBUTION, Distribution)
_CLEAN_POD_POLICY = EnumExtension(EXTENSION_CLEAN_POD_POLICY, CleanPodPolicy)
_LAUNCHER_CREATION_POLICY = EnumExtension(
    EXTENSION_LAUNCHER_CREATION_POLICY, LauncherCreationPolicy
)
_RUN_LAUNCHER_AS_WORKER = BoolExtension(EXTENSION_RUN_LAUNCHER_AS_WORKER)
_TTL_SECONDS_AFTER_FINISHED = IntExtension(EXTENSION_TTL_SECONDS_AFTER_FINISHED, 0, INT32_MAX)
_BACKOFF_LIMIT = IntExtension(EXTENSION_BACKOFF_LIMIT, 0, INT32_MAX)


def set_distribution_extension(jt: JobTemplate, distribution: Distribution | str) -> JobTemplate:
    """Name the Kubernetes distribution (``aks``, ``eks``, ``gke``) for accelerators.

    Args:
        jt: the template, left untouched.
        distribution: a member or its value in any case.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not one of the three.
    """
    return _DISTRIBUTION.set(jt, distribution)


def get_distribution_extension(jt: JobTemplate) -> Distribution | None:
    """The distribution, or None.

    Args:
        jt: the template.

    Returns:
        The distribution, or None when unset or empty.

    Raises:
        InvalidTemplateError: not aks, eks or gke (any case).
    """
    return _DISTRIBUTION.get(jt)


def set_accelerator_extension(jt: JobTemplate, count: int, gpu_type: str) -> JobTemplate:
    """Request ``count`` GPUs of ``gpu_type`` on each worker (``"<count>*<type>"``).

    Args:
        jt: the template, left untouched.
        count: GPUs per worker, at least 1.
        gpu_type: the GPU model as a label value, e.g. ``nvidia-tesla-t4``.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: count below 1 or an empty or malformed type.
    """
    return with_checked_extension(
        jt, EXTENSION_ACCELERATOR, f"{count}*{gpu_type}", get_accelerator_extension
    )


def get_accelerator_extension(jt: JobTemplate) -> Accelerator | None:
    """The accelerator request, or None.

    Args:
        jt: the template.

    Returns:
        The count and GPU type, or None when unset or empty.

    Raises:
        InvalidTemplateError: not ``<count>*<type>`` with a positive count and a label-value type.
    """
    raw = raw_extension(jt, EXTENSION_ACCELERATOR)
    if raw is None:
        return None
    count_text, star, gpu_type = raw.partition("*")
    if not star or not gpu_type:
        raise InvalidTemplateError(
            EXTENSION_ACCELERATOR, raw, "must be <count>*<type>, e.g. 1*nvidia-tesla-t4"
        )
    if (
        not count_text.isdigit()
        or not count_text.isascii()
        or not 1 <= int(count_text) <= 1_000_000
    ):
        raise InvalidTemplateError(
            EXTENSION_ACCELERATOR, raw, "the count must be a positive integer"
        )
    count = int(count_text)
    if (error := label_value_error(gpu_type)) is not None:
        raise InvalidTemplateError(EXTENSION_ACCELERATOR, raw, f"type {gpu_type!r} {error}")
    return Accelerator(count, gpu_type)


def set_ttl_seconds_after_finished_extension(jt: JobTemplate, seconds: int) -> JobTemplate:
    """Delete the finished MPIJob after ``seconds`` (``runPolicy.ttlSecondsAfterFinished``).

    Args:
        jt: the template, left untouched.
        seconds: 0 deletes the job as soon as it finishes.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: negative or above 2^31-1.
    """
    return _TTL_SECONDS_AFTER_FINISHED.set(jt, seconds)


def get_ttl_seconds_after_finished_extension(jt: JobTemplate) -> int | None:
    """The TTL after finishing, or None (the job is kept).

    Args:
        jt: the template.

    Returns:
        Seconds, or None when unset or empty.

    Raises:
        InvalidTemplateError: not an integer in 0..2^31-1.
    """
    return _TTL_SECONDS_AFTER_FINISHED.get(jt)


def set_backoff_limit_extension(jt: JobTemplate, limit: int) -> JobTemplate:
    """Retry the launcher up to ``limit`` times (``runPolicy.backoffLimit``).

    Args:
        jt: the template, left untouched.
        limit: retries of the launcher; 0 means none.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: negative or above 2^31-1.
    """
    return _BACKOFF_LIMIT.set(jt, limit)


def get_backoff_limit_extension(jt: JobTemplate) -> int | None:
    """The backoff limit, or None (the converter derives it from ``re_runnable``).

    Args:
        jt: the template.

    Returns:
        The limit, or None when unset or empty.

    Raises:
        InvalidTemplateError: not an integer in 0..2^31-1.
    """
    return _BACKOFF_LIMIT.get(jt)


def set_clean_pod_policy_extension(jt: JobTemplate, policy: CleanPodPolicy | str) -> JobTemplate:
    """Choose which pods are deleted when the job ends (``Running``, ``All``, ``None``).

    Args:
        jt: the template, left untouched.
        policy: a member or its value in any case.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not one of the three.
    """
    return _CLEAN_POD_POLICY.set(jt, policy)


def get_clean_pod_policy_extension(jt: JobTemplate) -> CleanPodPolicy:
    """The clean pod policy; ``Running`` when unset (the seed's default).

    Args:
        jt: the template.

    Returns:
        The policy; Running when unset or empty.

    Raises:
        InvalidTemplateError: not one of the three.
    """
    policy = _CLEAN_POD_POLICY.get(jt)
    return CleanPodPolicy.RUNNING if policy is None else policy


def set_launcher_creation_policy_extension(
    jt: JobTemplate, policy: LauncherCreationPolicy | str
) -> JobTemplate:
    """Create the launcher ``AtStartup`` or only ``WaitForWorkersReady``.

    Args:
        jt: the template, left untouched.
        policy: a member or its value in any case.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not one of the two.
    """
    return _LAUNCHER_CREATION_POLICY.set(jt, policy)


def get_launcher_creation_policy_extension(jt: JobTemplate) -> LauncherCreationPolicy | None:
    """The launcher creation policy, or None (the operator's default, ``AtStartup``).

    Args:
        jt: the template.

    Returns:
        The policy, or None when unset or empty.

    Raises:
        InvalidTemplateError: not one of the two.
    """
    return _LAUNCHER_CREATION_POLICY.get(jt)


def set_run_launcher_as_worker_extension(jt: JobTemplate, enabled: bool) -> JobTemplate:
    """Let the launcher pod also run MPI ranks (``spec.runLauncherAsWorker``).

    Args:
        jt: the template, left untouched.
        enabled: True writes ``"true"``, False ``"false"``.

    Returns:
        A new template.
    """
    return _RUN_LAUNCHER_AS_WORKER.set(jt, enabled)


def get_run_launcher_as_worker_extension(jt: JobTemplate) -> bool | None:
    """Whether the launcher runs ranks too, or None when unset (the operator's False).

    Args:
        jt: the template.

    Returns:
        The flag, or None when unset or empty.

    Raises:
        InvalidTemplateError: not a boolean.
    """
    return _RUN_LAUNCHER_AS_WORKER.get(jt)
