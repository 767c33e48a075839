"""max_parallel with no waiting task: whoever waits on a task releases (issue 12, item 2).

Many waiters race: threads with their own sync trackers (as sensors in
several workers), coroutines with async trackers (as triggers in a
triggerer), a ``wait_array`` and plain pokes. The emulator's store is
watched for every change of every task, so the count of active tasks
(released and not ended) is checked at each step, not sampled.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import JobState
from airflow_provider_mpi.mpioperator import (
    AsyncMPIOperatorTracker,
    MPIOperatorTracker,
    RetryPolicy,
)
from airflow_provider_mpi.mpioperator.names import LABEL_ARRAY_ID
from airflow_provider_mpi.mpioperator.tracker.array_owner import REPAIR_GRACE
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.faults import Verb
from airflow_provider_mpi.testing.store import WatchEvent
from tests.cluster.tracker_support import template

pytestmark = pytest.mark.emulator_only(
    "watches the store to count active tasks at every change, and injects faults"
)

S = JobState
FAST_RETRY = RetryPolicy(max_attempts=8, initial_delay=0.01, max_delay=0.1, total_timeout=20)


class ActiveCounter:
    """Counts the array's tasks that are released and have not ended, at every change."""

    def __init__(self, cluster: MPICluster, array: str) -> None:
        self.array = array
        self.active: set[str] = set()
        self.peak = 0
        self.released: set[str] = set()
        self._lock = threading.Lock()
        self.unsubscribe = cluster.store.subscribe(self.on_event)

    def on_event(self, event: WatchEvent) -> None:
        if event.resource.plural != "mpijobs":
            return
        obj: dict[str, Any] = event.object
        if (obj["metadata"].get("labels") or {}).get(LABEL_ARRAY_ID) != self.array:
            return
        name = obj["metadata"]["name"]
        conditions = (obj.get("status") or {}).get("conditions") or []
        ended = any(
            c["type"] in ("Succeeded", "Failed") and c["status"] == "True" for c in conditions
        )
        running = not (obj["spec"].get("runPolicy") or {}).get("suspend")
        with self._lock:
            if running:
                self.released.add(name)
            if running and not ended and event.type.value != "DELETED":
                self.active.add(name)
            else:
                self.active.discard(name)
            self.peak = max(self.peak, len(self.active))


def run_async_waiters(cluster: MPICluster, job_ids: list[str], results: dict[str, Any]) -> None:
    async def main() -> None:
        async with cluster.async_api_client() as client:
            trackers = [AsyncMPIOperatorTracker(client, retry=FAST_RETRY) for _ in job_ids]
            states = await asyncio.gather(
                *(t.wait(j, 120) for t, j in zip(trackers, job_ids, strict=True)),
                return_exceptions=True,
            )
        results.update(zip(job_ids, states, strict=True))

    asyncio.run(main())


@pytest.mark.parametrize("waiting", ["every-task", "held-tasks-only"])
@pytest.mark.mpi_cluster(clock=40.0)
def test_racing_waiters_never_exceed_max_parallel(mpi_cluster: MPICluster, waiting: str) -> None:
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY)
    counter = ActiveCounter(mpi_cluster, "race")
    try:
        array_id = tracker.add_array_job(template(name="race", duration=2), 1, 16, 1, 2)
        tasks = tracker.list_array_jobs(array_id)
        # nobody waits on the two running tasks in the second case: the held ones release
        watched = tasks if waiting == "every-task" else tasks[2:]
        results: dict[str, Any] = {}

        def sync_wait(job_id: str) -> None:
            with MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY) as own:
                try:
                    results[job_id] = own.wait(job_id, 120)
                except Exception as exc:  # reported below, with the job
                    results[job_id] = exc

        threads = [threading.Thread(target=sync_wait, args=(j,)) for j in watched[0::2]]
        threads.append(
            threading.Thread(target=run_async_waiters, args=(mpi_cluster, watched[1::2], results))
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        counter.unsubscribe()
    assert results == dict.fromkeys(watched, S.DONE)
    assert counter.peak == 2
    # the optimistic lock on the owner: each held task was released by one request only
    patches = mpi_cluster.requests.snapshot()[(Verb.PATCH, "mpijobs")]
    assert patches.count == 14
    # each move of the mark that took effect released at least one task
    marks = mpi_cluster.requests.snapshot()[(Verb.PATCH, "configmaps")]
    assert 1 <= marks.count - marks.errors <= 14
    assert counter.released == {j.split("/")[1] for j in tasks}  # every task ran
    states = tracker.wait_array(array_id, 60)
    assert set(states.values()) == {S.DONE}


@pytest.mark.mpi_cluster(clock=40.0)
def test_wait_array_and_pokes_race_without_over_release(mpi_cluster: MPICluster) -> None:
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY)
    counter = ActiveCounter(mpi_cluster, "mix")
    stop = threading.Event()
    try:
        array_id = tracker.add_array_job(template(name="mix", duration=1), 1, 12, 1, 3)
        tasks = tracker.list_array_jobs(array_id)

        def poke(job_id: str) -> None:  # a sensor in poke mode: job_state in a loop
            with MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY) as own:
                while not stop.is_set() and not own.job_state(job_id)[0].is_terminal:
                    stop.wait(0.02)

        pokers = [threading.Thread(target=poke, args=(j,)) for j in tasks[::3]]
        waiters = [
            threading.Thread(
                target=lambda: MPIOperatorTracker(
                    mpi_cluster.kubeconfig_path, retry=FAST_RETRY
                ).wait_array(array_id, 120)
            )
            for _ in range(3)
        ]
        for thread in pokers + waiters:
            thread.start()
        for thread in waiters:
            thread.join(timeout=180)
        stop.set()
        for thread in pokers:
            thread.join(timeout=30)
    finally:
        counter.unsubscribe()
    assert counter.peak == 3
    assert set(tracker.wait_array(array_id, 0).values()) == {S.DONE}


