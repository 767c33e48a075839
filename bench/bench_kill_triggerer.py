"""Benchmark: kills of deferred tasks in a real Airflow 3 deployment (issue 12 item 6).

A temporary ``AIRFLOW_HOME`` with SQLite; ``airflow api-server``,
``scheduler`` (LocalExecutor), ``dag-processor`` and ``triggerer`` as real
processes (``tests/e2e/deployment.py``, the harness of the browser test),
the emulated cluster in a child process (HTTPS). Each try starts a run of
``mpi_kill_probe`` (``tests/e2e/dag_kill_probe.py``: a deferred
``MPIJobOperator`` whose job works 300 s), waits until the task is deferred
and its trigger started, then marks the task failed through the public REST
API (``PATCH .../taskInstances/run {"new_state": "failed"}``, as the UI
does) and follows the MPIJob every 50 ms: a kill counts when the job is
terminated (DRMAA2 Failed/terminated) within 5 s of the request.

Every ``--fresh-every``-th try is the FIRST kill of a fresh triggerer: while
the task is deferred, the triggerer is restarted (SIGTERM and SIGKILL in
turn); for ``--handovers`` of them the new triggerer, before it ever
asked a task's state, is then frozen (SIGSTOP) past its heartbeat threshold
while a second triggerer takes the trigger, and thawed (it then cancels its
copy "by user action", apache/airflow#73454). The job must keep running
through all that, and the kill goes to the newest triggerer.
Then the clears: clearing a deferred task must leave its job running and
the new try must log that it reattaches (``mpi_kill_probe``, then marked
failed: one more kill; and ``mpi_clear_probe``, ``cancel_on_kill=False``,
whose mark-failed must leave the job running).

Run from the repository root when the machine is calm:
``.venv/bin/python bench/bench_kill_triggerer.py`` (``--tries 20
--fresh-every 3 --handovers 2``; about 5 min).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.e2e

from _harness import ClusterProcess, verdict

from tests.e2e.deployment import ROOT, deployment
from tests.e2e.kill_probe import (
    CLEAR_DAG,
    DEADLINE,
    KILL_DAG,
    Kill,
    KillProbe,
    Spared,
    seconds_text,
)

#: Seconds without a heartbeat before a triggerer's triggers go to another one.
HEALTH_CHECK_THRESHOLD = "15"


def _kill_tries(
    probe: KillProbe, tries: int, fresh_every: int, handovers: int
) -> tuple[list[Kill], list[Spared]]:
    kills: list[Kill] = []
    spared: list[Spared] = []
    signals = itertools.cycle((signal.SIGTERM, signal.SIGKILL))
    for n in range(tries):
        fresh = n % fresh_every == 0  # the first try: the first kill of the first triggerer
        run_id = probe.start_run(KILL_DAG)
        job_id, triggerer = probe.deferred(KILL_DAG, run_id)
        if fresh and n > 0:
            sig = next(signals)
            probe.restart_triggerer(sig)
            job_id, triggerer = probe.deferred(KILL_DAG, run_id, not_in=triggerer)
            spared.append(
                Spared(f"triggerer restart ({sig.name})", probe.still_running(job_id), "")
            )
            if handovers > 0:  # from the fresh triggerer, which never asked a task's state
                handovers -= 1
                check, triggerer = probe.handover(run_id, job_id, triggerer)
                spared.append(check)
        kill = probe.kill(KILL_DAG, run_id, job_id, triggerer, fresh=fresh)
        kills.append(kill)
        _print_kill(n + 1, kill)
    return kills, spared


def _clear_tries(probe: KillProbe) -> tuple[list[Kill], list[Spared]]:
    kills, spared = [], []
    for dag in (KILL_DAG, CLEAR_DAG):
        # A clear gives the task a new try, which reattaches to the running job.
        run_id = probe.start_run(dag)
        job_id, _ = probe.deferred(dag, run_id)
        probe.clear(dag, run_id)
        followed, triggerer = probe.deferred(dag, run_id, try_number=2)
        line = next(
            (
                text
                for text in probe.task_log(dag, run_id, 2).splitlines()
                if f"Reattaching to MPIJob {job_id}" in text
            ),
            "",
        )
        spared.append(
            Spared(
                f"clear of {dag}: try 2 reattaches",
                probe.still_running(job_id) and followed == job_id and bool(line),
                line.split('"event":"', 1)[-1][:100],
            )
        )
        if dag == KILL_DAG:  # then the try that reattached is killed
            kill = probe.kill(dag, run_id, job_id, triggerer, fresh=False, try_number=2)
            kills.append(kill)
            _print_kill(len(kills), kill)
        else:  # cancel_on_kill=False: a mark-failed leaves the job running
            probe.mark_failed(dag, run_id)
            time.sleep(DEADLINE)
            spared.append(
                Spared(f"mark failed of {dag} (no cancel_on_kill)", probe.still_running(job_id), "")
            )
    return kills, spared


def _print_kill(n: int, kill: Kill) -> None:
    what = f"{kill.how}, first kill of a fresh triggerer" if kill.fresh else kill.how
    print(
        f"try {n:2d} {what:45s} {seconds_text(kill.seconds):>8s}  {kill.state:18s} "
        f"trigger started {kill.after_start:5.1f} s before  {kill.decision}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20, help="mark-failed kills")
    parser.add_argument("--fresh-every", type=int, default=3, help="a fresh triggerer every N")
    parser.add_argument("--handovers", type=int, default=2, help="fresh ones by a handover")
    parser.add_argument("--no-clears", action="store_true", help="skip the clear tries")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"load average at the start: {os.getloadavg()[0]:.1f}", flush=True)
    home = Path(tempfile.mkdtemp(prefix="bench-kill-airflow-"))
    print(f"AIRFLOW_HOME {home} (removed when every verdict is met)", flush=True)
    with (
        ClusterProcess(speed=1.0) as cluster,
        deployment(
            home,
            cluster.kubeconfig_path,
            [ROOT / "tests" / "e2e" / "dag_kill_probe.py"],
            AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD=HEALTH_CHECK_THRESHOLD,
        ) as airflow,
    ):
        probe = KillProbe(airflow, cluster.kubeconfig_path)
        try:
            kills, spared = _kill_tries(probe, args.tries, args.fresh_every, args.handovers)
            if not args.no_clears:
                more_kills, more_spared = _clear_tries(probe)
                kills += more_kills
                spared += more_spared
        finally:
            probe.close()
    for check in spared:
        print(f"kept running: {check.what}: {'yes' if check.running else 'NO'} {check.detail}")
    ok = [k for k in kills if k.seconds is not None and k.seconds <= DEADLINE]
    fresh = [k for k in kills if k.fresh]
    fresh_ok = [k for k in fresh if k in ok]
    worst = max((k.seconds for k in kills if k.seconds is not None), default=float("nan"))
    kept = sum(check.running for check in spared)
    print(f"kills terminated within {DEADLINE:.0f} s: {len(ok)}/{len(kills)} (worst {worst:.2f} s)")
    print(f"  of them first kills of a fresh triggerer: {len(fresh_ok)}/{len(fresh)}")
    print(f"restarts, handovers and clears that kept the job as they should: {kept}/{len(spared)}")
    print(f"({time.perf_counter() - started:.0f} s, load average now {os.getloadavg()[0]:.1f})")
    met = len(ok) == len(kills) and kept == len(spared)
    print(
        verdict(
            "every kill terminated within 5 s (fresh triggerers included), every handover spared",
            met,
            f"{len(ok)}/{len(kills)} kills, {len(fresh_ok)}/{len(fresh)} first kills, "
            f"{kept}/{len(spared)} kept, worst {worst:.2f} s",
        )
    )
    if met:
        shutil.rmtree(home, ignore_errors=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
