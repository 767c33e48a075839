"""AsyncMPIOperatorTracker against the emulated cluster: the same contract as coroutines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from airflow_provider_mpi.drmaa2 import (
    ConflictError,
    DRMAA2Error,
    InvalidStateError,
    JobControlAction,
    JobNotFoundError,
    JobState,
    TransientBackendError,
    WaitTimeoutError,
)
from airflow_provider_mpi.drmaa2.tracker import (
    AsyncJobOutputReader,
    AsyncJobTemplater,
    AsyncJobTracker,
)
from airflow_provider_mpi.mpioperator import (
    AsyncMPIOperatorTracker,
    JobWatchHub,
    MPIOperatorTracker,
    RetryPolicy,
)
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.faults import FaultInjector, Verb
from tests.cluster.tracker_support import mpijob_names, template

S = JobState
A = JobControlAction
FAST_RETRY = RetryPolicy(max_attempts=8, initial_delay=0.01, max_delay=0.1, total_timeout=20)


@pytest.fixture
async def tracker(mpi_cluster: MPICluster) -> AsyncIterator[AsyncMPIOperatorTracker]:
    async with mpi_cluster.async_api_client() as client:
        yield AsyncMPIOperatorTracker(client, retry=FAST_RETRY, namespace=mpi_cluster.namespace)


async def test_implements_the_protocols(tracker: AsyncMPIOperatorTracker) -> None:
    assert isinstance(tracker, AsyncJobTracker)
    assert isinstance(tracker, AsyncJobTemplater)
    assert isinstance(tracker, AsyncJobOutputReader)
    assert not isinstance(tracker, MPIOperatorTracker)


@pytest.mark.mpi_cluster(clock=50.0)
async def test_submit_read_wait_delete(tracker: AsyncMPIOperatorTracker) -> None:
    jt = template(duration=1, log=["pi is 3.14"], labels={"team": "a"})
    job_id = await tracker.add_job(jt)
    assert await tracker.job_template(job_id) == jt
    assert await tracker.list_jobs() == [job_id]
    assert await tracker.find_jobs({"team": "a"}) == [job_id]
    assert await tracker.list_job_categories() == ["mpioperator/mpi-pi:openmpi"]
    assert (await tracker.job_state(job_id))[0] in (S.QUEUED, S.RUNNING, S.DONE)
    assert await tracker.wait(job_id, 30) is S.DONE
    info = await tracker.job_info(job_id)
    assert (info.id, info.state, info.exit_status) == (job_id, S.DONE, 0)
    assert [line async for line in tracker.job_output(job_id)] == ["pi is 3.14"]
    assert any(e.reason == "MPIJobSucceeded" for e in await tracker.job_events(job_id))
    await tracker.delete_job(job_id)
    assert await tracker.list_jobs() == []
    await tracker.check_cluster()


@pytest.mark.mpi_cluster(clock=20.0)
async def test_follow_output(tracker: AsyncMPIOperatorTracker) -> None:
    lines = [f"step {i}" for i in range(4)]
    job_id = await tracker.add_job(template(duration=4, start_delay="2", log=lines))
    assert [line async for line in tracker.job_output(job_id, follow=True)] == lines


@pytest.mark.mpi_cluster(clock="manual")
async def test_wait_timeouts_and_unreachable_states(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = await tracker.add_job(template(duration=5))
    mpi_cluster.advance(0)
    with pytest.raises(WaitTimeoutError) as info:
        await tracker.wait(job_id, 0)
    assert info.value.last_state is S.RUNNING
    with pytest.raises(WaitTimeoutError):
        await tracker.wait(job_id, 0.2)
    assert await tracker.wait(job_id, 0, S.RUNNING) is S.RUNNING
    mpi_cluster.advance(6)
    with pytest.raises(InvalidStateError):
        await tracker.wait(job_id, 5, S.RUNNING)
    with pytest.raises(JobNotFoundError):
        await tracker.wait("default/nope", 5)


@pytest.mark.mpi_cluster(clock="manual")
async def test_job_control(tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    job_id = await tracker.add_job(template(duration=100))
    mpi_cluster.advance(0)
    await tracker.job_control(job_id, A.SUSPEND)
    mpi_cluster.advance(0)
    assert await tracker.job_state(job_id) == (S.SUSPENDED, "suspended")
    with pytest.raises(InvalidStateError):
        await tracker.job_control(job_id, A.HOLD)
    await tracker.job_control(job_id, "resume")
    mpi_cluster.advance(0)
    assert (await tracker.job_state(job_id))[0] is S.RUNNING
    with pytest.raises(InvalidStateError):
        await tracker.delete_job(job_id)
    await tracker.job_control(job_id, A.TERMINATE)
    mpi_cluster.advance(0)
    assert await tracker.job_state(job_id) == (S.FAILED, "terminated")


@pytest.mark.mpi_cluster(clock=50.0)
async def test_arrays(tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    array_id = await tracker.add_array_job(template(duration=2, name="arr"), 1, 5, 1, 2)
    job_ids = await tracker.list_array_jobs(array_id)
    assert job_ids == [f"{mpi_cluster.namespace}/arr-{i}" for i in range(1, 6)]
    states = await tracker.wait_array(array_id, 60)
    assert list(states) == job_ids
    assert set(states.values()) == {S.DONE}
    assert await tracker.release_array_tasks(array_id) == []


async def test_failed_array_submission_leaves_nothing_behind(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    await tracker.add_job(template(name="arr-2"))
    with pytest.raises(ConflictError, match="already created were deleted"):
        await tracker.add_array_job(template(name="arr"), 1, 4, 1, 0)
    assert mpijob_names(mpi_cluster) == ["arr-2"]


class LosesAnswers:
    """Stands in for the async ``ApiClient``: a request is served, then its answer is lost."""

    def __init__(self, real: Any, verb: str, times: int) -> None:
        self._real, self._verb, self.remaining = real, verb, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def call_api(self, path: str, verb: str, *args: Any, **kwargs: Any) -> Any:
        result = await self._real.call_api(path, verb, *args, **kwargs)
        if self.remaining > 0 and verb == self._verb and "/mpijobs" in path:
            self.remaining -= 1
            await result.read()
            result.release()
            raise aiohttp.ServerDisconnectedError()
        return result


@pytest.mark.emulator_only("counts requests")
async def test_lost_create_answer_makes_one_job(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    tracker.api.api_client = LosesAnswers(tracker.api.api_client, "POST", 1)
    job_id = await tracker.add_job(template())
    assert mpijob_names(mpi_cluster) == [job_id.split("/")[1]]
    assert mpi_cluster.requests.count(Verb.CREATE, "mpijobs") == 2


ASYNC_METHODS: list[tuple[str, Callable[[AsyncMPIOperatorTracker], Any]]] = [
    ("list_jobs", lambda t: t.list_jobs()),
    ("list_array_jobs", lambda t: t.list_array_jobs("arr")),
    ("add_job", lambda t: t.add_job(template())),
    ("add_array_job", lambda t: t.add_array_job(template(), 1, 2, 1, 1)),
    ("job_state", lambda t: t.job_state("pi")),
    ("job_info", lambda t: t.job_info("pi")),
    ("job_control", lambda t: t.job_control("pi", "hold")),
    ("wait", lambda t: t.wait("pi", 5)),
    ("wait_array", lambda t: t.wait_array("arr", 5)),
    ("release_array_tasks", lambda t: t.release_array_tasks("arr")),
    ("delete_job", lambda t: t.delete_job("pi")),
    ("job_template", lambda t: t.job_template("pi")),
    ("job_events", lambda t: t.job_events("pi")),
    ("job_output", lambda t: _drain(t.job_output("pi"))),
    ("find_jobs", lambda t: t.find_jobs({"a": "b"})),
    ("list_job_categories", lambda t: t.list_job_categories()),
    ("check_cluster", lambda t: t.check_cluster()),
]


async def _drain(lines: AsyncIterator[str]) -> list[str]:
    return [line async for line in lines]


@pytest.mark.emulator_only("injects faults")
@pytest.mark.parametrize(("name", "call"), ASYNC_METHODS, ids=[n for n, _ in ASYNC_METHODS])
async def test_only_drmaa2_errors_under_resets(
    mpi_cluster: MPICluster, name: str, call: Callable[[AsyncMPIOperatorTracker], Any]
) -> None:
    mpi_cluster.faults.reset_connections()
    retry = RetryPolicy(max_attempts=2, initial_delay=0.01, total_timeout=2)
    async with mpi_cluster.async_api_client() as client:
        tracker = AsyncMPIOperatorTracker(client, retry=retry, namespace=mpi_cluster.namespace)
        with pytest.raises(DRMAA2Error) as info:
            await asyncio.wait_for(call(tracker), 20)
    assert isinstance(info.value, TransientBackendError), f"{name}: {info.value!r}"


async def test_cancelled_wait_stops_the_stream(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = await tracker.add_job(template(duration=1000))
    waiting = asyncio.ensure_future(tracker.wait(job_id, None))
    await asyncio.sleep(0.3)
    hub = JobWatchHub.for_api(tracker.api, mpi_cluster.namespace)
    assert hub.running
    assert hub.waiters == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert hub.waiters == 0
    assert not hub.running


@pytest.mark.emulator_only("injects faults")
@pytest.mark.mpi_cluster(clock=20.0, faults=FaultInjector(seed=5))
async def test_whole_method_set_under_random_faults(
    tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    faults = mpi_cluster.faults
    faults.fail(503, rate=0.25, verb=["get", "list", "create", "patch", "delete"])
    faults.reset_connections(rate=0.1, verb=["get", "list", "create", "patch"])
    faults.delay(0.02, rate=0.5)
    faults.drop_watches(after_events=2, rate=0.5)
    faults.expire_watches(rate=0.3)

    doomed = await tracker.add_job(template(duration=200))
    job_ids = [await tracker.add_job(template(duration=4, log=["hello"])) for _ in range(3)]
    array_id = await tracker.add_array_job(template(duration=2, name="arr"), 1, 4, 1, 2)
    tasks = await tracker.list_array_jobs(array_id)
    assert sorted(await tracker.list_jobs()) == sorted([doomed, *job_ids, *tasks])
    assert len(mpijob_names(mpi_cluster)) == 8

    await tracker.job_control(doomed, A.TERMINATE)
    results = await asyncio.gather(
        tracker.wait(doomed, 30),
        *(tracker.wait(job_id, 30) for job_id in job_ids),
        tracker.wait_array(array_id, 60),
    )
    assert results[0] is S.FAILED
    assert set(results[1:4]) == {S.DONE}
    assert set(results[4].values()) == {S.DONE}
    for job_id in job_ids:
        assert (await tracker.job_info(job_id)).exit_status == 0
        assert [line async for line in tracker.job_output(job_id)] == ["hello"]
        await tracker.delete_job(job_id)
    assert len(mpijob_names(mpi_cluster)) == 5
