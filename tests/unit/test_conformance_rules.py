"""The MPI operator's own validation rules (v0.8.2) in validation.py, and the name rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_mpi.mpioperator.template.validation import (
    dns1035_label_error,
    dns1123_label_error,
    dns1123_subdomain_error,
    env_var_name_error,
    label_value_error,
    qualified_name_error,
    validate_mpi_job,
)

VALID: dict[str, Any] = {
    "metadata": {"name": "pi"},
    "spec": {
        "mpiReplicaSpecs": {
            "Launcher": {"template": {"spec": {"containers": [{"name": "l", "image": "i"}]}}},
            "Worker": {
                "replicas": 2,
                "template": {"spec": {"containers": [{"name": "w", "image": "i"}]}},
            },
        }
    },
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    job = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = job
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return job


def test_a_minimal_job_is_valid_after_the_operators_defaults() -> None:
    assert validate_mpi_job(VALID) == []


# (change, value, the violation's path): one per rule of validation.ValidateMPIJob
RULES = [
    ("metadata.name", "x" * 55, "metadata.name"),
    ("metadata.name", "1pi", "metadata.name"),
    ("spec.mpiReplicaSpecs", None, "spec.mpiReplicaSpecs"),
    ("spec.mpiReplicaSpecs.Launcher", None, "spec.mpiReplicaSpecs[Launcher]"),
    ("spec.mpiReplicaSpecs.Launcher.replicas", 2, "spec.mpiReplicaSpecs[Launcher].replicas"),
    ("spec.mpiReplicaSpecs.Worker.replicas", 0, "spec.mpiReplicaSpecs[Worker].replicas"),
    (
        "spec.mpiReplicaSpecs.Worker.restartPolicy",
        "Always",
        "spec.mpiReplicaSpecs[Worker].restartPolicy",
    ),
    (
        "spec.mpiReplicaSpecs.Launcher.restartPolicy",
        "ExitCode",
        "spec.mpiReplicaSpecs[Launcher].restartPolicy",
    ),
    (
        "spec.mpiReplicaSpecs.Worker.template",
        {},
        "spec.mpiReplicaSpecs[Worker].template.spec.containers",
    ),
    ("spec.slotsPerWorker", -1, "spec.slotsPerWorker"),
    ("spec.sshAuthMountPath", "", "spec.sshAuthMountPath"),
    ("spec.mpiImplementation", "LAM", "spec.mpiImplementation"),
    ("spec.runPolicy", {"cleanPodPolicy": "Sometimes"}, "spec.runPolicy.cleanPodPolicy"),
    ("spec.runPolicy", {"backoffLimit": -1}, "spec.runPolicy.backoffLimit"),
    ("spec.runPolicy", {"ttlSecondsAfterFinished": -1}, "spec.runPolicy.ttlSecondsAfterFinished"),
    ("spec.runPolicy", {"activeDeadlineSeconds": -1}, "spec.runPolicy.activeDeadlineSeconds"),
    ("spec.runPolicy", {"managedBy": "someone"}, "spec.runPolicy.managedBy"),
]


@pytest.mark.parametrize(
    ("path", "value", "violation"), RULES, ids=[f"{p}={v!r}"[:40] for p, v, _ in RULES]
)
def test_each_rule_is_enforced(path: str, value: Any, violation: str) -> None:
    assert [v.path for v in validate_mpi_job(with_change(path, value))] == [violation]


def test_the_hostname_rule_uses_the_worker_count() -> None:
    job = with_change("metadata.name", "a" * 54)
    job["spec"]["mpiReplicaSpecs"]["Worker"]["replicas"] = 10  # a*54 + "-worker-9" = 63
    assert validate_mpi_job(job) == []
    job["spec"]["mpiReplicaSpecs"]["Worker"]["replicas"] = 11  # "-worker-10" = 64
    assert [v.path for v in validate_mpi_job(job)] == ["metadata.name"]


def test_generate_name_counts_the_server_suffix() -> None:
    job = copy.deepcopy(VALID)
    job["metadata"] = {"generateName": "x" * 50 + "-"}
    assert [v.path for v in validate_mpi_job(job)] == ["metadata.name"]


NAMES = [
    (dns1035_label_error, "pi", True),
    (dns1035_label_error, "pi-2", True),
    (dns1035_label_error, "2pi", False),
    (dns1035_label_error, "pi-", False),
    (dns1035_label_error, "Pi", False),
    (dns1035_label_error, "a" * 64, False),
    (dns1123_label_error, "2pi", True),
    (dns1123_label_error, "a.b", False),
    (dns1123_subdomain_error, "a.b-c", True),
    (dns1123_subdomain_error, "a..b", False),
    (qualified_name_error, "kueue.x-k8s.io/queue-name", True),
    (qualified_name_error, "nvidia.com/gpu", True),
    (qualified_name_error, "/x", False),
    (qualified_name_error, "a/b/c", False),
    (qualified_name_error, "Under_Score.ok", True),
    (label_value_error, "", True),
    (label_value_error, "a b", False),
    (label_value_error, "x" * 64, False),
    (env_var_name_error, "TASK_ID", True),
    (env_var_name_error, "my.var-1", True),
    (env_var_name_error, "1ABC", False),
    (env_var_name_error, "A=B", False),
]


@pytest.mark.parametrize(
    ("check", "value", "valid"), NAMES, ids=[f"{c.__name__}-{v[:10]}" for c, v, _ in NAMES]
)
def test_name_rules(check: Any, value: str, valid: bool) -> None:
    assert (check(value) is None) is valid
