"""The kubelet's behaviour, once, for the emulator and the node agent.

A pod's life on a node is a small state machine (:class:`Stage`): bound,
container creating (or failing to pull its image), running, crash-loop
back-off, succeeded or failed. :class:`PodLife` moves one pod through it, as
its script says (see ``scripts.py``): workers run until deleted or evicted; a
launcher works once it and all its job's workers run, logs its scripted lines
and exits with the scripted code, or, with local execution on, runs its
command for real (``localexec.py``). ``restartPolicy`` OnFailure/Always
restart the container after the kubelet's back-off.

Everything that touches the outside world goes through a :class:`KubeletHost`:
the emulator's kubelet (``kubelet.py``) implements it over its store, the
node agent (``testing.real.node_agent``) over the Kubernetes API. So both
backends share one kubelet, and differ only in where they read and write.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Protocol

from airflow_provider_mpi.testing.controller.builders import JOB_ROLE_LABEL
from airflow_provider_mpi.testing.controller.events import EventNote, EventSeverity
from airflow_provider_mpi.testing.controller.localexec import LocalProcess
from airflow_provider_mpi.testing.controller.meta import JSONDict, label
from airflow_provider_mpi.testing.controller.podstatus import (
    EVICTION_MESSAGE,
    SELECTOR_MESSAGE,
    UNSCHEDULABLE_MESSAGE,
    PodRuntime,
    Stage,
    terminated_state,
)
from airflow_provider_mpi.testing.controller.scripts import (
    PodScript,
    Role,
    ScriptAnnotation,
    ScriptError,
    parse_script,
)

__all__ = [
    "KUBELET",
    "SCHEDULER",
    "KubeletHost",
    "PodLife",
    "main_container",
    "pod_role",
    "pod_script",
]

#: ``source.component`` of the events the kubelet and the scheduler record.
KUBELET = "kubelet"
SCHEDULER = "default-scheduler"
_PULL_BACKOFF_AFTER = 5.0
_SSHD = ("/usr/sbin/sshd", "-De")
_RESTART_BACKOFF_BASE = 10.0
_RESTART_BACKOFF_MAX = 300.0
#: Transitions followed at one instant before a step gives up (a safety bound).
_MAX_TRANSITIONS = 16


class KubeletHost(Protocol):
    """Where a :class:`PodLife` reads the time and writes events, logs and bindings."""

    def now(self) -> datetime:
        """The current time (the emulator's clock, or wall time)."""

    def record(self, pod: JSONDict, note: EventNote) -> None:
        """Record an Event about ``pod`` from ``note.component`` (kubelet or scheduler)."""

    def append_log(self, namespace: str, pod: str, container: str, line: str) -> None:
        """Append one line to a container's current log."""

    def reset_log(self, namespace: str, pod: str, container: str) -> None:
        """The container restarts: its current log becomes the previous one."""

    def close_log(self, namespace: str, pod: str, container: str) -> None:
        """The container ended: followers of its log stop."""

    def bind(self, pod: JSONDict, node: str) -> JSONDict:
        """Bind an unbound pod to ``node`` (the scheduler's part); return the pod as stored."""

    def addresses(self, node: str) -> tuple[str, str]:
        """The host IP of ``node`` and a fresh pod IP on it."""

    def exited(self, namespace: str, name: str) -> None:
        """A local process of the pod ended (called from its reader thread)."""


def main_container(pod: JSONDict) -> JSONDict:
    """The pod's first container (the one the MPI operator's templates define)."""
    containers = pod.get("spec", {}).get("containers") or [{}]
    return dict(containers[0])


def pod_role(pod: JSONDict) -> Role:
    """Whether the pod is an MPIJob's worker or plays the launcher (also a bare pod)."""
    return Role.WORKER if label(pod, JOB_ROLE_LABEL) == Role.WORKER.value else Role.LAUNCHER


def pod_script(
    pod: JSONDict, rt: PodRuntime, job_annotations: dict[str, str], host: KubeletHost
) -> PodScript:
    """The pod's script: its MPIJob's annotations, then its own on top.

    A script that does not parse is reported once per pod (a Warning
    ``InvalidScript`` event from the kubelet) and the pod runs unscripted.

    Args:
        pod: the pod.
        rt: its runtime (remembers the warning).
        job_annotations: its MPIJob's annotations (empty without one).
        host: where the warning goes.

    Returns:
        The script.
    """
    annotations = dict(job_annotations)
    annotations.update(pod["metadata"].get("annotations") or {})
    try:
        return parse_script(annotations)
    except ScriptError as error:
        if "script" not in rt.notes:
            rt.notes.add("script")
            note = EventNote(EventSeverity.WARNING, "InvalidScript", str(error), KUBELET)
            host.record(pod, note)
        return PodScript()


class PodLife:
    """The kubelet behaviour shared by the emulator and the node agent.

    Args:
        host: Where time, events, logs and bindings come from and go to.
        local_exec: Run launcher commands as local processes.
        feasible: The nodes a pod may be bound to (the emulator's scheduler);
            the node agent passes ``None``: the real scheduler binds, and
            the ``unschedulable`` script is the emulator's alone.
    """

    def __init__(
        self,
        host: KubeletHost,
        *,
        local_exec: bool = False,
        feasible: _Feasible | None = None,
    ) -> None:
        self._host = host
        self._local_exec = local_exec
        self._feasible = feasible

    def step(
        self, pod: JSONDict, rt: PodRuntime, script: PodScript, peers: list[JSONDict]
    ) -> tuple[JSONDict, datetime | None]:
        """Move a pod as far as the time allows.

        Args:
            pod: The pod as stored.
            rt: The kubelet's record of it (updated in place).
            script: Its script.
            peers: For a launcher, its job's worker pods.

        Returns:
            The pod (re-read if it was bound) and when it next needs a step, or ``None``.
        """
        role = pod_role(pod)
        wake: datetime | None = None
        for _ in range(_MAX_TRANSITIONS):  # follow transitions that happen at the same instant
            before = rt.stage
            pod, wake = self._advance(pod, rt, script, role, peers)
            if rt.stage is before:
                break
        return pod, wake

    def stop(self, pod: JSONDict, rt: PodRuntime, code: int) -> None:
        """End the pod's container now (it is being deleted), without restarting it.

        Args:
            pod: The pod.
            rt: Its record.
            code: The container's exit code (``143`` SIGTERM, ``137`` SIGKILL).
        """
        if rt.process is not None:
            rt.process.kill()
            rt.process = None
        if rt.stage in (Stage.SUCCEEDED, Stage.FAILED):
            return
        if rt.started_at is None:
            rt.started_at = self._host.now()
        rt.exit_code, rt.finished_at = code, self._host.now()
        self._close_logs(pod, rt)
        self._move(rt, Stage.SUCCEEDED if code == 0 else Stage.FAILED)

    def _move(self, rt: PodRuntime, stage: Stage, at: datetime | None = None) -> None:
        rt.stage = stage
        rt.stage_at = at or self._host.now()

    def _feasible_nodes(self, pod: JSONDict) -> list[str]:
        node = pod.get("spec", {}).get("nodeName")
        if self._feasible is None or node:
            return [str(node)] if node else []
        return self._feasible(pod)

    def _advance(
        self, pod: JSONDict, rt: PodRuntime, script: PodScript, role: Role, peers: list[JSONDict]
    ) -> tuple[JSONDict, datetime | None]:
        now = self._host.now()
        stage = rt.stage
        scheduling = self._feasible is not None
        if stage is Stage.UNSCHEDULED:
            nodes = self._feasible_nodes(pod)
            if (scheduling and role in script.unschedulable) or not nodes:
                if not scheduling:
                    return pod, None  # not bound yet: not this kubelet's pod
                message = UNSCHEDULABLE_MESSAGE if nodes else SELECTOR_MESSAGE
                rt.message = message
                self._move(rt, Stage.UNSCHEDULABLE)
                note = EventNote(EventSeverity.WARNING, "FailedScheduling", message, SCHEDULER)
                self._host.record(pod, note)
                return pod, None
            return self._bind(pod, rt, nodes), None
        if stage is Stage.UNSCHEDULABLE:
            if role not in script.unschedulable and self._feasible_nodes(pod):
                rt.message = None
                self._move(rt, Stage.UNSCHEDULED)
            return pod, None
        if stage is Stage.CREATING:
            if role in script.image_pull_error:
                self._pull_failed(pod, rt)
                return pod, None
            assert rt.scheduled_at is not None
            start_at = rt.scheduled_at + timedelta(seconds=script.pending_seconds(role))
            if now < start_at:
                return pod, start_at
            self._start(pod, rt, start_at)
            return pod, None
        if stage is Stage.PULL_ERROR:
            assert rt.stage_at is not None
            due = rt.stage_at + timedelta(seconds=_PULL_BACKOFF_AFTER)
            if now < due:
                return pod, due
            image = main_container(pod).get("image", "")
            self._move(rt, Stage.PULL_BACKOFF, due)
            self._container_event(
                pod, rt, EventSeverity.NORMAL, "BackOff", f'Back-off pulling image "{image}"'
            )
            self._container_event(
                pod, rt, EventSeverity.WARNING, "Failed", "Error: ImagePullBackOff"
            )
            return pod, None
        if stage is Stage.RUNNING:
            if role is Role.WORKER:
                return pod, self._run_worker(pod, rt, script)
            return pod, self._run_launcher(pod, rt, script, peers)
        if stage is Stage.BACKOFF:
            assert rt.backoff_until is not None
            if now < rt.backoff_until:
                return pod, rt.backoff_until
            for container in pod.get("spec", {}).get("containers") or []:
                self._host.reset_log(rt.namespace, rt.name, str(container.get("name")))
            rt.work_at, rt.logged, rt.exit_code, rt.finished_at = None, 0, None, None
            self._start(pod, rt, rt.backoff_until, pulled=False)
            return pod, None
        return pod, None

    def _bind(self, pod: JSONDict, rt: PodRuntime, nodes: list[str]) -> JSONDict:
        node = pod.get("spec", {}).get("nodeName")
        if not node:
            node = self._pick(rt, nodes)
            pod = self._host.bind(pod, node)
            message = f"Successfully assigned {rt.namespace}/{rt.name} to {node}"
            self._host.record(pod, EventNote(EventSeverity.NORMAL, "Scheduled", message, SCHEDULER))
        rt.node = str(node)
        rt.host_ip, rt.pod_ip = self._host.addresses(rt.node)
        rt.scheduled_at = self._host.now()
        self._move(rt, Stage.CREATING)
        return pod

    @staticmethod
    def _pick(rt: PodRuntime, nodes: list[str]) -> str:
        return nodes[zlib.crc32(rt.name.encode()) % len(nodes)]

    def _container_event(
        self, pod: JSONDict, rt: PodRuntime, severity: EventSeverity, reason: str, message: str
    ) -> None:
        name = main_container(pod).get("name")
        where = f"spec.containers{{{name}}}"
        self._host.record(pod, EventNote(severity, reason, message, KUBELET, rt.node, where))

    def _pull_failed(self, pod: JSONDict, rt: PodRuntime) -> None:
        image = main_container(pod).get("image", "")
        self._move(rt, Stage.PULL_ERROR)
        self._container_event(pod, rt, EventSeverity.NORMAL, "Pulling", f'Pulling image "{image}"')
        message = (
            f'Failed to pull image "{image}": rpc error: code = NotFound '
            "desc = failed to pull and unpack image: not found"
        )
        self._container_event(pod, rt, EventSeverity.WARNING, "Failed", message)
        self._container_event(pod, rt, EventSeverity.WARNING, "Failed", "Error: ErrImagePull")

    def _start(self, pod: JSONDict, rt: PodRuntime, at: datetime, *, pulled: bool = True) -> None:
        main = main_container(pod)
        image, name = main.get("image", ""), main.get("name")
        if pulled and main.get("imagePullPolicy") == "Always":
            self._container_event(
                pod, rt, EventSeverity.NORMAL, "Pulling", f'Pulling image "{image}"'
            )
            message = (
                f'Successfully pulled image "{image}" in 1.2s (1.2s including waiting). '
                "Image size: 52428800 bytes."
            )
            self._container_event(pod, rt, EventSeverity.NORMAL, "Pulled", message)
        elif pulled:
            message = f'Container image "{image}" already present on machine'
            self._container_event(pod, rt, EventSeverity.NORMAL, "Pulled", message)
        self._container_event(
            pod, rt, EventSeverity.NORMAL, "Created", f"Created container: {name}"
        )
        self._container_event(pod, rt, EventSeverity.NORMAL, "Started", f"Started container {name}")
        rt.started_at = at
        self._move(rt, Stage.RUNNING, at)
        if main.get("command") == list(_SSHD):  # the operator's default worker command
            for line in ("Server listening on 0.0.0.0 port 22.", "Server listening on :: port 22."):
                self._log(pod, rt, line)

    def _run_worker(self, pod: JSONDict, rt: PodRuntime, script: PodScript) -> datetime | None:
        eviction = script.evict_worker
        if (
            eviction is None
            or not rt.name.endswith(f"-worker-{eviction.index}")
            or rt.started_at is None
        ):
            return None
        due = rt.started_at + timedelta(seconds=eviction.after)
        if self._host.now() < due:
            return due
        rt.reason, rt.message = "Evicted", EVICTION_MESSAGE
        rt.finished_at = due
        self._move(rt, Stage.FAILED, due)
        note = EventNote(EventSeverity.WARNING, "Evicted", EVICTION_MESSAGE, KUBELET, rt.node)
        self._host.record(pod, note)
        return None

    def _log(self, pod: JSONDict, rt: PodRuntime, line: str) -> None:
        self._host.append_log(rt.namespace, rt.name, str(main_container(pod).get("name")), line)

    def _run_launcher(
        self, pod: JSONDict, rt: PodRuntime, script: PodScript, peers: list[JSONDict]
    ) -> datetime | None:
        role = label(pod, JOB_ROLE_LABEL)
        local = self._local_exec and role == Role.LAUNCHER.value
        annotations = pod["metadata"].get("annotations") or {}
        forever = role is None and ScriptAnnotation.DURATION.key not in annotations
        now = self._host.now()
        lost = [
            p["metadata"]["name"]
            for p in peers
            if (p.get("status") or {}).get("phase") in ("Failed", "Succeeded")
        ]
        if rt.work_at is not None and not rt.peer_uids <= {p["metadata"]["uid"] for p in peers}:
            lost.append("a deleted worker")  # a peer mpirun was talking to is gone
        if lost and rt.exit_code is None:
            if rt.process is not None:
                rt.process.kill()
                rt.process = None
            host = lost[0]
            if rt.work_at is None:
                self._log(pod, rt, f"ssh: connect to host {host} port 22: Connection refused")
            else:
                self._log(pod, rt, f"PRTE has lost communication with a remote daemon on {host}.")
            self._terminate(pod, rt, 1, now)
            return None
        if rt.work_at is None:
            if any((p.get("status") or {}).get("phase") != "Running" for p in peers):
                return None
            rt.work_at = now
            rt.peer_uids = frozenset(p["metadata"]["uid"] for p in peers)
            if local:
                self._spawn(pod, rt, peers)
        if rt.process is not None:
            code = rt.process.returncode
            if code is None:
                return None
            rt.process = None
            self._terminate(pod, rt, code, now)
            return None
        if local or forever:
            return None  # runs until deleted (a bare pod without a duration)
        lines = script.log
        while rt.logged < len(lines):
            due = rt.work_at + timedelta(seconds=script.duration * rt.logged / len(lines))
            if due > now:
                break
            self._log(pod, rt, lines[rt.logged])
            rt.logged += 1
        end = rt.work_at + timedelta(seconds=script.duration)
        if now < end:
            if rt.logged < len(lines):
                return min(
                    end, rt.work_at + timedelta(seconds=script.duration * rt.logged / len(lines))
                )
            return end
        self._terminate(pod, rt, script.exit_code, end)
        return None

    def _spawn(self, pod: JSONDict, rt: PodRuntime, peers: list[JSONDict]) -> None:
        container = main_container(pod)
        slots = 1
        for item in container.get("env") or []:
            if item.get("name") in ("OMPI_MCA_orte_set_default_slots", "I_MPI_PERHOST"):
                slots = (
                    int(item.get("value") or 1) if str(item.get("value") or "1").isdigit() else 1
                )
        name = str(container.get("name"))
        namespace, pod_name = rt.namespace, rt.name
        try:
            rt.process = LocalProcess(
                container,
                slots=max(1, len(peers)) * slots,
                on_line=lambda line: self._host.append_log(namespace, pod_name, name, line),
                on_exit=lambda: self._host.exited(namespace, pod_name),
            )
        except (OSError, ValueError) as error:
            self._log(pod, rt, f"exec: {error}")
            self._terminate(pod, rt, 127 if isinstance(error, OSError) else 128, self._host.now())

    def _close_logs(self, pod: JSONDict, rt: PodRuntime) -> None:
        for container in pod.get("spec", {}).get("containers") or []:
            self._host.close_log(rt.namespace, rt.name, str(container.get("name")))

    def _terminate(self, pod: JSONDict, rt: PodRuntime, code: int, at: datetime) -> None:
        rt.exit_code, rt.finished_at = code, at
        self._close_logs(pod, rt)
        policy = pod.get("spec", {}).get("restartPolicy", "Always")
        if policy == "Always" or (policy == "OnFailure" and code != 0):
            rt.last_state = {"terminated": terminated_state(rt, code)}
            rt.restarts += 1
            delay = min(_RESTART_BACKOFF_BASE * 2 ** (rt.restarts - 1), _RESTART_BACKOFF_MAX)
            rt.backoff_until = at + timedelta(seconds=delay)
            self._move(rt, Stage.BACKOFF, at)
            name = main_container(pod).get("name")
            message = (
                f"Back-off restarting failed container {name} "
                f"in pod {rt.name}_{rt.namespace}({rt.uid})"
            )
            self._container_event(pod, rt, EventSeverity.WARNING, "BackOff", message)
            return
        self._move(rt, Stage.SUCCEEDED if code == 0 else Stage.FAILED, at)


class _Feasible(Protocol):
    def __call__(self, pod: JSONDict) -> list[str]: ...
