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
    INT64_MAX,
    BoolExtension,
    EnumExtension,
    IntExtension,
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


def _no_check(value: str) -> str | None:
    return None


@dataclasses.dataclass(frozen=True)
class _StringExtension:
    """A single name; ``check`` says why a value is invalid (None when valid)."""

    key: str
    check: Callable[[str], str | None] = dns1123_subdomain_error

    def get(self, jt: JobTemplate) -> str | None:
        raw = raw_extension(jt, self.key)
        if raw is not None and (error := self.check(raw)) is not None:
            raise InvalidTemplateError(self.key, raw, error)
        return raw

    def set(self, jt: JobTemplate, value: str) -> JobTemplate:
        return with_checked_extension(jt, self.key, value, self.get)


@dataclasses.dataclass(frozen=True)
class _MappingExtension:
    """A map written ``k=v,...`` (or JSON); an empty map removes the extension."""

    key: str
    check_key: Callable[[str], str | None]
    check_value: Callable[[str], str | None] = _no_check
    max_bytes: int | None = None

    def get(self, jt: JobTemplate) -> dict[str, str]:
        raw = raw_extension(jt, self.key)
        if raw is None:
            return {}
        result = _parse_mapping(self.key, raw, self.check_key, self.check_value)
        size = sum(len(k.encode()) + len(v.encode()) for k, v in result.items())
        if self.max_bytes is not None and size > self.max_bytes:
            limit = f"{self.max_bytes // 1024} KiB"
            raise InvalidTemplateError(self.key, raw, f"must be at most {limit} in total")
        return result

    def set(self, jt: JobTemplate, mapping: Mapping[str, str]) -> JobTemplate:
        new = with_extensions(jt, {self.key: _format_mapping(mapping) if mapping else None})
        self.get(new)
        return new


@dataclasses.dataclass(frozen=True)
class _NamesExtension:
    """DNS-1123 subdomain names joined by ``separator``; no names removes the extension."""

    key: str
    separator: str

    def get(self, jt: JobTemplate) -> list[str]:
        raw = raw_extension(jt, self.key)
        if raw is None:
            return []
        names = [part.strip() for part in raw.split(self.separator) if part.strip()]
        for name in names:
            if (error := dns1123_subdomain_error(name)) is not None:
                raise InvalidTemplateError(self.key, raw, f"{name!r} {error}")
        return names

    def set(self, jt: JobTemplate, names: Iterable[str]) -> JobTemplate:
        new = with_extensions(jt, {self.key: self.separator.join(names) or None})
        self.get(new)
        return new


_NAMESPACE = _StringExtension(EXTENSION_NAMESPACE, dns1123_label_error)
_KUEUE_QUEUE = _StringExtension(EXTENSION_KUEUE_QUEUE, label_value_error)
_SERVICE_ACCOUNT_NAME = _StringExtension(EXTENSION_SERVICE_ACCOUNT_NAME)
_SCHEDULER = _StringExtension(EXTENSION_SCHEDULER)
_PRIORITY_CLASS_NAME = _StringExtension(EXTENSION_PRIORITY_CLASS_NAME)
_LABELS = _MappingExtension(EXTENSION_LABELS, qualified_name_error, label_value_error)
_ANNOTATIONS = _MappingExtension(
    EXTENSION_ANNOTATIONS, qualified_name_error, max_bytes=_MAX_ANNOTATIONS_BYTES
)
_NODE_SELECTORS = _MappingExtension(
    EXTENSION_NODE_SELECTORS, qualified_name_error, label_value_error
)
_IMAGE_PULL_SECRETS = _NamesExtension(EXTENSION_IMAGE_PULL_SECRETS, ",")
_ENV_FROM_SECRET = _NamesExtension(EXTENSION_ENV_FROM_SECRET, ":")
_ENV_FROM_CONFIGMAP = _NamesExtension(EXTENSION_ENV_FROM_CONFIGMAP, ":")
_IMAGE_PULL_POLICY = EnumExtension(EXTENSION_IMAGE_PULL_POLICY, ImagePullPolicy)
_PRIVILEGED = BoolExtension(EXTENSION_PRIVILEGED)
_RUN_AS_GROUP = IntExtension(EXTENSION_RUN_AS_GROUP, 0, INT64_MAX)
_FS_GROUP = IntExtension(EXTENSION_FS_GROUP, 0, INT64_MAX)


# --------------------------------------------------------------------------- metadata


def set_namespace_extension(jt: JobTemplate, namespace: str) -> JobTemplate:
    """Place the job in ``namespace`` (wins over the tracker's namespace).

    Args:
        jt: the template, left untouched.
        namespace: a DNS-1123 label, e.g. ``team-a``.

    Returns:
        A new template (an empty string reads back as unset).

    Raises:
        InvalidTemplateError: not a DNS-1123 label.
    """
    return _NAMESPACE.set(jt, namespace)


