"""The thin synchronous layer between the tracker and the Kubernetes API.

Each method is one kind of request (create, get, list, merge-patch, delete an
MPIJob; list pods and events; read a log; open a watch), sent with the
``kubernetes`` client, its answer handed back as the plain JSON dict the
server sent, and its errors translated (:mod:`.translate`). Idempotent
requests are retried under the :class:`~.retry.RetryPolicy`; a create is sent
once (the tracker decides how to repeat it safely). No decision about jobs
is made here; :mod:`.aio` is the same layer for asyncio.

Responses are read raw (``_preload_content=False``) and parsed with
``json``: the generated models would only be turned back into dicts, and
that round trip is the slowest part of listing a thousand pods.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import kubernetes.client
import kubernetes.config

from airflow_provider_mpi.drmaa2.errors import BackendError
from airflow_provider_mpi.mpioperator.queries import (
    MPIJOB_CRD,
    MPIJOB_GROUP,
    MPIJOB_PLURAL,
    MPIJOB_VERSION,
)
from airflow_provider_mpi.mpioperator.retry import RetryPolicy, call_with_retry
from airflow_provider_mpi.mpioperator.translate import translated

__all__ = [
    "MERGE_PATCH",
    "MPIJOB_CRD",
    "MPIJOB_GROUP",
    "MPIJOB_PLURAL",
    "MPIJOB_VERSION",
    "RAW_REQUEST",
    "MPIJobApi",
    "list_items",
    "list_version",
    "log_kwargs",
    "query_kwargs",
]

MERGE_PATCH = "application/merge-patch+json"
#: Seconds to connect and to wait for an ordinary (non-streaming) answer.
DEFAULT_REQUEST_TIMEOUT = (10.0, 60.0)
#: Extra read time granted to a watch beyond its server-side timeoutSeconds.
WATCH_READ_SLACK = 15.0

T = TypeVar("T")

#: Options of every plain request: the raw response (parsed by us, not into
#: client models) and the bounded connect/read timeouts.
RAW_REQUEST: dict[str, Any] = {
    "_preload_content": False,
    "_request_timeout": DEFAULT_REQUEST_TIMEOUT,
}


def query_kwargs(**options: Any) -> dict[str, Any]:
    """The query options that are set (a client call must not get empty ones)."""
    return {key: value for key, value in options.items() if value}


def list_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a Kubernetes list response."""
    return list(body.get("items") or [])


def list_version(body: dict[str, Any]) -> str:
    """The resourceVersion of a Kubernetes list response (a watch resumes there)."""
    return str((body.get("metadata") or {}).get("resourceVersion") or "")


def _read_json(response: Any) -> dict[str, Any]:
    try:
        data = response.data
    finally:
        response.release_conn()
    parsed = json.loads(data) if data else {}
    if not isinstance(parsed, dict):
        raise BackendError(None, f"unexpected response from the Kubernetes API: {data[:200]!r}")
    return parsed


