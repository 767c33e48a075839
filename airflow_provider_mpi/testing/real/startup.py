"""The start sequence of the real control plane, component by component, each waited for.

1. etcd, until ``/health`` answers;
2. kube-apiserver, until ``/readyz`` is ok (admin client certificate);
3. kube-controller-manager and kube-scheduler, with their own identities;
4. the operator's CRD, RBAC and ServiceAccount from its module, until the CRD
   is ``Established``;
5. mpi-operator with a token of its ServiceAccount, until it holds its Lease
   and logs that its workers started;
6. the provider's ServiceAccount, Role and bindings, and a token for the
   kubeconfig handed out; then the controller-manager's ``default``
   ServiceAccount in the job namespace (pods need it; proof the controllers run).

Every wait fails early, with the component's log, when any process dies.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_mpi.testing.kubeconfig import kubeconfig_dict, write_kubeconfig
from airflow_provider_mpi.testing.real import bootstrap
from airflow_provider_mpi.testing.real.access import PROVIDER_SERVICE_ACCOUNT
from airflow_provider_mpi.testing.real.flags import (
    OPERATOR_NAMESPACE,
    Ports,
    apiserver_argv,
    controller_manager_argv,
    etcd_argv,
    mpi_operator_argv,
    scheduler_argv,
)
from airflow_provider_mpi.testing.real.group import ComponentGroup
from airflow_provider_mpi.testing.real.manifests import (
    OPERATOR_SERVICE_ACCOUNT,
    load_operator_manifests,
)
from airflow_provider_mpi.testing.real.pki import CertPair, ClusterPKI
from airflow_provider_mpi.testing.real.procs import free_port, log_tail
from airflow_provider_mpi.testing.real.rest import RestClient

__all__ = ["CONTEXT", "Launched", "launch"]

CONTEXT = "mpi-real-cluster"
#: Lifetime of the tokens handed out (a week: longer than any test or demo).
TOKEN_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Launched:
    """What a finished start hands to the cluster object.

    Attributes:
        pki: the certificates of this start.
        ports: the ports chosen.
        admin_kubeconfig: the harness' kubeconfig (``system:masters``).
        kubeconfig: the provider's kubeconfig (namespaced ServiceAccount).
        token: the provider ServiceAccount's token.
    """

    pki: ClusterPKI
    ports: Ports
    admin_kubeconfig: Path
    kubeconfig: Path
    token: str

    @property
    def url(self) -> str:
        """The API server URL."""
        return f"https://127.0.0.1:{self.ports.apiserver}"


def _etcd_healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/health")
        return b'"health":"true"' in connection.getresponse().read()
    finally:
        connection.close()


def launch(
    group: ComponentGroup,
    binaries: dict[str, Path],
    *,
    port: int,
    namespace: str,
    operator_module: Callable[[], Path],
) -> Launched:
    """Start every component in ``group.folder`` and wait until the kubeconfig works.

    Args:
        group: Where the processes go.
        binaries: The binaries by name.
        port: The API server's port (0: any free one).
        namespace: The job namespace of the provider's kubeconfig.
        operator_module: Finds the operator's module folder (its CRD and RBAC).

    Returns:
        The kubeconfigs and credentials.
    """
    folder = group.folder
    pki = ClusterPKI(folder / "pki")
    ports = Ports(
        etcd_client=free_port(),
        etcd_peer=free_port(),
        apiserver=port or free_port(),
        controller_manager=free_port(),
        scheduler=free_port(),
    )
    url = f"https://127.0.0.1:{ports.apiserver}"

    def cert_kubeconfig(name: str, pair: CertPair) -> Path:
        config = kubeconfig_dict(
            url, pki.ca.cert, name=CONTEXT, namespace=namespace, cert=pair.cert, key=pair.key
        )
        return write_kubeconfig(folder / f"{name}.kubeconfig", config)

    etcd = group.spawn("etcd", etcd_argv(binaries["etcd"], folder / "etcd", ports))
    group.wait(etcd, "/health answers", lambda: _etcd_healthy(ports.etcd_client))
    apiserver = group.spawn(
        "kube-apiserver", apiserver_argv(binaries["kube-apiserver"], pki, ports)
    )
    admin = RestClient(ports.apiserver, pki.ca.cert, cert=pki.admin.cert, key=pki.admin.key)
    group.wait(apiserver, "/readyz is ok", lambda: admin.request("GET", "/readyz") == "ok")
    admin_kubeconfig = cert_kubeconfig("admin", pki.admin)
    kcm_config = cert_kubeconfig("kube-controller-manager", pki.controller_manager)
    kcm = group.spawn(
        "kube-controller-manager",
        controller_manager_argv(binaries["kube-controller-manager"], pki, kcm_config, ports),
    )
    scheduler_config = cert_kubeconfig("kube-scheduler", pki.scheduler)
    group.spawn(
        "kube-scheduler", scheduler_argv(binaries["kube-scheduler"], scheduler_config, ports)
    )

    manifests = load_operator_manifests(operator_module())
    bootstrap.install_operator_manifests(admin, manifests)
    group.wait(apiserver, "the MPIJob CRD is Established", lambda: bootstrap.crd_established(admin))
    operator_token = bootstrap.request_token(
        admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, TOKEN_SECONDS
    )
    operator_config = write_kubeconfig(
        folder / "mpi-operator.kubeconfig",
        kubeconfig_dict(url, pki.ca.cert, name=CONTEXT, token=operator_token),
    )
    # The operator prefers $KUBECONFIG to its flag, and scopes itself to
    # $KUBEFLOW_NAMESPACE: set the one, drop the other.
    env = {k: v for k, v in os.environ.items() if k != "KUBEFLOW_NAMESPACE"}
    env["KUBECONFIG"] = str(operator_config)
    operator = group.spawn(
        "mpi-operator", mpi_operator_argv(binaries["mpi-operator"], operator_config), env
    )

    bootstrap.install_provider_access(admin, namespace)
    token = bootstrap.request_token(admin, namespace, PROVIDER_SERVICE_ACCOUNT, TOKEN_SECONDS)
    kubeconfig = write_kubeconfig(
        folder / "kubeconfig",
        kubeconfig_dict(url, pki.ca.cert, name=CONTEXT, namespace=namespace, token=token),
    )
    group.wait(
        operator,
        "it holds its Lease and its workers run",
        lambda: (
            bool(bootstrap.operator_leader(admin))
            and "Started workers" in log_tail(operator.log, lines=400)
        ),
    )
    group.wait(
        kcm,
        f"it created the ServiceAccount {namespace}/default",
        lambda: bool(
            admin.request("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default")
        ),
    )
    return Launched(pki, ports, admin_kubeconfig, kubeconfig, token)
