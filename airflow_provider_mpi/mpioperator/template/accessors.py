"""The public Go-named get/set functions and extension names, each bound to its table row.

Functions named like the Go ones (``SetWorkerImageExtension`` ->
:func:`set_worker_image_extension`), each taking and returning a JobTemplate:
a setter returns a new template and leaves its argument untouched; a getter
returns a typed value, the default when the extension is unset or empty, and
raises :class:`InvalidTemplateError` naming the extension and the value when
the string is malformed (the Go seed silently fell back to the default).
Each is one line here, made by its row of :mod:`.table`, which holds the
syntax, the default and the docstring.
"""

from __future__ import annotations

from airflow_provider_mpi.drmaa2 import JobTemplate
from airflow_provider_mpi.mpioperator.template import table as t
from airflow_provider_mpi.mpioperator.template.codecs import WORKER_COMMAND_SEPARATOR
from airflow_provider_mpi.mpioperator.template.values import Accelerator

__all__ = [
    "DEFAULT_SLOTS_PER_WORKER",
    "DEFAULT_SSH_MOUNT_PATH",
    "EXTENSION_ACCELERATOR",
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
    "RESOURCE_LIMIT_LAUNCHER_PREFIX",
    "RESOURCE_LIMIT_WORKER_PREFIX",
    "RESOURCE_REQUEST_LAUNCHER_PREFIX",
    "RESOURCE_REQUEST_WORKER_PREFIX",
    "WORKER_COMMAND_SEPARATOR",
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
    "get_launcher_resource_limit_extension",
    "get_launcher_resource_requests_extension",
    "get_mpi_implementation_extension",
    "get_namespace_extension",
    "get_node_selectors_extension",
    "get_priority_class_name_extension",
    "get_privileged_extension",
    "get_run_as_group_extension",
    "get_run_as_user_extension",
    "get_run_launcher_as_worker_extension",
    "get_scheduler_extension",
    "get_service_account_name_extension",
    "get_slots_per_worker_extension",
    "get_ssh_mount_path_extension",
    "get_ttl_seconds_after_finished_extension",
    "get_worker_command_extension",
    "get_worker_image_extension",
    "get_worker_resource_limit_extension",
    "get_worker_resource_requests_extension",
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
    "set_launcher_resource_limit_extension",
    "set_launcher_resource_requests_extension",
    "set_mpi_implementation_extension",
    "set_namespace_extension",
    "set_node_selectors_extension",
    "set_priority_class_name_extension",
    "set_privileged_extension",
    "set_run_as_group_extension",
    "set_run_as_user_extension",
    "set_run_launcher_as_worker_extension",
    "set_scheduler_extension",
    "set_service_account_name_extension",
    "set_slots_per_worker_extension",
    "set_ssh_mount_path_extension",
    "set_ttl_seconds_after_finished_extension",
    "set_worker_command_extension",
    "set_worker_image_extension",
    "set_worker_resource_limit_extension",
    "set_worker_resource_requests_extension",
]

