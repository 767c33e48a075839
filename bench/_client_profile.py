"""Where the client's CPU goes in one async array submission on the real API server (cProfile).

``bench_array_real.py --profile``: the real control plane on loopback, one
async ``add_array_job`` of ``tasks`` tasks (``max_parallel`` 1) under
cProfile, then this process's CPU split by the package whose code ran (own
time of each function: ours, ``kubernetes_asyncio``, ``aiohttp``, the
standard library's ``asyncio``/``ssl``/``json``/``copy``...), and the
functions of ours and of the libraries that cost most. cProfile slows
Python code more than C code, so the shares are rough; the CPU per task
without the profiler is printed beside them.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import sys
import time
from collections import defaultdict
from typing import Any

from _array_clients import NAMESPACE, async_array
from _harness import scripted_template, table

__all__ = ["profile_async_array"]

_PACKAGES = (
    ("airflow_provider_mpi", "airflow_provider_mpi (ours)"),
    ("kubernetes_asyncio", "kubernetes_asyncio"),
    ("aiohttp", "aiohttp"),
    ("yarl", "yarl/multidict"),
    ("multidict", "yarl/multidict"),
    ("asyncio", "asyncio (stdlib)"),
    ("ssl", "ssl (stdlib)"),
    ("json", "json (stdlib)"),
    ("copy", "copy (stdlib)"),
)


def _package(filename: str, function: str) -> str:
    if filename == "~":
        text = function
        if "ssl" in text.lower() or "SSL" in text:
            return "ssl (stdlib)"
        if "epoll" in text or "socket" in text:
            return "sockets/epoll (C)"
        return "builtins (C)"
    for part, label in _PACKAGES:
        if f"/{part}/" in filename or filename.endswith(f"/{part}.py"):
            return label
    return "other stdlib"


async def _profiled(kubeconfig: str, tasks: int, profile: cProfile.Profile) -> tuple[float, float]:
    from kubernetes_asyncio import client, config

    from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker

    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    api_client = client.ApiClient(configuration)
    try:
        tracker = AsyncMPIOperatorTracker(api_client, namespace=NAMESPACE)
        jt = scripted_template(3600.0, name="prof-async")
        cpu, began = time.process_time(), time.perf_counter()
        profile.enable()
        await tracker.add_array_job(jt, 1, tasks, 1, 1)
        profile.disable()
        return time.perf_counter() - began, time.process_time() - cpu
    finally:
        await api_client.close()


def _prepare_cpu(tasks: int) -> float:
    """CPU seconds of the tracker's pure part of a submission: every task built and validated."""
    from airflow_provider_mpi.mpioperator.tracker.submission import prepare_array

    jt = scripted_template(3600.0, name="prof-prepare")
    began = time.process_time()
    prepare_array(jt, 1, tasks, 1, 1, namespace=NAMESPACE)
    return time.process_time() - began


def profile_async_array(tasks: int) -> int:
    """Profile one array on a real control plane; print the CPU by package and the top functions."""
    from airflow_provider_mpi.testing.real import RealCluster

    profile = cProfile.Profile(time.process_time)  # CPU, not the wall time spent in epoll
    with RealCluster(namespace=NAMESPACE, nodes=(), wait_for_machine=600) as cluster:
        plain_cpu = time.process_time()
        plain = async_array(cluster.kubeconfig_path, tasks, "prof-plain", None, None)
        plain_cpu = time.process_time() - plain_cpu
        seconds, cpu = asyncio.run(_profiled(cluster.kubeconfig_path, tasks, profile))
    prepare = min(_prepare_cpu(tasks) for _ in range(3))
    stats: Any = pstats.Stats(profile)
    by_package: dict[str, float] = defaultdict(float)
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in stats.stats.items():
        package = _package(filename, function)
        by_package[package] += own
        rows.append(
            (own, cumulative, calls, package, f"{os.path.basename(filename)}:{line}({function})")
        )
    total = sum(by_package.values())
    print(
        f"\nClient CPU of one async add_array_job of {tasks} tasks on the real API server "
        f"(loopback, load average {os.getloadavg()[0]:.1f}): without the profiler {plain:.1f} s, "
        f"{1000 * plain_cpu / tasks:.2f} CPU ms per task; under cProfile {seconds:.1f} s, "
        f"{1000 * cpu / tasks:.2f} CPU ms per task. Of the unprofiled figure, "
        f"{1000 * prepare / tasks:.2f} ms per task is prepare_array (every task converted, "
        f"validated and built before the first request, measured alone), the rest is sending\n"
    )
    print(
        table(
            ["package (own time)", "CPU ms per task", "share"],
            [
                (name, 1000 * own / tasks, f"{100 * own / total:.0f} %")
                for name, own in sorted(by_package.items(), key=lambda item: -item[1])
            ],
        )
    )
    rows.sort(reverse=True)
    print("\nTop functions by own time")
    print(
        table(
            ["own ms/task", "cum ms/task", "calls", "package", "function"],
            [
                (1000 * own / tasks, 1000 * cum / tasks, calls, package, where)
                for own, cum, calls, package, where in rows[:20]
            ],
        )
    )
    ours = sorted((r for r in rows if r[3].endswith("(ours)")), key=lambda r: -r[1])
    print("\nOurs, by cumulative time")
    print(
        table(
            ["cum ms/task", "own ms/task", "calls", "function"],
            [
                (1000 * cum / tasks, 1000 * own / tasks, calls, where)
                for own, cum, calls, _, where in ours[:15]
            ],
        )
    )
    sys.stdout.flush()
    return 0