def _iter_lines(response: Any) -> Iterator[bytes]:
    """Split a streamed urllib3 response into lines, whatever its chunking."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8")
        *lines, buffer = buffer.split(b"\n")
        yield from lines
    if buffer:
        yield buffer


class MPIJobApi:
    """The requests the tracker sends, over one ``kubernetes.client.ApiClient``.

    Args:
        api_client: the configured client (see :func:`load_api_client`).
        retry: the retry policy of idempotent requests.
    """

    def __init__(self, api_client: kubernetes.client.ApiClient, retry: RetryPolicy) -> None:
        self.api_client = api_client
        self.retry = retry
        self.custom = kubernetes.client.CustomObjectsApi(api_client)
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.extensions = kubernetes.client.ApiextensionsV1Api(api_client)

    def _once(self, fn: Callable[[], T], not_found: str | None = None) -> T:
        with translated(not_found=not_found):
            return fn()

    def _retried(self, what: str, fn: Callable[[], T], not_found: str | None = None) -> T:
        return call_with_retry(lambda: self._once(fn, not_found), self.retry, what=what)

    # MPIJobs

    def create_mpi_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create an MPIJob, in one attempt (a create is not blindly repeatable).

        Args:
            namespace: the namespace.
            body: the whole MPIJob object.

        Returns:
            The created object.
        """
        return self._once(
            lambda: _read_json(
                self.custom.create_namespaced_custom_object(
                    MPIJOB_GROUP,
                    MPIJOB_VERSION,
                    namespace,
                    MPIJOB_PLURAL,
                    body,
                    **RAW_REQUEST,
                )
            )
        )

    def get_mpi_job(self, namespace: str, name: str, *, job_id: str) -> dict[str, Any]:
        """Read one MPIJob.

        Args:
            namespace: the namespace.
            name: the MPIJob name.
            job_id: the ID to name in :class:`JobNotFoundError` on 404.

        Returns:
            The object.
        """
        return self._retried(
            f"get MPIJob {job_id}",
            lambda: _read_json(
                self.custom.get_namespaced_custom_object(
                    MPIJOB_GROUP,
                    MPIJOB_VERSION,
                    namespace,
                    MPIJOB_PLURAL,
                    name,
                    **RAW_REQUEST,
                )
            ),
            not_found=job_id,
        )

    def list_mpi_jobs(
        self,
        namespace: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """List MPIJobs of a namespace.

        Args:
            namespace: the namespace.
            label_selector: a Kubernetes label selector.
            field_selector: a Kubernetes field selector.
            limit: at most this many items (one page).

        Returns:
            The items and the list's resourceVersion (a watch resumes there).
        """
        kwargs = query_kwargs(
            label_selector=label_selector, field_selector=field_selector, limit=limit
        )
        body = self._retried(
            f"list MPIJobs in {namespace}",
            lambda: _read_json(
                self.custom.list_namespaced_custom_object(
                    MPIJOB_GROUP,
                    MPIJOB_VERSION,
                    namespace,
                    MPIJOB_PLURAL,
                    **RAW_REQUEST,
                    **kwargs,
                )
            ),
        )
        return list_items(body), list_version(body)

    def patch_mpi_job(
        self, namespace: str, name: str, patch: dict[str, Any], *, job_id: str
    ) -> dict[str, Any]:
        """Apply a JSON merge patch to an MPIJob (repeatable: same patch, same result).

        Args:
            namespace: the namespace.
            name: the MPIJob name.
            patch: the merge patch (``None`` values remove keys).
            job_id: the ID to name in :class:`JobNotFoundError` on 404.

        Returns:
            The patched object.
        """
        return self._retried(
            f"patch MPIJob {job_id}",
            lambda: _read_json(
                self.custom.patch_namespaced_custom_object(
                    MPIJOB_GROUP,
                    MPIJOB_VERSION,
                    namespace,
                    MPIJOB_PLURAL,
                    name,
                    patch,
                    _content_type=MERGE_PATCH,
                    **RAW_REQUEST,
                )
            ),
            not_found=job_id,
        )

    def delete_mpi_job(
        self,
        namespace: str,
        name: str,
        *,
        job_id: str,
        uid: str | None = None,
        propagation_policy: str = "Foreground",
    ) -> None:
        """Delete an MPIJob and, by propagation, its pods, services and launcher Job.

        Args:
            namespace: the namespace.
            name: the MPIJob name.
            job_id: the ID to name in :class:`JobNotFoundError` on 404.
            uid: delete only this incarnation of the name (a precondition).
            propagation_policy: ``Foreground`` or ``Background``.
        """
        body: dict[str, Any] = {"propagationPolicy": propagation_policy}
        if uid:
            body["preconditions"] = {"uid": uid}
        self._retried(
            f"delete MPIJob {job_id}",
            lambda: _read_json(
                self.custom.delete_namespaced_custom_object(
                    MPIJOB_GROUP,
                    MPIJOB_VERSION,
                    namespace,
                    MPIJOB_PLURAL,
                    name,
                    body=body,
                    **RAW_REQUEST,
                )
            ),
            not_found=job_id,
        )

    def watch_mpi_jobs(
        self,
        namespace: str,
        *,
        resource_version: str,
        timeout_seconds: int,
        field_selector: str | None = None,
        label_selector: str | None = None,
    ) -> Iterator[bytes]:
        """Open a watch on MPIJobs and yield its raw lines.

        Opening is retried; a stream that breaks later raises
        :class:`TransientBackendError` from the iterator, and the caller
        resumes from its :class:`~.watch_cursor.WatchCursor`.

        Args:
            namespace: the namespace.
            resource_version: where to start (from a list or the last event).
            timeout_seconds: the server ends the stream after this long.
            field_selector: e.g. ``metadata.name=<name>`` for one job.
            label_selector: e.g. the array label for an array's tasks.

        Yields:
            One JSON event per line.
        """
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        response = self._retried(
            f"watch MPIJobs in {namespace}",
            lambda: self.custom.list_namespaced_custom_object(
                MPIJOB_GROUP,
                MPIJOB_VERSION,
                namespace,
                MPIJOB_PLURAL,
                watch=True,
                allow_watch_bookmarks=True,
                resource_version=resource_version,
                timeout_seconds=timeout_seconds,
                _preload_content=False,
                _request_timeout=(DEFAULT_REQUEST_TIMEOUT[0], timeout_seconds + WATCH_READ_SLACK),
                **kwargs,
            ),
        )
        try:
            with translated():
                yield from _iter_lines(response)
        finally:
            response.close()  # a stream left early must not go back to the pool
            response.release_conn()

    # Pods, events, logs, cluster checks

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """List the pods matching a label selector.

        Args:
            namespace: the namespace.
            label_selector: the selector.

        Returns:
            The pods.
        """
        body = self._retried(
            f"list pods in {namespace}",
            lambda: _read_json(
                self.core.list_namespaced_pod(
                    namespace,
                    label_selector=label_selector,
                    **RAW_REQUEST,
                )
            ),
        )
        return list_items(body)

    def list_events(
        self, namespace: str, *, field_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """List the events of a namespace.

        Args:
            namespace: the namespace.
            field_selector: e.g. ``involvedObject.name=<name>``.

        Returns:
            The events.
        """
        kwargs = query_kwargs(field_selector=field_selector)
        body = self._retried(
            f"list events in {namespace}",
            lambda: _read_json(
                self.core.list_namespaced_event(
                    namespace,
                    **RAW_REQUEST,
                    **kwargs,
                )
            ),
        )
        return list_items(body)

    def read_pod_log(
        self, namespace: str, pod: str, *, container: str | None, tail_lines: int | None
    ) -> list[str]:
        """Read a container's log as it is now.

        Args:
            namespace: the namespace.
            pod: the pod name.
            container: the container (None for a pod's only container).
            tail_lines: only the last N lines.

        Returns:
            The lines, without line endings.
        """
        kwargs = log_kwargs(container, tail_lines)

        def read() -> str:
            response = self.core.read_namespaced_pod_log(
                pod,
                namespace,
                **RAW_REQUEST,
                **kwargs,
            )
            try:
                return bytes(response.data).decode("utf-8", errors="replace")
            finally:
                response.release_conn()

        return self._retried(f"read log of pod {namespace}/{pod}", read).splitlines()

    def follow_pod_log(
        self, namespace: str, pod: str, *, container: str | None, tail_lines: int | None
    ) -> Iterator[str]:
        """Stream a container's log until the container ends.

        Args:
            namespace: the namespace.
            pod: the pod name.
            container: the container (None for a pod's only container).
            tail_lines: start with only the last N lines.

        Yields:
            Lines, without line endings.
        """
        kwargs = log_kwargs(container, tail_lines)
        response = self._retried(
            f"follow log of pod {namespace}/{pod}",
            lambda: self.core.read_namespaced_pod_log(
                pod,
                namespace,
                follow=True,
                _preload_content=False,
                _request_timeout=(DEFAULT_REQUEST_TIMEOUT[0], None),
                **kwargs,
            ),
        )
        try:
            with translated():
                for line in _iter_lines(response):
                    yield line.decode("utf-8", errors="replace").rstrip("\r")
        finally:
            response.close()
            response.release_conn()

    def get_crd(self, name: str = MPIJOB_CRD) -> dict[str, Any]:
        """Read a CustomResourceDefinition (to check the operator is installed).

        Args:
            name: the CRD name.

        Returns:
            The CRD.
        """
        return self._retried(
            f"get CRD {name}",
            lambda: _read_json(
                self.extensions.read_custom_resource_definition(name, **RAW_REQUEST)
            ),
        )


def log_kwargs(container: str | None, tail_lines: int | None) -> dict[str, Any]:
    """The keyword arguments of a pod log request."""
    kwargs: dict[str, Any] = {}
    if container:
        kwargs["container"] = container
    if tail_lines is not None:
        kwargs["tail_lines"] = tail_lines
    return kwargs
