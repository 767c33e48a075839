"""The MPI operator's own manifests, read from its module in the Go module cache.

The CRD of the release (``manifests/base/kubeflow.org_mpijobs.yaml``) and its
RBAC (``cluster-role.yaml``, ``cluster-role-binding.yaml``) are installed as
the operator's kustomization would install them, from the module zip that
``go`` fetched and verified against the checksum database. They are never
copied into the project; the CRD's sha256 is checked against the one recorded
for tag v0.8.2.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from airflow_provider_mpi.testing.real.build import find_go
from airflow_provider_mpi.testing.real.errors import GoToolchainMissingError, ManifestError
from airflow_provider_mpi.testing.real.flags import OPERATOR_NAMESPACE
from airflow_provider_mpi.testing.real.versions import (
    MPI_OPERATOR,
    MPIJOB_CRD_PATH,
    MPIJOB_CRD_SHA256,
    OPERATOR_CLUSTER_ROLE_BINDING_PATH,
    OPERATOR_CLUSTER_ROLE_PATH,
)

__all__ = ["OperatorManifests", "load_operator_manifests", "operator_module_dir"]

#: The operator's ServiceAccount (the upstream binding names it without a namespace;
#: the kustomization puts it in ``mpi-operator``).
OPERATOR_SERVICE_ACCOUNT = "mpi-operator"


@dataclass(frozen=True)
class OperatorManifests:
    """What the operator's release installs.

    Attributes:
        crd: the ``mpijobs.kubeflow.org`` CustomResourceDefinition.
        rbac: ClusterRoles and the ClusterRoleBinding, with the binding's subject
            namespaced as the kustomization does.
        source: the module folder they were read from.
    """

    crd: dict[str, Any]
    rbac: list[dict[str, Any]]
    source: Path


def operator_module_dir(stamp: dict[str, Any] | None, go: str | None = None) -> Path:
    """Where the operator's module lives in the module cache.

    Args:
        stamp: The operator build's ``build.json`` (it records the folder).
        go: The ``go`` command to ask when the stamp does not say (default: found).

    Returns:
        The folder.

    Raises:
        ManifestError: When it cannot be found.
    """
    recorded = str((stamp or {}).get("module_dir") or "")
    if recorded and Path(recorded, MPIJOB_CRD_PATH).is_file():
        return Path(recorded)
    what = f"{MPI_OPERATOR.module}@{MPI_OPERATOR.version}"
    try:
        go = find_go(go)
    except GoToolchainMissingError as exc:
        raise ManifestError(
            f"the module {what} is not in the Go module cache (recorded: {recorded or 'nothing'})"
            f" and go cannot fetch it: {exc}"
        ) from exc
    result = subprocess.run(
        [go, "mod", "download", "-json", what], capture_output=True, text=True, check=False
    )
    try:
        info = json.loads(result.stdout)
    except json.JSONDecodeError:
        info = {}
    folder = info.get("Dir")
    if result.returncode != 0 or not folder:
        raise ManifestError(
            f"cannot find {what} in the Go module cache: {info.get('Error') or result.stderr}"
        )
    return Path(folder)


def _read(folder: Path, relative: str) -> bytes:
    path = folder / relative
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"cannot read the operator's {relative} at {path}: {exc}") from exc


def load_operator_manifests(folder: Path) -> OperatorManifests:
    """Read and check the CRD and RBAC of the operator release in ``folder``.

    Args:
        folder: The operator's module folder.

    Returns:
        The manifests.

    Raises:
        ManifestError: When a file is missing or the CRD is not the release's.
    """
    crd_bytes = _read(folder, MPIJOB_CRD_PATH)
    digest = hashlib.sha256(crd_bytes).hexdigest()
    if digest != MPIJOB_CRD_SHA256:
        raise ManifestError(
            f"{folder / MPIJOB_CRD_PATH} has sha256 {digest}, expected {MPIJOB_CRD_SHA256}"
            f" (the CRD of {MPI_OPERATOR.module}@{MPI_OPERATOR.version})"
        )
    crd = yaml.safe_load(crd_bytes)
    rbac: list[dict[str, Any]] = []
    for relative in (OPERATOR_CLUSTER_ROLE_PATH, OPERATOR_CLUSTER_ROLE_BINDING_PATH):
        for document in yaml.safe_load_all(_read(folder, relative)):
            if not document:
                continue
            if document.get("kind") == "ClusterRoleBinding":
                for subject in document.get("subjects") or []:
                    if subject.get("kind") == "ServiceAccount":
                        subject.setdefault("namespace", OPERATOR_NAMESPACE)
            rbac.append(document)
    kinds = {(item.get("kind"), item["metadata"]["name"]) for item in rbac}
    if ("ClusterRole", "mpi-operator") not in kinds:
        raise ManifestError(f"no ClusterRole mpi-operator in {folder / OPERATOR_CLUSTER_ROLE_PATH}")
    return OperatorManifests(crd=crd, rbac=rbac, source=folder)
