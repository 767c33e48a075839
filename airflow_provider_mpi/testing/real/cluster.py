"""``RealCluster``: a real Kubernetes control plane with the real MPI operator, on 127.0.0.1.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler (Kubernetes
v1.35.4) and mpi-operator v0.8.2 run as local processes built from their Go
modules (see :mod:`.build`); the node agent stands in for the kubelets. The
surface is :class:`~airflow_provider_mpi.testing.cluster.MPICluster`'s
(context manager, ``kubeconfig_path``, ``namespace``, ``api_client()``), so a
test or the demo can take either.

The kubeconfig handed out is a namespaced ServiceAccount's, with only the
provider's verbs (:mod:`.access`); the harness keeps an admin kubeconfig
(``admin_kubeconfig_path``). Certificates are made per start; every port is on
127.0.0.1 and chosen at start unless asked for; every process dies with us.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from airflow_provider_mpi.testing.kubeconfig import (
    AsyncClient,
    ClientPool,
    kubeconfig_dict,
    write_kubeconfig,
)
from airflow_provider_mpi.testing.lifecycle import Service, require_started
from airflow_provider_mpi.testing.real.build import Builder, Progress
from airflow_provider_mpi.testing.real.errors import RealClusterError
from airflow_provider_mpi.testing.real.group import ComponentGroup, PortClaim
from airflow_provider_mpi.testing.real.manifests import operator_module_dir
from airflow_provider_mpi.testing.real.pki import ClusterPKI
from airflow_provider_mpi.testing.real.procs import check_port_free
from airflow_provider_mpi.testing.real.startup import CONTEXT, Launched, launch
from airflow_provider_mpi.testing.real.versions import ETCD, KUBERNETES, MPI_OPERATOR

__all__ = ["COMPONENT_NAMES", "OPERATOR_HEALTH_PORT", "RealCluster"]

#: mpi-operator v0.8.2 serves its leader-election health check on :8080, hard-coded
#: (cmd/mpi-operator/app/server.go, healthCheckPort); one operator per machine at a time.
OPERATOR_HEALTH_PORT = 8080
NodeAgentFactory = Callable[["RealCluster"], Any]
WAIT_ENV = "MPI_REAL_CLUSTER_WAIT"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
#: The processes, in start order.
COMPONENT_NAMES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "mpi-operator",
)


def _quiet(message: str) -> None:
    """Progress sink that drops the lines."""


def _default_node_agent(cluster: RealCluster) -> Any:
    """Start the node agent on the cluster's nodes, with the admin identity."""
    from airflow_provider_mpi.testing.real.node_agent import DEFAULT_NODES, NodeAgent

    nodes = DEFAULT_NODES if cluster.nodes is None else cluster.nodes
    if not nodes:
        return None
    # A serving certificate from the cluster CA, as a kubelet's would be.
    serving = cluster.pki.issue_server("kubelet", ("127.0.0.1", "localhost", *nodes))
    agent = NodeAgent(
        cluster.admin_kubeconfig_path,
        nodes=nodes,
        local_exec=cluster.local_exec,
        tls_cert=str(serving.cert),
        tls_key=str(serving.key),
    )
    return agent.start()


