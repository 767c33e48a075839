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
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from airflow_provider_mpi.testing.real import bootstrap
from airflow_provider_mpi.testing.real.access import (
    PROVIDER_SERVICE_ACCOUNT,
    kubeconfig_dict,
    write_kubeconfig,
)
from airflow_provider_mpi.testing.real.build import Builder, Progress
from airflow_provider_mpi.testing.real.errors import ComponentExitedError, RealClusterError
from airflow_provider_mpi.testing.real.flags import (
    OPERATOR_NAMESPACE,
    Ports,
    apiserver_argv,
    controller_manager_argv,
    etcd_argv,
    mpi_operator_argv,
    scheduler_argv,
)
from airflow_provider_mpi.testing.real.manifests import (
    OPERATOR_SERVICE_ACCOUNT,
    load_operator_manifests,
    operator_module_dir,
)
from airflow_provider_mpi.testing.real.pki import ClusterPKI
from airflow_provider_mpi.testing.real.procs import (
    check_port_free,
    free_port,
    log_tail,
    spawn,
    stop_process,
)
from airflow_provider_mpi.testing.real.rest import RestClient
from airflow_provider_mpi.testing.real.versions import ETCD, KUBERNETES, MPI_OPERATOR

__all__ = ["COMPONENT_NAMES", "OPERATOR_HEALTH_PORT", "RealCluster"]

#: mpi-operator v0.8.2 serves its leader-election health check on :8080, hard-coded
#: (cmd/mpi-operator/app/server.go, healthCheckPort); one operator per machine at a time.
OPERATOR_HEALTH_PORT = 8080
_CONTEXT = "mpi-real-cluster"
_TOKEN_SECONDS = 7 * 24 * 3600
NodeAgentFactory = Callable[["RealCluster"], Any]
#: The processes, in start order.
COMPONENT_NAMES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "mpi-operator",
)


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


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


