"""Pod-script annotations, clocks and pod status rendering (pure parts)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from airflow_provider_mpi.testing.clock import Clock, ManualClock, RealClock
from airflow_provider_mpi.testing.cluster import make_clock
from airflow_provider_mpi.testing.controller.scripts import (
    ANNOTATION_PREFIX,
    Eviction,
    PodScript,
    Role,
    ScriptAnnotation,
    ScriptError,
    parse_script,
)
from airflow_provider_mpi.testing.controller.validation import default_mpi_job, validate_mpi_job

P = ANNOTATION_PREFIX


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({}, PodScript()),
        ({"other/duration": "9"}, PodScript()),
        ({P + "duration": "2.5"}, PodScript(duration=2.5)),
        ({P + "exit-code": "42"}, PodScript(exit_code=42)),
        ({P + "log": "a\nb\n"}, PodScript(log=("a", "b"))),
        ({P + "worker-duration": "3"}, PodScript(worker_duration=3.0)),
        ({P + "evict-worker": "1@5"}, PodScript(evict_worker=Eviction(index=1, after=5.0))),
        ({P + "unschedulable": "true"}, PodScript(unschedulable=frozenset(Role))),
        ({P + "unschedulable": "worker"}, PodScript(unschedulable=frozenset({Role.WORKER}))),
        ({P + "unschedulable": "false"}, PodScript()),
        (
            {P + "image-pull-error": "launcher"},
            PodScript(image_pull_error=frozenset({Role.LAUNCHER})),
        ),
        (
            {P + "image-pull-error": "launcher,worker"},
            PodScript(image_pull_error=frozenset(Role)),
        ),
        ({P + "start-delay": "7"}, PodScript(start_delay=7.0)),
    ],
)
def test_parse_script(annotations: dict[str, str], expected: PodScript) -> None:
    assert parse_script(annotations) == expected


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("duration", "-1", "a number of seconds >= 0"),
        ("duration", "soon", "a number of seconds >= 0"),
        ("duration", "inf", "a number of seconds >= 0"),
        ("exit-code", "256", "an integer from 0 to 255"),
        ("exit-code", "1.5", "an integer from 0 to 255"),
        ("evict-worker", "1", '"<worker index>@<seconds>"'),
        ("evict-worker", "x@2", '"<worker index>@<seconds>"'),
        ("unschedulable", "maybe", '"true", "launcher", "worker"'),
        ("sleep", "1", "a known annotation name"),
    ],
)
def test_bad_script_names_the_annotation_and_value(key: str, value: str, expected: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script({P + key: value})
    assert caught.value.annotation == P + key
    assert caught.value.value == value
    assert f"{P}{key}={value!r}" in str(caught.value)
    assert expected in str(caught.value)


def test_every_script_annotation_is_documented() -> None:
    text = (Path(__file__).parents[3] / "docs" / "emulator.md").read_text(encoding="utf-8")
    for annotation in ScriptAnnotation:
        assert f"`{annotation.value}`" in text, annotation


def test_pending_seconds_add_worker_duration_for_workers_only() -> None:
    script = PodScript(start_delay=2, worker_duration=3)
    assert script.pending_seconds(Role.WORKER) == 5
    assert script.pending_seconds(Role.LAUNCHER) == 2


def test_manual_clock_moves_only_forward() -> None:
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    clock = ManualClock(start)
    assert clock.now() == start
    assert clock.advance(1.5) == start + timedelta(seconds=1.5)
    clock.set(start + timedelta(seconds=3))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(start)
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2030, 1, 1))
    assert clock.wall_seconds(10) is None


def test_real_clock_speed() -> None:
    clock = RealClock(speed=50)
    assert clock.wall_seconds(10) == pytest.approx(0.2)
    before = clock.now()
    assert clock.now() >= before
    with pytest.raises(ValueError, match="speed must be > 0"):
        RealClock(speed=0)


@pytest.mark.parametrize(
    ("option", "kind", "speed"),
    [
        (None, RealClock, 1.0),
        ("real", RealClock, 1.0),
        (20, RealClock, 20.0),
        ("manual", ManualClock, None),
    ],
)
def test_clock_options(option: object, kind: type, speed: float | None) -> None:
    clock = make_clock(option)  # type: ignore[arg-type]
    assert isinstance(clock, kind)
    assert isinstance(clock, Clock)
    if speed is not None:
        assert clock.speed == speed  # type: ignore[attr-defined]


def test_clock_option_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="clock must be"):
        make_clock("fast")


def test_operator_defaults_are_applied_to_a_copy() -> None:
    job = {
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {
            "mpiReplicaSpecs": {
                "Launcher": {"template": {"spec": {"containers": [{"name": "l"}]}}},
                "Worker": {"replicas": 2, "template": {"spec": {"containers": [{"name": "w"}]}}},
            }
        },
    }
    defaulted = default_mpi_job(job)
    assert "runPolicy" not in job["spec"]
    spec = defaulted["spec"]
    assert spec["runPolicy"] == {"cleanPodPolicy": "None"}
    assert (spec["slotsPerWorker"], spec["sshAuthMountPath"]) == (1, "/root/.ssh")
    assert (spec["mpiImplementation"], spec["launcherCreationPolicy"]) == ("OpenMPI", "AtStartup")
    launcher, worker = spec["mpiReplicaSpecs"]["Launcher"], spec["mpiReplicaSpecs"]["Worker"]
    assert (launcher["replicas"], launcher["restartPolicy"]) == (1, "OnFailure")
    assert worker["restartPolicy"] == "Never"
    assert validate_mpi_job(defaulted) == []
