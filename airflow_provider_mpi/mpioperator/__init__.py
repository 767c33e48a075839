"""The DRMAA2 job tracker over Kubeflow MPIJobs (imports kubernetes, never airflow).

A short, deliberate public surface (every name is loaded on first use, so a
DAG file importing one submodule does not pay for the others, and importing
this package loads no Kubernetes client):

- the trackers: :class:`MPIOperatorTracker` (sync), :class:`AsyncMPIOperatorTracker`
  (asyncio, for triggers), the event loop's shared watches
  (:class:`JobWatchHub`, :class:`JobPodHub`), :class:`RetryPolicy`,
  :func:`install_mpi_operator`;
- job IDs: :func:`format_job_id`, :func:`parse_job_id`, :func:`parse_array_id`;
- JobTemplate -> MPIJob: :func:`build_mpi_job` and friends, with the
  extensions most templates set (the Go-named get/set pairs; every other
  extension, its key constant and its enum are in the template modules);
- MPIJob -> DRMAA2: :func:`job_state_from_mpi_job`,
  :func:`job_info_from_mpi_job`, substates, :class:`JobEvent`.

The layout below this package (see ``docs/internals.md``): ``client/`` (request
descriptors and the two transports), ``tracker/`` (each operation written once
as pure steps, the sync and async drivers, arrays and waiting), ``status/``
(the pure status mapping) and the template modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
    from airflow_provider_mpi.mpioperator.status import (
        LAUNCHER_FAILED,
        SubState,
        format_substate,
        job_id_of,
        job_info_from_mpi_job,
        job_state_from_condition,
        job_state_from_mpi_job,
        parse_substate,
        signal_name,
    )
    from airflow_provider_mpi.mpioperator.status.events import JobEvent
    from airflow_provider_mpi.mpioperator.template import (
        MPIImplementation,
        check_extension_keys,
        get_labels_extension,
        get_mpi_implementation_extension,
        get_slots_per_worker_extension,
        get_worker_command_extension,
        get_worker_resource_requests_extension,
        set_labels_extension,
        set_mpi_implementation_extension,
        set_slots_per_worker_extension,
        set_worker_command_extension,
        set_worker_resource_requests_extension,
    )
    from airflow_provider_mpi.mpioperator.template.convert import (
        API_VERSION,
        KIND,
        build_mpi_job,
        convert_job_template_to_mpi_job,
        new_mpi_job,
    )
    from airflow_provider_mpi.mpioperator.template.quantity import parse_quantity
    from airflow_provider_mpi.mpioperator.template.validation import validate_mpi_job
    from airflow_provider_mpi.mpioperator.tracker.aio import AsyncMPIOperatorTracker
    from airflow_provider_mpi.mpioperator.tracker.ids import (
        format_job_id,
        parse_array_id,
        parse_job_id,
    )
    from airflow_provider_mpi.mpioperator.tracker.install import install_mpi_operator
    from airflow_provider_mpi.mpioperator.tracker.pod_hub import JobPodHub
    from airflow_provider_mpi.mpioperator.tracker.sync import MPIOperatorTracker
    from airflow_provider_mpi.mpioperator.tracker.watch_hub import JobWatchHub

_LAZY: dict[str, str] = {
    # The trackers and their shared watches (they import the Kubernetes clients)
    "MPIOperatorTracker": "airflow_provider_mpi.mpioperator.tracker.sync",
    "AsyncMPIOperatorTracker": "airflow_provider_mpi.mpioperator.tracker.aio",
    "JobWatchHub": "airflow_provider_mpi.mpioperator.tracker.watch_hub",
    "JobPodHub": "airflow_provider_mpi.mpioperator.tracker.pod_hub",
    "install_mpi_operator": "airflow_provider_mpi.mpioperator.tracker.install",
    "RetryPolicy": "airflow_provider_mpi.mpioperator.client.retry",
    # Job IDs
    "format_job_id": "airflow_provider_mpi.mpioperator.tracker.ids",
    "parse_array_id": "airflow_provider_mpi.mpioperator.tracker.ids",
    "parse_job_id": "airflow_provider_mpi.mpioperator.tracker.ids",
    # JobTemplate -> MPIJob (pure)
    "API_VERSION": "airflow_provider_mpi.mpioperator.template.convert",
    "KIND": "airflow_provider_mpi.mpioperator.template.convert",
    "build_mpi_job": "airflow_provider_mpi.mpioperator.template.convert",
    "convert_job_template_to_mpi_job": "airflow_provider_mpi.mpioperator.template.convert",
    "new_mpi_job": "airflow_provider_mpi.mpioperator.template.convert",
    "validate_mpi_job": "airflow_provider_mpi.mpioperator.template.validation",
    "MPIImplementation": "airflow_provider_mpi.mpioperator.template",
    "check_extension_keys": "airflow_provider_mpi.mpioperator.template",
    "get_mpi_implementation_extension": "airflow_provider_mpi.mpioperator.template",
    "get_slots_per_worker_extension": "airflow_provider_mpi.mpioperator.template",
    "get_worker_command_extension": "airflow_provider_mpi.mpioperator.template",
    "get_worker_resource_requests_extension": "airflow_provider_mpi.mpioperator.template",
    "set_mpi_implementation_extension": "airflow_provider_mpi.mpioperator.template",
    "set_slots_per_worker_extension": "airflow_provider_mpi.mpioperator.template",
    "set_worker_command_extension": "airflow_provider_mpi.mpioperator.template",
    "set_worker_resource_requests_extension": "airflow_provider_mpi.mpioperator.template",
    "get_labels_extension": "airflow_provider_mpi.mpioperator.template",
    "parse_quantity": "airflow_provider_mpi.mpioperator.template.quantity",
    "set_labels_extension": "airflow_provider_mpi.mpioperator.template",
    # MPIJob -> DRMAA2 state, JobInfo, events (pure)
    "LAUNCHER_FAILED": "airflow_provider_mpi.mpioperator.status",
    "SubState": "airflow_provider_mpi.mpioperator.status",
    "format_substate": "airflow_provider_mpi.mpioperator.status",
    "job_id_of": "airflow_provider_mpi.mpioperator.status",
    "job_info_from_mpi_job": "airflow_provider_mpi.mpioperator.status",
    "job_state_from_condition": "airflow_provider_mpi.mpioperator.status",
    "job_state_from_mpi_job": "airflow_provider_mpi.mpioperator.status",
    "parse_substate": "airflow_provider_mpi.mpioperator.status",
    "signal_name": "airflow_provider_mpi.mpioperator.status",
    "JobEvent": "airflow_provider_mpi.mpioperator.status.events",
}


def __getattr__(name: str) -> object:
    """Import the public names lazily (the tracker classes pull in the Kubernetes clients)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "API_VERSION",
    "KIND",
    "LAUNCHER_FAILED",
    "AsyncMPIOperatorTracker",
    "JobEvent",
    "JobPodHub",
    "JobWatchHub",
    "MPIImplementation",
    "MPIOperatorTracker",
    "RetryPolicy",
    "SubState",
    "build_mpi_job",
    "check_extension_keys",
    "convert_job_template_to_mpi_job",
    "format_job_id",
    "format_substate",
    "get_labels_extension",
    "get_mpi_implementation_extension",
    "get_slots_per_worker_extension",
    "get_worker_command_extension",
    "get_worker_resource_requests_extension",
    "install_mpi_operator",
    "job_id_of",
    "job_info_from_mpi_job",
    "job_state_from_condition",
    "job_state_from_mpi_job",
    "new_mpi_job",
    "parse_array_id",
    "parse_job_id",
    "parse_quantity",
    "parse_substate",
    "set_labels_extension",
    "set_mpi_implementation_extension",
    "set_slots_per_worker_extension",
    "set_worker_command_extension",
    "set_worker_resource_requests_extension",
    "signal_name",
    "validate_mpi_job",
]
