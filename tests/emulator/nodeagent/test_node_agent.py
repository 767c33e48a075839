"""The node agent against an in-memory API: nodes, leases, pod lives, deletion, restarts."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_mpi.testing.controller.scripts import ANNOTATION_PREFIX
from airflow_provider_mpi.testing.real.node_agent import NodeAgent
from tests.emulator.nodeagent.fakeapi import FakeAPI

JSONDict = dict[str, Any]
NODES = ("node-a", "node-b")


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def fake() -> FakeAPI:
    return FakeAPI()


def _start(fake: FakeAPI, **options: Any) -> Iterator[NodeAgent]:
    with NodeAgent(fake, nodes=NODES, lease_seconds=0.2, **options) as started:
        wait_for(lambda: fake.watching() == len(NODES))
        yield started
    assert started.errors == []


@pytest.fixture
def agent(fake: FakeAPI) -> Iterator[NodeAgent]:
    yield from _start(fake)


@pytest.fixture
def local_agent(fake: FakeAPI) -> Iterator[NodeAgent]:
    yield from _start(fake, local_exec=True)


def pod(name: str, node: str = "node-a", **extra: Any) -> JSONDict:
    annotations = {ANNOTATION_PREFIX + k: v for k, v in extra.pop("script", {}).items()}
    spec: JSONDict = {
        "nodeName": node,
        "restartPolicy": extra.pop("restart", "Never"),
        "containers": [{"name": "main", "image": "busybox", **extra.pop("container", {})}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "annotations": annotations,
            "labels": extra.pop("labels", {}),
        },
        "spec": spec,
    }


def phase(fake: FakeAPI, name: str) -> str | None:
    found = fake.pod("ns", name)
    return None if found is None else found["status"].get("phase")


def test_registers_ready_nodes_with_the_kubelet_port_and_renews_leases(
    fake: FakeAPI, agent: NodeAgent
) -> None:
    for node in NODES:
        stored = fake.objects[f"/api/v1/nodes/{node}"]
        status = stored["status"]
        assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
        assert status["addresses"] == [{"type": "InternalIP", "address": "127.0.0.1"}]
        assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == agent.port > 0
        assert status["allocatable"]["pods"] == "110"
        assert stored["metadata"]["labels"]["kubernetes.io/hostname"] == node
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-a"
    first = fake.objects[path]["spec"]["renewTime"]
    assert fake.objects[path]["spec"]["holderIdentity"] == "node-a"
    wait_for(lambda: fake.objects[path]["spec"]["renewTime"] != first)


def test_a_scripted_pod_runs_logs_and_fails_with_its_exit_code(
    fake: FakeAPI, agent: NodeAgent
) -> None:
    fake.add_pod(pod("p", script={"duration": "0.3", "exit-code": "3", "log": "one\ntwo"}))
    wait_for(lambda: phase(fake, "p") == "Running")
    wait_for(lambda: phase(fake, "p") == "Failed")
    status = fake.pod("ns", "p")["status"]  # type: ignore[index]
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
    assert status["hostIP"] == "127.0.0.1"
    assert status["podIP"].startswith("10.88.")
    assert status["qosClass"] == "BestEffort"  # kept: not the kubelet's field
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "PodFailed")
    lines, closed = agent.logs.read("ns", "p", "main")
    assert [text for _, text in lines] == ["one", "two"]
    assert closed
    reasons = [e["reason"] for e in fake.events()]
    assert reasons[-2:] == ["Created", "Started"]
    assert "Scheduled" not in reasons  # the real scheduler's event, not the kubelet's


def test_on_failure_restarts_the_container_in_place(fake: FakeAPI, agent: NodeAgent) -> None:
    fake.add_pod(pod("r", restart="OnFailure", script={"duration": "0", "exit-code": "1"}))

    def restarted() -> JSONDict | None:
        found = fake.pod("ns", "r")
        statuses = (found or {}).get("status", {}).get("containerStatuses") or [{}]
        return statuses[0] if statuses[0].get("restartCount") == 1 else None

    container = wait_for(restarted)
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert container["lastState"]["terminated"]["exitCode"] == 1
    assert phase(fake, "r") == "Running"  # restarting, not failed
    assert "BackOff" in [e["reason"] for e in fake.events()]


def test_a_graceful_deletion_reports_the_end_then_deletes_with_grace_zero(
    fake: FakeAPI, agent: NodeAgent
) -> None:
    fake.add_pod(pod("w", labels={"training.kubeflow.org/job-role": "worker"}))
    wait_for(lambda: phase(fake, "w") == "Running")
    fake.delete_pod("ns", "w", grace=30)
    wait_for(lambda: fake.pod("ns", "w") is None)
    status_writes = [i for i, c in enumerate(fake.calls) if c[0] == "PATCH" and "/pods/w/" in c[1]]
    deletes = [
        i for i, c in enumerate(fake.calls) if c == ("DELETE", "/api/v1/namespaces/ns/pods/w")
    ]
    assert len(deletes) == 2  # the user's, then the agent's with gracePeriodSeconds=0
    assert status_writes[-1] < deletes[-1]
    last = fake.history["/api/v1/namespaces/ns/pods/w"][-1]["status"]
    assert last["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 143
    assert agent.logs.read("ns", "w", "main") == ([], False)  # forgotten with the pod


def test_a_local_process_gets_sigterm_then_sigkill_after_the_grace_period(
    fake: FakeAPI, local_agent: NodeAgent
) -> None:
    agent = local_agent
    stubborn = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    stubborn += "print('up', flush=True)\ntime.sleep(60)\n"
    container = {"command": [sys.executable, "-c", stubborn]}
    labels = {"training.kubeflow.org/job-role": "launcher"}
    fake.add_pod(pod("l", container=container, labels=labels))
    wait_for(lambda: [t for _, t in agent.logs.read("ns", "l", "main")[0]] == ["up"])
    started = time.monotonic()
    fake.delete_pod("ns", "l", grace=1)
    wait_for(lambda: fake.pod("ns", "l") is None)
    assert time.monotonic() - started >= 1.0  # it waited out the grace period
    last = fake.history["/api/v1/namespaces/ns/pods/l"][-1]["status"]
    assert last["phase"] == "Failed"
    assert last["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137


def test_a_local_launcher_runs_its_command_and_exits_with_its_code(
    fake: FakeAPI, local_agent: NodeAgent
) -> None:
    agent = local_agent
    container = {"command": [sys.executable, "-c", "print('hi'); raise SystemExit(4)"]}
    labels = {"training.kubeflow.org/job-role": "launcher"}
    fake.add_pod(pod("x", container=container, labels=labels))
    wait_for(lambda: phase(fake, "x") == "Failed")
    status = fake.pod("ns", "x")["status"]  # type: ignore[index]
    assert status["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 4
    assert [t for _, t in agent.logs.read("ns", "x", "main")[0]] == ["hi"]


def test_a_launcher_starts_work_only_when_its_workers_run(fake: FakeAPI, agent: NodeAgent) -> None:
    job = {"training.kubeflow.org/job-name": "j"}
    script = {"worker-duration": "0.5", "duration": "0"}
    launcher = pod("j-launcher", labels={**job, "training.kubeflow.org/job-role": "launcher"})
    launcher["metadata"]["annotations"] = {ANNOTATION_PREFIX + k: v for k, v in script.items()}
    fake.add_pod(launcher)
    for i, node in enumerate(NODES):
        worker = pod(
            f"j-worker-{i}",
            node,
            script=script,
            labels={**job, "training.kubeflow.org/job-role": "worker"},
        )
        fake.add_pod(worker)
    wait_for(lambda: phase(fake, "j-launcher") == "Running")
    assert phase(fake, "j-worker-0") == "Pending"
    wait_for(lambda: phase(fake, "j-launcher") == "Succeeded")
    assert phase(fake, "j-worker-0") == phase(fake, "j-worker-1") == "Running"


def test_constructor_checks_its_arguments(fake: FakeAPI) -> None:
    with pytest.raises(ValueError, match="nodes must name at least one node"):
        NodeAgent(fake, nodes=())
    with pytest.raises(ValueError, match="tls_cert and tls_key go together"):
        NodeAgent(fake, tls_cert="/x.crt")


def test_a_pod_deleted_before_it_ran_is_deleted_without_a_status(
    fake: FakeAPI, agent: NodeAgent
) -> None:
    doomed = pod("d")
    doomed["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    doomed["metadata"]["deletionGracePeriodSeconds"] = 30
    fake.add_pod(doomed)
    wait_for(lambda: fake.pod("ns", "d") is None)
    assert not [c for c in fake.calls if c[0] == "PATCH" and "/pods/d/" in c[1]]
