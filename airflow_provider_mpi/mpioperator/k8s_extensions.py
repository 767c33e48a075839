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

import enum
import json
from collections.abc import Callable, Iterable, Mapping

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator.extension_keys import (
    EXTENSION_ANNOTATIONS,
    EXTENSION_ENV_FROM_CONFIGMAP,
    EXTENSION_ENV_FROM_SECRET,
    EXTENSION_FS_GROUP,
    EXTENSION_IMAGE_PULL_POLICY,
    EXTENSION_IMAGE_PULL_SECRETS,
    EXTENSION_KUEUE_QUEUE,
    EXTENSION_LABELS,
    EXTENSION_NAMESPACE,
    EXTENSION_NODE_SELECTORS,
    EXTENSION_PRIORITY_CLASS_NAME,
    EXTENSION_PRIVILEGED,
    EXTENSION_RUN_AS_GROUP,
    EXTENSION_SCHEDULER,
    EXTENSION_SERVICE_ACCOUNT_NAME,
    parse_bool_extension,
    parse_choice_extension,
    parse_int_extension,
    raw_extension,
    with_checked_extension,
    with_extensions,
)
from airflow_provider_mpi.mpioperator.validation import (
    dns1123_label_error,
    dns1123_subdomain_error,
    label_value_error,
    qualified_name_error,
)

__all__ = [
    "ImagePullPolicy",
    "get_annotations_extension",
    "get_env_from_configmap_extension",
    "get_env_from_secret_extension",
    "get_fs_group_extension",
    "get_image_pull_policy_extension",
    "get_image_pull_secrets_extension",
    "get_kueue_queue_extension",
    "get_labels_extension",
    "get_namespace_extension",
    "get_node_selectors_extension",
    "get_priority_class_name_extension",
    "get_privileged_extension",
    "get_run_as_group_extension",
    "get_scheduler_extension",
    "get_service_account_name_extension",
    "set_annotations_extension",
    "set_env_from_configmap_extension",
    "set_env_from_secret_extension",
    "set_fs_group_extension",
    "set_image_pull_policy_extension",
    "set_image_pull_secrets_extension",
    "set_kueue_queue_extension",
    "set_labels_extension",
    "set_namespace_extension",
    "set_node_selectors_extension",
    "set_priority_class_name_extension",
    "set_privileged_extension",
    "set_run_as_group_extension",
    "set_scheduler_extension",
    "set_service_account_name_extension",
]

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


# --------------------------------------------------------------------------- metadata


def set_namespace_extension(jt: JobTemplate, namespace: str) -> JobTemplate:
    """Place the job in ``namespace`` (wins over the tracker's namespace).

    Args:
        jt: the template, left untouched.
        namespace: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: not a DNS-1123 label.
    """
    return with_checked_extension(jt, EXTENSION_NAMESPACE, namespace, get_namespace_extension)


def get_namespace_extension(jt: JobTemplate) -> str | None:
    """The namespace the template asks for, or None (the tracker's namespace is used).

    Args:
        jt: the template.

    Returns:
        The value, or None when the extension is unset or empty.

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

    Args:
        jt: the template.

    Returns:
        The value, or the default when the extension is unset or empty.

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

    Args:
        jt: the template, left untouched.
        annotations: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: a key is not a qualified name, or the total is over 256 KiB.
    """
    value = _format_mapping(annotations) if annotations else None
    new = with_extensions(jt, {EXTENSION_ANNOTATIONS: value})
    get_annotations_extension(new)
    return new


def get_annotations_extension(jt: JobTemplate) -> dict[str, str]:
    """The annotations the template asks for (``k=v,...`` or a JSON object), sorted.

    Args:
        jt: the template.

    Returns:
        The value, or the default when the extension is unset or empty.

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

    Args:
        jt: the template, left untouched.
        selectors: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: a key or value is not valid label syntax.
    """
    value = _format_mapping(selectors) if selectors else None
    new = with_extensions(jt, {EXTENSION_NODE_SELECTORS: value})
    get_node_selectors_extension(new)
    return new


def get_node_selectors_extension(jt: JobTemplate) -> dict[str, str]:
    """The node selector the template asks for, sorted.

    Args:
        jt: the template.

    Returns:
        The value, or the default when the extension is unset or empty.

    Raises:
        InvalidTemplateError: malformed, or not valid label syntax.
    """
    raw = raw_extension(jt, EXTENSION_NODE_SELECTORS)
    if raw is None:
        return {}
    return _parse_mapping(EXTENSION_NODE_SELECTORS, raw, qualified_name_error, label_value_error)


