"""Benchmark: SIGKILL a 200-task array submission part way, then run it again.

For each kill point, a submitter process runs
``MPIOperatorTracker.add_array_job(template, 1, 200, 1, 5)`` against the
emulated cluster and is SIGKILLed once that many tasks exist; then the same
submission runs again in this process. The emulator counts every create that
took effect (answered with success, or with its answer lost), so "each task
once" is read from the server's side. Creates are slowed by 20 ms in the
emulator (a fault of its fault layer) so that the kill lands mid-array.

Printed per kill point: tasks left by the killed submitter, tasks the re-run
created, tasks in the end, creates that took effect, tasks released beyond
``max_parallel`` (must be 0), and a verdict.

Run from the repository root: ``.venv/bin/python bench/bench_array_crash.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _harness import scripted_template, table, verdict

REPO = Path(__file__).resolve().parents[1]
TASKS = 200
MAX_PARALLEL = 5
SUBMITTER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from _harness import scripted_template
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker
    tracker = MPIOperatorTracker(sys.argv[1])
    tracker.add_array_job(scripted_template(3600.0, name="crash"), 1, {tasks}, 1, {limit})
    """
).format(tasks=TASKS, limit=MAX_PARALLEL)


def trial(kill_after: int) -> tuple[int, int, int, int, int, int]:
    """One kill and re-run; returns the figures of one row."""
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker
    from airflow_provider_mpi.testing import MPICluster
    from airflow_provider_mpi.testing.faults import Verb

    with MPICluster(clock="manual") as cluster:

        def tasks() -> list[dict[str, object]]:
            items, _ = cluster.store.list(
                "mpijobs", "default", label_selector="airflow-provider-mpi/array-id=crash"
            )
            return items

        cluster.faults.delay(0.02, verb="create", resource="mpijobs")
        submitter = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SUBMITTER,
                str(cluster.kubeconfig_path),
                str(Path(__file__).parent),
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while len(tasks()) < kill_after and time.monotonic() < deadline:
            if submitter.poll() is not None:
                break
            time.sleep(0.005)
        submitter.send_signal(signal.SIGKILL)
        submitter.wait(timeout=30)
        time.sleep(0.3)  # creates in flight at the kill land, or not
        left = len(tasks())
        cluster.faults.clear()
        before = cluster.requests.snapshot().get((Verb.CREATE, "mpijobs"))
        with MPIOperatorTracker(cluster.kubeconfig_path) as tracker:
            tracker.add_array_job(
                scripted_template(3600.0, name="crash"), 1, TASKS, 1, MAX_PARALLEL
            )
        after = cluster.requests.snapshot()[(Verb.CREATE, "mpijobs")]
        rerun = after.count - after.errors - (before.count - before.errors if before else 0)
        final = tasks()
        effective = after.count - after.errors + after.lost
        running = sum(
            1
            for t in final
            if not t["spec"].get("runPolicy", {}).get("suspend")  # type: ignore[attr-defined]
        )
        names = {str(t["metadata"]["name"]) for t in final}  # type: ignore[index]
        expected = {f"crash-{i}" for i in range(1, TASKS + 1)}
        missing_or_extra = len(names ^ expected)
        return left, rerun, len(final), effective, max(0, running - MAX_PARALLEL), missing_or_extra


def main() -> int:
    """Run the kill points and print the table and the verdict."""
    rows = []
    for kill_after in (1, 40, 100, 160, 199):
        rows.append((kill_after, *trial(kill_after)))
        print(f"  killed after {kill_after}", file=sys.stderr, flush=True)
    print(
        f"\nSIGKILL during a {TASKS}-task add_array_job (max_parallel {MAX_PARALLEL}), "
        "then a re-run\n"
    )
    print(
        table(
            [
                "kill at",
                "tasks left",
                "re-run created",
                "tasks",
                "creates in effect",
                "over max_parallel",
                "missing/extra",
            ],
            rows,
        )
    )
    print()
    print(
        verdict(
            f"exactly {TASKS} tasks, each created once, max_parallel kept",
            all(r[3] == TASKS and r[4] == TASKS and r[5] == 0 and r[6] == 0 for r in rows),
            "; ".join(f"kill at {r[0]}: {r[1]} left + {r[2]} re-created = {r[3]}" for r in rows),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
