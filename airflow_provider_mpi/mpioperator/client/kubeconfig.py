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

from airflow_provider_mpi.drmaa2.errors import BackendError, InvalidArgumentError
from airflow_provider_mpi.mpioperator.client.translate import translated

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
        InvalidArgumentError: the kubeconfig cannot be loaded (the field is
            ``kubeconfig_path``, ``KUBECONFIG`` or ``~/.kube/config``).
        BackendError: no kubeconfig and not in a pod.
    """
    configuration = kubernetes.client.Configuration()
    if kubeconfig_path:
        field, source = "kubeconfig_path", os.fspath(kubeconfig_path)
    elif os.environ.get("KUBECONFIG"):
        field, source = "KUBECONFIG", os.environ["KUBECONFIG"]
    else:
        default = Path("~/.kube/config").expanduser()
        field, source = "~/.kube/config", str(default) if default.exists() else ""
    if source:
        try:
            kubernetes.config.load_kube_config(
                config_file=source,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        except Exception as exc:  # ConfigException, OSError, YAML errors, ...
            raise InvalidArgumentError(
                field, source, f"cannot load the Kubernetes configuration: {exc}"
            ) from exc
        return kubernetes.client.ApiClient(configuration)
    with translated():
        try:
            kubernetes.config.load_incluster_config(client_configuration=configuration)
        except kubernetes.config.ConfigException as exc:
            raise BackendError(
                None,
                "no Kubernetes configuration: pass kubeconfig_path or an api_client, set "
                f"KUBECONFIG, create ~/.kube/config, or run in a pod ({exc})",
            ) from exc
    return kubernetes.client.ApiClient(configuration)
