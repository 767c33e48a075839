"""Benchmark: N MPIJobTriggers in one event loop, as in a triggerer, versus a polling trigger.

For each N (100 and 1,000 by default) and each trigger kind, in one run:

- ``MPIJobTrigger``: the provider's trigger; every instance opens its own
  API client (as in a triggerer, where each trigger is independent), and all
  of them wait on the async tracker's shared ``JobWatchHub``;
- ``poll 10s``: a minimal polling trigger like cncf-kubernetes'
  ``KubernetesJobTrigger``: read the MPIJob every ``poll_interval`` (10 s)
  until it ended, then fire with the object.

The triggers' ``run()`` async generators are driven concurrently in one event
loop, as Airflow's TriggerRunner does (``async for event in trigger.run()``).
N MPIJobs are created suspended first; the triggers start and settle; the
requests of a steady waiting window are counted (requests per minute while
nothing happens); then the jobs are released in the emulator's store and
run for a scripted few seconds, and each trigger's event is timed against
the moment the emulator's controller wrote the terminal condition.

Figures: API requests while waiting (per minute) and while the jobs end,
by verb; memory per trigger (tracemalloc's traced Python memory and the RSS
growth, both divided by N, measured once every trigger waits); delay from
the status change to the trigger's event, p50/p99/max.

Run from the repository root: ``.venv/bin/python bench/bench_triggers.py``
(``--quick`` for N = 50 and 200, about 2 minutes; ``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import random
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from _harness import (
    ClusterProcess,
    Counts,
    delays_ms,
    held_mpijob,
    percentiles,
    rss_bytes,
    table,
    verdict,
)
from airflow.triggers.base import BaseTrigger, TriggerEvent

NAMESPACE = "default"
POLL_INTERVAL = 10.0
RELEASE_BATCH = 5
RELEASE_EVERY = 0.5
LABELS = {"ours": "MPIJobTrigger", "wait": "tracker.wait", "poll": "poll 10s"}


class _RetryCounter(logging.Handler):
    """Counts the client's retry warnings (instead of printing thousands of them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


RETRIES = _RetryCounter()


