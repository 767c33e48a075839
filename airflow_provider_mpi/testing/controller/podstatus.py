"""What a pod's ``status`` looks like at each stage of its life.

The kubelet stand-in keeps a :class:`PodRuntime` per pod (its stage and
times); :func:`render_status` turns it into the ``status`` a real kubelet
reports: phase, conditions, containerStatuses with waiting/running/terminated
states, node and pod IPs, eviction reason. Pure, so it is easy to test.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from airflow_provider_mpi.testing.controller.meta import JSONDict, format_time

if TYPE_CHECKING:
    from airflow_provider_mpi.testing.controller.localexec import LocalProcess

__all__ = ["PodRuntime", "Stage", "render_status", "terminated_state"]

UNSCHEDULABLE_MESSAGE = (
    "0/4 nodes are available: 4 Insufficient cpu. preemption: 0/4 nodes are available: "
    "4 No preemption victims found for incoming pod."
)
SELECTOR_MESSAGE = (
    "0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector. preemption: "
    "0/4 nodes are available: 4 Preemption is not helpful for scheduling."
)
EVICTION_MESSAGE = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. "
)


class Stage(str, Enum):
    """Where a pod is in its life, as the kubelet stand-in tracks it."""

    UNSCHEDULED = "Unscheduled"
    UNSCHEDULABLE = "Unschedulable"
    CREATING = "ContainerCreating"
    PULL_ERROR = "ErrImagePull"
    PULL_BACKOFF = "ImagePullBackOff"
    RUNNING = "Running"
    BACKOFF = "CrashLoopBackOff"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass
class PodRuntime:
    """The kubelet's private record of one pod (times are exact, not rounded)."""

    uid: str
    namespace: str
    name: str
    node: str | None = None
    host_ip: str | None = None
    pod_ip: str | None = None
    stage: Stage = Stage.UNSCHEDULED
    seen_at: datetime | None = None
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    work_at: datetime | None = None
    peer_uids: frozenset[str] = frozenset()
    stage_at: datetime | None = None
    logged: int = 0
    restarts: int = 0
    last_state: JSONDict = field(default_factory=dict)
    backoff_until: datetime | None = None
    exit_code: int | None = None
    finished_at: datetime | None = None
    reason: str | None = None
    message: str | None = None
    process: LocalProcess | None = None
    notes: set[str] = field(default_factory=set)


def _condition(
    kind: str,
    ok: bool,
    since: datetime | None,
    reason: str | None = None,
    message: str | None = None,
) -> JSONDict:
    condition: JSONDict = {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": format_time(since) if since else None,
    }
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _image_ref(image: str) -> str:
    name = image if "/" in image.split(":")[0] else f"library/{image}"
    if "." not in name.split("/")[0]:
        name = f"docker.io/{name}"
    return name


def _container_id(rt: PodRuntime, container: str) -> str:
    digest = hashlib.sha256(f"{rt.uid}/{container}/{rt.restarts}".encode()).hexdigest()
    return f"containerd://{digest}"


