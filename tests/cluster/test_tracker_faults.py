"""MPIOperatorTracker under faults: nothing lost or duplicated; no client error leaks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import urllib3.exceptions

from airflow_provider_mpi.drmaa2 import (
    AuthorizationError,
    DRMAA2Error,
    JobControlAction,
    JobState,
    TransientBackendError,
)
from airflow_provider_mpi.mpioperator import MPIOperatorTracker, RetryPolicy
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.faults import FaultInjector, Verb
from tests.cluster.tracker_support import mpijob, mpijob_names, template

pytestmark = pytest.mark.emulator_only("injects faults")


S = JobState
FAST_RETRY = RetryPolicy(max_attempts=8, initial_delay=0.01, max_delay=0.1, total_timeout=20)


#: The request of each generated-client method these tests lose the answer of.
MPIJOB_VERBS = {
    "create_namespaced_custom_object": "POST",
    "patch_namespaced_custom_object": "PATCH",
    "delete_namespaced_custom_object": "DELETE",
}


class LosesAnswers:
    """Stands in for the ``ApiClient``: an MPIJob request is served, then its answer is lost.

    ``methods`` counts, per request kind (named by the generated client's
    method), how many answers are still to lose.
    """

    def __init__(self, real: Any, methods: dict[str, int]) -> None:
        self._real = real
        self.remaining = dict(methods)  # method name -> answers still to lose

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def call_api(self, path: str, verb: str, *args: Any, **kwargs: Any) -> Any:
        result = self._real.call_api(path, verb, *args, **kwargs)
        for name, left in self.remaining.items():
            if left > 0 and MPIJOB_VERBS[name] == verb and "/mpijobs" in path:
                self.remaining[name] -= 1
                if hasattr(result, "release_conn"):
                    _ = result.data  # the answer arrived; the client never sees it
                    result.release_conn()
                reset = ConnectionResetError(104, "Connection reset by peer")
                raise urllib3.exceptions.ProtocolError("Connection aborted.", reset)
        return result


@pytest.fixture
def tracker(mpi_cluster: MPICluster) -> MPIOperatorTracker:
    return MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=FAST_RETRY)


def lose_answers(tracker: MPIOperatorTracker, **methods: int) -> LosesAnswers:
    lossy = LosesAnswers(tracker.api.api_client, methods)
    tracker.api.api_client = lossy
    return lossy


# A lost answer is retried without a second object


def test_lost_create_answer_makes_one_job(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    lossy = lose_answers(tracker, create_namespaced_custom_object=1)
    job_id = tracker.add_job(template())
    assert lossy.remaining["create_namespaced_custom_object"] == 0
    assert mpijob_names(mpi_cluster) == [job_id.split("/")[1]]
    # the repeat met 409 AlreadyExists and found its own submission token
    assert mpi_cluster.requests.count(Verb.CREATE, "mpijobs") == 2


def test_lost_create_answer_with_a_chosen_name(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    lose_answers(tracker, create_namespaced_custom_object=1)
    assert tracker.add_job(template(name="pi")) == "default/pi"
    assert mpijob_names(mpi_cluster) == ["pi"]


def test_lost_array_create_answers_make_each_task_once(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    lose_answers(tracker, create_namespaced_custom_object=3)
    array_id = tracker.add_array_job(template(name="arr"), 1, 6, 1, 2)
    assert mpijob_names(mpi_cluster) == sorted(f"arr-{i}" for i in range(1, 7))
    assert len(tracker.list_array_jobs(array_id)) == 6


@pytest.mark.mpi_cluster(clock="manual")
def test_lost_control_answer_is_still_success(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = tracker.add_job(template(duration=100))
    mpi_cluster.advance(0)
    lose_answers(tracker, patch_namespaced_custom_object=1)
    tracker.job_control(job_id, JobControlAction.SUSPEND)  # the retry meets 409: applied already
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id)[0] is S.SUSPENDED
    lose_answers(tracker, patch_namespaced_custom_object=1)
    tracker.job_control(job_id, JobControlAction.TERMINATE)
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id) == (S.FAILED, "terminated")


@pytest.mark.mpi_cluster(clock=50.0)
def test_lost_delete_answer_is_still_success(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = tracker.add_job(template(duration=1))
    tracker.wait(job_id, 30)
    lose_answers(tracker, delete_namespaced_custom_object=1)
    tracker.delete_job(job_id)
    assert mpijob_names(mpi_cluster) == []


# Server-side faults


def test_resets_on_create(tracker: MPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    mpi_cluster.faults.reset_connections(verb="create", times=2)
    job_id = tracker.add_job(template())
    assert mpijob_names(mpi_cluster) == [job_id.split("/")[1]]


def test_retry_after_is_honoured(tracker: MPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    fault = mpi_cluster.faults.throttle(retry_after=1, times=1, verb="list")
    started = time.monotonic()
    assert tracker.list_jobs() == []
    assert time.monotonic() - started >= 0.9
    assert fault.hits == 1


def test_permanent_errors_surface_at_once(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    mpi_cluster.faults.forbid("default", verb="create", resource="mpijobs")
    with pytest.raises(AuthorizationError) as info:
        tracker.add_job(template())
    assert info.value.status == 403
    assert mpi_cluster.requests.count(Verb.CREATE, "mpijobs") == 1


@pytest.mark.mpi_cluster(clock=20.0, faults=FaultInjector(seed=11))
def test_whole_method_set_under_random_faults(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    faults = mpi_cluster.faults
    faults.fail(503, rate=0.25, verb=["get", "list", "create", "patch", "delete"])
    faults.fail(500, rate=0.1)
    faults.reset_connections(rate=0.1, verb=["get", "list", "create", "patch"])
    faults.delay(0.02, rate=0.5)
    faults.drop_watches(after_events=2, rate=0.5)
    faults.expire_watches(rate=0.3)

    job_ids = [tracker.add_job(template(duration=200))]
    job_ids += [tracker.add_job(template(duration=4, log=["hello"])) for _ in range(3)]
    array_id = tracker.add_array_job(template(duration=2, name="arr"), 1, 4, 1, 2)
    assert len(set(job_ids)) == 4
    assert sorted(tracker.list_jobs()) == sorted(job_ids + tracker.list_array_jobs(array_id))
    assert len(mpijob_names(mpi_cluster)) == 8  # nothing duplicated, nothing lost

    tracker.job_control(job_ids[0], JobControlAction.TERMINATE)
    assert tracker.wait(job_ids[0], 30) is S.FAILED
    for job_id in job_ids[1:]:
        assert tracker.wait(job_id, 30) is S.DONE
        info = tracker.job_info(job_id)
        assert (info.state, info.exit_status) == (S.DONE, 0)
        assert list(tracker.job_output(job_id)) == ["hello"]
    assert set(tracker.wait_array(array_id, 60).values()) == {S.DONE}
    assert tracker.job_state(job_ids[0]) == (S.FAILED, "terminated")
    for job_id in job_ids:
        tracker.delete_job(job_id)
    assert len(mpijob_names(mpi_cluster)) == 4
    assert faults.faults[0].hits > 0


# No exception of the Kubernetes client or its transport escapes

EVERY_METHOD: list[tuple[str, Callable[[MPIOperatorTracker], Any]]] = [
    ("list_jobs", lambda t: t.list_jobs()),
    ("list_array_jobs", lambda t: t.list_array_jobs("default/arr")),
    ("add_job", lambda t: t.add_job(template())),
    ("add_array_job", lambda t: t.add_array_job(template(), 1, 3, 1, 1)),
    ("job_state", lambda t: t.job_state("default/pi")),
    ("job_info", lambda t: t.job_info("default/pi")),
    ("job_control", lambda t: t.job_control("default/pi", "suspend")),
    ("wait", lambda t: t.wait("default/pi", 5)),
    ("wait_array", lambda t: t.wait_array("default/arr", 5)),
    ("release_array_tasks", lambda t: t.release_array_tasks("default/arr")),
    ("delete_job", lambda t: t.delete_job("default/pi")),
    ("list_job_categories", lambda t: t.list_job_categories()),
    ("job_template", lambda t: t.job_template("default/pi")),
    ("job_output", lambda t: list(t.job_output("default/pi"))),
    ("job_events", lambda t: t.job_events("default/pi")),
    ("find_jobs", lambda t: t.find_jobs({"a": "b"})),
    ("check_cluster", lambda t: t.check_cluster()),
]


@pytest.mark.parametrize(("name", "call"), EVERY_METHOD, ids=[n for n, _ in EVERY_METHOD])
def test_only_drmaa2_errors_under_resets(
    mpi_cluster: MPICluster, name: str, call: Callable[[MPIOperatorTracker], Any]
) -> None:
    retry = RetryPolicy(max_attempts=2, initial_delay=0.01, total_timeout=2)
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, retry=retry)
    mpi_cluster.faults.reset_connections()
    with pytest.raises(DRMAA2Error) as info:
        call(tracker)
    assert isinstance(info.value, TransientBackendError), f"{name}: {info.value!r}"


@pytest.mark.parametrize(("name", "call"), EVERY_METHOD, ids=[n for n, _ in EVERY_METHOD])
def test_only_drmaa2_errors_when_the_server_is_gone(
    name: str, call: Callable[[MPIOperatorTracker], Any]
) -> None:
    with MPICluster() as cluster:
        client = cluster.api_client()
    retry = RetryPolicy(max_attempts=2, initial_delay=0.01, total_timeout=2)
    tracker = MPIOperatorTracker(api_client=client, retry=retry)
    with pytest.raises(DRMAA2Error) as info:
        call(tracker)
    assert isinstance(info.value, TransientBackendError), f"{name}: {info.value!r}"
    assert info.value.status is None


def test_store_object_unchanged_by_refused_control(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = tracker.add_job(template())
    mpi_cluster.faults.forbid("default", verb="patch")
    with pytest.raises(AuthorizationError):
        tracker.job_control(job_id, "terminate")
    obj = mpijob(mpi_cluster, job_id)
    assert "terminated" not in str(obj["metadata"].get("annotations"))
    assert not obj["spec"]["runPolicy"].get("suspend")
