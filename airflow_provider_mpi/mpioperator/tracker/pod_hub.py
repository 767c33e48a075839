"""The MPI operator's pods of a namespace, from one shared watch: JobInfo without a read.

When a job ends, its JobInfo needs the launcher pod (exit code, signal,
reason, pod name, node). Reading it per ending job costs a list per job, so
a burst of 100 ends a second costs 100 requests a second.
:class:`JobPodHub` instead keeps one list+watch per cluster and namespace
(per event loop) of the launcher pods, the pods the operator v0.8.2 labels
``training.kubeflow.org/job-role=launcher``, holding for each only what
:func:`~.status.job_info_from_mpi_job` reads (:func:`~.status.pod_for_info`),
indexed by the ``training.kubeflow.org/job-name`` label. A waiter whose job
ended asks :meth:`JobPodHub.pods_at` for the job's pods as of the MPIJob
version it saw.

Workers are left out: their changes grow with the workers of every job in
the namespace, and they only add their nodes to ``allocated_machines``
(measured with one worker per job at 100 ends/s, watching them too cost
the client its p99: 126-148 ms against 45-54 ms; ``bench/bench_scale.py``).
The JobInfo of ``wait_info`` therefore lists the launcher's node;
``job_info()`` reads every pod.

Two streams are not ordered against each other: the MPIJob's end may arrive
before the launcher pod's last change, although the pod changed first (the
kubelet writes the pod, the Job controller then the Job, the operator then
the MPIJob). resourceVersions of one API server grow across kinds, so
``pods_at`` waits until the pod stream has reached the MPIJob's version, or
the job's launcher pod shows its end, whichever comes first, at most
``grace`` seconds (a quiet stream moves on with the next bookmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error
from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.descriptor import Request
from airflow_provider_mpi.mpioperator.client.transport import AsyncTransport as AsyncMPIJobApi
from airflow_provider_mpi.mpioperator.status import JOB_NAME_LABEL, JOB_ROLE_LABEL, pod_for_info
from airflow_provider_mpi.mpioperator.tracker.hub_gc import compact
from airflow_provider_mpi.mpioperator.tracker.shared_watch import SharedWatch, version_number
from airflow_provider_mpi.mpioperator.tracker.waiting import MAX_WATCH_SECONDS
from airflow_provider_mpi.mpioperator.tracker.watch_cursor import JobChange

__all__ = ["MPI_PODS_SELECTOR", "PODS_GRACE_SECONDS", "JobPodHub", "PodSubscription"]

#: The pods the hub follows: the launcher pods of every MPIJob (see the module doc).
MPI_PODS_SELECTOR = f"{JOB_ROLE_LABEL}=launcher"
#: The longest wait for the pod stream to catch up with an MPIJob's end.
PODS_GRACE_SECONDS = 2.0


class PodSubscription:
    """A waiter's membership: it keeps the stream open and names the client it may run on.

    Args:
        api: the waiter's API layer.
        hub: the hub it keeps running.
    """

    __slots__ = ("_hub", "api")

    def __init__(self, api: AsyncMPIJobApi, hub: JobPodHub) -> None:
        self._hub = hub
        self.api = api

    async def __aenter__(self) -> PodSubscription:
        self._hub._join(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._hub._leave(self)


def _job_of(pod: Mapping[str, Any]) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(JOB_NAME_LABEL) or "")


def _launcher_ended(pods: Mapping[str, Mapping[str, Any]]) -> bool:
    for pod in pods.values():
        if (pod["metadata"]["labels"].get(JOB_ROLE_LABEL)) != "launcher":
            continue
        for status in pod["status"]["containerStatuses"]:
            if "state" in status:  # only a terminated state is kept
                return True
    return False


class JobPodHub(SharedWatch[PodSubscription]):
    """The shared list+watch of the MPI operator's pods of one namespace (module doc)."""

    kind = "pods"

    def _reset(self) -> None:
        self._pods: dict[str, dict[str, dict[str, Any]]] = {}  # job name -> pod name -> pod
        self._moved = asyncio.Event()
        self._sleepers = 0  # waiters inside pods_at, waiting for the stream to move

    def subscribe(self, api: AsyncMPIJobApi) -> PodSubscription:
        """Keep the stream running for the duration of an ``async with`` block.

        Args:
            api: the waiter's API layer (its client must stay open meanwhile).

        Returns:
            The membership, an async context manager.
        """
        return PodSubscription(api, self)

    def pods(self, job_name: str) -> list[dict[str, Any]]:
        """The pods of a job as the hub holds them now (projections, see the module doc)."""
        return list(self._pods.get(job_name, {}).values())

    async def pods_at(
        self, job_name: str, version: str, grace: float = PODS_GRACE_SECONDS
    ) -> list[dict[str, Any]]:
        """The pods of a job, once the stream caught up with an MPIJob ``version``.

        Args:
            job_name: the MPIJob's name.
            version: the resourceVersion of the MPIJob as the waiter saw it end.
            grace: the longest wait for the stream to catch up.

        Returns:
            The job's pods (projections).

        Raises:
            DRMAA2Error: the pod stream failed for good.
        """
        await self._wait_synced()
        until = time.monotonic() + grace
        wanted = version_number(version)
        while not self._caught_up(job_name, wanted):
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            moved = self._moved
            self._sleepers += 1
            try:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(moved.wait(), remaining)
            finally:
                self._sleepers -= 1
            if self._failure is not None:
                raise self._failure
        return self.pods(job_name)

    def _caught_up(self, job_name: str, wanted: int | None) -> bool:
        reached = version_number(self._cursor.resource_version)
        if wanted is None or reached is None or reached >= wanted:
            return True
        return _launcher_ended(self._pods.get(job_name, {}))

    def _signal(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    # The stream's side (see SharedWatch)

    def _list_request(self) -> Request:
        return rq.list_pods(self.namespace, MPI_PODS_SELECTOR)

    def _watch_request(self, resource_version: str) -> Request:
        return rq.watch_pods(
            self.namespace,
            label_selector=MPI_PODS_SELECTOR,
            resource_version=resource_version,
            timeout_seconds=MAX_WATCH_SECONDS,
        )

    def _listed(self, items: list[dict[str, Any]], version: str, relist: bool) -> None:
        self._pods = {}
        for pod in items:
            self._keep(pod)
        self._signal()

    def _keep(self, pod: Mapping[str, Any]) -> None:
        kept = compact(pod_for_info(pod))
        self._pods.setdefault(_job_of(kept), {})[str(kept["metadata"]["name"])] = kept

    def _changed(self, change: JobChange | None) -> None:
        if change is not None:
            if change.deleted:
                job = _job_of(change.object)
                pods = self._pods.get(job)
                if pods is not None:
                    pods.pop(change.name, None)
                    if not pods:
                        del self._pods[job]
            else:
                self._keep(change.object)
        if self._sleepers:
            self._signal()

    def _failed(self, error: DRMAA2Error) -> None:
        self._signal()
