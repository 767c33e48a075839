"""wait_info: the JobInfo of an ending job from the shared watches, with no read per job."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable

import pytest

from airflow_provider_mpi.drmaa2 import AuthorizationError, JobControlAction, JobState
from airflow_provider_mpi.mpioperator import (
    AsyncMPIOperatorTracker,
    JobPodHub,
    JobWatchHub,
    RetryPolicy,
)
from airflow_provider_mpi.mpioperator.status import (
    job_info_from_mpi_job,
    job_state_from_mpi_job,
    mpijob_for_wait,
    pod_for_info,
)
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.faults import Verb
from tests.cluster.tracker_support import mpijob, pods, template

pytestmark = pytest.mark.emulator_only("counts requests with the emulator's counters")

S = JobState
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.1, total_timeout=10)


@pytest.fixture
async def tracker(mpi_cluster: MPICluster) -> AsyncIterator[AsyncMPIOperatorTracker]:
    async with mpi_cluster.async_api_client() as client:
        yield AsyncMPIOperatorTracker(client, retry=FAST_RETRY)


def reads(cluster: MPICluster) -> int:
    """GETs and LISTs of any resource since the counters were reset."""
    return cluster.requests.count(Verb.GET) + cluster.requests.count(Verb.LIST)


async def until(condition: Callable[[], bool], timeout: float = 20) -> None:
    """Let the event loop run until ``condition()`` holds (the hubs change in this loop)."""
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"still false after {timeout} s")


@pytest.mark.mpi_cluster(clock="manual")
async def test_no_request_per_ending_job(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    """Once the two streams are open, 30 jobs end (ok, failed, terminated) with 0 requests."""
    ok = [await tracker.add_job(template(duration=5)) for _ in range(20)]
    failing = [await tracker.add_job(template(duration=3, exit_code=3)) for _ in range(8)]
    killed = [await tracker.add_job(template(duration=50)) for _ in range(2)]
    job_ids = ok + failing + killed
    waits = [asyncio.ensure_future(tracker.wait_info(job_id, 60)) for job_id in job_ids]
    hub = JobWatchHub.for_api(tracker.api, "default")
    pod_hub = JobPodHub.for_api(tracker.api, "default")
    requests = mpi_cluster.requests
    await until(
        lambda: (
            hub.ready == hub.waiters == pod_hub.waiters == len(job_ids)
            and requests.count(Verb.WATCH, "mpijobs") == 1
            and requests.count(Verb.WATCH, "pods") == 1
            and pod_hub.resource_version is not None
        )
    )
    for job_id in killed:  # job control reads the job it patches: before the count
        await tracker.job_control(job_id, JobControlAction.TERMINATE)
    requests.reset()
    mpi_cluster.advance(8)
    results = await asyncio.gather(*waits)
    # no read, and no stream reopened either
    assert reads(mpi_cluster) + requests.count(Verb.WATCH) == 0, requests.snapshot()
    assert (hub.ready, hub.waiters, pod_hub.waiters) == (0, 0, 0)
    states = [state for state, _ in results]
    assert states == [S.DONE] * 20 + [S.FAILED] * 10
    infos = [info for _, info in results]
    assert {info.exit_status for info in infos[:20]} == {0}
    assert {info.exit_status for info in infos[20:28]} == {3}
    assert all(info.extension_list.get("launcherPod") for info in infos[:28])
    assert {info.sub_state for info in infos[28:]} == {"terminated"}


@pytest.mark.mpi_cluster(clock=10.0)
async def test_the_info_is_the_one_a_read_gives(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    """Built from the watches' projections, JobInfo equals job_info() read afterwards.

    Except the machines: the pod watch follows the launcher pods only, so
    the JobInfo of wait_info lists the launcher's node, one of those a read
    lists while the workers exist.
    """
    job_ids = [
        await tracker.add_job(template(duration=2)),
        await tracker.add_job(template(duration=2, exit_code=137)),
        await tracker.add_job(template(duration=1, exit_code=2)),
    ]
    results = await asyncio.gather(*(tracker.wait_info(job_id, 60) for job_id in job_ids))
    for job_id, (state, info) in zip(job_ids, results, strict=True):
        read = await tracker.job_info(job_id)
        launcher = [
            p
            for p in pods(mpi_cluster, job_id.split("/")[1])
            if "launcher" in p["metadata"]["name"]
        ]
        assert info.allocated_machines == sorted({p["spec"]["nodeName"] for p in launcher})
        assert set(info.allocated_machines) <= set(read.allocated_machines)
        assert dataclasses.replace(info, allocated_machines=[]) == dataclasses.replace(
            read, allocated_machines=[]
        )
        assert info.state is state
    assert results[1][1].terminating_signal == "SIGKILL"


def test_a_pod_projection_gives_the_same_info(mpi_cluster: MPICluster) -> None:
    """pod_for_info and mpijob_for_wait keep every field the state and JobInfo read."""
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    with MPIOperatorTracker(mpi_cluster.kubeconfig_path) as tracker:
        job_id = tracker.add_job(template(duration=1, exit_code=5))
        tracker.wait(job_id, 60)
    job = mpijob(mpi_cluster, job_id)
    full = pods(mpi_cluster, job["metadata"]["name"])
    assert full
    kept = [pod_for_info(pod) for pod in full]
    small = mpijob_for_wait(job)
    assert job_info_from_mpi_job(small, pods=kept) == job_info_from_mpi_job(job, pods=full)
    assert job_state_from_mpi_job(small) == job_state_from_mpi_job(job)
    assert all(len(str(k)) < len(str(p)) / 3 for k, p in zip(kept, full, strict=True))
    assert len(str(small)) < len(str(job)) * 0.7


@pytest.mark.mpi_cluster(clock="manual")
async def test_the_mpijob_end_seen_before_the_pod_stream_caught_up(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    """The pod stream lags: pods_at waits for it, then the exit code is right.

    The pod watch opens a second late, after the job ended: the hub's pods
    are the list's (launcher running) until the stream replays the end.
    """
    job_id = await tracker.add_job(template(duration=5, exit_code=4))
    mpi_cluster.faults.delay(1.0, verb=Verb.WATCH, resource="pods", times=1)
    pod_hub = JobPodHub.for_api(tracker.api, "default")
    hub = JobWatchHub.for_api(tracker.api, "default")
    waiting = asyncio.ensure_future(tracker.wait_info(job_id, 60))
    await until(lambda: pod_hub.resource_version is not None and hub.resource_version is not None)
    await until(lambda: mpi_cluster.requests.count(Verb.WATCH, "mpijobs") == 1)
    mpi_cluster.advance(6)
    state, info = await waiting
    assert (state, info.exit_status) == (S.FAILED, 4)
    assert info.extension_list["launcherPod"]


@pytest.mark.mpi_cluster(clock="manual")
async def test_pods_that_cannot_be_watched_are_listed_when_the_job_ends(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    """RBAC without watch on pods: the stream fails for good, and the end lists them again."""
    job_id = await tracker.add_job(template(duration=5, exit_code=6))
    mpi_cluster.faults.forbid("default", verb=Verb.WATCH, resource="pods")
    waiting = asyncio.ensure_future(tracker.wait_info(job_id, 60))
    pod_hub = JobPodHub.for_api(tracker.api, "default")
    await until(lambda: mpi_cluster.requests.count(Verb.WATCH, "pods") >= 1 and not pod_hub.running)
    lists = mpi_cluster.requests.count(Verb.LIST, "pods")
    mpi_cluster.advance(6)
    state, info = await waiting
    assert (state, info.exit_status) == (S.FAILED, 6)
    assert mpi_cluster.requests.count(Verb.LIST, "pods") == lists + 1
    assert (pod_hub.waiters, pod_hub.running) == (0, False)


@pytest.mark.mpi_cluster(clock="manual")
async def test_a_pod_list_that_fails_for_good_fails_the_wait(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = await tracker.add_job(template(duration=5))
    mpi_cluster.faults.forbid("default", verb=Verb.LIST, resource="pods")
    waiting = asyncio.ensure_future(tracker.wait_info(job_id, 60))
    mpi_cluster.advance(6)
    with pytest.raises(AuthorizationError):
        await waiting
    pod_hub = JobPodHub.for_api(tracker.api, "default")
    assert (pod_hub.waiters, pod_hub.running) == (0, False)
    mpi_cluster.faults.clear()
    assert (await tracker.wait_info(job_id, 60))[0] is S.DONE  # the next waiter starts afresh
