"""Benchmark: a 1,000-task array job, submitted and driven to completion under max_parallel.

1. Submission: ``MPIOperatorTracker.add_array_job(template, 1, 1000, 1, 50)``;
   seconds and requests (the emulator's counters, by verb).
2. Completion: ``wait_array`` releases held tasks as earlier ones end; the
   emulator's store is watched from its own process, and the largest number
   of tasks active at once (created, not suspended, not ended) is recorded,
   which proves ``max_parallel`` from the cluster's side. The tasks are
   scripted to work a few emulated seconds on a fast emulated clock.

Both the sync tracker and the async tracker (the trigger's path) are run, one
array each, side by side.

3. Speed of submission against the baseline, in the same run: the same number
   of jobs submitted one after the other with ``add_job`` (sync), then the
   ratio ``array seconds / sequential seconds`` with a verdict against 0.1
   (issue 15: arrays at least 10x faster). An array creates its tasks many at
   once (an AIMD window of 16 growing to 64 creates in flight, halved on 429).
   Three settings: the emulated API server alone (controllers idle), the same
   with 10 ms added to every create (the round trip and etcd write of a
   remote API server), and with the simulated MPI operator reconciling every
   new MPIJob in the emulator's process. Beside each: the CPU seconds of the
   client and of the emulator.
   ``--submit-only`` skips the completion part.

Run from the repository root: ``.venv/bin/python bench/bench_array.py``
(``--quick`` for 200 tasks; ``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from _cpu_meter import process_cpu
from _harness import ClusterProcess, Counts, scripted_template, table, verdict

NAMESPACE = "default"


@dataclass
class Result:
    """One array, submitted and waited for."""

    tracker: str
    tasks: int
    max_parallel: int
    submit_s: float
    submit: Counts
    wait_s: float
    wait: Counts
    max_active: int
    max_running: int
    done: int


def run_sync(cluster: ClusterProcess, tasks: int, max_parallel: int, duration: float) -> Result:
    """Submit and wait with ``MPIOperatorTracker``."""
    from kubernetes import config

    from airflow_provider_mpi.drmaa2 import JobState
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    client = config.new_client_from_config(
        config_file=cluster.kubeconfig_path, persist_config=False
    )
    tracker = MPIOperatorTracker(api_client=client, namespace=NAMESPACE)
    jt = scripted_template(duration, name="sync-sweep")
    cluster.reset()
    started = time.perf_counter()
    array_id = tracker.add_array_job(jt, 1, tasks, 1, max_parallel)
    submit_s = time.perf_counter() - started
    submitted = cluster.counters()
    started = time.perf_counter()
    states = tracker.wait_array(array_id, 600)
    wait_s = time.perf_counter() - started
    waited = cluster.counters().minus(submitted)
    max_active, max_running, _ = cluster.active()
    client.close()
    cluster.clear()
    done = sum(state is JobState.DONE for state in states.values())
    return Result(
        "sync",
        tasks,
        max_parallel,
        submit_s,
        submitted,
        wait_s,
        waited,
        max_active,
        max_running,
        done,
    )


async def run_async(
    cluster: ClusterProcess, tasks: int, max_parallel: int, duration: float
) -> Result:
    """Submit and wait with ``AsyncMPIOperatorTracker`` (the trigger's path)."""
    from kubernetes_asyncio import config

    from airflow_provider_mpi.drmaa2 import JobState
    from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker

    client = await config.new_client_from_config(
        config_file=cluster.kubeconfig_path, persist_config=False
    )
    try:
        tracker = AsyncMPIOperatorTracker(client, namespace=NAMESPACE)
        jt = scripted_template(duration, name="async-sweep")
        await asyncio.to_thread(cluster.reset)
        started = time.perf_counter()
        array_id = await tracker.add_array_job(jt, 1, tasks, 1, max_parallel)
        submit_s = time.perf_counter() - started
        submitted = await asyncio.to_thread(cluster.counters)
        started = time.perf_counter()
        states = await tracker.wait_array(array_id, 600)
        wait_s = time.perf_counter() - started
        waited = (await asyncio.to_thread(cluster.counters)).minus(submitted)
        max_active, max_running, _ = await asyncio.to_thread(cluster.active)
    finally:
        await client.close()
    await asyncio.to_thread(cluster.clear)
    done = sum(state is JobState.DONE for state in states.values())
    return Result(
        "async",
        tasks,
        max_parallel,
        submit_s,
        submitted,
        wait_s,
        waited,
        max_active,
        max_running,
        done,
    )


@dataclass
class Speed:
    """One way of submitting ``jobs`` jobs, and what it cost on each side."""

    how: str
    seconds: float
    counts: Counts
    client_cpu: float
    server_cpu: float


def measured(cluster: ClusterProcess, how: str, submit: Callable[[], float]) -> Speed:
    """Run one submission; its wall time, and the CPU time of client and emulator."""
    pid = cluster._process.pid
    assert pid is not None
    client, server = time.process_time(), process_cpu(pid)
    seconds = submit()
    client_cpu, server_cpu = time.process_time() - client, process_cpu(pid) - server
    counts = cluster.counters()
    cluster.clear()
    return Speed(how, seconds, counts, client_cpu, server_cpu)


def run_sequential(cluster: ClusterProcess, jobs: int) -> float:
    """The baseline: ``jobs`` single ``add_job`` calls, one after the other."""
    from kubernetes import config

    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    client = config.new_client_from_config(
        config_file=cluster.kubeconfig_path, persist_config=False
    )
    tracker = MPIOperatorTracker(api_client=client, namespace=NAMESPACE)
    templates = [scripted_template(3600.0, name=f"seq-{i}") for i in range(1, jobs + 1)]
    cluster.reset()
    started = time.perf_counter()
    for jt in templates:
        tracker.add_job(jt)
    seconds = time.perf_counter() - started
    client.close()
    return seconds


def run_submit_only(cluster: ClusterProcess, tasks: int, tracker_kind: str) -> float:
    """Submit one array (no wait); tasks held by max_parallel=1 so nothing runs."""
    jt = scripted_template(3600.0, name=f"{tracker_kind}-only")
    if tracker_kind == "sync":
        from kubernetes import config

        from airflow_provider_mpi.mpioperator import MPIOperatorTracker

        client = config.new_client_from_config(
            config_file=cluster.kubeconfig_path, persist_config=False
        )
        tracker = MPIOperatorTracker(api_client=client, namespace=NAMESPACE)
        cluster.reset()
        started = time.perf_counter()
        tracker.add_array_job(jt, 1, tasks, 1, 1)
        seconds = time.perf_counter() - started
        client.close()
        return seconds

    async def submit() -> float:
        from kubernetes_asyncio import config as aconfig

        from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker

        aclient = await aconfig.new_client_from_config(
            config_file=cluster.kubeconfig_path, persist_config=False
        )
        try:
            atracker = AsyncMPIOperatorTracker(aclient, namespace=NAMESPACE)
            await asyncio.to_thread(cluster.reset)
            began = time.perf_counter()
            await atracker.add_array_job(jt, 1, tasks, 1, 1)
            return time.perf_counter() - began
        finally:
            await aclient.close()

    return asyncio.run(submit())


def main(argv: list[str] | None = None) -> int:
    """Run both trackers and print the tables and verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000, help="array size (1000)")
    parser.add_argument("--max-parallel", type=int, default=50, help="max_parallel (50)")
    parser.add_argument(
        "--duration", type=float, default=5.0, help="emulated seconds a task works (5)"
    )
    parser.add_argument(
        "--speed", type=float, default=25.0, help="emulated seconds per real second (25)"
    )
    parser.add_argument(
        "--trackers", nargs="+", choices=["sync", "async"], default=["sync", "async"]
    )
    parser.add_argument("--quick", action="store_true", help="200 tasks, max_parallel 20")
    parser.add_argument(
        "--submit-only", action="store_true", help="only the submission speed against add_job"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.max_parallel = 200, 20

    results: list[Result] = []
    started = time.monotonic()
    speeds: dict[str, list[Speed]] = {}
    # the API server alone (controllers idle on a stopped clock), then with the
    # simulated MPI operator reconciling every new MPIJob in the same process
    settings: list[tuple[str, float | str, float]] = [
        ("API server alone", "manual", 0.0),
        ("API server alone, 10 ms per create", "manual", 0.010),
        ("with the operator", args.speed, 0.0),
    ]
    for setting, clock, latency in settings:
        with ClusterProcess(speed=clock) as cluster:
            cluster.create_latency(latency)
            rows = [
                measured(cluster, "sequential add_job", lambda: run_sequential(cluster, args.tasks))
            ]
            for which in args.trackers:
                rows.append(
                    measured(
                        cluster,
                        f"{which} add_array_job",
                        lambda which=which: run_submit_only(cluster, args.tasks, which),
                    )
                )
            speeds[setting] = rows
        print(f"  submission speed ({setting}) done", file=sys.stderr, flush=True)
    with ClusterProcess(speed=args.speed) as cluster:
        for which in [] if args.submit_only else args.trackers:
            if which == "sync":
                results.append(run_sync(cluster, args.tasks, args.max_parallel, args.duration))
            else:
                results.append(
                    asyncio.run(run_async(cluster, args.tasks, args.max_parallel, args.duration))
                )
            print(f"  {which} done", file=sys.stderr, flush=True)
        errors = cluster.controller_errors()

    print(
        f"\nArray job of {args.tasks} tasks, max_parallel {args.max_parallel}, tasks of "
        f"{args.duration:g} emulated s at {args.speed:g}x (emulator in its own process; "
        f"{time.monotonic() - started:.0f} s)\n"
    )
    for setting, rows in speeds.items():
        base = rows[0].seconds
        print(f"Submission speed, {setting}: {args.tasks} jobs one by one vs one array")
        print(
            table(
                ["how", "seconds", "jobs/s", "ratio", "client CPU s", "emulator CPU s", "requests"],
                [
                    (
                        r.how,
                        r.seconds,
                        args.tasks / r.seconds,
                        r.seconds / base,
                        r.client_cpu,
                        r.server_cpu,
                        r.counts.total,
                    )
                    for r in rows
                ],
            )
        )
        print(
            verdict(
                f"{setting}: an array submits >= 10x faster than add_job one by one (ratio <= 0.1)",
                all(r.seconds / base <= 0.1 for r in rows[1:]),
                "; ".join(f"{r.how}: {r.seconds / base:.3f}" for r in rows[1:]),
            )
        )
        print()
    if args.submit_only:
        return 0
    print()
    print("Submission (add_array_job)")
    print(
        table(
            ["tracker", "tasks", "seconds", "tasks/s", "requests", "by verb"],
            [
                (
                    r.tracker,
                    r.tasks,
                    r.submit_s,
                    r.tasks / r.submit_s,
                    r.submit.total,
                    r.submit.describe(),
                )
                for r in results
            ],
        )
    )
    print("\nCompletion (wait_array releasing held tasks)")
    print(
        table(
            ["tracker", "seconds", "requests", "req/task", "max active", "max Running", "Done"],
            [
                (
                    r.tracker,
                    r.wait_s,
                    r.wait.total,
                    r.wait.total / r.tasks,
                    r.max_active,
                    r.max_running,
                    r.done,
                )
                for r in results
            ],
        )
    )
    print("\nrequests of the completion by verb")
    for r in results:
        print(f"  {r.tracker:6} {r.wait.describe()}")
    if errors:
        print(f"\nemulator controller errors: {errors}")
    print()
    print(
        verdict(
            "max_parallel holds (seen from the cluster's side)",
            all(r.max_active <= r.max_parallel and r.done == r.tasks for r in results),
            "; ".join(
                f"{r.tracker}: at most {r.max_active} of {r.max_parallel} active, "
                f"{r.done}/{r.tasks} Done"
                for r in results
            ),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
