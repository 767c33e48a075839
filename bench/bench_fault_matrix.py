"""Benchmark: the fault matrix of issue 12, with its figures and verdicts.

1. Jobs under the fault mix (``_fault_cluster.FAULT_MIX``: 500/502/503/504,
   429 with Retry-After, connection resets, watches dropped cleanly and by
   reset, 410 on resume, answers lost after the write took effect by reset,
   502 and 504, latency), in four namespaces, through the sync tracker (a
   thread pool) and the async tracker (one event loop, the shared watch),
   each job submitted, waited for and read (``job_info``). A fifth of the
   jobs exit 3 (Failed), the rest 0 (Done). Counted against the emulator's
   store once the faults are off:

   - lost: ``add_job`` returned an ID but no MPIJob exists, or raised while
     its MPIJob exists (an orphan);
   - duplicated: more than one MPIJob for one submission;
   - wrong final state: ``wait`` or ``job_info`` disagrees with the script,
     or the store does;
   - hung waits: a wait that ran into its 120 s timeout;
   - foreign exceptions: anything not a ``DRMAA2Error``; other provider
     errors are listed too.

2. Malformed templates (``airflow_provider_mpi.testing.malformed``: a valid
   template broken in 1-4 independent ways) through ``add_job``: every error
   must name exactly the fields broken, and the emulator must see 0 requests.
3. The worst event-loop block of triggers in a fresh triggerer-like process
   (``tests/dags/loop_probe.py``: slow-callback detection at 50 ms).
4. Kills of deferred tasks, each the first of a fresh ``TriggerRunner``
   process (``bench_kill_deferred.py``).

Run from the repository root: ``.venv/bin/python bench/bench_fault_matrix.py``
(``--quick`` for a smaller run; ``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _fault_cluster import FAULT_MIX, SUBMISSION_LABEL, FaultClusterProcess
from _harness import SCRIPT, verdict

NAMESPACES = ["default", "team-a", "team-b", "team-c"]
SPEED = 20.0
WAIT_TIMEOUT = 120.0
PROBE = Path(__file__).resolve().parent.parent / "tests" / "dags" / "loop_probe.py"


@dataclass
class Outcome:
    """What one submission came to, from the client's side."""

    submission: str
    namespace: str
    face: str  # "sync" or "async"
    expected: str  # "Done" or "Failed"
    job_id: str | None = None
    waited: str | None = None
    info_state: str | None = None
    error: str | None = None
    foreign: bool = False
    hung: bool = False


@dataclass
class Tally:
    """The verdict figures of part 1."""

    jobs: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    hung: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _template(submission: str, expected: str, rng: random.Random) -> Any:
    from airflow_provider_mpi.drmaa2 import JobTemplate
    from airflow_provider_mpi.mpioperator.template import (
        set_annotations_extension,
        set_labels_extension,
    )

    jt = JobTemplate(
        remote_command="python",
        args=["pi.py"],
        job_category="mpioperator/mpi-pi:openmpi",
        min_slots=1,
    )
    script = {
        SCRIPT + "duration": str(rng.choice([1, 2, 3])),
        SCRIPT + "exit-code": "0" if expected == "Done" else "3",
    }
    jt = set_annotations_extension(jt, script)
    return set_labels_extension(jt, {SUBMISSION_LABEL: submission})


def _plan(face: str, count: int, seed: int) -> list[tuple[Outcome, Any]]:
    rng = random.Random(seed)
    plan = []
    for n in range(count):
        expected = "Failed" if n % 5 == 0 else "Done"
        outcome = Outcome(f"{face}-{n}", NAMESPACES[n % len(NAMESPACES)], face, expected)
        plan.append((outcome, _template(outcome.submission, expected, rng)))
    return plan


def run_sync(kubeconfig: str, count: int, workers: int) -> list[Outcome]:
    """Submit, wait, read with ``MPIOperatorTracker`` from a thread pool."""
    from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, WaitTimeoutError
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    local = threading.local()

    def tracker(namespace: str) -> Any:
        trackers = getattr(local, "trackers", None)
        if trackers is None:
            trackers = local.trackers = {}
        if namespace not in trackers:
            trackers[namespace] = MPIOperatorTracker(kubeconfig, namespace=namespace)
        return trackers[namespace]

    def one(item: tuple[Outcome, Any]) -> Outcome:
        outcome, template = item
        t = tracker(outcome.namespace)
        try:
            outcome.job_id = t.add_job(template)
            outcome.waited = t.wait(outcome.job_id, WAIT_TIMEOUT).name.title()
            outcome.info_state = t.job_info(outcome.job_id).state.name.title()
        except WaitTimeoutError as exc:
            outcome.hung, outcome.error = True, repr(exc)
        except DRMAA2Error as exc:
            outcome.error = repr(exc)
        except Exception as exc:  # the verdict counts these
            outcome.foreign, outcome.error = True, repr(exc)
        return outcome

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, _plan("sync", count, 1)))


