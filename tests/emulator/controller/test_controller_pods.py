"""The kubelet stand-in: pod status shapes, restarts, bare pods, lost peers."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mpi.testing.controller.builders import qos_class
from tests.emulator.controller.test_controller import PREFIX, Emulator, emulator, mpijob

__all__ = ["emulator"]  # the fixture, re-exported for pytest


def bare_pod(name: str, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "default",
            "annotations": {PREFIX + k: v for k, v in (annotations or {}).items()},
        },
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}], **spec},
    }


def test_running_pod_status_has_the_kubelet_shape(emulator: Emulator) -> None:
    emulator.store.create("pods", bare_pod("web"))
    emulator.advance(0)
    status = emulator.store.get("pods", "default", "web")["status"]
    assert status["phase"] == "Running"
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [
        ("PodReadyToStartContainers", "True"),
        ("Initialized", "True"),
        ("Ready", "True"),
        ("ContainersReady", "True"),
        ("PodScheduled", "True"),
    ]
    (container,) = status["containerStatuses"]
    assert container["name"] == "main"
    assert container["image"] == "docker.io/library/busybox:1.36"
    assert container["ready"] is True
    assert container["state"] == {"running": {"startedAt": emulator.at(0)}}
    assert container["containerID"].startswith("containerd://")
    assert status["podIP"].startswith("10.244.")
    assert status["hostIP"].startswith("172.18.0.")
    # A bare pod without a duration runs until deleted.
    emulator.advance(3600)
    assert emulator.store.get("pods", "default", "web")["status"]["phase"] == "Running"


def test_a_bare_pod_with_a_script_ends_as_scripted(emulator: Emulator) -> None:
    emulator.store.create(
        "pods",
        bare_pod("once", {"duration": "2", "exit-code": "4", "log": "x"}, restartPolicy="Never"),
    )
    emulator.advance(2)
    pod = emulator.store.get("pods", "default", "once")
    assert pod["status"]["phase"] == "Failed"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (4, "Error")
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PodFailed")
    lines, closed = emulator.store.logs.read("default", "once", "main")
    assert [text for _, text in lines] == ["x"]
    assert closed


def test_on_failure_restarts_after_the_kubelet_backoff(emulator: Emulator) -> None:
    emulator.store.create(
        "pods",
        bare_pod(
            "crash", {"duration": "1", "exit-code": "1", "log": "boom"}, restartPolicy="OnFailure"
        ),
    )
    emulator.advance(1)
    status = emulator.store.get("pods", "default", "crash")["status"]
    (container,) = status["containerStatuses"]
    assert status["phase"] == "Running"
    assert container["restartCount"] == 1
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert container["lastState"]["terminated"]["exitCode"] == 1
    emulator.advance(10)  # back-off 10 s, then running again
    container = emulator.store.get("pods", "default", "crash")["status"]["containerStatuses"][0]
    assert container["state"] == {"running": {"startedAt": emulator.at(11)}}
    previous, _ = emulator.store.logs.read("default", "crash", "main", previous=True)
    assert [text for _, text in previous] == ["boom"]
    emulator.advance(1)  # fails again: the next back-off is 20 s
    container = emulator.store.get("pods", "default", "crash")["status"]["containerStatuses"][0]
    assert container["restartCount"] == 2
    assert "back-off 20s" in container["state"]["waiting"]["message"]


def test_an_invalid_script_is_reported_and_defaults_apply(emulator: Emulator) -> None:
    emulator.store.create("pods", bare_pod("odd", {"duration": "soon"}, restartPolicy="Never"))
    emulator.advance(1)
    assert emulator.store.get("pods", "default", "odd")["status"]["phase"] == "Succeeded"
    ((kind, _, message),) = [e for e in emulator.events("Pod") if e[1] == "InvalidScript"]
    assert kind == "Warning"
    assert f"{PREFIX}duration='soon'" in message


def test_deleting_a_worker_makes_mpirun_fail(emulator: Emulator) -> None:
    job = mpijob(script={"duration": "60"}, run_policy={"backoffLimit": 0})
    job["spec"]["mpiReplicaSpecs"]["Launcher"]["restartPolicy"] = "Never"
    emulator.store.create("mpijobs", job)
    emulator.advance(5)
    emulator.store.delete("pods", "default", "pi-worker-1")
    emulator.advance(0)
    (launcher,) = emulator.launcher_pods()
    assert launcher["status"]["phase"] == "Failed"
    lines, _ = emulator.store.logs.read("default", launcher["metadata"]["name"], "launcher")
    assert "lost communication" in lines[-1][1]
    assert emulator.conditions()[-1] == ("Failed", "True", "BackoffLimitExceeded/")
    # The operator recreated the deleted worker; cleanPodPolicy None keeps it.
    assert emulator.phases()["pi-worker-1"] == "Running"


def test_workers_are_spread_over_the_fake_nodes(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob(workers=8))
    emulator.advance(0)
    nodes = {p["spec"]["nodeName"] for n, p in emulator.pods().items() if "-worker-" in n}
    assert len(nodes) > 1
    assert nodes <= {"node-0", "node-1", "node-2", "node-3"}


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ([{}], "BestEffort"),
        ([{"requests": {"cpu": "1"}}], "Burstable"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
        (
            [{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}],
            "Guaranteed",
        ),
        (
            [{"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}],
            "Burstable",
        ),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}}, {}], "Burstable"),
    ],
)
def test_qos_class(resources: list[dict[str, Any]], qos: str) -> None:
    spec = {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]}
    assert qos_class(spec) == qos


@pytest.mark.parametrize(
    ("selector", "nodes"),
    [
        ({}, ["node-0", "node-1", "node-2", "node-3"]),
        ({"kubernetes.io/os": "linux"}, ["node-0", "node-1", "node-2", "node-3"]),
        ({"kubernetes.io/hostname": "node-2"}, ["node-2"]),
        ({"gpu": "a100"}, []),
    ],
)
def test_node_selector(emulator: Emulator, selector: dict[str, str], nodes: list[str]) -> None:
    emulator.store.create("pods", bare_pod("p", nodeSelector=selector))
    emulator.advance(1)
    pod = emulator.store.get("pods", "default", "p")
    if nodes:
        assert pod["spec"]["nodeName"] in nodes
        assert pod["status"]["phase"] == "Running"
    else:
        assert pod["status"]["phase"] == "Pending"
        (condition,) = pod["status"]["conditions"]
        assert condition["reason"] == "Unschedulable"
        assert "didn't match Pod's node affinity/selector" in condition["message"]
        assert [r for _, r, _ in emulator.events("Pod")] == ["FailedScheduling"]


def hostname_affinity(operator: str, *names: str) -> dict[str, Any]:
    expression = {"key": "kubernetes.io/hostname", "operator": operator, "values": list(names)}
    terms = [{"matchExpressions": [expression]}]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
        }
    }


@pytest.mark.parametrize(
    ("affinity", "nodes"),
    [
        (hostname_affinity("In", "node-1", "node-3"), {"node-1", "node-3"}),
        (hostname_affinity("NotIn", "node-0", "node-1", "node-2"), {"node-3"}),
        (hostname_affinity("In", "gpu-box"), set()),
    ],
)
def test_required_node_affinity(
    emulator: Emulator, affinity: dict[str, Any], nodes: set[str]
) -> None:
    emulator.store.create("pods", bare_pod("p", affinity=affinity))
    emulator.advance(1)
    pod = emulator.store.get("pods", "default", "p")
    if nodes:
        assert pod["spec"]["nodeName"] in nodes
    else:
        assert pod["status"]["phase"] == "Pending"
        assert "nodeName" not in pod["spec"]
