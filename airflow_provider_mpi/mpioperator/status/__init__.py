"""What a job is doing, read from its MPIJob, pods and events: pure mappings.

- :mod:`.state`: MPIJob conditions (+ events) -> DRMAA2 state and substate;
- :mod:`.info`: MPIJob + pods -> :class:`~airflow_provider_mpi.drmaa2.info.JobInfo`;
- :mod:`.events`: Kubernetes events -> :class:`~.events.JobEvent`.

The mapping's names are exported here (``from ...mpioperator.status import
job_info_from_mpi_job``). No client library is imported.
"""

from airflow_provider_mpi.mpioperator.status.info import (
    job_info_from_mpi_job,
    mpijob_for_wait,
    pod_for_info,
)
from airflow_provider_mpi.mpioperator.status.state import (
    JOB_NAME_LABEL,
    JOB_ROLE_LABEL,
    LAUNCHER_FAILED,
    SubState,
    format_substate,
    job_id_of,
    job_state_from_condition,
    job_state_from_mpi_job,
    parse_substate,
    signal_name,
)

__all__ = [
    "JOB_NAME_LABEL",
    "JOB_ROLE_LABEL",
    "LAUNCHER_FAILED",
    "SubState",
    "format_substate",
    "job_id_of",
    "job_info_from_mpi_job",
    "job_state_from_condition",
    "job_state_from_mpi_job",
    "mpijob_for_wait",
    "parse_substate",
    "pod_for_info",
    "signal_name",
]