class RealCluster(Service):
    """A real control plane with the real MPI operator, for tests, the demo and ``serve --real``.

    Use it as a context manager::

        with RealCluster() as cluster:
            api = kubernetes.client.CustomObjectsApi(cluster.api_client())

    Args:
        namespace: The job namespace (created) of the kubeconfig's ServiceAccount.
        port: The API server's port on 127.0.0.1 (0: any free port).
        build: Build missing binaries (else a missing one is an error).
        cache: The binary cache folder (default: :func:`.build.cache_root`).
        go: The ``go`` command (default: found on PATH).
        progress: Called with progress lines (default: silent).
        start_timeout: Seconds each component may take to become ready.
        nodes: The nodes the node agent registers and runs pods on (empty: no node agent,
            pods stay Pending).
        local_exec: Run launcher commands as real local processes (the node agent's
            ``local_exec``; off: pods follow their scripts, as in the emulator).
        node_agent: Called with the started cluster instead of starting the default
            :class:`~.node_agent.NodeAgent`; returns an object with ``stop()``.
        extra_args: More flags per component (``{"kube-apiserver": ["--v=4"]}``).
        wait_for_machine: Seconds to wait for another RealCluster on this machine to stop
            (mpi-operator's port 8080 is fixed, so one runs at a time); 0 fails at once.
            Default: ``$MPI_REAL_CLUSTER_WAIT``, else 0.
    """

    _running: ClassVar[weakref.WeakSet[RealCluster]] = weakref.WeakSet()

    def __init__(
        self,
        *,
        namespace: str = "default",
        port: int = 0,
        build: bool = True,
        cache: Path | None = None,
        go: str | None = None,
        progress: Progress | None = None,
        start_timeout: float = 60.0,
        nodes: Sequence[str] | None = None,
        local_exec: bool = False,
        node_agent: NodeAgentFactory | None = None,
        extra_args: Mapping[str, Sequence[str]] | None = None,
        wait_for_machine: float | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be from 0 to 65535, got {port!r}")
        if not _DNS_LABEL.fullmatch(namespace):
            raise ValueError(
                "namespace must be a DNS-1123 label (lower-case letters, digits and '-',"
                f" at most 63 characters), got {namespace!r}"
            )
        if not start_timeout > 0:
            raise ValueError(f"start_timeout must be > 0 seconds, got {start_timeout!r}")
        self.namespace = namespace
        self._port = port
        self._build = build
        self._builder = Builder(cache, go=go, progress=progress or _quiet)
        self._go = go
        self._timeout = start_timeout
        if wait_for_machine is None:
            text = os.environ.get(WAIT_ENV, "0")
            try:
                wait_for_machine = float(text)
            except ValueError:
                raise ValueError(f"{WAIT_ENV} must be a number of seconds, got {text!r}") from None
        self._wait_for_machine = wait_for_machine
        self._progress = progress or _quiet
        self._node_agent_factory = node_agent
        self._nodes = tuple(nodes) if nodes is not None else None
        self.local_exec = local_exec
        unknown = sorted(set(extra_args or {}) - set(COMPONENT_NAMES))
        if unknown:
            raise ValueError(
                f"extra_args names no component: {unknown!r}; use {', '.join(COMPONENT_NAMES)}"
            )
        self._extra_args = {name: list(args) for name, args in (extra_args or {}).items()}
        self.node_agent: Any = None
        self._group: ComponentGroup | None = None
        self._claim = PortClaim(
            OPERATOR_HEALTH_PORT,
            "mpi-operator's health check",
            "hard-coded in mpi-operator v0.8.2, so one RealCluster per machine runs at a time",
        )
        self._tmpdir: Path | None = None
        self._launched: Launched | None = None
        self._clients = ClientPool()
        self.timings: dict[str, float] = {}

    # -------------------------------------------------------------- lifecycle

    @classmethod
    def started_here(cls) -> list[RealCluster]:
        """The clusters this process has started and not stopped.

        mpi-operator's port is fixed, so a test that needs the machine (a
        subprocess starting its own cluster) stops these first and starts
        them again after.
        """
        return list(cls._running)

    def start(self, wait_for_machine: float | None = None) -> RealCluster:
        """Build what is missing, start every component and wait until the kubeconfig works.

        Args:
            wait_for_machine: Overrides the constructor's ``wait_for_machine`` for this start.

        Returns:
            The cluster itself.

        Raises:
            RealClusterError: A build failed, a port is taken, a component exited or
                did not become ready (each error names which and why).
        """
        if self._tmpdir is not None:
            return self
        started = time.monotonic()
        # Ports first: a taken port fails in a moment, before any build or process.
        if self._port:
            check_port_free(self._port, "the API server (RealCluster(port=...))")
        # Then the binaries: a missing Go toolchain or a refused module fails here, without
        # waiting for another cluster to free the machine (the builder locks its own cache).
        binaries = self._binaries()
        self.timings["build"] = time.monotonic() - started
        started = time.monotonic()
        wait = self._wait_for_machine if wait_for_machine is None else wait_for_machine
        self._claim.acquire(wait, self._progress)
        self.timings["wait"] = time.monotonic() - started
        started = time.monotonic()
        self._tmpdir = Path(tempfile.mkdtemp(prefix="mpi-real-cluster-"))
        # The API server drains for long after SIGTERM; its data is thrown away anyway.
        self._group = ComponentGroup(
            self._tmpdir, self._extra_args, self._timeout, grace={"kube-apiserver": 1.0}
        )
        try:
            self._launched = launch(
                self._group,
                binaries,
                port=self._port,
                namespace=self.namespace,
                operator_module=lambda: operator_module_dir(
                    self._builder.build_info(MPI_OPERATOR), self._go
                ),
            )
            factory = self._node_agent_factory or _default_node_agent
            self.node_agent = factory(self)
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - started
        RealCluster._running.add(self)
        return self

    def _binaries(self) -> dict[str, Path]:
        components = (ETCD, KUBERNETES, MPI_OPERATOR)
        if self._build:
            return self._builder.ensure(components)
        missing = self._builder.missing(components)
        if missing:
            names = ", ".join(c.key for c in missing)
            raise RealClusterError(
                f"not built: {names} (in {self._builder.cache}); start with build=True"
                " or run `python -m airflow_provider_mpi.testing build-real`"
            )
        return {n: self._builder.binary(c, n) for c in components for n in c.binary_names}

    def check_alive(self) -> None:
        """Raise when a component process has ended.

        Raises:
            ComponentExitedError: Naming the component, its status and its last log lines.
        """
        if self._group is not None:
            self._group.check_alive()

    def stop(self) -> None:
        """Stop the node agent and every process (operator first, etcd last); remove the files."""
        RealCluster._running.discard(self)
        self._clients.close()
        if self.node_agent is not None:
            agent, self.node_agent = self.node_agent, None
            agent.stop()
        if self._group is not None:
            self._group.stop()
            self._group = None
        self._claim.release()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        self._tmpdir = None
        self._launched = None

    # ------------------------------------------------------------- properties

    def _started(self, name: str) -> Launched:
        return require_started(self._launched, self, name)

    @property
    def url(self) -> str:
        """The API server URL, e.g. ``https://127.0.0.1:41234``."""
        return self._started("url").url

    @property
    def certificate_authority(self) -> bytes:
        """The PEM CA certificate of this start."""
        return self._started("certificate_authority").pki.ca_pem

    @property
    def pki(self) -> ClusterPKI:
        """The certificates of this start (issue more, e.g. for kubelets)."""
        return self._started("pki").pki

    @property
    def token(self) -> str:
        """The bearer token of the provider's ServiceAccount."""
        return self._started("token").token

    @property
    def kubeconfig_path(self) -> str:
        """A kubeconfig for the provider's ServiceAccount (namespaced Role, not cluster-admin)."""
        return str(self._started("kubeconfig_path").kubeconfig)

    @property
    def admin_kubeconfig_path(self) -> str:
        """A kubeconfig in ``system:masters``, for the harness (node agent, checks)."""
        return str(self._started("admin_kubeconfig_path").admin_kubeconfig)

    @property
    def nodes(self) -> tuple[str, ...] | None:
        """The node names asked for (``None``: the node agent's default)."""
        return self._nodes

    @property
    def logs(self) -> dict[str, Path]:
        """The log file of every running component, by name."""
        return {child.name: child.log for child in self._group.children} if self._group else {}

    @property
    def pids(self) -> dict[str, int]:
        """The process id of every running component, by name."""
        children = self._group.children if self._group else []
        return {child.name: child.process.pid for child in children}

    # ---------------------------------------------------------------- clients

    def kubeconfig(self) -> dict[str, Any]:
        """The provider's kubeconfig as a dict."""
        launched = self._started("kubeconfig")
        return kubeconfig_dict(
            launched.url,
            launched.pki.ca.cert,
            name=CONTEXT,
            namespace=self.namespace,
            token=launched.token,
        )

    def write_kubeconfig(self, path: str) -> str:
        """Write the provider's kubeconfig to ``path`` (mode 0600).

        Args:
            path: Where to write.

        Returns:
            The path.
        """
        return str(write_kubeconfig(path, self.kubeconfig()))

    def api_client(self, *, admin: bool = False) -> Any:
        """A ``kubernetes.client.ApiClient`` (closed when the cluster stops).

        Args:
            admin: Use the harness' admin identity instead of the provider's.
        """
        return self._clients.sync(self.admin_kubeconfig_path if admin else self.kubeconfig_path)

    def async_api_client(self) -> AsyncClient:
        """A ``kubernetes_asyncio`` ApiClient: ``await`` it, or ``async with`` it (closes it)."""
        return AsyncClient(self.kubeconfig_path)

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.1
    ) -> None:
        """Wait (real time) until ``predicate()`` is true, failing early when a component died.

        Args:
            predicate: Checked every ``interval``.
            timeout: Seconds to wait at most.
            interval: Seconds between checks.

        Raises:
            TimeoutError: When the predicate stays false.
            ComponentExitedError: When a component process ended meanwhile.
        """
        deadline = time.monotonic() + timeout
        while not predicate():
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(interval)
