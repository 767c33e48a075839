"""The launcher and worker pod templates of an MPIJob, built from a JobTemplate.

Split from :mod:`.convert` so that each module stays small: this one knows the
pod-level mapping (containers, environment, resources, security context,
placement, volumes) and which JobTemplate fields no MPIJob can honour; the
converter assembles the MPIJob around it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate, UnsupportedAttributeError
from airflow_provider_mpi.drmaa2.template import JOB_TEMPLATE_FIELDS
from airflow_provider_mpi.mpioperator.names import (
    ARCH_LABEL,
    GKE_ACCELERATOR_LABEL,
    HOSTNAME_LABEL,
    OS_LABEL,
)
from airflow_provider_mpi.mpioperator.template import table as t
from airflow_provider_mpi.mpioperator.template.quantity import parse_quantity
from airflow_provider_mpi.mpioperator.template.settings import TemplateSettings
from airflow_provider_mpi.mpioperator.template.validation import (
    env_var_name_error,
    label_value_error,
)
from airflow_provider_mpi.mpioperator.template.values import GPU_RESOURCE, Distribution
from airflow_provider_mpi.mpioperator.template.volumes import get_volume_mounts, pod_volumes

__all__ = [
    "MACHINE_ARCHES",
    "MACHINE_OSES",
    "UNSUPPORTED_FIELDS",
    "build_pod_templates",
    "check_template_fields",
]

#: DRMAA2 ``machine_os`` values (Go ``drmaa2interface.OS`` names, any case) -> ``kubernetes.io/os``.
MACHINE_OSES: Mapping[str, str] = {
    "linux": "linux",
    "win": "windows",
    "winnt": "windows",
    "windows": "windows",
}
#: DRMAA2 ``machine_arch`` values (Go ``drmaa2interface.CPU`` names or Kubernetes names, any case)
#: -> ``kubernetes.io/arch``.
MACHINE_ARCHES: Mapping[str, str] = {
    "x64": "amd64",
    "amd64": "amd64",
    "x86": "386",
    "386": "386",
    "arm64": "arm64",
    "arm": "arm",
    "powerpc64": "ppc64le",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "mips64": "mips64le",
    "mips64le": "mips64le",
}
#: Fields an MPIJob cannot honour, with the reason given in the error.
UNSUPPORTED_FIELDS: Mapping[str, str] = {
    "email": "Kubernetes sends no mail; use Airflow's notifications",
    "email_on_started": "Kubernetes sends no mail; use Airflow's notifications",
    "email_on_terminated": "Kubernetes sends no mail; use Airflow's notifications",
    "input_path": "container stdin cannot be fed from a file; stage data with stage_in_files",
    "output_path": "output is the launcher's container log (job output), not a file",
    "error_path": "errors are in the launcher's container log (job output), not a file",
    "reservation_id": "Kubernetes has no advance reservations",
    "start_time": "an MPIJob starts when created; schedule the task in Airflow instead",
    "stage_out_files": "mount a volume with stage_in_files and write to it instead",
    "resource_limits": "DRMAA2 resource limits have no pod equivalent; use deadline_time and "
    "the resourceLimit* extensions",
    "priority": "use the priorityClassName extension (a PriorityClass name)",
}
_PYTHON_TYPES: Mapping[str, tuple[type, ...]] = {
    "STR": (str,),
    "BOOL": (bool,),
    "INT": (int,),
    "STR_LIST": (list, tuple),
    "STR_MAP": (dict,),
    "TIME": (datetime, type(None)),
}


def check_template_fields(jt: JobTemplate) -> None:
    """Check field types and reject the fields an MPIJob cannot honour.

    Args:
        jt: the template.

    Raises:
        InvalidTemplateError: a field holds a value of the wrong type.
        UnsupportedAttributeError: an unsupported field is set (see :data:`UNSUPPORTED_FIELDS`).
    """
    for field in JOB_TEMPLATE_FIELDS:
        value = getattr(jt, field.name)
        expected = _PYTHON_TYPES.get(field.kind.name)
        bad_bool = field.kind.name == "INT" and isinstance(value, bool)
        if expected is not None and (not isinstance(value, expected) or bad_bool):
            raise InvalidTemplateError(field.name, value, f"must be {field.kind.value}")
        if field.kind.name == "STR_LIST" and not all(isinstance(v, str) for v in value):
            raise InvalidTemplateError(field.name, value, "must be a list of strings")
        if field.kind.name == "STR_MAP" and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise InvalidTemplateError(field.name, value, "must map strings to strings")
    if not isinstance(jt.extension_list, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in jt.extension_list.items()
    ):
        raise InvalidTemplateError(
            "extension_list", jt.extension_list, "must map strings to strings"
        )
    for name, reason in UNSUPPORTED_FIELDS.items():
        value = getattr(jt, name)
        if value:
            raise UnsupportedAttributeError(name, value, reason)
    if not jt.job_category:
        raise InvalidTemplateError(
            "job_category", jt.job_category, "required: it names the launcher's container image"
        )
    if jt.job_category != jt.job_category.strip() or any(c.isspace() for c in jt.job_category):
        raise InvalidTemplateError(
            "job_category", jt.job_category, "an image name has no whitespace"
        )


def _environment(jt: JobTemplate) -> list[dict[str, str]]:
    env = []
    for name in sorted(jt.job_environment):
        if (error := env_var_name_error(name)) is not None:
            raise InvalidTemplateError("job_environment", name, error)
        env.append({"name": name, "value": jt.job_environment[name]})
    return env


def _env_from(settings: TemplateSettings) -> list[dict[str, Any]]:
    sources: list[dict[str, Any]] = [
        {"configMapRef": {"name": name}} for name in settings[t.ENV_FROM_CONFIGMAP]
    ]
    sources += [{"secretRef": {"name": name}} for name in settings[t.ENV_FROM_SECRET]]
    return sources


def _resources(
    requests: Mapping[str, str], limits: Mapping[str, str], request_prefix: str, limit_prefix: str
) -> dict[str, dict[str, str]]:
    for resource, amount in requests.items():
        limit = limits.get(resource)
        extended = "/" in resource and not resource.split("/")[0].endswith("kubernetes.io")
        if extended and (limit is None or parse_quantity(limit) != parse_quantity(amount)):
            raise InvalidTemplateError(
                request_prefix + resource, amount, "an extended resource needs an equal limit"
            )
        if limit is not None and parse_quantity(amount) > parse_quantity(limit):
            raise InvalidTemplateError(
                request_prefix + resource, amount, f"must not exceed the limit {limit!r}"
            )
    for resource, amount in limits.items():
        extended = "/" in resource and not resource.split("/")[0].endswith("kubernetes.io")
        if extended and parse_quantity(amount) != int(parse_quantity(amount)):
            raise InvalidTemplateError(limit_prefix + resource, amount, "must be a whole number")
    result: dict[str, dict[str, str]] = {}
    if requests:
        result["requests"] = dict(sorted(requests.items()))
    if limits:
        result["limits"] = dict(sorted(limits.items()))
    return result


def _worker_resources(
    jt: JobTemplate, settings: TemplateSettings
) -> tuple[dict[str, str], dict[str, str]]:
    requests = settings.resources(t.WORKER_REQUESTS)
    limits = settings.resources(t.WORKER_LIMITS)
    if jt.min_phys_memory < 0:
        raise InvalidTemplateError("min_phys_memory", jt.min_phys_memory, "must not be negative")
    if jt.min_phys_memory:
        if "memory" in requests:
            raise InvalidTemplateError(
                "min_phys_memory",
                jt.min_phys_memory,
                f"conflicts with {t.WORKER_REQUESTS.prefix}memory; set one of them",
            )
        requests["memory"] = f"{jt.min_phys_memory}Ki"
    return requests, limits


def _placement(
    jt: JobTemplate, settings: TemplateSettings
) -> tuple[dict[str, str], dict[str, Any] | None]:
    selector = settings[t.NODE_SELECTORS]
    for field, value, table, label in (
        ("machine_os", jt.machine_os, MACHINE_OSES, OS_LABEL),
        ("machine_arch", jt.machine_arch, MACHINE_ARCHES, ARCH_LABEL),
    ):
        if not value:
            continue
        mapped = table.get(value.lower())
        if mapped is None:
            raise UnsupportedAttributeError(
                field, value, f"Kubernetes nodes are one of {', '.join(sorted(set(table)))}"
            )
        if selector.get(label, mapped) != mapped:
            raise InvalidTemplateError(
                field, value, f"conflicts with node-selectors {label}={selector[label]}"
            )
        selector[label] = mapped
    affinity = None
    if jt.candidate_machines:
        for machine in jt.candidate_machines:
            error = label_value_error(machine) if machine else "must not be empty"
            if error is not None:
                raise InvalidTemplateError("candidate_machines", machine, error)
        expression = {
            "key": HOSTNAME_LABEL,
            "operator": "In",
            "values": sorted(set(jt.candidate_machines)),
        }
        affinity = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [expression]}]
                }
            }
        }
    return dict(sorted(selector.items())), affinity


def _container(
    name: str, image: str, jt: JobTemplate, settings: TemplateSettings, resources: dict[str, Any]
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": name, "image": image}
    if jt.working_directory:
        container["workingDir"] = jt.working_directory
    if env := _environment(jt):
        container["env"] = env
    if env_from := _env_from(settings):
        container["envFrom"] = env_from
    if resources:
        container["resources"] = resources
    security: dict[str, Any] = {}
    if (uid := settings[t.RUN_AS_USER]) is not None:
        security["runAsUser"] = uid
    if (gid := settings[t.RUN_AS_GROUP]) is not None:
        security["runAsGroup"] = gid
    if settings[t.PRIVILEGED]:
        security["privileged"] = True
    if security:
        container["securityContext"] = security
    if (pull_policy := settings[t.IMAGE_PULL_POLICY]) is not None:
        container["imagePullPolicy"] = pull_policy.value
    return container


def _pod_spec(
    jt: JobTemplate,
    settings: TemplateSettings,
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": [container]}
    if volumes:
        pod["volumes"] = volumes
    node_selector, affinity = _placement(jt, settings)
    if node_selector:
        pod["nodeSelector"] = node_selector
    if affinity:
        pod["affinity"] = affinity
    if secrets := settings[t.IMAGE_PULL_SECRETS]:
        pod["imagePullSecrets"] = [{"name": name} for name in secrets]
    if account := settings[t.SERVICE_ACCOUNT_NAME]:
        pod["serviceAccountName"] = account
    if scheduler := settings[t.SCHEDULER]:
        pod["schedulerName"] = scheduler
    if priority_class := settings[t.PRIORITY_CLASS_NAME]:
        pod["priorityClassName"] = priority_class
    if (fs_group := settings[t.FS_GROUP]) is not None:
        pod["securityContext"] = {"fsGroup": fs_group}
    return pod


def _add_accelerator(settings: TemplateSettings, pod: dict[str, Any], limits_prefix: str) -> None:
    accelerator = settings[t.ACCELERATOR]
    distribution = settings[t.DISTRIBUTION]
    if accelerator is None:
        return
    container = pod["containers"][0]
    resources = container.setdefault("resources", {})
    limits = resources.setdefault("limits", {})
    if GPU_RESOURCE in limits and parse_quantity(limits[GPU_RESOURCE]) != accelerator.count:
        raise InvalidTemplateError(
            "extension_list['accelerator']",
            str(accelerator),
            f"conflicts with {limits_prefix}{GPU_RESOURCE}",
        )
    limits[GPU_RESOURCE] = str(accelerator.count)
    resources["limits"] = dict(sorted(limits.items()))
    if distribution is Distribution.GKE:
        selector = pod.setdefault("nodeSelector", {})
        if selector.get(GKE_ACCELERATOR_LABEL, accelerator.gpu_type) != accelerator.gpu_type:
            raise InvalidTemplateError(
                "extension_list['accelerator']",
                str(accelerator),
                f"conflicts with node-selectors {GKE_ACCELERATOR_LABEL}="
                f"{selector[GKE_ACCELERATOR_LABEL]}",
            )
        selector[GKE_ACCELERATOR_LABEL] = accelerator.gpu_type
        pod["nodeSelector"] = dict(sorted(selector.items()))
    elif distribution is Distribution.AKS:
        pod.setdefault("tolerations", []).append(
            {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
        )


def build_pod_templates(
    jt: JobTemplate, settings: TemplateSettings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build the launcher and worker pod templates.

    Args:
        jt: the template (fields already checked by :func:`check_template_fields`).
        settings: its extensions, parsed once.

    Returns:
        ``(launcher_template, worker_template)``, each ``{"spec": {...}}``.

    Raises:
        InvalidTemplateError: a malformed value.
        UnsupportedAttributeError: a machine OS or architecture Kubernetes lacks.
    """
    mounts = get_volume_mounts(jt)

    launcher = _container(
        "launcher",
        jt.job_category,
        jt,
        settings,
        _resources(
            settings.resources(t.LAUNCHER_REQUESTS),
            settings.resources(t.LAUNCHER_LIMITS),
            t.LAUNCHER_REQUESTS.prefix,
            t.LAUNCHER_LIMITS.prefix,
        ),
    )
    if jt.remote_command:
        launcher["command"] = [jt.remote_command]
    if jt.args:
        launcher["args"] = list(jt.args)

    worker_image = settings[t.WORKER_IMAGE]
    if worker_image is not None and any(c.isspace() for c in worker_image):
        raise InvalidTemplateError(
            f"extension_list[{t.WORKER_IMAGE.key!r}]",
            worker_image,
            "an image name has no whitespace",
        )
    worker_requests, worker_limits = _worker_resources(jt, settings)
    worker = _container(
        "worker",
        worker_image or jt.job_category,
        jt,
        settings,
        _resources(
            worker_requests, worker_limits, t.WORKER_REQUESTS.prefix, t.WORKER_LIMITS.prefix
        ),
    )
    worker_command = settings[t.WORKER_COMMAND]
    if worker_command is not None:
        # An empty first element keeps the image's entrypoint (the seed's rule).
        if worker_command[0]:
            worker["command"] = worker_command[:1]
        if len(worker_command) > 1:
            worker["args"] = worker_command[1:]

    volumes, volume_mounts = pod_volumes(mounts, ssh_mount_path=settings[t.SSH_MOUNT_PATH])
    if volume_mounts:
        launcher["volumeMounts"] = copy.deepcopy(volume_mounts)
        worker["volumeMounts"] = copy.deepcopy(volume_mounts)
    launcher_volumes, worker_volumes = copy.deepcopy(volumes), copy.deepcopy(volumes)
    launcher_pod = _pod_spec(jt, settings, launcher, launcher_volumes)
    worker_pod = _pod_spec(jt, settings, worker, worker_volumes)
    _add_accelerator(settings, worker_pod, t.WORKER_LIMITS.prefix)
    if settings[t.RUN_LAUNCHER_AS_WORKER]:
        _add_accelerator(settings, launcher_pod, t.LAUNCHER_LIMITS.prefix)
    return {"spec": launcher_pod}, {"spec": worker_pod}
