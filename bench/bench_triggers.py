"""Benchmark: N waiting triggers in one event loop, ours against the real cncf triggers.

For each N (100 and 500 by default) and each kind, in one run, against the
same emulated cluster:

- ``MPIJobTrigger``: the provider's trigger on N MPIJobs; every instance
  opens its own hook (as in a triggerer), and all of them wait on the shared
  MPIJob and pod watches (``JobWatchHub``, ``JobPodHub``) of the event loop;
- ``tracker.wait_info``: the same wait without the trigger around it;
- ``KubernetesJobTrigger``: apache-airflow-providers-cncf-kubernetes' real
  trigger of ``KubernetesJobOperator(deferrable=True)``, at its default
  ``poll_interval`` (10 s), on N batch Jobs;
- ``KubernetesPodTrigger``: the real trigger of
  ``KubernetesPodOperator(deferrable=True)``, at its default ``poll_interval``
  (2 s), on N bare pods.

The cncf triggers reach the emulator through an Airflow connection
(``AIRFLOW_CONN_KUBE_BENCH`` with ``kube_config_path``, as a user would
configure them). The emulator's kubelet runs their pods until the bench
ends them, as it ends the MPIJobs' launchers.

The triggers' ``run()`` async generators are driven concurrently in one event
loop, as Airflow's TriggerRunner does (``async for event in trigger.run()``);
the polling ones start at random moments within their interval, as deferred
tasks do. The objects are created first (straight in the emulator's store);
the triggers start and settle; the requests of a steady waiting window are
counted (requests per minute per waiting job); then a sample of the jobs
ends, a batch every half second, and each trigger's event is timed against
the moment the emulator wrote the end (the MPIJob's terminal condition, the
Job's Complete condition, the pod's phase).

Memory per trigger is measured the same way for every kind: tracemalloc's
traced Python memory and the RSS growth from before the triggers start to
when they all wait, divided by N.

The import overhead of a DAG file is measured in fresh interpreters: the
time to import the provider's operator module (which a DAG file imports)
and our trigger module, after what a DAG file imports of ``airflow.sdk`` anyway, against
importing ``KubernetesPodOperator``'s module; the median of 7 interleaved runs.

Run from the repository root: ``.venv/bin/python bench/bench_triggers.py``
(``--quick`` for N = 50 and 200; ``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import logging
import os
import random
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import structlog
from _harness import (
    ClusterProcess,
    Counts,
    delays_ms,
    percentiles,
    rss_bytes,
    table,
    verdict,
)
from airflow.triggers.base import BaseTrigger

NAMESPACE = "default"
RELEASE_BATCH = 5
RELEASE_EVERY = 0.5
LABELS = {
    "ours": "MPIJobTrigger",
    "wait": "tracker.wait_info",
    "kjt": "KubernetesJobTrigger 10s",
    "kpo": "KubernetesPodTrigger 2s",
}
#: The cncf triggers' default poll intervals (their deferred tasks start out of phase).
INTERVALS = {"kjt": 10.0, "kpo": 2.0}
CONN_ID = "kube_bench"


class _RetryCounter(logging.Handler):
    """Counts the client's retry warnings (instead of printing thousands of them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


RETRIES = _RetryCounter()


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


