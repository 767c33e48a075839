"""An emulated Kubernetes cluster with a simulated Kubeflow MPI operator, for tests and demos.

``MPICluster`` starts it; the pytest plugin (``mpi_cluster`` fixture) and
``python -m airflow_provider_mpi.testing serve`` are the other ways in. Names
are imported on first use, so importing this package starts and loads
nothing heavy (no HTTP server, no Kubernetes client).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_mpi.testing.exports import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_mpi.testing.clock import Clock, ManualClock, RealClock
    from airflow_provider_mpi.testing.cluster import MPICluster
    from airflow_provider_mpi.testing.controller.scripts import ANNOTATION_PREFIX, ScriptAnnotation
    from airflow_provider_mpi.testing.faults import FaultInjector, RequestCounters
    from airflow_provider_mpi.testing.lifecycle import ClusterNotRunningError

__all__ = [
    "ANNOTATION_PREFIX",
    "Clock",
    "ClusterNotRunningError",
    "FaultInjector",
    "MPICluster",
    "ManualClock",
    "RealClock",
    "RequestCounters",
    "ScriptAnnotation",
]

_WHERE = {
    "Clock": "clock",
    "ManualClock": "clock",
    "RealClock": "clock",
    "MPICluster": "cluster",
    "ClusterNotRunningError": "lifecycle",
    "ANNOTATION_PREFIX": "controller.scripts",
    "ScriptAnnotation": "controller.scripts",
    "FaultInjector": "faults",
    "RequestCounters": "faults",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