def set_kueue_queue_extension(jt: JobTemplate, queue: str) -> JobTemplate:
    """Submit to a Kueue LocalQueue (label ``kueue.x-k8s.io/queue-name`` only).

    Args:
        jt: the template, left untouched.
        queue: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: not a valid label value.
    """
    return with_checked_extension(jt, EXTENSION_KUEUE_QUEUE, queue, get_kueue_queue_extension)


def get_kueue_queue_extension(jt: JobTemplate) -> str | None:
    """The Kueue LocalQueue, or None.

    Args:
        jt: the template.

    Returns:
        The value, or None when the extension is unset or empty.

    Raises:
        InvalidTemplateError: not a valid label value.
    """
    return _string_extension(jt, EXTENSION_KUEUE_QUEUE, label_value_error)


# --------------------------------------------------------------------------- pods


def set_service_account_name_extension(jt: JobTemplate, name: str) -> JobTemplate:
    """Run launcher and workers under this service account.

    Args:
        jt: the template, left untouched.
        name: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return with_checked_extension(
        jt, EXTENSION_SERVICE_ACCOUNT_NAME, name, get_service_account_name_extension
    )


def get_service_account_name_extension(jt: JobTemplate) -> str | None:
    """The service account, or None (the namespace's default).

    Args:
        jt: the template.

    Returns:
        The value, or None when the extension is unset or empty.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _string_extension(jt, EXTENSION_SERVICE_ACCOUNT_NAME)


def set_scheduler_extension(jt: JobTemplate, scheduler_name: str) -> JobTemplate:
    """Schedule launcher and workers with this scheduler (``schedulerName``).

    Args:
        jt: the template, left untouched.
        scheduler_name: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return with_checked_extension(jt, EXTENSION_SCHEDULER, scheduler_name, get_scheduler_extension)


def get_scheduler_extension(jt: JobTemplate) -> str | None:
    """The scheduler name, or None (the default scheduler).

    Args:
        jt: the template.

    Returns:
        The value, or None when the extension is unset or empty.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _string_extension(jt, EXTENSION_SCHEDULER)


def set_priority_class_name_extension(jt: JobTemplate, name: str) -> JobTemplate:
    """Give launcher and worker pods this PriorityClass (Kueue reads it too).

    Args:
        jt: the template, left untouched.
        name: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return with_checked_extension(
        jt, EXTENSION_PRIORITY_CLASS_NAME, name, get_priority_class_name_extension
    )


def get_priority_class_name_extension(jt: JobTemplate) -> str | None:
    """The PriorityClass name, or None.

    Args:
        jt: the template.

    Returns:
        The value, or None when the extension is unset or empty.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _string_extension(jt, EXTENSION_PRIORITY_CLASS_NAME)


def set_image_pull_secrets_extension(jt: JobTemplate, secrets: Iterable[str]) -> JobTemplate:
    """Pull images with these Secrets (comma separated, as DRMAA2OS writes it).

    Args:
        jt: the template, left untouched.
        secrets: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    value = ",".join(secrets) or None
    new = with_extensions(jt, {EXTENSION_IMAGE_PULL_SECRETS: value})
    get_image_pull_secrets_extension(new)
    return new


def get_image_pull_secrets_extension(jt: JobTemplate) -> list[str]:
    """The image pull Secrets, in order (empty when none).

    Args:
        jt: the template.

    Returns:
        The value, or the default when the extension is unset or empty.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    raw = raw_extension(jt, EXTENSION_IMAGE_PULL_SECRETS)
    return [] if raw is None else _parse_names(EXTENSION_IMAGE_PULL_SECRETS, raw, ",")


def set_image_pull_policy_extension(jt: JobTemplate, policy: ImagePullPolicy | str) -> JobTemplate:
    """Set ``imagePullPolicy`` of every container (``Always``, ``Never``, ``IfNotPresent``).

    Args:
        jt: the template, left untouched.
        policy: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: not one of the three.
    """
    value = parse_choice_extension(
        EXTENSION_IMAGE_PULL_POLICY, str(policy), (p.value for p in ImagePullPolicy)
    )
    return with_extensions(jt, {EXTENSION_IMAGE_PULL_POLICY: value})


def get_image_pull_policy_extension(jt: JobTemplate) -> ImagePullPolicy | None:
    """The image pull policy, or None (Kubernetes' default for the tag).

    Args:
        jt: the template.

    Returns:
        The value, or None when the extension is unset or empty.

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
    """Run the launcher and worker containers privileged (``"true"``).

    Args:
        jt: the template, left untouched.
        privileged: the value to store.

    Returns:
        A new template with the extension set.
    """
    return with_extensions(jt, {EXTENSION_PRIVILEGED: "true" if privileged else "false"})


def get_privileged_extension(jt: JobTemplate) -> bool:
    """Whether the containers run privileged; False when unset.

    Args:
        jt: the template.

    Returns:
        The value, or the default when the extension is unset or empty.

    Raises:
        InvalidTemplateError: not a boolean.
    """
    raw = raw_extension(jt, EXTENSION_PRIVILEGED)
    return False if raw is None else parse_bool_extension(EXTENSION_PRIVILEGED, raw)


def set_run_as_group_extension(jt: JobTemplate, gid: int) -> JobTemplate:
    """Run the containers with this primary GID (``securityContext.runAsGroup``).

    Args:
        jt: the template, left untouched.
        gid: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: negative or too large.
    """
    return with_checked_extension(jt, EXTENSION_RUN_AS_GROUP, str(gid), get_run_as_group_extension)


def get_run_as_group_extension(jt: JobTemplate) -> int | None:
    """The GID, or None.

    Args:
        jt: the template.

    Returns:
        The value, or None when the extension is unset or empty.

    Raises:
        InvalidTemplateError: not a non-negative integer.
    """
    raw = raw_extension(jt, EXTENSION_RUN_AS_GROUP)
    return None if raw is None else parse_int_extension(EXTENSION_RUN_AS_GROUP, raw, 0, _INT64_MAX)


def set_fs_group_extension(jt: JobTemplate, gid: int) -> JobTemplate:
    """Give mounted volumes this group (pod ``securityContext.fsGroup``).

    Args:
        jt: the template, left untouched.
        gid: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: negative or too large.
    """
    return with_checked_extension(jt, EXTENSION_FS_GROUP, str(gid), get_fs_group_extension)


def get_fs_group_extension(jt: JobTemplate) -> int | None:
    """The fsGroup, or None.

    Args:
        jt: the template.

    Returns:
        The value, or None when the extension is unset or empty.

    Raises:
        InvalidTemplateError: not a non-negative integer.
    """
    raw = raw_extension(jt, EXTENSION_FS_GROUP)
    return None if raw is None else parse_int_extension(EXTENSION_FS_GROUP, raw, 0, _INT64_MAX)


def set_env_from_secret_extension(jt: JobTemplate, secrets: Iterable[str]) -> JobTemplate:
    """Import every key of these Secrets as environment variables (``:`` separated).

    Args:
        jt: the template, left untouched.
        secrets: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    new = with_extensions(jt, {EXTENSION_ENV_FROM_SECRET: ":".join(secrets) or None})
    get_env_from_secret_extension(new)
    return new


def get_env_from_secret_extension(jt: JobTemplate) -> list[str]:
    """The Secrets imported as environment (also read from ``env-from-secrets``).

    Args:
        jt: the template.

    Returns:
        The value, or the default when the extension is unset or empty.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    raw = raw_extension(jt, EXTENSION_ENV_FROM_SECRET)
    return [] if raw is None else _parse_names(EXTENSION_ENV_FROM_SECRET, raw, ":")


def set_env_from_configmap_extension(jt: JobTemplate, configmaps: Iterable[str]) -> JobTemplate:
    """Import every key of these ConfigMaps as environment variables (``:`` separated).

    Args:
        jt: the template, left untouched.
        configmaps: the value to store.

    Returns:
        A new template with the extension set.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    new = with_extensions(jt, {EXTENSION_ENV_FROM_CONFIGMAP: ":".join(configmaps) or None})
    get_env_from_configmap_extension(new)
    return new


def get_env_from_configmap_extension(jt: JobTemplate) -> list[str]:
    """The ConfigMaps imported as environment (also read from ``env-from-configmaps``).

    Args:
        jt: the template.

    Returns:
        The value, or the default when the extension is unset or empty.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    raw = raw_extension(jt, EXTENSION_ENV_FROM_CONFIGMAP)
    return [] if raw is None else _parse_names(EXTENSION_ENV_FROM_CONFIGMAP, raw, ":")
