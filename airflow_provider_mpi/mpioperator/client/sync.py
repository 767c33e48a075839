"""The synchronous transport: :class:`~.requests.Request` over the ``kubernetes`` client.

It sends a request with the ApiClient's ``call_api`` (its host, TLS and
credentials), reads the answer as the request says (JSON, text or lines),
translates errors (:mod:`.translate`) and retries idempotent requests under
the :class:`~.retry.RetryPolicy`. No decision about jobs is made here; the
requests are spelled in :mod:`.requests`, once for both transports;
:mod:`.aio` is this transport for asyncio.

Responses are read raw (``_preload_content=False``) and parsed with ``json``:
the generated models would only be turned back into dicts, and that round
trip is the slowest part of listing a thousand pods.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import kubernetes.client

from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.descriptor import (
    Read,
    Request,
    call_kwargs,
    decode_json,
)
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy, call_with_retry
from airflow_provider_mpi.mpioperator.client.translate import translated

__all__ = ["MPIJobApi"]


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
    """The synchronous transport over one ``kubernetes.client.ApiClient``.

    Args:
        api_client: the configured client (see :func:`.kubeconfig.load_api_client`).
        retry: the retry policy of idempotent requests.
    """

    def __init__(self, api_client: kubernetes.client.ApiClient, retry: RetryPolicy) -> None:
        self.api_client = api_client
        self.retry = retry

    def _open(self, request: Request) -> Any:
        """Send once; the raw response (a non-2xx answer raises, translated)."""
        with translated(not_found=request.not_found):
            return self.api_client.call_api(
                request.path, request.verb.value, **call_kwargs(request)
            )

    def _attempt(self, request: Request) -> bytes:
        response = self._open(request)
        try:
            with translated(not_found=request.not_found):
                return bytes(response.data)
        finally:
            response.release_conn()

    def _body(self, request: Request) -> bytes:
        if not request.idempotent:
            return self._attempt(request)
        return call_with_retry(lambda: self._attempt(request), self.retry, what=request.what)

    def send(self, request: Request) -> Any:
        """Send a request and read its answer (retried when idempotent).

        Args:
            request: the request; its ``read`` says what comes back.

        Returns:
            The JSON object (``Read.JSON``), the text (``Read.TEXT``), or None
            (``Read.DISCARD``: the body is read, so the connection is reused, and dropped).

        Raises:
            DRMAA2Error: the translated error.
            ValueError: a streamed request (``Read.LINES``: use :meth:`lines`).
        """
        if request.read is Read.LINES:
            raise ValueError("a streamed request is opened with lines()")
        data = self._body(request)
        if request.read is Read.DISCARD:
            return None
        if request.read is Read.TEXT:
            return data.decode("utf-8", errors="replace")
        return decode_json(data)

    def lines(self, request: Request) -> Iterator[bytes]:
        """Open a stream (retried) and yield its lines.

        A stream that breaks later raises :class:`TransientBackendError` from
        the iterator; a watch's caller resumes from its cursor.

        Args:
            request: a ``Read.LINES`` request (a watch, a followed log).

        Yields:
            Raw lines, without the newline.
        """
        response = call_with_retry(lambda: self._open(request), self.retry, what=request.what)
        try:
            with translated():
                yield from _iter_lines(response)
        finally:
            response.close()  # a stream left early must not go back to the pool
            response.release_conn()

    # The few requests other layers send directly (the tracker's steps build theirs).

    def create_mpi_job(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create an MPIJob, in one attempt; the created object."""
        return decode_json(self._body(rq.create_mpi_job(namespace, body)))

    def get_mpi_job(self, namespace: str, name: str, *, job_id: str) -> dict[str, Any]:
        """Read one MPIJob (``JobNotFoundError`` naming ``job_id`` on 404)."""
        return decode_json(self._body(rq.get_mpi_job(namespace, name, job_id=job_id)))

    def patch_mpi_job(
        self, namespace: str, name: str, patch: Mapping[str, Any], *, job_id: str
    ) -> dict[str, Any]:
        """Merge-patch an MPIJob; the patched object."""
        return decode_json(self._body(rq.patch_mpi_job(namespace, name, patch, job_id=job_id)))
