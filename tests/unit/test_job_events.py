from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_mpi.mpioperator.status.events import (
    JobEvent,
    job_events_from_k8s,
    parse_timestamp,
)


def event(
    kind: str, name: str, reason: str, type_: str = "Normal", **times: str
) -> dict[str, object]:
    return {
        "involvedObject": {"kind": kind, "name": name},
        "reason": reason,
        "message": f"{reason} on {name}",
        "type": type_,
        "count": 2,
        **times,
    }


EVENTS = [
    event(
        "Pod", "pi-launcher-x", "FailedScheduling", "Warning", lastTimestamp="2026-01-01T10:00:05Z"
    ),
    event("MPIJob", "pi", "MPIJobCreated", lastTimestamp="2026-01-01T10:00:00Z"),
    event("MPIJob", "other", "MPIJobCreated", lastTimestamp="2026-01-01T09:00:00Z"),
    event("Pod", "pi-worker-0", "Pulled", eventTime="2026-01-01T10:00:03.000000Z"),
    event("Job", "pi-launcher", "SuccessfulCreate"),
    event("Service", "pi", "Something"),
]
OBJECTS = {
    ("MPIJob", "pi"),
    ("Job", "pi-launcher"),
    ("Pod", "pi-launcher-x"),
    ("Pod", "pi-worker-0"),
}


def test_selects_the_jobs_events_oldest_first() -> None:
    events = job_events_from_k8s(EVENTS, OBJECTS)
    assert [e.reason for e in events] == [
        "SuccessfulCreate",
        "MPIJobCreated",
        "Pulled",
        "FailedScheduling",
    ]
    first = events[1]
    assert first == JobEvent(
        "Normal",
        "MPIJobCreated",
        "MPIJobCreated on pi",
        datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc),
        2,
        "MPIJob",
        "pi",
    )


def test_warnings_only() -> None:
    events = job_events_from_k8s(EVENTS, OBJECTS, warnings_only=True)
    assert [(e.reason, e.is_warning) for e in events] == [("FailedScheduling", True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10, tzinfo=timezone.utc)),
        ("2026-01-01T10:00:00.5Z", datetime(2026, 1, 1, 10, 0, 0, 500000, tzinfo=timezone.utc)),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_timestamp(text: object, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected
