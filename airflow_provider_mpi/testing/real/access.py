"""Who may do what on the real control plane; ``testing.kubeconfig`` writes what carries it.

The provider's tracker runs as a namespaced ServiceAccount whose Role holds
only the verbs the provider sends (read from
``mpioperator/client/requests.py``), plus a ClusterRole to read the one CRD its
connection test checks. The harness keeps an admin kubeconfig (client
certificate in ``system:masters``) for itself.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PROVIDER_CLUSTER_RULES",
    "PROVIDER_RULES",
    "PROVIDER_SERVICE_ACCOUNT",
    "provider_rbac",
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
