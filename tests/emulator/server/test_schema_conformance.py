"""The emulator's MPIJob schema agrees with the upstream CRD on what it accepts and refuses.

The upstream CRD (reference data beside the repository, never copied into it)
is read from ``../shared/mpi-operator/``; its ``openAPIV3Schema`` judges each
MPIJob of the corpus with ``jsonschema`` and ``schema.validate_mpijob`` must
reach the same verdict on types, enums, patterns and required fields. Unknown
fields are accepted by both (the API server prunes them; so does the emulator).
JSON nulls are left out of the corpus: the API server drops them before
validation, which plain JSON Schema does not.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_mpi.testing.server.schema import validate_mpijob
from airflow_provider_mpi.testing.store import Invalid

CRD_PATH = (
    Path(__file__).parents[3].parent / "shared" / "mpi-operator" / "kubeflow.org_mpijobs.yaml"
)

pytestmark = pytest.mark.skipif(
    not CRD_PATH.exists(), reason=f"the upstream MPIJob CRD is not available at {CRD_PATH}"
)


def container(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "mpioperator/mpi-pi:openmpi", **extra}


def full_job() -> dict[str, Any]:
    launcher = container(
        "launcher",
        command=["mpirun", "-n", "2", "/home/mpiuser/pi"],
        args=["--verbose"],
        env=[
            {"name": "OMPI_MCA_btl", "value": "self,tcp"},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        resources={"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": 1}},
        securityContext={"runAsUser": 1000, "capabilities": {"drop": ["ALL"]}},
        volumeMounts=[{"name": "scratch", "mountPath": "/scratch", "readOnly": False}],
        ports=[{"containerPort": 2222, "protocol": "TCP"}],
        workingDir="/home/mpiuser",
        imagePullPolicy="IfNotPresent",
    )
    worker = container("worker", resources={"limits": {"nvidia.com/gpu": 1, "memory": "2.5Gi"}})
    template_meta = {"labels": {"app": "pi"}, "annotations": {"note": "x"}}
    return {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {"name": "pi", "namespace": "default", "labels": {"team": "hpc"}},
        "spec": {
            "slotsPerWorker": 2,
            "runLauncherAsWorker": False,
            "launcherCreationPolicy": "WaitForWorkersReady",
            "mpiImplementation": "Intel",
            "sshAuthMountPath": "/home/mpiuser/.ssh",
            "runPolicy": {
                "cleanPodPolicy": "Running",
                "ttlSecondsAfterFinished": 60,
                "activeDeadlineSeconds": 3600,
                "backoffLimit": 3,
                "suspend": True,
                "managedBy": "kubeflow.org/mpi-operator",
                "schedulingPolicy": {
                    "minAvailable": 3,
                    "queue": "default",
                    "minResources": {"cpu": "3"},
                    "priorityClass": "high",
                    "scheduleTimeoutSeconds": 30,
                },
            },
            "mpiReplicaSpecs": {
                "Launcher": {
                    "replicas": 1,
                    "restartPolicy": "OnFailure",
                    "template": {
                        "metadata": template_meta,
                        "spec": {
                            "containers": [launcher],
                            "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}],
                            "nodeSelector": {"kubernetes.io/arch": "amd64"},
                            "tolerations": [{"key": "gpu", "operator": "Exists"}],
                            "securityContext": {"fsGroup": 1000},
                            "serviceAccountName": "mpi",
                        },
                    },
                },
                "Worker": {
                    "replicas": 2,
                    "restartPolicy": "Never",
                    "template": {"spec": {"containers": [worker]}},
                },
            },
        },
        "status": {
            "conditions": [
                {
                    "type": "Created",
                    "status": "True",
                    "reason": "MPIJobCreated",
                    "message": "MPIJob default/pi is created.",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                    "lastUpdateTime": "2026-01-01T00:00:00Z",
                }
            ],
            "replicaStatuses": {"Launcher": {"active": 1}, "Worker": {"active": 2}},
            "startTime": "2026-01-01T00:00:00Z",
        },
    }


def edit(path: str, value: Any, *, delete: bool = False) -> dict[str, Any]:
    """A copy of ``full_job()`` with the dotted path set (list indices as numbers)."""
    job = full_job()
    parts = path.split(".")
    node: Any = job
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if delete:
        del node[last]
    else:
        node[last] = value
    return job


L = "spec.mpiReplicaSpecs.Launcher"
LC = f"{L}.template.spec.containers.0"

VALID: dict[str, dict[str, Any]] = {
    "full job": full_job(),
    "minimal": {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "spec": {"mpiReplicaSpecs": {}},
    },
    "OpenMPI": edit("spec.mpiImplementation", "OpenMPI"),
    "MPICH": edit("spec.mpiImplementation", "MPICH"),
    "condition Unknown": edit("status.conditions.0.status", "Unknown"),
    "condition False": edit("status.conditions.0.status", "False"),
    "unknown spec field": edit("spec.slotPerWorker", 4),
    "unknown container field": edit(f"{LC}.imagePullPolcy", "Always"),
    "unknown run policy field": edit("spec.runPolicy.cleanupPolicy", "All"),
    "quantity as integer": edit(f"{LC}.resources.limits.cpu", 2),
    "quantity with exponent": edit(f"{LC}.resources.limits.memory", "1e9"),
    "no status": edit("status", None, delete=True),
    "no run policy": edit("spec.runPolicy", None, delete=True),
    "empty containers list": edit(f"{L}.template.spec.containers", []),
}

INVALID: dict[str, dict[str, Any]] = {
    "mpiImplementation not in enum": edit("spec.mpiImplementation", "LAM"),
    "mpiImplementation wrong case": edit("spec.mpiImplementation", "openmpi"),
    "slotsPerWorker string": edit("spec.slotsPerWorker", "2"),
    "slotsPerWorker boolean": edit("spec.slotsPerWorker", True),
    "runLauncherAsWorker string": edit("spec.runLauncherAsWorker", "true"),
    "suspend string": edit("spec.runPolicy.suspend", "yes"),
    "backoffLimit string": edit("spec.runPolicy.backoffLimit", "6"),
    "ttl float": edit("spec.runPolicy.ttlSecondsAfterFinished", 1.5),
    "schedulingPolicy list": edit("spec.runPolicy.schedulingPolicy", ["queue"]),
    "replicas string": edit(f"{L}.replicas", "1"),
    "mpiReplicaSpecs list": edit("spec.mpiReplicaSpecs", [{"replicas": 1}]),
    "containers object": edit(f"{L}.template.spec.containers", {"name": "x"}),
    "image number": edit(f"{LC}.image", 5),
    "args numbers": edit(f"{LC}.args", [1, 2]),
    "env value number": edit(f"{LC}.env.0.value", 3),
    "env without name": edit(f"{LC}.env.0.name", None, delete=True),
    "container without name": edit(f"{LC}.name", None, delete=True),
    "cpu not a quantity": edit(f"{LC}.resources.limits.cpu", "lots"),
    "cpu boolean": edit(f"{LC}.resources.limits.cpu", True),
    "runAsUser string": edit(f"{LC}.securityContext.runAsUser", "0"),
    "template label number": edit(f"{L}.template.metadata.labels.app", 1),
    "emptyDir string": edit(f"{L}.template.spec.volumes.0.emptyDir", "tmpfs"),
    "condition status Maybe": edit("status.conditions.0.status", "Maybe"),
    "condition status boolean": edit("status.conditions.0.status", True),
    "condition without type": edit("status.conditions.0.type", None, delete=True),
    "replicaStatuses active string": edit("status.replicaStatuses.Worker.active", "2"),
    "spec without mpiReplicaSpecs": edit("spec.mpiReplicaSpecs", None, delete=True),
    "spec string": edit("spec", "run pi"),
}


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(CRD_PATH.read_text(), Loader=loader)
    return document


@pytest.fixture(scope="module")
def crd_validator(crd: dict[str, Any]) -> Any:
    import jsonschema

    return jsonschema.Draft4Validator(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def ours_accepts(job: dict[str, Any]) -> bool:
    try:
        validate_mpijob(copy.deepcopy(job))
    except Invalid:
        return False
    return True


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_corpus_agrees(crd_validator: Any, name: str) -> None:
    job = VALID[name]
    errors = [e.message for e in crd_validator.iter_errors(job)]
    assert errors == [], f"the corpus entry {name!r} is not valid upstream: {errors}"
    assert ours_accepts(job)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_corpus_agrees(crd_validator: Any, name: str) -> None:
    job = INVALID[name]
    assert list(crd_validator.iter_errors(job)), f"the corpus entry {name!r} is valid upstream"
    assert not ours_accepts(job)


def test_every_enum_of_the_crd_is_enforced(crd: dict[str, Any]) -> None:
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    enums = {}

    def walk(node: dict[str, Any], path: str) -> None:
        if "enum" in node:
            enums[path] = node["enum"]
        for key, child in (node.get("properties") or {}).items():
            walk(child, f"{path}.{key}" if path else key)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}{{}}")

    walk(schema, "")
    assert enums == {
        "spec.mpiImplementation": ["OpenMPI", "Intel", "MPICH"],
        "status.conditions[].status": ["True", "False", "Unknown"],
    }


def test_unknown_fields_are_pruned_and_defaults_filled() -> None:
    job = VALID["unknown spec field"]
    pruned, unknown = validate_mpijob(job)
    assert unknown == ["spec.slotPerWorker"]
    assert "slotPerWorker" not in pruned["spec"]
    minimal, _ = validate_mpijob(VALID["minimal"])
    assert minimal["spec"] == {
        "mpiReplicaSpecs": {},
        "launcherCreationPolicy": "AtStartup",
        "mpiImplementation": "OpenMPI",
        "runLauncherAsWorker": False,
        "slotsPerWorker": 1,
        "sshAuthMountPath": "/root/.ssh",
    }


def test_defaults_match_the_crd(crd: dict[str, Any]) -> None:
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    upstream = {k: v["default"] for k, v in spec["properties"].items() if "default" in v}
    ours, _ = validate_mpijob({"spec": {"mpiReplicaSpecs": {}}})
    assert {k: ours["spec"][k] for k in upstream} == upstream


def test_invalid_message_names_every_field() -> None:
    job = edit("spec.mpiImplementation", "LAM")
    job["spec"]["slotsPerWorker"] = "two"
    with pytest.raises(Invalid) as info:
        validate_mpijob(job)
    status = info.value.to_status()
    assert status["code"] == 422
    assert [c["field"] for c in status["details"]["causes"]] == [
        "spec.slotsPerWorker",
        "spec.mpiImplementation",
    ]
    assert status["message"].startswith('MPIJob.kubeflow.org "pi" is invalid: [spec.slotsPerWorker')
