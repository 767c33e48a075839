"""Helpers shared by the tracker's cluster tests (templates with emulator scripts)."""

from __future__ import annotations

from typing import Any

from airflow_provider_mpi.drmaa2 import JobTemplate
from airflow_provider_mpi.mpioperator.k8s_extensions import (
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


def mpijob(cluster: MPICluster, job_id: str) -> dict[str, Any]:
    """Read an MPIJob straight from the emulator's store."""
    namespace, name = job_id.split("/")
    return cluster.store.get("mpijobs", namespace, name)


def mpijob_names(cluster: MPICluster, namespace: str = "default") -> list[str]:
    items, _ = cluster.store.list("mpijobs", namespace)
    return sorted(item["metadata"]["name"] for item in items)


def pods(cluster: MPICluster, job_name: str, namespace: str = "default") -> list[dict[str, Any]]:
    items, _ = cluster.store.list(
        "pods", namespace, label_selector=f"training.kubeflow.org/job-name={job_name}"
    )
    return items


def create_namespace(cluster: MPICluster, name: str) -> None:
    cluster.store.create("namespaces", {"metadata": {"name": name}})
