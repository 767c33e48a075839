"""Where the client's CPU goes in one async array submission on the real API server.

``bench_array_real.py --profile``: the real control plane on loopback, one
async ``add_array_job`` of ``tasks`` tasks (``max_parallel`` 1), its client
CPU per task, and the parts of it measured alone on the same tasks, each
the best of three (no profiler: cProfile inflates pure-Python code made of
many small calls, such as the template conversion, several times more than
the C-heavy sending, and mis-states the split):

- ``prepare_array``: every task converted, validated and built before the
  first request (ours);
- the library's body encoding as ``kubernetes_asyncio`` does it for each
  create (``sanitize_for_serialization``, then ``json.dumps``);
- decoding a create's answer (``json.loads`` of the created object as the
  API server returns it): the transport did this for every create until
  session 5 and now reads the answer and drops it, as no one reads it;
- one ``RetryPolicy.start`` per create (ours: a retry state with its jitter
  source);
- the rest: aiohttp, TLS, the event loop and the tracker's window.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from _array_clients import NAMESPACE, async_array
from _harness import scripted_template, table

__all__ = ["profile_async_array"]

#: What the transports did per create until session 5 (they now drop the answer unread).
DROPPED = "decoding a create's answer (json.loads)"
#: Submissions measured (the least CPU is reported: other work only ever adds).
RUNS = 3


def _best(part: Callable[[], object]) -> float:
    """The least CPU seconds of three calls of ``part``."""
    spent = []
    for _ in range(3):
        began = time.process_time()
        part()
        spent.append(time.process_time() - began)
    return min(spent)


def _created(kubeconfig: str, name: str) -> bytes:
    """One array task as the API server answered its create (read back: the same object)."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=kubeconfig)
    try:
        response = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            "kubeflow.org", "v2beta1", NAMESPACE, "mpijobs", name, _preload_content=False
        )
        return bytes(response.data)
    finally:
        api_client.close()


def _parts(tasks: int, answer: bytes) -> dict[str, float]:
    from kubernetes_asyncio.client import ApiClient

    from airflow_provider_mpi.mpioperator.client.descriptor import decode_json
    from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
    from airflow_provider_mpi.mpioperator.tracker.submission import prepare_array

    jt = scripted_template(3600.0, name="prof-parts")
    plan = prepare_array(jt, 1, tasks, 1, 1, namespace=NAMESPACE)
    # The method needs no connection: an instance without __init__ (which opens a session).
    sanitize: Any = ApiClient.__new__(ApiClient).sanitize_for_serialization
    policy = RetryPolicy()
    return {
        "prepare_array (ours: convert, validate, build every task)": _best(
            lambda: prepare_array(jt, 1, tasks, 1, 1, namespace=NAMESPACE)
        ),
        "body encoding (kubernetes_asyncio: sanitize + json.dumps)": _best(
            lambda: [json.dumps(sanitize(task)) for task in plan.tasks]
        ),
        DROPPED: _best(lambda: [decode_json(answer) for _ in range(tasks)]),
        "RetryPolicy.start per create (ours: a new random.Random)": _best(
            lambda: [policy.start(0.0) for _ in range(tasks)]
        ),
    }


def profile_async_array(tasks: int) -> int:
    """Submit one array on a real control plane; print its client CPU and its parts alone."""
    from airflow_provider_mpi.testing.real import RealCluster

    with RealCluster(namespace=NAMESPACE, nodes=(), wait_for_machine=600) as cluster:
        async_array(cluster.kubeconfig_path, tasks, "prof-warm", None, None)  # imports, TLS
        runs = []
        for index in range(RUNS):
            cpu = time.process_time()
            seconds = async_array(cluster.kubeconfig_path, tasks, f"prof{index}", None, None)
            runs.append((time.process_time() - cpu, seconds))
        answer = _created(cluster.kubeconfig_path, "prof0-async-1")
    cpu, seconds = min(runs)
    parts = _parts(tasks, answer)
    dropped = parts.pop(DROPPED)
    rest = cpu - sum(parts.values())
    print(
        f"\nClient CPU of one async add_array_job of {tasks} tasks on the real API server "
        f"(loopback, load average {os.getloadavg()[0]:.1f}), the least of {RUNS} submissions: "
        f"{seconds:.1f} s, {1000 * cpu / tasks:.3f} CPU ms per task (all {RUNS}: "
        f"{', '.join(f'{1000 * c / tasks:.3f}' for c, _ in runs)}); its parts measured alone "
        "(best of 3):\n"
    )
    rows = [
        (part, f"{1000 * spent / tasks:.3f}", f"{100 * spent / cpu:.0f} %")
        for part, spent in parts.items()
    ]
    rows.append(
        (
            "the rest: aiohttp, TLS, event loop, the window",
            f"{1000 * rest / tasks:.3f}",
            f"{100 * rest / cpu:.0f} %",
        )
    )
    print(table(["part", "CPU ms per task", "share"], rows))
    print(
        f"(not in the submission any more: {DROPPED}, {1000 * dropped / tasks:.3f} ms per task "
        f"for a {len(answer):,}-byte answer, the first task as the server holds it)"
    )
    return 0
