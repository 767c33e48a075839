"""The emulated Kubernetes API server: real HTTP (and TLS) on the loopback interface.

:class:`EmulatorServer` (in :mod:`.apiserver`) accepts and authorizes
requests, asks the faults, and dispatches on :mod:`.routing`'s parse of the
path: resource requests to :mod:`.handlers`, watches and logs to
:mod:`.streams`, discovery and tables to :mod:`.discovery`.
"""

from __future__ import annotations

from airflow_provider_mpi.testing.server.apiserver import LOOPBACK_HOSTS, EmulatorServer
from airflow_provider_mpi.testing.server.statuses import not_found_response, status_response

__all__ = ["LOOPBACK_HOSTS", "EmulatorServer", "not_found_response", "status_response"]
