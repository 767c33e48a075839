"""What the tracker needs of a transport, as Protocols (pure).

The pure tracker modules (the steps' runners, the waits, the shared watches)
are written against these, not against :class:`~.sync.MPIJobApi` and
:class:`~.aio.AsyncMPIJobApi`, so importing them loads no client library;
only the modules that create a transport do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, Protocol

from airflow_provider_mpi.mpioperator.client.descriptor import Request
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy

__all__ = ["AsyncTransport", "SyncTransport"]


class SyncTransport(Protocol):
    """A synchronous transport (:class:`~.sync.MPIJobApi`)."""

    api_client: Any
    retry: RetryPolicy

    def send(self, request: Request) -> Any:
        """Send a request and return its decoded answer (a dict, or a log's text)."""

    def lines(self, request: Request) -> Iterator[bytes]:
        """Open a stream and yield its lines."""


class AsyncTransport(Protocol):
    """An asyncio transport (:class:`~.aio.AsyncMPIJobApi`), as the shared watches use it."""

    api_client: Any
    retry: RetryPolicy

    def send(self, request: Request) -> Awaitable[Any]:
        """Send a request and return its decoded answer (a dict, or a log's text)."""

    def lines(self, request: Request) -> AsyncIterator[bytes]:
        """Open a stream and yield its lines."""

    async def list_mpi_jobs(
        self,
        namespace: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """List MPIJobs: the items and the list's resourceVersion."""

    def watch_mpi_jobs(
        self,
        namespace: str,
        *,
        resource_version: str,
        timeout_seconds: int,
        field_selector: str | None = None,
        label_selector: str | None = None,
    ) -> AsyncIterator[bytes]:
        """Watch MPIJobs: the raw JSON lines."""

    async def list_pods_versioned(
        self, namespace: str, label_selector: str
    ) -> tuple[list[dict[str, Any]], str]:
        """List pods with the list's resourceVersion."""

    def watch_pods(
        self, namespace: str, *, label_selector: str, resource_version: str, timeout_seconds: int
    ) -> AsyncIterator[bytes]:
        """Watch pods: the raw JSON lines."""
