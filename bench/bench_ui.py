"""The "MPI Jobs" page: how soon it shows a change, what a view costs, how it scales.

The page's app (``airflow_provider_mpi.plugins.app``) runs in this process
behind FastAPI's test client, reading the emulated cluster (in its own
process, see ``_harness``) through the tracker, as in Airflow's API server;
the XComs that name a task's job come from a dict instead of Airflow's
database, and the auth manager is left out (its check is one JWT decode).

Figures:

1. **Change to page.** Jobs start and end while a client polls the JSON
   API every second, as the page's script does. Delay = when the client saw
   the job Done minus when the controller wrote its ``Succeeded`` condition
   (same clock). Goal: at most 2 s.
2. **Requests per view,** counted by the emulated API server: the job page,
   one of its polls, the run page.
3. **1,000 MPIJobs in the namespace:** load time of a run's page listing 5 of
   them and of one listing 995, and of a job page. Goal: at most 1 s.

Run: ``.venv/bin/python bench/bench_ui.py [--jobs 10] [--namespace-size 1000]``.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import warnings
from typing import Any

from _harness import ClusterProcess, held_mpijob, percentiles, table, verdict

NAMESPACE = "default"
DAG_ID = "bench_ui"
POLL_SECONDS = 1.0

# FastAPI's test client (a dependency's notice, not ours).
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


class _Hook:
    """The hook the page builds from a task's access XCom; here, one tracker."""

    def __init__(self, tracker: Any) -> None:
        self._tracker = tracker

    def get_tracker(self) -> Any:
        return self._tracker


def _labelled(name: str, run_id: str, duration: float, task_id: str = "run_job") -> dict[str, Any]:
    from airflow_provider_mpi.mpioperator import names as keys

    mpijob = held_mpijob(name, duration, NAMESPACE)
    mpijob["metadata"].setdefault("labels", {}).update(
        {
            keys.LABEL_DAG_ID: DAG_ID,
            keys.LABEL_RUN_ID: run_id,
            keys.LABEL_AIRFLOW_TASK_ID: task_id,
        }
    )
    return mpijob


def _app(tracker: Any, xcoms: dict[tuple[str, str], str]) -> Any:
    from fastapi.testclient import TestClient

    from airflow_provider_mpi.links import ACCESS_XCOM_KEY, JOB_ID_XCOM_KEY
    from airflow_provider_mpi.plugins._data import MPIJobsReader
    from airflow_provider_mpi.plugins.app import create_app

    access = {"conn_id": "bench"}

    def read(dag_id: str, run_id: str, task_id: str | None, wanted: tuple[str, ...]) -> list[Any]:
        rows: list[Any] = []
        for (run, task), job_id in xcoms.items():
            if run == run_id and task_id in (None, task):
                if JOB_ID_XCOM_KEY in wanted:
                    rows.append((task, -1, JOB_ID_XCOM_KEY, job_id))
                if ACCESS_XCOM_KEY in wanted:
                    rows.append((task, -1, ACCESS_XCOM_KEY, access))
        return rows

    reader = MPIJobsReader(xcoms=read, hook_factory=lambda _: _Hook(tracker))
    return TestClient(create_app(reader, authorize=False))


def change_to_page(cluster: ClusterProcess, custom: Any, tracker: Any, jobs: int) -> list[float]:
    """Per job, ms from its Succeeded condition to a 1 s poller seeing Done."""
    xcoms: dict[tuple[str, str], str] = {}
    names = [f"ui-latency-{i}" for i in range(jobs)]
    for i, name in enumerate(names):
        custom.create_namespaced_custom_object(
            "kubeflow.org", "v2beta1", NAMESPACE, "mpijobs", _labelled(name, f"run-{i}", 2.0)
        )
        xcoms[(f"run-{i}", "run_job")] = f"{NAMESPACE}/{name}"
    client = _app(tracker, xcoms)
    seen: dict[str, float] = {}

    def poll(i: int, name: str) -> None:
        query = {"dag_id": DAG_ID, "run_id": f"run-{i}", "task_id": "run_job"}
        while True:
            view = client.get("/api/job", params=query).json()
            if view["state"] == "Done":
                seen[name] = time.time()
                return
            time.sleep(POLL_SECONDS)

    cluster.reset()
    pollers = [threading.Thread(target=poll, args=(i, n)) for i, n in enumerate(names)]
    for thread in pollers:
        thread.start()
        time.sleep(POLL_SECONDS / jobs)  # pages opened at different phases of a second
    cluster.release(names)
    for thread in pollers:
        thread.join(60)
    ended = cluster.ended()
    return [(seen[n] - ended[n]) * 1000 for n in names if n in seen and n in ended]


