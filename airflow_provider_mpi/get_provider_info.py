"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

The provider registers its own connection type, ``mpi_operator`` (label "MPI
Operator (Kubernetes)"), so that ``airflow providers hooks`` and the
connection form list :class:`~airflow_provider_mpi.hooks.mpi_operator.MPIOperatorHook`.
Its fields are those of the cncf-kubernetes provider's ``kubernetes``
connection that apply to MPI jobs, plus ``mpi_job_url_template``; the hook
reads existing ``kubernetes`` connections as well. The ``kubernetes`` type
itself stays the cncf provider's: registering it again would make Airflow's
ProvidersManager warn and, depending on discovery order, replace the cncf
hook's connection form. The fields are declared in ``conn-fields`` (Airflow
3.2+ builds the form from them without importing the hook); Airflow 3.0 and
3.1 read the same declarations (:mod:`airflow_provider_mpi.hooks._form`)
through the hook's ``get_connection_form_widgets``.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_mpi import __version__
from airflow_provider_mpi.hooks._form import CONNECTION_FIELDS, HIDDEN_FIELDS

__all__ = ["CONNECTION_FIELDS", "INTEGRATION", "get_provider_info"]

#: The integration name every entry below belongs to.
INTEGRATION = "Kubeflow MPI Operator"


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow's ProvidersManager reads.

    Returns:
        The provider info dictionary (package name, versions, integrations,
        hooks, operators, sensors, triggers, the connection type and extra
        links), valid against
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
        "connection-types": [
            {
                "connection-type": "mpi_operator",
                "hook-class-name": "airflow_provider_mpi.hooks.mpi_operator.MPIOperatorHook",
                "hook-name": "MPI Operator (Kubernetes)",
                "conn-fields": CONNECTION_FIELDS,
                "ui-field-behaviour": {"hidden-fields": list(HIDDEN_FIELDS)},
            }
        ],
        "extra-links": ["airflow_provider_mpi.links.MPIJobLink"],
    }
