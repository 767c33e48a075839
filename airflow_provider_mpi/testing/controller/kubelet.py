"""The scheduler and kubelet stand-in: pods move through their lives.

Every pod in the store is bound to one of four fake nodes (``node-0`` ..
``node-3``) and goes Pending (ContainerCreating) -> Running ->
Succeeded/Failed, as its script says (see ``scripts.py``): workers run until
deleted or evicted; a launcher works once it and all its job's workers run,
logs its scripted lines, and exits with the scripted code, or, with local
execution on, runs its command for real. ``restartPolicy`` OnFailure/Always
restart the container after the kubelet's back-off. Events are those of the
default scheduler and the kubelet.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

from airflow_provider_mpi.testing.controller.builders import JOB_NAME_LABEL, JOB_ROLE_LABEL
from airflow_provider_mpi.testing.controller.events import EventRecorder, EventSeverity
from airflow_provider_mpi.testing.controller.localexec import LocalProcess
from airflow_provider_mpi.testing.controller.meta import JSONDict, label
from airflow_provider_mpi.testing.controller.podstatus import (
    EVICTION_MESSAGE,
    SELECTOR_MESSAGE,
    UNSCHEDULABLE_MESSAGE,
    PodRuntime,
    Stage,
    render_status,
    terminated_state,
)
from airflow_provider_mpi.testing.controller.scripts import (
    PodScript,
    Role,
    ScriptAnnotation,
    ScriptError,
    parse_script,
)
from airflow_provider_mpi.testing.controller.workqueue import Key, WorkQueue
from airflow_provider_mpi.testing.store import NotFound, Store, StoreError, WatchEvent, copy_json

__all__ = ["NODES", "Kubelet", "feasible_nodes", "node_labels"]

NODES = tuple(f"node-{i}" for i in range(4))
_PULL_BACKOFF_AFTER = 5.0
_SSHD = ("/usr/sbin/sshd", "-De")
#: Work-queue keys ``(namespace, "job:<name>")`` stand for every pod of an MPIJob.
_JOB_KEY = "job:"
_RESTART_BACKOFF_BASE = 10.0
_RESTART_BACKOFF_MAX = 300.0


def node_labels(node: str) -> dict[str, str]:
    """The labels of a fake node."""
    return {
        "kubernetes.io/hostname": node,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "emulated",
    }


def _matches(labels: dict[str, str], expression: JSONDict) -> bool:
    key, operator = expression.get("key"), expression.get("operator")
    values = [str(v) for v in expression.get("values") or []]
    if operator == "In":
        return labels.get(str(key)) in values
    if operator == "NotIn":
        return labels.get(str(key)) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False  # Gt/Lt: the fake nodes have no numeric labels


def _affinity_allows(pod_spec: JSONDict, labels: dict[str, str]) -> bool:
    node_affinity = (pod_spec.get("affinity") or {}).get("nodeAffinity") or {}
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return True
    terms = required.get("nodeSelectorTerms") or []
    return any(
        all(_matches(labels, e) for e in term.get("matchExpressions") or []) for term in terms
    )


def feasible_nodes(pod: JSONDict) -> list[str]:
    """The fake nodes a pod may run on.

    Its ``nodeName`` if set; else the nodes matching its ``nodeSelector`` and
    its required node affinity (``matchExpressions`` over the node labels).
    """
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return [str(spec["nodeName"])]
    selector = spec.get("nodeSelector") or {}
    feasible = []
    for node in NODES:
        labels = node_labels(node)
        if all(labels.get(k) == v for k, v in selector.items()) and _affinity_allows(spec, labels):
            feasible.append(node)
    return feasible


class Kubelet:
    """Scheduler plus kubelet for every pod of the emulated cluster.

    Args:
        store: The cluster state.
        now: The emulated clock.
        local_exec: Run launcher commands as local processes.
        wake: Called (from another thread) when a local process ends, so the
            loop runs again.
    """

    def __init__(
        self,
        store: Store,
        now: Callable[[], datetime],
        *,
        local_exec: bool = False,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._now = now
        self._local_exec = local_exec
        self._wake = wake
        self._kubelet_events = EventRecorder(store, now, "kubelet")
        self._scheduler_events = EventRecorder(store, now, "default-scheduler")
        self._pods: dict[str, PodRuntime] = {}
        self._ips = itertools.count(2)
        self._queue = WorkQueue(store, self._keys_for)

    def close(self) -> None:
        """Kill every local process and stop following the store (the cluster is stopping)."""
        self._queue.close()
        for rt in self._pods.values():
            if rt.process is not None:
                rt.process.kill()

    @staticmethod
    def _keys_for(event: WatchEvent) -> set[Key]:
        """The pods a change concerns: the pod, and for an MPIJob or a worker, the job's pods."""
        plural = event.resource.plural
        meta = event.object.get("metadata", {})
        namespace = meta.get("namespace") or ""
        if plural == "mpijobs":  # its script may have changed
            return {(namespace, _JOB_KEY + meta["name"])}
        if plural != "pods":
            return set()
        keys = {(namespace, str(meta["name"]))}
        job = (meta.get("labels") or {}).get(JOB_NAME_LABEL)
        if job and (meta.get("labels") or {}).get(JOB_ROLE_LABEL) == Role.WORKER.value:
            keys.add((namespace, _JOB_KEY + str(job)))  # its launcher watches its peers
        return keys

    def _expand(self, everything: bool, keys: set[Key]) -> dict[Key, JSONDict | None]:
        """The pods to step (``None``: the pod is gone)."""
        found: dict[Key, JSONDict | None] = {}
        if everything:
            for pod in self._store.list("pods")[0]:
                found[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = pod
            for rt in self._pods.values():
                found.setdefault((rt.namespace, rt.name), None)
        for namespace, name in keys:
            if name.startswith(_JOB_KEY):
                selector = f"{JOB_NAME_LABEL}={name[len(_JOB_KEY) :]}"
                for pod in self._store.list("pods", namespace, label_selector=selector)[0]:
                    found[(namespace, pod["metadata"]["name"])] = pod
            elif (namespace, name) not in found:
                try:
                    found[(namespace, name)] = self._store.get("pods", namespace, name)
                except NotFound:
                    found[(namespace, name)] = None
        return found

    def _forget(self, key: Key, keep: str | None = None) -> None:
        for uid in [u for u, rt in self._pods.items() if (rt.namespace, rt.name) == key]:
            if uid != keep:
                rt = self._pods.pop(uid)
                if rt.process is not None:
                    rt.process.kill()

    def reconcile(self) -> datetime | None:
        """Move the pods that changed, or whose next moment has come, as far as time allows.

        Returns:
            The next time something is due, or ``None``.
        """
        now = self._now()
        everything, keys = self._queue.take(now)
        for key, pod in sorted(self._expand(everything, keys).items()):
            self._forget(key, keep=None if pod is None else pod["metadata"]["uid"])
            if pod is None:
                continue
            try:
                wake = self._step(pod)
            except StoreError:
                wake = now + timedelta(seconds=1)
            if wake is not None:
                self._queue.add_after(key, wake)
        return self._queue.next_timer()

    def _peers(self, pod: JSONDict) -> list[JSONDict]:
        job = label(pod, JOB_NAME_LABEL)
        if not job or self._role(pod) is not Role.LAUNCHER:
            return []
        selector = f"{JOB_NAME_LABEL}={job},{JOB_ROLE_LABEL}={Role.WORKER.value}"
        return self._store.list("pods", pod["metadata"]["namespace"], label_selector=selector)[0]

    # ---------------------------------------------------------------- script

    def _script(self, pod: JSONDict, rt: PodRuntime) -> PodScript:
        annotations: dict[str, str] = {}
        job_name = label(pod, JOB_NAME_LABEL)
        if job_name:
            try:
                mpijob = self._store.get("mpijobs", pod["metadata"]["namespace"], job_name)
                annotations.update(mpijob["metadata"].get("annotations") or {})
            except NotFound:
                pass
        annotations.update(pod["metadata"].get("annotations") or {})
        try:
            return parse_script(annotations)
        except ScriptError as error:
            if "script" not in rt.notes:
                rt.notes.add("script")
                self._kubelet_events.record(pod, EventSeverity.WARNING, "InvalidScript", str(error))
            return PodScript()

    @staticmethod
    def _role(pod: JSONDict) -> Role:
        return Role.WORKER if label(pod, JOB_ROLE_LABEL) == Role.WORKER.value else Role.LAUNCHER

    # ------------------------------------------------------------------ step

    def _step(self, pod: JSONDict) -> datetime | None:
        meta = pod["metadata"]
        rt = self._pods.get(meta["uid"])
        if rt is None:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return None
            rt = PodRuntime(
                uid=meta["uid"], namespace=meta["namespace"], name=meta["name"], seen_at=self._now()
            )
            self._pods[rt.uid] = rt
        script = self._script(pod, rt)
        role = self._role(pod)
        peers = self._peers(pod)
        wake: datetime | None = None
        for _ in range(16):  # follow transitions that happen at the same instant
            before = rt.stage
            pod, wake = self._advance(pod, rt, script, role, peers)
            if rt.stage is before:
                break
        status = render_status(pod, rt)
        if status != pod.get("status"):
            update = copy_json(pod)
            update["status"] = status
            update["metadata"].pop("resourceVersion", None)
            self._store.update("pods", update, subresource="status")
        return wake

    def _move(self, rt: PodRuntime, stage: Stage, at: datetime | None = None) -> None:
        rt.stage = stage
        rt.stage_at = at or self._now()

    def _advance(
        self, pod: JSONDict, rt: PodRuntime, script: PodScript, role: Role, peers: list[JSONDict]
    ) -> tuple[JSONDict, datetime | None]:
        now = self._now()
        stage = rt.stage
        if stage is Stage.UNSCHEDULED:
            nodes = feasible_nodes(pod)
            if role in script.unschedulable or not nodes:
                message = UNSCHEDULABLE_MESSAGE if nodes else SELECTOR_MESSAGE
                rt.message = message
                self._move(rt, Stage.UNSCHEDULABLE)
                self._scheduler_events.record(
                    pod, EventSeverity.WARNING, "FailedScheduling", message
                )
                return pod, None
            return self._bind(pod, rt, nodes), None
        if stage is Stage.UNSCHEDULABLE:
            if role not in script.unschedulable and feasible_nodes(pod):
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
            image = self._main(pod).get("image", "")
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
                self._store.logs.reset(rt.namespace, rt.name, str(container.get("name")))
            rt.work_at, rt.logged, rt.exit_code, rt.finished_at = None, 0, None, None
            self._start(pod, rt, rt.backoff_until, pulled=False)
            return pod, None
        return pod, None

    @staticmethod
    def _main(pod: JSONDict) -> JSONDict:
        containers = pod.get("spec", {}).get("containers") or [{}]
        return dict(containers[0])

    def _bind(self, pod: JSONDict, rt: PodRuntime, nodes: list[str]) -> JSONDict:
        node = pod.get("spec", {}).get("nodeName")
        if not node:
            node = nodes[zlib.crc32(rt.name.encode()) % len(nodes)]
            update = copy_json(pod)
            update["spec"]["nodeName"] = node
            update["metadata"].pop("resourceVersion", None)
            pod = self._store.update("pods", update)
            message = f"Successfully assigned {rt.namespace}/{rt.name} to {node}"
            self._scheduler_events.record(pod, EventSeverity.NORMAL, "Scheduled", message)
        index = NODES.index(node) if node in NODES else 0
        rt.node = node
        rt.host_ip = f"172.18.0.{index + 2}"
        rt.pod_ip = f"10.244.{index}.{next(self._ips)}"
        rt.scheduled_at = self._now()
        self._move(rt, Stage.CREATING)
        return pod

    def _container_event(
        self, pod: JSONDict, rt: PodRuntime, severity: EventSeverity, reason: str, message: str
    ) -> None:
        name = self._main(pod).get("name")
        self._kubelet_events.record(
            pod, severity, reason, message, host=rt.node, field_path=f"spec.containers{{{name}}}"
        )

    def _pull_failed(self, pod: JSONDict, rt: PodRuntime) -> None:
        image = self._main(pod).get("image", "")
        self._move(rt, Stage.PULL_ERROR)
        self._container_event(pod, rt, EventSeverity.NORMAL, "Pulling", f'Pulling image "{image}"')
        message = (
            f'Failed to pull image "{image}": rpc error: code = NotFound '
            "desc = failed to pull and unpack image: not found"
        )
        self._container_event(pod, rt, EventSeverity.WARNING, "Failed", message)
        self._container_event(pod, rt, EventSeverity.WARNING, "Failed", "Error: ErrImagePull")

    def _start(self, pod: JSONDict, rt: PodRuntime, at: datetime, *, pulled: bool = True) -> None:
        main = self._main(pod)
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
        if self._now() < due:
            return due
        rt.reason, rt.message = "Evicted", EVICTION_MESSAGE
        rt.finished_at = due
        self._move(rt, Stage.FAILED, due)
        self._kubelet_events.record(
            pod, EventSeverity.WARNING, "Evicted", EVICTION_MESSAGE, host=rt.node
        )
        return None

    def _log(self, pod: JSONDict, rt: PodRuntime, line: str) -> None:
        self._store.logs.append(rt.namespace, rt.name, str(self._main(pod).get("name")), line)

    def _run_launcher(
        self, pod: JSONDict, rt: PodRuntime, script: PodScript, peers: list[JSONDict]
    ) -> datetime | None:
        role = label(pod, JOB_ROLE_LABEL)
        local = self._local_exec and role == Role.LAUNCHER.value
        annotations = pod["metadata"].get("annotations") or {}
        forever = role is None and ScriptAnnotation.DURATION.key not in annotations
        now = self._now()
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
        container = self._main(pod)
        slots = 1
        for item in container.get("env") or []:
            if item.get("name") in ("OMPI_MCA_orte_set_default_slots", "I_MPI_PERHOST"):
                slots = (
                    int(item.get("value") or 1) if str(item.get("value") or "1").isdigit() else 1
                )
        name = str(container.get("name"))
        try:
            rt.process = LocalProcess(
                container,
                slots=max(1, len(peers)) * slots,
                on_line=lambda line: self._store.logs.append(rt.namespace, rt.name, name, line),
                on_exit=lambda: self._exited((rt.namespace, rt.name)),
            )
        except (OSError, ValueError) as error:
            self._log(pod, rt, f"exec: {error}")
            self._terminate(pod, rt, 127 if isinstance(error, OSError) else 128, self._now())

    def _exited(self, key: Key) -> None:
        self._queue.add(key)
        self._wake()

    def _terminate(self, pod: JSONDict, rt: PodRuntime, code: int, at: datetime) -> None:
        rt.exit_code, rt.finished_at = code, at
        for container in pod.get("spec", {}).get("containers") or []:
            self._store.logs.close(rt.namespace, rt.name, str(container.get("name")))
        policy = pod.get("spec", {}).get("restartPolicy", "Always")
        if policy == "Always" or (policy == "OnFailure" and code != 0):
            rt.last_state = {"terminated": terminated_state(rt, code)}
            rt.restarts += 1
            delay = min(_RESTART_BACKOFF_BASE * 2 ** (rt.restarts - 1), _RESTART_BACKOFF_MAX)
            rt.backoff_until = at + timedelta(seconds=delay)
            self._move(rt, Stage.BACKOFF, at)
            name = self._main(pod).get("name")
            message = (
                f"Back-off restarting failed container {name} "
                f"in pod {rt.name}_{rt.namespace}({rt.uid})"
            )
            self._container_event(pod, rt, EventSeverity.WARNING, "BackOff", message)
            return
        self._move(rt, Stage.SUCCEEDED if code == 0 else Stage.FAILED, at)
