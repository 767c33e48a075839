"""Kubernetes name rules and the MPI operator's own validation of an MPIJob.

A real API server prunes unknown fields silently and the MPI operator reports
its validation errors only as a Warning event (``ValidationError``), leaving
the job without any condition. So the converter checks everything itself,
before anything is sent: the name rules here (DNS-1035/1123, label keys and
values, environment variable names) and :func:`validate_mpi_job`, a pure
restatement of ``pkg/apis/kubeflow/validation`` of mpi-operator v0.8.2 that
the converter runs on every object it builds and the conformance tests run on
every manifest of the corpus.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ANNOTATIONS_MAX_BYTES",
    "CLEAN_POD_POLICIES",
    "DNS1035_LABEL_MAX",
    "MANAGED_BY_VALUES",
    "MPI_IMPLEMENTATIONS",
    "RESTART_POLICIES",
    "FieldViolation",
    "NameRule",
    "dns1035_label_error",
    "dns1123_label_error",
    "dns1123_subdomain_error",
    "env_var_name_error",
    "label_value_error",
    "max_worker_hostname",
    "qualified_name_error",
    "validate_mpi_job",
]

#: Kubernetes: the annotations of one object, keys and values, in bytes.
ANNOTATIONS_MAX_BYTES = 256 * 1024
#: The longest DNS-1035 label (and the longest label value).
DNS1035_LABEL_MAX = 63
_DNS1123_SUBDOMAIN_MAX = 253

MPI_IMPLEMENTATIONS = ("Intel", "MPICH", "OpenMPI")
CLEAN_POD_POLICIES = ("All", "None", "Running")
RESTART_POLICIES = ("Never", "OnFailure")
MANAGED_BY_VALUES = ("kubeflow.org/mpi-operator", "kueue.x-k8s.io/multikueue")

_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


@dataclasses.dataclass(frozen=True)
class FieldViolation:
    """One broken rule: where (a JSON path like ``spec.slotsPerWorker``), what, why."""

    path: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (value {self.value!r})"


def _not_a_string(value: object) -> str:
    return f"must be a string, not {type(value).__name__}"


class NameRule:
    """A Kubernetes name rule: a pattern, a length bound and the reason a value breaks it.

    Called with a candidate, it says why the candidate breaks the rule (None
    when it is valid), like the other ``*_error`` functions here.
    """

    def __init__(
        self, name: str, pattern: str, max_length: int | None, reason: str, used_for: str
    ) -> None:
        self.__name__ = self.__qualname__ = name
        self.pattern, self.max_length, self.reason = re.compile(pattern), max_length, reason
        self.__doc__ = (
            f"Say why ``value`` is not {used_for}.\n\nArgs:\n    value: the candidate.\n\n"
            "Returns:\n    None when valid, else the reason.\n"
        )

    def __call__(self, value: object) -> str | None:  # noqa: D102 - the rule's docstring
        if not isinstance(value, str):
            return _not_a_string(value)
        if self.max_length is not None and len(value) > self.max_length:
            return f"must be at most {self.max_length} characters (has {len(value)})"
        return None if self.pattern.fullmatch(value) else self.reason


dns1035_label_error = NameRule(
    "dns1035_label_error", r"[a-z]([-a-z0-9]*[a-z0-9])?", DNS1035_LABEL_MAX,
    "must consist of lower case letters, digits and '-', start with a letter "
    "and end with a letter or digit (DNS-1035 label)",
    "a DNS-1035 label (Service and MPIJob names)",
)  # fmt: skip
dns1123_label_error = NameRule(
    "dns1123_label_error", r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", DNS1035_LABEL_MAX,
    "must consist of lower case letters, digits and '-', and start and end "
    "with a letter or digit (DNS-1123 label)",
    "a DNS-1123 label (namespaces)",
)  # fmt: skip
dns1123_subdomain_error = NameRule(
    "dns1123_subdomain_error",
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", _DNS1123_SUBDOMAIN_MAX,
    "must consist of lower case letters, digits, '-' and '.', and start and "
    "end with a letter or digit (DNS-1123 subdomain)",
    "a DNS-1123 subdomain (ConfigMap, Secret, PVC names)",
)  # fmt: skip
label_value_error = NameRule(
    "label_value_error", r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", DNS1035_LABEL_MAX,
    "must be empty or consist of alphanumerics, '-', '_' or '.', and start "
    "and end with an alphanumeric",
    "a valid label value (empty is valid)",
)  # fmt: skip
env_var_name_error = NameRule(
    "env_var_name_error", r"[-._a-zA-Z][-._a-zA-Z0-9]*", None,
    "must consist of letters, digits, '_', '-' or '.', and not start with a digit",
    "a valid container environment variable name",
)  # fmt: skip


def qualified_name_error(value: object) -> str | None:
    """Say why ``value`` is not a qualified name (label/annotation keys, resource names).

    A qualified name is an optional DNS-1123 subdomain prefix and ``/``, then a
    name of at most 63 alphanumerics, ``-``, ``_`` and ``.``.

    Args:
        value: the candidate.

    Returns:
        None when valid, else the reason.
    """
    if not isinstance(value, str):
        return _not_a_string(value)
    prefix, slash, name = value.rpartition("/")
    if slash:
        if not prefix:
            return "the prefix before '/' must not be empty"
        if (error := dns1123_subdomain_error(prefix)) is not None:
            return "prefix " + error
    if not name:
        return "the name part must not be empty"
    if len(name) > DNS1035_LABEL_MAX:
        return f"the name part must be at most {DNS1035_LABEL_MAX} characters"
    if not _QUALIFIED_NAME.fullmatch(name):
        return (
            "the name part must consist of alphanumerics, '-', '_' or '.', and start "
            "and end with an alphanumeric"
        )
    return None


def max_worker_hostname(name: str, workers: int) -> str:
    """The longest pod hostname the operator derives from a job name.

    Args:
        name: the MPIJob name.
        workers: the number of worker replicas (at least 1 counts).

    Returns:
        ``<name>-worker-<workers-1>``, which must be a DNS-1035 label.
    """
    return f"{name}-worker-{max(workers, 1) - 1}"


def _one_of(path: str, value: object, choices: tuple[str, ...]) -> list[FieldViolation]:
    if value in choices:
        return []
    return [FieldViolation(path, value, f"must be one of {', '.join(choices)}")]


def _int_field(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _validate_replica_spec(spec: Any, path: str, *, launcher: bool) -> list[FieldViolation]:
    errors: list[FieldViolation] = []
    if not isinstance(spec, Mapping):
        return [FieldViolation(path, spec, "must be an object")]
    replicas = spec.get("replicas", 1 if launcher else 0)  # the operator's defaults
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        errors.append(FieldViolation(path + ".replicas", replicas, "must define replicas"))
    elif launcher and replicas != 1:
        errors.append(FieldViolation(path + ".replicas", replicas, "must be 1"))
    elif not launcher and replicas <= 0:
        errors.append(
            FieldViolation(path + ".replicas", replicas, "must be greater than or equal to 1")
        )
    restart = spec.get("restartPolicy") or ("OnFailure" if launcher else "Never")
    errors += _one_of(path + ".restartPolicy", restart, RESTART_POLICIES)
    template = spec.get("template")
    pod_spec = template.get("spec") if isinstance(template, Mapping) else None
    containers = pod_spec.get("containers") if isinstance(pod_spec, Mapping) else None
    if not containers:
        errors.append(
            FieldViolation(
                path + ".template.spec.containers", containers, "must define a container"
            )
        )
    return errors


def validate_mpi_job(mpijob: Mapping[str, Any]) -> list[FieldViolation]:
    """Apply the MPI operator's own validation rules to an MPIJob object.

    The rules are those the v0.8.2 controller checks after defaulting
    (``validation.ValidateMPIJob``); a real operator reports a violation only
    as a Warning event, so checking them here is the only way to fail early.
    Defaults are applied as the operator does (launcher 1 replica and
    ``OnFailure``, worker ``Never``, slots 1, ``/root/.ssh``, ``OpenMPI``,
    clean pod policy ``None``), so a field left out is not an error.

    Args:
        mpijob: the whole object (``metadata`` and ``spec``) as a dict.

    Returns:
        The violations, empty when the operator would accept the job.
    """
    errors: list[FieldViolation] = []
    metadata = mpijob.get("metadata") or {}
    spec = mpijob.get("spec")
    if not isinstance(spec, Mapping):
        return [FieldViolation("spec", spec, "must be an object")]
    replica_specs = spec.get("mpiReplicaSpecs")
    worker_replicas = 1
    if isinstance(replica_specs, Mapping):
        worker = replica_specs.get("Worker")
        if isinstance(worker, Mapping):
            replicas = _int_field(worker, "replicas")
            if replicas is not None and replicas > 0:
                worker_replicas = replicas
    name = metadata.get("name")
    if name is None and metadata.get("generateName"):
        name = str(metadata["generateName"]) + "x" * 5  # the server appends 5 characters
    if name is not None:
        hostname = max_worker_hostname(str(name), worker_replicas)
        if (error := dns1035_label_error(hostname)) is not None:
            errors.append(
                FieldViolation("metadata.name", name, f"pod hostname {hostname!r} {error}")
            )
    if not isinstance(replica_specs, Mapping):
        errors.append(FieldViolation("spec.mpiReplicaSpecs", replica_specs, "is required"))
    else:
        if "Launcher" not in replica_specs:
            errors.append(FieldViolation("spec.mpiReplicaSpecs[Launcher]", None, "is required"))
        else:
            errors += _validate_replica_spec(
                replica_specs["Launcher"], "spec.mpiReplicaSpecs[Launcher]", launcher=True
            )
        if replica_specs.get("Worker") is not None:
            errors += _validate_replica_spec(
                replica_specs["Worker"], "spec.mpiReplicaSpecs[Worker]", launcher=False
            )
    slots = spec.get("slotsPerWorker", 1)
    if not isinstance(slots, int) or isinstance(slots, bool) or slots < 0:
        errors.append(FieldViolation("spec.slotsPerWorker", slots, "must be a non-negative int"))
    if not spec.get("sshAuthMountPath", "/root/.ssh"):
        errors.append(FieldViolation("spec.sshAuthMountPath", "", "is required"))
    implementation = spec.get("mpiImplementation") or "OpenMPI"
    errors += _one_of("spec.mpiImplementation", implementation, MPI_IMPLEMENTATIONS)
    errors += _validate_run_policy(spec.get("runPolicy") or {})
    return errors


def _validate_run_policy(policy: Any) -> list[FieldViolation]:
    if not isinstance(policy, Mapping):
        return [FieldViolation("spec.runPolicy", policy, "must be an object")]
    errors: list[FieldViolation] = []
    clean = policy.get("cleanPodPolicy") or "None"
    errors += _one_of("spec.runPolicy.cleanPodPolicy", clean, CLEAN_POD_POLICIES)
    for key in ("ttlSecondsAfterFinished", "activeDeadlineSeconds", "backoffLimit"):
        value = policy.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            errors.append(
                FieldViolation(f"spec.runPolicy.{key}", value, "must be a non-negative int")
            )
    managed_by = policy.get("managedBy")
    if managed_by is not None:
        errors += _one_of("spec.runPolicy.managedBy", managed_by, MANAGED_BY_VALUES)
    return errors
