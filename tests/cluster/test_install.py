"""install_mpi_operator: every document of a file or URL, applied idempotently."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_mpi.drmaa2 import BackendError, InvalidArgumentError
from airflow_provider_mpi.mpioperator import MPIOperatorTracker, install_mpi_operator
from airflow_provider_mpi.mpioperator.tracker.install import load_manifest, order_for_apply
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.cluster import mpijob_crd

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mpi-operator"}}


def config_map(value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "mpi-operator-config", "namespace": "mpi-operator"},
        "data": {"value": value},
    }


def write_manifest(path: Path, *documents: dict[str, Any] | None) -> Path:
    path.write_text(yaml.safe_dump_all(list(documents)))
    return path


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    # file order puts the CRD and the namespace late: apply order must not depend on it
    return write_manifest(
        tmp_path / "mpi-operator.yaml", config_map("1"), None, mpijob_crd(), NAMESPACE
    )


EXPECTED = [
    "Namespace mpi-operator",
    "CustomResourceDefinition mpijobs.kubeflow.org",
    "ConfigMap mpi-operator/mpi-operator-config",
]


@pytest.mark.mpi_cluster(operator_installed=False)
def test_install_makes_mpijobs_usable(mpi_cluster: MPICluster, manifest: Path) -> None:
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path)
    with pytest.raises(BackendError, match="not installed"):
        tracker.check_cluster()
    assert install_mpi_operator(mpi_cluster.api_client(), manifest) == EXPECTED
    tracker.check_cluster()
    stored = mpi_cluster.store.get("configmaps", "mpi-operator", "mpi-operator-config")
    assert stored["data"] == {"value": "1"}


@pytest.mark.mpi_cluster(operator_installed=False)
def test_install_twice_changes_nothing_but_updates(
    mpi_cluster: MPICluster, manifest: Path, tmp_path: Path
) -> None:
    client = mpi_cluster.api_client()
    assert install_mpi_operator(client, manifest) == EXPECTED
    assert install_mpi_operator(client, manifest) == EXPECTED
    changed = write_manifest(tmp_path / "v2.yaml", NAMESPACE, mpijob_crd(), config_map("2"))
    assert install_mpi_operator(client, str(changed)) == EXPECTED
    stored = mpi_cluster.store.get("configmaps", "mpi-operator", "mpi-operator-config")
    assert stored["data"] == {"value": "2"}


@pytest.fixture
def served(manifest: Path) -> Iterator[str]:
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(manifest.parent)
    )
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{manifest.name}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.mpi_cluster(operator_installed=False)
def test_install_from_a_url_through_the_tracker(mpi_cluster: MPICluster, served: str) -> None:
    tracker = MPIOperatorTracker(
        mpi_cluster.kubeconfig_path, install_operator=True, operator_manifest=served
    )
    tracker.check_cluster()


def test_unknown_kind_fails_fast_naming_it(mpi_cluster: MPICluster, tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path / "m.yaml",
        {"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "g"}},
    )
    started = time.monotonic()
    with pytest.raises(BackendError, match="Gadget g") as info:
        install_mpi_operator(mpi_cluster.api_client(), path)
    assert "does not serve example.org/v1 Gadget" in str(info.value)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: [unclosed", "not valid YAML"),
        ("just a string\n", "document 1 is not a Kubernetes object"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "has no name"),
        ("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n- 1\n", "document 2"),
    ],
)
def test_bad_manifests(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(InvalidArgumentError, match=problem) as info:
        load_manifest(path)
    assert info.value.field == "manifest"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="cannot be read"):
        load_manifest(tmp_path / "nope.yaml")


def test_lists_are_flattened_and_ordered(tmp_path: Path) -> None:
    document = {"apiVersion": "v1", "kind": "List", "items": [config_map("1"), NAMESPACE]}
    objects = load_manifest(write_manifest(tmp_path / "m.yaml", document, mpijob_crd()))
    assert [o["kind"] for o in objects] == ["ConfigMap", "Namespace", "CustomResourceDefinition"]
    ordered = order_for_apply(objects)
    assert [o["kind"] for o in ordered] == ["Namespace", "CustomResourceDefinition", "ConfigMap"]
