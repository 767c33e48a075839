"""The objects a kubelet writes about itself, built as plain JSON (pure functions).

The node agent registers each node it stands for as a core/v1 ``Node``
(Ready, with capacity, loopback address and the port of its kubelet
endpoint), keeps a ``coordination.k8s.io/v1`` ``Lease`` per node in
``kube-node-lease`` renewed (the node controller's heartbeat), and patches
pod status with a JSON merge patch computed by :func:`status_patch`.
"""

from __future__ import annotations

import platform
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow_provider_mpi.testing.controller.kubelet import node_labels
from airflow_provider_mpi.testing.controller.meta import format_time
from airflow_provider_mpi.testing.real.agentapi import MERGE_PATCH, AgentAPI, ApiError

__all__ = [
    "KUBELET_STATUS_KEYS",
    "LEASE_DURATION_SECONDS",
    "NODE_LEASE_NAMESPACE",
    "kubelet_status",
    "lease_object",
    "micro_time",
    "node_object",
    "node_status",
    "register_nodes",
    "renew_lease",
    "status_patch",
]

JSONDict = dict[str, Any]
NODE_LEASE_NAMESPACE = "kube-node-lease"
#: The kubelet's default ``nodeLeaseDurationSeconds``.
LEASE_DURATION_SECONDS = 40
_CAPACITY = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}
_KUBELET_VERSION = "v1.35.4"


def micro_time(moment: datetime) -> str:
    """A ``MicroTime`` (RFC 3339 with microseconds), as Lease times are written."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_status(port: int, now: datetime, *, address: str = "127.0.0.1") -> JSONDict:
    """The status of a healthy node.

    Args:
        port: The port of its kubelet endpoint (``daemonEndpoints``); the API
            server proxies ``kubectl logs`` there.
        now: The heartbeat time.
        address: Its ``InternalIP``.

    Returns:
        The ``status`` object.
    """
    stamp = format_time(now)

    def condition(kind: str, ok: bool, reason: str, message: str) -> JSONDict:
        return {
            "type": kind,
            "status": "True" if ok else "False",
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
            "reason": reason,
            "message": message,
        }

    return {
        "capacity": dict(_CAPACITY),
        "allocatable": dict(_CAPACITY),
        "conditions": [
            condition(
                "MemoryPressure", False, "KubeletHasSufficientMemory", "kubelet has enough memory"
            ),
            condition("DiskPressure", False, "KubeletHasNoDiskPressure", "no disk pressure"),
            condition("PIDPressure", False, "KubeletHasSufficientPID", "enough PIDs available"),
            condition("Ready", True, "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": address}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "nodeInfo": {
            "machineID": uuid.uuid4().hex,
            "systemUUID": str(uuid.uuid4()),
            "bootID": str(uuid.uuid4()),
            "kernelVersion": platform.release(),
            "osImage": "airflow-provider-mpi node agent",
            "containerRuntimeVersion": "node-agent://1",
            "kubeletVersion": _KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


def node_object(name: str, port: int, now: datetime) -> JSONDict:
    """A Node to register (the API server keeps the status given on create).

    Args:
        name: The node name.
        port: Its kubelet endpoint port.
        now: The registration time.

    Returns:
        The ``Node``.
    """
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": node_labels(name, "node-agent")},
        "spec": {},
        "status": node_status(port, now),
    }


def lease_object(node: str, now: datetime) -> JSONDict:
    """The node's heartbeat Lease, renewed at ``now``.

    Args:
        node: The node name (also the holder).
        now: The renew time.

    Returns:
        The ``Lease`` (without ``resourceVersion``).
    """
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": node, "namespace": NODE_LEASE_NAMESPACE},
        "spec": {
            "holderIdentity": node,
            "leaseDurationSeconds": LEASE_DURATION_SECONDS,
            "renewTime": micro_time(now),
        },
    }


#: The pod status fields a kubelet owns; others (``qosClass``, conditions
#: of other writers) are kept as the API server or controllers set them.
KUBELET_STATUS_KEYS = frozenset(
    {
        "phase",
        "conditions",
        "hostIP",
        "hostIPs",
        "podIP",
        "podIPs",
        "startTime",
        "containerStatuses",
        "reason",
        "message",
    }
)


def kubelet_status(old: Mapping[str, Any] | None, rendered: Mapping[str, Any]) -> JSONDict:
    """The status to write: the kubelet's fields from ``rendered``, the others kept from ``old``.

    Conditions of types the kubelet does not render (``DisruptionTarget`` of
    the controllers, readiness gates) are kept after the kubelet's.

    Args:
        old: The status as stored.
        rendered: The status the kubelet's record renders.

    Returns:
        The status wanted.
    """
    before = dict(old or {})
    wanted: JSONDict = {k: v for k, v in before.items() if k not in KUBELET_STATUS_KEYS}
    wanted.update(rendered)
    ours = {c.get("type") for c in rendered.get("conditions") or []}
    kept = [c for c in before.get("conditions") or [] if c.get("type") not in ours]
    if kept:
        wanted["conditions"] = [*(rendered.get("conditions") or []), *kept]
    return wanted


def status_patch(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> JSONDict:
    """A JSON merge patch (RFC 7386) turning status ``old`` into ``new``.

    Lists are replaced whole (as merge patch does); keys of ``old`` missing
    from ``new`` are removed with ``null``; nested objects are patched key by
    key. An empty result means nothing changed.

    Args:
        old: The status as stored (``None`` when it has none).
        new: The status wanted.

    Returns:
        The patch of the ``status`` object.
    """
    before = dict(old or {})
    patch: JSONDict = {}
    for key, value in new.items():
        if key not in before:
            patch[key] = value
        elif isinstance(value, Mapping) and isinstance(before[key], Mapping):
            inner = status_patch(before[key], value)
            if inner:
                patch[key] = inner
        elif before[key] != value:
            patch[key] = value
    for key in before:
        if key not in new:
            patch[key] = None
    return patch


def renew_lease(api: AgentAPI, node: str, now: datetime) -> None:
    """Renew the node's Lease in ``kube-node-lease`` (created when missing).

    Args:
        api: The API access.
        node: The node name.
        now: The renew time.

    Raises:
        ApiError: The API server refused it.
    """
    path = f"/apis/coordination.k8s.io/v1/namespaces/{NODE_LEASE_NAMESPACE}/leases"
    lease = lease_object(node, now)
    try:
        api.request(
            "PATCH", f"{path}/{node}", body={"spec": lease["spec"]}, content_type=MERGE_PATCH
        )
    except ApiError as error:
        if error.status != 404:
            raise
        api.request("POST", path, body=lease)


def register_nodes(api: AgentAPI, nodes: tuple[str, ...], port: int, now: datetime) -> None:
    """Register (or re-register) Ready Nodes advertising the kubelet ``port``, with their Leases.

    Args:
        api: The API access.
        nodes: The node names.
        port: The kubelet endpoint's port.
        now: The registration time.

    Raises:
        ApiError: The API server refused a Node or a Lease.
    """
    for node in nodes:
        try:
            api.request("POST", "/api/v1/nodes", body=node_object(node, port, now))
        except ApiError as error:
            if error.status != 409:
                raise
        # Written again through /status: a re-registration brings the new port.
        api.request(
            "PATCH",
            f"/api/v1/nodes/{node}/status",
            body={"status": node_status(port, now)},
            content_type=MERGE_PATCH,
        )
        renew_lease(api, node, now)
