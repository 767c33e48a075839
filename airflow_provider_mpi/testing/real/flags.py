"""The command lines of the control-plane components (pure: paths and ports in, argv out).

Flags follow what kwok's kwokctl passes to the same binaries
(``pkg/kwokctl/components``) and what the MPI operator's manifests pass to it,
narrowed to a loopback-only, single-member cluster with RBAC on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from airflow_provider_mpi.testing.real.pki import ClusterPKI

__all__ = [
    "Ports",
    "apiserver_argv",
    "controller_manager_argv",
    "etcd_argv",
    "mpi_operator_argv",
    "scheduler_argv",
]

LOOPBACK = "127.0.0.1"
SERVICE_CIDR = "10.0.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
#: The namespace of the operator's lease (its manifests pass the same).
OPERATOR_NAMESPACE = "mpi-operator"
#: Paths the components serve without authentication (probes).
_ALWAYS_ALLOW = "/healthz,/readyz,/livez,/metrics"


@dataclass(frozen=True)
class Ports:
    """The ports of one start, all on 127.0.0.1."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int


def etcd_argv(binary: Path, data_dir: Path, ports: Ports) -> list[str]:
    """etcd: one member, client and peer URLs on loopback, no fsync (a throw-away store)."""
    client = f"http://{LOOPBACK}:{ports.etcd_client}"
    peer = f"http://{LOOPBACK}:{ports.etcd_peer}"
    return [
        str(binary),
        "--name=node0",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=node0={peer}",
        "--initial-cluster-state=new",
        "--auto-compaction-retention=1",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


#: A lone instance: no leader election, no profiling endpoints, little logging.
_QUIET_SINGLE = ("--leader-elect=false", "--profiling=false", "--v=1")


def _served_component(binary: Path, kubeconfig: Path, port: int) -> list[str]:
    """The binary and the flags of a component that reads the API and serves HTTPS on ``port``."""
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--authorization-always-allow-paths={_ALWAYS_ALLOW}",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={port}",
    ]


def apiserver_argv(binary: Path, pki: ClusterPKI, ports: Ports) -> list[str]:
    """kube-apiserver: TLS with the per-start CA, RBAC and Node authorization, loopback only."""
    return [
        str(binary),
        f"--etcd-servers=http://{LOOPBACK}:{ports.etcd_client}",
        f"--bind-address={LOOPBACK}",
        f"--advertise-address={LOOPBACK}",
        f"--secure-port={ports.apiserver}",
        f"--tls-cert-file={pki.apiserver.cert}",
        f"--tls-private-key-file={pki.apiserver.key}",
        f"--client-ca-file={pki.ca.cert}",
        f"--service-account-key-file={pki.service_account_pub}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--endpoint-reconciler-type=none",
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        f"--kubelet-client-certificate={pki.kubelet_client.cert}",
        f"--kubelet-client-key={pki.kubelet_client.key}",
        "--profiling=false",
        "--v=1",
    ]


def controller_manager_argv(
    binary: Path, pki: ClusterPKI, kubeconfig: Path, ports: Ports
) -> list[str]:
    """kube-controller-manager: every default controller, each under its own service account."""
    return [
        *_served_component(binary, kubeconfig, ports.controller_manager),
        f"--root-ca-file={pki.ca.cert}",
        f"--service-account-private-key-file={pki.service_account_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--use-service-account-credentials=true",
        *_QUIET_SINGLE,
    ]


def scheduler_argv(binary: Path, kubeconfig: Path, ports: Ports) -> list[str]:
    """kube-scheduler: the default profile."""
    return [
        *_served_component(binary, kubeconfig, ports.scheduler),
        *_QUIET_SINGLE,
    ]


def mpi_operator_argv(binary: Path, kubeconfig: Path) -> list[str]:
    """mpi-operator: cluster scoped, its lease in ``mpi-operator``, no gang scheduling."""
    return [
        str(binary),
        f"--kubeConfig={kubeconfig}",
        f"--lock-namespace={OPERATOR_NAMESPACE}",
        "--gang-scheduling=",
        "-alsologtostderr",
    ]
