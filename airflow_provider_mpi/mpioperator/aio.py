"""The thin asyncio layer between the async tracker and the Kubernetes API.

The twin of :mod:`.api` over ``kubernetes_asyncio``: the same requests, the
same plain-dict answers, the same translation and retry rules; only the
sending is awaited. With ``_preload_content=False`` ``kubernetes_asyncio``
does not check the HTTP status itself, so :func:`_checked` does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import kubernetes_asyncio.client
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.client.rest import RESTResponse

from airflow_provider_mpi.drmaa2.errors import BackendError
from airflow_provider_mpi.mpioperator.api import (
    DEFAULT_REQUEST_TIMEOUT,
    MERGE_PATCH,
    MPIJOB_CRD,
    MPIJOB_GROUP,
    MPIJOB_PLURAL,
    MPIJOB_VERSION,
    RAW_REQUEST,
    WATCH_READ_SLACK,
    list_items,
    list_version,
    log_kwargs,
    query_kwargs,
)
from airflow_provider_mpi.mpioperator.retry import RetryPolicy, acall_with_retry
from airflow_provider_mpi.mpioperator.translate import translated

__all__ = ["AsyncMPIJobApi"]

T = TypeVar("T")


async def _checked(response: Any) -> Any:
    """Raise the API error of a non-2xx streamed response (its body read)."""
    if 200 <= response.status <= 299:
        return response
    try:
        data = await response.read()
    finally:
        response.release()
    http_resp: Any = RESTResponse(response, data)
    raise ApiException(http_resp=http_resp)


async def _read_json(response: Any) -> dict[str, Any]:
    await _checked(response)
    try:
        data = await response.read()
    finally:
        response.release()
    parsed = json.loads(data) if data else {}
    if not isinstance(parsed, dict):
        raise BackendError(None, f"unexpected response from the Kubernetes API: {data[:200]!r}")
    return parsed


class AsyncMPIJobApi:
    """The requests the async tracker sends, over one ``kubernetes_asyncio`` ApiClient.

    Args:
        api_client: the configured client (its owner closes it).
        retry: the retry policy of idempotent requests.
    """

    def __init__(self, api_client: kubernetes_asyncio.client.ApiClient, retry: RetryPolicy) -> None:
        self.api_client = api_client
        self.retry = retry
        self.custom = kubernetes_asyncio.client.CustomObjectsApi(api_client)
        self.core = kubernetes_asyncio.client.CoreV1Api(api_client)
        self.extensions = kubernetes_asyncio.client.ApiextensionsV1Api(api_client)

    async def _once(self, fn: Callable[[], Awaitable[T]], not_found: str | None = None) -> T:
        with translated(not_found=not_found):
            return await fn()

    async def _retried(
        self, what: str, fn: Callable[[], Awaitable[T]], not_found: str | None = None
    ) -> T:
        return await acall_with_retry(lambda: self._once(fn, not_found), self.retry, what=what)

    async def _json(self, call: Awaitable[Any]) -> dict[str, Any]:
        return await _read_json(await call)

    # MPIJobs

    async def create_mpi_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """See :meth:`.api.MPIJobApi.create_mpi_job` (one attempt)."""
        return await self._once(
            lambda: self._json(
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

    async def get_mpi_job(self, namespace: str, name: str, *, job_id: str) -> dict[str, Any]:
        """See :meth:`.api.MPIJobApi.get_mpi_job`."""
        return await self._retried(
            f"get MPIJob {job_id}",
            lambda: self._json(
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

    async def list_mpi_jobs(
        self,
        namespace: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """See :meth:`.api.MPIJobApi.list_mpi_jobs`."""
        kwargs = query_kwargs(
            label_selector=label_selector, field_selector=field_selector, limit=limit
        )
        body = await self._retried(
            f"list MPIJobs in {namespace}",
            lambda: self._json(
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

    async def patch_mpi_job(
        self, namespace: str, name: str, patch: dict[str, Any], *, job_id: str
    ) -> dict[str, Any]:
        """See :meth:`.api.MPIJobApi.patch_mpi_job`."""
        return await self._retried(
            f"patch MPIJob {job_id}",
            lambda: self._json(
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

    async def delete_mpi_job(
        self,
        namespace: str,
        name: str,
        *,
        job_id: str,
        uid: str | None = None,
        propagation_policy: str = "Foreground",
    ) -> None:
        """See :meth:`.api.MPIJobApi.delete_mpi_job`."""
        body: dict[str, Any] = {"propagationPolicy": propagation_policy}
        if uid:
            body["preconditions"] = {"uid": uid}
        await self._retried(
            f"delete MPIJob {job_id}",
            lambda: self._json(
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

    async def watch_mpi_jobs(
        self,
        namespace: str,
        *,
        resource_version: str,
        timeout_seconds: int,
        field_selector: str | None = None,
        label_selector: str | None = None,
    ) -> AsyncIterator[bytes]:
        """See :meth:`.api.MPIJobApi.watch_mpi_jobs`."""
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector

        async def open_stream() -> Any:
            return await _checked(
                await self.custom.list_namespaced_custom_object(
                    MPIJOB_GROUP,
                    MPIJOB_VERSION,
                    namespace,
                    MPIJOB_PLURAL,
                    watch=True,
                    allow_watch_bookmarks=True,
                    resource_version=resource_version,
                    timeout_seconds=timeout_seconds,
                    _preload_content=False,
                    _request_timeout=(
                        DEFAULT_REQUEST_TIMEOUT[0],
                        timeout_seconds + WATCH_READ_SLACK,
                    ),
                    **kwargs,
                )
            )

        async for line in self._lines(f"watch MPIJobs in {namespace}", open_stream):
            yield line

    async def _lines(
        self, what: str, open_stream: Callable[[], Awaitable[Any]]
    ) -> AsyncIterator[bytes]:
        response = await self._retried(what, open_stream)
        try:
            while True:
                with translated():
                    line = await response.content.readline()
                if not line:
                    return
                yield line
        finally:
            response.release()

    # Pods, events, logs, cluster checks

    async def list_pods_versioned(
        self, namespace: str, label_selector: str
    ) -> tuple[list[dict[str, Any]], str]:
        """List pods with the list's resourceVersion (where a watch of them starts).

        Args:
            namespace: the namespace.
            label_selector: which pods.

        Returns:
            ``(items, resourceVersion)``.
        """
        body = await self._retried(
            f"list pods in {namespace}",
            lambda: self._json(
                self.core.list_namespaced_pod(
                    namespace, label_selector=label_selector, **RAW_REQUEST
                )
            ),
        )
        return list_items(body), list_version(body)

    async def watch_pods(
        self, namespace: str, *, label_selector: str, resource_version: str, timeout_seconds: int
    ) -> AsyncIterator[bytes]:
        """Watch pods from ``resource_version``: the raw JSON lines, bookmarks included.

        Args:
            namespace: the namespace.
            label_selector: which pods.
            resource_version: where to start (a list's or the last event's).
            timeout_seconds: the server ends the stream after this long.

        Yields:
            One JSON watch event per line.
        """

        async def open_stream() -> Any:
            return await _checked(
                await self.core.list_namespaced_pod(
                    namespace,
                    label_selector=label_selector,
                    watch=True,
                    allow_watch_bookmarks=True,
                    resource_version=resource_version,
                    timeout_seconds=timeout_seconds,
                    _preload_content=False,
                    _request_timeout=(
                        DEFAULT_REQUEST_TIMEOUT[0],
                        timeout_seconds + WATCH_READ_SLACK,
                    ),
                )
            )

        async for line in self._lines(f"watch pods in {namespace}", open_stream):
            yield line

    async def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """See :meth:`.api.MPIJobApi.list_pods`."""
        body = await self._retried(
            f"list pods in {namespace}",
            lambda: self._json(
                self.core.list_namespaced_pod(
                    namespace,
                    label_selector=label_selector,
                    **RAW_REQUEST,
                )
            ),
        )
        return list_items(body)

    async def list_events(
        self, namespace: str, *, field_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """See :meth:`.api.MPIJobApi.list_events`."""
        kwargs = query_kwargs(field_selector=field_selector)
        body = await self._retried(
            f"list events in {namespace}",
            lambda: self._json(
                self.core.list_namespaced_event(
                    namespace,
                    **RAW_REQUEST,
                    **kwargs,
                )
            ),
        )
        return list_items(body)

    async def read_pod_log(
        self, namespace: str, pod: str, *, container: str | None, tail_lines: int | None
    ) -> list[str]:
        """See :meth:`.api.MPIJobApi.read_pod_log`."""
        kwargs = log_kwargs(container, tail_lines)

        async def read() -> str:
            response = await _checked(
                await self.core.read_namespaced_pod_log(
                    pod,
                    namespace,
                    **RAW_REQUEST,
                    **kwargs,
                )
            )
            try:
                return bytes(await response.read()).decode("utf-8", errors="replace")
            finally:
                response.release()

        text = await self._retried(f"read log of pod {namespace}/{pod}", read)
        return text.splitlines()

    async def follow_pod_log(
        self, namespace: str, pod: str, *, container: str | None, tail_lines: int | None
    ) -> AsyncIterator[str]:
        """See :meth:`.api.MPIJobApi.follow_pod_log`."""
        kwargs = log_kwargs(container, tail_lines)

        async def open_stream() -> Any:
            return await _checked(
                await self.core.read_namespaced_pod_log(
                    pod,
                    namespace,
                    follow=True,
                    _preload_content=False,
                    _request_timeout=(DEFAULT_REQUEST_TIMEOUT[0], None),
                    **kwargs,
                )
            )

        response = await self._retried(f"follow log of pod {namespace}/{pod}", open_stream)
        try:
            while True:
                with translated():
                    line = await response.content.readline()
                if not line:
                    return
                yield line.decode("utf-8", errors="replace").rstrip("\r\n")
        finally:
            response.release()

    async def get_crd(self, name: str = MPIJOB_CRD) -> dict[str, Any]:
        """See :meth:`.api.MPIJobApi.get_crd`."""
        return await self._retried(
            f"get CRD {name}",
            lambda: self._json(
                self.extensions.read_custom_resource_definition(name, **RAW_REQUEST)
            ),
        )
