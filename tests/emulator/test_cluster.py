"""MPICluster and the pytest fixture, through the real Kubernetes clients."""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from typing import Any

import kubernetes
import pytest
import yaml

from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.clock import ManualClock, RealClock
from airflow_provider_mpi.testing.cluster import ClusterNotRunningError, mpijob_crd
from tests.emulator.controller.test_controller import mpijob

GROUP, VERSION, PLURAL = "kubeflow.org", "v2beta1", "mpijobs"


pytestmark = pytest.mark.emulator_only("tests MPICluster itself (its store, clock and controllers)")


def conditions(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["type"], c["status"]) for c in (obj.get("status") or {}).get("conditions") or []]


def succeeded(cluster: MPICluster, name: str = "pi") -> bool:
    job = cluster.store.get("mpijobs", "default", name)
    return ("Succeeded", "True") in conditions(job)


@pytest.mark.mpi_cluster(clock=20.0)
def test_a_job_runs_to_success_through_the_official_client(mpi_cluster: MPICluster) -> None:
    assert isinstance(mpi_cluster.clock, RealClock)
    api = kubernetes.client.CustomObjectsApi(mpi_cluster.api_client())
    api.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, mpijob(script={"duration": "4", "log": "pi is 3.14"})
    )
    mpi_cluster.wait_for(lambda: succeeded(mpi_cluster), timeout=20)
    job = api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi")
    assert conditions(job) == [("Created", "True"), ("Running", "False"), ("Succeeded", "True")]
    core = kubernetes.client.CoreV1Api(mpi_cluster.api_client())
    pods = core.list_namespaced_pod(
        "default", label_selector="training.kubeflow.org/job-role=launcher"
    ).items
    assert [p.status.phase for p in pods] == ["Succeeded"]
    # kubernetes 36 returns repr(bytes) from read_namespaced_pod_log (client issue
    # #2596), so read the raw response as callers of that version must.
    response = core.read_namespaced_pod_log(
        pods[0].metadata.name, "default", container="launcher", _preload_content=False
    )
    assert response.data.decode() == "pi is 3.14\n"
    assert mpi_cluster.requests.count(resource="mpijobs") >= 2


@pytest.mark.mpi_cluster(clock="manual")
def test_a_manual_clock_steps_the_job_seen_through_http(mpi_cluster: MPICluster) -> None:
    assert isinstance(mpi_cluster.clock, ManualClock)
    api = kubernetes.client.CustomObjectsApi(mpi_cluster.api_client())
    api.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, mpijob(script={"duration": "30"})
    )
    mpi_cluster.advance(0)
    job = api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi")
    assert conditions(job) == [("Created", "True"), ("Running", "True")]
    mpi_cluster.advance(29)
    job = api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi")
    assert conditions(job)[-1] == ("Running", "True")
    mpi_cluster.advance(1)
    job = api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi")
    assert conditions(job)[-1] == ("Succeeded", "True")
    assert job["status"]["completionTime"] > job["status"]["startTime"]


async def test_the_async_client_as_context_manager_and_awaitable(
    mpi_cluster: MPICluster,
) -> None:
    from kubernetes_asyncio import client

    mpi_cluster.store.create("mpijobs", mpijob(script={"duration": "60"}))
    mpi_cluster.wait_for(lambda: len(mpi_cluster.store.list("pods", "default")[0]) == 3)
    async with mpi_cluster.async_api_client() as api:
        pods = await client.CoreV1Api(api).list_namespaced_pod("default")
        assert sorted(p.metadata.name for p in pods.items)[1:] == ["pi-worker-0", "pi-worker-1"]
    api = await mpi_cluster.async_api_client()
    try:
        job = await client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, "pi"
        )
        assert job["metadata"]["name"] == "pi"
    finally:
        await api.close()


