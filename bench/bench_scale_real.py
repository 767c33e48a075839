"""Benchmark: thousands of waiters while jobs end at 100/s, on the REAL control plane.

``bench_scale.py`` on the emulator, where the emulator (a Python API server
and controller in one process) cannot sustain 5,000 waiting jobs ending at
100/s on 2 cores. Here the API server is the real one (``RealCluster``: Go
kube-apiserver v1.35.4 and etcd, the real mpi-operator v0.8.2), and the
status changes come through the API from a process of their own
(``_real_driver``): each job is an MPIJob the operator delegates to another
controller (``runPolicy.managedBy``, as with MultiKueue) plus its launcher
pod; to end it the driver writes the pod's status as a kubelet would, then
the MPIJob's ``Succeeded`` condition as the operator would.

N jobs (1,000 and 5,000 by default) wait at once in one event loop with
``AsyncMPIOperatorTracker.wait_info`` (what ``MPIJobTrigger`` awaits: both
shared streams, MPIJobs and launcher pods), while the driver ends them,
``rate / 10`` every 0.1 s (100 ends/s) for ``--seconds`` (15). Side by
side, for each N, the client's garbage collector as in ``bench_scale.py``:
``off`` (the hubs' GC policy off), ``hub`` (the provider as shipped: the
hubs freeze the collector after the burst of subscriptions) and ``freeze``
(the user's own ``gc.collect(); gc.freeze()``, the hubs' policy off).

Figures: the delay to ``wait_info`` returning from the moment the API server
delivered the job's ``Succeeded`` condition to a plain watch in a third
process (``RealObserver``: the client's own share: its hubs, collector and
event loop), and from the moment the status write was sent (the whole path,
an upper bound: it includes the write's round trip, which on this shared
2-core machine is most of it); the end rate the driver achieved; the
client's longest garbage-collector pause and full collections.
``full gc now``: one ``gc.collect()`` timed right after the window, every
waiter still waiting: the pause a full collection landing among the ends
would add, whether or not one happened to land in this window.

Run from the repository root, with the real cluster's binaries built
(``MPI_REAL_CLUSTER_CACHE``, ``/usr/local/go/bin`` on PATH):
``.venv/bin/python bench/bench_scale_real.py`` (``--quick``: N = 500 and 2,000, 8 s).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import delays_ms, percentiles, scale_arguments, table, verdict
from _real_driver import RealDriver, RealObserver

NAMESPACE = "default"
TICK = 0.1
TARGET_MS = 100.0


@dataclass
class Result:
    """One N, one GC mode."""

    n: int
    gc_mode: str
    settle_s: float
    released: int
    seen: int
    end_rate: float
    delays: list[float]
    client_delays: list[float]
    acked_delays: list[float]
    write_ms: list[float]
    client_gc_ms: float
    client_full_gcs: int
    hub_gc: str
    forced_gc_ms: float


class _ClientGC:
    """Records this process's garbage-collector pauses: (generation, ms)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._started) * 1000))


async def run(
    kubeconfig: str,
    driver: RealDriver,
    observer: RealObserver,
    n: int,
    gc_mode: str,
    rate: int,
    seconds: float,
    info: bool = True,
) -> Result:
    """n waiters; rate ends/s for seconds; measure."""
    from kubernetes_asyncio import config

    from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker, JobPodHub, JobWatchHub
    from airflow_provider_mpi.mpioperator.tracker.hub_gc import HUB_GC, HUB_GC_ENV

    if gc_mode == "hub":
        os.environ.pop(HUB_GC_ENV, None)
    else:
        os.environ[HUB_GC_ENV] = "0"
    freezes = HUB_GC.freezes

    names = [f"{gc_mode[0]}{n}-{i:05d}" for i in range(n)]
    for start in range(0, n, 500):
        await asyncio.to_thread(driver.create, names[start : start + 500])
    client = await config.new_client_from_config(config_file=kubeconfig, persist_config=False)
    recorder = _ClientGC()
    try:
        tracker = AsyncMPIOperatorTracker(client, namespace=NAMESPACE)
        hub = JobWatchHub.for_api(tracker.api, NAMESPACE)
        pod_hub = JobPodHub.for_api(tracker.api, NAMESPACE)
        seen: dict[str, float] = {}

        async def one(name: str) -> None:
            if info:
                await tracker.wait_info(f"{NAMESPACE}/{name}", None)
            else:
                await tracker.wait(f"{NAMESPACE}/{name}", None)
            seen[name] = time.time()

        started = time.monotonic()
        tasks = {name: asyncio.ensure_future(one(name)) for name in names}
        for _ in range(3000):  # every waiter subscribed to both hubs (at most 5 min)
            pods_ready = not info or (pod_hub.waiters == n and pod_hub.resource_version)
            if hub.ready == n and pods_ready:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # the last snapshots (and the hubs' freeze)
        settle_s = time.monotonic() - started
        if gc_mode == "freeze":
            gc.collect()
            gc.freeze()
        await asyncio.to_thread(observer.stamps)  # from now on
        gc.callbacks.append(recorder)
        to_end = names[: int(rate * seconds)]
        per_tick = max(1, round(rate * TICK))
        written: dict[str, tuple[float, float]] = {}
        next_tick = time.monotonic()
        for start in range(0, len(to_end), per_tick):
            written.update(await asyncio.to_thread(driver.end, to_end[start : start + per_tick]))
            next_tick += TICK
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        await asyncio.wait([tasks[name] for name in to_end], timeout=60)
        gc.callbacks.remove(recorder)
        # what one full collection costs now, every waiter still waiting: the pause a
        # full collection landing among the ends would add (the hubs' freeze shrinks it)
        began = time.perf_counter()
        gc.collect()
        forced_gc_ms = (time.perf_counter() - began) * 1000
        hub_froze = HUB_GC.frozen
        delivered = await asyncio.to_thread(observer.stamps)
        for task in tasks.values():
            task.cancel()
        results = await asyncio.gather(*tasks.values(), return_exceptions=True)
        failures = [r for r in results if isinstance(r, Exception)]
        failures = [r for r in failures if not isinstance(r, asyncio.CancelledError)]
        if failures:
            print(f"  N={n} {gc_mode}: {len(failures)} waits failed: {failures[0]!r}")
    finally:
        if gc_mode == "freeze":
            gc.unfreeze()
        await client.close()
    await asyncio.to_thread(driver.clear)
    sent = {name: stamp[0] for name, stamp in written.items()}
    acked = {name: stamp[1] for name, stamp in written.items()}
    stamps = sorted(sent.values())
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return Result(
        n,
        gc_mode,
        settle_s,
        len(to_end),
        sum(1 for name in to_end if name in seen),
        (len(stamps) - 1) / span if span else 0.0,
        delays_ms(sent, seen),
        delays_ms(delivered, seen),
        delays_ms(acked, seen),
        [(b - a) * 1000 for a, b in written.values()],
        max((ms for _, ms in recorder.pauses), default=0.0),
        sum(1 for generation, _ in recorder.pauses if generation == 2),
        f"{HUB_GC.freezes - freezes} freeze(s), frozen in the window: {hub_froze}",
        forced_gc_ms,
    )


