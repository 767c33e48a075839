"""MPIJob status -> DRMAA2 state, substate and JobInfo, with the v0.8.2 operator's conditions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mpi.drmaa2 import JobState, TaskRange
from airflow_provider_mpi.mpioperator import names as labels
from airflow_provider_mpi.mpioperator.status import (
    SubState,
    format_substate,
    job_info_from_mpi_job,
    job_state_from_condition,
    job_state_from_mpi_job,
    parse_substate,
    signal_name,
)

T0 = "2026-03-01T10:00:00Z"
T1 = "2026-03-01T10:00:05Z"
T2 = "2026-03-01T10:01:05.250Z"


def cond(kind: str, status: str = "True", reason: str = "", message: str = "") -> dict[str, str]:
    """A condition as the operator writes it (reasons as in mpi_job_controller_status.go)."""
    reasons = {
        "Created": "MPIJobCreated",
        "Running": "MPIJobRunning",
        "Succeeded": "MPIJobSucceeded",
        "Failed": "MPIJobFailed",
        "Suspended": "MPIJobSuspended",
    }
    return {
        "type": kind,
        "status": status,
        "reason": reason or reasons.get(kind, kind),
        "message": message or f"MPIJob default/pi is {kind.lower()}.",
        "lastTransitionTime": T1,
        "lastUpdateTime": T1,
    }


def mpijob(
    *conditions: dict[str, str],
    suspend: bool | None = None,
    annotations: dict[str, str] | None = None,
    launcher: dict[str, int] | None = None,
    **status: Any,
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {
            "name": "pi",
            "namespace": "default",
            "uid": "uid-1",
            "creationTimestamp": T0,
            "annotations": annotations or {},
        },
        "spec": {
            "slotsPerWorker": 2,
            "runPolicy": {"cleanPodPolicy": "Running"},
            "mpiReplicaSpecs": {"Launcher": {"replicas": 1}, "Worker": {"replicas": 3}},
        },
    }
    if suspend is not None:
        job["spec"]["runPolicy"]["suspend"] = suspend
    if conditions or status or launcher:
        job["status"] = dict(status)
        if conditions:
            job["status"]["conditions"] = list(conditions)
        if launcher:
            job["status"]["replicaStatuses"] = {"Launcher": launcher, "Worker": {"active": 3}}
    return job


def validation_event(uid: str = "uid-1") -> dict[str, Any]:
    return {
        "type": "Warning",
        "reason": "ValidationError",
        "message": "Found validation errors: metadata.name: Invalid value",
        "involvedObject": {"kind": "MPIJob", "name": "pi", "namespace": "default", "uid": uid},
    }


CONDITIONS = [
    (cond("Created"), JobState.QUEUED),
    (cond("Running"), JobState.RUNNING),
    (cond("Restarting"), JobState.REQUEUED),
    (cond("Suspended"), JobState.SUSPENDED),
    (cond("Succeeded"), JobState.DONE),
    (cond("Failed"), JobState.FAILED),
    (cond("Running", "False", "MPIJobSuspended"), JobState.UNDETERMINED),
    (cond("Failed", "False"), JobState.UNDETERMINED),
    (cond("Succeeded", "Unknown"), JobState.UNDETERMINED),
    (cond("SomethingNew"), JobState.UNDETERMINED),
    ({}, JobState.UNDETERMINED),
]


@pytest.mark.parametrize(
    ("condition", "state"),
    CONDITIONS,
    ids=[f"{c.get('type')}-{c.get('status')}" for c, _ in CONDITIONS],
)
def test_job_state_from_condition(condition: dict[str, str], state: JobState) -> None:
    assert job_state_from_condition(condition) is state


RUNNING = cond("Running")
SUSPENDED_RUNNING = cond("Running", "False", "MPIJobSuspended")

# (id, mpijob, events, state, substate)
STATES: list[tuple[str, dict[str, Any], list[Any] | None, JobState, str]] = [
    ("no-status", mpijob(), None, JobState.QUEUED, "created"),
    ("created", mpijob(cond("Created"), startTime=T1), None, JobState.QUEUED, "created"),
    ("validation-error", mpijob(), [validation_event()], JobState.FAILED, "validation-error"),
    (
        "validation-error-other-job",
        mpijob(),
        [validation_event("uid-old")],
        JobState.QUEUED,
        "created",
    ),
    (
        "validation-error-needs-warning",
        mpijob(),
        [{**validation_event(), "type": "Normal"}],
        JobState.QUEUED,
        "created",
    ),
    ("running", mpijob(cond("Created"), RUNNING, startTime=T1), None, JobState.RUNNING, "running"),
    (
        "succeeded",
        mpijob(
            cond("Created"),
            cond("Running", "False"),
            cond("Succeeded"),
            startTime=T1,
            completionTime=T2,
        ),
        None,
        JobState.DONE,
        "succeeded",
    ),
    (
        "failed-backoff",
        mpijob(
            cond("Created"),
            cond("Running", "False"),
            cond("Failed", reason="BackoffLimitExceeded/Error"),
        ),
        None,
        JobState.FAILED,
        "failed:BackoffLimitExceeded/Error",
    ),
    (
        # A launcher whose container exited non-zero: the pod has no reason of
        # its own, and the operator still appends "/" to the Job's reason.
        "failed-backoff-without-pod-reason",
        mpijob(
            cond("Created"),
            cond("Running", "False"),
            cond("Failed", reason="BackoffLimitExceeded/"),
        ),
        None,
        JobState.FAILED,
        "failed:BackoffLimitExceeded",
    ),
    (
        "failed-deadline",
        mpijob(cond("Created"), cond("Failed", reason="DeadlineExceeded")),
        None,
        JobState.FAILED,
        "failed:DeadlineExceeded",
    ),
    (
        "failed-evicted",
        mpijob(cond("Created"), RUNNING, cond("Failed", reason="MPIJobEvicted")),
        None,
        JobState.FAILED,
        "failed:MPIJobEvicted",
    ),
    (
        "failed-no-reason",
        mpijob(cond("Failed", reason="")),
        None,
        JobState.FAILED,
        "failed:MPIJobFailed",
    ),
    (
        "held-at-submit",
        mpijob(
            cond("Created"),
            cond("Suspended"),
            SUSPENDED_RUNNING,
            suspend=True,
            annotations={labels.ANNOTATION_HELD: "true"},
        ),
        None,
        JobState.QUEUED_HELD,
        "held",
    ),
    (
        "suspended-never-started",
        mpijob(cond("Created"), cond("Suspended"), suspend=True),
        None,
        JobState.QUEUED_HELD,
        "held",
    ),
    (
        "suspend-requested-before-operator",
        mpijob(suspend=True),
        None,
        JobState.QUEUED_HELD,
        "held",
    ),
    (
        "suspended-after-start",
        mpijob(cond("Created"), cond("Suspended"), SUSPENDED_RUNNING, suspend=True, startTime=T1),
        None,
        JobState.SUSPENDED,
        "suspended",
    ),
    (
        "suspend-requested-while-running",
        mpijob(cond("Created"), RUNNING, suspend=True, startTime=T1),
        None,
        JobState.SUSPENDED,
        "suspended",
    ),
    (
        "held-after-start-by-hold",
        mpijob(
            cond("Created"),
            cond("Suspended"),
            suspend=True,
            startTime=T1,
            annotations={labels.ANNOTATION_HELD: "true"},
        ),
        None,
        JobState.QUEUED_HELD,
        "held",
    ),
    (
        "resumed-not-running",
        mpijob(
            cond("Created"),
            cond("Suspended", "False", "MPIJobResumed"),
            SUSPENDED_RUNNING,
            suspend=False,
            startTime=T2,
        ),
        None,
        JobState.QUEUED,
        "resumed",
    ),
    (
        "resume-requested-before-operator",
        mpijob(cond("Created"), cond("Suspended"), SUSPENDED_RUNNING, suspend=False, startTime=T1),
        None,
        JobState.QUEUED,
        "resumed",
    ),
    (
        "resumed-running",
        mpijob(
            cond("Created"),
            cond("Suspended", "False", "MPIJobResumed"),
            RUNNING,
            suspend=False,
            startTime=T2,
        ),
        None,
        JobState.RUNNING,
        "running",
    ),
    (
        "terminated",
        mpijob(
            cond("Created"),
            cond("Suspended"),
            SUSPENDED_RUNNING,
            suspend=True,
            startTime=T1,
            annotations={labels.ANNOTATION_TERMINATED: "true"},
        ),
        None,
        JobState.FAILED,
        "terminated",
    ),
    (
        "terminated-while-held",
        mpijob(
            cond("Created"),
            cond("Suspended"),
            suspend=True,
            annotations={labels.ANNOTATION_TERMINATED: "true", labels.ANNOTATION_HELD: "true"},
        ),
        None,
        JobState.FAILED,
        "terminated",
    ),
    (
        "terminated-after-success-stays-done",
        mpijob(cond("Succeeded"), annotations={labels.ANNOTATION_TERMINATED: "true"}),
        None,
        JobState.DONE,
        "succeeded",
    ),
    (
        "launcher-failed-retrying",
        mpijob(cond("Created"), RUNNING, startTime=T1, launcher={"failed": 1, "active": 0}),
        None,
        JobState.REQUEUED,
        "requeued:launcher-failed",
    ),
    (
        "launcher-failed-rerunning",
        mpijob(cond("Created"), RUNNING, startTime=T1, launcher={"failed": 1, "active": 1}),
        None,
        JobState.RUNNING,
        "running",
    ),
    (
        "launcher-failed-finally",
        mpijob(
            cond("Created"),
            cond("Failed", reason="BackoffLimitExceeded/Error"),
            launcher={"failed": 3},
        ),
        None,
        JobState.FAILED,
        "failed:BackoffLimitExceeded/Error",
    ),
    (
        "restarting",
        mpijob(cond("Created"), cond("Restarting", reason="PodEvicted")),
        None,
        JobState.REQUEUED,
        "requeued:PodEvicted",
    ),
    (
        "events-ignored-once-created",
        mpijob(cond("Created")),
        [validation_event()],
        JobState.QUEUED,
        "created",
    ),
]


@pytest.mark.parametrize(
    ("job", "events", "state", "substate"), [r[1:] for r in STATES], ids=[r[0] for r in STATES]
)
def test_job_state_from_mpi_job(
    job: dict[str, Any], events: list[Any] | None, state: JobState, substate: str
) -> None:
    assert job_state_from_mpi_job(job, events) == (state, substate)
    word, _ = parse_substate(substate)
    assert word is not None, "every substate is in the vocabulary"


def test_events_may_be_objects_with_attributes() -> None:
    class Event:
        type = "Warning"
        reason = "ValidationError"
        message = "bad"

    assert job_state_from_mpi_job(mpijob(), [Event()]) == (JobState.FAILED, "validation-error")


@pytest.mark.parametrize(
    ("substate", "reason", "text"),
    [
        (SubState.FAILED, "DeadlineExceeded", "failed:DeadlineExceeded"),
        (SubState.RUNNING, "", "running"),
        (SubState.REQUEUED, "launcher-failed", "requeued:launcher-failed"),
    ],
)
def test_substate_round_trip(substate: SubState, reason: str, text: str) -> None:
    assert format_substate(substate, reason) == text
    assert parse_substate(text) == (substate, reason)


def test_unknown_substates_parse_as_none() -> None:
    assert parse_substate("weird:x") == (None, "x")


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (0, ""),
        (1, ""),
        (2, ""),
        (128, ""),
        (129, "SIGHUP"),
        (130, "SIGINT"),
        (134, "SIGABRT"),
        (137, "SIGKILL"),
        (139, "SIGSEGV"),
        (143, "SIGTERM"),
        (255, ""),
    ],
)
def test_signal_names(code: int, name: str) -> None:
    assert signal_name(code) == name


# --------------------------------------------------------------------------- job info


def pod(
    name: str,
    role: str,
    node: str | None,
    *,
    exit_code: int | None = None,
    created: str = T1,
    reason: str = "",
) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": T1}}
    if exit_code is not None:
        state = {
            "terminated": {
                "exitCode": exit_code,
                "reason": reason or ("Completed" if exit_code == 0 else "Error"),
            }
        }
    return {
        "metadata": {
            "name": name,
            "namespace": "default",
            "creationTimestamp": created,
            "labels": {
                "training.kubeflow.org/job-name": "pi",
                "training.kubeflow.org/job-role": role,
            },
        },
        "spec": {"nodeName": node} if node else {},
        "status": {"containerStatuses": [{"name": role, "state": state}]},
    }


WORKERS = [
    pod(f"pi-worker-{i}", "worker", node) for i, node in enumerate(["node-b", "node-a", "node-b"])
]
OTHER = pod("other-worker-0", "worker", "node-z")
OTHER["metadata"]["labels"]["training.kubeflow.org/job-name"] = "other"


def finished(*conditions: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    job = mpijob(
        cond("Created"),
        cond("Running", "False"),
        *conditions,
        startTime=T1,
        completionTime=T2,
        **kwargs,
    )
    job["metadata"]["labels"] = {"kueue.x-k8s.io/queue-name": "team-q"}
    job["spec"]["mpiImplementation"] = "OpenMPI"
    job["spec"]["mpiReplicaSpecs"]["Launcher"]["template"] = {
        "spec": {"containers": [{"name": "launcher", "securityContext": {"runAsUser": 1000}}]}
    }
    job["status"]["replicaStatuses"] = {
        "Launcher": {"succeeded": 1},
        "Worker": {"active": 0, "succeeded": 3},
    }
    return job


def test_job_info_of_a_succeeded_job() -> None:
    launcher = pod("pi-launcher-abcde", "launcher", "node-c", exit_code=0)
    info = job_info_from_mpi_job(
        finished(cond("Succeeded", message="MPIJob default/pi successfully completed.")),
        [*WORKERS, launcher, OTHER],
    )
    assert info.id == "default/pi"
    assert info.state is JobState.DONE
    assert info.sub_state == "succeeded"
    assert info.exit_status == 0
    assert info.terminating_signal == ""
    assert info.allocated_machines == ["node-a", "node-b", "node-c"]
    assert info.slots == 6
    assert info.queue_name == "team-q"
    assert info.job_owner == "1000"
    assert info.annotation == "MPIJob default/pi successfully completed."
    assert info.submission_time == datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    assert info.dispatch_time == datetime(2026, 3, 1, 10, 0, 5, tzinfo=timezone.utc)
    assert info.finish_time == datetime(2026, 3, 1, 10, 1, 5, 250000, tzinfo=timezone.utc)
    assert info.wallclock_time == timedelta(minutes=1, microseconds=250000)
    assert info.extension_list == {
        "mpiImplementation": "OpenMPI",
        "slotsPerWorker": "2",
        "workers": "3",
        "launcherActive": "0",
        "launcherSucceeded": "1",
        "launcherFailed": "0",
        "workerActive": "0",
        "workerSucceeded": "3",
        "workerFailed": "0",
        "launcherPod": "pi-launcher-abcde",
        "launcherReason": "Completed",
        "uid": "uid-1",
    }
    assert info.to_dict()["state"] == int(JobState.DONE)


@pytest.mark.parametrize(
    ("exit_code", "reason", "signal"),
    [
        (1, "Error", ""),
        (137, "OOMKilled", "SIGKILL"),
        (143, "Error", "SIGTERM"),
        (139, "Error", "SIGSEGV"),
    ],
)
def test_job_info_of_a_failed_job_takes_the_newest_launcher_pod(
    exit_code: int, reason: str, signal: str
) -> None:
    first = pod("pi-launcher-aaaaa", "launcher", "node-c", exit_code=2, created=T0)
    last = pod(
        "pi-launcher-bbbbb", "launcher", "node-d", exit_code=exit_code, created=T1, reason=reason
    )
    info = job_info_from_mpi_job(
        finished(cond("Failed", reason="BackoffLimitExceeded/" + reason)), [last, first]
    )
    assert info.state is JobState.FAILED
    assert info.exit_status == exit_code
    assert info.terminating_signal == signal
    assert info.extension_list["launcherPod"] == "pi-launcher-bbbbb"
    assert info.extension_list["launcherReason"] == reason
    assert info.allocated_machines == ["node-c", "node-d"]


def test_job_info_of_a_running_job_has_no_end() -> None:
    job = mpijob(cond("Created"), RUNNING, startTime=T1, launcher={"active": 1})
    info = job_info_from_mpi_job(job, [*WORKERS, pod("pi-launcher-x", "launcher", "node-c")])
    assert info.state is JobState.RUNNING
    assert info.exit_status is None
    assert info.finish_time is None
    assert info.wallclock_time is None
    assert info.dispatch_time is not None
    assert info.allocated_machines == ["node-a", "node-b", "node-c"]


def test_job_info_of_a_job_without_status() -> None:
    info = job_info_from_mpi_job(mpijob())
    assert (info.state, info.sub_state) == (JobState.QUEUED, "created")
    assert info.exit_status is None
    assert info.dispatch_time is None
    assert info.slots == 6
    assert info.allocated_machines == []


def test_job_info_of_a_terminated_job_finishes_when_suspended() -> None:
    job = mpijob(
        cond("Created"),
        cond("Suspended", message="MPIJob suspended"),
        SUSPENDED_RUNNING,
        suspend=True,
        startTime=T0,
        annotations={labels.ANNOTATION_TERMINATED: "true"},
    )
    info = job_info_from_mpi_job(job)
    assert (info.state, info.sub_state) == (JobState.FAILED, "terminated")
    assert info.finish_time == datetime(2026, 3, 1, 10, 0, 5, tzinfo=timezone.utc)
    assert info.wallclock_time == timedelta(seconds=5)


def test_job_info_of_a_validation_error_carries_the_event_message() -> None:
    info = job_info_from_mpi_job(mpijob(), events=[validation_event()])
    assert (info.state, info.sub_state) == (JobState.FAILED, "validation-error")
    assert info.annotation.startswith("Found validation errors")


def test_job_info_counts_the_launcher_slots_when_it_runs_ranks() -> None:
    job = mpijob()
    job["spec"]["runLauncherAsWorker"] = True
    assert job_info_from_mpi_job(job).slots == 8


def test_job_info_queue_from_the_scheduling_policy() -> None:
    job = mpijob()
    job["spec"]["runPolicy"]["schedulingPolicy"] = {"queue": "volcano-q"}
    assert job_info_from_mpi_job(job).queue_name == "volcano-q"


def test_array_job_ids_are_namespaced() -> None:
    assert [
        job_info_from_mpi_job({"metadata": {"name": f"arr-{i}", "namespace": "ns"}}).id
        for i in TaskRange(1, 2)
    ] == ["ns/arr-1", "ns/arr-2"]


_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=8),
        st.sampled_from(
            ["True", "False", T0, "Running", "Succeeded", "Failed", "Suspended", "Launcher"]
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "status",
                    "conditions",
                    "type",
                    "reason",
                    "message",
                    "startTime",
                    "completionTime",
                    "replicaStatuses",
                    "Launcher",
                    "failed",
                    "active",
                    "metadata",
                    "spec",
                    "runPolicy",
                    "suspend",
                    "annotations",
                    "name",
                    "x",
                ]
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    job=st.dictionaries(st.sampled_from(["metadata", "spec", "status"]), _json, max_size=3),
    pods=st.lists(_json, max_size=2),
)
def test_status_mapping_never_fails_on_odd_objects(job: dict[str, Any], pods: list[Any]) -> None:
    state, substate = job_state_from_mpi_job(job, pods)
    assert isinstance(state, JobState)
    assert parse_substate(substate)[0] is not None
    info = job_info_from_mpi_job(job, pods, pods)
    assert info.state is state


def test_pods_of_other_jobs_are_ignored() -> None:
    lookalike = pod("pi-launcher2-launcher-xyz", "launcher", "node-q", exit_code=9)
    lookalike["metadata"]["labels"]["training.kubeflow.org/job-name"] = "pi-launcher2"
    unlabelled = pod("pi-worker-7", "worker", "node-u")
    del unlabelled["metadata"]["labels"]
    info = job_info_from_mpi_job(finished(cond("Succeeded")), [lookalike, unlabelled])
    assert info.allocated_machines == ["node-u"]
    assert info.exit_status == 0
    assert "launcherPod" not in info.extension_list


@pytest.mark.parametrize(
    ("message", "annotation"),
    [
        (
            "Job has reached the specified backoff limit: ",
            "Job has reached the specified backoff limit",
        ),
        (
            "Job has reached the specified backoff limit: Pod was evicted",
            "Job has reached the specified backoff limit: Pod was evicted",
        ),
    ],
)
def test_annotation_drops_the_operators_empty_pod_message(message: str, annotation: str) -> None:
    obj = mpijob(cond("Created"), cond("Failed", reason="BackoffLimitExceeded/", message=message))
    assert job_info_from_mpi_job(obj).annotation == annotation
