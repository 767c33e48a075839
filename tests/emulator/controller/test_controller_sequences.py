"""Condition sequences as a watcher of the MPIJob sees them, scenario by scenario.

Each row: an MPIJob, what happens to it, and every distinct list of
conditions ``(type, status, reason)`` its MODIFIED events carry, in order.
The orders follow upstream ``setCondition``: an updated condition moves to
the end, and finishing turns ``Running`` to False.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_mpi.testing.clock import ManualClock
from airflow_provider_mpi.testing.cluster import mpijob_crd
from airflow_provider_mpi.testing.controller.job import JobController
from airflow_provider_mpi.testing.controller.kubelet import Kubelet
from airflow_provider_mpi.testing.controller.loop import ControllerLoop
from airflow_provider_mpi.testing.controller.mpijob import MPIJobController
from airflow_provider_mpi.testing.store import Store, WatchEvent
from tests.emulator.controller.test_controller import START, mpijob

if TYPE_CHECKING:  # annotations only: no runtime union of a Callable alias on 3.10
    Step = float | Callable[[Store], None]

CREATED = ("Created", "True", "MPIJobCreated")
RUNNING = ("Running", "True", "MPIJobRunning")
RAN = ("Running", "False", "MPIJobRunning")
SUCCEEDED = ("Succeeded", "True", "MPIJobSucceeded")
SUSPENDED = ("Suspended", "True", "MPIJobSuspended")
RESUMED = ("Suspended", "False", "MPIJobResumed")
HELD = ("Running", "False", "MPIJobSuspended")


def set_suspend(value: bool) -> Callable[[Store], None]:
    def change(store: Store) -> None:
        job = store.get("mpijobs", "default", "pi")
        job["spec"].setdefault("runPolicy", {})["suspend"] = value
        store.update("mpijobs", job)

    return change


def never(job: dict[str, Any]) -> dict[str, Any]:
    job["spec"]["mpiReplicaSpecs"]["Launcher"]["restartPolicy"] = "Never"
    return job


SCENARIOS: list[tuple[str, dict[str, Any], list[Step], list[list[tuple[str, str, str]]]]] = [
    (
        "success",
        mpijob(script={"duration": "5"}),
        [10],
        [[CREATED], [CREATED, RUNNING], [CREATED, RAN, SUCCEEDED]],
    ),
    (
        "launcher exits 2, Never, backoffLimit 0",
        never(mpijob(script={"duration": "5", "exit-code": "2"}, run_policy={"backoffLimit": 0})),
        [10],
        [
            [CREATED],
            [CREATED, RUNNING],
            [CREATED, RAN, ("Failed", "True", "BackoffLimitExceeded/")],
        ],
    ),
    (
        "launcher exits 2, OnFailure, backoffLimit 1",
        mpijob(script={"duration": "5", "exit-code": "2"}, run_policy={"backoffLimit": 1}),
        [60],
        [
            [CREATED],
            [CREATED, RUNNING],
            [CREATED, RAN, ("Failed", "True", "BackoffLimitExceeded")],
        ],
    ),
    (
        "active deadline",
        mpijob(script={"duration": "50"}, run_policy={"activeDeadlineSeconds": 10}),
        [60],
        [[CREATED], [CREATED, RUNNING], [CREATED, RAN, ("Failed", "True", "DeadlineExceeded")]],
    ),
    (
        "worker evicted, launcher gives up later",
        mpijob(script={"duration": "30", "evict-worker": "0@2"}),
        [1000],
        [
            [CREATED],
            [CREATED, RUNNING],
            [CREATED, RAN, ("Failed", "True", "MPIJobEvicted")],
            [CREATED, RAN, ("Failed", "True", "BackoffLimitExceeded")],
        ],
    ),
    ("unschedulable", mpijob(script={"unschedulable": "true"}), [100], [[CREATED]]),
    (
        "launcher image pull error",
        mpijob(script={"image-pull-error": "launcher"}),
        [100],
        [[CREATED]],
    ),
    (
        "suspended at creation, resumed",
        mpijob(script={"duration": "5"}, run_policy={"suspend": True}),
        [5, set_suspend(False), 10],
        [
            [CREATED, SUSPENDED, HELD],
            [CREATED, HELD, RESUMED],
            [CREATED, RESUMED, RUNNING],
            [CREATED, RESUMED, RAN, SUCCEEDED],
        ],
    ),
    (
        "suspended while running, resumed",
        mpijob(script={"duration": "5"}),
        [2, set_suspend(True), 5, set_suspend(False), 10],
        [
            [CREATED],
            [CREATED, RUNNING],
            [CREATED, SUSPENDED, HELD],
            [CREATED, HELD, RESUMED],
            [CREATED, RESUMED, RUNNING],
            [CREATED, RESUMED, RAN, SUCCEEDED],
        ],
    ),
    (
        "launcher only, no workers",
        mpijob(workers=None, script={"duration": "1"}),
        [5],
        [[CREATED], [CREATED, RUNNING], [CREATED, RAN, SUCCEEDED]],
    ),
]


@pytest.mark.parametrize(
    ("job", "steps", "expected"),
    [pytest.param(job, steps, expected, id=name) for name, job, steps, expected in SCENARIOS],
)
def test_condition_sequence(
    job: dict[str, Any], steps: list[Step], expected: list[list[tuple[str, str, str]]]
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
    seen: list[list[tuple[str, str, str]]] = []

    def watch(event: WatchEvent) -> None:
        if event.resource.plural != "mpijobs":
            return
        conditions = (event.object.get("status") or {}).get("conditions") or []
        current = [(c["type"], c["status"], c["reason"]) for c in conditions]
        if current and (not seen or seen[-1] != current):
            seen.append(current)

    store.subscribe(watch)
    store.create("mpijobs", job)
    for step in steps:
        if callable(step):
            step(store)
        else:
            loop.advance(step)
    loop.stop()
    assert seen == expected