async def _hub_waiters(cluster: ClusterProcess) -> Any:
    """A function returning how many waiters the loop's shared hub has (public API)."""
    from kubernetes_asyncio import config

    from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker, JobWatchHub

    client = await config.new_client_from_config(
        config_file=cluster.kubeconfig_path, persist_config=False
    )
    hub = JobWatchHub.for_api(AsyncMPIOperatorTracker(client, namespace=NAMESPACE).api, NAMESPACE)
    await client.close()
    return lambda: hub.ready  # subscribed, with the first snapshot in


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

    names = [f"{kind}-{n}-{i:04d}" for i in range(n)]
    if kind in ("ours", "wait"):
        for start in range(0, n, 500):
            batch = [(name, duration) for name in names[start : start + 500]]
            await asyncio.to_thread(cluster.create_held, batch)
    else:
        plural = "jobs" if kind == "kjt" else "pods"
        await asyncio.to_thread(cluster.create_peers, plural, names)
    await asyncio.to_thread(cluster.quiet)  # the controllers are done with the new objects
    triggers: list[BaseTrigger] = []
    waiters = None
    if kind == "ours":
        triggers = [
            MPIJobTrigger(f"{NAMESPACE}/{name}", conn_id=None, config_file=cluster.kubeconfig_path)
            for name in names
        ]
        waiters = await _hub_waiters(cluster)
    elif kind == "wait":
        waiters = await _hub_waiters(cluster)
    elif kind == "kjt":
        from airflow.providers.cncf.kubernetes.triggers.job import KubernetesJobTrigger

        triggers = [
            KubernetesJobTrigger(
                job_name=name,
                job_namespace=NAMESPACE,
                pod_names=[],
                pod_namespace=NAMESPACE,
                base_container_name="base",
                kubernetes_conn_id=CONN_ID,
                get_logs=False,
            )
            for name in names
        ]
    else:
        from airflow.providers.cncf.kubernetes.triggers.pod import KubernetesPodTrigger

        start_time = datetime.datetime.now(datetime.UTC)
        triggers = [
            KubernetesPodTrigger(
                pod_name=name,
                pod_namespace=NAMESPACE,
                trigger_start_time=start_time,
                base_container_name="base",
                kubernetes_conn_id=CONN_ID,
            )
            for name in names
        ]
    seen: dict[str, float] = {}
    statuses: dict[str, str] = {}

    async def drive(name: str, trigger: BaseTrigger) -> None:
        if kind in INTERVALS:  # deferred at different moments: polls out of phase
            await asyncio.sleep(random.uniform(0, INTERVALS[kind]))
        async for event in trigger.run():
            seen[name] = time.time()
            statuses[name] = str(event.payload.get("status"))
            break

    async def wait_only(name: str) -> None:
        hook = AsyncMPIOperatorHook(None, config_file=cluster.kubeconfig_path, namespace=NAMESPACE)
        async with hook.get_tracker() as tracker:
            await tracker.wait_info(f"{NAMESPACE}/{name}", None)
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
        if waiters is None and counts.count("get") < n:  # every polling trigger read once
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
        batch = sample[start : start + RELEASE_BATCH]
        if kind in ("ours", "wait"):
            await asyncio.to_thread(cluster.release, batch)
        else:
            await asyncio.to_thread(cluster.end_pods, batch)
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
    parser.add_argument("--n", type=int, nargs="+", default=[100, 500], help="trigger counts")
    parser.add_argument(
        "--window", type=float, default=20.0, help="steady waiting window counted, s (20)"
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
        "--quick", action="store_true", help="N = 50 and 200, 10 s window, 20 jobs released"
    )
    parser.add_argument("--no-imports", action="store_true", help="skip the import figures")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.window, args.end_cap, args.ending = [50, 200], 10.0, 20.0, 20

    retry_log = logging.getLogger("airflow_provider_mpi.mpioperator.client.retry")
    retry_log.addHandler(RETRIES)
    retry_log.propagate = False
    # The cncf triggers log every poll (thousands of lines), through stdlib
    # logging and Airflow's structlog.
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    results: list[Result] = []
    started = time.monotonic()
    with ClusterProcess(speed=1.0) as cluster:
        # The cncf triggers read their kube config from a connection, as users set them up.
        extra = {"kube_config_path": cluster.kubeconfig_path}
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {"conn_type": "kubernetes", "extra": extra}
        )
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
    if not args.no_imports:
        report_imports(import_overhead())
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
        f"{window:g} s, nothing ends)"
    )
    print(
        table(
            [
                "trigger",
                "N",
                "settle s",
                "settling",
                "waiting",
                "per minute",
                "per job/min",
                "waiting by verb",
            ],
            [
                (
                    r.kind,
                    r.n,
                    r.settle_s,
                    r.settling.total,
                    r.waiting.total,
                    _per_minute(r),
                    _per_job_minute(r),
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
    peers = [r for kind in ("kjt", "kpo") for r in by_kind.get(LABELS[kind], [])]
    per_job = "; ".join(
        f"{kind}: " + ", ".join(f"{_per_job_minute(r):.2f} at N={r.n}" for r in rs)
        for kind, rs in by_kind.items()
    )
    print(
        verdict(
            "requests/min per waiting job: ours 0 against KJT's 6 and KPO's 30",
            bool(hub) and all(r.waiting.total == 0 for r in hub),
            per_job,
        )
    )
    print(
        verdict(
            "requests per ending job: 0 (the event's JobInfo comes from the watches)",
            bool(hub) and all(_ending_reads(r) == 0 and r.missing == 0 for r in hub),
            ", ".join(f"{r.kind} {_ending_reads(r) / max(1, r.ended):.2f} at N={r.n}" for r in hub)
            + "; "
            + ", ".join(f"{r.kind} {r.ending.total / max(1, r.ended):.2f}" for r in peers),
        )
    )
    print(
        verdict(
            "memory per waiting trigger <= 10 KiB (tracemalloc, same method for every kind)",
            bool(ours) and all(r.traced_per_trigger <= 10 * 1024 for r in ours),
            "; ".join(
                f"{r.kind} {r.traced_per_trigger / 1024:.1f} KiB at N={r.n}"
                for r in results
                if r.kind != LABELS["wait"]
            ),
        )
    )
    for kind in (LABELS["ours"], LABELS["wait"]):
        rs = by_kind.get(kind, [])
        if not rs:
            continue
        p99s = [percentiles(r.delays, (50, 99))[1] for r in rs]
        print(
            verdict(
                f"delay p99 <= 100 ms ({kind})",
                max(p99s) <= 100 and all(r.missing == 0 for r in rs),
                ", ".join(
                    f"p99 {p:.0f} ms at N={r.n}"
                    + (f" ({r.missing} ended without event)" if r.missing else "")
                    for p, r in zip(p99s, rs, strict=True)
                )
                + "; "
                + ", ".join(
                    f"{r.kind} p99 {percentiles(r.delays, (50, 99))[1]:.0f} ms at N={r.n}"
                    for r in peers
                ),
            )
        )


def _per_job_minute(r: Result) -> float:
    return r.waiting.total * 60 / r.window_s / r.n


def _ending_reads(r: Result) -> int:
    """Requests while jobs end, other than watch streams (re)opened."""
    return r.ending.total - r.ending.count("watch")


def import_overhead(runs: int = 7) -> dict[str, float]:
    """Median seconds to import each module in a fresh interpreter.

    After what every DAG file already has (``airflow.sdk``'s DAG,
    BaseOperator, Context, conf and exceptions), so the figure is what the
    module adds to a DAG's parse.
    """
    modules = {
        "baseline": "",
        "MPIJobOperator": "airflow_provider_mpi.operators.mpi_job",
        "MPIJobTrigger": "airflow_provider_mpi.triggers.mpi_job",
        "KubernetesPodOperator": "airflow.providers.cncf.kubernetes.operators.pod",
    }
    times: dict[str, list[float]] = {label: [] for label in modules}
    for _ in range(runs):  # interleaved, so a burst of load hits every module alike
        for label, module in modules.items():
            code = (
                "import time; from airflow.sdk import DAG, BaseOperator, Context, conf; "
                "import airflow.sdk.exceptions; t = time.perf_counter(); "
                + (f"import {module}; " if module else "")
                + "print(time.perf_counter() - t)"
            )
            answer = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            times[label].append(float(answer.stdout))
    return {label: sorted(ts)[len(ts) // 2] for label, ts in times.items()}


def report_imports(medians: dict[str, float]) -> None:
    """Print the import table and the ratio verdict."""
    print(
        "\nImport overhead in a fresh interpreter, after a DAG file's airflow.sdk (median of 7, ms)"
    )
    print(table(["module", "ms"], [(label, ms * 1000) for label, ms in medians.items()]))
    kpo = medians["KubernetesPodOperator"]
    ratio = max(medians["MPIJobOperator"], medians["MPIJobTrigger"]) / kpo
    print(
        verdict(
            "import overhead against KPO's <= 0.1",
            ratio <= 0.1,
            f"ratio {ratio:.3f}: MPIJobOperator {medians['MPIJobOperator'] * 1000:.0f} ms, "
            f"MPIJobTrigger {medians['MPIJobTrigger'] * 1000:.0f} ms, "
            f"KubernetesPodOperator {kpo * 1000:.0f} ms",
        )
    )


if __name__ == "__main__":
    sys.exit(main())
