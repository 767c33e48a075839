"""The asyncio transport: :class:`~.requests.Request` over ``kubernetes_asyncio``.

The twin of :mod:`.sync`: the same requests (from :mod:`.requests`), the same
plain answers, the same translation and retry rules; only the sending is
awaited. With ``_preload_content=False`` ``kubernetes_asyncio`` does not check
the HTTP status itself, so :func:`_checked` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import kubernetes_asyncio.client
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.client.rest import RESTResponse

from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.descriptor import (
    Read,
    Request,
    call_kwargs,
    decode_json,
)
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy, acall_with_retry
from airflow_provider_mpi.mpioperator.client.translate import translated

__all__ = ["AsyncMPIJobApi"]


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


class AsyncMPIJobApi:
    """The asyncio transport over one ``kubernetes_asyncio`` ApiClient.

    Args:
        api_client: the configured client (its owner closes it).
        retry: the retry policy of idempotent requests.
    """

    def __init__(self, api_client: kubernetes_asyncio.client.ApiClient, retry: RetryPolicy) -> None:
        self.api_client = api_client
        self.retry = retry

    async def _open(self, request: Request) -> Any:
        """Send once; the raw response (a non-2xx answer raises, translated)."""
        with translated(not_found=request.not_found):
            return await _checked(
                await self.api_client.call_api(
                    request.path, request.verb.value, **call_kwargs(request)
                )
            )

    async def _attempt(self, request: Request) -> bytes:
        response = await self._open(request)
        try:
            with translated(not_found=request.not_found):
                return bytes(await response.read())
        finally:
            response.release()

    async def _body(self, request: Request) -> bytes:
        if not request.idempotent:
            return await self._attempt(request)
        return await acall_with_retry(lambda: self._attempt(request), self.retry, what=request.what)

    async def send(self, request: Request) -> Any:
        """See :meth:`.sync.MPIJobApi.send` (``Read.LINES``: use :meth:`lines`)."""
        if request.read is Read.LINES:
            raise ValueError("a streamed request is opened with lines()")
        data = await self._body(request)
        if request.read is Read.DISCARD:
            return None
        if request.read is Read.TEXT:
            return data.decode("utf-8", errors="replace")
        return decode_json(data)

    async def lines(self, request: Request) -> AsyncIterator[bytes]:
        """See :meth:`.sync.MPIJobApi.lines` (lines keep their newline here)."""
        response = await acall_with_retry(
            lambda: self._open(request), self.retry, what=request.what
        )
        try:
            while True:
                with translated():
                    line = await response.content.readline()
                if not line:
                    return
                yield line
        finally:
            response.release()

    # The one request another layer sends directly (the tracker's steps build theirs).

    async def create_mpi_job(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """See :meth:`.sync.MPIJobApi.create_mpi_job`."""
        return decode_json(await self._body(rq.create_mpi_job(namespace, body)))
