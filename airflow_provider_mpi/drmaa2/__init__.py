"""Backend-neutral DRMAA2 model: templates, job info, states, the tracker protocol, errors.

This package knows nothing of Kubernetes or Airflow. It is the vocabulary the
MPI operator tracker and the Airflow faces share, spelled as in the Go
``drmaa2interface`` so templates written by the Go DRMAA2 tools load here.
"""

from __future__ import annotations

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

__all__ = [
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
    "JobState",
    "JobTemplate",
    "TransientBackendError",
    "UnsupportedAttributeError",
    "WaitTimeoutError",
    "backend_error_for_status",
]
