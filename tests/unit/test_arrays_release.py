from __future__ import annotations

import pytest

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.names import ANNOTATION_HELD, LABEL_ARRAY_ID, LABEL_TASK_ID
from airflow_provider_mpi.mpioperator.tracker.arrays import (
    TaskStatus,
    array_task_labels,
    held_at_submission,
    is_held,
    task_id_of,
    tasks_to_release,
)

S = JobState
CODES = {
    "q": S.QUEUED,
    "h": S.QUEUED_HELD,
    "r": S.RUNNING,
    "s": S.SUSPENDED,
    "d": S.DONE,
    "f": S.FAILED,
    "u": S.UNDETERMINED,
}


def tasks(spec: str) -> list[TaskStatus]:
    """One letter per task (task IDs 1..n); upper case = carries the held annotation."""
    return [
        TaskStatus(i, f"arr-{i}", CODES[c.lower()], c.isupper())
        for i, c in enumerate(spec, start=1)
    ]


@pytest.mark.parametrize(
    ("spec", "max_parallel", "released"),
    [
        ("rrHH", 2, []),  # both slots busy
        ("drHH", 2, [3]),  # one ended, one slot
        ("ddHH", 2, [3, 4]),
        ("dfHHH", 2, [3, 4]),  # failed tasks free their slot too
        ("qqHH", 2, []),  # queued (released, not started) occupy slots
        ("srHH", 2, []),  # user-suspended tasks keep their slot
        ("ddHH", 0, [3, 4]),  # no limit
        ("HHHH", 0, [1, 2, 3, 4]),
        ("HHHH", 3, [1, 2, 3]),
        ("dHFH", 2, [2, 4]),  # a held task terminated while held is not released
        ("rrrHH", 2, []),  # over the cap (e.g. released by hand): release nothing
        ("", 2, []),
        ("dddd", 2, []),
        ("uHH", 2, [2]),
    ],
)
def test_tasks_to_release(spec: str, max_parallel: int, released: list[int]) -> None:
    assert [t.task_id for t in tasks_to_release(tasks(spec), max_parallel)] == released


def test_release_order_is_task_order_not_input_order() -> None:
    shuffled = list(reversed(tasks("dHHH")))
    assert [t.task_id for t in tasks_to_release(shuffled, 2)] == [2, 3]


@pytest.mark.parametrize(
    ("task_ids", "max_parallel", "held"),
    [
        ([1, 2, 3, 4], 2, {3, 4}),
        ([1, 2, 3, 4], 0, set()),
        ([1, 2, 3, 4], 4, set()),
        ([1, 2, 3, 4], 9, set()),
        ([5, 10, 15], 1, {10, 15}),
    ],
)
def test_held_at_submission(task_ids: list[int], max_parallel: int, held: set[int]) -> None:
    assert held_at_submission(task_ids, max_parallel) == held


def test_labels_and_task_id_round_trip() -> None:
    labels = array_task_labels("arr", 7)
    assert labels == {LABEL_ARRAY_ID: "arr", LABEL_TASK_ID: "7"}
    assert task_id_of({"metadata": {"name": "arr-7", "labels": labels}}) == 7


@pytest.mark.parametrize("labels", [{}, {LABEL_TASK_ID: "x"}, None])
def test_task_id_of_rejects(labels: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        task_id_of({"metadata": {"name": "pi", "labels": labels}})
    assert info.value.field == LABEL_TASK_ID


@pytest.mark.parametrize(
    ("annotations", "held"),
    [
        ({ANNOTATION_HELD: "true"}, True),
        ({ANNOTATION_HELD: "True"}, True),
        ({}, False),
        (None, False),
        ({ANNOTATION_HELD: "false"}, False),
    ],
)
def test_is_held(annotations: object, held: bool) -> None:
    assert is_held({"metadata": {"annotations": annotations}}) is held
