from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mpi.drmaa2.errors import InvalidStateError, JobNotFoundError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.names import ANNOTATION_HELD, LABEL_ARRAY_ID, LABEL_TASK_ID
from airflow_provider_mpi.mpioperator.tracker.submission import ANNOTATION_MAX_PARALLEL
from airflow_provider_mpi.mpioperator.tracker.waiters import ArrayWaiter, JobWaiter, is_newer
from airflow_provider_mpi.mpioperator.tracker.waiting import END_STATES

S = JobState
CONDITION = {"running": "Running", "done": "Succeeded", "failed": "Failed"}


def job(
    name: str,
    rv: int,
    phase: str = "queued",
    *,
    task: int | None = None,
    held: bool = False,
    max_parallel: int = 0,
) -> dict[str, Any]:
    conditions = [{"type": "Created", "status": "True"}]
    if phase in CONDITION:
        conditions.append({"type": CONDITION[phase], "status": "True", "reason": "x"})
    annotations = {ANNOTATION_MAX_PARALLEL: str(max_parallel)}
    spec: dict[str, Any] = {"runPolicy": {}}
    if held:
        annotations[ANNOTATION_HELD] = "true"
        spec["runPolicy"]["suspend"] = True
    labels = {} if task is None else {LABEL_ARRAY_ID: "arr", LABEL_TASK_ID: str(task)}
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "resourceVersion": str(rv),
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
        "status": {
            "conditions": conditions,
            **({"startTime": "2026-01-01T00:00:00Z"} if phase != "queued" else {}),
        },
    }


@pytest.mark.parametrize(
    ("candidate", "current", "newer"),
    [
        (job("a", 5), None, True),
        (job("a", 5), job("a", 4), True),
        (job("a", 5), job("a", 5), True),
        (job("a", 4), job("a", 5), False),
        ({"metadata": {"resourceVersion": "x"}}, job("a", 5), True),
    ],
)
def test_is_newer(candidate: dict[str, Any], current: dict[str, Any] | None, newer: bool) -> None:
    assert is_newer(candidate, current) is newer


def test_job_waiter_until_done() -> None:
    waiter = JobWaiter("ns/a", END_STATES)
    assert waiter.observe(job("a", 1)) is None
    assert waiter.observe(job("a", 2, "running")) is None
    assert waiter.last_state is S.RUNNING
    assert waiter.observe(job("a", 1)) is None  # an old version seen late is ignored
    assert waiter.last_state is S.RUNNING
    assert waiter.observe(job("a", 3, "done")) is S.DONE


def test_job_waiter_unreachable() -> None:
    waiter = JobWaiter("ns/a", frozenset({S.RUNNING}))
    with pytest.raises(InvalidStateError) as info:
        waiter.observe(job("a", 3, "failed"))
    assert (info.value.job_id, info.value.state, info.value.action) == ("ns/a", S.FAILED, "wait")


def test_job_waiter_absence() -> None:
    waiter = JobWaiter("ns/a", END_STATES)
    with pytest.raises(JobNotFoundError):
        waiter.observe(None)
    waiter.observe(job("a", 10, "running"))
    assert waiter.observe(None, as_of="9") is None  # a list older than what we saw
    with pytest.raises(JobNotFoundError):
        waiter.observe(None, as_of="11")
    with pytest.raises(JobNotFoundError):
        waiter.observe(None)  # a DELETED event


def tasks(
    *phases: str, held: tuple[int, ...] = (), max_parallel: int = 2, rv: int = 1
) -> list[dict[str, Any]]:
    return [
        job(f"arr-{i}", rv, phase, task=i, held=i in held, max_parallel=max_parallel)
        for i, phase in enumerate(phases, start=1)
    ]


def test_array_waiter_releases_as_slots_free() -> None:
    waiter = ArrayWaiter("ns/arr", "ns", END_STATES)
    waiter.snapshot(tasks("running", "running", "queued", "queued", held=(3, 4)), as_of="1")
    assert waiter.names == ("arr-1", "arr-2", "arr-3", "arr-4")
    assert waiter.to_release() == []
    waiter.observe("arr-1", job("arr-1", 2, "done", task=1, max_parallel=2))
    assert waiter.to_release() == ["arr-3"]
    assert waiter.to_release() == []  # not twice before the release shows
    assert not waiter.finished()
    waiter.observe("arr-3", job("arr-3", 3, "running", task=3, max_parallel=2))
    assert waiter.to_release() == []
    for i in (2, 3, 4):
        waiter.observe(f"arr-{i}", job(f"arr-{i}", 9, "done", task=i, max_parallel=2))
    assert waiter.finished()
    assert waiter.states() == {f"ns/arr-{i}": S.DONE for i in (1, 2, 3, 4)}


def test_array_waiter_orders_tasks_numerically() -> None:
    waiter = ArrayWaiter("ns/arr", "ns", END_STATES)
    waiter.snapshot(tasks(*["queued"] * 11), as_of="1")
    assert waiter.names[-3:] == ("arr-9", "arr-10", "arr-11")


def test_array_waiter_errors() -> None:
    waiter = ArrayWaiter("ns/arr", "ns", END_STATES)
    with pytest.raises(JobNotFoundError, match="array job 'ns/arr' not found"):
        waiter.snapshot([], as_of="1")
    waiter.snapshot(tasks("running", "running"), as_of="1")
    with pytest.raises(JobNotFoundError, match="arr-2"):
        waiter.observe("arr-2", None)
    waiter.observe("other", None)  # not a task: ignored
    running = ArrayWaiter("ns/arr", "ns", frozenset({S.RUNNING}))
    running.snapshot(tasks("running", "failed"), as_of="1")
    with pytest.raises(InvalidStateError, match="arr-2"):
        running.finished()


def test_array_waiter_with_fixed_names() -> None:
    waiter = ArrayWaiter("[...]", "ns", END_STATES, names=["arr-2", "arr-1"])
    with pytest.raises(JobNotFoundError, match="ns/arr-1"):
        waiter.snapshot(tasks("done", "done")[1:], as_of="1")
    waiter.snapshot(tasks("done", "done", "running"), as_of="1")  # arr-3 is not ours
    assert waiter.names == ("arr-2", "arr-1")
    assert waiter.finished()
    assert not waiter.wants("arr-3")


def test_array_snapshot_keeps_newer_versions() -> None:
    waiter = ArrayWaiter("ns/arr", "ns", END_STATES)
    waiter.snapshot(tasks("running", "running"), as_of="1")
    waiter.observe("arr-2", job("arr-2", 7, "done", task=2))
    waiter.snapshot(tasks("running", "running", rv=3), as_of="5")  # older than what we saw
    assert waiter.states()["ns/arr-2"] is S.DONE
    with pytest.raises(JobNotFoundError):  # arr-1 (version 3) is absent from a list at 5
        waiter.snapshot([job("arr-2", 7, "done", task=2)], as_of="5")
