"""Invariants of the simulated operator over random scripts (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mpi.testing.clock import ManualClock
from airflow_provider_mpi.testing.cluster import mpijob_crd
from airflow_provider_mpi.testing.controller.job import JobController
from airflow_provider_mpi.testing.controller.kubelet import Kubelet
from airflow_provider_mpi.testing.controller.loop import ControllerLoop
from airflow_provider_mpi.testing.controller.mpijob import MPIJobController
from airflow_provider_mpi.testing.store import Store
from tests.emulator.controller.test_controller import START, mpijob

scripts = st.fixed_dictionaries(
    {},
    optional={
        "duration": st.integers(0, 20).map(str),
        "exit-code": st.sampled_from(["0", "1", "137"]),
        "worker-duration": st.integers(0, 5).map(str),
        "start-delay": st.integers(0, 5).map(str),
        "evict-worker": st.tuples(st.integers(0, 2), st.integers(0, 10)).map(
            lambda t: f"{t[0]}@{t[1]}"
        ),
        "unschedulable": st.sampled_from(["worker", "launcher"]),
        "image-pull-error": st.sampled_from(["worker", "launcher"]),
    },
)
run_policies = st.fixed_dictionaries(
    {},
    optional={
        "backoffLimit": st.integers(0, 2),
        "activeDeadlineSeconds": st.integers(1, 30),
        "cleanPodPolicy": st.sampled_from(["None", "Running", "All"]),
    },
)


def snapshot(store: Store) -> dict[tuple[str, str, str], str]:
    versions = {}
    for plural in ("mpijobs", "jobs", "pods", "services", "configmaps", "secrets"):
        for obj in store.list(plural)[0]:
            meta = obj["metadata"]
            versions[(plural, meta["namespace"], meta["name"])] = meta["resourceVersion"]
    return versions


def true_conditions(job: dict[str, Any]) -> set[str]:
    conditions = (job.get("status") or {}).get("conditions") or []
    return {c["type"] for c in conditions if c["status"] == "True"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script=scripts,
    run_policy=run_policies,
    workers=st.integers(1, 3),
    restart_policy=st.sampled_from(["Never", "OnFailure"]),
    wait_for_workers=st.booleans(),
    suspend_at=st.one_of(st.none(), st.integers(0, 15)),
    steps=st.lists(st.integers(0, 40), min_size=1, max_size=6),
)
def test_operator_invariants(
    script: dict[str, str],
    run_policy: dict[str, Any],
    workers: int,
    restart_policy: str,
    wait_for_workers: bool,
    suspend_at: int | None,
    steps: list[int],
) -> None:
    clock = ManualClock(START)
    store = Store(now=clock.now)
    store.create("customresourcedefinitions", mpijob_crd())
    loop = ControllerLoop(
        store,
        clock,
        [
            MPIJobController(store, clock.now),
            JobController(store, clock.now),
            Kubelet(store, clock.now),
        ],
    )
    job = mpijob(workers=workers, script=script, run_policy=run_policy)
    job["spec"]["mpiReplicaSpecs"]["Launcher"]["restartPolicy"] = restart_policy
    if wait_for_workers:
        job["spec"]["launcherCreationPolicy"] = "WaitForWorkersReady"
    store.create("mpijobs", job)
    elapsed = 0
    suspended = False
    for step in steps:
        loop.advance(step)
        elapsed += step
        if suspend_at is not None and not suspended and elapsed >= suspend_at:
            stored = store.get("mpijobs", "default", "pi")
            stored["spec"].setdefault("runPolicy", {})["suspend"] = True
            store.update("mpijobs", stored)
            suspended = True
            loop.advance(0)
        current = store.get("mpijobs", "default", "pi")
        status = current.get("status") or {}
        conditions = status.get("conditions") or []
        assert conditions[0]["type"] == "Created"
        assert len({c["type"] for c in conditions}) == len(conditions)
        done = true_conditions(current)
        assert not {"Succeeded", "Failed"} <= done
        if "Succeeded" in done:
            assert "Running" not in done
            assert status["completionTime"] >= status["startTime"]
        if suspended and not {"Succeeded", "Failed"} & done:
            assert "Suspended" in done
            workers_left = store.list(
                "pods", "default", label_selector="training.kubeflow.org/job-role=worker"
            )[0]
            # cleanPodPolicy Running keeps finished workers; none is active.
            assert all(p["status"]["phase"] in ("Succeeded", "Failed") for p in workers_left)
        # Settled: running the controllers again at the same instant changes nothing
        # (an event may only count up).
        before = snapshot(store)
        loop.advance(0)
        assert snapshot(store) == before
    loop.stop()