def requests_per_view(cluster: ClusterProcess, tracker: Any) -> list[tuple[str, int]]:
    """Requests the emulated API server answered for each kind of page view."""
    job_id = f"{NAMESPACE}/ui-latency-0"
    client = _app(tracker, {("run-0", "run_job"): job_id})
    query = {"dag_id": DAG_ID, "run_id": "run-0", "task_id": "run_job"}
    client.get("/api/job", params=query)  # the tracker is built once, then reused
    out = []
    for label, path, params in (
        ("job page", "/job", query),
        ("job page poll (each second while it runs)", "/job/fragment", query),
        ("run page", "/run", {"dag_id": DAG_ID, "run_id": "run-0"}),
    ):
        before = cluster.counters()
        assert client.get(path, params=params).status_code == 200
        out.append((label, cluster.counters().minus(before).total))
    return out


def big_namespace(custom: Any, tracker: Any, size: int) -> list[tuple[str, int, float, float]]:
    """Load times (median, max ms of 10) with ``size`` MPIJobs in the namespace."""
    small = 5
    for i in range(size):
        run_id = "run-small" if i < small else "run-big"
        body = _labelled(f"ui-many-{i:04d}", run_id, 1.0, task_id=f"t{i % 7}")
        custom.create_namespaced_custom_object(
            "kubeflow.org", "v2beta1", NAMESPACE, "mpijobs", body
        )
    xcoms = {("run-small", "t0"): f"{NAMESPACE}/ui-many-0000"}
    xcoms.update({("run-big", f"t{i}"): f"{NAMESPACE}/ui-many-0010" for i in range(7)})
    client = _app(tracker, xcoms)
    rows = []
    for label, path, params, expected in (
        ("run page, 5 of its jobs", "/run", {"dag_id": DAG_ID, "run_id": "run-small"}, small),
        (
            "run page, 995 of its jobs",
            "/run",
            {"dag_id": DAG_ID, "run_id": "run-big"},
            size - small,
        ),
        (
            "job page",
            "/job",
            {"dag_id": DAG_ID, "run_id": "run-small", "task_id": "t0"},
            1,
        ),
    ):
        times = []
        for _ in range(10):
            started = time.perf_counter()
            response = client.get(path, params=params)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        shown = response.text.count('data-state="')
        assert shown == expected, (label, shown)
        rows.append((label, shown, statistics.median(times), max(times)))
    return rows


def main() -> int:
    """Run the three measurements; print figures and verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--namespace-size", type=int, default=1000)
    args = parser.parse_args()

    from kubernetes import client as k8s
    from kubernetes import config

    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    with ClusterProcess() as cluster:
        api_client = config.new_client_from_config(
            config_file=cluster.kubeconfig_path, persist_config=False
        )
        custom = k8s.CustomObjectsApi(api_client)
        tracker = MPIOperatorTracker(api_client=api_client, namespace=NAMESPACE)

        delays = change_to_page(cluster, custom, tracker, args.jobs)
        p50, p95, _, worst = percentiles(delays)
        print(f"1. Change to page: {len(delays)} jobs, page polling every {POLL_SECONDS:.0f} s")
        print(table(("p50 ms", "p95 ms", "max ms"), [(p50, p95, worst)]))
        print(verdict("state change shown within 2 s", worst <= 2000, f"max {worst:.0f} ms"))

        print("\n2. Requests per view against the cluster")
        counted = requests_per_view(cluster, tracker)
        print(table(("view", "requests"), counted))

        print(f"\n3. {args.namespace_size:,} MPIJobs in the namespace")
        cluster.clear()
        loads = big_namespace(custom, tracker, args.namespace_size)
        print(table(("page", "jobs shown", "median ms", "max ms"), loads))
        slowest = max(row[3] for row in loads)
        print(verdict("page loads within 1 s", slowest <= 1000, f"slowest {slowest:.0f} ms"))
        api_client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