# --------------------------------------------------------------------------- names
DEFAULT_SLOTS_PER_WORKER = t.SLOTS_PER_WORKER.default
DEFAULT_SSH_MOUNT_PATH = t.SSH_MOUNT_PATH.default
EXTENSION_WORKER_IMAGE = t.WORKER_IMAGE.key
EXTENSION_WORKER_COMMAND = t.WORKER_COMMAND.key
EXTENSION_SLOTS_PER_WORKER = t.SLOTS_PER_WORKER.key
EXTENSION_MPI_IMPLEMENTATION = t.MPI_IMPLEMENTATION.key
EXTENSION_SSH_MOUNT_PATH = t.SSH_MOUNT_PATH.key
EXTENSION_RUN_AS_USER = t.RUN_AS_USER.key
EXTENSION_NAMESPACE = t.NAMESPACE.key
EXTENSION_LABELS = t.LABELS.key
EXTENSION_ANNOTATIONS = t.ANNOTATIONS.key
EXTENSION_NODE_SELECTORS = t.NODE_SELECTORS.key
EXTENSION_KUEUE_QUEUE = t.KUEUE_QUEUE.key
EXTENSION_SERVICE_ACCOUNT_NAME = t.SERVICE_ACCOUNT_NAME.key
EXTENSION_SCHEDULER = t.SCHEDULER.key
EXTENSION_PRIORITY_CLASS_NAME = t.PRIORITY_CLASS_NAME.key
EXTENSION_IMAGE_PULL_SECRETS = t.IMAGE_PULL_SECRETS.key
EXTENSION_IMAGE_PULL_POLICY = t.IMAGE_PULL_POLICY.key
EXTENSION_PRIVILEGED = t.PRIVILEGED.key
EXTENSION_RUN_AS_GROUP = t.RUN_AS_GROUP.key
EXTENSION_FS_GROUP = t.FS_GROUP.key
EXTENSION_ENV_FROM_SECRET = t.ENV_FROM_SECRET.key
EXTENSION_ENV_FROM_CONFIGMAP = t.ENV_FROM_CONFIGMAP.key
EXTENSION_ACCELERATOR = t.ACCELERATOR.key
EXTENSION_DISTRIBUTION = t.DISTRIBUTION.key
EXTENSION_TTL_SECONDS_AFTER_FINISHED = t.TTL_SECONDS_AFTER_FINISHED.key
EXTENSION_BACKOFF_LIMIT = t.BACKOFF_LIMIT.key
EXTENSION_CLEAN_POD_POLICY = t.CLEAN_POD_POLICY.key
EXTENSION_LAUNCHER_CREATION_POLICY = t.LAUNCHER_CREATION_POLICY.key
EXTENSION_RUN_LAUNCHER_AS_WORKER = t.RUN_LAUNCHER_AS_WORKER.key
RESOURCE_REQUEST_LAUNCHER_PREFIX = t.LAUNCHER_REQUESTS.prefix
RESOURCE_LIMIT_LAUNCHER_PREFIX = t.LAUNCHER_LIMITS.prefix
RESOURCE_REQUEST_WORKER_PREFIX = t.WORKER_REQUESTS.prefix
RESOURCE_LIMIT_WORKER_PREFIX = t.WORKER_LIMITS.prefix

