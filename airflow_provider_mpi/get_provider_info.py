"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_mpi import __version__


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow's ProvidersManager reads.

    Returns:
        The provider info dictionary (package name, versions, hooks, operators,
        sensors, triggers, connection types and extra links).
    """
    return {
        "package-name": "airflow-provider-mpi",
        "name": "MPI Operator",
        "description": "Run MPI programs on Kubernetes (Kubeflow MPI Operator) "
        "through a DRMAA2 job tracker.",
        "versions": [__version__],
    }