def get_namespace_extension(jt: JobTemplate) -> str | None:
    """The namespace the template asks for, or None (the tracker's namespace is used).

    Args:
        jt: the template.

    Returns:
        The namespace, or None when unset or empty.

    Raises:
        InvalidTemplateError: not a DNS-1123 label.
    """
    return _NAMESPACE.get(jt)


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
    return _LABELS.set(jt, labels)


def get_labels_extension(jt: JobTemplate) -> dict[str, str]:
    """The labels the template asks for (``k=v,...`` or a JSON object), sorted.

    Args:
        jt: the template.

    Returns:
        Label keys and values; empty when unset.

    Raises:
        InvalidTemplateError: malformed, or not valid label syntax.
    """
    return _LABELS.get(jt)


def set_annotations_extension(jt: JobTemplate, annotations: Mapping[str, str]) -> JobTemplate:
    """Set annotations of the MPIJob (replacing earlier ones).

    Values may hold any text; they are written as JSON when they contain commas.

    Args:
        jt: the template, left untouched.
        annotations: annotation keys (qualified names) and free-text values.

    Returns:
        A new template; an empty mapping removes the extension.

    Raises:
        InvalidTemplateError: a key is not a qualified name, or the total is over 256 KiB.
    """
    return _ANNOTATIONS.set(jt, annotations)


def get_annotations_extension(jt: JobTemplate) -> dict[str, str]:
    """The annotations the template asks for (``k=v,...`` or a JSON object), sorted.

    Args:
        jt: the template.

    Returns:
        Annotation keys and values; empty when unset.

    Raises:
        InvalidTemplateError: malformed, a bad key, or more than 256 KiB in total.
    """
    return _ANNOTATIONS.get(jt)


def set_node_selectors_extension(jt: JobTemplate, selectors: Mapping[str, str]) -> JobTemplate:
    """Set the node selector of the launcher and worker pods (``k=v,k2=v2``).

    Args:
        jt: the template, left untouched.
        selectors: node label keys and the values a node must carry.

    Returns:
        A new template; an empty mapping removes the extension.

    Raises:
        InvalidTemplateError: a key or value is not valid label syntax.
    """
    return _NODE_SELECTORS.set(jt, selectors)


def get_node_selectors_extension(jt: JobTemplate) -> dict[str, str]:
    """The node selector the template asks for, sorted.

    Args:
        jt: the template.

    Returns:
        Node label keys and values; empty when unset.

    Raises:
        InvalidTemplateError: malformed, or not valid label syntax.
    """
    return _NODE_SELECTORS.get(jt)


def set_kueue_queue_extension(jt: JobTemplate, queue: str) -> JobTemplate:
    """Submit to a Kueue LocalQueue (label ``kueue.x-k8s.io/queue-name`` only).

    Args:
        jt: the template, left untouched.
        queue: the LocalQueue's name in the job's namespace.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not a valid label value.
    """
    return _KUEUE_QUEUE.set(jt, queue)


def get_kueue_queue_extension(jt: JobTemplate) -> str | None:
    """The Kueue LocalQueue, or None.

    Args:
        jt: the template.

    Returns:
        The LocalQueue name, or None when unset or empty.

    Raises:
        InvalidTemplateError: not a valid label value.
    """
    return _KUEUE_QUEUE.get(jt)


# --------------------------------------------------------------------------- pods