def test_kubeconfig_names_server_token_and_namespace(
    mpi_cluster_factory: Any,
) -> None:
    cluster = mpi_cluster_factory(namespace="team-a", token="s3cret")
    with open(cluster.kubeconfig_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    context = config["contexts"][0]["context"]
    assert config["current-context"] == config["contexts"][0]["name"]
    assert config["clusters"][0]["cluster"]["server"] == cluster.url
    assert config["users"][0]["user"]["token"] == "s3cret"
    assert context["namespace"] == "team-a"
    assert cluster.store.get("namespaces", None, "team-a")
    assert cluster.url.startswith("https://127.0.0.1:")
    authority = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    assert authority == cluster.certificate_authority
    trust = ssl.create_default_context(cadata=authority.decode())
    request = urllib.request.Request(cluster.url + "/api/v1/namespaces")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5, context=trust)
    caught.value.close()
    assert caught.value.code == 401
    request.add_header("Authorization", "Bearer s3cret")
    with urllib.request.urlopen(request, timeout=5, context=trust) as response:
        assert response.status == 200


def test_plain_http_when_asked(mpi_cluster_factory: Any) -> None:
    cluster = mpi_cluster_factory(tls=False)
    assert cluster.url.startswith("http://127.0.0.1:")
    assert cluster.certificate_authority is None
    assert "certificate-authority-data" not in cluster.kubeconfig()["clusters"][0]["cluster"]
    core = kubernetes.client.CoreV1Api(cluster.api_client())
    assert "default" in [n.metadata.name for n in core.list_namespace().items]


def test_the_operator_crd_is_listed_when_installed(mpi_cluster_factory: Any) -> None:
    with_operator = mpi_cluster_factory()
    ext = kubernetes.client.ApiextensionsV1Api(with_operator.api_client())
    names = [crd.metadata.name for crd in ext.list_custom_resource_definition().items]
    assert names == ["mpijobs.kubeflow.org"]

    without = mpi_cluster_factory(operator_installed=False, clock="manual")
    ext = kubernetes.client.ApiextensionsV1Api(without.api_client())
    assert ext.list_custom_resource_definition().items == []
    # No operator: nothing reconciles an MPIJob stored anyway ...
    without.store.create("mpijobs", mpijob())
    without.advance(10)
    assert not without.store.get("mpijobs", "default", "pi").get("status")
    assert without.store.list("pods", "default")[0] == []
    # ... until the operator's CRD is installed through the API.
    crd = mpijob_crd()
    del crd["status"]
    ext.create_custom_resource_definition(crd)
    without.advance(0)
    assert conditions(without.store.get("mpijobs", "default", "pi"))[0] == ("Created", "True")
    without.install_operator()  # already there: nothing happens
    assert len(ext.list_custom_resource_definition().items) == 1


def test_install_operator_later(mpi_cluster_factory: Any) -> None:
    cluster = mpi_cluster_factory(operator_installed=False, clock="manual")
    cluster.store.create("mpijobs", mpijob())
    cluster.advance(1)
    assert not cluster.store.get("mpijobs", "default", "pi").get("status")
    cluster.install_operator()
    cluster.advance(0)
    assert conditions(cluster.store.get("mpijobs", "default", "pi"))[-1] == ("Running", "True")


def test_a_stopped_cluster_says_how_to_start_it() -> None:
    cluster = MPICluster()
    with pytest.raises(ClusterNotRunningError, match="with MPICluster"):
        _ = cluster.url
    with pytest.raises(ValueError, match="port must be"):
        MPICluster(port=70000)


def test_advance_needs_a_manual_clock(mpi_cluster: MPICluster) -> None:
    with pytest.raises(TypeError, match="ManualClock"):
        mpi_cluster.advance(1)


@pytest.mark.mpi_cluster(clock="manual")
def test_wait_for_gives_up(mpi_cluster: MPICluster) -> None:
    with pytest.raises(TimeoutError):
        mpi_cluster.wait_for(lambda: False, timeout=0.2)


def test_the_package_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, airflow_provider_mpi.testing, airflow_provider_mpi.testing.plugin;"
        "heavy = [m for m in ('aiohttp', 'kubernetes', 'airflow_provider_mpi.testing.server')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
