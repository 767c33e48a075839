"""The reattach decisions, pure: follow or resubmit, free a fixed name, an array from its label."""

from __future__ import annotations

import pytest

from airflow_provider_mpi.drmaa2 import JobState
from airflow_provider_mpi.drmaa2.arrays import failed_tasks
from airflow_provider_mpi.mpioperator.names import LABEL_ARRAY_ID, LABEL_TRY_NUMBER
from airflow_provider_mpi.mpioperator.tracker.job_view import describe_row
from airflow_provider_mpi.mpioperator.tracker.reattach import (
    EarlierJob,
    ReattachAction,
    array_of_task,
    decide,
    frees_name,
)


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (JobState.QUEUED, ReattachAction.FOLLOW),
        (JobState.QUEUED_HELD, ReattachAction.FOLLOW),
        (JobState.RUNNING, ReattachAction.FOLLOW),
        (JobState.SUSPENDED, ReattachAction.FOLLOW),
        (JobState.DONE, ReattachAction.FOLLOW),
        (JobState.FAILED, ReattachAction.RESUBMIT),
    ],
)
def test_only_a_failed_job_is_submitted_again(state: JobState, action: ReattachAction) -> None:
    assert decide(EarlierJob("default/a", state)) is action


def test_the_log_line_names_the_submitting_try_and_a_kill() -> None:
    running = EarlierJob("team-a/x", JobState.RUNNING, "", "1")
    assert running.describe(ReattachAction.FOLLOW) == (
        "Reattaching to MPIJob team-a/x, submitted by try 1 of this task (state Running): "
        "this try follows it instead of submitting a new job"
    )
    killed = EarlierJob("team-a/x", JobState.FAILED, "terminated", "1")
    assert killed.describe(ReattachAction.RESUBMIT) == (
        "MPIJob team-a/x, submitted by try 1 of this task, failed (terminated) because that "
        "try was killed or the task cleared; submitting a new one"
    )
    failed = EarlierJob("team-a/x", JobState.FAILED, "failed: Error", "2")
    assert "because" not in failed.describe(ReattachAction.RESUBMIT)


@pytest.mark.parametrize(
    ("job_id", "job_name", "frees"),
    [
        ("team-a/train", "train", True),
        ("train", "train", True),  # a bare ID in the tracker's namespace
        ("team-a/train-2", "train", False),
        ("team-a/mpijob-abc", None, False),  # a generated name never clashes
        ("team-a/mpijob-abc", "", False),
    ],
)
def test_a_failed_job_is_deleted_only_when_it_holds_the_fixed_name(
    job_id: str, job_name: str | None, frees: bool
) -> None:
    assert frees_name(job_id, job_name, "default") is frees


def _mpijob(name: str, labels: dict[str, str]) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "team-a", "labels": labels}}


def test_the_array_of_a_task_comes_from_its_label_not_its_name() -> None:
    # A task name that does not end in "-<task id>" (a dash inside the array
    # name is not where the split would be) still names its array.
    row = describe_row(_mpijob("sweep-v2-7", {LABEL_ARRAY_ID: "sweep-v2", LABEL_TRY_NUMBER: "1"}))
    assert array_of_task(row, "default") == "team-a/sweep-v2"
    single = describe_row(_mpijob("train", {LABEL_TRY_NUMBER: "1"}))
    assert array_of_task(single, "default") is None


def test_array_failure_is_failed_tasks_only() -> None:
    states = {
        "ns/a-1": JobState.DONE,
        "ns/a-3": JobState.FAILED,
        "ns/a-2": JobState.RUNNING,  # still running is no failure (a retry follows it)
        "ns/a-4": JobState.FAILED,
    }
    assert failed_tasks(states) == ["ns/a-3", "ns/a-4"]
    assert failed_tasks({"ns/a-1": JobState.DONE}) == []
