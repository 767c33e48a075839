"""JobState and JobControlAction: Go order, names, parsing."""

from __future__ import annotations

import pytest

from airflow_provider_mpi.drmaa2 import InvalidArgumentError, JobControlAction, JobState

# Go drmaa2interface: iota order and the stringer names.
GO_STATES = [
    (0, "Unset", JobState.UNSET),
    (1, "Undetermined", JobState.UNDETERMINED),
    (2, "Queued", JobState.QUEUED),
    (3, "QueuedHeld", JobState.QUEUED_HELD),
    (4, "Running", JobState.RUNNING),
    (5, "Suspended", JobState.SUSPENDED),
    (6, "Requeued", JobState.REQUEUED),
    (7, "RequeuedHeld", JobState.REQUEUED_HELD),
    (8, "Done", JobState.DONE),
    (9, "Failed", JobState.FAILED),
]


def test_every_state_is_in_the_table() -> None:
    assert [state for _, _, state in GO_STATES] == list(JobState)


@pytest.mark.parametrize(("number", "go_name", "state"), GO_STATES)
def test_go_number_and_name(number: int, go_name: str, state: JobState) -> None:
    assert int(state) == number
    assert JobState(number) is state
    assert str(state) == go_name
    assert f"{state}" == go_name
    assert f"{state:d}" == str(number)
    assert state.go_name == go_name
    assert JobState.from_string(go_name) is state
    assert JobState.from_string(state.name) is state
    assert JobState.from_string(state.name.lower()) is state
    assert JobState.parse(number) is state
    assert JobState.parse(go_name) is state
    assert JobState.parse(state) is state


@pytest.mark.parametrize(
    ("state", "terminal"),
    [(state, state in (JobState.DONE, JobState.FAILED)) for state in JobState],
)
def test_is_terminal(state: JobState, terminal: bool) -> None:
    assert state.is_terminal is terminal


@pytest.mark.parametrize("bad", ["Sleeping", "", "Queued Held!", "Done2"])
def test_from_string_rejects_unknown_names(bad: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        JobState.from_string(bad)
    assert info.value.field == "state"
    assert info.value.value == bad
    assert repr(bad) in str(info.value)
    assert "QueuedHeld" in str(info.value)


@pytest.mark.parametrize("bad", [-1, 10, True, 2.0, None, ["Done"]])
def test_parse_rejects_other_values(bad: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        JobState.parse(bad)
    assert info.value.value is bad


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("terminate", JobControlAction.TERMINATE),
        ("suspend", JobControlAction.SUSPEND),
        ("resume", JobControlAction.RESUME),
        ("hold", JobControlAction.HOLD),
        ("release", JobControlAction.RELEASE),
        ("Terminate", JobControlAction.TERMINATE),
        (" HOLD ", JobControlAction.HOLD),
        (JobControlAction.RELEASE, JobControlAction.RELEASE),
    ],
)
def test_action_parse(text: str, action: JobControlAction) -> None:
    assert JobControlAction.parse(text) is action


def test_action_strings_match_drmaa2os() -> None:
    assert [str(a) for a in JobControlAction] == [
        "terminate",
        "suspend",
        "resume",
        "hold",
        "release",
    ]
    assert f"{JobControlAction.HOLD}" == "hold"
    assert isinstance(JobControlAction.HOLD, str)
    assert JobControlAction("hold") is JobControlAction.HOLD


@pytest.mark.parametrize("bad", ["kill", "", 1, None])
def test_action_parse_rejects(bad: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        JobControlAction.parse(bad)
    assert info.value.field == "action"
    assert "terminate, suspend, resume, hold, release" in str(info.value)
