"""Backend-neutral DRMAA2 model: templates, job info, states, the tracker protocol, errors.

This package knows nothing of Kubernetes or Airflow. It is the vocabulary the
MPI operator tracker and the Airflow faces share, spelled as in the Go
``drmaa2interface`` so templates written by the Go DRMAA2 tools load here.

The error classes are exported as :mod:`.errors` lists them in its
``__all__``, so each is listed once, where it is defined.
"""

from __future__ import annotations

from airflow_provider_mpi.drmaa2 import errors
from airflow_provider_mpi.drmaa2.arrays import (
    PLACEHOLDER_HOME_DIR,
    PLACEHOLDER_INDEX,
    PLACEHOLDER_WORKING_DIR,
    TASK_ID_ENV,
    TaskRange,
    format_legacy_array_job_id,
    parse_legacy_array_job_id,
    substitute_index,
    template_for_task,
    validate_max_parallel,
)
from airflow_provider_mpi.drmaa2.errors import *  # noqa: F403
from airflow_provider_mpi.drmaa2.info import JobInfo
from airflow_provider_mpi.drmaa2.state import JobControlAction, JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.drmaa2.tracker import (
    AsyncJobOutputReader,
    AsyncJobTemplater,
    AsyncJobTracker,
    JobOutputReader,
    JobTemplater,
    JobTracker,
)

__all__ = [
    "PLACEHOLDER_HOME_DIR",
    "PLACEHOLDER_INDEX",
    "PLACEHOLDER_WORKING_DIR",
    "TASK_ID_ENV",
    "AsyncJobOutputReader",
    "AsyncJobTemplater",
    "AsyncJobTracker",
    "JobControlAction",
    "JobInfo",
    "JobOutputReader",
    "JobState",
    "JobTemplate",
    "JobTemplater",
    "JobTracker",
    "TaskRange",
    "format_legacy_array_job_id",
    "parse_legacy_array_job_id",
    "substitute_index",
    "template_for_task",
    "validate_max_parallel",
]
__all__ += errors.__all__