@pytest.mark.mpi_cluster(clock="manual")
def test_held_tasks_stay_held_while_nobody_waits(mpi_cluster: MPICluster) -> None:
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY)
    array_id = tracker.add_array_job(template(name="idle", duration=1), 1, 4, 1, 1)
    mpi_cluster.advance(0)
    mpi_cluster.advance(5)
    assert tracker.held_array_tasks(array_id) == [f"default/idle-{i}" for i in (2, 3, 4)]
    # one poke of any task is a release step
    assert tracker.job_state("idle-3")[0] is S.QUEUED_HELD
    assert tracker.held_array_tasks(array_id) == ["default/idle-3", "default/idle-4"]


@pytest.mark.mpi_cluster(clock="manual")
def test_a_releaser_that_stopped_half_way_is_repaired_after_the_grace(
    mpi_cluster: MPICluster,
) -> None:
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY)
    array_id = tracker.add_array_job(template(name="rep", duration=50), 1, 5, 1, 2)
    mpi_cluster.advance(0)
    mpi_cluster.advance(60)  # tasks 1 and 2 ended
    # a waiter saw it, moved the mark over tasks 3 and 4, then died before starting them
    owner = mpi_cluster.store.get("configmaps", "default", "rep")
    owner["data"]["released-through"] = "4"
    owner["data"]["released-at"] = f"{time.time():.3f}"
    mpi_cluster.store.update("configmaps", owner)
    assert tracker.release_array_tasks(array_id) == []  # within the grace: the mover's job
    owner = mpi_cluster.store.get("configmaps", "default", "rep")
    owner["data"]["released-at"] = f"{time.time() - REPAIR_GRACE - 1:.3f}"
    mpi_cluster.store.update("configmaps", owner)
    assert tracker.release_array_tasks(array_id) == ["default/rep-3", "default/rep-4"]
    assert tracker.held_array_tasks(array_id) == ["default/rep-5"]


@pytest.mark.parametrize("status", [None, 503])
@pytest.mark.mpi_cluster(clock=40.0)
def test_lost_answers_on_the_mark_neither_stall_nor_over_release(
    mpi_cluster: MPICluster, status: int | None
) -> None:
    # the move of the mark took effect, its answer was lost: the retry meets 409 and
    # the waiter finds its own claim on the owner, so it still starts what it won
    lost = mpi_cluster.faults.lose_answers(status, verb="patch", resource="configmaps", times=3)
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY)
    counter = ActiveCounter(mpi_cluster, "lost")
    try:
        array_id = tracker.add_array_job(template(name="lost", duration=1), 1, 6, 1, 1)
        states = tracker.wait_array(array_id, 120)
    finally:
        counter.unsubscribe()
    assert lost.hits == 3
    assert set(states.values()) == {S.DONE}
    assert counter.peak == 1
    assert mpi_cluster.requests.snapshot()[(Verb.PATCH, "mpijobs")].count == 5


@pytest.mark.parametrize("side", ["sync", "async"])
@pytest.mark.mpi_cluster(clock=10.0)
def test_a_lone_waiter_on_a_later_task_releases_a_quiet_array(
    mpi_cluster: MPICluster, side: str
) -> None:
    """The only waiter waits on the last task; when task 1 ends, task 2 is not its turn.

    It defers the step (another waiter might be the one concerned), and then
    the array goes quiet: task 1 ended, tasks 2 and 3 are held, and no event
    comes. The waiter must look again once the deferral ran out, without an
    event, release task 2, and later its own task (it hung before).
    """
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY)
    array_id = tracker.add_array_job(template(duration=2, name="quiet"), 1, 3, 1, 1)
    last = tracker.list_array_jobs(array_id)[-1]
    if side == "sync":
        state = tracker.wait(last, 60, S.DONE)
    else:
        results: dict[str, Any] = {}
        run_async_waiters(mpi_cluster, [last], results)
        state = results[last]
    assert state is S.DONE
    assert [tracker.job_state(job)[0] for job in tracker.list_array_jobs(array_id)] == [S.DONE] * 3