def main(argv: list[str] | None = None) -> int:
    """Start the real control plane, run the cases, print the tables and verdicts."""
    from airflow_provider_mpi.testing.real import RealCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = scale_arguments(parser, argv)

    results = []
    began = time.monotonic()
    with (
        RealCluster(namespace=NAMESPACE, nodes=(), wait_for_machine=600) as cluster,
        RealDriver(cluster.admin_kubeconfig_path, NAMESPACE) as driver,
        RealObserver(cluster.admin_kubeconfig_path, NAMESPACE) as observer,
    ):
        for n in args.waiters:
            for mode in args.gc:
                result = asyncio.run(
                    run(
                        cluster.kubeconfig_path,
                        driver,
                        observer,
                        n,
                        mode,
                        args.rate,
                        args.seconds,
                        info=not args.state_only,
                    )
                )
                results.append(result)
                print(f"  N={n} gc {mode} done", file=sys.stderr, flush=True)

    print(
        f"\nN waiters ({'wait' if args.state_only else 'wait_info'}) in one event loop "
        "on the REAL control plane "
        f"(kube-apiserver v1.35.4, etcd, mpi-operator v0.8.2), {args.rate} ends/s for "
        f"{args.seconds:g} s, status written through the API by a driver process "
        f"({time.monotonic() - began:.0f} s in all)\n"
    )
    print(
        table(
            [
                "N",
                "gc",
                "settle s",
                "ended",
                "returned",
                "ends/s",
                "client p50",
                "p99",
                "max",
                "sent p50",
                "p99",
                "ack p99",
                "write p50",
                "write p99",
                "client gc ms",
                "full gcs",
                "full gc now ms",
            ],
            [
                (
                    r.n,
                    r.gc_mode,
                    r.settle_s,
                    r.released,
                    r.seen,
                    r.end_rate,
                    *percentiles(r.client_delays, (50, 99)),
                    *percentiles(r.delays, (50, 99))[:2],
                    percentiles(r.acked_delays, (99,))[0],
                    *percentiles(r.write_ms, (50, 99))[:2],
                    r.client_gc_ms,
                    r.client_full_gcs,
                    r.forced_gc_ms,
                )
                for r in results
            ],
        )
    )
    print(
        "(ms to the wait returning: 'client' from the API server delivering the Succeeded "
        "condition to a plain watch in another process (the client's own share); 'sent' from "
        "the status write being sent (the whole path, an upper bound); 'ack' from the write's "
        "answer; 'write': the status write's round trip as the driver saw it)\n"
    )
    for r in results:
        print(f"  the hubs' GC policy at N={r.n} gc {r.gc_mode}: {r.hub_gc}")
    print()
    for mode in args.gc:
        rs = [r for r in results if r.gc_mode == mode]
        kept_up = all(r.end_rate >= 0.9 * args.rate for r in rs)
        returned = all(r.seen == r.released for r in rs)
        for label, pick in (
            ("client's share, from the server's delivery", _client),
            ("whole path, from the write sent", _sent),
        ):
            p99s = [pick(r) for r in rs]
            print(
                verdict(
                    f"p99 <= {TARGET_MS:.0f} ms at {args.rate} ends/s, real API server, "
                    f"{label} (gc {mode})",
                    all(p <= TARGET_MS for p in p99s) and returned,
                    ", ".join(
                        f"p99 {p:.0f} ms at N={r.n} ({r.seen}/{r.released} returned)"
                        for p, r in zip(p99s, rs, strict=True)
                    )
                    + ("" if kept_up else "; the driver did not sustain the rate (ends/s column)"),
                )
            )
    return 0


def _client(r: Result) -> float:
    return percentiles(r.client_delays, (99,))[0]


def _sent(r: Result) -> float:
    return percentiles(r.delays, (99,))[0]


if __name__ == "__main__":
    sys.exit(main())
