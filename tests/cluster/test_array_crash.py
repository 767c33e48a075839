"""Crash-safe arrays: the intent is on the cluster before the first task (issue 12, item 1).

A submitter SIGKILLed in the middle of a 200-task array, then the same
submission run again: exactly 200 tasks, each created once. The emulator
counts every request that took effect, so "once" is read from the server,
not from the client.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from airflow_provider_mpi.drmaa2 import ConflictError, JobNotFoundError, JobState
from airflow_provider_mpi.mpioperator import (
    AsyncMPIOperatorTracker,
    MPIOperatorTracker,
    RetryPolicy,
)
from airflow_provider_mpi.mpioperator.names import LABEL_ARRAY_ID
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.controller.mpijob import MPIJobController
from airflow_provider_mpi.testing.faults import Verb
from airflow_provider_mpi.testing.store import StoreError
from tests.cluster.tracker_support import mpijob_names, template

pytestmark = pytest.mark.emulator_only("counts creates in the store and injects faults")

S = JobState
FAST_RETRY = RetryPolicy(max_attempts=8, initial_delay=0.01, max_delay=0.1, total_timeout=20)
REPO = Path(__file__).resolve().parents[2]

SUBMITTER = textwrap.dedent(
    """
    import sys
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker
    from tests.cluster.tracker_support import template
    tracker = MPIOperatorTracker(sys.argv[1])
    tracker.add_array_job(template(name="crash"), 1, 200, 1, 5)
    print("finished", flush=True)
    """
)


@pytest.fixture
def tracker(mpi_cluster: MPICluster) -> MPIOperatorTracker:
    return MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY)


@pytest.fixture
async def async_tracker(mpi_cluster: MPICluster) -> AsyncIterator[AsyncMPIOperatorTracker]:
    async with mpi_cluster.async_api_client() as client:
        yield AsyncMPIOperatorTracker(client, retry=FAST_RETRY)


def creates_that_took_effect(cluster: MPICluster, resource: str = "mpijobs") -> int:
    stats = cluster.requests.snapshot().get((Verb.CREATE, resource))
    return 0 if stats is None else stats.count - stats.errors + stats.lost


def array_tasks(cluster: MPICluster, array: str) -> list[dict[str, object]]:
    items, _ = cluster.store.list("mpijobs", "default", label_selector=f"{LABEL_ARRAY_ID}={array}")
    return items


def unsuspended(cluster: MPICluster, array: str) -> list[str]:
    return sorted(
        (
            str(t["metadata"]["name"])
            for t in array_tasks(cluster, array)  # type: ignore[index]
            if not t["spec"]["runPolicy"].get("suspend")
        ),  # type: ignore[index]
        key=lambda name: int(name.rsplit("-", 1)[1]),
    )


@pytest.mark.mpi_cluster(clock="manual")
def test_sigkill_in_the_middle_of_200_tasks_then_rerun_makes_each_task_once(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    # slow creates down so that the kill lands in the middle of the array
    mpi_cluster.faults.delay(0.05, verb="create", resource="mpijobs")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    submitter = subprocess.Popen(
        [sys.executable, "-c", SUBMITTER, str(mpi_cluster.kubeconfig_path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while len(array_tasks(mpi_cluster, "crash")) < 40:
            assert submitter.poll() is None, submitter.stderr.read() if submitter.stderr else ""
            assert time.monotonic() < deadline, "the submitter created too few tasks"
            time.sleep(0.01)
        submitter.send_signal(signal.SIGKILL)
    finally:
        submitter.wait(timeout=30)
        for stream in (submitter.stdout, submitter.stderr):
            if stream is not None:
                stream.close()
    assert submitter.returncode == -signal.SIGKILL
    time.sleep(0.3)  # creates in flight at the kill land (or not) on the server
    left = len(array_tasks(mpi_cluster, "crash"))
    assert 40 <= left < 200, left

    # the half array is no complete array
    with pytest.raises(JobNotFoundError, match="incomplete"):
        tracker.wait_array("crash", 0)
    assert len(tracker.list_array_jobs("crash")) == 200  # the intent says how many

    mpi_cluster.faults.clear()
    assert tracker.add_array_job(template(name="crash"), 1, 200, 1, 5) == "default/crash"
    names = [f"crash-{i}" for i in range(1, 201)]
    assert mpijob_names(mpi_cluster) == sorted(names)
    assert creates_that_took_effect(mpi_cluster) == 200  # each task created exactly once
    assert creates_that_took_effect(mpi_cluster, "configmaps") == 1
    # max_parallel holds across the crash: only the first 5 may run
    assert unsuspended(mpi_cluster, "crash") == names[:5]
    # a third run finds nothing to do
    before = mpi_cluster.requests.snapshot().get((Verb.CREATE, "mpijobs"))
    assert tracker.add_array_job(template(name="crash"), 1, 200, 1, 5) == "default/crash"
    after = mpi_cluster.requests.snapshot().get((Verb.CREATE, "mpijobs"))
    assert before is not None
    assert after is not None
    assert after.count == before.count


@pytest.mark.mpi_cluster(clock="manual")
def test_rerun_with_another_template_or_range_is_a_conflict(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    tracker.add_array_job(template(name="arr"), 1, 4, 1, 0)
    with pytest.raises(ConflictError, match="different job template"):
        tracker.add_array_job(template(name="arr", duration=9), 1, 4, 1, 0)
    with pytest.raises(ConflictError, match=r"tasks 1\.\.4 step 1, not 1\.\.5"):
        tracker.add_array_job(template(name="arr"), 1, 5, 1, 0)
    with pytest.raises(ConflictError, match="max_parallel=0, not 2"):
        tracker.add_array_job(template(name="arr"), 1, 4, 1, 2)
    assert mpijob_names(mpi_cluster) == [f"arr-{i}" for i in range(1, 5)]
    # a ConfigMap of the array's name that is no array owner
    mpi_cluster.store.create(
        "configmaps", {"metadata": {"name": "taken"}, "data": {}}, namespace="default"
    )
    with pytest.raises(ConflictError, match="not an array's owner"):
        tracker.add_array_job(template(name="taken"), 1, 2, 1, 0)
    assert not array_tasks(mpi_cluster, "taken")


@pytest.mark.parametrize("status", [None, 503])
@pytest.mark.mpi_cluster(clock="manual")
def test_lost_answer_on_the_owner_create(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster, status: int | None
) -> None:
    fault = mpi_cluster.faults.lose_answers(status, verb="create", resource="configmaps", times=1)
    assert tracker.add_array_job(template(name="arr"), 1, 6, 1, 2) == "default/arr"
    assert fault.hits == 1
    assert creates_that_took_effect(mpi_cluster, "configmaps") == 1
    assert creates_that_took_effect(mpi_cluster) == 6
    assert unsuspended(mpi_cluster, "arr") == ["arr-1", "arr-2"]


@pytest.mark.mpi_cluster(clock=50.0)
def test_missing_tasks_are_known_and_completed(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    array_id = tracker.add_array_job(template(name="arr", duration=1), 1, 5, 1, 2)
    mpi_cluster.store.delete("mpijobs", "default", "arr-4")  # as if never created
    assert tracker.list_array_jobs(array_id) == [f"default/arr-{i}" for i in range(1, 6)]
    with pytest.raises(JobNotFoundError, match=r"incomplete: 1 of 5 tasks .*default/arr-4"):
        tracker.wait_array(array_id, 30)
    assert tracker.complete_array_submission(array_id) == ["default/arr-4"]
    assert tracker.complete_array_submission(array_id) == []
    states = tracker.wait_array(array_id, 60)
    assert set(states.values()) == {S.DONE}
    assert len(states) == 5


@pytest.mark.mpi_cluster(clock=50.0)
def test_a_task_deleted_while_the_operator_syncs_it_is_recreated_and_runs(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    # The interleaving behind an intermittent failure of the test above: the
    # operator's sync of arr-4 read it just before the delete, so it made arr-4's
    # children after the delete had collected the old ones. The recreated arr-4
    # met them as another job's and stayed Queued until the wait gave up.
    array_id = tracker.add_array_job(template(name="arr", duration=1), 1, 5, 1, 2)
    read = mpi_cluster.store.get("mpijobs", "default", "arr-4")
    mpi_cluster.store.delete("mpijobs", "default", "arr-4")
    operator = MPIJobController(mpi_cluster.store, mpi_cluster.now)
    try:
        with contextlib.suppress(StoreError):  # its status write finds no job
            operator.sync(read)
    finally:
        operator.close()
    assert tracker.complete_array_submission(array_id) == ["default/arr-4"]
    states = tracker.wait_array(array_id, 60)
    assert list(states.values()) == [S.DONE] * 5
    old = read["metadata"]["uid"]
    for plural in ("services", "configmaps", "secrets", "jobs", "pods"):
        for obj in mpi_cluster.store.list(plural, "default")[0]:
            refs = obj["metadata"].get("ownerReferences") or []
            assert old not in [r["uid"] for r in refs], obj["metadata"]["name"]


@pytest.mark.mpi_cluster(clock="manual")
async def test_async_rerun_creates_exactly_the_missing_tasks(
    async_tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    array_id = await async_tracker.add_array_job(template(name="arr"), 1, 30, 1, 3)
    for i in (2, 7, 30):
        mpi_cluster.store.delete("mpijobs", "default", f"arr-{i}")
    before = creates_that_took_effect(mpi_cluster)
    assert await async_tracker.add_array_job(template(name="arr"), 1, 30, 1, 3) == array_id
    assert creates_that_took_effect(mpi_cluster) - before == 3
    assert mpijob_names(mpi_cluster) == sorted(f"arr-{i}" for i in range(1, 31))
    assert unsuspended(mpi_cluster, "arr") == ["arr-1", "arr-2", "arr-3"]
    with pytest.raises(ConflictError):
        await async_tracker.add_array_job(template(name="arr", duration=3), 1, 30, 1, 3)
    assert len(await async_tracker.list_array_jobs(array_id)) == 30


@pytest.mark.mpi_cluster(clock="manual")
def test_deleting_the_owner_deletes_the_array(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    tracker.add_array_job(template(name="arr"), 1, 5, 1, 0)
    mpi_cluster.store.delete("configmaps", "default", "arr", propagation_policy="Background")
    assert mpijob_names(mpi_cluster) == []


@pytest.mark.mpi_cluster(clock="manual")
async def test_throttled_creates_slow_down_and_make_each_task_once(
    tracker: MPIOperatorTracker,
    async_tracker: AsyncMPIOperatorTracker,
    mpi_cluster: MPICluster,
) -> None:
    first = mpi_cluster.faults.throttle(retry_after=1, times=3, verb="create", resource="mpijobs")
    assert tracker.add_array_job(template(name="sync"), 1, 40, 1, 0) == "default/sync"
    assert first.hits == 3
    second = mpi_cluster.faults.throttle(retry_after=1, times=3, verb="create", resource="mpijobs")
    assert await async_tracker.add_array_job(template(name="aio"), 1, 40, 1, 0) == "default/aio"
    assert second.hits == 3
    assert len(array_tasks(mpi_cluster, "sync")) == 40
    assert len(array_tasks(mpi_cluster, "aio")) == 40
    assert creates_that_took_effect(mpi_cluster) == 80


@pytest.mark.mpi_cluster(clock="manual")
async def test_arrays_are_found_by_their_owner_even_before_their_first_task(
    tracker: MPIOperatorTracker,
    async_tracker: AsyncMPIOperatorTracker,
    mpi_cluster: MPICluster,
) -> None:
    labels = {"team": "a"}
    tracker.add_array_job(template(name="first", labels=labels), 1, 3, 1, 1)
    # a submitter killed right after recording the intent: an owner and no task
    mpi_cluster.faults.fail(403, verb="create", resource="mpijobs")
    mpi_cluster.faults.fail(403, verb="delete")  # and it could not clean up
    with pytest.raises(Exception, match="403"):
        tracker.add_array_job(template(name="second", labels=labels), 1, 3, 1, 0)
    mpi_cluster.faults.clear()
    assert not array_tasks(mpi_cluster, "second")
    found = ["default/first", "default/second"]
    assert tracker.find_arrays(labels) == found
    assert await async_tracker.find_arrays(labels) == found
    assert tracker.find_arrays({"team": "b"}) == []
    assert tracker.complete_array_submission("default/second") == [
        f"default/second-{i}" for i in (1, 2, 3)
    ]
    assert tracker.held_siblings("default/first-1") == ["default/first-2", "default/first-3"]
    assert await async_tracker.held_siblings("default/first-3") == [
        "default/first-2",
        "default/first-3",
    ]
    assert tracker.held_siblings("default/second-1") == []  # no max_parallel
