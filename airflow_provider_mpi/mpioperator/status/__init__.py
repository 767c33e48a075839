"""What a job is doing, read from its MPIJob, pods and events: pure mappings.

- :mod:`.state`: MPIJob conditions (+ events) -> DRMAA2 state and substate;
- :mod:`.info`: MPIJob + pods -> :class:`~airflow_provider_mpi.drmaa2.info.JobInfo`;
- :mod:`.events`: Kubernetes events -> :class:`~.events.JobEvent`.

The mapping's names are exported here (``from ...mpioperator.status import
job_info_from_mpi_job``): each module's ``__all__``, so a name is listed once,
where it is defined. No client library is imported.
"""

from airflow_provider_mpi.mpioperator.status import info, state
from airflow_provider_mpi.mpioperator.status.info import *  # noqa: F403
from airflow_provider_mpi.mpioperator.status.state import *  # noqa: F403

__all__ = info.__all__ + state.__all__