class RealCluster:
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
    """

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
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be from 0 to 65535, got {port!r}")
        self.namespace = namespace
        self._port = port
        self._build = build
        self._builder = Builder(cache, go=go, progress=progress or _quiet)
        self._go = go
        self._timeout = start_timeout
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
        self._children: list[_Child] = []
        self._tmpdir: Path | None = None
        self._pki: ClusterPKI | None = None
        self._ports: Ports | None = None
        self._kubeconfig: Path | None = None
        self._admin_kubeconfig: Path | None = None
        self._token: str | None = None
        self._clients: list[Any] = []
        self.timings: dict[str, float] = {}

    # -------------------------------------------------------------- lifecycle

    def start(self) -> RealCluster:
        """Build what is missing, start every component and wait until the kubeconfig works.

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
        check_port_free(
            OPERATOR_HEALTH_PORT,
            "mpi-operator's health check",
            "hard-coded in mpi-operator v0.8.2; is another RealCluster or a program using 8080"
            " running?",
        )
        components = (ETCD, KUBERNETES, MPI_OPERATOR)
        if self._build:
            binaries = self._builder.ensure(components)
        else:
            missing = self._builder.missing(components)
            if missing:
                names = ", ".join(c.key for c in missing)
                raise RealClusterError(
                    f"not built: {names} (in {self._builder.cache}); start with build=True"
                    " or run `python -m airflow_provider_mpi.testing build-real`"
                )
            binaries = {n: self._builder.binary(c, n) for c in components for n in c.binary_names}
        self.timings["build"] = time.monotonic() - started
        self._tmpdir = Path(tempfile.mkdtemp(prefix="mpi-real-cluster-"))
        try:
            self._start(binaries)
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - started - self.timings["build"]
        return self

    def _start(self, binaries: dict[str, Path]) -> None:
        folder = self._tmpdir
        assert folder is not None
        pki = self._pki = ClusterPKI(folder / "pki")
        ports = self._ports = Ports(
            etcd_client=free_port(),
            etcd_peer=free_port(),
            apiserver=self._port or free_port(),
            controller_manager=free_port(),
            scheduler=free_port(),
        )
        etcd = self._spawn("etcd", etcd_argv(binaries["etcd"], folder / "etcd", ports))
        self._wait(etcd, "/health answers", lambda: self._etcd_healthy(ports.etcd_client))
        apiserver = self._spawn(
            "kube-apiserver", apiserver_argv(binaries["kube-apiserver"], pki, ports)
        )
        admin = RestClient(ports.apiserver, pki.ca.cert, cert=pki.admin.cert, key=pki.admin.key)
        self._wait(apiserver, "/readyz is ok", lambda: admin.request("GET", "/readyz") == "ok")
        self._admin_kubeconfig = self._write_cert_kubeconfig("admin", pki.admin.cert, pki.admin.key)
        kcm_config = self._write_cert_kubeconfig(
            "kube-controller-manager", pki.controller_manager.cert, pki.controller_manager.key
        )
        scheduler_config = self._write_cert_kubeconfig(
            "kube-scheduler", pki.scheduler.cert, pki.scheduler.key
        )
        self._spawn(
            "kube-controller-manager",
            controller_manager_argv(binaries["kube-controller-manager"], pki, kcm_config, ports),
        )
        self._spawn(
            "kube-scheduler", scheduler_argv(binaries["kube-scheduler"], scheduler_config, ports)
        )
        stamp = self._builder.build_info(MPI_OPERATOR)
        manifests = load_operator_manifests(operator_module_dir(stamp, self._go))
        bootstrap.install_operator_manifests(admin, manifests)
        crd_ready = lambda: bootstrap.crd_established(admin)  # noqa: E731
        self._wait(apiserver, "the MPIJob CRD is Established", crd_ready)
        operator_token = bootstrap.request_token(
            admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, _TOKEN_SECONDS
        )
        operator_config = write_kubeconfig(
            folder / "mpi-operator.kubeconfig",
            kubeconfig_dict(self.url, pki.ca.cert, name=_CONTEXT, token=operator_token),
        )
        # The operator prefers $KUBECONFIG to its flag, and scopes itself to
        # $KUBEFLOW_NAMESPACE: set the one, drop the other.
        env = {k: v for k, v in os.environ.items() if k != "KUBEFLOW_NAMESPACE"}
        env["KUBECONFIG"] = str(operator_config)
        operator = self._spawn(
            "mpi-operator", mpi_operator_argv(binaries["mpi-operator"], operator_config), env
        )
        bootstrap.install_provider_access(admin, self.namespace)
        self._token = bootstrap.request_token(
            admin, self.namespace, PROVIDER_SERVICE_ACCOUNT, _TOKEN_SECONDS
        )
        self._kubeconfig = write_kubeconfig(folder / "kubeconfig", self.kubeconfig())
        self._wait(
            operator,
            "it holds its Lease and its workers run",
            lambda: (
                bool(bootstrap.operator_leader(admin))
                and "Started workers" in log_tail(operator.log, lines=400)
            ),
        )
        # The controller-manager's service-account controller gives every namespace its
        # "default" account, which pods need: proof that the controllers run.
        kcm = self._children[2]
        self._wait(
            kcm,
            f"it created the ServiceAccount {self.namespace}/default",
            lambda: bool(
                admin.request("GET", f"/api/v1/namespaces/{self.namespace}/serviceaccounts/default")
            ),
        )
        factory = self._node_agent_factory or _default_node_agent
        self.node_agent = factory(self)

    def _spawn(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> _Child:
        assert self._tmpdir is not None
        log = self._tmpdir / "logs" / f"{name}.log"
        argv = [*argv, *self._extra_args.get(name, ())]
        child = _Child(name, spawn(argv, log_path=log, env=env, cwd=self._tmpdir), log)
        self._children.append(child)
        return child

    def check_alive(self) -> None:
        """Raise when a component process has ended.

        Raises:
            ComponentExitedError: Naming the component, its status and its last log lines.
        """
        for child in self._children:
            code = child.process.poll()
            if code is not None:
                raise ComponentExitedError(child.name, code, str(child.log), log_tail(child.log))

    def _wait(self, child: _Child, what: str, probe: Callable[[], bool]) -> None:
        bootstrap.wait_until(
            child.name,
            what,
            probe,
            timeout=self._timeout,
            check_alive=self.check_alive,
            log_tail=lambda: log_tail(child.log),
        )

    @staticmethod
    def _etcd_healthy(port: int) -> bool:
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/health")
            return b'"health":"true"' in connection.getresponse().read()
        finally:
            connection.close()

    def _write_cert_kubeconfig(self, name: str, cert: Path, key: Path) -> Path:
        assert self._tmpdir is not None
        assert self._pki is not None
        config = kubeconfig_dict(
            self.url, self._pki.ca.cert, name=_CONTEXT, namespace=self.namespace, cert=cert, key=key
        )
        return write_kubeconfig(self._tmpdir / f"{name}.kubeconfig", config)

    def stop(self) -> None:
        """Stop the node agent and every process (operator first, etcd last); remove the files."""
        while self._clients:
            self._clients.pop().close()
        if self.node_agent is not None:
            agent, self.node_agent = self.node_agent, None
            agent.stop()
        while self._children:
            stop_process(self._children.pop().process)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        self._tmpdir = self._pki = self._ports = None
        self._kubeconfig = self._admin_kubeconfig = None
        self._token = None

    def __enter__(self) -> RealCluster:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------- properties

    def _need(self, what: Any, name: str) -> Any:
        if what is None:
            from airflow_provider_mpi.testing.cluster import ClusterNotRunningError

            raise ClusterNotRunningError(
                f"RealCluster.{name} needs a started cluster: use `with RealCluster() as c:`"
            )
        return what

    @property
    def url(self) -> str:
        """The API server URL, e.g. ``https://127.0.0.1:41234``."""
        ports: Ports = self._need(self._ports, "url")
        return f"https://127.0.0.1:{ports.apiserver}"

    @property
    def certificate_authority(self) -> bytes:
        """The PEM CA certificate of this start."""
        pki: ClusterPKI = self._need(self._pki, "certificate_authority")
        return pki.ca_pem

    @property
    def pki(self) -> ClusterPKI:
        """The certificates of this start (issue more, e.g. for kubelets)."""
        pki: ClusterPKI = self._need(self._pki, "pki")
        return pki

    @property
    def token(self) -> str:
        """The bearer token of the provider's ServiceAccount."""
        token: str = self._need(self._token, "token")
        return token

    @property
    def kubeconfig_path(self) -> str:
        """A kubeconfig for the provider's ServiceAccount (namespaced Role, not cluster-admin)."""
        return str(self._need(self._kubeconfig, "kubeconfig_path"))

    @property
    def admin_kubeconfig_path(self) -> str:
        """A kubeconfig in ``system:masters``, for the harness (node agent, checks)."""
        return str(self._need(self._admin_kubeconfig, "admin_kubeconfig_path"))

    @property
    def nodes(self) -> tuple[str, ...] | None:
        """The node names asked for (``None``: the node agent's default)."""
        return self._nodes

    @property
    def logs(self) -> dict[str, Path]:
        """The log file of every running component, by name."""
        return {child.name: child.log for child in self._children}

    @property
    def pids(self) -> dict[str, int]:
        """The process id of every running component, by name."""
        return {child.name: child.process.pid for child in self._children}

    # ---------------------------------------------------------------- clients

    def kubeconfig(self) -> dict[str, Any]:
        """The provider's kubeconfig as a dict."""
        pki: ClusterPKI = self._need(self._pki, "kubeconfig")
        return kubeconfig_dict(
            self.url, pki.ca.cert, name=_CONTEXT, namespace=self.namespace, token=self.token
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
        from kubernetes import config

        path = self.admin_kubeconfig_path if admin else self.kubeconfig_path
        client = config.new_client_from_config(config_file=path, persist_config=False)
        self._clients.append(client)
        return client

    def async_api_client(self) -> Any:
        """A ``kubernetes_asyncio`` ApiClient: ``await`` it, or ``async with`` it (closes it)."""
        from airflow_provider_mpi.testing.cluster import _AsyncClient

        return _AsyncClient(self.kubeconfig_path)

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
