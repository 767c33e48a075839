"""Install (or upgrade) the Kubeflow MPI operator from its manifests.

``kubectl apply -f mpi-operator.yaml`` without kubectl: every YAML document
of a file or URL the user names (the MPI operator release manifest, or a
trimmed copy) is created, or replaced when it exists, through the
``kubernetes`` dynamic client, so any kind the cluster serves works and no
process is spawned. Applying twice changes nothing. Namespaces and
CustomResourceDefinitions go first, so the objects that need them find them.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kubernetes.client
import kubernetes.dynamic
import kubernetes.dynamic.exceptions
import yaml

from airflow_provider_mpi.drmaa2.errors import (
    BackendError,
    ConflictError,
    InvalidArgumentError,
    TransientBackendError,
)
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy, call_with_retry
from airflow_provider_mpi.mpioperator.client.translate import translated

__all__ = ["install_mpi_operator", "load_manifest", "order_for_apply"]

log = logging.getLogger(__name__)

#: Kinds applied before all others, in this order.
FIRST_KINDS = ("Namespace", "CustomResourceDefinition")
#: Seconds to wait for a new CRD's kind to be served before applying its objects.
CRD_DISCOVERY_TIMEOUT = 30.0


def load_manifest(manifest: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read every object of a multi-document YAML manifest.

    Args:
        manifest: a local path, or an ``http(s)://`` URL.

    Returns:
        The objects in file order; ``kind: List`` documents are flattened
        and empty documents dropped.

    Raises:
        InvalidArgumentError: the file cannot be read, or a document is not a
            Kubernetes object (the error names document and problem).
    """
    text = _read(manifest)
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise InvalidArgumentError("manifest", str(manifest), f"not valid YAML: {exc}") from exc
    objects: list[dict[str, Any]] = []
    for index, document in enumerate(documents, start=1):
        if document is None:
            continue
        items = document.get("items") if isinstance(document, dict) else None
        if (
            isinstance(document, dict)
            and str(document.get("kind", "")).endswith("List")
            and (isinstance(items, list))
        ):
            candidates = items
        else:
            candidates = [document]
        for obj in candidates:
            if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
                raise InvalidArgumentError(
                    "manifest",
                    str(manifest),
                    f"document {index} is not a Kubernetes object (apiVersion and kind needed)",
                )
            if not (obj.get("metadata") or {}).get("name"):
                raise InvalidArgumentError(
                    "manifest", str(manifest), f"document {index} ({obj['kind']}) has no name"
                )
            objects.append(obj)
    return objects


def _read(manifest: str | os.PathLike[str]) -> str:
    source = os.fspath(manifest)
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=60) as response:
                return bytes(response.read()).decode("utf-8")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise InvalidArgumentError("manifest", source, f"cannot be downloaded: {exc}") from exc
    try:
        return Path(source).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgumentError("manifest", source, f"cannot be read: {exc}") from exc


def order_for_apply(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put Namespaces, then CRDs, first; keep file order otherwise.

    Args:
        objects: the manifest's objects.

    Returns:
        The objects in apply order.
    """
    objects = list(objects)

    def rank(obj: dict[str, Any]) -> int:
        kind = obj.get("kind")
        return FIRST_KINDS.index(kind) if kind in FIRST_KINDS else len(FIRST_KINDS)

    return sorted(objects, key=rank)


def _describe(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace")
    name = f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])
    return f"{obj['kind']} {name}"


def install_mpi_operator(
    api_client: kubernetes.client.ApiClient,
    manifest: str | os.PathLike[str],
    *,
    retry: RetryPolicy | None = None,
) -> list[str]:
    """Apply every object of the MPI operator's manifest: create, or replace when present.

    Args:
        api_client: a configured ``kubernetes.client.ApiClient``.
        manifest: the manifest's path or URL, e.g. the release's
            ``deploy/v2beta1/mpi-operator.yaml``.
        retry: the retry policy for transient failures.

    Returns:
        ``"<Kind> <namespace>/<name>"`` of each object applied, in apply order.

    Raises:
        InvalidArgumentError: the manifest cannot be read or parsed.
        BackendError: the cluster refused an object (the error names it).

    Example:
        >>> install_mpi_operator(api_client, "mpi-operator.yaml")  # doctest: +SKIP
        ['Namespace mpi-operator', 'CustomResourceDefinition mpijobs.kubeflow.org', ...]
    """
    objects = order_for_apply(load_manifest(manifest))
    policy = retry or RetryPolicy()
    applied = []
    with tempfile.TemporaryDirectory(prefix="mpi-install-") as cache_dir:
        with translated():
            client = kubernetes.dynamic.DynamicClient(
                api_client, cache_file=os.path.join(cache_dir, "discovery.json")
            )
        defined: set[tuple[str, str]] = set()  # (group, kind) of the CRDs applied so far
        for obj in objects:
            what = _describe(obj)

            def apply(obj: dict[str, Any] = obj) -> None:
                _apply(client, obj, defined)

            try:
                call_with_retry(apply, policy, what=f"apply {what}")
            except BackendError as exc:
                raise type(exc)(exc.status, f"applying {what} failed: {exc.reason}") from exc
            log.info("applied %s", what)
            applied.append(what)
            if obj["kind"] == "CustomResourceDefinition":
                spec = obj.get("spec") or {}
                defined.add((str(spec.get("group")), str((spec.get("names") or {}).get("kind"))))
    return applied


def _resource(
    client: kubernetes.dynamic.DynamicClient, obj: dict[str, Any], defined: set[tuple[str, str]]
) -> Any:
    group = str(obj["apiVersion"]).rpartition("/")[0]
    # Only a kind whose CRD was applied just now may take a moment to be served.
    patience = CRD_DISCOVERY_TIMEOUT if (group, obj["kind"]) in defined else 0.0
    deadline = time.monotonic() + patience
    while True:
        try:
            with translated():
                return client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        except BackendError as exc:
            cause = exc.__cause__
            if not isinstance(cause, kubernetes.dynamic.exceptions.ResourceNotFoundError):
                raise
            if time.monotonic() > deadline:
                raise BackendError(
                    None, f"the cluster does not serve {obj['apiVersion']} {obj['kind']}"
                ) from cause
            client.resources.invalidate_cache()  # a CRD applied just now: discover again
            time.sleep(0.5)


def _apply(
    client: kubernetes.dynamic.DynamicClient, obj: dict[str, Any], defined: set[tuple[str, str]]
) -> None:
    resource = _resource(client, obj, defined)
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace") or ("default" if resource.namespaced else None)
    try:
        with translated():
            client.create(resource, body=obj, namespace=namespace)
        return
    except ConflictError:
        pass
    with translated():
        existing = client.get(resource, name=metadata["name"], namespace=namespace)
        body = dict(obj)
        body["metadata"] = dict(metadata)
        body["metadata"]["resourceVersion"] = existing.metadata.resourceVersion
        try:
            client.replace(resource, body=body, namespace=namespace)
        except kubernetes.dynamic.exceptions.ConflictError as exc:
            # changed between our read and write: the retry policy tries again
            raise TransientBackendError(409, f"{_describe(obj)} changed while applying") from exc
