"""MPIJobs are served only while their CRD serves them, as on a real API server.

A cluster without the MPI operator (``MPICluster(operator_installed=False)``)
answers every mpijobs path with 404 and leaves ``kubeflow.org`` out of
discovery; creating the CRD (through the API, ``kubectl apply --server-side``
or ``install_operator()``) serves them; ``served: false`` hides the version;
deleting the CRD deletes every MPIJob and stops serving them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from airflow_provider_mpi.drmaa2 import BackendError
from airflow_provider_mpi.mpioperator.tracker.sync import MPIOperatorTracker
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.cluster import mpijob_crd
from airflow_provider_mpi.testing.server.routing import crd_served_versions

GROUP, VERSION, PLURAL = "kubeflow.org", "v2beta1", "mpijobs"
CRD_NAME = "mpijobs.kubeflow.org"
KUBECTL = shutil.which("kubectl")
UPSTREAM_CRD = (
    Path(__file__).parents[3].parent / "shared" / "mpi-operator" / "kubeflow.org_mpijobs.yaml"
)
NOT_FOUND = "the server could not find the requested resource"


def mpijob(name: str = "pi") -> dict[str, Any]:
    container = {"name": "c", "image": "mpioperator/mpi-pi:openmpi"}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MPIJob",
        "metadata": {"name": name},
        "spec": {
            "mpiReplicaSpecs": {
                "Launcher": {"replicas": 1, "template": {"spec": {"containers": [container]}}},
                "Worker": {"replicas": 1, "template": {"spec": {"containers": [container]}}},
            }
        },
    }


def new_crd() -> dict[str, Any]:
    """The CRD as a client sends it (the server writes the status)."""
    crd = mpijob_crd()
    del crd["status"]
    return crd


@pytest.fixture
def bare(mpi_cluster_factory: Callable[..., MPICluster]) -> MPICluster:
    """A running cluster without the MPI operator, on a hand-stepped clock."""
    return mpi_cluster_factory(operator_installed=False, clock="manual")


def get(cluster: MPICluster, path: str) -> tuple[int, Any]:
    """GET a path with the official client; returns (status, decoded body)."""
    client = cluster.api_client()
    try:
        response = client.call_api(
            path, "GET", auth_settings=["BearerToken"], _preload_content=False
        )
    except ApiException as exc:
        return int(exc.status), json.loads(exc.body)
    return int(response.status), json.loads(response.data)


def assert_not_served(cluster: MPICluster) -> None:
    custom = kubernetes.client.CustomObjectsApi(cluster.api_client())
    calls: list[Callable[[], Any]] = [
        lambda: custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL),
        lambda: custom.list_cluster_custom_object(GROUP, VERSION, PLURAL),
        lambda: custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi"),
        lambda: custom.get_namespaced_custom_object_status(GROUP, VERSION, "default", PLURAL, "pi"),
        lambda: custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob()),
        lambda: custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi"),
        lambda: custom.list_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, watch=True, _preload_content=False
        ),
    ]
    for call in calls:
        with pytest.raises(ApiException) as caught:
            call()
        assert caught.value.status == 404
        status = json.loads(caught.value.body)
        assert (status["kind"], status["reason"], status["message"]) == (
            "Status",
            "NotFound",
            NOT_FOUND,
        )
    groups = kubernetes.client.ApisApi(cluster.api_client()).get_api_versions().groups
    assert GROUP not in [g.name for g in groups]
    assert "batch" in [g.name for g in groups]
    for path in (
        f"/apis/{GROUP}",
        f"/apis/{GROUP}/{VERSION}",
        f"/openapi/v3/apis/{GROUP}/{VERSION}",
    ):
        assert get(cluster, path)[0] == 404, path
    index = get(cluster, "/openapi/v3")[1]["paths"]
    assert f"apis/{GROUP}/{VERSION}" not in index
    assert "apis/batch/v1" in index


def assert_served(cluster: MPICluster) -> None:
    custom = kubernetes.client.CustomObjectsApi(cluster.api_client())
    custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    groups = kubernetes.client.ApisApi(cluster.api_client()).get_api_versions().groups
    assert GROUP in [g.name for g in groups]
    status, resources = get(cluster, f"/apis/{GROUP}/{VERSION}")
    assert status == 200
    assert [r["name"] for r in resources["resources"]] == ["mpijobs", "mpijobs/status"]
    assert get(cluster, f"/apis/{GROUP}")[1]["preferredVersion"]["version"] == VERSION
    assert f"apis/{GROUP}/{VERSION}" in get(cluster, "/openapi/v3")[1]["paths"]


# ------------------------------------------------------------ the served versions of a CRD


def crd_with(
    *,
    versions: tuple[tuple[str, bool], ...] = ((VERSION, True),),
    established: str | None = "True",
    name: str = CRD_NAME,
) -> dict[str, Any]:
    crd = mpijob_crd()
    crd["metadata"]["name"] = name
    crd["spec"]["versions"] = [
        {"name": v, "served": s, "storage": i == 0} for i, (v, s) in enumerate(versions)
    ]
    conditions = [{"type": "NamesAccepted", "status": "True"}]
    if established is not None:
        conditions.append({"type": "Established", "status": established})
    crd["status"]["conditions"] = conditions
    return crd


@pytest.mark.parametrize(
    ("crd", "served"),
    [
        (crd_with(), {VERSION}),
        (crd_with(versions=((VERSION, False),)), set()),
        (crd_with(versions=(("v1", True), (VERSION, True))), {"v1", VERSION}),
        (crd_with(versions=(("v1", True), (VERSION, False))), {"v1"}),
        (crd_with(established="False"), set()),
        (crd_with(established=None), set()),
        (crd_with(name="mpijobs.example.com"), set()),
        ({"metadata": {"name": CRD_NAME}}, set()),
    ],
    ids=[
        "established",
        "not-served",
        "two-served",
        "one-of-two",
        "not-established",
        "no-condition",
        "name-mismatch",
        "empty",
    ],
)
def test_served_versions_of_a_crd(crd: dict[str, Any], served: set[str]) -> None:
    assert crd_served_versions(crd) == served


# ------------------------------------------------------------ the official client


def test_without_the_crd_nothing_about_mpijobs_is_served(bare: MPICluster) -> None:
    assert_not_served(bare)
    # other resources are untouched
    core = kubernetes.client.CoreV1Api(bare.api_client())
    assert core.list_namespaced_pod("default").items == []


def test_the_tracker_and_an_unestablished_crd_say_crd_missing(bare: MPICluster) -> None:
    tracker = MPIOperatorTracker(bare.kubeconfig_path)
    with pytest.raises(BackendError, match=r"mpijobs\.kubeflow\.org is not installed"):
        tracker.check_cluster()
    # A CRD that is not (yet) Established serves nothing either.
    crd = mpijob_crd()
    crd["status"]["conditions"] = [{"type": "Established", "status": "False"}]
    bare.store.create("customresourcedefinitions", crd)
    assert_not_served(bare)


def test_creating_the_crd_serves_mpijobs_and_deleting_it_deletes_them(bare: MPICluster) -> None:
    ext = kubernetes.client.ApiextensionsV1Api(bare.api_client())
    custom = kubernetes.client.CustomObjectsApi(bare.api_client())
    hash_before = get(bare, "/openapi/v3")[1]["paths"]["apis/batch/v1"]["serverRelativeURL"]
    ext.create_custom_resource_definition(new_crd())
    assert_served(bare)
    MPIOperatorTracker(bare.kubeconfig_path).check_cluster()
    assert get(bare, "/openapi/v3")[1]["paths"]["apis/batch/v1"]["serverRelativeURL"] == (
        hash_before
    )

    bare.store.create("namespaces", {"metadata": {"name": "other"}})
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob("a"))
    custom.create_namespaced_custom_object(GROUP, VERSION, "other", PLURAL, mpijob("b"))
    bare.advance(0)  # the operator, alive with its CRD, creates the jobs' children
    assert bare.store.list("pods", "default")[0]
    assert len(custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]) == 2

    ext.delete_custom_resource_definition(CRD_NAME)
    assert bare.store.list("mpijobs")[0] == []
    assert bare.store.list("pods")[0] == []  # the jobs' dependents are collected too
    assert bare.store.list("services", "default")[0] == []
    assert_not_served(bare)

    bare.install_operator()  # again: served, and empty
    assert_served(bare)
    assert custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"] == []


def test_a_dry_run_delete_of_the_crd_keeps_everything(bare: MPICluster) -> None:
    bare.install_operator()
    custom = kubernetes.client.CustomObjectsApi(bare.api_client())
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    ext = kubernetes.client.ApiextensionsV1Api(bare.api_client())
    ext.delete_custom_resource_definition(CRD_NAME, dry_run="All")
    assert [j["metadata"]["name"] for j in bare.store.list("mpijobs")[0]] == ["pi"]
    assert_served(bare)


def test_deleting_crds_as_a_collection_deletes_mpijobs(bare: MPICluster) -> None:
    bare.install_operator()
    custom = kubernetes.client.CustomObjectsApi(bare.api_client())
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    kubernetes.client.ApiextensionsV1Api(
        bare.api_client()
    ).delete_collection_custom_resource_definition()
    assert bare.store.list("mpijobs")[0] == []
    assert_not_served(bare)


def test_served_false_hides_the_version_but_keeps_the_objects(bare: MPICluster) -> None:
    bare.install_operator()
    custom = kubernetes.client.CustomObjectsApi(bare.api_client())
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    ext = kubernetes.client.ApiextensionsV1Api(bare.api_client())

    def set_served(served: bool) -> None:
        patch = [{"op": "replace", "path": "/spec/versions/0/served", "value": served}]
        ext.patch_custom_resource_definition(CRD_NAME, patch)

    set_served(False)
    assert_not_served(bare)
    assert [j["metadata"]["name"] for j in bare.store.list("mpijobs")[0]] == ["pi"]
    set_served(True)
    assert_served(bare)
    got = custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi")
    assert got["metadata"]["name"] == "pi"


# ------------------------------------------------------------ kubectl


@pytest.fixture
def kubectl(bare: MPICluster, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed on this machine")
    cache = tmp_path / "kube-cache"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),  # never the user's ~/.kube (kubectl caches discovery there)
        "KUBECONFIG": str(bare.kubeconfig_path),
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        result = subprocess.run(
            [KUBECTL, f"--cache-dir={cache}", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    return run


@pytest.fixture
def crd_file(tmp_path: Path) -> Iterator[Path]:
    """The upstream CRD when the shared folder has it, else the emulator's own."""
    if UPSTREAM_CRD.exists():
        yield UPSTREAM_CRD
        return
    path = tmp_path / "crd.yaml"
    path.write_text(yaml.safe_dump(new_crd()))
    yield path


