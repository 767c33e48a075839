"""What the harness writes into a fresh control plane before anyone else may use it.

Each step is one or two admin requests; :func:`wait_until` runs the polls
while checking that no component process has died, so a broken start ends
with the dead component's log instead of a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from airflow_provider_mpi.testing.real.access import provider_rbac
from airflow_provider_mpi.testing.real.errors import ComponentNotReadyError
from airflow_provider_mpi.testing.real.flags import OPERATOR_NAMESPACE
from airflow_provider_mpi.testing.real.manifests import (
    OPERATOR_SERVICE_ACCOUNT,
    OperatorManifests,
)
from airflow_provider_mpi.testing.real.rest import APIError, RestClient

__all__ = [
    "crd_established",
    "ensure_namespace",
    "install_operator_manifests",
    "install_provider_access",
    "operator_leader",
    "request_token",
    "wait_until",
]

_RBAC = "/apis/rbac.authorization.k8s.io/v1"
_COLLECTIONS = {
    "ClusterRole": f"{_RBAC}/clusterroles",
    "ClusterRoleBinding": f"{_RBAC}/clusterrolebindings",
}


def wait_until(
    name: str,
    what: str,
    probe: Callable[[], bool],
    *,
    timeout: float,
    check_alive: Callable[[], None],
    log_tail: Callable[[], str] = lambda: "",
    interval: float = 0.1,
) -> None:
    """Poll ``probe`` until it is true; fail early when a component died.

    Args:
        name: The component waited for (for the message).
        what: What is waited for (for the message).
        probe: True when ready; connection errors count as "not yet".
        timeout: Seconds.
        check_alive: Raises when a component process has ended.
        log_tail: The end of the component's log, for the timeout message.
        interval: Seconds between probes.

    Raises:
        ComponentNotReadyError: When the time is up.
    """
    deadline = time.monotonic() + timeout
    while True:
        check_alive()
        try:
            if probe():
                return
        except (OSError, APIError):
            pass
        if time.monotonic() > deadline:
            raise ComponentNotReadyError(name, timeout, what, log_tail())
        time.sleep(interval)


def ensure_namespace(admin: RestClient, namespace: str) -> None:
    """Create a namespace unless it exists."""
    admin.create(
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )


def install_operator_manifests(admin: RestClient, manifests: OperatorManifests) -> None:
    """Install the operator's CRD, RBAC and ServiceAccount, as its kustomization does."""
    ensure_namespace(admin, OPERATOR_NAMESPACE)
    admin.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", manifests.crd)
    for item in manifests.rbac:
        admin.create(_COLLECTIONS[item["kind"]], item)
    admin.create(
        f"/api/v1/namespaces/{OPERATOR_NAMESPACE}/serviceaccounts",
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": OPERATOR_SERVICE_ACCOUNT},
        },
    )


def crd_established(admin: RestClient, name: str = "mpijobs.kubeflow.org") -> bool:
    """Whether the CRD's ``Established`` condition is True."""
    crd = admin.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def operator_leader(admin: RestClient) -> str:
    """The holder of the operator's leader-election Lease ('' when none)."""
    lease: dict[str, Any] = admin.request(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{OPERATOR_NAMESPACE}/leases/mpi-operator"
    )
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


def request_token(admin: RestClient, namespace: str, account: str, seconds: int) -> str:
    """A token of a ServiceAccount from the TokenRequest API.

    Args:
        admin: The admin client.
        namespace: The ServiceAccount's namespace.
        account: Its name.
        seconds: How long the token is valid.

    Returns:
        The bearer token.
    """
    answer = admin.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        },
    )
    return str(answer["status"]["token"])


def install_provider_access(admin: RestClient, namespace: str) -> None:
    """Create the provider's namespace, ServiceAccount, Role and bindings."""
    ensure_namespace(admin, namespace)
    for collection, item in provider_rbac(namespace):
        admin.create(collection, item)
