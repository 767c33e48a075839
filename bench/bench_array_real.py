"""Benchmark: array submission against sequential add_job, on the REAL API server and the emulator.

``bench_array.py`` measures submission speed on the emulator, whose API
server is Python sharing 2 cores with the client, so both sides are
CPU-bound and the ratio says little about a real cluster. Here, in one run:

1. the real control plane (``RealCluster``: Go kube-apiserver v1.35.4 and
   etcd, the real mpi-operator v0.8.2 reconciling every new MPIJob);
2. then the emulator's API server alone (``ClusterProcess``, controllers
   idle on a stopped clock), as ``bench_array``'s first setting.

On each: ``--tasks`` (1,000) jobs submitted one after the other with
``MPIOperatorTracker.add_job``, then one array of as many tasks with the sync
tracker and with the async tracker (``add_array_job(jt, 1, N, 1, 1)``: one
create per task, plus the array's owner ConfigMap; the tasks are held by
``max_parallel`` 1 so none runs). Figures: seconds, jobs/s, the ratio
``array seconds / sequential seconds`` with a verdict against 0.1 (issue 15:
arrays at least 10x faster), this process's CPU seconds (the client's) and
the server's (kube-apiserver and etcd, or the emulator's process), to show
which side bounds the rate.

On this machine the client and the API server share one loopback and 2
cores: a create costs the server's CPU and no wait, so the server's CPU bounds
any client. A cluster's API server is usually across a network: ``--rtt-ms``
(0, 2, 5 and 10 ms by default) puts the real server that far away through a
proxy of its own process (``_latency_proxy.py``), which delays every chunk by
half the round trip each way, and measures the three submissions again.

Both trackers use the API client as a user's kubeconfig makes it
(``config.new_client_from_config``), so the client's connection pool is the
library default (kubernetes: 5 per CPU, 10 here, which bounds the sync
tracker's threads; kubernetes_asyncio: 100); ``--pool`` sets it on both.

Run from the repository root with the real cluster's binaries built
(``MPI_REAL_CLUSTER_CACHE``, ``/usr/local/go/bin`` on PATH):
``.venv/bin/python bench/bench_array_real.py`` (``--quick``: 200 tasks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ClusterProcess, scripted_template, table, verdict
from _latency_proxy import LatencyProxy, kubeconfig_via, server_port

NAMESPACE = "default"
#: The real control plane's processes that serve a create.
SERVER = ("kube-apiserver", "etcd")


@dataclass
class Speed:
    """One way of submitting, on one server."""

    server: str
    how: str
    seconds: float
    client_cpu: float
    server_cpu: float


def _sync_client(kubeconfig: str, pool: int | None) -> object:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    if pool:
        configuration.connection_pool_maxsize = pool
    return client.ApiClient(configuration)


def sequential(kubeconfig: str, jobs: int, prefix: str, pool: int | None) -> float:
    """The baseline: ``jobs`` single ``add_job`` calls, one after the other."""
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    api_client = _sync_client(kubeconfig, pool)
    tracker = MPIOperatorTracker(api_client=api_client, namespace=NAMESPACE)
    templates = [scripted_template(3600.0, name=f"{prefix}-seq-{i}") for i in range(1, jobs + 1)]
    started = time.perf_counter()
    for jt in templates:
        tracker.add_job(jt)
    seconds = time.perf_counter() - started
    api_client.close()  # type: ignore[attr-defined]
    return seconds


def sync_array(kubeconfig: str, tasks: int, prefix: str, pool: int | None) -> float:
    """One array with the sync tracker."""
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    api_client = _sync_client(kubeconfig, pool)
    tracker = MPIOperatorTracker(api_client=api_client, namespace=NAMESPACE)
    jt = scripted_template(3600.0, name=f"{prefix}-sync")
    started = time.perf_counter()
    tracker.add_array_job(jt, 1, tasks, 1, 1)
    seconds = time.perf_counter() - started
    api_client.close()  # type: ignore[attr-defined]
    return seconds


def async_array(kubeconfig: str, tasks: int, prefix: str, pool: int | None) -> float:
    """One array with the async tracker (the trigger's and deferrable operator's path)."""

    async def submit() -> float:
        from kubernetes_asyncio import client, config

        from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker

        configuration = client.Configuration()
        await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        if pool:
            configuration.connection_pool_maxsize = pool
        api_client = client.ApiClient(configuration)
        try:
            tracker = AsyncMPIOperatorTracker(api_client, namespace=NAMESPACE)
            jt = scripted_template(3600.0, name=f"{prefix}-async")
            began = time.perf_counter()
            await tracker.add_array_job(jt, 1, tasks, 1, 1)
            return time.perf_counter() - began
        finally:
            await api_client.close()

    return asyncio.run(submit())


def process_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far, from /proc."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measure(
    server: str, kubeconfig: str, tasks: int, pool: int | None, pids: list[int]
) -> list[Speed]:
    """The three submissions on one server (``pids``: the server's processes)."""
    rows = []
    prefix = "emu" if server == "emulator" else "real" + "".join(c for c in server if c.isdigit())
    for how, submit in (
        ("sequential add_job", sequential),
        ("sync add_array_job", sync_array),
        ("async add_array_job", async_array),
    ):
        cpu, server_cpu = time.process_time(), process_cpu(pids)
        seconds = submit(kubeconfig, tasks, prefix, pool)
        rows.append(
            Speed(server, how, seconds, time.process_time() - cpu, process_cpu(pids) - server_cpu)
        )
        print(f"  {server}: {how} done ({seconds:.1f} s)", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run both servers, print the tables and verdicts."""
    from airflow_provider_mpi.testing.real import RealCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000, help="jobs per submission (1000)")
    parser.add_argument("--pool", type=int, default=None, help="client connection pool size")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        nargs="+",
        default=[0.0, 2.0, 5.0, 10.0],
        help="round trips added between client and real API server (0 2 5 10 ms)",
    )
    parser.add_argument("--quick", action="store_true", help="200 tasks")
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks = 200

    began = time.monotonic()
    speeds: dict[str, list[Speed]] = {}
    with (
        RealCluster(namespace=NAMESPACE, nodes=(), wait_for_machine=600) as cluster,
        tempfile.TemporaryDirectory(prefix="bench-array-real-") as folder,
    ):
        pids = [pid for name, pid in cluster.pids.items() if name in SERVER]
        for rtt in args.rtt_ms:
            server = "real API server" + (f", {rtt:g} ms away" if rtt else "")
            if not rtt:
                speeds[server] = measure(
                    server, cluster.kubeconfig_path, args.tasks, args.pool, pids
                )
                continue
            with LatencyProxy(server_port(cluster.kubeconfig_path), rtt) as proxy:
                kubeconfig = kubeconfig_via(
                    cluster.kubeconfig_path, proxy.port, Path(folder) / f"rtt-{rtt:g}.yaml"
                )
                speeds[server] = measure(server, kubeconfig, args.tasks, args.pool, pids)
    with ClusterProcess(speed="manual") as emulator:
        pid = emulator._process.pid
        assert pid is not None
        speeds["emulator"] = measure(
            "emulator", emulator.kubeconfig_path, args.tasks, args.pool, [pid]
        )

    pool = args.pool or "library default"
    print(
        f"\nSubmission of {args.tasks} jobs: one by one against one array, on the real "
        f"control plane (kube-apiserver v1.35.4 + etcd, mpi-operator v0.8.2), on loopback and "
        f"at added round trips of {', '.join(f'{r:g}' for r in args.rtt_ms if r)} ms, and on "
        f"the emulator's API server alone, in one run; client pool: {pool} "
        f"({time.monotonic() - began:.0f} s)\n"
    )
    rows = []
    for server, measured in speeds.items():
        base = measured[0].seconds
        rows += [
            (
                server,
                r.how,
                r.seconds,
                args.tasks / r.seconds,
                r.seconds / base,
                r.client_cpu,
                r.server_cpu,
                r.server_cpu / r.seconds,
            )
            for r in measured
        ]
    print(
        table(
            [
                "server",
                "how",
                "seconds",
                "jobs/s",
                "ratio",
                "client CPU s",
                "server CPU s",
                "server cores",
            ],
            rows,
        )
    )
    print(
        "(server CPU: kube-apiserver + etcd, or the emulator's process; 'server cores': "
        "its CPU seconds per second of the submission)\n"
    )
    print()
    for server, measured in speeds.items():
        base = measured[0].seconds
        print(
            verdict(
                f"{server}: an array submits >= 10x faster than add_job one by one (ratio <= 0.1)",
                all(r.seconds / base <= 0.1 for r in measured[1:]),
                "; ".join(f"{r.how}: {r.seconds / base:.3f}" for r in measured[1:]),
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
