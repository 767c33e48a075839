"""The simulated MPI operator, step by step on a manual clock (no HTTP).

Each test creates an MPIJob in a fresh store, moves the clock and checks what
the v0.8.2 operator, the Job controller and the kubelet would have written:
conditions (types, statuses, reasons, messages, order), replica statuses,
children and events.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_mpi.testing.clock import ManualClock
from airflow_provider_mpi.testing.cluster import mpijob_crd
from airflow_provider_mpi.testing.controller.job import JobController
from airflow_provider_mpi.testing.controller.kubelet import NODES, Kubelet
from airflow_provider_mpi.testing.controller.loop import ControllerLoop
from airflow_provider_mpi.testing.controller.meta import format_time
from airflow_provider_mpi.testing.controller.mpijob import MPIJobController
from airflow_provider_mpi.testing.store import NotFound, Store

START = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
PREFIX = "emulator.airflow-provider-mpi/"


@dataclass
class Emulator:
    """A store with the three controllers on a manual clock."""

    store: Store
    clock: ManualClock
    loop: ControllerLoop

    def advance(self, seconds: float = 0) -> None:
        self.loop.advance(seconds)

    def at(self, seconds: float) -> str:
        return format_time(START + timedelta(seconds=seconds))

    def mpijob(self, name: str = "pi") -> dict[str, Any]:
        return self.store.get("mpijobs", "default", name)

    def conditions(self, name: str = "pi") -> list[tuple[str, str, str]]:
        status = self.mpijob(name).get("status") or {}
        return [(c["type"], c["status"], c["reason"]) for c in status.get("conditions") or []]

    def condition(self, kind: str, name: str = "pi") -> dict[str, Any]:
        status = self.mpijob(name).get("status") or {}
        return next(c for c in status["conditions"] if c["type"] == kind)

    def pods(self, selector: str | None = None) -> dict[str, dict[str, Any]]:
        items, _ = self.store.list("pods", "default", label_selector=selector)
        return {p["metadata"]["name"]: p for p in items}

    def phases(self) -> dict[str, str]:
        return {name: pod["status"]["phase"] for name, pod in self.pods().items()}

    def launcher_pods(self, name: str = "pi") -> list[dict[str, Any]]:
        selector = f"training.kubeflow.org/job-name={name},training.kubeflow.org/job-role=launcher"
        return sorted(
            self.pods(selector).values(), key=lambda p: p["metadata"]["creationTimestamp"]
        )

    def events(self, kind: str = "MPIJob") -> list[tuple[str, str, str]]:
        items, _ = self.store.list("events", "default")
        return [
            (e["type"], e["reason"], e["message"])
            for e in items
            if e["involvedObject"]["kind"] == kind
        ]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    clock = ManualClock(START)
    store = Store(now=clock.now)
    store.create("customresourcedefinitions", mpijob_crd())
    controllers = [
        MPIJobController(store, clock.now),
        JobController(store, clock.now),
        Kubelet(store, clock.now),
    ]
    loop = ControllerLoop(store, clock, controllers)
    yield Emulator(store, clock, loop)
    loop.stop()


def mpijob(
    name: str = "pi",
    *,
    workers: int | None = 2,
    script: dict[str, str] | None = None,
    run_policy: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """An MPIJob like the operator's pi example, with script annotations."""
    replica_specs: dict[str, Any] = {
        "Launcher": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "launcher",
                            "image": "mpioperator/mpi-pi:openmpi",
                            "command": ["mpirun", "-n", "2", "/home/mpiuser/pi"],
                        }
                    ]
                }
            },
        }
    }
    if workers is not None:
        replica_specs["Worker"] = {
            "replicas": workers,
            "template": {
                "spec": {"containers": [{"name": "worker", "image": "mpioperator/mpi-pi:openmpi"}]}
            },
        }
    body: dict[str, Any] = {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {
            "name": name,
            "namespace": "default",
            "annotations": {PREFIX + k: v for k, v in (script or {}).items()},
        },
        "spec": {"slotsPerWorker": 1, "mpiReplicaSpecs": replica_specs, **spec},
    }
    if run_policy:
        body["spec"]["runPolicy"] = run_policy
    return body


