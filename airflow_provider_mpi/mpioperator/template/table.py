"""THE extension table: every JobTemplate extension the MPI operator tracker understands.

One row per extension: its key (the Go JSON key, also DRMAA2OS's spelling
where it has the setting), its Go name, its codec (syntax and type), its
default, and its doc. Everything else is made from this table: the public
Go-named get/set functions (:mod:`.accessors`), the parsed
:class:`~.settings.TemplateSettings` the converter takes, the check that
rejects a misspelt key with a suggestion, and the README's extension table
(``python -m airflow_provider_mpi.mpioperator.template.doc``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate, UnsupportedAttributeError
from airflow_provider_mpi.mpioperator.template.codecs import (
    INT32_MAX,
    INT64_MAX,
    AbsolutePath,
    Boolean,
    Choice,
    Codec,
    Command,
    Integer,
    KeyValues,
    Names,
    Text,
)
from airflow_provider_mpi.mpioperator.template.extension import Extension, ResourceFamily
from airflow_provider_mpi.mpioperator.template.validation import (
    ANNOTATIONS_MAX_BYTES,
    dns1123_label_error,
    dns1123_subdomain_error,
    label_value_error,
    qualified_name_error,
)
from airflow_provider_mpi.mpioperator.template.values import (
    Accelerator,
    CleanPodPolicy,
    Distribution,
    ImagePullPolicy,
    LauncherCreationPolicy,
    MPIImplementation,
)

__all__ = [
    "EXTENSIONS",
    "EXTENSION_ALIASES",
    "KNOWN_EXTENSIONS",
    "RESOURCE_FAMILIES",
    "RESOURCE_PREFIXES",
    "check_extension_keys",
]

_NAMES = dns1123_subdomain_error


class _AcceleratorCodec(Codec[Accelerator, Accelerator]):
    type_doc = "`<count>*<type>`, e.g. `1*nvidia-tesla-t4`"

    def parse(self, key: str, raw: str) -> Accelerator:
        count_text, star, gpu_type = raw.partition("*")
        if not star or not gpu_type:
            raise InvalidTemplateError(key, raw, "must be <count>*<type>, e.g. 1*nvidia-tesla-t4")
        if not (count_text.isdigit() and count_text.isascii() and 1 <= int(count_text) <= 10**6):
            raise InvalidTemplateError(key, raw, "the count must be a positive integer")
        if (error := label_value_error(gpu_type)) is not None:
            raise InvalidTemplateError(key, raw, f"type {gpu_type!r} {error}")
        return Accelerator(int(count_text), gpu_type)

    def format(self, key: str, value: Accelerator) -> str | None:
        return str(value)


# --------------------------------------------------------------------------- the Go seed's
WORKER_IMAGE: Extension[str | None, str] = Extension(
    "workerImage", "WorkerImage", Text(type_doc="image"), None,
    "The workers' container image", "`W.containers[0].image`", "`job_category`",
    check_on_set=False,
)  # fmt: skip
WORKER_COMMAND: Extension[list[str] | None, Sequence[str]] = Extension(
    "workerCommand", "WorkerCommand", Command(), None,
    "The workers' command and arguments (an empty first part keeps the entrypoint)",
    "`W.containers[0].command = [first]`, `args = rest`", "image entrypoint",
    check_on_set=False,
)  # fmt: skip
SLOTS_PER_WORKER: Extension[int, int] = Extension(
    "slotsPerWorker", "SlotsPerWorker", Integer(1, INT32_MAX), 1,
    "The MPI slots per worker", "`spec.slotsPerWorker`", "1",
)  # fmt: skip
MPI_IMPLEMENTATION: Extension[MPIImplementation, MPIImplementation | str] = Extension(
    "mpiImplementation", "MPIImplementation", Choice(MPIImplementation), MPIImplementation.INTEL,
    "The MPI implementation (any case in)", "`spec.mpiImplementation` (canonical)", "`Intel`",
    check_on_set=False,
)  # fmt: skip
SSH_MOUNT_PATH: Extension[str, str] = Extension(
    "sshMountPath", "SSHMountPath", AbsolutePath(), "/root/.ssh",
    "Where the operator mounts the SSH keys", "`spec.sshAuthMountPath`", "`/root/.ssh`",
)  # fmt: skip
RUN_AS_USER: Extension[int | None, int] = Extension(
    "runAsUser", "RunAsUser", Integer(0, INT64_MAX), None,
    "The UID the launcher and worker containers run as",
    "`L/W.containers[0].securityContext.runAsUser`", "unset (the seed's -1)",
    aliases=("runasuser",),
)  # fmt: skip
# --------------------------------------------------------------------------- MPIJob metadata
NAMESPACE: Extension[str | None, str] = Extension(
    "namespace", "Namespace", Text(dns1123_label_error, "DNS-1123 label"), None,
    "The namespace of the job", "`metadata.namespace` (wins over the tracker's namespace)",
    "tracker's",
)  # fmt: skip
LABELS: Extension[dict[str, str], Mapping[str, str]] = Extension(
    "labels", "Labels", KeyValues(qualified_name_error, label_value_error), {},
    "The labels of the MPIJob", "`metadata.labels`",
)  # fmt: skip
ANNOTATIONS: Extension[dict[str, str], Mapping[str, str]] = Extension(
    "annotations", "Annotations",
    KeyValues(qualified_name_error, max_bytes=ANNOTATIONS_MAX_BYTES), {},
    "The annotations of the MPIJob (at most 256 KiB)", "`metadata.annotations`",
)  # fmt: skip
NODE_SELECTORS: Extension[dict[str, str], Mapping[str, str]] = Extension(
    "node-selectors", "NodeSelectors", KeyValues(qualified_name_error, label_value_error), {},
    "The node selector of the launcher and worker pods", "`L/W.nodeSelector`",
)  # fmt: skip
KUEUE_QUEUE: Extension[str | None, str] = Extension(
    "kueueQueue", "KueueQueue", Text(label_value_error, "label value"), None,
    "The Kueue LocalQueue to submit to",
    "label `kueue.x-k8s.io/queue-name` (must equal `queue_name` if both)",
)  # fmt: skip
# --------------------------------------------------------------------------- pods (DRMAA2OS)
SERVICE_ACCOUNT_NAME: Extension[str | None, str] = Extension(
    "service-account-name", "ServiceAccountName", Text(_NAMES, "DNS-1123 subdomain"), None,
    "The service account of launcher and workers", "`L/W.serviceAccountName`",
    "namespace default",
)  # fmt: skip
SCHEDULER: Extension[str | None, str] = Extension(
    "scheduler", "Scheduler", Text(_NAMES, "DNS-1123 subdomain"), None,
    "The scheduler of launcher and workers", "`L/W.schedulerName`", "default scheduler",
)  # fmt: skip
PRIORITY_CLASS_NAME: Extension[str | None, str] = Extension(
    "priorityClassName", "PriorityClassName", Text(_NAMES, "DNS-1123 subdomain"), None,
    "The PriorityClass of launcher and worker pods (Kueue reads it too)",
    "`L/W.priorityClassName`",
)  # fmt: skip
IMAGE_PULL_SECRETS: Extension[list[str], Iterable[str]] = Extension(
    "imagepullsecrets", "ImagePullSecrets", Names(",", _NAMES), [],
    "The Secrets images are pulled with", "`L/W.imagePullSecrets`",
)  # fmt: skip
IMAGE_PULL_POLICY: Extension[ImagePullPolicy | None, ImagePullPolicy | str] = Extension(
    "pullpolicy", "ImagePullPolicy", Choice(ImagePullPolicy), None,
    "The image pull policy of every container", "`L/W.containers[0].imagePullPolicy`",
    "Kubernetes default", check_on_set=False,
)  # fmt: skip
PRIVILEGED: Extension[bool, bool] = Extension(
    "privileged", "Privileged", Boolean(), False,
    "Whether the launcher and worker containers run privileged",
    "`L/W.containers[0].securityContext.privileged`", "false", check_on_set=False,
)  # fmt: skip
RUN_AS_GROUP: Extension[int | None, int] = Extension(
    "runasgroup", "RunAsGroup", Integer(0, INT64_MAX), None,
    "The primary GID of the containers", "`L/W.containers[0].securityContext.runAsGroup`",
    "unset",
)  # fmt: skip
FS_GROUP: Extension[int | None, int] = Extension(
    "fsgroup", "FSGroup", Integer(0, INT64_MAX), None,
    "The group of mounted volumes", "`L/W.securityContext.fsGroup`", "unset",
)  # fmt: skip
ENV_FROM_SECRET: Extension[list[str], Iterable[str]] = Extension(
    "env-from-secret", "EnvFromSecret", Names(":", _NAMES), [],
    "The Secrets whose keys become environment variables",
    "`L/W.containers[0].envFrom[].secretRef`", aliases=("env-from-secrets",),
)  # fmt: skip
ENV_FROM_CONFIGMAP: Extension[list[str], Iterable[str]] = Extension(
    "env-from-configmap", "EnvFromConfigmap", Names(":", _NAMES), [],
    "The ConfigMaps whose keys become environment variables",
    "`L/W.containers[0].envFrom[].configMapRef`", aliases=("env-from-configmaps",),
)  # fmt: skip
ACCELERATOR: Extension[Accelerator | None, Accelerator] = Extension(
    "accelerator", "Accelerator", _AcceleratorCodec(), None,
    "GPUs per worker",
    '`W.containers[0].resources.limits["nvidia.com/gpu"] = count` (launcher too with '
    "`runLauncherAsWorker`); with `distribution` `gke`: "
    '`W.nodeSelector["cloud.google.com/gke-accelerator"] = type`; `aks`: toleration '
    "`sku=gpu:NoSchedule`",
)  # fmt: skip
DISTRIBUTION: Extension[Distribution | None, Distribution | str] = Extension(
    "distribution", "Distribution", Choice(Distribution), None,
    "The Kubernetes distribution, which decides how accelerators are requested",
    "see `accelerator`", check_on_set=False,
)  # fmt: skip
# --------------------------------------------------------------------------- run policy
TTL_SECONDS_AFTER_FINISHED: Extension[int | None, int] = Extension(
    "ttlsecondsafterfinished", "TTLSecondsAfterFinished", Integer(0, INT32_MAX), None,
    "Delete the finished MPIJob after this many seconds",
    "`spec.runPolicy.ttlSecondsAfterFinished`", "kept",
)  # fmt: skip
BACKOFF_LIMIT: Extension[int | None, int] = Extension(
    "backoffLimit", "BackoffLimit", Integer(0, INT32_MAX), None,
    "How often the launcher is retried", "`spec.runPolicy.backoffLimit`",
    "0 (6 if `re_runnable`)",
)  # fmt: skip
CLEAN_POD_POLICY: Extension[CleanPodPolicy, CleanPodPolicy | str] = Extension(
    "cleanPodPolicy", "CleanPodPolicy", Choice(CleanPodPolicy), CleanPodPolicy.RUNNING,
    "Which pods are deleted when the job ends", "`spec.runPolicy.cleanPodPolicy`",
    "`Running`", check_on_set=False,
)  # fmt: skip
_Launch = LauncherCreationPolicy
LAUNCHER_CREATION_POLICY: Extension[_Launch | None, _Launch | str] = Extension(
    "launcherCreationPolicy", "LauncherCreationPolicy", Choice(LauncherCreationPolicy), None,
    "When the operator creates the launcher", "`spec.launcherCreationPolicy`",
    "operator default (`AtStartup`)", check_on_set=False,
)  # fmt: skip
RUN_LAUNCHER_AS_WORKER: Extension[bool | None, bool] = Extension(
    "runLauncherAsWorker", "RunLauncherAsWorker", Boolean(), None,
    "Whether the launcher pod also runs MPI ranks", "`spec.runLauncherAsWorker`",
    "operator default (false)", check_on_set=False,
)  # fmt: skip

#: THE table: every fixed extension, in the README's order.
EXTENSIONS: tuple[Extension[Any, Any], ...] = (
    WORKER_IMAGE, WORKER_COMMAND, SLOTS_PER_WORKER, MPI_IMPLEMENTATION, SSH_MOUNT_PATH,
    RUN_AS_USER, NAMESPACE, LABELS, ANNOTATIONS, NODE_SELECTORS, KUEUE_QUEUE,
    SERVICE_ACCOUNT_NAME, SCHEDULER, PRIORITY_CLASS_NAME, IMAGE_PULL_SECRETS, IMAGE_PULL_POLICY,
    PRIVILEGED, RUN_AS_GROUP, FS_GROUP, ENV_FROM_SECRET, ENV_FROM_CONFIGMAP, ACCELERATOR,
    DISTRIBUTION, TTL_SECONDS_AFTER_FINISHED, BACKOFF_LIMIT, CLEAN_POD_POLICY,
    LAUNCHER_CREATION_POLICY, RUN_LAUNCHER_AS_WORKER,
)  # fmt: skip

LAUNCHER_REQUESTS = ResourceFamily(
    "resourceRequestLauncher-", "LauncherResourceRequests",
    "`L.containers[0].resources.requests[<resource>]`",
)  # fmt: skip
LAUNCHER_LIMITS = ResourceFamily(
    "resourceLimitLauncher-", "LauncherResourceLimit",
    "`L.containers[0].resources.limits[<resource>]`",
)  # fmt: skip
WORKER_REQUESTS = ResourceFamily(
    "resourceRequestWorker-", "WorkerResourceRequests",
    "`W.containers[0].resources.requests[<resource>]`",
)  # fmt: skip
WORKER_LIMITS = ResourceFamily(
    "resourceLimitWorker-", "WorkerResourceLimit", "`W.containers[0].resources.limits[<resource>]`"
)
#: The resource families, open to every resource name.
RESOURCE_FAMILIES = (LAUNCHER_REQUESTS, LAUNCHER_LIMITS, WORKER_REQUESTS, WORKER_LIMITS)
RESOURCE_PREFIXES = tuple(family.prefix for family in RESOURCE_FAMILIES)

#: Other spellings accepted on input (DRMAA2OS writes these); setters write the canonical key.
EXTENSION_ALIASES: Mapping[str, str] = {
    alias: row.key for row in EXTENSIONS for alias in row.aliases
}
#: Every fixed extension name the converter understands (families not included).
KNOWN_EXTENSIONS: frozenset[str] = frozenset(row.key for row in EXTENSIONS)


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
