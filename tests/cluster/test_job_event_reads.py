"""Reading a job's events costs what its own events cost, not the namespace's.

The emulator selects events by ``involvedObject`` fields as the API server
does; both trackers read the events of one object at a time, and ``job_info``
reads them only while the MPIJob has no condition (the validation-error case).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import JobState
from airflow_provider_mpi.mpioperator import MPIOperatorTracker
from airflow_provider_mpi.mpioperator.tracker.aio import AsyncMPIOperatorTracker
from airflow_provider_mpi.mpioperator.tracker.submission import prepare_job
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.faults.counters import Verb
from airflow_provider_mpi.testing.store import Store
from airflow_provider_mpi.testing.store.errors import BadRequest
from tests.cluster.tracker_support import pods, template

NOISE = 40


def _event(name: str, kind: str, obj: str, uid: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"kind": kind, "name": obj, "namespace": "default", "uid": uid},
        "reason": extra.pop("reason", "Noise"),
        "message": "m",
        "type": extra.pop("type", "Normal"),
        "source": {"component": extra.pop("component", "kubelet")},
        **extra,
    }


@pytest.fixture
def event_store() -> Store:
    store = Store()
    for event in (
        _event("a.1", "Pod", "pi-worker-0", "u1", type="Warning", reason="BackOff"),
        _event("a.2", "Pod", "pi-worker-0", "u0", component="scheduler"),
        _event("a.3", "Pod", "pi-worker-1", "u2"),
        _event("a.4", "MPIJob", "pi-worker-0", "u3", component="mpi-job-controller"),
    ):
        store.create("events", event, namespace="default")
    return store


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("involvedObject.name=pi-worker-0", ["a.1", "a.2", "a.4"]),
        ("involvedObject.kind=Pod,involvedObject.name=pi-worker-0", ["a.1", "a.2"]),
        ("involvedObject.kind=Pod,involvedObject.name=pi-worker-0,involvedObject.uid=u1", ["a.1"]),
        ("involvedObject.kind=MPIJob", ["a.4"]),
        ("involvedObject.kind!=Pod", ["a.4"]),
        ("type=Warning", ["a.1"]),
        ("reason=BackOff,involvedObject.uid=u1", ["a.1"]),
        ("source=scheduler", ["a.2"]),
        ("involvedObject.name=nothing", []),
    ],
)
def test_events_are_selected_by_their_fields(
    event_store: Store, selector: str, names: list[str]
) -> None:
    items, _ = event_store.list("events", "default", field_selector=selector)
    assert [item["metadata"]["name"] for item in items] == names


def test_a_field_events_do_not_support_is_refused(event_store: Store) -> None:
    with pytest.raises(BadRequest, match=r"field label not supported: involvedObject\.color"):
        event_store.list("events", "default", field_selector="involvedObject.color=red")


def _add_noise(cluster: MPICluster) -> None:
    """Events of other objects in the namespace, which no read of the job may fetch."""
    for index in range(NOISE):
        cluster.store.create(
            "events", _event(f"noise.{index}", "Pod", f"other-{index}"), namespace="default"
        )


def _events_listed(cluster: MPICluster) -> int:
    return cluster.requests.count(Verb.LIST, "events")


def _workers_cleaned(cluster: MPICluster, name: str) -> None:
    """Wait until the operator has deleted the ended job's workers (cleanPodPolicy Running).

    It does so on a reconcile after the end, so a read right after ``wait``
    may still see them; reads compared with each other must see one pod set.
    """
    deadline = time.monotonic() + 30
    while any("-worker-" in pod["metadata"]["name"] for pod in pods(cluster, name)):
        assert time.monotonic() < deadline, f"the workers of {name} were never deleted"
        time.sleep(0.02)


@pytest.mark.emulator_only("counts requests")
@pytest.mark.mpi_cluster(clock=50.0)
def test_sync_reads_only_the_jobs_events(mpi_cluster: MPICluster) -> None:
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, namespace=mpi_cluster.namespace)
    job_id = tracker.add_job(template(duration=1, exit_code=3))
    assert tracker.wait(job_id, 30) is JobState.FAILED
    _add_noise(mpi_cluster)
    mpi_cluster.requests.reset()

    assert tracker.job_info(job_id).state is JobState.FAILED
    assert tracker.job_state(job_id)[0] is JobState.FAILED
    assert _events_listed(mpi_cluster) == 0  # the MPIJob has conditions: no event matters

    name = job_id.split("/")[1]
    job_pods = pods(mpi_cluster, name)
    events = tracker.job_events(job_id)
    assert _events_listed(mpi_cluster) == 2 + len(job_pods)  # MPIJob, launcher Job, each pod
    assert events
    assert all(not e.object_name.startswith("other-") for e in events)
    assert {e.object_kind for e in events} >= {"MPIJob", "Pod"}


@pytest.mark.emulator_only("counts requests")
@pytest.mark.mpi_cluster(clock=50.0)
def test_async_reads_only_the_jobs_events(mpi_cluster: MPICluster) -> None:
    sync = MPIOperatorTracker(mpi_cluster.kubeconfig_path, namespace=mpi_cluster.namespace)
    job_id = sync.add_job(template(duration=1))
    assert sync.wait(job_id, 30) is JobState.DONE
    _workers_cleaned(mpi_cluster, job_id.split("/")[1])
    _add_noise(mpi_cluster)
    expected = sync.job_events(job_id)
    mpi_cluster.requests.reset()

    async def read() -> None:
        async with mpi_cluster.async_api_client() as client:
            tracker = AsyncMPIOperatorTracker(client, namespace=mpi_cluster.namespace)
            assert (await tracker.job_info(job_id)).state is JobState.DONE
            assert _events_listed(mpi_cluster) == 0
            assert await tracker.job_events(job_id) == expected

    asyncio.run(read())
    assert _events_listed(mpi_cluster) == 2 + len(pods(mpi_cluster, job_id.split("/")[1]))


def _invalid_job(cluster: MPICluster, name: str) -> str:
    """An MPIJob the operator refuses with a ValidationError event (it never gets a condition)."""
    body = prepare_job(template(), namespace="default", name=name)
    body["spec"]["mpiReplicaSpecs"]["Launcher"]["replicas"] = 3
    cluster.store.create("mpijobs", body, namespace="default")
    return f"default/{name}"


@pytest.mark.emulator_only("counts requests")
@pytest.mark.mpi_cluster(clock=50.0)
def test_a_validation_error_is_read_from_the_jobs_own_events(mpi_cluster: MPICluster) -> None:
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, namespace=mpi_cluster.namespace)
    job_id = _invalid_job(mpi_cluster, "bad")
    mpi_cluster.wait_for(lambda: tracker.job_state(job_id)[0] is JobState.FAILED, 10)
    _add_noise(mpi_cluster)
    mpi_cluster.requests.reset()

    info = tracker.job_info(job_id)
    assert (info.state, info.sub_state) == (JobState.FAILED, "validation-error")
    assert "Found validation errors" in info.annotation
    assert _events_listed(mpi_cluster) == 1

    async def read() -> tuple[JobState, str]:
        async with mpi_cluster.async_api_client() as client:
            info = await AsyncMPIOperatorTracker(client, namespace=mpi_cluster.namespace).job_info(
                job_id
            )
            return info.state, info.sub_state

    assert asyncio.run(read()) == (JobState.FAILED, "validation-error")
    assert _events_listed(mpi_cluster) == 2