def run_async(kubeconfig: str, count: int, concurrency: int) -> list[Outcome]:
    """Submit, wait, read with ``AsyncMPIOperatorTracker`` on one event loop."""
    from kubernetes_asyncio import client, config

    from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, WaitTimeoutError
    from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker

    async def main() -> list[Outcome]:
        configuration = client.Configuration()
        await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        async with client.ApiClient(configuration) as api_client:
            trackers = {ns: AsyncMPIOperatorTracker(api_client, namespace=ns) for ns in NAMESPACES}
            limit = asyncio.Semaphore(concurrency)

            async def one(item: tuple[Outcome, Any]) -> Outcome:
                outcome, template = item
                t = trackers[outcome.namespace]
                async with limit:
                    try:
                        outcome.job_id = await t.add_job(template)
                        state = await t.wait(outcome.job_id, WAIT_TIMEOUT)
                        outcome.waited = state.name.title()
                        outcome.info_state = (await t.job_info(outcome.job_id)).state.name.title()
                    except WaitTimeoutError as exc:
                        outcome.hung, outcome.error = True, repr(exc)
                    except DRMAA2Error as exc:
                        outcome.error = repr(exc)
                    except Exception as exc:
                        outcome.foreign, outcome.error = True, repr(exc)
                return outcome

            return list(await asyncio.gather(*(one(item) for item in _plan("async", count, 2))))

    return asyncio.run(main())


def tally(outcomes: list[Outcome], jobs: list[tuple[str, str, str | None, str]]) -> Tally:
    """Compare what the clients saw with the store."""
    by_submission: dict[str, list[tuple[str, str, str]]] = collections.defaultdict(list)
    for namespace, name, submission, state in jobs:
        if submission:
            by_submission[submission].append((namespace, name, state))
    result = Tally(jobs=len(outcomes))
    for o in outcomes:
        made = by_submission.get(o.submission, [])
        if len(made) > 1:
            result.duplicated.append(o.submission)
        if o.job_id is not None and not made:
            result.lost.append(f"{o.submission}: {o.job_id} returned, no MPIJob")
        if o.job_id is None and made:
            result.lost.append(f"{o.submission}: add_job raised ({o.error}), MPIJob exists")
        if o.hung:
            result.hung.append(o.submission)
        if o.foreign:
            result.foreign.append(f"{o.submission}: {o.error}")
        elif o.error is not None and not o.hung:
            result.errors.append(f"{o.submission}: {o.error}")
        if o.error is None and (o.waited != o.expected or o.info_state != o.expected):
            result.wrong.append(f"{o.submission}: waited {o.waited}, info {o.info_state}")
        if made and made[0][2] not in (o.expected, "active") and o.error is None:
            result.wrong.append(f"{o.submission}: store says {made[0][2]}")
    return result


def run_malformed(cluster: FaultClusterProcess, count: int) -> tuple[int, int, int]:
    """(clear errors, templates, requests sent) for ``count`` malformed templates."""
    from airflow_provider_mpi.drmaa2 import JobTemplate
    from airflow_provider_mpi.drmaa2.errors import InvalidTemplateError
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker
    from airflow_provider_mpi.testing.malformed import broken_template_kwargs

    rng = random.Random(12)
    tracker = MPIOperatorTracker(cluster.kubeconfig_path)
    before = cluster.ask("total")
    clear = 0
    for _ in range(count):
        kwargs, fields = broken_template_kwargs(rng)
        try:
            tracker.add_job(JobTemplate(**kwargs))
        except InvalidTemplateError as exc:
            named = all(f.removeprefix("extension_list[").strip("[]'") in str(exc) for f in fields)
            clear += int(sorted(exc.fields) == sorted(fields) and named)
    tracker.close()
    return clear, count, cluster.ask("total") - before


