from __future__ import annotations

import pytest

from airflow_provider_mpi.drmaa2.errors import InvalidStateError
from airflow_provider_mpi.drmaa2.state import JobControlAction, JobState
from airflow_provider_mpi.mpioperator.names import ANNOTATION_HELD, ANNOTATION_TERMINATED
from airflow_provider_mpi.mpioperator.tracker.control import (
    ALLOWED_STATES,
    control_applied,
    control_patch,
    release_patch,
)

A = JobControlAction
S = JobState

#: Expected decision for every action in every state: the patch's (suspend, annotations) or None.
TABLE = {
    A.TERMINATE: (True, {ANNOTATION_TERMINATED: "true", ANNOTATION_HELD: None}),
    A.SUSPEND: (True, None),
    A.RESUME: (False, None),
    A.HOLD: (True, {ANNOTATION_HELD: "true"}),
    A.RELEASE: (False, {ANNOTATION_HELD: None}),
}
ALLOWED = {
    A.TERMINATE: {
        S.UNSET,
        S.UNDETERMINED,
        S.QUEUED,
        S.QUEUED_HELD,
        S.RUNNING,
        S.SUSPENDED,
        S.REQUEUED,
        S.REQUEUED_HELD,
    },
    A.SUSPEND: {S.QUEUED, S.RUNNING, S.REQUEUED},
    A.RESUME: {S.SUSPENDED},
    A.HOLD: {S.QUEUED},
    A.RELEASE: {S.QUEUED_HELD},
}


@pytest.mark.parametrize("action", list(A))
@pytest.mark.parametrize("state", list(S))
def test_every_action_in_every_state(action: JobControlAction, state: JobState) -> None:
    assert (state in ALLOWED_STATES[action]) is (state in ALLOWED[action])
    if state not in ALLOWED[action]:
        with pytest.raises(InvalidStateError) as info:
            control_patch("ns/pi", state, action)
        assert (info.value.job_id, info.value.state, info.value.action) == ("ns/pi", state, action)
        assert f"cannot {action} job 'ns/pi' in state {state}" in str(info.value)
        return
    patch = control_patch("ns/pi", state, action)
    suspend, annotations = TABLE[action]
    assert patch["spec"] == {"runPolicy": {"suspend": suspend}}
    if annotations is None:
        assert "metadata" not in patch
    else:
        assert patch["metadata"]["annotations"] == annotations


def test_resource_version_precondition() -> None:
    patch = control_patch("ns/pi", S.RUNNING, A.SUSPEND, resource_version="17")
    assert patch["metadata"] == {"resourceVersion": "17"}


def test_release_patch() -> None:
    assert release_patch() == {
        "spec": {"runPolicy": {"suspend": False}},
        "metadata": {"annotations": {ANNOTATION_HELD: None}},
    }


def obj(suspend: bool | None, **annotations: str) -> dict[str, object]:
    run_policy = {} if suspend is None else {"suspend": suspend}
    return {"spec": {"runPolicy": run_policy}, "metadata": {"annotations": annotations}}


@pytest.mark.parametrize(
    ("mpijob", "action", "applied"),
    [
        (obj(True), A.SUSPEND, True),
        (obj(False), A.SUSPEND, False),
        (obj(None), A.RESUME, True),
        (obj(True, **{ANNOTATION_HELD: "true"}), A.HOLD, True),
        (obj(True), A.HOLD, False),
        (obj(False), A.RELEASE, True),
        (obj(False, **{ANNOTATION_HELD: "true"}), A.RELEASE, False),
        (obj(True, **{ANNOTATION_TERMINATED: "true"}), A.TERMINATE, True),
        (obj(True, **{ANNOTATION_TERMINATED: "true", ANNOTATION_HELD: "true"}), A.TERMINATE, False),
        (obj(False, **{ANNOTATION_TERMINATED: "true"}), A.TERMINATE, False),
    ],
)
def test_control_applied(
    mpijob: dict[str, object], action: JobControlAction, applied: bool
) -> None:
    assert control_applied(mpijob, action) is applied
