"""Backend-neutral DRMAA2 model: templates, job info, states, the tracker protocol, errors.

This package knows nothing of Kubernetes or Airflow. It is the vocabulary the
MPI operator tracker and the Airflow faces share, spelled as in the Go
``drmaa2interface`` so templates written by the Go DRMAA2 tools load here.
"""

from __future__ import annotations

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
from airflow_provider_mpi.drmaa2.errors import (
    AuthorizationError,
    BackendError,
    ConflictError,
    DRMAA2Error,
    InvalidArgumentError,
    InvalidStateError,
    InvalidTemplateError,
    JobNotFoundError,
    TransientBackendError,
    UnsupportedAttributeError,
    WaitTimeoutError,
    backend_error_for_status,
)
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
    "AuthorizationError",
    "BackendError",
    "ConflictError",
    "DRMAA2Error",
    "InvalidArgumentError",
    "InvalidStateError",
    "InvalidTemplateError",
    "JobControlAction",
    "JobInfo",
    "JobNotFoundError",
    "JobOutputReader",
    "JobState",
    "JobTemplate",
    "JobTemplater",
    "JobTracker",
    "TaskRange",
    "TransientBackendError",
    "UnsupportedAttributeError",
    "WaitTimeoutError",
    "backend_error_for_status",
    "format_legacy_array_job_id",
    "parse_legacy_array_job_id",
    "substitute_index",
    "template_for_task",
    "validate_max_parallel",
]
