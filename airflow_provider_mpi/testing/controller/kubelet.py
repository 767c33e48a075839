"""The scheduler and kubelet stand-in: pods move through their lives.

Every pod in the store is bound to one of four fake nodes (``node-0`` ..
``node-3``) and goes Pending (ContainerCreating) -> Running ->
Succeeded/Failed, as its script says (see ``scripts.py``). The life itself is
:class:`~airflow_provider_mpi.testing.controller.podlife.PodLife`, shared with
the node agent that runs pods for a real API server; this module is its
store-side host: it follows the store, keeps each pod's record, reads scripts
and peers, and writes status, events and logs into the store. Events are those
of the default scheduler and the kubelet.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime

from airflow_provider_mpi.testing.controller.builders import JOB_NAME_LABEL, JOB_ROLE_LABEL
from airflow_provider_mpi.testing.controller.events import EventNote, EventRecorder
from airflow_provider_mpi.testing.controller.meta import JSONDict, label
from airflow_provider_mpi.testing.controller.podlife import SCHEDULER, PodLife, pod_role, pod_script
from airflow_provider_mpi.testing.controller.podstatus import PodRuntime, render_status
from airflow_provider_mpi.testing.controller.scripts import (
    PodScript,
    Role,
)
from airflow_provider_mpi.testing.controller.workqueue import Key, WorkQueue
from airflow_provider_mpi.testing.store import NotFound, Store, WatchEvent, copy_json

__all__ = ["NODES", "Kubelet", "feasible_nodes", "node_labels"]

NODES = tuple(f"node-{i}" for i in range(4))
#: Work-queue keys ``(namespace, "job:<name>")`` stand for every pod of an MPIJob.
_JOB_KEY = "job:"


def node_labels(node: str, instance_type: str = "emulated") -> dict[str, str]:
    """The well-known labels a kubelet puts on its Node (the emulator's and the node agent's).

    Args:
        node: The node name.
        instance_type: ``node.kubernetes.io/instance-type``, which tells the two apart.

    Returns:
        The labels.
    """
    return {
        "kubernetes.io/hostname": node,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": instance_type,
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
        self._wake = wake
        self._kubelet_events = EventRecorder(store, now, "kubelet")
        self._scheduler_events = EventRecorder(store, now, "default-scheduler")
        self._pods: dict[str, PodRuntime] = {}
        self._ips = itertools.count(2)
        self._queue = WorkQueue(store, self._keys_for)
        self._life = PodLife(self, local_exec=local_exec, feasible=feasible_nodes)

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
        namespace, name = event.key
        if plural == "mpijobs":  # its script may have changed
            return {(namespace, _JOB_KEY + name)}
        if plural != "pods":
            return set()
        keys = {(namespace, name)}
        job = label(event.object, JOB_NAME_LABEL)
        if job and label(event.object, JOB_ROLE_LABEL) == Role.WORKER.value:
            keys.add((namespace, _JOB_KEY + job))  # its launcher watches its peers
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
        found = self._expand(everything, keys)

        def step(key: Key) -> datetime | None:
            pod = found[key]
            self._forget(key, keep=None if pod is None else pod["metadata"]["uid"])
            return None if pod is None else self._step(pod)

        return self._queue.sync_each(now, found, step)

    def _peers(self, pod: JSONDict) -> list[JSONDict]:
        job = label(pod, JOB_NAME_LABEL)
        if not job or pod_role(pod) is not Role.LAUNCHER:
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
        return pod_script(pod, rt, annotations, self)

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
        pod, wake = self._life.step(pod, rt, self._script(pod, rt), self._peers(pod))
        status = render_status(pod, rt)
        if status != pod.get("status"):
            update = copy_json(pod)
            update["status"] = status
            update["metadata"].pop("resourceVersion", None)
            self._store.update("pods", update, subresource="status")
        return wake

    # ------------------------------------------------------------ KubeletHost

    def now(self) -> datetime:
        """The emulated clock (:class:`KubeletHost`)."""
        return self._now()

    def record(self, pod: JSONDict, note: EventNote) -> None:
        """Record an Event in the store (:class:`KubeletHost`)."""
        scheduler = note.component == SCHEDULER
        recorder = self._scheduler_events if scheduler else self._kubelet_events
        severity, reason, message = note.severity, note.reason, note.message
        recorder.record(pod, severity, reason, message, host=note.host, field_path=note.field_path)

    def append_log(self, namespace: str, pod: str, container: str, line: str) -> None:
        """Append to the store's log book (:class:`KubeletHost`)."""
        self._store.logs.append(namespace, pod, container, line)

    def reset_log(self, namespace: str, pod: str, container: str) -> None:
        """Start a container's next log (:class:`KubeletHost`)."""
        self._store.logs.reset(namespace, pod, container)

    def close_log(self, namespace: str, pod: str, container: str) -> None:
        """End a container's log (:class:`KubeletHost`)."""
        self._store.logs.close(namespace, pod, container)

    def bind(self, pod: JSONDict, node: str) -> JSONDict:
        """Set ``spec.nodeName`` in the store (:class:`KubeletHost`)."""
        update = copy_json(pod)
        update["spec"]["nodeName"] = node
        update["metadata"].pop("resourceVersion", None)
        return self._store.update("pods", update)

    def addresses(self, node: str) -> tuple[str, str]:
        """A fake node's IP and a fresh pod IP in its range (:class:`KubeletHost`)."""
        index = NODES.index(node) if node in NODES else 0
        return f"172.18.0.{index + 2}", f"10.244.{index}.{next(self._ips)}"

    def exited(self, namespace: str, name: str) -> None:
        """A local process ended: step its pod again (:class:`KubeletHost`)."""
        self._queue.add((namespace, name))
        self._wake()
