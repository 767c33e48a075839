"""The trackers when the cluster commits a request and its answer is lost on the way back.

The emulator's fault layer (``faults.lose_answers``) handles the request,
stores the result, then resets the connection or answers a 5xx instead. The
tracker must neither make a second job nor report a failure for an action
that took effect. Only the emulator stands in for the cluster here: no
wrapper around the client, no mock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import ConflictError, JobControlAction, JobNotFoundError, JobState
from airflow_provider_mpi.mpioperator import (
    AsyncMPIOperatorTracker,
    MPIOperatorTracker,
    RetryPolicy,
)
from airflow_provider_mpi.mpioperator.tracker.submission import ANNOTATION_SUBMISSION, prepare_job
from airflow_provider_mpi.mpioperator.tracker.sync_io import ARRAY_SUBMIT_WORKERS
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.faults import Fault, FaultInjector, Verb
from tests.cluster.tracker_support import mpijob, mpijob_names, pods, template

pytestmark = pytest.mark.emulator_only("injects lost answers")


S = JobState
A = JobControlAction
FAST_RETRY = RetryPolicy(max_attempts=8, initial_delay=0.01, max_delay=0.1, total_timeout=20)

#: How the answer is lost: a connection reset (None) or a 5xx in its place.
LOSSES = [pytest.param(None, id="reset"), pytest.param(503, id="503")]


@pytest.fixture
def tracker(mpi_cluster: MPICluster) -> MPIOperatorTracker:
    return MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY)


@pytest.fixture
async def async_tracker(mpi_cluster: MPICluster) -> AsyncIterator[AsyncMPIOperatorTracker]:
    async with mpi_cluster.async_api_client() as client:
        yield AsyncMPIOperatorTracker(client, retry=FAST_RETRY)


def lose(cluster: MPICluster, status: int | None, verb: str, times: int = 1) -> Fault:
    return cluster.faults.lose_answers(status, verb=verb, resource="mpijobs", times=times)


def mpijob_object(name: str) -> dict[str, Any]:
    """An MPIJob made by another submission (its own token)."""
    return prepare_job(template(name=name), namespace="default")


def took_effect(cluster: MPICluster, verb: Verb) -> int:
    """Requests on mpijobs that changed the store: answered with success, or lost."""
    stats = cluster.requests.snapshot().get((verb, "mpijobs"))
    return 0 if stats is None else stats.count - stats.errors + stats.lost


def lost(cluster: MPICluster, verb: Verb) -> int:
    stats = cluster.requests.snapshot().get((verb, "mpijobs"))
    return 0 if stats is None else stats.lost


# ------------------------------------------------------------------ sync: submission


@pytest.mark.parametrize("status", LOSSES)
@pytest.mark.parametrize("name", ["", "pi"], ids=["generated-name", "job-name"])
def test_add_job_makes_one_job(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster, status: int | None, name: str
) -> None:
    fault = lose(mpi_cluster, status, "create")
    job_id = tracker.add_job(template(name=name))
    assert fault.hits == 1
    assert mpijob_names(mpi_cluster) == [job_id.split("/")[1]]
    if name:
        assert job_id == "default/pi"
    assert took_effect(mpi_cluster, Verb.CREATE) == 1
    assert lost(mpi_cluster, Verb.CREATE) == 1
    # the job is the one submitted, and it runs
    assert tracker.job_template(job_id) == template(name=name)
    assert tracker.job_state(job_id)[0] in (S.QUEUED, S.RUNNING)


def test_add_job_under_a_rate_of_lost_answers(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    reset = mpi_cluster.faults.lose_answers(rate=0.3, verb="create")
    gateway = mpi_cluster.faults.lose_answers(504, rate=0.3, verb="create")
    job_ids = [tracker.add_job(template()) for _ in range(10)]
    assert reset.hits + gateway.hits > 0
    assert len(set(job_ids)) == 10
    assert mpijob_names(mpi_cluster) == sorted(j.split("/")[1] for j in job_ids)
    assert took_effect(mpi_cluster, Verb.CREATE) == 10


@pytest.mark.parametrize("status", LOSSES)
def test_add_array_job_makes_each_task_once(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster, status: int | None
) -> None:
    fault = lose(mpi_cluster, status, "create", times=3)
    array_id = tracker.add_array_job(template(name="arr"), 1, 6, 1, 2)
    assert array_id == "default/arr"
    assert fault.hits == 3
    names = [f"arr-{i}" for i in range(1, 7)]
    assert mpijob_names(mpi_cluster) == sorted(names)
    assert tracker.list_array_jobs(array_id) == [f"default/{n}" for n in names]
    assert took_effect(mpi_cluster, Verb.CREATE) == 6
    # max_parallel still holds: the tasks beyond the first two were created held
    suspended = [
        n for n in names if mpijob(mpi_cluster, f"default/{n}")["spec"]["runPolicy"].get("suspend")
    ]
    assert suspended == names[2:]


# ------------------------------------------------------------------ sync: control and delete


@pytest.mark.parametrize("status", LOSSES)
@pytest.mark.mpi_cluster(clock="manual")
def test_terminate_succeeds_once(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster, status: int | None
) -> None:
    job_id = tracker.add_job(template(duration=100))
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id)[0] is S.RUNNING
    fault = lose(mpi_cluster, status, "patch")
    tracker.job_control(job_id, A.TERMINATE)  # no error: the action took effect
    assert fault.hits == 1
    assert took_effect(mpi_cluster, Verb.PATCH) == 1
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id) == (S.FAILED, "terminated")
    assert pods(mpi_cluster, job_id.split("/")[1]) == []
    assert tracker.job_info(job_id).state is S.FAILED  # the record survives


@pytest.mark.parametrize("status", LOSSES)
@pytest.mark.mpi_cluster(clock="manual")
def test_suspend_and_resume_succeed_once(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster, status: int | None
) -> None:
    job_id = tracker.add_job(template(duration=100))
    mpi_cluster.advance(0)
    lose(mpi_cluster, status, "patch")
    tracker.job_control(job_id, A.SUSPEND)
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id)[0] is S.SUSPENDED
    lose(mpi_cluster, status, "patch")
    tracker.job_control(job_id, A.RESUME)
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id)[0] is S.RUNNING
    assert took_effect(mpi_cluster, Verb.PATCH) == 2
    assert lost(mpi_cluster, Verb.PATCH) == 2


@pytest.mark.parametrize("status", LOSSES)
@pytest.mark.mpi_cluster(clock="manual")
def test_delete_job_succeeds_once(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster, status: int | None
) -> None:
    job_id = tracker.add_job(template(duration=100))
    mpi_cluster.advance(0)
    tracker.job_control(job_id, A.TERMINATE)
    mpi_cluster.advance(0)
    fault = lose(mpi_cluster, status, "delete")
    tracker.delete_job(job_id)  # the repeat meets 404: deleted already
    assert fault.hits == 1
    assert took_effect(mpi_cluster, Verb.DELETE) == 1
    assert mpijob_names(mpi_cluster) == []
    mpi_cluster.advance(0)
    assert pods(mpi_cluster, job_id.split("/")[1]) == []
    with pytest.raises(JobNotFoundError):
        tracker.job_state(job_id)


# ------------------------------------------------------------------ async twin


@pytest.mark.parametrize("status", LOSSES)
async def test_async_add_job_makes_one_job(
    async_tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster, status: int | None
) -> None:
    fault = lose(mpi_cluster, status, "create")
    job_id = await async_tracker.add_job(template())
    assert fault.hits == 1
    assert mpijob_names(mpi_cluster) == [job_id.split("/")[1]]
    assert took_effect(mpi_cluster, Verb.CREATE) == 1
    annotations = mpijob(mpi_cluster, job_id)["metadata"]["annotations"]
    assert ANNOTATION_SUBMISSION in annotations


@pytest.mark.parametrize("status", LOSSES)
async def test_async_add_array_job_makes_each_task_once(
    async_tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster, status: int | None
) -> None:
    fault = lose(mpi_cluster, status, "create", times=2)
    array_id = await async_tracker.add_array_job(template(name="arr"), 1, 4, 1, 0)
    assert fault.hits == 2
    assert mpijob_names(mpi_cluster) == [f"arr-{i}" for i in range(1, 5)]
    assert len(await async_tracker.list_array_jobs(array_id)) == 4
    assert took_effect(mpi_cluster, Verb.CREATE) == 4


@pytest.mark.parametrize("status", LOSSES)
@pytest.mark.mpi_cluster(clock="manual")
async def test_async_terminate_and_delete_succeed_once(
    async_tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster, status: int | None
) -> None:
    job_id = await async_tracker.add_job(template(duration=100))
    mpi_cluster.advance(0)
    control = lose(mpi_cluster, status, "patch")
    await async_tracker.job_control(job_id, A.TERMINATE)
    assert control.hits == 1
    assert took_effect(mpi_cluster, Verb.PATCH) == 1
    mpi_cluster.advance(0)
    assert await async_tracker.job_state(job_id) == (S.FAILED, "terminated")
    delete = lose(mpi_cluster, status, "delete")
    await async_tracker.delete_job(job_id)
    assert delete.hits == 1
    assert took_effect(mpi_cluster, Verb.DELETE) == 1
    assert mpijob_names(mpi_cluster) == []
    with pytest.raises(JobNotFoundError):
        await async_tracker.job_state(job_id)


# ------------------------------------------------------------------ arrays: rollback and release


def test_array_rollback_under_lost_delete_answers(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    # somebody else's job holds the last task's name: its create fails for good, and only
    # after the earlier tasks were created (tasks start in order, a few at a time)
    mpi_cluster.store.create("mpijobs", mpijob_object("arr-20"), namespace="default")
    deletes = lose(mpi_cluster, None, "delete", times=100)
    with pytest.raises(ConflictError, match=r"task\(s\) already created were deleted"):
        tracker.add_array_job(template(name="arr"), 1, 20, 1, 0)
    created = took_effect(mpi_cluster, Verb.CREATE)
    pool = tracker.api_client.configuration.connection_pool_maxsize
    assert created >= 20 - min(ARRAY_SUBMIT_WORKERS, pool)  # creates in flight at the failure
    assert deletes.hits == created  # each rollback delete took effect, its answer lost
    assert mpijob_names(mpi_cluster) == ["arr-20"]  # never a half-submitted array


@pytest.mark.mpi_cluster(clock=50.0)
def test_held_tasks_are_released_under_lost_patch_answers(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    array_id = tracker.add_array_job(template(name="arr", duration=1), 1, 4, 1, 1)
    # a release is a plain merge patch: a repeat applies again, so its answer may be lost again
    fault = mpi_cluster.faults.lose_answers(503, verb="patch", resource="mpijobs", times=3)
    states = tracker.wait_array(array_id, 60)
    assert set(states.values()) == {S.DONE}
    assert fault.hits == 3
    assert mpijob_names(mpi_cluster) == [f"arr-{i}" for i in range(1, 5)]


# ------------------------------------------------------------------ answers lost at random


@pytest.mark.mpi_cluster(clock=20.0, faults=FaultInjector(seed=5))
def test_whole_method_set_under_lost_answers(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    faults = mpi_cluster.faults
    cued = faults.lose_answers(504, verb="create", times=1)
    resets = faults.lose_answers(rate=0.2)
    gateway = faults.lose_answers(504, rate=0.1, verb=["create", "patch", "delete"])

    job_ids = [tracker.add_job(template(duration=200))]
    job_ids += [tracker.add_job(template(duration=3, log=["hello"])) for _ in range(3)]
    array_id = tracker.add_array_job(template(duration=2, name="arr"), 1, 4, 1, 2)
    tasks = tracker.list_array_jobs(array_id)
    assert sorted(tracker.list_jobs()) == sorted(job_ids + tasks)
    assert len(mpijob_names(mpi_cluster)) == 8  # nothing duplicated, nothing lost

    tracker.job_control(job_ids[0], A.TERMINATE)
    assert tracker.wait(job_ids[0], 30) is S.FAILED
    assert tracker.job_state(job_ids[0]) == (S.FAILED, "terminated")
    for job_id in job_ids[1:]:
        assert tracker.wait(job_id, 30) is S.DONE
        info = tracker.job_info(job_id)
        assert (info.state, info.exit_status) == (S.DONE, 0)
        assert list(tracker.job_output(job_id)) == ["hello"]
    assert set(tracker.wait_array(array_id, 60).values()) == {S.DONE}
    for job_id in job_ids + tasks:
        tracker.delete_job(job_id)
    assert mpijob_names(mpi_cluster) == []
    assert cued.hits == 1
    assert resets.hits + gateway.hits > 0  # which ones depends on the threads' order
    assert took_effect(mpi_cluster, Verb.CREATE) == 8


@pytest.mark.mpi_cluster(clock=20.0, faults=FaultInjector(seed=5))
async def test_async_method_set_under_lost_answers(
    async_tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    # This test found a race in the watch hub: an array waiter's own list, taken before
    # the hub's first list, missed the changes in between (wait_array then hung on a task
    # it still saw Running). The waiter now reads after the hub has listed.
    faults = mpi_cluster.faults
    cued = faults.lose_answers(503, verb="create", times=1)
    resets = faults.lose_answers(rate=0.2)
    gateway = faults.lose_answers(504, rate=0.1, verb=["create", "patch", "delete"])

    job_ids = [await async_tracker.add_job(template(duration=200))]
    job_ids += [await async_tracker.add_job(template(duration=3)) for _ in range(2)]
    array_id = await async_tracker.add_array_job(template(duration=2, name="arr"), 1, 4, 1, 2)
    tasks = await async_tracker.list_array_jobs(array_id)
    assert sorted(await async_tracker.list_jobs()) == sorted(job_ids + tasks)
    assert len(mpijob_names(mpi_cluster)) == 7  # nothing duplicated, nothing lost

    await async_tracker.job_control(job_ids[0], A.TERMINATE)
    assert await async_tracker.wait(job_ids[0], 30) is S.FAILED
    assert await async_tracker.job_state(job_ids[0]) == (S.FAILED, "terminated")
    for job_id in job_ids[1:]:
        assert await async_tracker.wait(job_id, 30) is S.DONE
    assert set((await async_tracker.wait_array(array_id, 60)).values()) == {S.DONE}
    for job_id in job_ids + tasks:
        await async_tracker.delete_job(job_id)
    assert mpijob_names(mpi_cluster) == []
    assert cued.hits == 1
    assert resets.hits + gateway.hits > 0
    assert took_effect(mpi_cluster, Verb.CREATE) == 7
