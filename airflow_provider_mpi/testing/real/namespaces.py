"""A namespace of a shared :class:`RealCluster`, with the surface tests use of ``MPICluster``.

Starting a real control plane takes seconds, so a test session starts one
and gives each test its own namespace: :class:`RealNamespace` creates it with
a Role and RoleBinding granting the provider's ServiceAccount the provider's
verbs there (the same rules as in the cluster's own namespace), writes a
kubeconfig whose context points at it, and deletes the namespace (its
MPIJobs, pods and events with it) when the test ends.

A namespace is handed over once pods can be created in it: the API server's
ServiceAccount admission refuses a pod (``error looking up service account
<ns>/default``) until the controller-manager has created the namespace's
``default`` ServiceAccount, and waits only about a second for it. On a loaded
machine the controller-manager can take longer, and the MPI operator's first
worker create then fails: it retries and the job runs, but a Warning
``MPIJobFailed`` event stays (CI saw it in the fidelity corpus). So, like the
Kubernetes e2e framework, :class:`RealNamespace` waits for that ServiceAccount.
"""

from __future__ import annotations

import itertools
import math
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_mpi.testing.kubeconfig import (
    AsyncClient,
    ClientPool,
    kubeconfig_dict,
    write_kubeconfig,
)
from airflow_provider_mpi.testing.real.access import PROVIDER_RULES, PROVIDER_SERVICE_ACCOUNT

if TYPE_CHECKING:
    from airflow_provider_mpi.testing.real.cluster import RealCluster

__all__ = ["RealNamespace", "namespace_name"]

_SERIAL = itertools.count(1)
_RBAC = "rbac.authorization.k8s.io"
#: How long a new namespace may wait for its ``default`` ServiceAccount.
DEFAULT_ACCOUNT_TIMEOUT = 120.0


def namespace_name(test_name: str, serial: int) -> str:
    """A DNS-1123 namespace name for a test: ``t<serial>-<slug of its name>``, ≤ 63 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")
    prefix = f"t{serial}-"
    return (prefix + slug)[:63].rstrip("-") or prefix.rstrip("-")


class RealNamespace:
    """One test's namespace on a shared real cluster.

    Args:
        cluster: The started cluster.
        test_name: The test's name (the namespace is named after it).
        account_timeout: Seconds to wait for the namespace's ``default``
            ServiceAccount (see the module docstring).

    Raises:
        TimeoutError: The controller-manager did not create the ``default``
            ServiceAccount in time (the namespace is deleted again).
    """

    backend = "real"

    def __init__(
        self,
        cluster: RealCluster,
        test_name: str,
        *,
        account_timeout: float = DEFAULT_ACCOUNT_TIMEOUT,
    ) -> None:
        from kubernetes import client

        self.cluster = cluster
        self.namespace = namespace_name(test_name, next(_SERIAL))
        self._tmp = tempfile.TemporaryDirectory(prefix="mpi-real-ns-")
        self._clients = ClientPool()
        self._admin = cluster.api_client(admin=True)
        core = client.CoreV1Api(self._admin)
        rbac = client.RbacAuthorizationV1Api(self._admin)
        core.create_namespace({"metadata": {"name": self.namespace}})
        name = PROVIDER_SERVICE_ACCOUNT
        rbac.create_namespaced_role(
            self.namespace, {"metadata": {"name": name}, "rules": [dict(r) for r in PROVIDER_RULES]}
        )
        rbac.create_namespaced_role_binding(
            self.namespace,
            {
                "metadata": {"name": name},
                "roleRef": {"apiGroup": _RBAC, "kind": "Role", "name": name},
                "subjects": [
                    {"kind": "ServiceAccount", "name": name, "namespace": cluster.namespace}
                ],
            },
        )
        self._kubeconfig = str(Path(self._tmp.name) / "kubeconfig")
        self.write_kubeconfig(self._kubeconfig)
        try:
            self._wait_allowed()
            self._wait_default_account(account_timeout)
        except BaseException:
            self.close()
            raise

    def _wait_default_account(self, timeout: float) -> None:
        """Watch until the controller-manager created the namespace's ``default`` ServiceAccount."""
        from kubernetes import client, watch

        core = client.CoreV1Api(self._admin)
        name = "metadata.name=default"
        listed = core.list_namespaced_service_account(self.namespace, field_selector=name)
        if listed.items:
            return
        stream = watch.Watch()
        for event in stream.stream(
            core.list_namespaced_service_account,
            self.namespace,
            field_selector=name,
            resource_version=listed.metadata.resource_version,
            timeout_seconds=max(1, math.ceil(timeout)),
        ):
            if event["type"] in ("ADDED", "MODIFIED"):
                stream.stop()
                return
        raise TimeoutError(
            f"namespace {self.namespace}: the controller-manager did not create its 'default' "
            f"ServiceAccount within {timeout} s, so no pod can be created there yet "
            f"(kube-controller-manager's log: {self.cluster.logs.get('kube-controller-manager')})"
        )

    def _wait_allowed(self) -> None:
        """RBAC caches roles: wait until the provider may list MPIJobs here."""
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        api = client.CustomObjectsApi(self.api_client())
        deadline = time.monotonic() + 10
        while True:
            try:
                api.list_namespaced_custom_object(
                    "kubeflow.org", "v2beta1", self.namespace, "mpijobs"
                )
                return
            except ApiException as error:
                if error.status != 403 or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # ------------------------------------------------------------ the surface

    @property
    def kubeconfig_path(self) -> str:
        """A kubeconfig of the provider's ServiceAccount, its context in this namespace."""
        return self._kubeconfig

    @property
    def url(self) -> str:
        """The API server URL."""
        return self.cluster.url

    @property
    def token(self) -> str:
        """The provider's bearer token."""
        return self.cluster.token

    @property
    def certificate_authority(self) -> bytes:
        """The PEM CA certificate of the API server."""
        return self.cluster.certificate_authority

    def kubeconfig(self) -> dict[str, Any]:
        """The kubeconfig as a dict."""
        return kubeconfig_dict(
            self.url,
            self.cluster.pki.ca.cert,
            name="mpi-real-cluster",
            namespace=self.namespace,
            token=self.token,
        )

    def write_kubeconfig(self, path: str) -> str:
        """Write the kubeconfig to ``path`` (mode 0600) and return the path."""
        return str(write_kubeconfig(path, self.kubeconfig()))

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` with the provider's identity."""
        return self._clients.sync(self._kubeconfig)

    def admin_api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` of the harness (``system:masters``)."""
        return self._admin

    def async_api_client(self) -> AsyncClient:
        """A ``kubernetes_asyncio`` ApiClient: ``await`` it, or ``async with`` it."""
        return AsyncClient(self._kubeconfig)

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05
    ) -> None:
        """Wait (real time) until ``predicate()`` is true.

        Raises:
            TimeoutError: When the predicate stays false.
        """
        self.cluster.wait_for(predicate, timeout=timeout, interval=interval)

    def close(self) -> None:
        """Delete the namespace (in the background) and the kubeconfig."""
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        try:
            client.CoreV1Api(self._admin).delete_namespace(self.namespace)
        except ApiException as error:
            if error.status != 404:
                raise
        self._clients.close()
        self._tmp.cleanup()