def _container_status(rt: PodRuntime, container: JSONDict, main: bool) -> JSONDict:
    image = str(container.get("image") or "")
    ref = _image_ref(image)
    repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
    status: JSONDict = {
        "name": container.get("name"),
        "image": ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest",
        "imageID": "",
        "ready": False,
        "restartCount": rt.restarts if main else 0,
        "started": False,
        "lastState": dict(rt.last_state) if main else {},
    }
    stage = rt.stage
    if stage in (Stage.CREATING, Stage.UNSCHEDULED):
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
        return status
    if stage in (Stage.PULL_ERROR, Stage.PULL_BACKOFF):
        if stage is Stage.PULL_ERROR:
            message = f'failed to pull and unpack image "{status["image"]}": not found'
        else:
            message = f'Back-off pulling image "{image}"'
        status["state"] = {"waiting": {"reason": stage.value, "message": message}}
        return status
    status["imageID"] = f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
    status["containerID"] = _container_id(rt, str(container.get("name")))
    if stage is Stage.RUNNING:
        status.update(ready=True, started=True)
        status["state"] = {
            "running": {"startedAt": format_time(rt.started_at) if rt.started_at else None}
        }
    elif stage is Stage.BACKOFF:
        message = (
            f"back-off {_backoff_text(rt)} restarting failed container={container.get('name')} "
            f"pod={rt.name}_{rt.namespace}({rt.uid})"
        )
        status["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
    else:
        code = rt.exit_code if main and rt.exit_code is not None else 0
        if rt.reason == "Evicted":
            code = 137
        status["state"] = {"terminated": _terminated(rt, code)}
    return status


def _backoff_text(rt: PodRuntime) -> str:
    if rt.backoff_until is None or rt.stage_at is None:
        return "10s"
    seconds = int((rt.backoff_until - rt.stage_at).total_seconds())
    return f"{seconds // 60}m{seconds % 60}s" if seconds >= 60 else f"{seconds}s"


def _terminated(rt: PodRuntime, code: int) -> JSONDict:
    return {
        "exitCode": code,
        "reason": "Completed" if code == 0 else "Error",
        "startedAt": format_time(rt.started_at) if rt.started_at else None,
        "finishedAt": format_time(rt.finished_at) if rt.finished_at else None,
        "containerID": f"containerd://{hashlib.sha256(f'{rt.uid}/{rt.restarts}'.encode()).hexdigest()}",
    }


def terminated_state(rt: PodRuntime, code: int) -> JSONDict:
    """The ``terminated`` state of the main container (for ``lastState`` on restart)."""
    return _terminated(rt, code)


def render_status(pod: JSONDict, rt: PodRuntime) -> JSONDict:
    """Render the status a kubelet would report for ``pod``.

    Args:
        pod: The pod as stored (its spec gives the containers).
        rt: The kubelet's record of it.

    Returns:
        The ``status`` object.
    """
    containers = pod.get("spec", {}).get("containers") or []
    qos = (pod.get("status") or {}).get("qosClass", "BestEffort")
    stage = rt.stage
    if stage is Stage.UNSCHEDULED:
        return {"phase": "Pending", "qosClass": qos}
    if stage is Stage.UNSCHEDULABLE:
        condition = _condition(
            "PodScheduled", False, rt.stage_at, "Unschedulable", rt.message or UNSCHEDULABLE_MESSAGE
        )
        return {"phase": "Pending", "conditions": [condition], "qosClass": qos}
    names = " ".join(str(c.get("name")) for c in containers)
    statuses = [_container_status(rt, c, i == 0) for i, c in enumerate(containers)]
    running = stage is Stage.RUNNING
    finished = stage in (Stage.SUCCEEDED, Stage.FAILED)
    started = stage in (Stage.RUNNING, Stage.BACKOFF) or (finished and rt.started_at is not None)
    if running:
        not_ready: tuple[str | None, str | None] = (None, None)
    elif finished:
        not_ready = ("PodCompleted" if stage is Stage.SUCCEEDED else "PodFailed", None)
    else:
        not_ready = ("ContainersNotReady", f"containers with unready status: [{names}]")
    ready_since = rt.started_at if running else rt.stage_at
    conditions = []
    if rt.reason == "Evicted":
        conditions.append(
            _condition("DisruptionTarget", True, rt.finished_at, "TerminationByKubelet", rt.message)
        )
    conditions += [
        _condition(
            "PodReadyToStartContainers", started and not finished, rt.started_at or rt.scheduled_at
        ),
        _condition("Initialized", True, rt.scheduled_at, "PodCompleted" if finished else None),
        _condition("Ready", running, ready_since, *not_ready),
        _condition("ContainersReady", running, ready_since, *not_ready),
        _condition("PodScheduled", True, rt.scheduled_at),
    ]
    status: JSONDict = {
        "phase": {Stage.SUCCEEDED: "Succeeded", Stage.FAILED: "Failed"}.get(
            stage, "Running" if started else "Pending"
        ),
        "conditions": conditions,
        "hostIP": rt.host_ip,
        "hostIPs": [{"ip": rt.host_ip}],
        "startTime": format_time(rt.scheduled_at) if rt.scheduled_at else None,
        "containerStatuses": statuses,
        "qosClass": qos,
    }
    if rt.reason:
        status["reason"] = rt.reason
        status["message"] = rt.message or ""
    if started or finished:
        status["podIP"] = rt.pod_ip
        status["podIPs"] = [{"ip": rt.pod_ip}]
    return status
