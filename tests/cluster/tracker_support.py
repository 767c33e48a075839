"""Helpers shared by the tracker's cluster tests (templates with emulator scripts)."""

from __future__ import annotations

from typing import Any

import kubernetes.client

from airflow_provider_mpi.drmaa2 import JobTemplate
from airflow_provider_mpi.mpioperator.template import (
    set_annotations_extension,
    set_labels_extension,
)
from airflow_provider_mpi.testing import MPICluster

SCRIPT = "emulator.airflow-provider-mpi/"
IMAGE = "mpioperator/mpi-pi:openmpi"


def template(
    *,
    duration: float = 1,
    exit_code: int = 0,
    log: list[str] | None = None,
    name: str = "",
    labels: dict[str, str] | None = None,
    **script: str,
) -> JobTemplate:
    """A two-worker MPI template whose pods follow an emulator script."""
    jt = JobTemplate(
        remote_command="python",
        args=["pi.py", "--steps", "1000"],
        job_category=IMAGE,
        min_slots=2,
        job_name=name,
    )
    annotations = {SCRIPT + "duration": str(duration), SCRIPT + "exit-code": str(exit_code)}
    if log:
        annotations[SCRIPT + "log"] = "\n".join(log)
    for key, value in script.items():
        annotations[SCRIPT + key.replace("_", "-")] = value
    jt = set_annotations_extension(jt, annotations)
    if labels:
        jt = set_labels_extension(jt, labels)
    return jt


def _api(cluster: Any) -> Any:
    """An all-powerful client of either backend (the emulator's token; the real admin)."""
    admin = getattr(cluster, "admin_api_client", None)
    return admin() if admin is not None else cluster.api_client()


def mpijob(cluster: Any, job_id: str) -> dict[str, Any]:
    """Read an MPIJob: from the emulator's store (past its faults), or through the real API."""
    namespace, name = job_id.split("/")
    if cluster.backend == "emulated":
        stored: dict[str, Any] = cluster.store.get("mpijobs", namespace, name)
        return stored
    api = kubernetes.client.CustomObjectsApi(_api(cluster))
    found: dict[str, Any] = api.get_namespaced_custom_object(
        "kubeflow.org", "v2beta1", namespace, "mpijobs", name
    )
    return found


def mpijob_names(cluster: Any, namespace: str | None = None) -> list[str]:
    if cluster.backend == "emulated":
        items, _ = cluster.store.list("mpijobs", namespace or cluster.namespace)
        return sorted(item["metadata"]["name"] for item in items)
    api = kubernetes.client.CustomObjectsApi(_api(cluster))
    found = api.list_namespaced_custom_object(
        "kubeflow.org", "v2beta1", namespace or cluster.namespace, "mpijobs"
    )
    return sorted(item["metadata"]["name"] for item in found["items"])


def pods(cluster: Any, job_name: str, namespace: str | None = None) -> list[dict[str, Any]]:
    selector = f"training.kubeflow.org/job-name={job_name}"
    if cluster.backend == "emulated":
        found, _ = cluster.store.list(
            "pods", namespace or cluster.namespace, label_selector=selector
        )
        return list(found)
    api = _api(cluster)
    listed = kubernetes.client.CoreV1Api(api).list_namespaced_pod(
        namespace or cluster.namespace, label_selector=selector
    )
    items: list[dict[str, Any]] = api.sanitize_for_serialization(listed.items)
    return items


def create_namespace(cluster: MPICluster, name: str) -> None:
    cluster.store.create("namespaces", {"metadata": {"name": name}})