class PollingMPIJobTrigger(BaseTrigger):
    """The baseline: get the MPIJob every ``poll_interval`` s, like KubernetesJobTrigger.

    Like cncf-kubernetes' ``AsyncKubernetesHook``, it loads the kube config
    and opens an API client of its own (the provider's hook would share one
    per event loop).

    Args:
        job_id: ``namespace/name`` of the MPIJob.
        config_file: the kube config.
        poll_interval: seconds between two reads.
    """

    def __init__(self, job_id: str, *, config_file: str, poll_interval: float = 10.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.job_id = job_id
        self.config_file = config_file
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and keyword arguments."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "config_file": self.config_file,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the job ended; fire one event with the object."""
        from kubernetes_asyncio import client, config

        from airflow_provider_mpi.mpioperator.async_tracker import AsyncMPIOperatorTracker
        from airflow_provider_mpi.mpioperator.status import job_state_from_mpi_job

        namespace, name = self.job_id.split("/")
        configuration = client.Configuration()
        await config.load_kube_config(
            config_file=self.config_file, client_configuration=configuration
        )
        async with client.ApiClient(configuration=configuration) as api_client:
            tracker = AsyncMPIOperatorTracker(api_client, namespace=namespace)
            while True:
                mpijob = await tracker.api.get_mpi_job(namespace, name, job_id=self.job_id)
                state, _ = job_state_from_mpi_job(mpijob)
                if state.is_terminal:
                    break
                await asyncio.sleep(self.poll_interval)
        yield TriggerEvent({"status": "success", "state": state.go_name, "job": mpijob})  # type: ignore[no-untyped-call]


@dataclass
class Result:
    """One kind of trigger at one N."""

    kind: str
    n: int
    settle_s: float
    settling: Counts
    window_s: float
    waiting: Counts
    ending: Counts
    traced_per_trigger: float
    rss_per_trigger: float
    delays: list[float]
    missing: int
    released: int
    ended: int
    end_s: float
    retries: int = 0


async def _create_held(cluster: ClusterProcess, names: list[str], duration: float) -> None:
    from kubernetes_asyncio import config

    from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker

    client = await config.new_client_from_config(
        config_file=cluster.kubeconfig_path, persist_config=False
    )
    try:
        tracker = AsyncMPIOperatorTracker(client, namespace=NAMESPACE)
        limit = asyncio.Semaphore(16)

        async def create(name: str) -> None:
            async with limit:
                await tracker.api.create_mpi_job(NAMESPACE, held_mpijob(name, duration))

        await asyncio.gather(*(create(name) for name in names))
    finally:
        await client.close()


async def _hub_waiters(cluster: ClusterProcess) -> Any:
    """A function returning how many waiters the loop's shared hub has (public API)."""
    from kubernetes_asyncio import config

    from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker, JobWatchHub

    client = await config.new_client_from_config(
        config_file=cluster.kubeconfig_path, persist_config=False
    )
    hub = JobWatchHub.for_api(AsyncMPIOperatorTracker(client, namespace=NAMESPACE).api, NAMESPACE)
    await client.close()
    return lambda: hub.waiters


async def run_case(
    cluster: ClusterProcess,
    kind: str,
    n: int,
    *,
    duration: float,
    window: float,
    cap: float,
    end_cap: float,
    ending_jobs: int,
) -> Result:
    """Create n held jobs, run n triggers, count, release, time the events."""
    from airflow_provider_mpi.hooks.mpi_operator import AsyncMPIOperatorHook
    from airflow_provider_mpi.triggers.mpi_job import MPIJobTrigger

    names = [f"{kind.split()[0]}-{n}-{i:04d}" for i in range(n)]
    await _create_held(cluster, names, duration)
    triggers: list[BaseTrigger] = []
    if kind == "ours":
        triggers = [
            MPIJobTrigger(f"{NAMESPACE}/{name}", conn_id=None, config_file=cluster.kubeconfig_path)
            for name in names
        ]
        waiters = await _hub_waiters(cluster)
    elif kind == "wait":
        waiters = await _hub_waiters(cluster)
    else:
        triggers = [
            PollingMPIJobTrigger(
                f"{NAMESPACE}/{name}",
                config_file=cluster.kubeconfig_path,
                poll_interval=POLL_INTERVAL,
            )
            for name in names
        ]
        waiters = None
    seen: dict[str, float] = {}
    statuses: dict[str, str] = {}

    async def drive(name: str, trigger: BaseTrigger) -> None:
        if kind == "poll":  # deferred at different moments: polls out of phase
            await asyncio.sleep(random.uniform(0, POLL_INTERVAL))
        async for event in trigger.run():
            seen[name] = time.time()
            statuses[name] = str(event.payload.get("status"))
            break

    async def wait_only(name: str) -> None:
        hook = AsyncMPIOperatorHook(None, config_file=cluster.kubeconfig_path, namespace=NAMESPACE)
        async with hook.get_tracker() as tracker:
            await tracker.wait(f"{NAMESPACE}/{name}", None)
        seen[name] = time.time()
        statuses[name] = "success"

    RETRIES.count = 0
    gc.collect()
    rss_before = rss_bytes()
    tracemalloc.start()
    await asyncio.to_thread(cluster.reset)
    started = time.monotonic()
    if kind == "wait":
        tasks = [asyncio.ensure_future(wait_only(name)) for name in names]
    else:
        tasks = [
            asyncio.ensure_future(drive(name, t)) for name, t in zip(names, triggers, strict=True)
        ]
    # settle: every trigger is waiting (ours: subscribed to the hub; polling:
    # each made its first read), and no request came in for half a second
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() - started < cap:
        await asyncio.sleep(0.1)
        counts = await asyncio.to_thread(cluster.counters)
        total = counts.total
        if total != last:
            last, quiet_since = total, time.monotonic()
        if waiters is not None and (waiters() < n or not counts.count("watch")):
            continue
        if waiters is None and counts.count("get") < n:
            continue
        if waiters is None or time.monotonic() - quiet_since >= 0.5:
            break
    settle_s = time.monotonic() - started
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = rss_bytes()
    settled = await asyncio.to_thread(cluster.counters)
    await asyncio.sleep(window)
    waited = await asyncio.to_thread(cluster.counters)
    # the status changes: a sample of the jobs is released, a batch every
    # half second, while the other triggers go on waiting
    sample = names[: min(n, ending_jobs)]
    by_name = dict(zip(names, tasks, strict=True))
    first_release = time.time()
    for start in range(0, len(sample), RELEASE_BATCH):
        await asyncio.to_thread(cluster.release, sample[start : start + RELEASE_BATCH])
        await asyncio.sleep(RELEASE_EVERY)
    watched = [by_name[name] for name in sample]
    done, _ = await asyncio.wait(watched, timeout=end_cap)
    end_s = time.time() - first_release
    ending = (await asyncio.to_thread(cluster.counters)).minus(waited)
    ended = await asyncio.to_thread(cluster.ended)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()
    await asyncio.to_thread(cluster.clear)
    bad = sorted({s for s in statuses.values() if s != "success"})
    if bad:
        print(f"  {kind} N={n}: statuses other than success: {bad}", file=sys.stderr)
    return Result(
        kind,
        n,
        settle_s,
        settled,
        window,
        waited.minus(settled),
        ending,
        traced / n,
        (rss_after - rss_before) / n,
        delays_ms(ended, seen),
        sum(1 for name in sample if name in ended and name not in seen),
        len(sample),
        sum(1 for name in sample if name in ended),
        end_s,
        RETRIES.count,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print the tables and verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000], help="trigger counts")
    parser.add_argument(
        "--window", type=float, default=10.0, help="steady waiting window counted, s (10)"
    )
    parser.add_argument("--duration", type=float, default=2.0, help="job duration, s (2)")
    parser.add_argument("--cap", type=float, default=60.0, help="limit of the settling, s (60)")
    parser.add_argument(
        "--end-cap",
        type=float,
        default=20.0,
        help="limit of the phase from the release to the last event, s (20)",
    )
    parser.add_argument(
        "--ending",
        type=int,
        default=50,
        help="jobs released (5 every 0.5 s) while the others wait (50)",
    )
    parser.add_argument(
        "--kinds", nargs="+", choices=list(LABELS), default=list(LABELS), help="what to run"
    )
    parser.add_argument(
        "--quick", action="store_true", help="N = 50 and 200, 6 s window, 20 jobs released"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.window, args.end_cap, args.ending = [50, 200], 6.0, 20.0, 20

    retry_log = logging.getLogger("airflow_provider_mpi.mpioperator.retry")
    retry_log.addHandler(RETRIES)
    retry_log.propagate = False
    results: list[Result] = []
    started = time.monotonic()
    with ClusterProcess(speed=1.0) as cluster:
        for n in args.n:
            for kind in args.kinds:
                result = asyncio.run(
                    run_case(
                        cluster,
                        kind,
                        n,
                        duration=args.duration,
                        window=args.window,
                        cap=args.cap,
                        end_cap=args.end_cap,
                        ending_jobs=args.ending,
                    )
                )
                result.kind = LABELS[kind]
                results.append(result)
                print(f"  {LABELS[kind]} N={n} done", file=sys.stderr, flush=True)
        errors = cluster.controller_errors()
    _report(results, args.window, time.monotonic() - started)
    if errors:
        print(f"\nemulator controller errors: {errors}")
    return 0


def _per_minute(r: Result) -> float:
    return r.waiting.total * 60 / r.window_s


def _report(results: list[Result], window: float, seconds: float) -> None:
    print(
        f"\nN triggers in one event loop (emulator on 127.0.0.1 in its own process; "
        f"{seconds:.0f} s)\n"
    )
    print(
        "Requests while the triggers start (settling) and wait (steady window of "
        f"{window:g} s, jobs still suspended)"
    )
    print(
        table(
            ["trigger", "N", "settle s", "settling", "waiting", "per minute", "waiting by verb"],
            [
                (
                    r.kind,
                    r.n,
                    r.settle_s,
                    r.settling.total,
                    r.waiting.total,
                    _per_minute(r),
                    r.waiting.describe(),
                )
                for r in results
            ],
        )
    )
    print("\nWhile a sample of the jobs is released (5 every 0.5 s) and ends, the others waiting")
    print(
        table(
            [
                "trigger",
                "N",
                "released",
                "ended",
                "events",
                "seconds",
                "requests",
                "per ended job",
                "retries",
                "by verb",
            ],
            [
                (
                    r.kind,
                    r.n,
                    r.released,
                    r.ended,
                    len(r.delays),
                    r.end_s,
                    r.ending.total,
                    r.ending.total / max(1, r.ended),
                    r.retries,
                    r.ending.describe(),
                )
                for r in results
            ],
        )
    )
    print("\nMemory per waiting trigger (KiB) and delay from status change to event (ms)")
    print(
        table(
            ["trigger", "N", "traced KiB", "RSS KiB", "p50 ms", "p99 ms", "max ms", "no event"],
            [
                (
                    r.kind,
                    r.n,
                    r.traced_per_trigger / 1024,
                    r.rss_per_trigger / 1024,
                    *percentiles(r.delays, (50, 99)),
                    r.missing,
                )
                for r in results
            ],
        )
    )
    print()
    by_kind: dict[str, list[Result]] = {}
    for r in results:
        by_kind.setdefault(r.kind, []).append(r)
    ours = by_kind.get(LABELS["ours"], [])
    hub = ours + by_kind.get(LABELS["wait"], [])
    waiting = {r.waiting.total for r in hub}
    figures = "; ".join(
        f"{kind}: " + ", ".join(f"{_per_minute(r):.0f}/min at N={r.n}" for r in rs)
        for kind, rs in by_kind.items()
    )
    print(
        verdict(
            "requests while waiting independent of N",
            bool(hub) and len(waiting) == 1,
            f"{figures}; settling "
            + ", ".join(f"{r.settling.total} at N={r.n}" for r in ours)
            + "; when its job ends MPIJobTrigger reads "
            + ", ".join(f"{r.ending.total / max(1, r.ended):.1f} req at N={r.n}" for r in ours),
        )
    )
    for kind in (LABELS["ours"], LABELS["wait"]):
        rs = by_kind.get(kind, [])
        if not rs:
            continue
        p99s = [percentiles(r.delays, (50, 99))[1] for r in rs]
        print(
            verdict(
                f"delay p99 < 100 ms ({kind})",
                max(p99s) < 100 and all(r.missing == 0 for r in rs),
                ", ".join(
                    f"p99 {p:.0f} ms at N={r.n}"
                    + (f" ({r.missing} ended without event)" if r.missing else "")
                    for p, r in zip(p99s, rs, strict=True)
                )
                + "; poll 10s: "
                + ", ".join(
                    f"p99 {percentiles(r.delays, (50, 99))[1]:.0f} ms at N={r.n}"
                    for r in by_kind.get(LABELS["poll"], [])
                ),
            )
        )


if __name__ == "__main__":
    sys.exit(main())
