"""Kubeconfigs and API clients for a cluster of the harness, emulated or real.

``MPICluster``, ``RealCluster`` and a test's ``RealNamespace`` all hand tests
the same things: a kubeconfig (as a dict, or written with mode 0600 since it
holds credentials) and ``kubernetes`` / ``kubernetes_asyncio`` API clients
made from it, closed when the cluster stops. They are written once here.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import yaml

__all__ = ["AsyncClient", "ClientPool", "kubeconfig_dict", "write_kubeconfig"]


def _b64(data: Path | bytes) -> str:
    raw = data.read_bytes() if isinstance(data, Path) else data
    return base64.b64encode(raw).decode("ascii")


def kubeconfig_dict(
    server: str,
    ca: Path | bytes | None,
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
        ca: The CA certificate: a PEM file, the PEM itself, or None (plain HTTP).
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
    cluster: dict[str, Any] = {"server": server}
    if ca is not None:
        cluster["certificate-authority-data"] = _b64(ca)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
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


class AsyncClient:
    """Awaitable and async context manager giving a ``kubernetes_asyncio`` ApiClient.

    Args:
        kubeconfig: Path of the kubeconfig (its current context is used).
    """

    def __init__(self, kubeconfig: str) -> None:
        self._kubeconfig = kubeconfig
        self._client: Any = None

    async def _make(self) -> Any:
        from kubernetes_asyncio import config

        return await config.new_client_from_config(
            config_file=self._kubeconfig, persist_config=False
        )

    def __await__(self) -> Generator[Any, None, Any]:
        return self._make().__await__()

    async def __aenter__(self) -> Any:
        self._client = await self._make()
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class ClientPool:
    """The ``kubernetes`` API clients a cluster handed out, closed together when it stops."""

    def __init__(self) -> None:
        self._clients: list[Any] = []

    def sync(self, kubeconfig: str) -> Any:
        """A ``kubernetes.client.ApiClient`` for a kubeconfig, closed by :meth:`close`.

        Args:
            kubeconfig: Path of the kubeconfig (its current context is used).

        Returns:
            The client (``with client:`` closes it earlier).
        """
        from kubernetes import config

        client = config.new_client_from_config(config_file=kubeconfig, persist_config=False)
        self._clients.append(client)
        return client

    def close(self) -> None:
        """Close every client handed out (idempotent)."""
        while self._clients:
            self._clients.pop().close()
