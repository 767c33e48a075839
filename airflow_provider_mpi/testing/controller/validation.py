"""The MPI operator's in-memory defaulting and its own validation.

The operator applies its defaults to a copy of the MPIJob on every sync (they
are never written back) and validates the result; errors end the sync with a
single Warning event ``ValidationError`` whose message lists them in the
format of Kubernetes field errors. Both steps are pure and live here.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from airflow_provider_mpi.testing.controller.meta import JSONDict
from airflow_provider_mpi.testing.store import copy_json

__all__ = [
    "CleanPodPolicy",
    "LauncherCreationPolicy",
    "MPIImplementation",
    "ReplicaType",
    "default_mpi_job",
    "truncate_message",
    "validate_mpi_job",
    "validation_message",
]

EVENT_MESSAGE_LIMIT = 1024
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_ERROR = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


class ReplicaType(str, Enum):
    """Keys of ``spec.mpiReplicaSpecs``."""

    LAUNCHER = "Launcher"
    WORKER = "Worker"


class CleanPodPolicy(str, Enum):
    """``spec.runPolicy.cleanPodPolicy``."""

    NONE = "None"
    RUNNING = "Running"
    ALL = "All"


class MPIImplementation(str, Enum):
    """``spec.mpiImplementation``."""

    OPENMPI = "OpenMPI"
    INTEL = "Intel"
    MPICH = "MPICH"


class LauncherCreationPolicy(str, Enum):
    """``spec.launcherCreationPolicy``."""

    AT_STARTUP = "AtStartup"
    WAIT_FOR_WORKERS_READY = "WaitForWorkersReady"


_RESTART_POLICIES = ("Never", "OnFailure")
_MANAGED_BY = ("kubeflow.org/mpi-operator", "kueue.x-k8s.io/multikueue")


def default_mpi_job(mpijob: JSONDict) -> JSONDict:
    """Return a copy of ``mpijob`` with the operator's defaults applied.

    Args:
        mpijob: The stored MPIJob.

    Returns:
        The defaulted copy (the argument is not changed).
    """
    job = copy_json(mpijob)
    spec = job.setdefault("spec", {})
    run_policy = spec.setdefault("runPolicy", {})
    run_policy.setdefault("cleanPodPolicy", CleanPodPolicy.NONE.value)
    spec.setdefault("slotsPerWorker", 1)
    if not spec.get("sshAuthMountPath"):
        spec["sshAuthMountPath"] = "/root/.ssh"
    if not spec.get("mpiImplementation"):
        spec["mpiImplementation"] = MPIImplementation.OPENMPI.value
    if not spec.get("launcherCreationPolicy"):
        spec["launcherCreationPolicy"] = LauncherCreationPolicy.AT_STARTUP.value
    replica_specs = spec.get("mpiReplicaSpecs") or {}
    launcher = replica_specs.get(ReplicaType.LAUNCHER.value)
    if isinstance(launcher, dict):
        if not launcher.get("restartPolicy"):
            launcher["restartPolicy"] = "OnFailure"
        launcher.setdefault("replicas", 1)
    worker = replica_specs.get(ReplicaType.WORKER.value)
    if isinstance(worker, dict):
        if not worker.get("restartPolicy"):
            worker["restartPolicy"] = "Never"
        worker.setdefault("replicas", 0)
    return job


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _required(path: str, detail: str) -> str:
    return f"{path}: Required value: {detail}"


def _invalid(path: str, value: Any, detail: str) -> str:
    return f"{path}: Invalid value: {_quote(value)}: {detail}"


def _not_supported(path: str, value: Any, supported: tuple[str, ...]) -> str:
    values = ", ".join(_quote(v) for v in sorted(supported))
    return f"{path}: Unsupported value: {_quote(value)}: supported values: {values}"


def _non_negative(path: str, value: Any) -> list[str]:
    if isinstance(value, int) and value < 0:
        return [_invalid(path, value, "must be greater than or equal to 0")]
    return []


def _replica_spec(spec: JSONDict, path: str) -> list[str]:
    errors: list[str] = []
    if spec.get("replicas") is None:
        errors.append(_required(f"{path}.replicas", "must define number of replicas"))
    if spec.get("restartPolicy") not in _RESTART_POLICIES:
        errors.append(
            _not_supported(
                f"{path}.restartPolicy", spec.get("restartPolicy", ""), _RESTART_POLICIES
            )
        )
    if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
        errors.append(
            _required(f"{path}.template.spec.containers", "must define at least one container")
        )
    return errors


def _name_errors(job: JSONDict) -> list[str]:
    name = job["metadata"]["name"]
    worker = (job["spec"].get("mpiReplicaSpecs") or {}).get(ReplicaType.WORKER.value)
    replicas = 1
    if (
        isinstance(worker, dict)
        and isinstance(worker.get("replicas"), int)
        and worker["replicas"] > 0
    ):
        replicas = worker["replicas"]
    hostname = f"{name}-worker-{replicas - 1}"
    problems = []
    if len(hostname) > 63:
        problems.append("must be no more than 63 characters")
    if not _DNS1035.match(hostname):
        problems.append(_DNS1035_ERROR)
    if not problems:
        return []
    detail = f"will not able to create pod and service with invalid DNS label {_quote(hostname)}: "
    return [_invalid("metadata.name", name, detail + ", ".join(problems))]


def validate_mpi_job(job: JSONDict) -> list[str]:
    """Validate a defaulted MPIJob as the operator does.

    Args:
        job: The output of :func:`default_mpi_job`.

    Returns:
        Field errors formatted as Kubernetes prints them; empty when valid.
    """
    errors = _name_errors(job)
    spec = job["spec"]
    path = "spec.mpiReplicaSpecs"
    replica_specs = spec.get("mpiReplicaSpecs")
    if not replica_specs:
        errors.append(_required(path, "must have replica specs"))
    else:
        launcher = replica_specs.get(ReplicaType.LAUNCHER.value)
        launcher_path = f"{path}[{ReplicaType.LAUNCHER.value}]"
        if not isinstance(launcher, dict):
            errors.append(_required(launcher_path, "must have Launcher replica spec"))
        else:
            errors += _replica_spec(launcher, launcher_path)
            if launcher.get("replicas") is not None and launcher["replicas"] != 1:
                errors.append(
                    _invalid(f"{launcher_path}.replicas", launcher["replicas"], "must be 1")
                )
        worker = replica_specs.get(ReplicaType.WORKER.value)
        worker_path = f"{path}[{ReplicaType.WORKER.value}]"
        if isinstance(worker, dict):
            errors += _replica_spec(worker, worker_path)
            replicas = worker.get("replicas")
            if isinstance(replicas, int) and replicas <= 0:
                errors.append(
                    _invalid(
                        f"{worker_path}.replicas", replicas, "must be greater than or equal to 1"
                    )
                )
    slots = spec.get("slotsPerWorker")
    errors += _non_negative("spec.slotsPerWorker", slots)
    run_policy = spec.get("runPolicy") or {}
    policy = run_policy.get("cleanPodPolicy")
    allowed = tuple(p.value for p in CleanPodPolicy)
    if policy not in allowed:
        errors.append(_not_supported("spec.runPolicy.cleanPodPolicy", policy, allowed))
    for name in ("ttlSecondsAfterFinished", "activeDeadlineSeconds", "backoffLimit"):
        errors += _non_negative(f"spec.runPolicy.{name}", run_policy.get(name))
    managed_by = run_policy.get("managedBy")
    if managed_by is not None and managed_by not in _MANAGED_BY:
        errors.append(_not_supported("spec.runPolicy.managedBy", managed_by, _MANAGED_BY))
    implementations = tuple(i.value for i in MPIImplementation)
    if spec.get("mpiImplementation") not in implementations:
        errors.append(
            _not_supported("spec.mpiImplementation", spec.get("mpiImplementation"), implementations)
        )
    return errors


def validation_message(errors: list[str]) -> str:
    """Format the ``ValidationError`` event message (truncated to 1024 characters).

    Args:
        errors: Output of :func:`validate_mpi_job` (not empty).

    Returns:
        ``"Found validation errors: ..."`` with one error, or ``[a, b]`` for several.
    """
    unique = list(dict.fromkeys(errors))
    body = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
    return truncate_message(f"Found validation errors: {body}")


def truncate_message(message: str) -> str:
    """Truncate an event message to the API limit as the operator does."""
    if len(message) <= EVENT_MESSAGE_LIMIT:
        return message
    return message[: EVENT_MESSAGE_LIMIT - 3] + "..."
