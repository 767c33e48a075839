"""The real kubectl against the emulated API server (over TLS, as kubectl sends tokens only so)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from airflow_provider_mpi.testing.server import EmulatorServer
from airflow_provider_mpi.testing.store import Store

KUBECTL = shutil.which("kubectl")
Kubectl = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine"),
]

MPIJOB_YAML = """\
apiVersion: kubeflow.org/v2beta1
kind: MPIJob
metadata:
  name: pi
spec:
  slotsPerWorker: 1
  mpiReplicaSpecs:
    Launcher:
      replicas: 1
      template:
        spec:
          containers:
          - name: launcher
            image: mpioperator/mpi-pi
            command: [mpirun, -n, "2", /home/mpiuser/pi]
    Worker:
      replicas: 2
      template:
        spec:
          containers:
          - name: worker
            image: mpioperator/mpi-pi
"""


@pytest.fixture
def tls_server(emu_store: Store) -> Iterator[EmulatorServer]:
    with EmulatorServer(emu_store, token="kubectl-test-token", tls=True) as server:
        yield server


@pytest.fixture
def kubectl(tls_server: EmulatorServer, tmp_path: Path) -> Kubectl:
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump(tls_server.kubeconfig()))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),  # kubectl caches discovery under $HOME/.kube: keep it private
        "KUBECONFIG": str(config),
        "KUBECACHEDIR": str(tmp_path / "cache"),
    }

    def run(
        *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        result = subprocess.run(
            [KUBECTL, *args],
            input=stdin,
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


def test_apply_get_wait_logs_delete(kubectl: Kubectl, emu_store: Store, tmp_path: Path) -> None:
    run = kubectl
    manifest = tmp_path / "pi.yaml"
    manifest.write_text(MPIJOB_YAML)
    dry = run("apply", "--dry-run=server", "-f", str(manifest)).stdout
    assert "mpijob.kubeflow.org/pi created (server dry run)" in dry
    assert emu_store.list("mpijobs", "default")[0] == []
    assert "mpijob.kubeflow.org/pi created" in run("apply", "-f", str(manifest)).stdout
    assert "mpijob.kubeflow.org/pi unchanged" in run("apply", "-f", str(manifest)).stdout
    manifest.write_text(MPIJOB_YAML.replace("slotsPerWorker: 1", "slotsPerWorker: 2"))
    assert "configured" in run("apply", "-f", str(manifest)).stdout
    assert emu_store.get("mpijobs", "default", "pi")["spec"]["slotsPerWorker"] == 2

    listed = run("get", "mpijobs").stdout.splitlines()
    assert listed[0].split() == ["NAME", "AGE"]
    assert listed[1].split()[0] == "pi"
    assert (
        run("get", "mpijob", "pi", "-o", "jsonpath={.spec.mpiImplementation}").stdout == "OpenMPI"
    )

    def succeed() -> None:
        time.sleep(0.5)
        job = emu_store.get("mpijobs", "default", "pi")
        job["status"] = {
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "MPIJobSucceeded"}]
        }
        emu_store.update("mpijobs", job, subresource="status")

    thread = threading.Thread(target=succeed)
    thread.start()
    waited = run("wait", "--for=condition=Succeeded", "mpijob/pi", "--timeout=30s")
    thread.join()
    assert "condition met" in waited.stdout

    emu_store.create(
        "pods",
        {
            "metadata": {"name": "pi-launcher-x7k2p"},
            "spec": {"containers": [{"name": "launcher", "image": "i"}]},
            "status": {"phase": "Running"},
        },
        namespace="default",
    )
    for line in ("pi is approximately 3.14159", "done"):
        emu_store.logs.append("default", "pi-launcher-x7k2p", "launcher", line)
    assert run("logs", "pi-launcher-x7k2p").stdout == "pi is approximately 3.14159\ndone\n"
    assert run("logs", "pi-launcher-x7k2p", "--tail=1").stdout == "done\n"
    pods = run("get", "pods").stdout.splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]

    assert 'mpijob.kubeflow.org "pi" deleted' in run("delete", "-f", str(manifest)).stdout
    assert emu_store.list("mpijobs", "default")[0] == []


def test_apply_refuses_unknown_fields_and_bad_enums(kubectl: Kubectl) -> None:
    run = kubectl
    typo = MPIJOB_YAML.replace("slotsPerWorker", "slotPerWorker")
    result = run("apply", "-f", "-", stdin=typo, check=False)
    assert result.returncode != 0
    assert 'unknown field "spec.slotPerWorker"' in result.stderr
    bad = MPIJOB_YAML.replace("slotsPerWorker: 1", "slotsPerWorker: 1\n  mpiImplementation: LAM")
    result = run("apply", "-f", "-", stdin=bad, check=False)
    assert result.returncode != 0
    assert "spec.mpiImplementation" in result.stderr
    assert "Unsupported value" in result.stderr


def test_builtin_kinds_and_server_side_apply(kubectl: Kubectl, emu_store: Store) -> None:
    run = kubectl
    run("create", "configmap", "settings", "--from-literal=a=1")
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  key: one\n"
    assert "serverside-applied" in run("apply", "--server-side", "-f", "-", stdin=config).stdout
    run("apply", "--server-side", "-f", "-", stdin=config.replace("one", "two"))
    assert emu_store.get("configmaps", "default", "applied")["data"] == {"key": "two"}
    names = run("get", "configmaps", "-o", "name").stdout.split()
    assert names == ["configmap/applied", "configmap/settings"]
    run("create", "namespace", "team")
    assert "team" in run("get", "namespaces").stdout
    run("delete", "configmap", "settings")
    with pytest.raises(Exception, match="not found"):
        emu_store.get("configmaps", "default", "settings")


def test_wrong_token_is_refused(tls_server: EmulatorServer, tmp_path: Path) -> None:
    assert KUBECTL is not None
    config = tls_server.kubeconfig()
    config["users"][0]["user"]["token"] = "wrong"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [KUBECTL, "get", "pods"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "KUBECONFIG": str(path)},
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "credentials" in result.stderr or "Unauthorized" in result.stderr


CRD_PATH = (
    Path(__file__).parents[3].parent / "shared" / "mpi-operator" / "kubeflow.org_mpijobs.yaml"
)


@pytest.mark.skipif(not CRD_PATH.exists(), reason=f"the upstream MPIJob CRD is not at {CRD_PATH}")
def test_installing_the_operator_crd(kubectl: Kubectl, emu_store: Store) -> None:
    run = kubectl
    # As on a real cluster, the CRD is too big for client-side apply's annotation...
    refused = run("apply", "-f", str(CRD_PATH), check=False)
    assert refused.returncode != 0
    assert "metadata.annotations: Too long: must have at most 262144 bytes" in refused.stderr
    # ... and installs with server-side apply.
    assert "serverside-applied" in run("apply", "--server-side", "-f", str(CRD_PATH)).stdout
    run("wait", "--for", "condition=established", "crd/mpijobs.kubeflow.org", "--timeout=30s")
    crd = emu_store.get("customresourcedefinitions", None, "mpijobs.kubeflow.org")
    assert crd["status"]["acceptedNames"]["kind"] == "MPIJob"
    assert crd["status"]["storedVersions"] == ["v2beta1"]