@pytest.mark.kubectl
def test_kubectl_finds_mpijobs_only_while_the_crd_exists(
    bare: MPICluster, kubectl: Callable[..., subprocess.CompletedProcess[str]], crd_file: Path
) -> None:
    run = kubectl
    missing = run("get", "mpijobs", check=False)
    assert missing.returncode != 0
    assert 'the server doesn\'t have a resource type "mpijobs"' in missing.stderr
    raw = run("get", "--raw", f"/apis/{GROUP}/{VERSION}/namespaces/default/mpijobs", check=False)
    assert raw.returncode != 0
    assert f"Error from server (NotFound): {NOT_FOUND}" in raw.stderr
    assert GROUP not in run("api-versions").stdout

    # The discovery cache of the first calls is stale now: kubectl must refresh it.
    assert "serverside-applied" in run("apply", "--server-side", "-f", str(crd_file)).stdout
    run("wait", "--for", "condition=established", f"crd/{CRD_NAME}", "--timeout=30s")
    assert "No resources found in default namespace." in run("get", "mpijobs").stderr
    assert f"{GROUP}/{VERSION}" in run("api-versions").stdout
    assert "mpijobs" in run("api-resources", f"--api-group={GROUP}", "-o", "name").stdout

    bare.store.create("mpijobs", {**mpijob(), "metadata": {"name": "pi", "namespace": "default"}})
    assert run("get", "mpijobs", "-o", "name").stdout.split() == [f"mpijob.{GROUP}/pi"]
    assert f'{CRD_NAME}" deleted' in run("delete", "crd", CRD_NAME).stdout
    assert bare.store.list("mpijobs")[0] == []
    gone = run("get", "mpijobs", check=False)
    assert gone.returncode != 0
    assert NOT_FOUND in gone.stderr or "doesn't have a resource type" in gone.stderr
