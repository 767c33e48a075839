"""What the tracker needs of a transport, as Protocols (pure).

The pure tracker modules (the steps' runners, the waits, the shared watches)
are written against these, not against :class:`~.sync.MPIJobApi` and
:class:`~.aio.AsyncMPIJobApi`, so importing them loads no client library;
only the modules that create a transport do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, Protocol, TypeVar

from airflow_provider_mpi.mpioperator.client.descriptor import Request
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy

__all__ = ["AsyncTransport", "SyncTransport", "Transport"]

AnswerT_co = TypeVar("AnswerT_co", covariant=True)
LinesT_co = TypeVar("LinesT_co", covariant=True)


class Transport(Protocol[AnswerT_co, LinesT_co]):
    """A transport: it sends a request and reads the answer, nothing more.

    The sync and the asyncio transport differ only in how they hand the
    answer back, so both are this one Protocol (:data:`SyncTransport`,
    :data:`AsyncTransport`).
    """

    api_client: Any
    retry: RetryPolicy

    def send(self, request: Request) -> AnswerT_co:
        """Send a request and return its decoded answer (a dict, or a log's text)."""

    def lines(self, request: Request) -> LinesT_co:
        """Open a stream and yield its lines."""


#: A synchronous transport (:class:`~.sync.MPIJobApi`).
SyncTransport = Transport[Any, Iterator[bytes]]
#: An asyncio transport (:class:`~.aio.AsyncMPIJobApi`).
AsyncTransport = Transport[Awaitable[Any], AsyncIterator[bytes]]
