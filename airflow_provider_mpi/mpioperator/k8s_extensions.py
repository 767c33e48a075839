"""Kubernetes-flavoured JobTemplate extensions: placement, security, metadata, run policy.

The names and string syntax follow the DRMAA2OS Kubernetes tracker where it
has the same setting (``labels``, ``node-selectors``, ``imagepullsecrets``,
``pullpolicy``, ``privileged``, ``runasgroup``, ``fsgroup``,
``env-from-secret``, ``env-from-configmap``, ``scheduler``,
``service-account-name``, ``distribution``, ``accelerator``,
``ttlsecondsafterfinished``), so one template serves both trackers. The MPIJob
settings DRMAA2OS lacks use the seed's camelCase (``namespace``,
``annotations``, ``launcherCreationPolicy``, ``runLauncherAsWorker``,
``cleanPodPolicy``, ``priorityClassName``, ``backoffLimit``, ``kueueQueue``).

Maps (labels, annotations, node selectors) are written ``key=value,key=value``
as DRMAA2OS does; a JSON object is accepted too, for values with commas.
Getters validate what they return (label syntax, DNS names, integer ranges)
and raise :class:`InvalidTemplateError` naming the extension and the value.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable, Iterable, Mapping

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator.extensions import (
    EXTENSION_ACCELERATOR,
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
    EXTENSION_NAMESPACE,
    EXTENSION_NODE_SELECTORS,
    EXTENSION_PRIORITY_CLASS_NAME,
    EXTENSION_PRIVILEGED,
    EXTENSION_RUN_AS_GROUP,
    EXTENSION_RUN_LAUNCHER_AS_WORKER,
    EXTENSION_SCHEDULER,
    EXTENSION_SERVICE_ACCOUNT_NAME,
    EXTENSION_TTL_SECONDS_AFTER_FINISHED,
    parse_bool_extension,
    parse_choice_extension,
    parse_int_extension,
    raw_extension,
    with_extensions,
)
from airflow_provider_mpi.mpioperator.validation import (
    dns1123_label_error,
    dns1123_subdomain_error,
    label_value_error,
    qualified_name_error,
)

__all__ = [
    "GPU_RESOURCE",
    "Accelerator",
    "CleanPodPolicy",
    "Distribution",
    "ImagePullPolicy",
    "LauncherCreationPolicy",
    "get_accelerator_extension",
    "get_annotations_extension",
    "get_backoff_limit_extension",
    "get_clean_pod_policy_extension",
    "get_distribution_extension",
    "get_env_from_configmap_extension",
    "get_env_from_secret_extension",
    "get_fs_group_extension",
    "get_image_pull_policy_extension",
    "get_image_pull_secrets_extension",
    "get_kueue_queue_extension",
    "get_labels_extension",
    "get_launcher_creation_policy_extension",
    "get_namespace_extension",
    "get_node_selectors_extension",
    "get_priority_class_name_extension",
    "get_privileged_extension",
    "get_run_as_group_extension",
    "get_run_launcher_as_worker_extension",
    "get_scheduler_extension",
    "get_service_account_name_extension",
    "get_ttl_seconds_after_finished_extension",
    "set_accelerator_extension",
    "set_annotations_extension",
    "set_backoff_limit_extension",
    "set_clean_pod_policy_extension",
    "set_distribution_extension",
    "set_env_from_configmap_extension",
    "set_env_from_secret_extension",
    "set_fs_group_extension",
    "set_image_pull_policy_extension",
    "set_image_pull_secrets_extension",
    "set_kueue_queue_extension",
    "set_labels_extension",
    "set_launcher_creation_policy_extension",
    "set_namespace_extension",
    "set_node_selectors_extension",
    "set_priority_class_name_extension",
    "set_privileged_extension",
    "set_run_as_group_extension",
    "set_run_launcher_as_worker_extension",
    "set_scheduler_extension",
    "set_service_account_name_extension",
    "set_ttl_seconds_after_finished_extension",
]

#: The extended resource an ``accelerator`` extension requests on each worker.
GPU_RESOURCE = "nvidia.com/gpu"
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
_MAX_ANNOTATIONS_BYTES = 256 * 1024


class ImagePullPolicy(str, enum.Enum):
    """``imagePullPolicy`` of the launcher and worker containers."""

    ALWAYS = "Always"
    NEVER = "Never"
    IF_NOT_PRESENT = "IfNotPresent"

    def __str__(self) -> str:
        return self.value


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


# --------------------------------------------------------------------------- syntax helpers


def _parse_mapping(
    key: str,
    raw: str,
    check_key: Callable[[str], str | None],
    check_value: Callable[[str], str | None],
) -> dict[str, str]:
    result: dict[str, str] = {}
    if raw.lstrip().startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise InvalidTemplateError(key, raw, f"not a JSON object: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InvalidTemplateError(key, raw, "must be a JSON object of strings")
        pairs = list(data.items())
    else:
        pairs = []
        for item in raw.split(","):
            item = item.strip()
            if not item:
                continue
            name, equals, value = item.partition("=")
            if not equals:
                raise InvalidTemplateError(key, raw, f"{item!r} is not key=value")
            pairs.append((name.strip(), value.strip()))
    for name, value in pairs:
        if (error := check_key(name)) is not None:
            raise InvalidTemplateError(key, raw, f"key {name!r} {error}")
        if (error := check_value(value)) is not None:
            raise InvalidTemplateError(key, raw, f"value {value!r} of {name!r} {error}")
        result[name] = value
    return dict(sorted(result.items()))


def _format_mapping(mapping: Mapping[str, str]) -> str:
    items = sorted((str(k), str(v)) for k, v in mapping.items())
    if any(("," in k + v) or ("=" in k) or k != k.strip() or v != v.strip() for k, v in items):
        return json.dumps(dict(items), sort_keys=True, separators=(",", ":"))
    return ",".join(f"{k}={v}" for k, v in items)


def _parse_names(key: str, raw: str, separator: str) -> list[str]:
    names = [part.strip() for part in raw.split(separator) if part.strip()]
    for name in names:
        if (error := dns1123_subdomain_error(name)) is not None:
            raise InvalidTemplateError(key, raw, f"{name!r} {error}")
    return names


def _no_check(value: str) -> str | None:
    return None


def _string_extension(
    jt: JobTemplate, key: str, check: Callable[[str], str | None] = dns1123_subdomain_error
) -> str | None:
    raw = raw_extension(jt, key)
    if raw is not None and (error := check(raw)) is not None:
        raise InvalidTemplateError(key, raw, error)
    return raw


def _set_checked(
    jt: JobTemplate, key: str, value: str, getter: Callable[[JobTemplate], object]
) -> JobTemplate:
    new = with_extensions(jt, {key: value})
    getter(new)
    return new


# --------------------------------------------------------------------------- metadata


def set_namespace_extension(jt: JobTemplate, namespace: str) -> JobTemplate:
    """Place the job in ``namespace`` (wins over the tracker's namespace).

    Raises:
        InvalidTemplateError: not a DNS-1123 label.
    """
    return _set_checked(jt, EXTENSION_NAMESPACE, namespace, get_namespace_extension)


def get_namespace_extension(jt: JobTemplate) -> str | None:
    """The namespace the template asks for, or None (the tracker's namespace is used).

    Raises:
        InvalidTemplateError: not a DNS-1123 label.
    """
    return _string_extension(jt, EXTENSION_NAMESPACE, dns1123_label_error)


def set_labels_extension(jt: JobTemplate, labels: Mapping[str, str]) -> JobTemplate:
    """Set the labels of the MPIJob (replacing earlier ones), written ``k=v,k2=v2``.

    Args:
        jt: the template, left untouched.
        labels: label keys and values (Kubernetes label syntax).

    Returns:
        A new template; an empty mapping removes the extension.

    Raises:
        InvalidTemplateError: a key or value is not valid label syntax.
    """
    value = _format_mapping(labels) if labels else None
    new = with_extensions(jt, {EXTENSION_LABELS: value})
    get_labels_extension(new)
    return new


def get_labels_extension(jt: JobTemplate) -> dict[str, str]:
    """The labels the template asks for (``k=v,...`` or a JSON object), sorted.

    Raises:
        InvalidTemplateError: malformed, or not valid label syntax.
    """
    raw = raw_extension(jt, EXTENSION_LABELS)
    if raw is None:
        return {}
    return _parse_mapping(EXTENSION_LABELS, raw, qualified_name_error, label_value_error)


def set_annotations_extension(jt: JobTemplate, annotations: Mapping[str, str]) -> JobTemplate:
    """Set annotations of the MPIJob (replacing earlier ones).

    Values may hold any text; they are written as JSON when they contain commas.

    Raises:
        InvalidTemplateError: a key is not a qualified name, or the total is over 256 KiB.
    """
    value = _format_mapping(annotations) if annotations else None
    new = with_extensions(jt, {EXTENSION_ANNOTATIONS: value})
    get_annotations_extension(new)
    return new


def get_annotations_extension(jt: JobTemplate) -> dict[str, str]:
    """The annotations the template asks for (``k=v,...`` or a JSON object), sorted.

    Raises:
        InvalidTemplateError: malformed, a bad key, or more than 256 KiB in total.
    """
    raw = raw_extension(jt, EXTENSION_ANNOTATIONS)
    if raw is None:
        return {}
    result = _parse_mapping(EXTENSION_ANNOTATIONS, raw, qualified_name_error, _no_check)
    if sum(len(k.encode()) + len(v.encode()) for k, v in result.items()) > _MAX_ANNOTATIONS_BYTES:
        raise InvalidTemplateError(EXTENSION_ANNOTATIONS, raw, "must be at most 256 KiB in total")
    return result


def set_node_selectors_extension(jt: JobTemplate, selectors: Mapping[str, str]) -> JobTemplate:
    """Set the node selector of the launcher and worker pods (``k=v,k2=v2``).

    Raises:
        InvalidTemplateError: a key or value is not valid label syntax.
    """
    value = _format_mapping(selectors) if selectors else None
    new = with_extensions(jt, {EXTENSION_NODE_SELECTORS: value})
    get_node_selectors_extension(new)
    return new


def get_node_selectors_extension(jt: JobTemplate) -> dict[str, str]:
    """The node selector the template asks for, sorted.

    Raises:
        InvalidTemplateError: malformed, or not valid label syntax.
    """
    raw = raw_extension(jt, EXTENSION_NODE_SELECTORS)
    if raw is None:
        return {}
    return _parse_mapping(EXTENSION_NODE_SELECTORS, raw, qualified_name_error, label_value_error)


def set_kueue_queue_extension(jt: JobTemplate, queue: str) -> JobTemplate:
    """Submit to a Kueue LocalQueue (label ``kueue.x-k8s.io/queue-name`` only).

    Raises:
        InvalidTemplateError: not a valid label value.
    """
    return _set_checked(jt, EXTENSION_KUEUE_QUEUE, queue, get_kueue_queue_extension)


def get_kueue_queue_extension(jt: JobTemplate) -> str | None:
    """The Kueue LocalQueue, or None.

    Raises:
        InvalidTemplateError: not a valid label value.
    """
    return _string_extension(jt, EXTENSION_KUEUE_QUEUE, label_value_error)


# --------------------------------------------------------------------------- pods


def set_service_account_name_extension(jt: JobTemplate, name: str) -> JobTemplate:
    """Run launcher and workers under this service account.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _set_checked(
        jt, EXTENSION_SERVICE_ACCOUNT_NAME, name, get_service_account_name_extension
    )


def get_service_account_name_extension(jt: JobTemplate) -> str | None:
    """The service account, or None (the namespace's default).

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _string_extension(jt, EXTENSION_SERVICE_ACCOUNT_NAME)


def set_scheduler_extension(jt: JobTemplate, scheduler_name: str) -> JobTemplate:
    """Schedule launcher and workers with this scheduler (``schedulerName``).

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _set_checked(jt, EXTENSION_SCHEDULER, scheduler_name, get_scheduler_extension)


def get_scheduler_extension(jt: JobTemplate) -> str | None:
    """The scheduler name, or None (the default scheduler).

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _string_extension(jt, EXTENSION_SCHEDULER)


def set_priority_class_name_extension(jt: JobTemplate, name: str) -> JobTemplate:
    """Give launcher and worker pods this PriorityClass (Kueue reads it too).

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _set_checked(jt, EXTENSION_PRIORITY_CLASS_NAME, name, get_priority_class_name_extension)


def get_priority_class_name_extension(jt: JobTemplate) -> str | None:
    """The PriorityClass name, or None.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _string_extension(jt, EXTENSION_PRIORITY_CLASS_NAME)


def set_image_pull_secrets_extension(jt: JobTemplate, secrets: Iterable[str]) -> JobTemplate:
    """Pull images with these Secrets (comma separated, as DRMAA2OS writes it).

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    value = ",".join(secrets) or None
    new = with_extensions(jt, {EXTENSION_IMAGE_PULL_SECRETS: value})
    get_image_pull_secrets_extension(new)
    return new


def get_image_pull_secrets_extension(jt: JobTemplate) -> list[str]:
    """The image pull Secrets, in order (empty when none).

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    raw = raw_extension(jt, EXTENSION_IMAGE_PULL_SECRETS)
    return [] if raw is None else _parse_names(EXTENSION_IMAGE_PULL_SECRETS, raw, ",")


def set_image_pull_policy_extension(jt: JobTemplate, policy: ImagePullPolicy | str) -> JobTemplate:
    """Set ``imagePullPolicy`` of every container (``Always``, ``Never``, ``IfNotPresent``).

    Raises:
        InvalidTemplateError: not one of the three.
    """
    value = parse_choice_extension(
        EXTENSION_IMAGE_PULL_POLICY, str(policy), (p.value for p in ImagePullPolicy)
    )
    return with_extensions(jt, {EXTENSION_IMAGE_PULL_POLICY: value})


def get_image_pull_policy_extension(jt: JobTemplate) -> ImagePullPolicy | None:
    """The image pull policy, or None (Kubernetes' default for the tag).

    Raises:
        InvalidTemplateError: not one of the three (DRMAA2OS ignored it silently).
    """
    raw = raw_extension(jt, EXTENSION_IMAGE_PULL_POLICY)
    if raw is None:
        return None
    return ImagePullPolicy(
        parse_choice_extension(EXTENSION_IMAGE_PULL_POLICY, raw, (p.value for p in ImagePullPolicy))
    )


def set_privileged_extension(jt: JobTemplate, privileged: bool) -> JobTemplate:
    """Run the launcher and worker containers privileged (``"true"``)."""
    return with_extensions(jt, {EXTENSION_PRIVILEGED: "true" if privileged else "false"})


def get_privileged_extension(jt: JobTemplate) -> bool:
    """Whether the containers run privileged; False when unset.

    Raises:
        InvalidTemplateError: not a boolean.
    """
    raw = raw_extension(jt, EXTENSION_PRIVILEGED)
    return False if raw is None else parse_bool_extension(EXTENSION_PRIVILEGED, raw)


def set_run_as_group_extension(jt: JobTemplate, gid: int) -> JobTemplate:
    """Run the containers with this primary GID (``securityContext.runAsGroup``).

    Raises:
        InvalidTemplateError: negative or too large.
    """
    return _set_checked(jt, EXTENSION_RUN_AS_GROUP, str(gid), get_run_as_group_extension)


def get_run_as_group_extension(jt: JobTemplate) -> int | None:
    """The GID, or None.

    Raises:
        InvalidTemplateError: not a non-negative integer.
    """
    raw = raw_extension(jt, EXTENSION_RUN_AS_GROUP)
    return None if raw is None else parse_int_extension(EXTENSION_RUN_AS_GROUP, raw, 0, _INT64_MAX)


def set_fs_group_extension(jt: JobTemplate, gid: int) -> JobTemplate:
    """Give mounted volumes this group (pod ``securityContext.fsGroup``).

    Raises:
        InvalidTemplateError: negative or too large.
    """
    return _set_checked(jt, EXTENSION_FS_GROUP, str(gid), get_fs_group_extension)


def get_fs_group_extension(jt: JobTemplate) -> int | None:
    """The fsGroup, or None.

    Raises:
        InvalidTemplateError: not a non-negative integer.
    """
    raw = raw_extension(jt, EXTENSION_FS_GROUP)
    return None if raw is None else parse_int_extension(EXTENSION_FS_GROUP, raw, 0, _INT64_MAX)


def set_env_from_secret_extension(jt: JobTemplate, secrets: Iterable[str]) -> JobTemplate:
    """Import every key of these Secrets as environment variables (``:`` separated).

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    new = with_extensions(jt, {EXTENSION_ENV_FROM_SECRET: ":".join(secrets) or None})
    get_env_from_secret_extension(new)
    return new


def get_env_from_secret_extension(jt: JobTemplate) -> list[str]:
    """The Secrets imported as environment (also read from ``env-from-secrets``).

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    raw = raw_extension(jt, EXTENSION_ENV_FROM_SECRET)
    return [] if raw is None else _parse_names(EXTENSION_ENV_FROM_SECRET, raw, ":")


def set_env_from_configmap_extension(jt: JobTemplate, configmaps: Iterable[str]) -> JobTemplate:
    """Import every key of these ConfigMaps as environment variables (``:`` separated).

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    new = with_extensions(jt, {EXTENSION_ENV_FROM_CONFIGMAP: ":".join(configmaps) or None})
    get_env_from_configmap_extension(new)
    return new


def get_env_from_configmap_extension(jt: JobTemplate) -> list[str]:
    """The ConfigMaps imported as environment (also read from ``env-from-configmaps``).

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    raw = raw_extension(jt, EXTENSION_ENV_FROM_CONFIGMAP)
    return [] if raw is None else _parse_names(EXTENSION_ENV_FROM_CONFIGMAP, raw, ":")


def set_distribution_extension(jt: JobTemplate, distribution: Distribution | str) -> JobTemplate:
    """Name the Kubernetes distribution (``aks``, ``eks``, ``gke``) for accelerators.

    Raises:
        InvalidTemplateError: not one of the three.
    """
    value = parse_choice_extension(
        EXTENSION_DISTRIBUTION, str(distribution), (d.value for d in Distribution)
    )
    return with_extensions(jt, {EXTENSION_DISTRIBUTION: value})


def get_distribution_extension(jt: JobTemplate) -> Distribution | None:
    """The distribution, or None.

    Raises:
        InvalidTemplateError: not aks, eks or gke (any case).
    """
    raw = raw_extension(jt, EXTENSION_DISTRIBUTION)
    if raw is None:
        return None
    return Distribution(
        parse_choice_extension(EXTENSION_DISTRIBUTION, raw, (d.value for d in Distribution))
    )


def set_accelerator_extension(jt: JobTemplate, count: int, gpu_type: str) -> JobTemplate:
    """Request ``count`` GPUs of ``gpu_type`` on each worker (``"<count>*<type>"``).

    Raises:
        InvalidTemplateError: count below 1 or an empty or malformed type.
    """
    return _set_checked(jt, EXTENSION_ACCELERATOR, f"{count}*{gpu_type}", get_accelerator_extension)


def get_accelerator_extension(jt: JobTemplate) -> Accelerator | None:
    """The accelerator request, or None.

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


# ------------------------------------------------------------------ run policy and MPIJob spec


def set_ttl_seconds_after_finished_extension(jt: JobTemplate, seconds: int) -> JobTemplate:
    """Delete the finished MPIJob after ``seconds`` (``runPolicy.ttlSecondsAfterFinished``).

    Raises:
        InvalidTemplateError: negative or above 2^31-1.
    """
    return _set_checked(
        jt,
        EXTENSION_TTL_SECONDS_AFTER_FINISHED,
        str(seconds),
        get_ttl_seconds_after_finished_extension,
    )


def get_ttl_seconds_after_finished_extension(jt: JobTemplate) -> int | None:
    """The TTL after finishing, or None (the job is kept).

    Raises:
        InvalidTemplateError: not an integer in 0..2^31-1.
    """
    raw = raw_extension(jt, EXTENSION_TTL_SECONDS_AFTER_FINISHED)
    if raw is None:
        return None
    return parse_int_extension(EXTENSION_TTL_SECONDS_AFTER_FINISHED, raw, 0, _INT32_MAX)


def set_backoff_limit_extension(jt: JobTemplate, limit: int) -> JobTemplate:
    """Retry the launcher up to ``limit`` times (``runPolicy.backoffLimit``).

    Raises:
        InvalidTemplateError: negative or above 2^31-1.
    """
    return _set_checked(jt, EXTENSION_BACKOFF_LIMIT, str(limit), get_backoff_limit_extension)


def get_backoff_limit_extension(jt: JobTemplate) -> int | None:
    """The backoff limit, or None (the converter derives it from ``re_runnable``).

    Raises:
        InvalidTemplateError: not an integer in 0..2^31-1.
    """
    raw = raw_extension(jt, EXTENSION_BACKOFF_LIMIT)
    return None if raw is None else parse_int_extension(EXTENSION_BACKOFF_LIMIT, raw, 0, _INT32_MAX)


def set_clean_pod_policy_extension(jt: JobTemplate, policy: CleanPodPolicy | str) -> JobTemplate:
    """Choose which pods are deleted when the job ends (``Running``, ``All``, ``None``).

    Raises:
        InvalidTemplateError: not one of the three.
    """
    value = parse_choice_extension(
        EXTENSION_CLEAN_POD_POLICY, str(policy), (p.value for p in CleanPodPolicy)
    )
    return with_extensions(jt, {EXTENSION_CLEAN_POD_POLICY: value})


def get_clean_pod_policy_extension(jt: JobTemplate) -> CleanPodPolicy:
    """The clean pod policy; ``Running`` when unset (the seed's default).

    Raises:
        InvalidTemplateError: not one of the three.
    """
    raw = raw_extension(jt, EXTENSION_CLEAN_POD_POLICY)
    if raw is None:
        return CleanPodPolicy.RUNNING
    return CleanPodPolicy(
        parse_choice_extension(EXTENSION_CLEAN_POD_POLICY, raw, (p.value for p in CleanPodPolicy))
    )


def set_launcher_creation_policy_extension(
    jt: JobTemplate, policy: LauncherCreationPolicy | str
) -> JobTemplate:
    """Create the launcher ``AtStartup`` or only ``WaitForWorkersReady``.

    Raises:
        InvalidTemplateError: not one of the two.
    """
    value = parse_choice_extension(
        EXTENSION_LAUNCHER_CREATION_POLICY, str(policy), (p.value for p in LauncherCreationPolicy)
    )
    return with_extensions(jt, {EXTENSION_LAUNCHER_CREATION_POLICY: value})


def get_launcher_creation_policy_extension(jt: JobTemplate) -> LauncherCreationPolicy | None:
    """The launcher creation policy, or None (the operator's default, ``AtStartup``).

    Raises:
        InvalidTemplateError: not one of the two.
    """
    raw = raw_extension(jt, EXTENSION_LAUNCHER_CREATION_POLICY)
    if raw is None:
        return None
    return LauncherCreationPolicy(
        parse_choice_extension(
            EXTENSION_LAUNCHER_CREATION_POLICY, raw, (p.value for p in LauncherCreationPolicy)
        )
    )


def set_run_launcher_as_worker_extension(jt: JobTemplate, enabled: bool) -> JobTemplate:
    """Let the launcher pod also run MPI ranks (``spec.runLauncherAsWorker``)."""
    return with_extensions(jt, {EXTENSION_RUN_LAUNCHER_AS_WORKER: "true" if enabled else "false"})


def get_run_launcher_as_worker_extension(jt: JobTemplate) -> bool | None:
    """Whether the launcher runs ranks too, or None when unset (the operator's False).

    Raises:
        InvalidTemplateError: not a boolean.
    """
    raw = raw_extension(jt, EXTENSION_RUN_LAUNCHER_AS_WORKER)
    return None if raw is None else parse_bool_extension(EXTENSION_RUN_LAUNCHER_AS_WORKER, raw)
