"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

No ``connection-types`` entry: the provider reuses the ``kubernetes``
connection type that apache-airflow-providers-cncf-kubernetes registers.
Registering the same type again would make Airflow's ProvidersManager warn
and, depending on discovery order, replace the cncf hook's connection form.
``airflow providers hooks`` (a list by connection type) therefore shows the
cncf hook for ``kubernetes``; our hook is listed under this provider's
``hooks`` (``airflow providers get airflow-provider-mpi``).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_mpi import __version__

__all__ = ["INTEGRATION", "get_provider_info"]

#: The integration name every entry below belongs to.
INTEGRATION = "Kubeflow MPI Operator"


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow's ProvidersManager reads.

    Returns:
        The provider info dictionary (package name, versions, integrations,
        hooks, operators, sensors, triggers and extra links), valid against
        Airflow's ``provider_info.schema.json``.
    """
    return {
        "package-name": "airflow-provider-mpi",
        "name": "MPI Operator",
        "description": "Run MPI programs on Kubernetes (Kubeflow MPI Operator) "
        "through a DRMAA2 job tracker.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://github.com/kubeflow/mpi-operator",
                "tags": ["software"],
            }
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_mpi.hooks.mpi_operator"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_mpi.operators.mpi_job"],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_mpi.sensors.mpi_job"],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_mpi.triggers.mpi_job"],
            }
        ],
        "extra-links": ["airflow_provider_mpi.links.MPIJobLink"],
    }
