"""Which wait on one task of an array runs a release step (few waiters race)."""

from __future__ import annotations

from typing import Any

from airflow_provider_mpi.drmaa2 import JobState
from airflow_provider_mpi.mpioperator.names import ANNOTATION_HELD, LABEL_TASK_ID
from airflow_provider_mpi.mpioperator.tracker.array_owner import ArrayIntent
from airflow_provider_mpi.mpioperator.tracker.release import (
    STEP_DEFERRAL,
    single_wait_turn,
)
from airflow_provider_mpi.mpioperator.tracker.waiters import ArrayWaiter

INTENT = ArrayIntent("a", "ns", 1, 5, 1, 2, "h", "tok", "{}", mark=2, moved_at=0.0)
NAMES = INTENT.task_names


def task(name: str, *, held: bool, done: bool = False, version: int = 1) -> dict[str, Any]:
    conditions = [{"type": "Succeeded", "status": "True"}] if done else []
    annotations = {ANNOTATION_HELD: "true"} if held else {}
    return {
        "metadata": {
            "name": name,
            "resourceVersion": str(version),
            "labels": {LABEL_TASK_ID: name.rsplit("-", 1)[1]},
            "annotations": annotations,
        },
        "spec": {"runPolicy": {"suspend": held}},
        "status": {"conditions": conditions},
    }


def seen(*tasks: dict[str, Any]) -> ArrayWaiter:
    waiter = ArrayWaiter("ns/a", "ns", frozenset({JobState.DONE}), NAMES, require_all=False)
    waiter.snapshot(tasks)
    return waiter


def test_nothing_to_do_while_the_slots_are_full() -> None:
    waiter = seen(task("a-1", held=False), task("a-2", held=False), task("a-3", held=True))
    assert single_wait_turn(INTENT, waiter, "a-3", None, 0.0) == (False, None)


def test_the_ended_task_and_the_next_held_task_take_their_turn() -> None:
    waiter = seen(
        task("a-1", held=False, done=True), task("a-2", held=False), task("a-3", held=True)
    )
    assert single_wait_turn(INTENT, waiter, "a-1", None, 0.0) == (True, None)
    assert single_wait_turn(INTENT, waiter, "a-3", None, 0.0) == (True, None)
    # a waiter of another task leaves it to them, and steps in only if they do not
    assert single_wait_turn(INTENT, waiter, "a-5", None, 10.0) == (False, 10.0)
    assert single_wait_turn(INTENT, waiter, "a-5", 10.0, 11.0) == (False, 10.0)
    assert single_wait_turn(INTENT, waiter, "a-5", 10.0, 10.0 + STEP_DEFERRAL) == (True, None)


def test_a_move_seen_in_the_tasks_costs_no_request() -> None:
    # another waiter moved the mark to 3 and released a-3: the intent read is stale
    waiter = seen(
        task("a-1", held=False, done=True),
        task("a-2", held=False),
        task("a-3", held=False),
        task("a-4", held=True),
    )
    assert single_wait_turn(INTENT, waiter, "a-5", None, 0.0) == (False, None)


def test_an_array_of_an_older_release_always_steps() -> None:
    assert single_wait_turn(None, seen(task("a-1", held=False)), "a-1", None, 0.0) == (True, None)