# --------------------------------------------------------------------------- functions
get_worker_image_extension = t.WORKER_IMAGE.getter()
set_worker_image_extension = t.WORKER_IMAGE.setter()
get_worker_command_extension = t.WORKER_COMMAND.getter()
get_slots_per_worker_extension = t.SLOTS_PER_WORKER.getter()
set_slots_per_worker_extension = t.SLOTS_PER_WORKER.setter()
get_mpi_implementation_extension = t.MPI_IMPLEMENTATION.getter()
set_mpi_implementation_extension = t.MPI_IMPLEMENTATION.setter()
get_ssh_mount_path_extension = t.SSH_MOUNT_PATH.getter()
set_ssh_mount_path_extension = t.SSH_MOUNT_PATH.setter()
get_run_as_user_extension = t.RUN_AS_USER.getter()
set_run_as_user_extension = t.RUN_AS_USER.setter()
get_namespace_extension = t.NAMESPACE.getter()
set_namespace_extension = t.NAMESPACE.setter()
get_labels_extension = t.LABELS.getter()
set_labels_extension = t.LABELS.setter()
get_annotations_extension = t.ANNOTATIONS.getter()
set_annotations_extension = t.ANNOTATIONS.setter()
get_node_selectors_extension = t.NODE_SELECTORS.getter()
set_node_selectors_extension = t.NODE_SELECTORS.setter()
get_kueue_queue_extension = t.KUEUE_QUEUE.getter()
set_kueue_queue_extension = t.KUEUE_QUEUE.setter()
get_service_account_name_extension = t.SERVICE_ACCOUNT_NAME.getter()
set_service_account_name_extension = t.SERVICE_ACCOUNT_NAME.setter()
get_scheduler_extension = t.SCHEDULER.getter()
set_scheduler_extension = t.SCHEDULER.setter()
get_priority_class_name_extension = t.PRIORITY_CLASS_NAME.getter()
set_priority_class_name_extension = t.PRIORITY_CLASS_NAME.setter()
get_image_pull_secrets_extension = t.IMAGE_PULL_SECRETS.getter()
set_image_pull_secrets_extension = t.IMAGE_PULL_SECRETS.setter()
get_image_pull_policy_extension = t.IMAGE_PULL_POLICY.getter()
set_image_pull_policy_extension = t.IMAGE_PULL_POLICY.setter()
get_privileged_extension = t.PRIVILEGED.getter()
set_privileged_extension = t.PRIVILEGED.setter()
get_run_as_group_extension = t.RUN_AS_GROUP.getter()
set_run_as_group_extension = t.RUN_AS_GROUP.setter()
get_fs_group_extension = t.FS_GROUP.getter()
set_fs_group_extension = t.FS_GROUP.setter()
get_env_from_secret_extension = t.ENV_FROM_SECRET.getter()
set_env_from_secret_extension = t.ENV_FROM_SECRET.setter()
get_env_from_configmap_extension = t.ENV_FROM_CONFIGMAP.getter()
set_env_from_configmap_extension = t.ENV_FROM_CONFIGMAP.setter()
get_accelerator_extension = t.ACCELERATOR.getter()
get_distribution_extension = t.DISTRIBUTION.getter()
set_distribution_extension = t.DISTRIBUTION.setter()
get_ttl_seconds_after_finished_extension = t.TTL_SECONDS_AFTER_FINISHED.getter()
set_ttl_seconds_after_finished_extension = t.TTL_SECONDS_AFTER_FINISHED.setter()
get_backoff_limit_extension = t.BACKOFF_LIMIT.getter()
set_backoff_limit_extension = t.BACKOFF_LIMIT.setter()
get_clean_pod_policy_extension = t.CLEAN_POD_POLICY.getter()
set_clean_pod_policy_extension = t.CLEAN_POD_POLICY.setter()
get_launcher_creation_policy_extension = t.LAUNCHER_CREATION_POLICY.getter()
set_launcher_creation_policy_extension = t.LAUNCHER_CREATION_POLICY.setter()
get_run_launcher_as_worker_extension = t.RUN_LAUNCHER_AS_WORKER.getter()
set_run_launcher_as_worker_extension = t.RUN_LAUNCHER_AS_WORKER.setter()
get_launcher_resource_requests_extension = t.LAUNCHER_REQUESTS.getter()
set_launcher_resource_requests_extension = t.LAUNCHER_REQUESTS.setter()
get_launcher_resource_limit_extension = t.LAUNCHER_LIMITS.getter()
set_launcher_resource_limit_extension = t.LAUNCHER_LIMITS.setter()
get_worker_resource_requests_extension = t.WORKER_REQUESTS.getter()
set_worker_resource_requests_extension = t.WORKER_REQUESTS.setter()
get_worker_resource_limit_extension = t.WORKER_LIMITS.getter()
set_worker_resource_limit_extension = t.WORKER_LIMITS.setter()


def set_worker_command_extension(jt: JobTemplate, *command: str) -> JobTemplate:
    """Set the workers' command and arguments (Go ``SetWorkerCommandExtension``).

    Stored joined by ``<!~!>``, as in Go. An empty first element keeps the
    image's entrypoint and passes the rest as arguments. No elements removes
    the extension (the image's entrypoint and arguments are used; the
    operator needs the workers to run sshd).

    Args:
        jt: the template, left untouched.
        *command: the command and its arguments.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: an element contains the separator ``<!~!>``.
    """
    return t.WORKER_COMMAND.set(jt, command)


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
    return t.ACCELERATOR.set(jt, Accelerator(count, gpu_type))
