from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError, JobNotFoundError
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.names import ANNOTATION_JOB_TEMPLATE
from airflow_provider_mpi.mpioperator.tracker.queries import (
    container_started,
    event_selector,
    job_categories,
    job_event_objects,
    job_event_selectors,
    job_template_from_mpi_job,
    launcher_container,
    launcher_selector,
    mpijob_event_selector,
    newest,
    oldest_first,
    selector_from_labels,
)
from airflow_provider_mpi.mpioperator.tracker.submission import ANNOTATION_SUBMITTED_AT


def meta(name: str, created: str, submitted: str | None = None) -> dict[str, Any]:
    annotations = {ANNOTATION_SUBMITTED_AT: submitted} if submitted else {}
    return {"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations}}


def test_oldest_first_and_newest() -> None:
    objects = [
        meta("c", "2026-01-01T10:00:01Z"),
        meta("b", "2026-01-01T10:00:00Z", "2026-01-01T10:00:00.900000+00:00"),
        meta("a", "2026-01-01T10:00:00Z", "2026-01-01T10:00:00.100000+00:00"),
    ]
    assert [o["metadata"]["name"] for o in oldest_first(objects)] == ["a", "b", "c"]
    assert newest(objects)["metadata"]["name"] == "c"  # type: ignore[index]
    assert newest([]) is None


@pytest.mark.parametrize(
    ("labels", "selector"),
    [
        ({"team": "a"}, "team=a"),
        ({"b": "2", "a": "1"}, "a=1,b=2"),
        ({"airflow-provider-mpi/dag-id": "pi"}, "airflow-provider-mpi/dag-id=pi"),
        ({"k": ""}, "k="),
    ],
)
def test_selector_from_labels(labels: dict[str, str], selector: str) -> None:
    assert selector_from_labels(labels) == selector


@pytest.mark.parametrize("labels", [{}, {"bad key": "x"}, {"k": "bad value!"}, {"k": 1}, "k=v"])
def test_selector_from_labels_rejects(labels: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        selector_from_labels(labels)  # type: ignore[arg-type]
    assert info.value.field == "labels"


def test_launcher_pod_helpers() -> None:
    assert launcher_selector("pi") == (
        "training.kubeflow.org/job-name=pi,training.kubeflow.org/job-role=launcher"
    )
    pod = {"spec": {"containers": [{"name": "launcher"}, {"name": "sidecar"}]}}
    assert launcher_container(pod) == "launcher"
    assert launcher_container({}) is None


@pytest.mark.parametrize(
    ("status", "started"),
    [
        ({}, False),
        ({"containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]}, False),
        ({"containerStatuses": [{"state": {"running": {}}}]}, True),
        ({"containerStatuses": [{"state": {"terminated": {"exitCode": 0}}}]}, True),
        (
            {"containerStatuses": [{"state": {"waiting": {}}, "lastState": {"terminated": {}}}]},
            False,
        ),
        (
            {
                "containerStatuses": [
                    {"state": {"waiting": {}}, "lastState": {"terminated": {"exitCode": 1}}}
                ]
            },
            True,
        ),
    ],
)
def test_container_started(status: dict[str, Any], started: bool) -> None:
    assert container_started({"status": status}) is started


def test_job_event_objects() -> None:
    pods = [{"metadata": {"name": "pi-worker-0"}}, {"metadata": {"name": "pi-launcher-x"}}]
    assert job_event_objects("pi", pods) == {
        ("MPIJob", "pi"),
        ("Job", "pi-launcher"),
        ("Pod", "pi-worker-0"),
        ("Pod", "pi-launcher-x"),
    }


def test_job_template_round_trip() -> None:
    jt = JobTemplate(remote_command="python", args=["pi.py"], min_slots=2)
    obj = {"metadata": {"annotations": {ANNOTATION_JOB_TEMPLATE: jt.to_json()}}}
    assert job_template_from_mpi_job(obj, "ns/pi") == jt
    with pytest.raises(JobNotFoundError, match="not submitted with a DRMAA2 job template"):
        job_template_from_mpi_job({"metadata": {}}, "ns/pi")


def test_job_categories() -> None:
    def job(image: str) -> dict[str, Any]:
        containers = [{"image": image}]
        return {
            "spec": {
                "mpiReplicaSpecs": {"Launcher": {"template": {"spec": {"containers": containers}}}}
            }
        }

    assert job_categories([job("b"), job("a"), job("b"), {}]) == ["a", "b"]


@pytest.mark.parametrize(
    ("kind", "name", "uid", "selector"),
    [
        ("Pod", "pi-worker-0", None, "involvedObject.kind=Pod,involvedObject.name=pi-worker-0"),
        ("Job", "pi-launcher", "", "involvedObject.kind=Job,involvedObject.name=pi-launcher"),
        (
            "MPIJob",
            "pi",
            "u-1",
            "involvedObject.kind=MPIJob,involvedObject.name=pi,involvedObject.uid=u-1",
        ),
    ],
)
def test_event_selector(kind: str, name: str, uid: str | None, selector: str) -> None:
    assert event_selector(kind, name, uid) == selector


def test_job_event_selectors_one_per_object() -> None:
    job = {"metadata": {"name": "pi", "uid": "u-job"}}
    pods = [
        {"metadata": {"name": "pi-launcher-x", "uid": "u-l"}},
        {"metadata": {"name": "pi-worker-0"}},
        {"metadata": {}},
    ]
    assert mpijob_event_selector(job) == event_selector("MPIJob", "pi", "u-job")
    assert job_event_selectors(job, pods) == [
        "involvedObject.kind=MPIJob,involvedObject.name=pi,involvedObject.uid=u-job",
        "involvedObject.kind=Job,involvedObject.name=pi-launcher",
        "involvedObject.kind=Pod,involvedObject.name=pi-launcher-x,involvedObject.uid=u-l",
        "involvedObject.kind=Pod,involvedObject.name=pi-worker-0",
    ]
