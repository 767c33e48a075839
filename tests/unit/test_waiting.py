from __future__ import annotations

import math

import pytest

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.tracker.waiting import (
    END_STATES,
    Deadline,
    WaitOutcome,
    wait_outcome,
    wanted_states,
)

S = JobState
RUNNING = frozenset({S.RUNNING})


@pytest.mark.parametrize(
    ("state", "wanted", "outcome"),
    [
        (S.QUEUED, END_STATES, WaitOutcome.PENDING),
        (S.QUEUED_HELD, END_STATES, WaitOutcome.PENDING),
        (S.RUNNING, END_STATES, WaitOutcome.PENDING),
        (S.SUSPENDED, END_STATES, WaitOutcome.PENDING),
        (S.UNDETERMINED, END_STATES, WaitOutcome.PENDING),
        (S.DONE, END_STATES, WaitOutcome.SATISFIED),
        (S.FAILED, END_STATES, WaitOutcome.SATISFIED),
        (S.RUNNING, RUNNING, WaitOutcome.SATISFIED),
        (S.QUEUED, RUNNING, WaitOutcome.PENDING),
        (S.DONE, RUNNING, WaitOutcome.UNREACHABLE),
        (S.FAILED, RUNNING, WaitOutcome.UNREACHABLE),
        (S.FAILED, frozenset({S.DONE}), WaitOutcome.UNREACHABLE),
        (S.DONE, frozenset({S.DONE}), WaitOutcome.SATISFIED),
        (S.SUSPENDED, frozenset({S.SUSPENDED}), WaitOutcome.SATISFIED),
    ],
)
def test_wait_outcome(state: JobState, wanted: frozenset[JobState], outcome: WaitOutcome) -> None:
    assert wait_outcome(state, wanted) is outcome
    assert outcome.ends_wait is (outcome is not WaitOutcome.PENDING)


def test_wanted_states() -> None:
    assert wanted_states([]) == END_STATES
    assert wanted_states([S.RUNNING, "Done", 9]) == {S.RUNNING, S.DONE, S.FAILED}
    with pytest.raises(InvalidArgumentError):
        wanted_states(["Sleeping"])


@pytest.mark.parametrize(
    ("timeout", "now", "remaining", "expired", "watch"),
    [
        (None, 1000.0, None, False, 300),
        (math.inf, 1000.0, None, False, 300),
        (0, 100.0, 0.0, True, 1),
        (10, 100.0, 10.0, False, 10),
        (10, 105.5, 4.5, False, 5),
        (10, 109.9, pytest.approx(0.1), False, 1),
        (10, 111.0, 0.0, True, 1),
        (1000, 100.0, 1000.0, False, 300),
        (2.5, 100.0, 2.5, False, 3),
    ],
)
def test_deadline(
    timeout: float | None, now: float, remaining: object, expired: bool, watch: int
) -> None:
    deadline = Deadline.start(timeout, 100.0)
    assert deadline.remaining(now) == remaining
    assert deadline.expired(now) is expired
    assert deadline.watch_seconds(now) == watch


@pytest.mark.parametrize("timeout", [-1, -0.5, "10", True, math.nan, [1]])
def test_deadline_rejects(timeout: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        Deadline.start(timeout, 0.0)
    assert info.value.field == "timeout"


def test_watch_seconds_cap() -> None:
    assert Deadline.start(None, 0).watch_seconds(5, cap=30) == 30
