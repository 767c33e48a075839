"""``MPICluster``: an emulated Kubernetes cluster with the MPI operator, in-process.

One object starts and stops the pieces: the store, the HTTP API server on
127.0.0.1 (with its fault layer and request counters), and the controllers
(MPI operator, Job controller, kubelet) on their loop thread. It writes a
kubeconfig with a bearer token, so any Kubernetes client (``kubernetes``,
``kubernetes_asyncio``, ``kubectl``, an Airflow connection) can be pointed at
it, and it lets tests choose how time passes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_mpi.testing.clock import Clock, ManualClock, RealClock
from airflow_provider_mpi.testing.kubeconfig import (
    AsyncClient,
    ClientPool,
    kubeconfig_dict,
    write_kubeconfig,
)
from airflow_provider_mpi.testing.lifecycle import ClusterNotRunningError, Service, require_started

if TYPE_CHECKING:
    from airflow_provider_mpi.testing.controller.loop import ControllerLoop
    from airflow_provider_mpi.testing.faults import FaultInjector, RequestCounters
    from airflow_provider_mpi.testing.server import EmulatorServer
    from airflow_provider_mpi.testing.store import Store

__all__ = ["ClusterNotRunningError", "MPICluster", "mpijob_crd"]

ClockOption = Clock | str | float | None
_CONTEXT = "mpi-emulator"


def make_clock(option: ClockOption) -> Clock:
    """Turn the ``clock=`` option of :class:`MPICluster` into a clock.

    Args:
        option: ``None`` or ``"real"`` (wall time), ``"manual"`` (a fresh
            :class:`ManualClock`), a speed factor (``10.0``), or a clock.

    Returns:
        The clock.

    Raises:
        ValueError: When the option is none of those.
    """
    if option is None or option == "real":
        return RealClock()
    if option == "manual":
        return ManualClock()
    if isinstance(option, (int, float)) and not isinstance(option, bool):
        return RealClock(speed=float(option))
    if isinstance(option, Clock):
        return option
    raise ValueError(
        f'clock must be None, "real", "manual", a speed factor or a Clock, got {option!r}'
    )


def mpijob_crd() -> dict[str, Any]:
    """The ``mpijobs.kubeflow.org`` CustomResourceDefinition a cluster with the operator lists.

    Returns:
        The CRD object (``apiextensions.k8s.io/v1``), established.
    """
    # The server validates MPIJobs with its own structural schema (schema.py);
    # the listed CRD only has to be well formed.
    schema: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    names = {"kind": "MPIJob", "listKind": "MPIJobList", "plural": "mpijobs", "singular": "mpijob"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "mpijobs.kubeflow.org",
            "annotations": {"controller-gen.kubebuilder.io/version": "v0.17.2"},
        },
        "spec": {
            "group": "kubeflow.org",
            "names": names,
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v2beta1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
        "status": {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
            ],
            "storedVersions": ["v2beta1"],
        },
    }


class MPICluster(Service):
    """An emulated Kubernetes cluster with the Kubeflow MPI operator v0.8.2.

    Use it as a context manager::

        with MPICluster(clock=10.0) as cluster:
            api = kubernetes.client.CustomObjectsApi(cluster.api_client())
            ...

    Args:
        local_exec: Run launcher commands as real local processes (off by
            default: pods follow their scripts).
        clock: ``None``/``"real"``, ``"manual"``, a speed factor, or a clock.
        port: The port on 127.0.0.1 (0: any free port).
        namespace: The namespace of the kubeconfig context (created if needed).
        token: The bearer token (default: a random one).
        operator_installed: Whether the MPI operator is installed. When False
            the ``mpijobs.kubeflow.org`` CRD is not listed and the operator
            idles, as on a cluster without it, until the CRD is created (for
            example by applying the operator's manifests).
        faults: A fault injector to put in front of the server (default: a new
            one without faults).
        tls: Serve HTTPS with a fresh self-signed certificate, which the
            kubeconfig carries as ``certificate-authority-data`` (kubectl only
            sends a bearer token over HTTPS); ``False`` serves plain HTTP.
    """

    #: Which backend this is (the pytest plugin's ``--cluster``); a real one says ``"real"``.
    backend = "emulated"

    def __init__(
        self,
        *,
        local_exec: bool = False,
        clock: ClockOption = None,
        port: int = 0,
        namespace: str = "default",
        token: str | None = None,
        operator_installed: bool = True,
        faults: FaultInjector | None = None,
        tls: bool = True,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be from 0 to 65535, got {port!r}")
        self.clock = make_clock(clock)
        self.local_exec = local_exec
        self.namespace = namespace
        self.operator_installed = operator_installed
        self._port = port
        self._token = token or secrets.token_urlsafe(32)
        self._faults = faults
        self.tls = tls
        self._ca_pem: bytes | None = None
        self._store: Store | None = None
        self._server: EmulatorServer | None = None
        self._loop: ControllerLoop | None = None
        self._kubelet: Any = None
        self._tmpdir: str | None = None
        self._kubeconfig: str | None = None
        self._clients = ClientPool()

    # -------------------------------------------------------------- lifecycle

    def start(self) -> MPICluster:
        """Start store, server and controllers (``with`` does this).

        Returns:
            The cluster itself.
        """
        if self._store is not None:
            return self
        from airflow_provider_mpi.testing.controller.events import EventReaper
        from airflow_provider_mpi.testing.controller.garbage import GarbageCollector
        from airflow_provider_mpi.testing.controller.job import JobController
        from airflow_provider_mpi.testing.controller.kubelet import Kubelet
        from airflow_provider_mpi.testing.controller.loop import ControllerLoop
        from airflow_provider_mpi.testing.controller.mpijob import MPIJobController
        from airflow_provider_mpi.testing.faults import FaultInjector
        from airflow_provider_mpi.testing.server import EmulatorServer
        from airflow_provider_mpi.testing.store import NotFound, Store

        store = Store(now=self.clock.now)
        try:
            store.get("namespaces", None, self.namespace)
        except NotFound:
            store.create("namespaces", {"metadata": {"name": self.namespace}})
        if self.operator_installed:
            store.create("customresourcedefinitions", mpijob_crd())
        # A real API server's watch cache starts at its start-up resourceVersion: a
        # watch from before it (resourceVersion=1) is answered 410 Expired.
        store.compact()
        self._faults = self._faults if self._faults is not None else FaultInjector()
        kubelet = Kubelet(
            store, self.clock.now, local_exec=self.local_exec, wake=lambda: self._wake()
        )
        controllers: list[Any] = [
            GarbageCollector(store),
            MPIJobController(store, self.clock.now),
            JobController(store, self.clock.now),
            kubelet,
            EventReaper(store, self.clock.now),
        ]
        self._store, self._kubelet = store, kubelet
        self._loop = ControllerLoop(store, self.clock, controllers)
        try:
            ssl_context = None
            if self.tls:
                from airflow_provider_mpi.testing.server.tls import self_signed_identity

                identity = self_signed_identity()
                self._ca_pem = identity.certificate_pem
                ssl_context = identity.server_context()
            self._server = EmulatorServer(
                store,
                host="127.0.0.1",
                port=self._port,
                token=self._token,
                faults=self._faults,
                now=self.clock.now,
                ssl_context=ssl_context,
            )
            self._server.start()
            self._tmpdir = tempfile.mkdtemp(prefix="mpi-emulator-")
            self._kubeconfig = os.path.join(self._tmpdir, "kubeconfig")
            self.write_kubeconfig(self._kubeconfig)
            self._loop.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _wake(self) -> None:
        if self._loop is not None:
            self._loop.wake()

    def stop(self) -> None:
        """Stop controllers, local processes and the server; remove the kubeconfig.

        Clients made by :meth:`api_client` are closed.
        """
        self._clients.close()
        if self._loop is not None:
            self._loop.stop()
        if self._kubelet is not None:
            self._kubelet.close()
        if self._server is not None:
            self._server.stop()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        self._store = self._server = self._loop = self._kubelet = None
        self._tmpdir = self._kubeconfig = None
        self._ca_pem = None

    # ------------------------------------------------------------- properties

    @property
    def store(self) -> Store:
        """The store (read and write cluster objects directly, without HTTP)."""
        return require_started(self._store, self, "store")

    @property
    def url(self) -> str:
        """The API server URL, e.g. ``https://127.0.0.1:41234``."""
        return require_started(self._server, self, "url").url

    @property
    def certificate_authority(self) -> bytes | None:
        """The PEM certificate clients must trust (``None`` with ``tls=False``)."""
        return self._ca_pem

    @property
    def token(self) -> str:
        """The bearer token the server requires."""
        return self._token

    @property
    def kubeconfig_path(self) -> str:
        """Path of a kubeconfig (cluster, user with the token, current context)."""
        return require_started(self._kubeconfig, self, "kubeconfig_path")

    @property
    def faults(self) -> FaultInjector:
        """The fault injector in front of the server."""
        return require_started(self._faults, self, "faults")

    @property
    def requests(self) -> RequestCounters:
        """Request counters by verb and resource."""
        return require_started(self._server, self, "requests").counters

    @property
    def controller_errors(self) -> list[BaseException]:
        """Exceptions raised by the controllers on their thread (should stay empty)."""
        return list(self._loop.errors) if self._loop is not None else []

    # ---------------------------------------------------------------- clients

    def kubeconfig(self) -> dict[str, Any]:
        """The kubeconfig as a dict (``kubernetes.config.load_kube_config_from_dict``)."""
        return kubeconfig_dict(
            self.url, self._ca_pem, name=_CONTEXT, namespace=self.namespace, token=self._token
        )

    def write_kubeconfig(self, path: str) -> str:
        """Write the kubeconfig to ``path`` (mode 0600).

        Args:
            path: Where to write.

        Returns:
            The path.
        """
        write_kubeconfig(path, self.kubeconfig())
        return path

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` configured for this cluster.

        The client is closed when the cluster stops (or close it earlier with
        ``with cluster.api_client() as client:``).
        """
        return self._clients.sync(self.kubeconfig_path)

    def async_api_client(self) -> AsyncClient:
        """A ``kubernetes_asyncio`` ApiClient: ``await`` it, or ``async with`` it (closes it)."""
        return AsyncClient(self.kubeconfig_path)

    def install_operator(self) -> None:
        """Install the MPI operator in a cluster started without it (idempotent).

        Creates the ``mpijobs.kubeflow.org`` CRD, which brings the emulated
        operator to life, as applying the operator's manifests would.
        """
        from airflow_provider_mpi.testing.store import AlreadyExists

        with contextlib.suppress(AlreadyExists):
            self.store.create("customresourcedefinitions", mpijob_crd())
        self.operator_installed = True

    # ------------------------------------------------------------------- time

    def now(self) -> datetime:
        """The emulated time."""
        return self.clock.now()

    def advance(self, seconds: float = 0.0) -> datetime:
        """Move a manual clock on and run the controllers until nothing is due.

        ``advance(0)`` lets the controllers catch up with API writes at the
        current time.

        Args:
            seconds: Emulated seconds.

        Returns:
            The new emulated time.

        Raises:
            TypeError: When the cluster does not run on a :class:`ManualClock`.
        """
        return require_started(self._loop, self, "advance").advance(seconds)

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05
    ) -> None:
        """Wait (real time) until ``predicate()`` is true.

        Args:
            predicate: Checked after every store change, at least every ``interval``.
            timeout: Real seconds to wait at most.
            interval: Real seconds between checks.

        Raises:
            TimeoutError: When the predicate stays false.
        """
        store = self.store
        changed = threading.Event()
        unsubscribe = store.subscribe(lambda _event: changed.set())
        try:
            deadline = time.monotonic() + timeout
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                changed.wait(min(interval, remaining))
                changed.clear()
        finally:
            unsubscribe()
