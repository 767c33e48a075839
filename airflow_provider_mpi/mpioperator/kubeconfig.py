"""Building a Kubernetes API client from a kubeconfig, without global state.

The ``kubernetes`` package keeps a process-wide default configuration that
``load_kube_config()`` overwrites; two trackers for two clusters in one
Airflow worker would then talk to whichever loaded last. The tracker builds
a fresh ``Configuration`` per client instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import kubernetes.client
import kubernetes.config

from airflow_provider_mpi.drmaa2.errors import BackendError
from airflow_provider_mpi.mpioperator.translate import translated

__all__ = ["load_api_client"]


def load_api_client(
    kubeconfig_path: str | os.PathLike[str] | None = None, *, context: str | None = None
) -> kubernetes.client.ApiClient:
    """Build an API client from a kubeconfig, without touching global state.

    The configuration is looked up in this order: the argument, the
    ``KUBECONFIG`` environment variable (a ``:``-separated list is merged),
    ``~/.kube/config`` when it exists, then the in-cluster service account.
    A fresh ``Configuration`` is filled each time; the process-wide default
    of the ``kubernetes`` package is never changed.

    Args:
        kubeconfig_path: a kubeconfig file.
        context: the kubeconfig context to use (the current one when None).

    Returns:
        A new API client.

    Raises:
        BackendError: no configuration was found or it is unusable.
    """
    configuration = kubernetes.client.Configuration()
    source = kubeconfig_path or os.environ.get("KUBECONFIG")
    if not source:
        default = Path("~/.kube/config").expanduser()
        source = str(default) if default.exists() else None
    with translated():
        if source:
            kubernetes.config.load_kube_config(
                config_file=os.fspath(source),
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        else:
            try:
                kubernetes.config.load_incluster_config(client_configuration=configuration)
            except kubernetes.config.ConfigException as exc:
                raise BackendError(
                    None,
                    "no Kubernetes configuration: pass kubeconfig_path or an api_client, set "
                    f"KUBECONFIG, create ~/.kube/config, or run in a pod ({exc})",
                ) from exc
    return kubernetes.client.ApiClient(configuration)
