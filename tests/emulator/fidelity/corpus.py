"""The differential fidelity corpus: one scenario list, run on the emulator and the real cluster.

Each :class:`Scenario` submits an MPIJob (scripted with the
``emulator.airflow-provider-mpi/*`` annotations, which both the emulator's
kubelet and the node agent follow), acts on it (suspend, resume, delete a
worker, ...) and waits until it settles. :func:`observe` then records what a
user sees, normalised so that two backends can be compared field by field:
the MPIJob's conditions (type, status, reason, in order) and replicaStatuses,
the event reasons of the job and its children, the children's names and
labels, and the tracker's JobState, substate and JobInfo. Names are
normalised (the job's name becomes ``{job}``, the namespace ``{ns}``, the
launcher pod's random suffix ``{rand}``) and times are dropped.
:func:`compare` lists the differences.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kubernetes.client
from kubernetes.client.rest import ApiException

from airflow_provider_mpi.drmaa2 import JobControlAction
from airflow_provider_mpi.mpioperator import MPIOperatorTracker

JSONDict = dict[str, Any]
GROUP, VERSION, PLURAL = "kubeflow.org", "v2beta1", "mpijobs"
SCRIPT = "emulator.airflow-provider-mpi/"
IMAGE = "mpioperator/mpi-pi:openmpi"
TERMINAL = ("Succeeded", "Failed")
_TTL_SECONDS = 2
#: Seconds the launcher of a job that runs to its end works. mpi-operator v0.8.2 records
#: Running=True only if one of its status writes lands while the launcher runs, and those
#: writes often conflict (its MPIJob informer lags its own writes: "the object has been
#: modified", then a rate-limited retry). With a 1 s launcher on a loaded machine the real
#: job once ended first: Running=False ("never set") after Succeeded, where the emulator
#: had Running=True, then False, before Succeeded. 3 s leaves the retries time.
_WORK = "3"


def mpijob(
    name: str, *, workers: int = 2, script: dict[str, str] | None = None, **run: Any
) -> JSONDict:
    """A two-worker MPIJob whose pods follow ``script``; ``run`` goes to ``runPolicy``."""
    launcher = {
        "name": "launcher",
        "image": IMAGE,
        "command": ["mpirun", "-n", str(workers), "/home/mpiuser/pi"],
    }
    policy: JSONDict = {"cleanPodPolicy": "Running", **run}
    spec: JSONDict = {
        "slotsPerWorker": 1,
        "runPolicy": policy,
        "mpiReplicaSpecs": {
            "Launcher": {"replicas": 1, "template": {"spec": {"containers": [launcher]}}},
            "Worker": {
                "replicas": workers,
                "template": {"spec": {"containers": [{"name": "worker", "image": IMAGE}]}},
            },
        },
    }
    annotations = {SCRIPT + key: value for key, value in (script or {}).items()}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MPIJob",
        "metadata": {"name": name, "annotations": annotations},
        "spec": spec,
    }


@dataclass
class Run:
    """One scenario on one backend: its clients and helpers."""

    cluster: Any
    namespace: str
    name: str

    @property
    def api(self) -> Any:
        admin = getattr(self.cluster, "admin_api_client", None)
        return admin() if admin is not None else self.cluster.api_client()

    @property
    def custom(self) -> Any:
        return kubernetes.client.CustomObjectsApi(self.api)

    @property
    def core(self) -> Any:
        return kubernetes.client.CoreV1Api(self.api)

    def tracker(self) -> MPIOperatorTracker:
        return MPIOperatorTracker(self.cluster.kubeconfig_path, namespace=self.namespace)

    def create(self, body: JSONDict) -> None:
        self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, body)

    def get(self) -> JSONDict | None:
        try:
            found: JSONDict = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, self.name
            )
            return found
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def patch(self, body: JSONDict) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, self.name, body
        )

    def condition(self, kind: str, status: str = "True") -> bool:
        job = self.get() or {}
        return any(
            c.get("type") == kind and c.get("status") == status
            for c in (job.get("status") or {}).get("conditions") or []
        )

    def pods(self, selector: str = "") -> list[JSONDict]:
        selector = selector or f"training.kubeflow.org/job-name={self.name}"
        listed = self.core.list_namespaced_pod(self.namespace, label_selector=selector)
        items: list[JSONDict] = self.api.sanitize_for_serialization(listed.items)
        return items

    def phase_of(self, role: str) -> list[str]:
        return [
            (p.get("status") or {}).get("phase", "")
            for p in self.pods(
                f"training.kubeflow.org/job-name={self.name},training.kubeflow.org/job-role={role}"
            )
        ]

    def wait(self, predicate: Callable[[], bool], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                job = self.get() or {}
                seen = [
                    (c.get("type"), c.get("status"), c.get("reason"))
                    for c in (job.get("status") or {}).get("conditions") or []
                ]
                pods = [
                    (p["metadata"]["name"], (p.get("status") or {}).get("phase"))
                    for p in self.pods()
                ]
                raise TimeoutError(
                    f"{self.name}: condition not met within {timeout} s; "
                    f"conditions {seen}, pods {pods}"
                )
            time.sleep(0.1)

    def finished(self) -> bool:
        return any(self.condition(kind) for kind in TERMINAL)


@dataclass(frozen=True)
class Scenario:
    """One scenario: its name, the MPIJob, and what is done to it until it settles."""

    name: str
    body: Callable[[str], JSONDict]
    act: Callable[[Run], None]
    settle: float = 2.0
    tracker: bool = True
    #: An API scenario: its requests and observation instead of a job's life.
    probe: Callable[[Run], dict[str, Any]] | None = None


def _until_finished(run: Run) -> None:
    run.wait(run.finished)


def _suspend_resume(run: Run) -> None:
    run.wait(lambda: run.condition("Running"))
    run.patch({"spec": {"runPolicy": {"suspend": True}}})
    run.wait(lambda: run.condition("Suspended"))
    run.wait(lambda: not run.pods())
    run.patch({"spec": {"runPolicy": {"suspend": False}}})
    # Observed as it is: a resume that never completes is a finding, not a crash.
    with contextlib.suppress(TimeoutError):
        run.wait(run.finished, timeout=45)


def _terminate(run: Run) -> None:
    run.wait(lambda: run.condition("Running"))
    run.tracker().job_control(f"{run.namespace}/{run.name}", JobControlAction.TERMINATE)
    run.wait(lambda: run.condition("Suspended") or run.finished())
    time.sleep(1.0)


def _hold_release(run: Run) -> None:
    tracker = run.tracker()
    job_id = f"{run.namespace}/{run.name}"
    tracker.job_control(job_id, JobControlAction.HOLD)
    run.wait(lambda: run.condition("Suspended"))
    tracker.job_control(job_id, JobControlAction.RELEASE)
    with contextlib.suppress(TimeoutError):  # observed as it is (see known.py)
        run.wait(run.finished, timeout=45)


def _delete_worker(run: Run) -> None:
    run.wait(lambda: run.condition("Running"))
    run.core.delete_namespaced_pod(f"{run.name}-worker-1", run.namespace)
    run.wait(run.finished)


def _delete_job(run: Run) -> None:
    run.wait(lambda: run.condition("Running"))
    run.custom.delete_namespaced_custom_object(
        GROUP, VERSION, run.namespace, PLURAL, run.name, propagation_policy="Foreground"
    )
    run.wait(lambda: run.get() is None and not run.pods(), timeout=90)


def _workers_not_ready(run: Run) -> None:
    run.wait(lambda: run.phase_of("worker") == ["Running", "Running"])
    run.wait(run.finished)


def _ttl(run: Run) -> None:
    run.wait(lambda: run.finished() or run.get() is None)
    time.sleep(_TTL_SECONDS + 3.0)  # then observe: is the job (and are its children) gone?


def _invalid(run: Run) -> None:
    run.wait(lambda: any(e.endswith(":ValidationError") for e in _event_reasons(run)))


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "success",
        lambda n: mpijob(n, script={"duration": _WORK, "log": "pi is 3.14"}),
        _until_finished,
    ),
    Scenario(
        "failure-exit-code",
        lambda n: mpijob(n, script={"duration": _WORK, "exit-code": "3"}, backoffLimit=0),
        _until_finished,
    ),
    Scenario(
        "launcher-backoff",
        lambda n: mpijob(n, script={"duration": "0.5", "exit-code": "2"}, backoffLimit=1),
        _until_finished,
    ),
    Scenario(
        "wait-for-workers-ready",
        lambda n: {
            **(body := mpijob(n, script={"duration": _WORK, "worker-duration": "2"})),
            "spec": {**body["spec"], "launcherCreationPolicy": "WaitForWorkersReady"},
        },
        _workers_not_ready,
    ),
    Scenario("suspend-resume", lambda n: mpijob(n, script={"duration": "3"}), _suspend_resume),
    Scenario("terminate", lambda n: mpijob(n, script={"duration": "30"}), _terminate),
    Scenario(
        "hold-release",
        # Long enough that the hold always lands before the launcher could end, even on a
        # loaded machine (CI once saw the job Done before the release with duration 1).
        lambda n: mpijob(n, script={"duration": "10", "start-delay": "3"}),
        _hold_release,
    ),
    Scenario(
        "clean-running",
        lambda n: mpijob(n, script={"duration": _WORK}, cleanPodPolicy="Running"),
        _until_finished,
    ),
    Scenario(
        "clean-all",
        lambda n: mpijob(n, script={"duration": _WORK}, cleanPodPolicy="All"),
        _until_finished,
    ),
    Scenario(
        "clean-none",
        lambda n: mpijob(n, script={"duration": _WORK}, cleanPodPolicy="None"),
        _until_finished,
    ),
    Scenario(
        "ttl-after-finished",
        lambda n: mpijob(n, script={"duration": _WORK}, ttlSecondsAfterFinished=_TTL_SECONDS),
        _ttl,
        tracker=False,
    ),
    Scenario(
        "active-deadline",
        lambda n: mpijob(n, script={"duration": "60"}, activeDeadlineSeconds=3),
        _until_finished,
    ),
    Scenario(
        "invalid-spec",
        lambda n: mpijob(n, workers=0, script={"duration": "1"}),
        _invalid,
        tracker=False,
    ),
    Scenario("deleted-worker", lambda n: mpijob(n, script={"duration": "30"}), _delete_worker),
    Scenario(
        "delete-with-children",
        lambda n: mpijob(n, script={"duration": "30"}),
        _delete_job,
        tracker=False,
    ),
)


def _two_launchers(body: JSONDict) -> JSONDict:
    body["spec"]["mpiReplicaSpecs"]["Launcher"]["replicas"] = 2  # the operator allows 1
    return body


#: The kinds whose events are compared: those the emulator's controllers model. The
#: real cluster's endpoints and EndpointSlice controllers also write events about the
#: job's Service (FailedToCreateEndpoint, FailedToUpdateEndpointSlices) as they race
#: with the operator; the emulator has no such controllers.
COMPARED_EVENT_KINDS = frozenset({"MPIJob", "Job", "Pod"})


def _event_reasons(run: Run) -> list[str]:
    events = run.core.list_namespaced_event(run.namespace).items
    reasons = {
        f"{e.involved_object.kind}:{e.reason}"
        for e in events
        if e.involved_object.name
        and e.involved_object.name.startswith(run.name)
        and e.involved_object.kind in COMPARED_EVENT_KINDS
    }
    # A scheduling the real scheduler retried and then made (nodes still initialising
    # right after start-up) is compared as what it ended as: Scheduled.
    if "Pod:Scheduled" in reasons:
        reasons.discard("Pod:FailedScheduling")
    return sorted(reasons)


def normalise(text: str, run: Run) -> str:
    """Replace the job's name, the namespace and a launcher pod's random suffix."""
    text = text.replace(run.namespace, "{ns}")
    text = re.sub(rf"{re.escape(run.name)}-launcher-[a-z0-9]{{5}}\b", "{job}-launcher-{rand}", text)
    return text.replace(run.name, "{job}")


def _children(run: Run) -> dict[str, Any]:
    found: dict[str, Any] = {}
    lists = {
        "pods": run.core.list_namespaced_pod,
        "services": run.core.list_namespaced_service,
        "configmaps": run.core.list_namespaced_config_map,
        "secrets": run.core.list_namespaced_secret,
    }
    for kind, lister in lists.items():
        for item in lister(run.namespace).items:
            name = item.metadata.name
            if not name.startswith(run.name):
                continue
            labels = {k: normalise(v, run) for k, v in sorted((item.metadata.labels or {}).items())}
            labels.pop("controller-uid", None)
            labels.pop("batch.kubernetes.io/controller-uid", None)
            found[f"{kind}/{normalise(name, run)}"] = labels
    jobs = kubernetes.client.BatchV1Api(run.api).list_namespaced_job(run.namespace).items
    for job in jobs:
        if job.metadata.name.startswith(run.name):
            labels = {k: normalise(v, run) for k, v in sorted((job.metadata.labels or {}).items())}
            found[f"jobs/{normalise(job.metadata.name, run)}"] = labels
    return dict(sorted(found.items()))


def _await_events(run: Run, job: JSONDict | None) -> None:
    """Wait until the event of the job's last condition is there.

    The real operator writes events through a client limited to 5 requests per
    second (its default ``--qps``): under load they arrive seconds after the
    status, so the observation waits for the last condition's event.
    """
    conditions = ((job or {}).get("status") or {}).get("conditions") or []
    last = [c for c in conditions if c.get("status") == "True" and c.get("reason")]
    if not last:
        return
    wanted = f"MPIJob:{last[-1]['reason']}"
    with contextlib.suppress(TimeoutError):
        run.wait(lambda: wanted in _event_reasons(run), timeout=30)


def observe(run: Run, scenario: Scenario) -> dict[str, Any]:
    """What a user sees of the job once it settled, normalised (see module docstring)."""
    job = run.get()
    _await_events(run, job)
    status = (job or {}).get("status") or {}
    observed: dict[str, Any] = {
        "exists": job is not None,
        "conditions": [
            (c.get("type"), c.get("status"), c.get("reason"))
            for c in status.get("conditions") or []
        ],
        "replicaStatuses": {
            role: {k: v for k, v in sorted(counts.items()) if k != "selector"}
            for role, counts in sorted((status.get("replicaStatuses") or {}).items())
        },
        "events": _event_reasons(run),
        "children": _children(run),
    }
    if scenario.tracker and job is not None:
        tracker = run.tracker()
        job_id = f"{run.namespace}/{run.name}"
        state, substate = tracker.job_state(job_id)
        info = tracker.job_info(job_id)
        observed["tracker"] = {
            "state": state.name,
            "substate": substate,
            "exit_status": info.exit_status,
            "info_state": info.state.name,
            "info_substate": info.sub_state,
            "slots": info.slots,
            "machines": len(info.allocated_machines),
            "terminating_signal": info.terminating_signal,
        }
    return observed


def fresh_namespace(cluster: Any, name: str) -> str:
    """Create a namespace on the emulator (a real run gets its own ``RealNamespace``)."""
    api = kubernetes.client.CoreV1Api(cluster.api_client())
    try:
        api.create_namespace({"metadata": {"name": name}})
    except ApiException as error:
        if error.status != 409:
            raise
    return name


def run_scenario(cluster: Any, namespace: str, scenario: Scenario) -> dict[str, Any]:
    """Run one scenario on one backend; return the normalised observation.

    Args:
        cluster: The backend (``MPICluster`` or ``RealNamespace``).
        namespace: A namespace of its own (see :func:`fresh_namespace`).
        scenario: The scenario.
    """
    run = Run(cluster, namespace, f"fid-{scenario.name}")
    if scenario.probe is not None:
        return scenario.probe(run)
    run.create(scenario.body(run.name))
    scenario.act(run)
    time.sleep(scenario.settle)
    return observe(run, scenario)


def compare(emulated: Any, real: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """The fields where two observations differ: ``(path, emulated, real)``."""
    if isinstance(emulated, dict) and isinstance(real, dict):
        diffs: list[tuple[str, Any, Any]] = []
        for key in sorted(set(emulated) | set(real), key=str):
            diffs += compare(
                emulated.get(key, "<absent>"), real.get(key, "<absent>"), f"{path}.{key}"
            )
        return diffs
    return [] if emulated == real else [(path.lstrip("."), emulated, real)]


@dataclass
class Outcome:
    """A scenario's result on both backends."""

    scenario: str
    differences: list[tuple[str, Any, Any]] = field(default_factory=list)
    error: str = ""
