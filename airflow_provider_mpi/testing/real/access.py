"""Who may do what on the real control plane, and the kubeconfigs that carry it.

The provider's tracker runs as a namespaced ServiceAccount whose Role holds
only the verbs the provider sends (read from
``mpioperator/client/requests.py``), plus a ClusterRole to read the one CRD its
connection test checks. The harness keeps an admin kubeconfig (client
certificate in ``system:masters``) for itself.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "PROVIDER_CLUSTER_RULES",
    "PROVIDER_RULES",
    "PROVIDER_SERVICE_ACCOUNT",
    "kubeconfig_dict",
    "provider_rbac",
    "write_kubeconfig",
]

PROVIDER_SERVICE_ACCOUNT = "mpi-provider"

#: The provider's requests in the job namespace (docs/real-cluster.md lists them).
PROVIDER_RULES: tuple[dict[str, Any], ...] = (
    # create, get, list (+ limit/continue), watch (list?watch=true), merge-patch
    # (suspend, resume, hold, release), delete (propagationPolicy).
    {
        "apiGroups": ["kubeflow.org"],
        "resources": ["mpijobs"],
        "verbs": ["create", "get", "list", "watch", "patch", "delete"],
    },
    # The launcher and worker pods of a job, by label selector (status, machines);
    # the launcher pods' shared watch of a namespace (a waiter's JobInfo, no reads).
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
    # An array's owner ConfigMap: its intent, recorded before the first task, and
    # the release mark that waiters move with resourceVersion preconditions.
    {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "verbs": ["create", "get", "list", "patch", "delete"],
    },
    # The launcher's output (job_output, the operator's log lines).
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    # The job's events (ValidationError and failure reasons).
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
)

#: Cluster scoped: the connection test reads the MPIJob CRD, and only that one.
PROVIDER_CLUSTER_RULES: tuple[dict[str, Any], ...] = (
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "resourceNames": ["mpijobs.kubeflow.org"],
        "verbs": ["get"],
    },
)


def provider_rbac(namespace: str) -> list[tuple[str, dict[str, Any]]]:
    """The ServiceAccount, Role, ClusterRole and bindings of the provider in ``namespace``.

    Args:
        namespace: The job namespace.

    Returns:
        ``(collection path, object)`` pairs, in creation order.
    """
    name = PROVIDER_SERVICE_ACCOUNT
    cluster_name = f"{name}:{namespace}"
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    return [
        (
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        ),
        (
            f"{rbac}/namespaces/{namespace}/roles",
            {"kind": "Role", "metadata": {"name": name}, "rules": list(PROVIDER_RULES)},
        ),
        (
            f"{rbac}/namespaces/{namespace}/rolebindings",
            {
                "kind": "RoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": subject,
            },
        ),
        (
            f"{rbac}/clusterroles",
            {
                "kind": "ClusterRole",
                "metadata": {"name": "mpi-provider-crd-reader"},
                "rules": list(PROVIDER_CLUSTER_RULES),
            },
        ),
        (
            f"{rbac}/clusterrolebindings",
            {
                "kind": "ClusterRoleBinding",
                "metadata": {"name": cluster_name},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "mpi-provider-crd-reader",
                },
                "subjects": subject,
            },
        ),
    ]


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def kubeconfig_dict(
    server: str,
    ca: Path,
    *,
    name: str,
    namespace: str = "default",
    token: str | None = None,
    cert: Path | None = None,
    key: Path | None = None,
) -> dict[str, Any]:
    """A kubeconfig with one cluster, user and context (credentials embedded).

    Args:
        server: The API server URL.
        ca: The CA certificate file.
        name: The name of the cluster, user and context.
        namespace: The context's namespace.
        token: A bearer token, or
        cert: a client certificate file, with
        key: its key file.

    Returns:
        The kubeconfig.
    """
    user: dict[str, Any] = {}
    if token:
        user["token"] = token
    if cert is not None and key is not None:
        user["client-certificate-data"] = _b64(cert)
        user["client-key-data"] = _b64(key)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": server, "certificate-authority-data": _b64(ca)}}
        ],
        "users": [{"name": name, "user": user}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
        ],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: Path | str, config: dict[str, Any]) -> Path:
    """Write a kubeconfig with mode 0600 (it holds credentials), atomically.

    Args:
        path: Where.
        config: The kubeconfig.

    Returns:
        The path.
    """
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    os.replace(partial, target)
    return target
