"""A real Kubernetes control plane with the real MPI operator v0.8.2, built from Go modules.

``RealCluster`` starts etcd, kube-apiserver, kube-controller-manager,
kube-scheduler (Kubernetes v1.35.4) and mpi-operator v0.8.2 as local processes
on 127.0.0.1, with a node agent standing in for the kubelets. ``Builder``
builds the binaries once per version into a cache. ``python -m
airflow_provider_mpi.testing serve --real`` runs one until stopped. Names are
imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_mpi.testing.exports import lazy_exports
from airflow_provider_mpi.testing.real import errors
from airflow_provider_mpi.testing.real.errors import *  # noqa: F403 (the error tree, in full)

if TYPE_CHECKING:
    from airflow_provider_mpi.testing.real.build import Builder, cache_root, find_go
    from airflow_provider_mpi.testing.real.cluster import RealCluster

__all__ = ["Builder", "RealCluster", "cache_root", "find_go"]
__all__ += errors.__all__

#: Each lazily imported name and its module; the errors module is light and imported at once.
_WHERE = {
    "Builder": "build",
    "cache_root": "build",
    "find_go": "build",
    "RealCluster": "cluster",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
