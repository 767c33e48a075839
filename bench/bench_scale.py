"""Benchmark: thousands of waiters in one event loop while jobs end at a sustained 100/s.

The shape of a busy triggerer: N jobs (1,000 and 5,000 by default) wait at
once in one process, each with ``AsyncMPIOperatorTracker.wait_info`` (what
``MPIJobTrigger`` awaits: the state and the JobInfo, from the shared MPIJob
and pod watches), while a steady stream of them ends: jobs are released in
the emulator's store ``rate / 10`` every 0.1 s (100 ends/s by default) for
``--seconds`` (15), so about 1,500 jobs end while the others go on waiting.

Side by side, for each N, the client's garbage collector:

- ``off``: CPython's collector as it is, the hubs' policy turned off
  (``AIRFLOW_PROVIDER_MPI_HUB_GC_FREEZE=0``);
- ``hub``: the provider as shipped: the hubs' :class:`HubGC` freezes the
  collector after the burst of subscriptions, with no call by the user
  (``shared_watch``'s module doc);
- ``freeze``: the user's own ``gc.collect(); gc.freeze()`` once every
  waiter subscribed (the hubs' policy off), the earlier recommendation.

Figures: requests the emulated API server received from zeroing the
counters (every waiter subscribed) to the last end, by verb, and per ending
job; the delay from the emulator's write of the terminal condition to
``wait_info`` returning, p50/p99/max; the client's longest GC pause; and the
emulator's own lag (release to end, minus the job's scripted duration) and
end rate achieved, to show whether the emulator kept up with the rate.
``full gc now``: one ``gc.collect()`` timed right after the window, every
waiter still waiting: the pause a full collection landing among the ends
would add, whether or not one happened to land in this window.

The jobs are created and released straight in the emulator's store (no
request), so the counters hold only what the waiting client sent.

Run from the repository root: ``.venv/bin/python bench/bench_scale.py``
(``--quick``: N = 500 and 2,000 for 8 s; ``--help`` for the sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from dataclasses import dataclass

from _harness import (
    ClusterProcess,
    Counts,
    delays_ms,
    percentiles,
    scale_arguments,
    table,
    verdict,
)

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
    ended: int
    seen: int
    end_rate: float
    counts: Counts
    delays: list[float]
    emulator_lag: list[float]
    client_gc_ms: float
    client_full_gcs: int
    emulator_cpu_ms_per_end: float
    emulator_cores: float
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
    cluster: ClusterProcess,
    n: int,
    gc_mode: str,
    rate: int,
    seconds: float,
    duration: float,
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
        await asyncio.to_thread(
            cluster.create_held, [(name, duration) for name in names[start : start + 500]]
        )
    await asyncio.to_thread(cluster.quiet)  # the operator has set up every held job
    client = await config.new_client_from_config(
        config_file=cluster.kubeconfig_path, persist_config=False
    )
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
        await asyncio.sleep(1.0)  # the last subscriptions' snapshots (and the hub's freeze)
        settle_s = time.monotonic() - started
        if gc_mode == "freeze":
            gc.collect()
            gc.freeze()
        await asyncio.to_thread(cluster.reset)
        cpu_before, wall_before = await asyncio.to_thread(cluster.cpu_seconds), time.monotonic()
        gc.callbacks.append(recorder)
        to_end = names[: int(rate * seconds)]
        per_tick = max(1, round(rate * TICK))
        released_at: dict[str, float] = {}
        next_tick = time.monotonic()
        for start in range(0, len(to_end), per_tick):
            batch = to_end[start : start + per_tick]
            when = await asyncio.to_thread(cluster.release, batch)
            released_at.update(dict.fromkeys(batch, when))
            next_tick += TICK
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        done, _ = await asyncio.wait(
            [tasks[name] for name in to_end], timeout=duration + seconds + 30
        )
        gc.callbacks.remove(recorder)
        # what one full collection costs now, every waiter still waiting: the pause a
        # full collection landing among the ends would add (the hubs' freeze shrinks it)
        began = time.perf_counter()
        gc.collect()
        forced_gc_ms = (time.perf_counter() - began) * 1000
        hub_froze = HUB_GC.frozen
        emulator_cpu = await asyncio.to_thread(cluster.cpu_seconds) - cpu_before
        emulator_wall = time.monotonic() - wall_before
        counts = await asyncio.to_thread(cluster.counters)
        ended = await asyncio.to_thread(cluster.ended)
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        for task in done:
            task.result()
    finally:
        if gc_mode == "freeze":
            gc.unfreeze()
        await client.close()
    await asyncio.to_thread(cluster.clear)
    ends = sorted(ended[name] for name in to_end if name in ended)
    span = ends[-1] - ends[0] if len(ends) > 1 else 0.0
    lag = [(ended[name] - released_at[name] - duration) * 1000 for name in to_end if name in ended]
    return Result(
        n,
        gc_mode,
        settle_s,
        len(to_end),
        len(ends),
        sum(1 for name in to_end if name in seen),
        (len(ends) - 1) / span if span else 0.0,
        counts,
        delays_ms(ended, seen),
        lag,
        max((ms for _, ms in recorder.pauses), default=0.0),
        sum(1 for generation, _ in recorder.pauses if generation == 2),
        emulator_cpu * 1000 / max(1, len(ends)),
        emulator_cpu / emulator_wall,
        f"{HUB_GC.freezes - freezes} freeze(s), frozen in the window: {hub_froze}",
        forced_gc_ms,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the cases, print the tables and verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1.0, help="job duration, s (1)")
    args = scale_arguments(parser, argv)

    results = []
    began = time.monotonic()
    with ClusterProcess(speed=1.0) as cluster:
        for n in args.waiters:
            for mode in args.gc:
                results.append(
                    asyncio.run(
                        run(
                            cluster,
                            n,
                            mode,
                            args.rate,
                            args.seconds,
                            args.duration,
                            info=not args.state_only,
                        )
                    )
                )
                print(f"  N={n} gc {mode} done", file=sys.stderr, flush=True)
        errors = cluster.controller_errors()

    print(
        f"\nN waiters ({'wait' if args.state_only else 'wait_info'}) in one event loop, "
        f"{args.rate} ends/s for {args.seconds:g} s "
        f"(emulator in its own process; {time.monotonic() - began:.0f} s in all)\n"
    )
    print(
        table(
            [
                "N",
                "gc",
                "settle s",
                "released",
                "ended",
                "returned",
                "ends/s",
                "requests",
                "per end",
                "by verb",
            ],
            [
                (
                    r.n,
                    r.gc_mode,
                    r.settle_s,
                    r.released,
                    r.ended,
                    r.seen,
                    r.end_rate,
                    r.counts.total,
                    _per_job(r) / max(1, r.ended),
                    r.counts.describe(),
                )
                for r in results
            ],
        )
    )
    print(
        "\nDelay from the terminal condition's write to wait_info returning (ms); the "
        "client's longest GC pause and full collections; the emulator's lag (release to "
        "end minus the job's duration, ms), its CPU per ended job and the cores it used"
    )
    print(
        table(
            [
                "N",
                "gc",
                "p50",
                "p99",
                "max",
                "client gc ms",
                "full gcs",
                "full gc now ms",
                "emu lag p50",
                "p99",
                "emu cpu ms/end",
                "emu cores",
            ],
            [
                (
                    r.n,
                    r.gc_mode,
                    *percentiles(r.delays, (50, 99)),
                    r.client_gc_ms,
                    r.client_full_gcs,
                    r.forced_gc_ms,
                    *percentiles(r.emulator_lag, (50, 99))[:2],
                    r.emulator_cpu_ms_per_end,
                    r.emulator_cores,
                )
                for r in results
            ],
        )
    )
    print("\nThe hubs' GC policy during each case (HubGC)")
    for r in results:
        print(f"  N={r.n} gc {r.gc_mode}: {r.hub_gc}")
    if errors:
        print(f"\nemulator controller errors: {errors}")
    print()
    print(
        verdict(
            "requests per ending job: 0 (only the shared streams' own list+watch, O(namespaces))",
            all(_per_job(r) == 0 and r.seen == r.ended for r in results),
            ", ".join(
                f"{_per_job(r)} per-job reads for {r.ended} ends at N={r.n} ({r.gc_mode}; "
                f"streams {r.counts.count('list')} lists, {r.counts.count('watch')} watches)"
                for r in results
            ),
        )
    )
    for mode in args.gc:
        rs = [r for r in results if r.gc_mode == mode]
        p99s = [percentiles(r.delays, (99,))[0] for r in rs]
        kept_up = all(r.end_rate >= 0.9 * args.rate for r in rs)
        print(
            verdict(
                f"p99 <= {TARGET_MS:.0f} ms at {args.rate} ends/s (gc {mode})",
                all(p <= TARGET_MS for p in p99s) and all(r.seen == r.ended for r in rs),
                ", ".join(f"p99 {p:.0f} ms at N={r.n}" for p, r in zip(p99s, rs, strict=True))
                + ("" if kept_up else "; the emulator did not sustain the rate (ends/s column)"),
            )
        )
    return 0


def _reads(r: Result) -> int:
    """Requests other than watches (re)opened."""
    return r.counts.total - r.counts.count("watch")


def _per_job(r: Result) -> int:
    """Reads that are not a hub's list before (re)opening its stream (after 410 Gone).

    A hub lists only to (re)start its stream, so its lists are at most its
    watches; anything beyond (a GET, more lists) was a read for a job.
    """
    lists, watches = r.counts.count("list"), r.counts.count("watch")
    return _reads(r) - min(lists, watches)


if __name__ == "__main__":
    sys.exit(main())
