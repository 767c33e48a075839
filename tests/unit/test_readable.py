"""The readable companion of a JobInfo: words and seconds beside Go's numbers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_mpi.drmaa2 import JobInfo, JobState
from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.info import READABLE_KEY, format_duration, with_readable

FINISHED = JobInfo(
    id="default/pi",
    exit_status=0,
    state=JobState.DONE,
    sub_state="succeeded",
    slots=2,
    wallclock_time=timedelta(seconds=62, milliseconds=500),
    submission_time=datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc),
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(milliseconds=850), "850 ms"),
        (timedelta(seconds=2.5), "2.5 s"),
        (timedelta(minutes=3, seconds=4), "3 min 4.0 s"),
        (timedelta(hours=2, minutes=5, seconds=9), "2 h 5 min"),
        (timedelta(seconds=-2.5), "-2.5 s"),
        (timedelta(0), "0 ms"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_readable_says_the_go_numbers_in_words() -> None:
    data = with_readable(FINISHED)
    assert data["state"] == int(JobState.DONE) == 8  # Go's number stays
    assert data["wallclockTime"] == 62_500_000_000  # Go's nanoseconds stay
    assert data[READABLE_KEY] == {
        "state": "Done",
        "subState": "succeeded",
        "exitStatus": 0,
        "wallclockTime": "1 min 2.5 s",
        "wallclockTimeSeconds": 62.5,
        "cpuTimeSeconds": None,
        "slots": 2,
        "submissionTime": "2026-01-01T12:00:00+00:00",
        "dispatchTime": None,
        "finishTime": None,
    }
    json.dumps(data)  # XCom-ready


def test_unknown_values_are_said_unknown_not_go_sentinels() -> None:
    readable = with_readable(JobInfo(id="default/q", state=JobState.QUEUED))[READABLE_KEY]
    assert readable["state"] == "Queued"
    assert readable["exitStatus"] == "unknown"
    assert readable["wallclockTime"] is None
    assert readable["cpuTimeSeconds"] is None  # Go writes -3


def test_the_companion_does_not_disturb_go_round_tripping() -> None:
    data = with_readable(FINISHED)
    assert JobInfo.from_dict(data) == FINISHED
    assert JobInfo.from_json(json.dumps(data)) == FINISHED
    assert with_readable(data) == data  # idempotent on a dict that has one
    without = {key: value for key, value in data.items() if key != READABLE_KEY}
    assert without == FINISHED.to_dict()


def test_other_unknown_keys_are_still_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="Readable"):
        JobInfo.from_dict({**FINISHED.to_dict(), "Readable": {}})
