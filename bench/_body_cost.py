"""What a create costs the real API server, by body: is any of it the tracker's doing?

``bench_array_real`` runs this on loopback before its phases: ``count``
creates of each body below, 32 in flight, with a bare ``kubernetes_asyncio``
client (no tracker code), reading the CPU of every control-plane process
around each batch and letting the plane settle in between:

- ``tracker's task``: an array task exactly as the tracker builds it
  (``prepare_array``), with its annotations (the submission token, the
  template as JSON, ``max_parallel``) and labels;
- ``same, no annotations/labels``: the same MPIJob without that metadata;
- ``minimal MPIJob``: one launcher container, nothing else;
- ``ConfigMap, same bytes``: a ConfigMap holding the tracker's task as text,
  as large as it, to set the CRD's price apart from the size.

A rehearsal pass warms the server up (its first MPIJob creates cost
more); of the passes after it (two by default), each body's cheapest one
is reported (other work on the machine only ever adds CPU).
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from _cpu_meter import CpuMeter
from _harness import scripted_template

__all__ = ["BODIES", "body_costs"]

MPIJOBS = "/apis/kubeflow.org/v2beta1/namespaces/{ns}/mpijobs"
CONFIGMAPS = "/api/v1/namespaces/{ns}/configmaps"
IN_FLIGHT = 32
#: Measured passes after the rehearsal (default); each body's cheapest pass is reported.
PASSES = 2
BODIES = (
    "tracker's task",
    "same, no annotations/labels",
    "minimal MPIJob",
    "ConfigMap, same bytes",
)


def _bodies(namespace: str) -> dict[str, dict[str, Any]]:
    from airflow_provider_mpi.mpioperator.tracker.submission import prepare_array

    plan = prepare_array(scripted_template(3600.0, name="cost"), 1, 2, 1, 1, namespace=namespace)
    task = plan.tasks[1]
    bare = copy.deepcopy(task)
    bare["metadata"]["annotations"] = {}
    bare["metadata"]["labels"] = {}
    container = {"name": "launcher", "image": "mpioperator/mpi-pi:openmpi"}
    minimal = {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {"name": "cost", "namespace": namespace},
        "spec": {
            "mpiReplicaSpecs": {
                "Launcher": {"replicas": 1, "template": {"spec": {"containers": [container]}}}
            }
        },
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cost", "namespace": namespace},
        "data": {"task": json.dumps(task)},
    }
    return dict(zip(BODIES, (task, bare, minimal, config_map), strict=True))


async def _create_all(
    kubeconfig: str, namespace: str, body: dict[str, Any], prefix: str, count: int
) -> None:
    from kubernetes_asyncio import client, config

    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    api = client.ApiClient(configuration)
    path = (MPIJOBS if body["kind"] == "MPIJob" else CONFIGMAPS).format(ns=namespace)
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def create(index: int) -> None:
        one = copy.deepcopy(body)
        one["metadata"]["name"] = f"{prefix}-{index}"
        async with gate:
            response = await api.call_api(
                path,
                "POST",
                body=one,
                header_params={"Content-Type": "application/json", "Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
            )
            await response.read()
            response.release()
            if response.status != 201:
                raise RuntimeError(f"create {path} answered {response.status}")

    try:
        await asyncio.gather(*(create(i) for i in range(count)))
    finally:
        await api.close()


def body_costs(
    kubeconfig: str,
    namespace: str,
    meter: CpuMeter,
    plane: tuple[str, ...],
    count: int,
    passes: int = PASSES,
) -> list[tuple[str, int, dict[str, float]]]:
    """CPU ms per create by process, for each body: (body, bytes, ms by process name)."""
    bodies = _bodies(namespace)
    best: dict[str, dict[str, float]] = {}
    for rounds in range(1 + passes):
        for index, (label, body) in enumerate(bodies.items()):
            before = meter.read()
            asyncio.run(_create_all(kubeconfig, namespace, body, f"cost{rounds}{index}", count))
            spent = CpuMeter.spent(before, meter.read())
            meter.settle(plane)
            per = {name: 1000.0 * cpu / count for name, cpu in spent.items()}
            if rounds and (
                label not in best or sum(per[n] for n in plane) < sum(best[label][n] for n in plane)
            ):
                best[label] = per
    return [(label, len(json.dumps(body)), best[label]) for label, body in bodies.items()]