def test_success_creates_the_upstream_children_and_conditions(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob(script={"duration": "5", "log": "one\ntwo"}))
    emulator.advance(0)

    assert emulator.conditions() == [
        ("Created", "True", "MPIJobCreated"),
        ("Running", "True", "MPIJobRunning"),
    ]
    created = emulator.condition("Created")
    assert created["message"] == "MPIJob default/pi is created."
    assert emulator.condition("Running")["message"] == "MPIJob default/pi is running."
    status = emulator.mpijob()["status"]
    assert status["startTime"] == emulator.at(0)
    assert status["replicaStatuses"] == {"Launcher": {"active": 1}, "Worker": {"active": 2}}

    service = emulator.store.get("services", "default", "pi")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == {
        "training.kubeflow.org/operator-name": "mpi-operator",
        "training.kubeflow.org/job-name": "pi",
    }
    config = emulator.store.get("configmaps", "default", "pi-config")
    assert config["data"]["hostfile"] == (
        "pi-worker-0.pi.default.svc slots=1\npi-worker-1.pi.default.svc slots=1\n"
    )
    assert config["data"]["discover_hosts.sh"] == (
        "#!/bin/sh\necho pi-worker-0.pi.default.svc\necho pi-worker-1.pi.default.svc\n"
    )
    secret = emulator.store.get("secrets", "default", "pi-ssh")
    assert secret["type"] == "kubernetes.io/ssh-auth"
    assert base64.b64decode(secret["data"]["ssh-privatekey"]).startswith(
        b"-----BEGIN EC PRIVATE KEY"
    )
    for child in (service, config, secret):
        (ref,) = child["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("MPIJob", "pi", True)

    worker = emulator.store.get("pods", "default", "pi-worker-1")
    assert worker["metadata"]["labels"] == {
        "training.kubeflow.org/operator-name": "mpi-operator",
        "training.kubeflow.org/job-name": "pi",
        "training.kubeflow.org/job-role": "worker",
        "training.kubeflow.org/replica-index": "1",
    }
    assert worker["spec"]["hostname"] == "pi-worker-1"
    assert worker["spec"]["subdomain"] == "pi"
    assert worker["spec"]["containers"][0]["command"] == ["/usr/sbin/sshd", "-De"]
    sshd, _ = emulator.store.logs.read("default", "pi-worker-1", "worker")
    assert [text for _, text in sshd] == [
        "Server listening on 0.0.0.0 port 22.",
        "Server listening on :: port 22.",
    ]
    assert worker["spec"]["nodeName"] in NODES
    assert worker["status"]["podIP"].startswith("10.244.")

    launcher_job = emulator.store.get("jobs", "default", "pi-launcher")
    assert launcher_job["metadata"]["ownerReferences"][0]["kind"] == "MPIJob"
    assert launcher_job["spec"]["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": launcher_job["metadata"]["uid"]}
    }
    assert (launcher_job["spec"]["backoffLimit"], launcher_job["spec"]["completions"]) == (6, 1)
    assert launcher_job["status"]["active"] == launcher_job["status"]["ready"] == 1
    assert launcher_job["status"]["startTime"] == emulator.at(0)
    (launcher,) = emulator.launcher_pods()
    assert launcher["metadata"]["name"].startswith("pi-launcher-")
    assert launcher["metadata"]["ownerReferences"][0]["kind"] == "Job"
    labels = launcher["metadata"]["labels"]
    assert labels["training.kubeflow.org/job-role"] == "launcher"
    assert labels["batch.kubernetes.io/job-name"] == "pi-launcher"
    assert labels["batch.kubernetes.io/controller-uid"] == launcher_job["metadata"]["uid"]
    env = {e["name"]: e.get("value") for e in launcher["spec"]["containers"][0]["env"]}
    assert env["OMPI_MCA_orte_default_hostfile"] == "/etc/mpi/hostfile"
    assert env["K_MPI_JOB_ROLE"] == "launcher"
    assert launcher["spec"]["restartPolicy"] == "OnFailure"

    emulator.advance(4)
    assert emulator.conditions()[-1] == ("Running", "True", "MPIJobRunning")
    emulator.advance(1)
    assert emulator.conditions() == [
        ("Created", "True", "MPIJobCreated"),
        ("Running", "False", "MPIJobRunning"),
        ("Succeeded", "True", "MPIJobSucceeded"),
    ]
    status = emulator.mpijob()["status"]
    assert status["completionTime"] == emulator.at(5)
    assert emulator.condition("Succeeded")["message"] == "MPIJob default/pi successfully completed."
    assert status["replicaStatuses"] == {"Launcher": {"succeeded": 1}, "Worker": {}}
    (launcher,) = emulator.launcher_pods()
    terminated = launcher["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert (terminated["startedAt"], terminated["finishedAt"]) == (emulator.at(0), emulator.at(5))
    lines, closed = emulator.store.logs.read("default", launcher["metadata"]["name"], "launcher")
    assert [text for _, text in lines] == ["one", "two"]
    assert [stamp for stamp, _ in lines] == [START, START + timedelta(seconds=2.5)]
    assert closed
    assert emulator.events() == [
        ("Normal", "MPIJobCreated", "MPIJob default/pi is created."),
        ("Normal", "MPIJobRunning", "MPIJob default/pi is running"),
        ("Normal", "MPIJobSucceeded", "MPIJob default/pi successfully completed."),
    ]
    # cleanPodPolicy defaults to None: the workers keep running.
    assert emulator.phases()["pi-worker-0"] == "Running"


@pytest.mark.parametrize(
    ("restart_policy", "backoff_limit", "reason", "message", "launcher_pods", "failed"),
    [
        # Never: each failure is a new Failed pod; the reason names the last one's
        # (empty) pod reason and message, as upstream concatenates them.
        (
            "Never",
            0,
            "BackoffLimitExceeded/",
            "Job has reached the specified backoff limit: ",
            1,
            1,
        ),
        (
            "Never",
            2,
            "BackoffLimitExceeded/",
            "Job has reached the specified backoff limit: ",
            3,
            3,
        ),
        # OnFailure: the container restarts in place; the Job controller deletes
        # the pod when the restarts reach the limit, so no failed pod is left.
        (
            "OnFailure",
            1,
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            0,
            1,
        ),
    ],
)
def test_launcher_failure_ends_in_backoff_limit_exceeded(
    emulator: Emulator,
    restart_policy: str,
    backoff_limit: int,
    reason: str,
    message: str,
    launcher_pods: int,
    failed: int,
) -> None:
    job = mpijob(
        script={"duration": "2", "exit-code": "3"}, run_policy={"backoffLimit": backoff_limit}
    )
    job["spec"]["mpiReplicaSpecs"]["Launcher"]["restartPolicy"] = restart_policy
    emulator.store.create("mpijobs", job)
    emulator.advance(600)

    assert emulator.conditions() == [
        ("Created", "True", "MPIJobCreated"),
        ("Running", "False", "MPIJobRunning"),
        ("Failed", "True", reason),
    ]
    assert emulator.condition("Failed")["message"] == message
    pods = emulator.launcher_pods()
    assert len(pods) == launcher_pods
    for pod in pods:
        state = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (pod["status"]["phase"], state["exitCode"], state["reason"]) == (
            "Failed",
            3,
            "Error",
        )
    status = emulator.mpijob()["status"]
    assert status["replicaStatuses"]["Launcher"] == {"failed": failed}
    assert ("Warning", reason, message) in emulator.events()
    launcher_job = emulator.store.get("jobs", "default", "pi-launcher")
    condition = next(c for c in launcher_job["status"]["conditions"] if c["type"] == "Failed")
    assert condition["reason"] == "BackoffLimitExceeded"
    assert status["completionTime"] == condition["lastTransitionTime"]


def test_retries_wait_for_the_job_controller_backoff(emulator: Emulator) -> None:
    job = mpijob(script={"duration": "1", "exit-code": "1"}, run_policy={"backoffLimit": 2})
    job["spec"]["mpiReplicaSpecs"]["Launcher"]["restartPolicy"] = "Never"
    emulator.store.create("mpijobs", job)
    emulator.advance(600)
    created = [p["metadata"]["creationTimestamp"] for p in emulator.launcher_pods()]
    # fails after 1 s, retried 10 s later, fails, retried 20 s later.
    assert created == [emulator.at(0), emulator.at(11), emulator.at(32)]


def test_active_deadline_fails_with_deadline_exceeded(emulator: Emulator) -> None:
    emulator.store.create(
        "mpijobs", mpijob(script={"duration": "100"}, run_policy={"activeDeadlineSeconds": 3})
    )
    emulator.advance(2)
    assert emulator.conditions()[-1] == ("Running", "True", "MPIJobRunning")
    emulator.advance(1)
    assert emulator.conditions() == [
        ("Created", "True", "MPIJobCreated"),
        ("Running", "False", "MPIJobRunning"),
        ("Failed", "True", "DeadlineExceeded"),
    ]
    assert (
        emulator.condition("Failed")["message"] == "Job was active longer than specified deadline"
    )
    assert emulator.launcher_pods() == []  # the Job controller deleted the active pod
    assert emulator.mpijob()["status"]["completionTime"] == emulator.at(3)


def test_evicted_worker_fails_the_job(emulator: Emulator) -> None:
    emulator.store.create(
        "mpijobs",
        mpijob(script={"duration": "10", "evict-worker": "1@2"}, run_policy={"backoffLimit": 0}),
    )
    emulator.advance(2)
    evicted = emulator.store.get("pods", "default", "pi-worker-1")["status"]
    assert (evicted["phase"], evicted["reason"]) == ("Failed", "Evicted")
    assert emulator.events("Pod").count(("Warning", "Evicted", evicted["message"])) == 1
    assert ("Warning", "MPIJobEvicted", "1/2 workers are evicted") in emulator.events()
    # mpirun loses its peer and exits 1; the launcher (OnFailure) restarts and
    # the Job controller gives up at once (backoffLimit 0): the Job's reason wins.
    assert emulator.conditions() == [
        ("Created", "True", "MPIJobCreated"),
        ("Running", "False", "MPIJobRunning"),
        ("Failed", "True", "BackoffLimitExceeded"),
    ]
    status = emulator.mpijob()["status"]
    # Once the launcher is done, upstream stops counting workers.
    assert status["replicaStatuses"] == {"Launcher": {"failed": 1}, "Worker": {}}
    assert emulator.phases()["pi-worker-0"] == "Running"


def test_eviction_condition_before_the_launcher_gives_up(emulator: Emulator) -> None:
    emulator.store.create(
        "mpijobs",
        mpijob(script={"duration": "10", "evict-worker": "0@1"}, run_policy={"backoffLimit": 6}),
    )
    emulator.advance(1)
    assert emulator.conditions() == [
        ("Created", "True", "MPIJobCreated"),
        ("Running", "False", "MPIJobRunning"),
        ("Failed", "True", "MPIJobEvicted"),
    ]
    assert emulator.condition("Failed")["message"] == "1/2 workers are evicted"


def test_unschedulable_pods_stay_pending_and_the_job_created(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob(script={"unschedulable": "true"}))
    emulator.advance(300)
    assert emulator.conditions() == [("Created", "True", "MPIJobCreated")]
    for pod in emulator.pods().values():
        assert pod["status"]["phase"] == "Pending"
        assert "nodeName" not in pod["spec"]
        (scheduled,) = pod["status"]["conditions"]
        assert (scheduled["type"], scheduled["status"], scheduled["reason"]) == (
            "PodScheduled",
            "False",
            "Unschedulable",
        )
    assert {reason for _, reason, _ in emulator.events("Pod")} == {"FailedScheduling"}


def test_image_pull_error_keeps_workers_waiting(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob(script={"image-pull-error": "worker"}))
    emulator.advance(0)
    waiting = emulator.store.get("pods", "default", "pi-worker-0")["status"]["containerStatuses"][0]
    assert waiting["state"]["waiting"]["reason"] == "ErrImagePull"
    emulator.advance(10)
    worker = emulator.store.get("pods", "default", "pi-worker-0")["status"]
    assert worker["phase"] == "Pending"
    assert worker["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
    (launcher,) = emulator.launcher_pods()
    assert launcher["status"]["phase"] == "Running"
    assert emulator.conditions() == [("Created", "True", "MPIJobCreated")]
    assert emulator.mpijob()["status"]["replicaStatuses"] == {
        "Launcher": {"active": 1},
        "Worker": {},
    }
    reasons = [reason for _, reason, _ in emulator.events("Pod")]
    assert {"Failed", "BackOff"} <= set(reasons)


def test_start_delay_and_worker_duration_keep_pods_pending(emulator: Emulator) -> None:
    emulator.store.create(
        "mpijobs",
        mpijob(script={"start-delay": "2", "worker-duration": "3", "duration": "1"}),
    )
    emulator.advance(0)
    assert set(emulator.phases().values()) == {"Pending"}
    emulator.advance(2)
    phases = emulator.phases()
    assert phases["pi-worker-0"] == "Pending"
    assert [p["status"]["phase"] for p in emulator.launcher_pods()] == ["Running"]
    emulator.advance(3)
    assert emulator.conditions()[-1] == ("Running", "True", "MPIJobRunning")
    emulator.advance(1)
    assert emulator.conditions()[-1] == ("Succeeded", "True", "MPIJobSucceeded")
    assert emulator.mpijob()["status"]["completionTime"] == emulator.at(6)


def test_wait_for_workers_ready_creates_the_launcher_late(emulator: Emulator) -> None:
    emulator.store.create(
        "mpijobs",
        mpijob(script={"worker-duration": "4"}, launcherCreationPolicy="WaitForWorkersReady"),
    )
    emulator.advance(3)
    with pytest.raises(NotFound):
        emulator.store.get("jobs", "default", "pi-launcher")
    emulator.advance(1)
    launcher_job = emulator.store.get("jobs", "default", "pi-launcher")
    assert launcher_job["metadata"]["creationTimestamp"] == emulator.at(4)


@pytest.mark.parametrize(
    ("implementation", "run_launcher_as_worker", "hostfile"),
    [
        (
            "OpenMPI",
            False,
            "pi-worker-0.pi.default.svc slots=4\npi-worker-1.pi.default.svc slots=4\n",
        ),
        ("Intel", False, "pi-worker-0.pi.default.svc:4\npi-worker-1.pi.default.svc:4\n"),
        ("MPICH", False, "pi-worker-0.pi.default.svc:4\npi-worker-1.pi.default.svc:4\n"),
        (
            "OpenMPI",
            True,
            "pi-launcher.pi.default.svc slots=4\n"
            "pi-worker-0.pi.default.svc slots=4\npi-worker-1.pi.default.svc slots=4\n",
        ),
    ],
)
def test_hostfile_per_mpi_implementation(
    emulator: Emulator, implementation: str, run_launcher_as_worker: bool, hostfile: str
) -> None:
    job = mpijob(mpiImplementation=implementation, runLauncherAsWorker=run_launcher_as_worker)
    job["spec"]["slotsPerWorker"] = 4
    emulator.store.create("mpijobs", job)
    emulator.advance(0)
    assert emulator.store.get("configmaps", "default", "pi-config")["data"]["hostfile"] == hostfile
    index = emulator.store.get("pods", "default", "pi-worker-0")["metadata"]["labels"]
    assert index["training.kubeflow.org/replica-index"] == ("1" if run_launcher_as_worker else "0")
    service = emulator.store.get("services", "default", "pi")
    assert service["spec"]["publishNotReadyAddresses"] is run_launcher_as_worker


def test_ttl_after_finished_deletes_the_launcher_job(emulator: Emulator) -> None:
    emulator.store.create(
        "mpijobs", mpijob(script={"duration": "1"}, run_policy={"ttlSecondsAfterFinished": 5})
    )
    emulator.advance(5)
    assert emulator.store.get("jobs", "default", "pi-launcher")
    emulator.advance(1)
    with pytest.raises(NotFound):
        emulator.store.get("jobs", "default", "pi-launcher")
    assert emulator.launcher_pods() == []
    assert emulator.conditions()[-1] == ("Succeeded", "True", "MPIJobSucceeded")


def test_deleting_the_mpijob_collects_every_child(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob(script={"duration": "100"}))
    emulator.advance(1)
    assert len(emulator.pods()) == 3
    emulator.store.delete("mpijobs", "default", "pi")
    emulator.advance(1)
    assert emulator.pods() == {}
    for plural in ("services", "configmaps", "secrets", "jobs"):
        assert emulator.store.list(plural, "default")[0] == []


def test_a_second_sync_changes_nothing(emulator: Emulator) -> None:
    emulator.store.create("mpijobs", mpijob(script={"duration": "100"}))
    emulator.advance(1)
    version = emulator.store.resource_version
    emulator.advance(0)
    assert emulator.store.resource_version == version
    snapshot = copy.deepcopy(emulator.mpijob())
    emulator.advance(10)
    assert emulator.mpijob() == snapshot
