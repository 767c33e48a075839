"""Writes to a real API server from a process of its own, for the benchmarks' real tier.

The emulator's benchmarks change jobs straight in its store (``_harness``).
A real control plane (``testing.real.RealCluster``: Go kube-apiserver, etcd,
the real mpi-operator) has no store to reach into, so :class:`RealDriver`
makes the changes through the API, as the controllers would, from a child
process with its own event loop and its own (admin) client, so that the
client under test in the parent process pays nothing for them:

- ``create(names)``: for each name an MPIJob with
  ``runPolicy.managedBy: kueue.x-k8s.io/multikueue`` (the real operator's
  own delegation: v0.8.2 leaves such a job to another controller, as with
  MultiKueue, whose status it mirrors through the API) and its launcher pod,
  labelled as the operator labels it (``training.kubeflow.org/job-role=launcher``,
  ``job-name``), left Pending (a scheduler name no scheduler serves, so the
  real scheduler spends nothing on 5,000 unschedulable pods);
- ``end(names)``: for each job, the launcher pod's status (``Succeeded``,
  container terminated with exit code 0, as a kubelet writes it) and then
  the MPIJob's status (``Created``, ``Running`` False, ``Succeeded`` True,
  as the operator writes it), through the ``status`` subresources; per job
  it returns when the MPIJob's status request was sent and when its answer
  came (``time.time()``, the same clock as the parent's): the write was
  committed in between, so a delay measured from the first is an upper
  bound and from the second a lower one;
- ``clear()``: delete every MPIJob and pod of the namespace.

Writes run with at most ``CONCURRENCY`` requests in flight.

:class:`RealObserver` is a third process with one plain watch of the
MPIJobs (no provider code): it stamps when the API server delivered each
job's ``Succeeded`` condition. A waiter's return minus that stamp is the
client's own share of the delay (its hubs, its collector, its event loop),
without the server's write and delivery, which on a loaded 2-core machine
depend on what else runs.
"""

from __future__ import annotations

import asyncio
import datetime
import multiprocessing
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["RealDriver", "RealObserver"]

GROUP, VERSION, PLURAL = "kubeflow.org", "v2beta1", "mpijobs"
CONCURRENCY = 32
MERGE = "application/merge-patch+json"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mpijob(name: str, namespace: str) -> dict[str, Any]:
    container = {"name": "launcher", "image": "mpioperator/mpi-pi:openmpi", "command": ["true"]}
    worker = {"name": "worker", "image": "mpioperator/mpi-pi:openmpi"}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MPIJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "slotsPerWorker": 1,
            "runPolicy": {"managedBy": "kueue.x-k8s.io/multikueue"},
            "mpiReplicaSpecs": {
                "Launcher": {"replicas": 1, "template": {"spec": {"containers": [container]}}},
                "Worker": {"replicas": 1, "template": {"spec": {"containers": [worker]}}},
            },
        },
    }


def _launcher(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-launcher",
            "namespace": namespace,
            "labels": {
                "training.kubeflow.org/job-name": name,
                "training.kubeflow.org/job-role": "launcher",
                "training.kubeflow.org/operator-name": "mpi-operator",
            },
        },
        "spec": {
            "schedulerName": "bench-unscheduled",  # no scheduler picks it: Pending, untouched
            "restartPolicy": "Never",
            "containers": [{"name": "launcher", "image": "mpioperator/mpi-pi:openmpi"}],
        },
    }


def _condition(kind: str, status: str, reason: str, now: str) -> dict[str, str]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": f"MPIJob {reason}",
        "lastUpdateTime": now,
        "lastTransitionTime": now,
    }


