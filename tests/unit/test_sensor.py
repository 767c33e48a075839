"""MPIJobSensor without a cluster: target states and argument checks."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import InvalidArgumentError, JobState
from airflow_provider_mpi.sensors.mpi_job import MPIJobSensor


@pytest.mark.parametrize(
    ("targets", "failed_is_target", "expected"),
    [
        ((JobState.DONE,), False, {JobState.DONE}),
        (("Running", "done"), False, {JobState.RUNNING, JobState.DONE}),
        ((JobState.DONE,), True, {JobState.DONE, JobState.FAILED}),
        ((8,), False, {JobState.DONE}),
    ],
)
def test_target_states(targets: Any, failed_is_target: bool, expected: set[JobState]) -> None:
    sensor = MPIJobSensor(
        task_id="s", job_id="default/x", target_states=targets, failed_is_target=failed_is_target
    )
    assert sensor._targets == expected


@pytest.mark.parametrize("targets", [(), ("Finished",), ("QueuedHeldish",)])
def test_bad_target_states_fail_at_parse_time(targets: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        MPIJobSensor(task_id="s", job_id="default/x", target_states=targets)


def test_job_id_is_templated() -> None:
    assert "job_id" in MPIJobSensor.template_fields
