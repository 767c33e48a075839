"""MPIJobTrigger without a cluster: serialization, payloads, argument checks."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
import importlib
import json

import pytest
from airflow.triggers.base import BaseTrigger

from airflow_provider_mpi.drmaa2 import InvalidArgumentError, JobInfo, JobState
from airflow_provider_mpi.triggers._event import array_outcome, job_outcome
from airflow_provider_mpi.triggers.mpi_job import (
    MPIJobTrigger,
    MPIJobTriggerEvent,
    MPIJobTriggerStatus,
)

TRIGGERS = [
    MPIJobTrigger("default/pi"),
    MPIJobTrigger(
        "hpc/pi",
        target_states=[JobState.RUNNING, "Done"],
        failed_is_target=True,
        deadline=1_900_000_000.5,
        terminate_on_kill=True,
        reattach_on_retry=True,
        conn_id="my_k8s",
        namespace="hpc",
        config_file="/etc/kube/config",
        cluster_context="prod",
        in_cluster=False,
    ),
    MPIJobTrigger(
        array_id="default/sweep", conn_id=None, kube_config={"apiVersion": "v1", "clusters": []}
    ),
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=["minimal", "full", "array"])
def test_serialize_mirrors_init(trigger: MPIJobTrigger) -> None:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert cls is MPIJobTrigger
    rebuilt = cls(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert isinstance(rebuilt, BaseTrigger)


def test_serialized_kwargs_are_json_values() -> None:
    _, kwargs = TRIGGERS[1].serialize()
    assert kwargs["target_states"] == ["Running", "Done"]
    assert kwargs["deadline"] == 1_900_000_000.5


def test_subclass_serializes_its_own_classpath() -> None:
    class Mine(MPIJobTrigger):
        pass

    classpath, _ = Mine("default/x").serialize()
    assert classpath.endswith("test_subclass_serializes_its_own_classpath.<locals>.Mine")


def test_repr_masks_a_passed_kube_config() -> None:
    text = repr(TRIGGERS[2])
    assert "clusters" not in text
    assert "***" in text


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "job_id"),
        ({"job_id": "a", "array_id": "b"}, "job_id"),
        ({"job_id": "a", "target_states": []}, "target_states"),
        ({"job_id": "a", "target_states": ["Finished"]}, "state"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        MPIJobTrigger(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


EVENTS = [
    MPIJobTriggerEvent(
        MPIJobTriggerStatus.SUCCESS,
        "default/a",
        JobState.DONE,
        "ok",
        JobInfo(id="default/a", state=JobState.DONE, exit_status=0, sub_state="succeeded"),
    ),
    MPIJobTriggerEvent(MPIJobTriggerStatus.FAILED, "default/a", JobState.FAILED, "exit 3"),
    MPIJobTriggerEvent(MPIJobTriggerStatus.TIMEOUT, "default/a", JobState.RUNNING, "late"),
    MPIJobTriggerEvent(MPIJobTriggerStatus.ERROR, "default/a", None, "gone"),
    MPIJobTriggerEvent(
        MPIJobTriggerStatus.FAILED,
        "default/arr",
        task_states={"default/arr-1": JobState.DONE, "default/arr-2": JobState.FAILED},
    ),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.status.value)
def test_event_payload_round_trip(event: MPIJobTriggerEvent) -> None:
    payload = json.loads(json.dumps(event.to_dict()))  # as the triggerer stores it
    assert payload["status"] in {"success", "failed", "timeout", "error"}
    assert MPIJobTriggerEvent.from_dict(payload) == event


def test_the_payload_carries_the_job_info_with_go_keys() -> None:
    payload = EVENTS[0].to_dict()
    assert payload["job_info"]["exitStatus"] == 0
    assert payload["job_info"]["state"] == int(JobState.DONE)


INFO = JobInfo(id="default/a", state=JobState.FAILED, sub_state="terminated")


@pytest.mark.parametrize(
    ("state", "targets", "status"),
    [
        (JobState.DONE, {JobState.DONE}, MPIJobTriggerStatus.SUCCESS),
        (JobState.FAILED, {JobState.DONE}, MPIJobTriggerStatus.FAILED),
        (JobState.FAILED, {JobState.DONE, JobState.FAILED}, MPIJobTriggerStatus.SUCCESS),
        (JobState.RUNNING, {JobState.RUNNING}, MPIJobTriggerStatus.SUCCESS),
    ],
)
def test_job_outcome(state: JobState, targets: set[JobState], status: MPIJobTriggerStatus) -> None:
    event = job_outcome("default/a", state, INFO, frozenset(targets))
    assert (event.status, event.state, event.job_info) == (status, state, INFO)
    assert event.message == f"job default/a is {state} (terminated)"


def test_array_outcome_names_the_failed_tasks() -> None:
    states = {"ns/a-2": JobState.FAILED, "ns/a-1": JobState.DONE, "ns/a-3": JobState.FAILED}
    failed = array_outcome("ns/a", states)
    assert failed.status is MPIJobTriggerStatus.FAILED
    assert failed.message == "2 of 3 tasks failed: ns/a-2, ns/a-3"
    done = array_outcome("ns/a", {"ns/a-1": JobState.DONE})
    assert (done.status, done.message) == (MPIJobTriggerStatus.SUCCESS, "all 1 tasks done")


def test_payload_spells_states_by_name() -> None:
    payload = EVENTS[4].to_dict()
    assert payload["task_states"] == {"default/arr-1": "Done", "default/arr-2": "Failed"}
    assert EVENTS[0].to_dict()["state"] == "Done"


@pytest.mark.parametrize("payload", [{}, {"status": "weird", "job_id": "a"}, {"status": "success"}])
def test_foreign_payloads_are_rejected(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        MPIJobTriggerEvent.from_dict(payload)
