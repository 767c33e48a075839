"""Faults the emulated API server injects, and what it counts of every request.

:class:`FaultInjector` holds the faults (by rate or on cue; :class:`RequestMatch`
is the keywords every helper takes to say which requests), :mod:`.model` what
a fault is and what it makes the server do, :mod:`.counters` the request
counts tests assert on (:class:`RequestCounters`).
"""

from __future__ import annotations

from airflow_provider_mpi.testing.faults.counters import RequestCounters, RequestStats, Verb
from airflow_provider_mpi.testing.faults.injector import FaultInjector, RequestMatch, WatchMatch
from airflow_provider_mpi.testing.faults.model import Fault, FaultDecision, FaultKind, RequestInfo

__all__ = [
    "Fault",
    "FaultDecision",
    "FaultInjector",
    "FaultKind",
    "RequestCounters",
    "RequestInfo",
    "RequestMatch",
    "RequestStats",
    "Verb",
    "WatchMatch",
]
