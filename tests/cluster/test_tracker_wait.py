"""MPIOperatorTracker waits, arrays and output against the emulated cluster."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import (
    ConflictError,
    InvalidArgumentError,
    InvalidStateError,
    JobNotFoundError,
    JobState,
    WaitTimeoutError,
)
from airflow_provider_mpi.mpioperator import MPIOperatorTracker
from airflow_provider_mpi.mpioperator.names import ANNOTATION_HELD, LABEL_ARRAY_ID, LABEL_TASK_ID
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.faults import Verb
from airflow_provider_mpi.testing.store import WatchEvent
from tests.cluster.tracker_support import mpijob, mpijob_names, template

S = JobState


@pytest.fixture
def tracker(mpi_cluster: MPICluster) -> MPIOperatorTracker:
    return MPIOperatorTracker(mpi_cluster.kubeconfig_path, namespace=mpi_cluster.namespace)


def watches_and_lists(cluster: MPICluster) -> tuple[int, int, int]:
    requests = cluster.requests
    return (
        requests.count(Verb.WATCH, "mpijobs"),
        requests.count(Verb.LIST, "mpijobs"),
        requests.count(Verb.GET, "mpijobs"),
    )


# Single jobs


@pytest.mark.emulator_only("counts requests")
@pytest.mark.mpi_cluster(clock=20.0)
def test_wait_follows_a_watch_without_polling(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = tracker.add_job(template(duration=10))  # 0.5 s of real time
    mpi_cluster.requests.reset()
    assert tracker.wait(job_id, 30) is S.DONE
    # the server counts a watch when it ends: the client closed it on return
    mpi_cluster.wait_for(lambda: watches_and_lists(mpi_cluster)[0] >= 1, 10)
    assert watches_and_lists(mpi_cluster) == (1, 1, 0)


@pytest.mark.emulator_only("counts requests")
@pytest.mark.mpi_cluster(clock=10.0)
def test_requests_do_not_grow_with_the_wait(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    counts = []
    for duration in (2, 12):  # 0.2 s and 1.2 s of real time
        job_id = tracker.add_job(template(duration=duration))
        mpi_cluster.requests.reset()
        assert tracker.wait(job_id, 30) is S.DONE
        # the server counts a watch when it ends (the client closed it on return)
        mpi_cluster.wait_for(lambda: mpi_cluster.requests.count(Verb.WATCH) >= 1, 10)
        counts.append(mpi_cluster.requests.total)
    assert counts[0] == counts[1]


@pytest.mark.emulator_only("counts requests")
@pytest.mark.mpi_cluster(clock="manual")
def test_timeout_zero_looks_once(tracker: MPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    job_id = tracker.add_job(template(duration=100))
    mpi_cluster.advance(0)
    mpi_cluster.requests.reset()
    with pytest.raises(WaitTimeoutError) as info:
        tracker.wait(job_id, 0)
    assert (info.value.job_id, info.value.timeout, info.value.last_state) == (job_id, 0, S.RUNNING)
    assert mpi_cluster.requests.count(Verb.WATCH) == 0
    assert tracker.wait(job_id, 0, S.RUNNING) is S.RUNNING


@pytest.mark.mpi_cluster(clock="manual")
def test_timeout_ends_the_wait(tracker: MPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    job_id = tracker.add_job(template(duration=100))
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as info:
        tracker.wait(job_id, 0.3)
    assert time.monotonic() - started < 5
    assert info.value.last_state in (S.QUEUED, S.RUNNING)


@pytest.mark.mpi_cluster(clock=20.0)
def test_wait_for_running_then_forever(tracker: MPIOperatorTracker) -> None:
    job_id = tracker.add_job(template(duration=10, start_delay="2"))
    assert tracker.wait(job_id, 30, S.RUNNING) is S.RUNNING
    assert tracker.wait(job_id, None) is S.DONE


@pytest.mark.mpi_cluster(clock=50.0)
def test_end_state_not_waited_for_is_an_error(tracker: MPIOperatorTracker) -> None:
    job_id = tracker.add_job(template(duration=1))
    tracker.wait(job_id, 30)
    with pytest.raises(InvalidStateError) as info:
        tracker.wait(job_id, 30, S.RUNNING)
    assert (info.value.job_id, info.value.state) == (job_id, S.DONE)


@pytest.mark.emulator_only("reads the emulator's store")
@pytest.mark.mpi_cluster(clock="manual")
def test_job_deleted_while_waiting(tracker: MPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    job_id = tracker.add_job(template(duration=100))
    namespace, name = job_id.split("/")
    timer = threading.Timer(0.3, mpi_cluster.store.delete, ("mpijobs", namespace, name))
    timer.start()
    try:
        with pytest.raises(JobNotFoundError) as info:
            tracker.wait(job_id, 20)
    finally:
        timer.cancel()
    assert info.value.job_id == job_id


@pytest.mark.emulator_only("injects faults")
@pytest.mark.mpi_cluster(clock=20.0)
def test_wait_survives_dropped_and_expired_watches(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = tracker.add_job(template(duration=20))
    mpi_cluster.faults.drop_watches(after_events=1)
    mpi_cluster.faults.expire_watches(times=2)
    assert tracker.wait(job_id, 30) is S.DONE
    watches, lists, _ = watches_and_lists(mpi_cluster)
    assert watches >= 2
    assert lists >= 2  # listed again after 410 Gone


@pytest.mark.mpi_cluster(clock=20.0)
def test_follow_output_waits_for_the_launcher(tracker: MPIOperatorTracker) -> None:
    lines = [f"step {i}" for i in range(5)]
    # The pods start after 40 emulated seconds (2 s of real time at x20), so
    # the first read reliably comes before the launcher prints anything.
    job_id = tracker.add_job(template(duration=4, start_delay="40", log=lines))
    assert list(tracker.job_output(job_id)) == []  # nothing printed yet
    assert list(tracker.job_output(job_id, follow=True)) == lines
    assert tracker.wait(job_id, 30) is S.DONE


def test_output_arguments(tracker: MPIOperatorTracker) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        tracker.job_output("default/x", tail_lines=-1)
    assert info.value.field == "tail_lines"


# Arrays


def test_array_tasks_are_labelled_and_held_beyond_max_parallel(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    jt = template(name="sweep")
    jt = jt.replace(args=["pi.py", "--part", "$DRMAA2_INDEX$"])
    array_id = tracker.add_array_job(jt, 2, 11, 3, 2)  # tasks 2, 5, 8, 11
    ns = mpi_cluster.namespace
    assert array_id == f"{ns}/sweep"
    assert tracker.list_array_jobs(array_id) == [f"{ns}/sweep-{i}" for i in (2, 5, 8, 11)]
    for task in (2, 5, 8, 11):
        obj = mpijob(mpi_cluster, f"{ns}/sweep-{task}")
        assert obj["metadata"]["labels"][LABEL_ARRAY_ID] == "sweep"
        assert obj["metadata"]["labels"][LABEL_TASK_ID] == str(task)
        held = task in (8, 11)
        assert (obj["metadata"]["annotations"].get(ANNOTATION_HELD) == "true") is held
        assert bool(obj["spec"]["runPolicy"].get("suspend")) is held
        launcher = obj["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
        env = {item["name"]: item.get("value") for item in launcher.get("env", [])}
        assert env["TASK_ID"] == str(task)
        assert str(task) in " ".join(launcher.get("command", []) + launcher.get("args", []))
        assert tracker.job_template(f"sweep-{task}").job_environment["TASK_ID"] == str(task)


def test_array_ids_in_numeric_task_order_and_seed_ids(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    ns = mpi_cluster.namespace
    array_id = tracker.add_array_job(template(name="arr"), 1, 11, 1, 0)
    expected = [f"{ns}/arr-{i}" for i in range(1, 12)]
    assert tracker.list_array_jobs(array_id) == expected
    assert tracker.list_array_jobs("arr") == expected
    seed_id = f'["arr-2", "{ns}/arr-1"]'
    assert tracker.list_array_jobs(seed_id) == [f"{ns}/arr-2", f"{ns}/arr-1"]


@pytest.mark.emulator_only("counts requests")
@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0, 3, 1, 0), "begin"),
        ((3, 1, 1, 0), "end"),
        ((1, 3, 0, 0), "step"),
        ((1, 3, 1, -1), "max_parallel"),
    ],
)
def test_bad_array_arguments_fail_before_any_request(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster, args: tuple[int, ...], field: str
) -> None:
    before = mpi_cluster.requests.total
    with pytest.raises(InvalidArgumentError) as info:
        tracker.add_array_job(template(), *args)
    assert info.value.field == field
    assert mpi_cluster.requests.total == before


def test_failed_array_submission_leaves_nothing_behind(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    tracker.add_job(template(name="arr-3"))  # takes the name of task 3
    with pytest.raises(ConflictError) as info:
        tracker.add_array_job(template(name="arr"), 1, 6, 1, 0)
    message = str(info.value)
    assert "creating task arr-3 failed" in message
    # The creates still queued when task 3 failed are cancelled, so how many of
    # the other 5 were made depends on the machine's load: the message must say
    # how many, and every one of them is gone.
    found = re.search(r"the (\d+) task\(s\) already created were deleted", message)
    created = int(found.group(1)) if found else 0
    assert 0 <= created <= 5
    if mpi_cluster.backend == "emulated":  # the server's count: all but add_job's
        stats = mpi_cluster.requests.snapshot()[(Verb.CREATE, "mpijobs")]
        assert created == stats.count - stats.errors + stats.lost - 1
    assert "could not be deleted" not in message
    assert mpijob_names(mpi_cluster) == ["arr-3"]


def _running_counter(cluster: MPICluster) -> tuple[dict[str, int], Any]:
    running: set[str] = set()
    peak = {"value": 0}

    def on_event(event: WatchEvent) -> None:
        if event.resource.plural != "mpijobs":
            return
        name = event.object["metadata"]["name"]
        conditions = (event.object.get("status") or {}).get("conditions") or []
        is_running = any(c["type"] == "Running" and c["status"] == "True" for c in conditions)
        if is_running and event.type.value != "DELETED":
            running.add(name)
        else:
            running.discard(name)
        peak["value"] = max(peak["value"], len(running))

    return peak, cluster.store.subscribe(on_event)


@pytest.mark.emulator_only("follows the emulator's store")
@pytest.mark.mpi_cluster(clock=50.0)
def test_wait_array_releases_within_max_parallel(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    peak, unsubscribe = _running_counter(mpi_cluster)
    try:
        array_id = tracker.add_array_job(template(duration=2), 1, 7, 1, 2)
        states = tracker.wait_array(array_id, 60)
    finally:
        unsubscribe()
    assert list(states) == tracker.list_array_jobs(array_id)
    assert set(states.values()) == {S.DONE}
    assert 1 <= peak["value"] <= 2


@pytest.mark.mpi_cluster(clock="manual")
def test_release_array_tasks_one_step(tracker: MPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    array_id = tracker.add_array_job(template(duration=5, name="arr"), 1, 4, 1, 1)
    mpi_cluster.advance(0)
    assert tracker.release_array_tasks(array_id) == []  # task 1 holds the slot
    mpi_cluster.advance(6)
    assert tracker.release_array_tasks(array_id) == ["default/arr-2"]
    assert tracker.release_array_tasks(array_id) == []  # arr-2 holds the slot now
    mpi_cluster.advance(6)
    # a poke of any task of the array (job_state, as a sensor does) is a release step too
    assert tracker.job_state("arr-4")[0] is S.QUEUED_HELD
    assert not mpijob(mpi_cluster, "default/arr-3")["spec"]["runPolicy"].get("suspend")
    assert tracker.release_array_tasks(array_id) == []  # arr-3 holds the slot now
    with pytest.raises(WaitTimeoutError) as info:
        tracker.wait_array(array_id, 0)
    assert isinstance(info.value.last_state, dict)
    assert info.value.last_state["default/arr-4"] is S.QUEUED_HELD
