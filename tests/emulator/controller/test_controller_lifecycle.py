"""Suspension, resumption, cleanPodPolicy and the operator's own validation."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mpi.testing.store import NotFound
from tests.emulator.controller.test_controller import Emulator, emulator, mpijob

__all__ = ["emulator"]  # the fixture, re-exported for pytest


def set_suspend(emulator: Emulator, value: bool, name: str = "pi") -> None:
    job = emulator.mpijob(name)
    job["spec"].setdefault("runPolicy", {})["suspend"] = value
    emulator.store.update("mpijobs", job)


def test_suspended_at_creation_runs_nothing_until_resumed(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob(script={"duration": "3"}, run_policy={"suspend": True}))
    emulator.advance(60)
    assert emulator.conditions() == [
        ("Created", "True", "MPIJobCreated"),
        ("Suspended", "True", "MPIJobSuspended"),
        ("Running", "False", "MPIJobSuspended"),
    ]
    assert emulator.condition("Suspended")["message"] == "MPIJob suspended"
    assert emulator.condition("Running")["message"] == "MPIJob default/pi is suspended."
    status = emulator.mpijob()["status"]
    assert "startTime" not in status
    assert emulator.pods() == {}
    launcher_job = emulator.store.get("jobs", "default", "pi-launcher")
    assert launcher_job["spec"]["suspend"] is True
    suspended = next(c for c in launcher_job["status"]["conditions"] if c["type"] == "Suspended")
    assert (suspended["status"], suspended["reason"]) == ("True", "JobSuspended")

    set_suspend(emulator, False)
    emulator.advance(0)
    assert emulator.conditions() == [
        ("Created", "True", "MPIJobCreated"),
        ("Suspended", "False", "MPIJobResumed"),
        ("Running", "True", "MPIJobRunning"),
    ]
    assert emulator.mpijob()["status"]["startTime"] == emulator.at(60)
    emulator.advance(3)
    assert emulator.conditions()[-1] == ("Succeeded", "True", "MPIJobSucceeded")
    assert ("Normal", "MPIJobSuspended", "MPIJob suspended") in emulator.events()
    assert ("Normal", "MPIJobResumed", "MPIJob resumed") in emulator.events()


def test_suspend_while_running_deletes_pods_and_resume_restarts_the_clock(
    emulator: Emulator,
) -> None:
    emulator.store.create("mpijobs", mpijob(script={"duration": "10"}))
    emulator.advance(4)
    assert len(emulator.pods()) == 3
    set_suspend(emulator, True)
    emulator.advance(0)
    assert emulator.pods() == {}
    # Suspended is set first, then Running=False moves to the end.
    assert emulator.conditions() == [
        ("Created", "True", "MPIJobCreated"),
        ("Suspended", "True", "MPIJobSuspended"),
        ("Running", "False", "MPIJobSuspended"),
    ]
    status = emulator.mpijob()["status"]
    assert status["replicaStatuses"] == {"Launcher": {}, "Worker": {}}
    assert emulator.store.get("jobs", "default", "pi-launcher")["spec"]["suspend"] is True
    job_events = [reason for _, reason, _ in emulator.events("Job")]
    assert "Suspended" in job_events
    assert "SuccessfulDelete" in job_events

    emulator.advance(20)
    set_suspend(emulator, False)
    emulator.advance(0)
    status = emulator.mpijob()["status"]
    assert status["startTime"] == emulator.at(24)
    assert emulator.conditions()[-2:] == [
        ("Suspended", "False", "MPIJobResumed"),
        ("Running", "True", "MPIJobRunning"),
    ]
    assert len(emulator.pods()) == 3
    launcher_job = emulator.store.get("jobs", "default", "pi-launcher")
    assert launcher_job["status"]["startTime"] == emulator.at(24)
    emulator.advance(10)  # the launcher starts over: 10 s from the resume
    assert emulator.conditions()[-1] == ("Succeeded", "True", "MPIJobSucceeded")
    assert emulator.mpijob()["status"]["completionTime"] == emulator.at(34)


@pytest.mark.parametrize(
    ("policy", "left"),
    [
        (None, {"pi-worker-0": "Running", "pi-worker-1": "Failed"}),
        ("None", {"pi-worker-0": "Running", "pi-worker-1": "Failed"}),
        ("Running", {"pi-worker-1": "Failed"}),
        ("All", {}),
    ],
)
def test_clean_pod_policy_after_the_job_finished(
    emulator: Emulator, policy: str | None, left: dict[str, str]
) -> None:
    run_policy: dict[str, Any] = {"backoffLimit": 0}
    if policy is not None:
        run_policy["cleanPodPolicy"] = policy
    emulator.store.create(
        "mpijobs", mpijob(script={"duration": "10", "evict-worker": "1@2"}, run_policy=run_policy)
    )
    emulator.advance(30)
    assert emulator.conditions()[-1][:2] == ("Failed", "True")
    workers = {n: p for n, p in emulator.phases().items() if "-worker-" in n}
    assert workers == left


def test_clean_pod_policy_running_after_success(emulator: Emulator) -> None:
    emulator.store.create(
        "mpijobs", mpijob(script={"duration": "1"}, run_policy={"cleanPodPolicy": "Running"})
    )
    emulator.advance(1)
    assert emulator.conditions()[-1] == ("Succeeded", "True", "MPIJobSucceeded")
    assert [n for n in emulator.pods() if "-worker-" in n] == []
    assert emulator.mpijob()["status"]["replicaStatuses"]["Worker"] == {}
    # The launcher pod belongs to the Job, not to the cleanup.
    assert [p["status"]["phase"] for p in emulator.launcher_pods()] == ["Succeeded"]


LONG = "a" * 55


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            "pi",
            lambda spec: spec["mpiReplicaSpecs"]["Launcher"].update(replicas=2),
            "Found validation errors: spec.mpiReplicaSpecs[Launcher].replicas: Invalid value: 2: "
            "must be 1",
        ),
        (
            "pi",
            lambda spec: spec["mpiReplicaSpecs"]["Worker"].update(replicas=0),
            "Found validation errors: spec.mpiReplicaSpecs[Worker].replicas: Invalid value: 0: "
            "must be greater than or equal to 1",
        ),
        (
            "pi",
            lambda spec: spec["mpiReplicaSpecs"]["Worker"].update(restartPolicy="Always"),
            "Found validation errors: spec.mpiReplicaSpecs[Worker].restartPolicy: Unsupported "
            'value: "Always": supported values: "Never", "OnFailure"',
        ),
        (
            "pi",
            lambda spec: spec["mpiReplicaSpecs"].pop("Launcher"),
            "Found validation errors: spec.mpiReplicaSpecs[Launcher]: Required value: must have "
            "Launcher replica spec",
        ),
        (
            LONG,
            lambda spec: spec["mpiReplicaSpecs"]["Worker"].update(replicas=10),
            f'Found validation errors: metadata.name: Invalid value: "{LONG}": will not able to '
            f'create pod and service with invalid DNS label "{LONG}-worker-9": must be no more '
            "than 63 characters",
        ),
        (
            "pi",
            lambda spec: (
                spec["mpiReplicaSpecs"]["Launcher"].update(replicas=3),
                spec["mpiReplicaSpecs"]["Worker"].update(restartPolicy="Always"),
            ),
            "Found validation errors: [spec.mpiReplicaSpecs[Launcher].replicas: Invalid value: 3: "
            "must be 1, spec.mpiReplicaSpecs[Worker].restartPolicy: Unsupported value: "
            '"Always": supported values: "Never", "OnFailure"]',
        ),
    ],
)
def test_validation_errors_are_only_a_warning_event(
    emulator: Emulator, name: str, change: Any, message: str
) -> None:
    job = mpijob(name)
    change(job["spec"])
    emulator.store.create("mpijobs", job)
    emulator.advance(5)
    assert emulator.events() == [("Warning", "ValidationError", message)]
    assert "status" not in emulator.mpijob(name) or not emulator.mpijob(name)["status"]
    assert emulator.pods() == {}
    with pytest.raises(NotFound):
        emulator.store.get("services", "default", name)


def test_a_name_starting_with_a_digit_is_not_a_dns_1035_label(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob("1pi"))
    emulator.advance(0)
    ((kind, reason, message),) = emulator.events()
    assert (kind, reason) == ("Warning", "ValidationError")
    assert 'invalid DNS label "1pi-worker-1": a DNS-1035 label must consist' in message


def test_restart_policy_in_the_pod_template_is_warned_about(emulator: Emulator) -> None:
    job = mpijob()
    job["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["restartPolicy"] = "Always"
    emulator.store.create("mpijobs", job)
    emulator.advance(0)
    message = "Restart policy in pod template overridden by restart policy in replica spec"
    assert ("Warning", "SetPodTemplateRestartPolicy", message) in emulator.events()
    (pod,) = emulator.launcher_pods()
    assert pod["spec"]["restartPolicy"] == "OnFailure"


def test_a_child_owned_by_someone_else_is_reported(emulator: Emulator) -> None:
    emulator.store.create("services", {"metadata": {"name": "pi", "namespace": "default"}})
    emulator.store.create("mpijobs", mpijob())
    emulator.advance(0)
    message = 'Resource "pi" of Kind "Service" already exists and is not managed by MPIJob'
    assert ("Warning", "ErrResourceExists", message) in emulator.events()
    assert emulator.pods() == {}


def test_scaling_workers_down_deletes_the_extra_pods(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob(workers=3, script={"duration": "100"}))
    emulator.advance(1)
    job = emulator.mpijob()
    job["spec"]["mpiReplicaSpecs"]["Worker"]["replicas"] = 1
    emulator.store.update("mpijobs", job)
    emulator.advance(0)
    assert sorted(n for n in emulator.pods() if "-worker-" in n) == ["pi-worker-0"]
    hostfile = emulator.store.get("configmaps", "default", "pi-config")["data"]["hostfile"]
    assert hostfile == "pi-worker-0.pi.default.svc slots=1\n"


def test_launcher_only_job_runs_without_workers(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob(workers=None, script={"duration": "2"}))
    emulator.advance(0)
    assert emulator.conditions()[-1] == ("Running", "True", "MPIJobRunning")
    emulator.advance(2)
    assert emulator.conditions()[-1] == ("Succeeded", "True", "MPIJobSucceeded")
    assert emulator.store.get("configmaps", "default", "pi-config")["data"]["hostfile"] == ""