def run_loop_probe(cluster: FaultClusterProcess) -> dict[str, Any]:
    """The worst event-loop block of triggers in a fresh triggerer-like process."""
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    tracker = MPIOperatorTracker(cluster.kubeconfig_path)
    wait_id = tracker.add_job(_template("probe-wait", "Done", random.Random(0)))
    kill_ids = [
        tracker.add_job(_template(f"probe-kill-{n}", "Done", random.Random(n))) for n in range(3)
    ]
    out = subprocess.run(
        [sys.executable, str(PROBE), cluster.kubeconfig_path, wait_id, *kill_ids],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    line = [text for text in out.stdout.splitlines() if text.startswith("{")][-1]
    return dict(json.loads(line))


def main() -> int:
    import logging

    logging.getLogger("airflow_provider_mpi").setLevel(logging.ERROR)  # retries are expected
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sync-jobs", type=int, default=1100)
    parser.add_argument("--async-jobs", type=int, default=1100)
    parser.add_argument("--malformed", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--handovers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="200 + 200 jobs, 300 templates")
    args = parser.parse_args()
    if args.quick:
        args.sync_jobs, args.async_jobs, args.malformed, args.kills, args.handovers = (
            200,
            200,
            300,
            5,
            1,
        )
    started = time.perf_counter()
    with FaultClusterProcess(speed=SPEED, seed=args.seed, namespaces=NAMESPACES) as cluster:
        cluster.ask("faults", FAULT_MIX)
        t0 = time.perf_counter()
        outcomes = run_sync(cluster.kubeconfig_path, args.sync_jobs, workers=24)
        sync_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        outcomes += run_async(cluster.kubeconfig_path, args.async_jobs, concurrency=200)
        async_s = time.perf_counter() - t0
        hits = cluster.ask("hits")
        cluster.ask("faults", [])
        jobs = cluster.ask("jobs")
        result = tally(outcomes, jobs)
        clear, templates, requests = run_malformed(cluster, args.malformed)
        probes = [run_loop_probe(cluster) for _ in range(3)]
    kills = None
    if args.kills:
        from bench_kill_deferred import run as run_kills
        from bench_kill_deferred import summary as kill_summary

        kills = kill_summary(run_kills(args.kills, args.handovers, 3.5))

    print(
        f"fault matrix: {len(outcomes)} jobs ({args.sync_jobs} sync in {sync_s:.0f} s, "
        f"{args.async_jobs} async in {async_s:.0f} s), namespaces {', '.join(NAMESPACES)}"
    )
    statusless = ("reset", "drop-watch", "expire-watch", "latency")
    described = [
        f"{kind}{'' if kind in statusless else ' ' + str(status)} x{count}"
        for kind, status, count in hits
    ]
    print("faults hit: " + ", ".join(described))
    for name, items in (
        ("lost", result.lost),
        ("duplicated", result.duplicated),
        ("wrong final states", result.wrong),
        ("hung waits", result.hung),
        ("foreign exceptions", result.foreign),
        ("other errors", result.errors),
    ):
        print(f"  {name}: {len(items)}" + (f"  e.g. {items[:3]}" if items else ""))
    print(
        f"malformed templates: {clear}/{templates} clear errors naming the user's fields, "
        f"{requests} requests"
    )
    worst = [probe["worst_block"] * 1000 for probe in probes]
    imports = [probe["import_seconds"] * 1000 for probe in probes]
    print(
        "event loop, 3 fresh triggerer processes: worst block of the triggers "
        + ", ".join(f"{ms:.0f}" for ms in worst)
        + " ms; Airflow's import of the trigger class in the loop "
        + ", ".join(f"{ms:.0f}" for ms in imports)
        + " ms"
    )
    print(
        "  on the loop's thread (by thread, not time): TLS contexts built "
        + ", ".join(str(len(probe["tls_in_loop"])) for probe in probes)
        + "; files opened "
        + ", ".join(str(len(probe["files_in_loop"])) for probe in probes)
        + "; CPU time of the longest step "
        + ", ".join(f"{probe['worst_step_cpu'] * 1000:.1f}" for probe in probes)
        + " ms"
    )
    for probe in probes:
        for text in probe["slow_callbacks"]:
            print(f"  slow callback: {text[:240]}")
    if kills is not None:
        ok, tried, spared, handovers, slowest = kills
        print(
            f"kills of deferred tasks: {ok}/{tried} terminated within 5 s (worst {slowest:.2f} s), "
            f"handovers left running {spared}/{handovers}"
        )
    print(f"({time.perf_counter() - started:.0f} s)")
    clean = not (result.lost or result.duplicated or result.wrong or result.hung or result.foreign)
    met = [
        print(
            verdict(
                "0 lost, 0 duplicated, 0 wrong, 0 hung, 0 foreign",
                clean,
                f"{len(outcomes)} jobs, {len(result.errors)} other errors",
            )
        )
        or clean,
        print(
            verdict(
                "100 % clear template errors, 0 requests",
                clear == templates and not requests,
                f"{clear}/{templates}, {requests} requests",
            )
        )
        or (clear == templates),
        print(
            verdict(
                "no trigger blocks the loop > 50 ms",
                max(worst) <= 50,
                f"worst {max(worst):.0f} ms of 3 fresh processes",
            )
        )
        or max(worst) <= 50,
    ]
    if kills is not None:
        met.append(kills[0] == kills[1] and kills[2] == kills[3])
        print(verdict("every kill terminated within 5 s", met[-1], f"{kills[0]}/{kills[1]}"))
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