async def _serve(conn: Connection, kubeconfig: str, namespace: str) -> None:
    from kubernetes_asyncio import client, config

    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    configuration.connection_pool_maxsize = CONCURRENCY  # no queueing inside the client
    api_client = client.ApiClient(configuration)
    custom, core = client.CustomObjectsApi(api_client), client.CoreV1Api(api_client)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def create(name: str) -> None:
        async with limit:
            await custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, _mpijob(name, namespace)
            )
            await core.create_namespaced_pod(namespace, _launcher(name, namespace))

    async def end(name: str) -> tuple[str, tuple[float, float]]:
        async with limit:
            now = _now()
            terminated = {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}
            pod_status = {
                "phase": "Succeeded",
                "containerStatuses": [
                    {
                        "name": "launcher",
                        "image": "mpioperator/mpi-pi:openmpi",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"terminated": terminated},
                    }
                ],
            }
            await core.patch_namespaced_pod_status(
                f"{name}-launcher", namespace, {"status": pod_status}, _content_type=MERGE
            )
            status = {
                "conditions": [
                    _condition("Created", "True", "MPIJobCreated", now),
                    _condition("Running", "False", "MPIJobSucceeded", now),
                    _condition("Succeeded", "True", "MPIJobSucceeded", now),
                ],
                "replicaStatuses": {"Launcher": {"succeeded": 1}, "Worker": {}},
                "startTime": now,
                "completionTime": now,
            }
            sent = time.time()
            await custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURAL, name, {"status": status}, _content_type=MERGE
            )
            return name, (sent, time.time())

    try:
        while True:
            command, args = await asyncio.to_thread(conn.recv)
            if command == "stop":
                conn.send(None)
                return
            if command == "create":
                await asyncio.gather(*(create(name) for name in args))
                conn.send(len(args))
            elif command == "end":
                conn.send(dict(await asyncio.gather(*(end(name) for name in args))))
            elif command == "clear":
                await custom.delete_collection_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL
                )
                await core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
                conn.send(None)
    finally:
        await api_client.close()


def _child(conn: Connection, kubeconfig: str, namespace: str) -> None:
    asyncio.run(_serve(conn, kubeconfig, namespace))


async def _observe(conn: Connection, kubeconfig: str, namespace: str) -> None:
    import json

    from kubernetes_asyncio import client, config

    api_client = await config.new_client_from_config(config_file=kubeconfig, persist_config=False)
    custom = client.CustomObjectsApi(api_client)
    stamps: dict[str, float] = {}

    async def follow() -> None:
        version = (await custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL))[
            "metadata"
        ]["resourceVersion"]
        while True:
            response = await custom.list_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                watch=True,
                resource_version=version,
                timeout_seconds=300,
                _preload_content=False,
            )
            async with response:
                async for line in response.content:
                    now = time.time()
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    for condition in (obj.get("status") or {}).get("conditions") or ():
                        if condition.get("type") == "Succeeded" and condition["status"] == "True":
                            stamps.setdefault(obj["metadata"]["name"], now)

    task = asyncio.ensure_future(follow())
    conn.send(None)  # watching
    try:
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command == "stop" or task.done():
                conn.send(None if not task.done() else repr(task.exception()))
                return
            conn.send(dict(stamps))
            stamps.clear()
    finally:
        task.cancel()
        await api_client.close()


def _observer_child(conn: Connection, kubeconfig: str, namespace: str) -> None:
    asyncio.run(_observe(conn, kubeconfig, namespace))


class RealObserver:
    """The watching process (see the module doc); a context manager.

    Args:
        kubeconfig: an admin kubeconfig.
        namespace: the namespace of the jobs.
    """

    def __init__(self, kubeconfig: str, namespace: str = "default") -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_observer_child, args=(child, kubeconfig, namespace), daemon=True
        )

    def __enter__(self) -> RealObserver:
        self._process.start()
        self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
            self._conn.recv()
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()

    def stamps(self) -> dict[str, float]:
        """When each job's Succeeded condition was delivered, since the last call."""
        self._conn.send("stamps")
        return dict(self._conn.recv())


class RealDriver:
    """The writer process (see the module doc); a context manager.

    Args:
        kubeconfig: an admin kubeconfig (``RealCluster.admin_kubeconfig_path``).
        namespace: the namespace of the jobs.
    """

    def __init__(self, kubeconfig: str, namespace: str = "default") -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child, kubeconfig, namespace), daemon=True
        )

    def __enter__(self) -> RealDriver:
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._ask("stop")
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()

    def _ask(self, command: str, args: Any = None) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def create(self, names: Sequence[str]) -> int:
        """Create the MPIJobs and their launcher pods; returns how many."""
        return int(self._ask("create", list(names)))

    def end(self, names: Sequence[str]) -> dict[str, tuple[float, float]]:
        """End the jobs; returns, per job, when its MPIJob status write was sent and answered."""
        return dict(self._ask("end", list(names)))

    def clear(self) -> None:
        """Delete every MPIJob and pod of the namespace."""
        self._ask("clear")
