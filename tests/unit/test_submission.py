from __future__ import annotations

import pytest

from airflow_provider_mpi.drmaa2.errors import (
    AuthorizationError,
    BackendError,
    ConflictError,
    InvalidArgumentError,
    InvalidTemplateError,
    TransientBackendError,
)
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.names import (
    ANNOTATION_HELD,
    ANNOTATION_JOB_TEMPLATE,
    LABEL_ARRAY_ID,
    LABEL_TASK_ID,
)
from airflow_provider_mpi.mpioperator.tracker.submission import (
    ANNOTATION_MAX_PARALLEL,
    ANNOTATION_SUBMISSION,
    array_failure,
    conflict_error,
    is_same_submission,
    prepare_array,
    prepare_job,
)

JT = JobTemplate(
    remote_command="python", args=["pi.py", "$DRMAA2_INDEX$"], job_category="img", min_slots=2
)


def test_prepare_job_names_and_stamps() -> None:
    first = prepare_job(JT, namespace="ns")
    second = prepare_job(JT, namespace="ns")
    assert first["metadata"]["name"].startswith("mpijob-")
    assert first["metadata"]["name"] != second["metadata"]["name"]
    assert "generateName" not in first["metadata"]
    tokens = {m["metadata"]["annotations"][ANNOTATION_SUBMISSION] for m in (first, second)}
    assert len(tokens) == 2
    assert ANNOTATION_JOB_TEMPLATE in first["metadata"]["annotations"]
    assert prepare_job(JT.replace(job_name="pi"), namespace="ns")["metadata"]["name"] == "pi"


def test_prepare_job_validates() -> None:
    with pytest.raises(InvalidTemplateError):
        prepare_job(JobTemplate(remote_command="python"), namespace="ns")


def test_is_same_submission() -> None:
    mine = prepare_job(JT.replace(job_name="pi"), namespace="ns")
    again = prepare_job(JT.replace(job_name="pi"), namespace="ns")
    assert is_same_submission(mine, mine)
    assert not is_same_submission(again, mine)
    assert not is_same_submission({"metadata": {}}, mine)
    assert not is_same_submission(mine, {"metadata": {}})


def test_prepare_array() -> None:
    plan = prepare_array(JT.replace(job_name="sweep"), 1, 7, 3, 2, namespace="ns")  # 1, 4, 7
    assert (plan.array_id, plan.array_name, plan.max_parallel) == ("ns/sweep", "sweep", 2)
    names = [task["metadata"]["name"] for task in plan.tasks]
    assert names == ["sweep-1", "sweep-4", "sweep-7"]
    for task_id, task in zip((1, 4, 7), plan.tasks, strict=True):
        labels, annotations = task["metadata"]["labels"], task["metadata"]["annotations"]
        assert labels[LABEL_ARRAY_ID] == "sweep"
        assert labels[LABEL_TASK_ID] == str(task_id)
        assert annotations[ANNOTATION_MAX_PARALLEL] == "2"
        held = task_id == 7
        assert (annotations.get(ANNOTATION_HELD) == "true") is held
        assert bool(task["spec"]["runPolicy"].get("suspend")) is held
    # one submission, one token: a re-run adopting the recorded intent recognises every task
    tokens = {task["metadata"]["annotations"][ANNOTATION_SUBMISSION] for task in plan.tasks}
    assert tokens == {plan.intent.token}
    assert plan.owner["data"]["submission"] == plan.intent.token


def test_prepare_array_generated_name() -> None:
    plan = prepare_array(JT, 1, 2, 1, 0, namespace="ns")
    assert plan.array_name.startswith("mpiarray-")
    assert all(not t["spec"]["runPolicy"].get("suspend") for t in plan.tasks)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0, 2, 1, 0), "begin"),
        ((2, 1, 1, 0), "end"),
        ((1, 2, 0, 0), "step"),
        ((1, 2, 1, -1), "max_parallel"),
    ],
)
def test_prepare_array_rejects(args: tuple[int, int, int, int], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        prepare_array(JT, *args, namespace="ns")
    assert info.value.field == field


def test_conflict_error_names_the_job() -> None:
    error = conflict_error("ns/pi")
    assert isinstance(error, ConflictError)
    assert error.status == 409
    assert "ns/pi" in str(error)


@pytest.mark.parametrize(
    "cause",
    [ConflictError(409, "x"), AuthorizationError(403, "y"), TransientBackendError(503, "z")],
)
def test_array_failure_keeps_the_class_and_says_what_happened(cause: BackendError) -> None:
    error = array_failure("ns/arr", "arr-3", cause, ["ns/arr-1", "ns/arr-2"], [])
    assert type(error) is type(cause)
    assert error.status == cause.status
    assert "creating task arr-3 failed" in str(error)
    assert "the 2 task(s) already created were deleted" in str(error)
    left = array_failure("ns/arr", "arr-3", cause, [], ["ns/arr-1"])
    assert "could not be deleted and remain: ns/arr-1" in str(left)