def set_service_account_name_extension(jt: JobTemplate, name: str) -> JobTemplate:
    """Run launcher and workers under this service account.

    Args:
        jt: the template, left untouched.
        name: a ServiceAccount in the job's namespace.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _SERVICE_ACCOUNT_NAME.set(jt, name)


def get_service_account_name_extension(jt: JobTemplate) -> str | None:
    """The service account, or None (the namespace's default).

    Args:
        jt: the template.

    Returns:
        The ServiceAccount name, or None when unset or empty.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _SERVICE_ACCOUNT_NAME.get(jt)


def set_scheduler_extension(jt: JobTemplate, scheduler_name: str) -> JobTemplate:
    """Schedule launcher and workers with this scheduler (``schedulerName``).

    Args:
        jt: the template, left untouched.
        scheduler_name: e.g. ``volcano`` or ``scheduler-plugins-scheduler``.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _SCHEDULER.set(jt, scheduler_name)


def get_scheduler_extension(jt: JobTemplate) -> str | None:
    """The scheduler name, or None (the default scheduler).

    Args:
        jt: the template.

    Returns:
        The scheduler name, or None when unset or empty.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _SCHEDULER.get(jt)


def set_priority_class_name_extension(jt: JobTemplate, name: str) -> JobTemplate:
    """Give launcher and worker pods this PriorityClass (Kueue reads it too).

    Args:
        jt: the template, left untouched.
        name: a cluster-wide PriorityClass.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _PRIORITY_CLASS_NAME.set(jt, name)


def get_priority_class_name_extension(jt: JobTemplate) -> str | None:
    """The PriorityClass name, or None.

    Args:
        jt: the template.

    Returns:
        The PriorityClass name, or None when unset or empty.

    Raises:
        InvalidTemplateError: not a DNS-1123 subdomain.
    """
    return _PRIORITY_CLASS_NAME.get(jt)


def set_image_pull_secrets_extension(jt: JobTemplate, secrets: Iterable[str]) -> JobTemplate:
    """Pull images with these Secrets (comma separated, as DRMAA2OS writes it).

    Args:
        jt: the template, left untouched.
        secrets: Secret names in the job's namespace; none removes it.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    return _IMAGE_PULL_SECRETS.set(jt, secrets)


def get_image_pull_secrets_extension(jt: JobTemplate) -> list[str]:
    """The image pull Secrets, in order (empty when none).

    Args:
        jt: the template.

    Returns:
        Secret names in the stored order; empty when unset.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    return _IMAGE_PULL_SECRETS.get(jt)


def set_image_pull_policy_extension(jt: JobTemplate, policy: ImagePullPolicy | str) -> JobTemplate:
    """Set ``imagePullPolicy`` of every container (``Always``, ``Never``, ``IfNotPresent``).

    Args:
        jt: the template, left untouched.
        policy: a member or its value in any case.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: not one of the three.
    """
    return _IMAGE_PULL_POLICY.set(jt, policy)


def get_image_pull_policy_extension(jt: JobTemplate) -> ImagePullPolicy | None:
    """The image pull policy, or None (Kubernetes' default for the tag).

    Args:
        jt: the template.

    Returns:
        The policy, or None when unset or empty.

    Raises:
        InvalidTemplateError: not one of the three (DRMAA2OS ignored it silently).
    """
    return _IMAGE_PULL_POLICY.get(jt)


def set_privileged_extension(jt: JobTemplate, privileged: bool) -> JobTemplate:
    """Run the launcher and worker containers privileged (``"true"``).

    Args:
        jt: the template, left untouched.
        privileged: True writes ``"true"``, False ``"false"``.

    Returns:
        A new template.
    """
    return _PRIVILEGED.set(jt, privileged)


def get_privileged_extension(jt: JobTemplate) -> bool:
    """Whether the containers run privileged; False when unset.

    Args:
        jt: the template.

    Returns:
        True only when the extension says so.

    Raises:
        InvalidTemplateError: not a boolean.
    """
    return _PRIVILEGED.get(jt) is True


def set_run_as_group_extension(jt: JobTemplate, gid: int) -> JobTemplate:
    """Run the containers with this primary GID (``securityContext.runAsGroup``).

    Args:
        jt: the template, left untouched.
        gid: a group ID, 0 or more.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: negative or too large.
    """
    return _RUN_AS_GROUP.set(jt, gid)


def get_run_as_group_extension(jt: JobTemplate) -> int | None:
    """The GID, or None.

    Args:
        jt: the template.

    Returns:
        The group ID, or None when unset or empty.

    Raises:
        InvalidTemplateError: not a non-negative integer.
    """
    return _RUN_AS_GROUP.get(jt)


def set_fs_group_extension(jt: JobTemplate, gid: int) -> JobTemplate:
    """Give mounted volumes this group (pod ``securityContext.fsGroup``).

    Args:
        jt: the template, left untouched.
        gid: a group ID, 0 or more.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: negative or too large.
    """
    return _FS_GROUP.set(jt, gid)


def get_fs_group_extension(jt: JobTemplate) -> int | None:
    """The fsGroup, or None.

    Args:
        jt: the template.

    Returns:
        The group ID, or None when unset or empty.

    Raises:
        InvalidTemplateError: not a non-negative integer.
    """
    return _FS_GROUP.get(jt)


def set_env_from_secret_extension(jt: JobTemplate, secrets: Iterable[str]) -> JobTemplate:
    """Import every key of these Secrets as environment variables (``:`` separated).

    Args:
        jt: the template, left untouched.
        secrets: Secret names in the job's namespace; none removes it.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    return _ENV_FROM_SECRET.set(jt, secrets)


def get_env_from_secret_extension(jt: JobTemplate) -> list[str]:
    """The Secrets imported as environment (also read from ``env-from-secrets``).

    Args:
        jt: the template.

    Returns:
        Secret names in the stored order; empty when unset.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    return _ENV_FROM_SECRET.get(jt)


def set_env_from_configmap_extension(jt: JobTemplate, configmaps: Iterable[str]) -> JobTemplate:
    """Import every key of these ConfigMaps as environment variables (``:`` separated).

    Args:
        jt: the template, left untouched.
        configmaps: ConfigMap names in the job's namespace; none removes it.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    return _ENV_FROM_CONFIGMAP.set(jt, configmaps)


def get_env_from_configmap_extension(jt: JobTemplate) -> list[str]:
    """The ConfigMaps imported as environment (also read from ``env-from-configmaps``).

    Args:
        jt: the template.

    Returns:
        ConfigMap names in the stored order; empty when unset.

    Raises:
        InvalidTemplateError: a name is not a DNS-1123 subdomain.
    """
    return _ENV_FROM_CONFIGMAP.get(jt)
