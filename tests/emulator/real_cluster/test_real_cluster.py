"""The real control plane itself: version, the kubeconfig's RBAC, the real operator at work.

Runs the real binaries (skipped, saying how to build them, when they are not
built). Without a node agent, pods stay Pending: what is checked here is what
the API server, the controllers and the operator do on their own.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from airflow_provider_mpi.testing.real import RealCluster
from airflow_provider_mpi.testing.real.access import PROVIDER_RULES
from airflow_provider_mpi.testing.real.rest import APIError, RestClient
from tests.emulator.real_cluster.conftest import wait_gone

pytestmark = [pytest.mark.timeout(1200), pytest.mark.usefixtures("machine")]


@pytest.fixture(scope="module")
def cluster(built_cache: Path, machine: None) -> Iterator[RealCluster]:
    with RealCluster(cache=built_cache, namespace="jobs", progress=print) as started:
        yield started


def _client(kubeconfig: str | Path) -> RestClient:
    """A client with the kubeconfig's token, trusting the CA the kubeconfig carries."""
    config = yaml.safe_load(Path(kubeconfig).read_text())
    cluster = config["clusters"][0]["cluster"]
    ca = Path(kubeconfig).with_name(Path(kubeconfig).name + ".ca.crt")
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    port = int(cluster["server"].rsplit(":", 1)[1])
    return RestClient(port, ca, token=config["users"][0]["user"]["token"])


def test_version_is_the_built_release(cluster):
    version = _client(cluster.kubeconfig_path).request("GET", "/version")
    assert version["gitVersion"] == "v1.35.4"
    assert (version["major"], version["minor"]) == ("1", "35")


def test_the_kubeconfig_is_a_namespaced_service_account_with_the_provider_verbs(cluster):
    client = _client(cluster.kubeconfig_path)
    review = client.request(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {"kind": "SelfSubjectRulesReview", "spec": {"namespace": "jobs"}},
    )
    granted = {
        (group, resource, verb)
        for rule in review["status"]["resourceRules"]
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }
    for rule in PROVIDER_RULES:
        for verb in rule["verbs"]:
            assert (rule["apiGroups"][0], rule["resources"][0], verb) in granted
    assert ("", "pods", "create") not in granted
    assert (
        client.request("GET", "/apis/kubeflow.org/v2beta1/namespaces/jobs/mpijobs")["items"] == []
    )
    for method, path in [
        ("GET", "/api/v1/namespaces/jobs/secrets"),
        ("GET", "/apis/kubeflow.org/v2beta1/namespaces/default/mpijobs"),
        ("GET", "/api/v1/nodes"),
        ("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"),
    ]:
        with pytest.raises(APIError) as refused:
            client.request(method, path)
        assert refused.value.status == 403, path
    crd = client.request(
        "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/mpijobs.kubeflow.org"
    )
    assert [v["name"] for v in crd["spec"]["versions"]] == ["v2beta1"]


def test_the_real_operator_reconciles_an_mpijob(cluster):
    client = _client(cluster.kubeconfig_path)
    container = {"name": "main", "image": "mpioperator/mpi-pi", "command": ["true"]}
    job = {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {"name": "pi"},
        "spec": {
            "slotsPerWorker": 1,
            "mpiReplicaSpecs": {
                "Launcher": {"replicas": 1, "template": {"spec": {"containers": [container]}}},
                "Worker": {"replicas": 2, "template": {"spec": {"containers": [container]}}},
            },
        },
    }
    client.request("POST", "/apis/kubeflow.org/v2beta1/namespaces/jobs/mpijobs", job)
    path = "/apis/kubeflow.org/v2beta1/namespaces/jobs/mpijobs/pi"

    def created() -> bool:
        status = client.request("GET", path).get("status") or {}
        return any(c["type"] == "Created" for c in status.get("conditions", []))

    cluster.wait_for(created, timeout=60)
    pods = client.request(
        "GET",
        "/api/v1/namespaces/jobs/pods",
        query={"labelSelector": "training.kubeflow.org/job-name=pi"},
    )["items"]
    names = sorted(p["metadata"]["name"] for p in pods)
    assert "pi-worker-0" in names
    assert "pi-worker-1" in names
    events = client.request("GET", "/api/v1/namespaces/jobs/events")["items"]
    assert any(e["reason"] == "MPIJobCreated" for e in events)


_STARTER = """
import json, sys, time
from pathlib import Path
from airflow_provider_mpi.testing.real import RealCluster
cluster = RealCluster(cache=Path(sys.argv[1])).start()
print(json.dumps(cluster.pids), flush=True)
time.sleep(600)
"""


def test_every_component_dies_when_the_parent_is_sigkilled(built_cache, cluster):
    cluster.stop()  # one operator at a time (its health port is fixed)
    parent = subprocess.Popen(
        [sys.executable, "-c", _STARTER, str(built_cache)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
        assert sorted(pids) == sorted(
            ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "mpi-operator"]
        )
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_gone(list(pids.values()), timeout=20) == []
    finally:
        parent.kill()
        parent.wait(10)
    cluster.start()


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_serve_real_writes_a_working_kubeconfig_and_stops_everything(
    built_cache, cluster, tmp_path, stop_with
):
    cluster.stop()
    kubeconfig = tmp_path / "real.yaml"
    env = {**os.environ, "MPI_REAL_CLUSTER_CACHE": str(built_cache)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_mpi.testing",
            "serve",
            "--real",
            "--kubeconfig",
            str(kubeconfig),
            "--namespace",
            "jobs",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 900  # another session's cluster may hold the machine
        while not kubeconfig.exists():
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "no kubeconfig within 900 s"
            time.sleep(0.2)
        client = _client(kubeconfig)
        # Written only once the CRD is served and the operator runs.
        assert (
            client.request("GET", "/apis/kubeflow.org/v2beta1/namespaces/jobs/mpijobs")["items"]
            == []
        )
        pids = [int(line) for line in _children(server.pid)]
        assert len(pids) == 5
        server.send_signal(stop_with)
        output, _ = server.communicate(timeout=60)
        assert server.returncode == 0, output
        assert "stop" in output
        assert wait_gone(pids, timeout=20) == []
    finally:
        server.kill()
        server.wait(10)
    cluster.start()


def _children(pid: int) -> list[str]:
    from tests.emulator.real_cluster.conftest import children_of

    return [str(child) for child in children_of(pid)]
