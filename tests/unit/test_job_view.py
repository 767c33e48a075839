"""The pure parts of the job page's data: conditions, pods and rows from Kubernetes objects."""

from __future__ import annotations

from airflow_provider_mpi.mpioperator import names as keys
from airflow_provider_mpi.mpioperator.tracker.job_view import (
    describe_conditions,
    describe_job,
    describe_pods,
    describe_row,
)
from airflow_provider_mpi.mpioperator.tracker.queries import LABEL_JOB_ROLE


def _pod(name: str, role: str, phase: str, node: str = "", **state: object) -> dict[str, object]:
    return {
        "metadata": {"name": name, "labels": {LABEL_JOB_ROLE: role}},
        "spec": {"nodeName": node} if node else {},
        "status": {
            "phase": phase,
            "containerStatuses": [{"restartCount": 1, "state": state}] if state else [],
        },
    }


MPIJOB = {
    "metadata": {
        "name": "pi",
        "namespace": "hpc",
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "labels": {keys.LABEL_DAG_ID: "d", keys.LABEL_RUN_ID: "manual__x-0123456789"},
        "annotations": {keys.ANNOTATION_RUN_ID: "manual__x+00:00"},
    },
    "status": {
        "conditions": [
            {"type": "Running", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"},
            {"type": "Created", "status": "True", "lastTransitionTime": "2026-01-01T00:00:01Z"},
        ]
    },
}


def test_conditions_are_a_timeline_oldest_first() -> None:
    assert [c["type"] for c in describe_conditions(MPIJOB)] == ["Created", "Running"]
    assert describe_conditions({}) == []


def test_pods_launcher_first_with_phase_node_and_container_state() -> None:
    pods = describe_pods(
        [
            _pod("pi-worker-1", "worker", "Pending"),
            _pod("pi-worker-0", "worker", "Running", "node-2", running={}),
            _pod(
                "pi-launcher-x",
                "launcher",
                "Failed",
                "node-1",
                terminated={"reason": "Error", "exitCode": 3},
            ),
        ]
    )
    assert [p["name"] for p in pods] == ["pi-launcher-x", "pi-worker-0", "pi-worker-1"]
    assert pods[0]["container"] == "terminated: Error (exit 3)"
    assert pods[1] == {
        "name": "pi-worker-0",
        "role": "worker",
        "phase": "Running",
        "node": "node-2",
        "container": "running",
        "restarts": 1,
    }
    assert pods[2]["node"] == ""
    assert pods[2]["container"] == ""


def test_only_warnings_about_the_jobs_objects_are_kept() -> None:
    events = [
        {
            "type": "Warning",
            "reason": "FailedScheduling",
            "message": "0/4 nodes",
            "involvedObject": {"kind": "Pod", "name": "pi-worker-1"},
        },
        {
            "type": "Warning",
            "reason": "BackOff",
            "message": "other job",
            "involvedObject": {"kind": "Pod", "name": "other-worker-0"},
        },
        {
            "type": "Normal",
            "reason": "Scheduled",
            "message": "fine",
            "involvedObject": {"kind": "Pod", "name": "pi-worker-1"},
        },
    ]
    view = describe_job(MPIJOB, [_pod("pi-worker-1", "worker", "Pending")], events, ["a"])
    assert [(e["reason"], e["object"]) for e in view["events"]] == [
        ("FailedScheduling", "Pod/pi-worker-1")
    ]
    assert view["state"] == "Running"
    assert view["terminal"] is False
    assert view["log"] == ["a"]


def test_rows_carry_the_unsanitised_run_id() -> None:
    row = describe_row(MPIJOB)
    assert row["id"] == "hpc/pi"
    assert row["labels"] == {"dag_id": "d", "run_id": "manual__x+00:00"}
    assert row["state"] == "Running"
