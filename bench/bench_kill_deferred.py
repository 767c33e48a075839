"""Benchmark: kills of deferred tasks, each the FIRST kill of a fresh triggerer process.

Each try starts a new interpreter (``bench/_kill_try.py``) that runs Airflow's
real ``TriggerRunner`` with the real ``MPIJobTrigger`` following a running
MPIJob on the emulated cluster (a child process, HTTPS). The user's kill
arrives through ``cancel_triggers`` (what mark-failed does), the supervisor
answers state questions only 3.5 s after the first one (it builds its
in-process API then, as in the reported deployment; the trigger asks once
when it starts), and the triggerer cancels ``on_kill`` after a random number
of loop steps in most tries. The job's state is polled (every 50 ms) from the
bench's process while the triggerer lives; a kill counts when the job was
seen terminated within 5 s of the kill. Handover tries (the task still
``deferred``) must leave the job running.

This drives the real ``TriggerRunner`` in-process, not a whole ``airflow
triggerer`` deployment with its API server and scheduler: the supervisor's
answer is played by a stand-in with the reported delay.
``bench_kill_triggerer.py`` runs the whole deployment.

Run from the repository root: ``.venv/bin/python bench/bench_kill_deferred.py``
(``--tries 20 --handovers 4``).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _harness import ClusterProcess, scripted_template, verdict

CHILD = Path(__file__).with_name("_kill_try.py")
DEADLINE = 5.0


@dataclass
class KillResult:
    """One try."""

    kind: str  # "kill" or "handover"
    cancel_after: int
    seconds: float | None  # kill -> terminal condition; None if never
    state: str


def _one(cluster: ClusterProcess, kind: str, delay: float, cancel_after: int) -> KillResult:
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    tracker = MPIOperatorTracker(cluster.kubeconfig_path)
    job_id = tracker.add_job(scripted_template(3600))
    state = "failed" if kind == "kill" else "deferred"
    child = subprocess.Popen(
        [
            sys.executable,
            str(CHILD),
            cluster.kubeconfig_path,
            job_id,
            state,
            str(delay),
            str(cancel_after),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    terminated_at = None  # when this process first saw the job terminated
    while child.poll() is None:
        if terminated_at is None and tracker.job_state(job_id)[0].is_terminal:
            terminated_at = time.time()
        time.sleep(0.05)
    out = child.stdout.read() if child.stdout else ""
    line = [text for text in out.splitlines() if text.startswith("{")][-1]
    killed_at = float(json.loads(line)["killed_at"])
    final, sub_state = tracker.job_state(job_id)
    if terminated_at is None and final.is_terminal:
        terminated_at = time.time()
    if not final.is_terminal:
        tracker.job_control(job_id, "terminate")  # leave nothing running
    tracker.close()
    seconds = None if terminated_at is None else terminated_at - killed_at
    return KillResult(kind, cancel_after, seconds, f"{final.name}/{sub_state}")


def run(tries: int, handovers: int, delay: float, seed: int = 1) -> list[KillResult]:
    """Run the tries; returns one result per try (kills first, then handovers)."""
    rng = random.Random(seed)
    results = []
    with ClusterProcess(speed=1.0) as cluster:
        for n in range(tries):
            cancel_after = -1 if n % 5 == 0 else rng.randint(0, 60)
            results.append(_one(cluster, "kill", delay, cancel_after))
        for _ in range(handovers):
            results.append(_one(cluster, "handover", 0.0, rng.randint(-1, 20)))
    return results


def summary(results: list[KillResult]) -> tuple[int, int, int, int, float]:
    """(kills terminated within 5 s, kills, handovers spared, handovers, worst kill seconds)."""
    kills = [r for r in results if r.kind == "kill"]
    handovers = [r for r in results if r.kind == "handover"]
    ok = [r for r in kills if r.seconds is not None and r.seconds <= DEADLINE]
    spared = [r for r in handovers if r.seconds is None]
    worst = max((r.seconds for r in kills if r.seconds is not None), default=float("nan"))
    return len(ok), len(kills), len(spared), len(handovers), worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--handovers", type=int, default=4)
    parser.add_argument("--delay", type=float, default=3.5, help="first supervisor answer (s)")
    args = parser.parse_args()
    started = time.perf_counter()
    results = run(args.tries, args.handovers, args.delay)
    for r in results:
        took = "never" if r.seconds is None else f"{r.seconds:.2f} s"
        print(f"{r.kind:9s} cancel on_kill after {r.cancel_after:3d} steps: {took:>8s}  {r.state}")
    ok, kills, spared, handovers, worst = summary(results)
    print(f"kills terminated within {DEADLINE:.0f} s: {ok}/{kills} (worst {worst:.2f} s)")
    print(f"handovers left running: {spared}/{handovers}")
    print(f"({time.perf_counter() - started:.0f} s)")
    met = ok == kills and spared == handovers
    print(
        verdict(
            "every kill terminated within 5 s, every handover spared",
            met,
            f"{ok}/{kills} kills, {spared}/{handovers} handovers, worst {worst:.2f} s",
        )
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
