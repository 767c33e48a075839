"""A ``kubernetes_asyncio`` API client built without blocking the event loop.

A triggerer runs every trigger on one event loop, and a step of that loop
must stay short (Airflow warns past 0.2 s; this provider's goal is 50 ms).
``kubernetes_asyncio`` builds a client in three blocking parts: loading the
kube config (a YAML parse, certificates written to temporary files), the TLS
context (``ssl.create_default_context``, which reads the system's CA bundle
when the kube config names no CA: 20-30 ms idle, over 150 ms on a busy
machine) and the aiohttp session. The first two run here in a thread
(:func:`load_client_parts`); only the session, which must belong to the
running loop and costs well under a millisecond, is made on the loop
(:func:`api_client`).

This module imports ``kubernetes_asyncio`` at the top, so it is loaded with
the other client modules off the loop (``preload_async_client_modules``),
never while a DAG file is parsed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client import rest
from kubernetes_asyncio.config import kube_config as kube_config_module
from kubernetes_asyncio.config.config_exception import ConfigException

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.hooks._kube_config import (
    ClusterAccess,
    KubeConfigSource,
    parse_kube_config,
)

__all__ = ["ClientParts", "api_client", "client_key", "load_client_parts", "tls_context"]

#: aiohttp's read buffer of the client: a watch event of a large object may be big.
_READ_BUFFER = 2**21
_USER_AGENT = "airflow-provider-mpi"


@dataclass(frozen=True)
class ClientParts:
    """What a client is made of, prepared off the loop."""

    configuration: client.Configuration
    tls: ssl.SSLContext


def _load_configuration(access: ClusterAccess, conn_id: str | None) -> client.Configuration:
    """Load the client configuration the access names (blocking: files, YAML)."""
    configuration = client.Configuration()
    source = access.effective_source()
    try:
        if source is KubeConfigSource.IN_CLUSTER:
            config.load_incluster_config(client_configuration=configuration)
        elif source is KubeConfigSource.INLINE:
            asyncio.run(
                config.load_kube_config_from_dict(
                    parse_kube_config(access.kube_config, "kube_config"),
                    context=access.context,
                    client_configuration=configuration,
                )
            )
        else:  # a file, or the default files
            asyncio.run(
                config.load_kube_config(
                    config_file=access.config_file,
                    context=access.context,
                    client_configuration=configuration,
                )
            )
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            "conn_id", conn_id, f"cannot load the Kubernetes configuration: {exc}"
        ) from exc
    return configuration


def tls_context(configuration: client.Configuration) -> ssl.SSLContext:
    """The TLS context the configuration asks for (blocking: reads CA and key files).

    The cluster's CA (or the system's bundle when none is named), the client
    certificate, and the configuration's verification switches.

    Args:
        configuration: a loaded client configuration.

    Returns:
        The context, for one aiohttp connector.
    """
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, keyfile=configuration.key_file)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if configuration.disable_strict_ssl_verification:
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


def load_client_parts(access: ClusterAccess, conn_id: str | None) -> ClientParts:
    """Load the configuration and build its TLS context; run it in a thread.

    Args:
        access: how to reach the cluster.
        conn_id: the connection, named in errors.

    Returns:
        The parts :func:`api_client` needs.

    Raises:
        InvalidArgumentError: the configuration cannot be loaded.
    """
    configuration = _load_configuration(access, conn_id)
    try:
        tls = tls_context(configuration)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise InvalidArgumentError(
            "conn_id", conn_id, f"cannot build the TLS context of the cluster: {exc}"
        ) from exc
    return ClientParts(configuration, tls)


class _RESTClient(rest.RESTClientObject):
    """``kubernetes_asyncio``'s REST client over a TLS context made beforehand.

    Its parent's constructor would build the TLS context itself, on the loop;
    this one sets the same fields from the parts and leaves every request
    method to the parent.
    """

    def __init__(self, parts: ClientParts) -> None:  # no super().__init__: see above
        configuration = parts.configuration
        self.server_hostname = configuration.tls_server_name
        self.proxy = configuration.proxy
        self.proxy_headers = configuration.proxy_headers
        connector = aiohttp.TCPConnector(limit=configuration.connection_pool_maxsize, ssl=parts.tls)
        self.pool_manager = aiohttp.ClientSession(
            connector=connector, trust_env=True, read_bufsize=_READ_BUFFER
        )


class _ApiClient(client.ApiClient):  # type: ignore[misc]
    """An ``ApiClient`` whose REST client got its TLS context from a thread."""

    def __init__(self, parts: ClientParts) -> None:  # no super().__init__: it builds TLS
        self.configuration = parts.configuration
        self.pool_threads = 1
        self.rest_client = _RESTClient(parts)
        self.default_headers: dict[str, str] = {}
        self.cookie = None
        self.user_agent = _USER_AGENT
        self.client_side_validation = parts.configuration.client_side_validation


def api_client(parts: ClientParts) -> client.ApiClient:
    """Make the client on the running loop (its aiohttp session belongs to it).

    Args:
        parts: from :func:`load_client_parts`.

    Returns:
        A ``kubernetes_asyncio.client.ApiClient``; its owner closes it.
    """
    return _ApiClient(parts)


def _default_kube_config_files() -> list[str]:
    """The files ``kubernetes_asyncio`` reads by default (``$KUBECONFIG`` when it was imported)."""
    value = str(kube_config_module.KUBE_CONFIG_DEFAULT_LOCATION)
    separator = kube_config_module.ENV_KUBECONFIG_PATH_SEPARATOR
    return [path for path in value.split(separator) if path]


def client_key(access: ClusterAccess, conn_id: str | None) -> tuple[Any, ...] | None:
    """What the client's configuration is loaded from, as a key for sharing it.

    The connection ID, the source, the context and a digest of the kube
    config's content (inline, or the files read): two triggers with the same
    key load the same configuration, so they may share a client. In a pod,
    the service account's token is re-read by the client itself. Blocking
    (reads the files): run it in a thread.

    Args:
        access: how to reach the cluster.
        conn_id: the connection.

    Returns:
        The key, or None when a file cannot be read (then nothing is shared
        and loading reports the error).
    """
    source = access.effective_source()
    digest = hashlib.sha256()
    if source is KubeConfigSource.IN_CLUSTER:
        for name in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
            digest.update(f"{os.environ.get(name, '')}\0".encode())
    elif source is KubeConfigSource.INLINE:
        inline = access.kube_config
        text = (
            inline if isinstance(inline, str) else json.dumps(inline, sort_keys=True, default=str)
        )
        digest.update(str(text).encode())
    else:
        paths = [access.config_file] if access.config_file else _default_kube_config_files()
        for path in paths:
            try:
                digest.update(Path(os.path.expanduser(path)).read_bytes())
            except OSError:
                return None
            digest.update(f"\0{path}\0".encode())
    return (conn_id, source.value, access.context, digest.hexdigest())
