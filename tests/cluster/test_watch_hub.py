"""JobWatchHub: one watch stream per cluster and namespace serving every waiter of a loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from airflow_provider_mpi.drmaa2 import AuthorizationError, JobNotFoundError, JobState
from airflow_provider_mpi.hooks._client_pool import shared_api_client
from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker, JobWatchHub, RetryPolicy
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.faults import Verb
from tests.cluster.tracker_support import template

S = JobState
FAST_RETRY = RetryPolicy(max_attempts=8, initial_delay=0.01, max_delay=0.1, total_timeout=20)


@pytest.fixture
async def tracker(mpi_cluster: MPICluster) -> AsyncIterator[AsyncMPIOperatorTracker]:
    async with mpi_cluster.async_api_client() as client:
        yield AsyncMPIOperatorTracker(client, retry=FAST_RETRY, namespace=mpi_cluster.namespace)


def counts(cluster: MPICluster) -> tuple[int, int, int]:
    requests = cluster.requests
    return (
        requests.count(Verb.LIST, "mpijobs"),
        requests.count(Verb.WATCH, "mpijobs"),
        requests.count(Verb.GET, "mpijobs"),
    )


async def submit(tracker: AsyncMPIOperatorTracker, n: int, duration: float) -> list[str]:
    return [await tracker.add_job(template(duration=duration)) for _ in range(n)]


@pytest.mark.emulator_only("counts requests")
@pytest.mark.mpi_cluster(clock=10.0)
async def test_many_waiters_one_stream(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_ids = await submit(tracker, 40, duration=5)
    mpi_cluster.requests.reset()
    states = await asyncio.gather(*(tracker.wait(job_id, 60) for job_id in job_ids))
    assert set(states) == {S.DONE}
    lists, _, gets = counts(mpi_cluster)
    assert (lists, gets) == (1, 0)  # one list; every job was in the hub's view
    mpi_cluster.wait_for(lambda: counts(mpi_cluster)[1] >= 1, 10)
    assert counts(mpi_cluster)[1] == 1  # one stream for all 40
    hub = JobWatchHub.for_api(tracker.api, mpi_cluster.namespace)
    assert (hub.waiters, hub.running) == (0, False)


@pytest.mark.emulator_only("counts requests")
@pytest.mark.mpi_cluster(clock=10.0)
async def test_waiters_with_their_own_clients_share_the_stream(
    mpi_cluster: MPICluster,
) -> None:
    """As in a triggerer: every trigger opens (and closes) its own API client."""
    async with mpi_cluster.async_api_client() as client:
        submitter = AsyncMPIOperatorTracker(client, namespace=mpi_cluster.namespace)
        job_ids = [await submitter.add_job(template(duration=2 + i)) for i in range(6)]
    mpi_cluster.requests.reset()

    async def trigger(job_id: str) -> JobState:
        async with mpi_cluster.async_api_client() as own_client:
            return await AsyncMPIOperatorTracker(
                own_client, retry=FAST_RETRY, namespace=mpi_cluster.namespace
            ).wait(job_id, 60)

    assert set(await asyncio.gather(*(trigger(job_id) for job_id in job_ids))) == {S.DONE}
    lists, _, _ = counts(mpi_cluster)
    assert lists == 1
    mpi_cluster.wait_for(lambda: counts(mpi_cluster)[1] >= 1, 10)
    # the stream moves (resuming, no list) when the client it runs on is done
    assert counts(mpi_cluster)[1] <= len(job_ids)


@pytest.mark.emulator_only("counts requests")
@pytest.mark.mpi_cluster(clock=10.0)
async def test_waiters_sharing_a_client_keep_the_stream_on_it(mpi_cluster: MPICluster) -> None:
    """As in a triggerer whose triggers share one client: it closes after the last one."""
    async with mpi_cluster.async_api_client() as client:
        submitter = AsyncMPIOperatorTracker(client, namespace=mpi_cluster.namespace)
        job_ids = [await submitter.add_job(template(duration=1 + 2 * i)) for i in range(4)]
    mpi_cluster.requests.reset()
    clients = []

    async def trigger(job_id: str) -> JobState:
        async with shared_api_client("cluster", mpi_cluster.async_api_client) as shared:
            clients.append(shared)
            tracker = AsyncMPIOperatorTracker(
                shared, retry=FAST_RETRY, namespace=mpi_cluster.namespace
            )
            state = await tracker.wait(job_id, 60)
            assert (await tracker.job_info(job_id)).state is state  # read after the wait
            return state

    assert set(await asyncio.gather(*(trigger(job_id) for job_id in job_ids))) == {S.DONE}
    assert len({id(shared) for shared in clients}) == 1
    assert clients[0].rest_client.pool_manager.closed
    lists, watches, _ = counts(mpi_cluster)
    assert (lists, watches) == (1, 1)  # the stream stayed on the shared client


@pytest.mark.emulator_only("injects faults")
@pytest.mark.mpi_cluster(clock=10.0)
async def test_dropped_stream_resumes_without_listing(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_ids = await submit(tracker, 5, duration=5)
    mpi_cluster.faults.drop_watches(after_events=3)
    mpi_cluster.requests.reset()
    states = await asyncio.gather(*(tracker.wait(job_id, 60) for job_id in job_ids))
    assert set(states) == {S.DONE}
    lists, watches, _ = counts(mpi_cluster)
    assert lists == 1
    assert watches >= 2


@pytest.mark.emulator_only("injects faults")
@pytest.mark.mpi_cluster(clock=10.0)
async def test_gone_relists_and_reevaluates(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_ids = await submit(tracker, 5, duration=5)
    mpi_cluster.faults.expire_watches(times=2)
    mpi_cluster.requests.reset()
    states = await asyncio.gather(*(tracker.wait(job_id, 60) for job_id in job_ids))
    assert set(states) == {S.DONE}
    assert counts(mpi_cluster)[0] == 3  # the first list, then one per 410


@pytest.mark.emulator_only("reads the emulator's store")
@pytest.mark.mpi_cluster(clock="manual")
async def test_a_deleted_job_fails_only_its_waiter(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    doomed, kept = await submit(tracker, 2, duration=5)
    mpi_cluster.advance(0)
    waits = [asyncio.ensure_future(tracker.wait(job_id, 30)) for job_id in (doomed, kept)]
    await asyncio.sleep(0.3)
    mpi_cluster.store.delete("mpijobs", "default", doomed.split("/")[1])
    with pytest.raises(JobNotFoundError) as info:
        await waits[0]
    assert info.value.job_id == doomed
    assert not waits[1].done()
    mpi_cluster.advance(6)
    assert await waits[1] is S.DONE


@pytest.mark.emulator_only("injects faults")
@pytest.mark.mpi_cluster(clock="manual")
async def test_a_permanent_failure_reaches_every_waiter(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_ids = await submit(tracker, 3, duration=5)
    mpi_cluster.faults.forbid("default", verb="watch", resource="mpijobs")
    results = await asyncio.gather(
        *(tracker.wait(job_id, 30) for job_id in job_ids), return_exceptions=True
    )
    assert all(isinstance(result, AuthorizationError) for result in results), results
    hub = JobWatchHub.for_api(tracker.api, mpi_cluster.namespace)
    assert not hub.running
    mpi_cluster.faults.clear()
    mpi_cluster.advance(6)
    assert await tracker.wait(job_ids[0], 30) is S.DONE  # the next waiter starts afresh


@pytest.mark.mpi_cluster(clock="manual")
async def test_a_waiter_joining_a_running_stream(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    first = await tracker.add_job(template(duration=50))
    waiting = asyncio.ensure_future(tracker.wait(first, 30))
    await asyncio.sleep(0.2)
    late = await tracker.add_job(template(duration=1))  # created after the hub's list
    mpi_cluster.advance(2)
    assert await tracker.wait(late, 30) is S.DONE
    assert not waiting.done()
    mpi_cluster.advance(60)
    assert await waiting is S.DONE


@pytest.mark.mpi_cluster(clock="manual")
async def test_the_last_waiter_leaving_empties_the_hub_and_the_next_starts_afresh(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    name = (await tracker.add_job(template(duration=50))).rpartition("/")[2]
    hub = JobWatchHub.for_api(tracker.api, mpi_cluster.namespace)
    for _ in range(2):  # the second time, on the hub the first time left empty
        async with (
            hub.subscribe(tracker.api, names=frozenset({name})) as one,
            hub.subscribe(tracker.api, names=frozenset({name})) as two,  # two on one job
            hub.subscribe(tracker.api, label=("app", "none")) as labelled,
        ):
            assert (hub.waiters, hub.ready) == (3, 3)
            assert set((await one.get()).objects) == set((await two.get()).objects) == {name}
            assert (await labelled.get()).objects == {}
        assert (hub.waiters, hub.ready, hub.running, hub.resource_version) == (0, 0, False, None)


def test_one_hub_per_event_loop(mpi_cluster: MPICluster) -> None:
    async def hub_of_this_loop() -> JobWatchHub:
        async with mpi_cluster.async_api_client() as client:
            tracker = AsyncMPIOperatorTracker(client, namespace=mpi_cluster.namespace)
            first = JobWatchHub.for_api(tracker.api, mpi_cluster.namespace)
            assert JobWatchHub.for_api(tracker.api, mpi_cluster.namespace) is first
            assert JobWatchHub.for_api(tracker.api, "other") is not first
            return first

    assert asyncio.run(hub_of_this_loop()) is not asyncio.run(hub_of_this_loop())
