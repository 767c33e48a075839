"""Issue 12, item 3: every transient error absorbed, by the sync and the async tracker alike.

Each reported case is reproduced with the emulator's fault layer (no mock):

- a wait whose watch meets ``410 Gone`` on every resume gave up with
  ``ResourceExpiredError`` (and reported Running for a Done job): a 410
  always re-lists, it never uses up the retry budget;
- a create whose answer was lost and whose repeats then failed (a 503 storm,
  a 429 asking for more patience than the policy has, a 501 that is not
  transient at all) raised although the MPIJob existed, an orphan: a create
  that fails for any reason is resolved by its submission token;
- a read (``job_info``) raised after a run of 502s: the default policy's
  patience covers long runs of transient errors (Retry-After honoured).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from airflow_provider_mpi.drmaa2 import JobState
from airflow_provider_mpi.drmaa2.errors import AuthorizationError, TransientBackendError
from airflow_provider_mpi.mpioperator import (
    AsyncMPIOperatorTracker,
    MPIOperatorTracker,
    RetryPolicy,
)
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.faults import Verb
from tests.cluster.tracker_support import mpijob_names, template

pytestmark = pytest.mark.emulator_only("injects faults")

#: The default policy's patience (attempts), with short pauses to keep the test quick.
DEFAULT_ATTEMPTS = RetryPolicy(initial_delay=0.01, max_delay=0.05)
#: A policy with little patience, so that the budget runs out within the test.
SHORT = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05, total_timeout=10)


@pytest.fixture
def tracker(mpi_cluster: MPICluster) -> MPIOperatorTracker:
    return MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=SHORT)


@pytest.fixture
async def async_tracker(mpi_cluster: MPICluster) -> AsyncIterator[AsyncMPIOperatorTracker]:
    async with mpi_cluster.async_api_client() as client:
        yield AsyncMPIOperatorTracker(client, retry=SHORT)


# ------------------------------------------------------------------ 410 always re-lists


@pytest.mark.mpi_cluster(clock=20.0)
def test_sync_wait_relists_on_every_410(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    mpi_cluster.faults.expire_watches(rate=1.0)  # every resumed watch: 410 Gone
    job_id = tracker.add_job(template(duration=4))
    assert tracker.wait(job_id, 60) is JobState.DONE
    assert mpi_cluster.faults.faults[0].hits > SHORT.max_attempts


@pytest.mark.mpi_cluster(clock=20.0)
async def test_async_wait_relists_on_every_410(
    async_tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    mpi_cluster.faults.expire_watches(rate=1.0)
    job_id = await async_tracker.add_job(template(duration=4))
    assert await async_tracker.wait(job_id, 60) is JobState.DONE
    assert mpi_cluster.faults.faults[0].hits > SHORT.max_attempts


# ------------------------------------------------------------------ lost creates


def _lose_then(cluster: MPICluster, lost_status: int | None, then: int | None) -> None:
    """The first create takes effect and its answer is lost; later ones fail with ``then``."""
    cluster.faults.lose_answers(lost_status, verb="create", resource="mpijobs", times=1)
    if then is not None:
        wait = 120 if then == 429 else None  # more than the policy's patience
        cluster.faults.fail(then, verb="create", resource="mpijobs", skip=1, retry_after=wait)


CASES = [
    pytest.param(502, 503, id="502-then-503-storm"),
    pytest.param(None, 429, id="reset-then-429-retry-after-120"),
    pytest.param(501, None, id="501-not-transient"),
    pytest.param(507, None, id="507"),
]


@pytest.mark.parametrize(("lost", "then"), CASES)
def test_sync_lost_create_is_resolved_by_token(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster, lost: int | None, then: int | None
) -> None:
    _lose_then(mpi_cluster, lost, then)
    job_id = tracker.add_job(template(name="pi"))
    assert job_id == "default/pi"
    assert mpijob_names(mpi_cluster) == ["pi"]


@pytest.mark.parametrize(("lost", "then"), CASES)
async def test_async_lost_create_is_resolved_by_token(
    async_tracker: AsyncMPIOperatorTracker,
    mpi_cluster: MPICluster,
    lost: int | None,
    then: int | None,
) -> None:
    _lose_then(mpi_cluster, lost, then)
    job_id = await async_tracker.add_job(template())
    assert mpijob_names(mpi_cluster) == [job_id.split("/")[1]]


def test_create_that_never_took_effect_still_raises(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    mpi_cluster.faults.fail(503, verb="create", resource="mpijobs")
    with pytest.raises(TransientBackendError) as info:
        tracker.add_job(template(name="pi"))
    assert info.value.status == 503
    assert mpijob_names(mpi_cluster) == []
    # the token check read the name once after the last attempt: 404, not created
    assert mpi_cluster.requests.count(Verb.GET, "mpijobs") == 1


async def test_async_forbidden_create_raises_at_once(
    async_tracker: AsyncMPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    mpi_cluster.faults.forbid("default", verb="create", resource="mpijobs")
    with pytest.raises(AuthorizationError):
        await async_tracker.add_job(template())
    assert mpi_cluster.requests.count(Verb.CREATE, "mpijobs") == 1


# ------------------------------------------------------------------ reads: long runs of 502s


@pytest.mark.mpi_cluster(clock=50.0)
def test_sync_job_info_outlasts_a_run_of_502s(mpi_cluster: MPICluster) -> None:
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=DEFAULT_ATTEMPTS)
    job_id = tracker.add_job(template(duration=1))
    assert tracker.wait(job_id, 60) is JobState.DONE
    mpi_cluster.faults.fail(502, verb="get", resource="mpijobs", times=10)
    mpi_cluster.faults.fail(502, verb="list", resource="pods", times=10)
    assert tracker.job_info(job_id).state is JobState.DONE


@pytest.mark.mpi_cluster(clock=50.0)
async def test_async_job_info_outlasts_a_run_of_502s(mpi_cluster: MPICluster) -> None:
    async with mpi_cluster.async_api_client() as client:
        tracker = AsyncMPIOperatorTracker(client, retry=DEFAULT_ATTEMPTS)
        job_id = await tracker.add_job(template(duration=1))
        assert await tracker.wait(job_id, 60) is JobState.DONE
        mpi_cluster.faults.fail(502, verb="get", resource="mpijobs", times=10)
        mpi_cluster.faults.fail(502, verb="list", resource="pods", times=10)
        assert (await tracker.job_info(job_id)).state is JobState.DONE
