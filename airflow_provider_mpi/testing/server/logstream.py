"""Serving a container log over HTTP: written once for the emulator and the node agent.

The emulated API server's ``GET pods/<name>/log`` and the node agent's kubelet
endpoint ``GET /containerLogs/<namespace>/<pod>/<container>`` answer the
same query parameters (``follow``, ``previous``, ``timestamps``,
``sinceSeconds``, ``tailLines``, ``limitBytes``) from a :class:`LogBook`;
:func:`stream_log` writes the answer, following the log until the container
ends, the pod goes away or the client leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from airflow_provider_mpi.testing.store.errors import BadRequest
from airflow_provider_mpi.testing.store.logbook import LogBook

__all__ = ["LogQuery", "format_line", "stream_log"]

_POLL_SECONDS = 0.05


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


def _int(query: Mapping[str, str], name: str) -> int | None:
    text = query.get(name)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name}: Invalid value: {text!r}: must be an integer") from None


@dataclass(frozen=True)
class LogQuery:
    """The options of a log request.

    Attributes:
        follow: Keep the stream open until the container ends.
        previous: The log of the previous (restarted) container.
        timestamps: Prefix each line with its RFC 3339 time.
        since_seconds: Only lines of the last N seconds.
        tail_lines: Only the last N lines.
        limit_bytes: Stop after N bytes.
    """

    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    since_seconds: int | None = None
    tail_lines: int | None = None
    limit_bytes: int | None = None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> LogQuery:
        """Read the options from a request's query.

        Args:
            query: The query parameters.

        Returns:
            The options.

        Raises:
            BadRequest: A number that is not an integer.
        """
        previous = _flag(query, "previous")
        return cls(
            follow=_flag(query, "follow") and not previous,
            previous=previous,
            timestamps=_flag(query, "timestamps"),
            since_seconds=_int(query, "sinceSeconds"),
            tail_lines=_int(query, "tailLines"),
            limit_bytes=_int(query, "limitBytes"),
        )


def format_line(stamp: datetime, line: str, timestamps: bool) -> bytes:
    """One log line as sent (with the kubelet's nanosecond timestamp when asked)."""
    text = f"{stamp.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {line}" if timestamps else line
    return (text + "\n").encode()


async def stream_log(
    request: web.Request,
    logs: LogBook,
    key: tuple[str, str, str],
    options: LogQuery,
    now: Callable[[], datetime],
    present: Callable[[], bool],
) -> web.StreamResponse:
    """Answer a log request from a log book.

    Args:
        request: The request.
        logs: The log book.
        key: ``(namespace, pod, container)``.
        options: The parsed query.
        now: The clock lines are stamped with (for ``sinceSeconds``).
        present: Whether the pod still exists (a follow ends when it is gone).

    Returns:
        The ``text/plain`` response (chunked when following).

    Raises:
        BadRequest: ``previous`` for a container that never restarted.
    """
    namespace, pod, container = key
    lines, closed = logs.read(namespace, pod, container, previous=options.previous)
    seen = len(lines)
    if options.since_seconds is not None:
        cutoff = now() - timedelta(seconds=options.since_seconds)
        lines = [(stamp, text) for stamp, text in lines if stamp >= cutoff]
    if options.tail_lines is not None:
        lines = lines[-options.tail_lines :] if options.tail_lines > 0 else []
    budget = options.limit_bytes
    response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
    if options.follow:
        response.enable_chunked_encoding()
    await response.prepare(request)

    async def send(chunk: list[tuple[datetime, str]]) -> bool:
        """Write lines; False once limitBytes is used up."""
        nonlocal budget
        data = b"".join(format_line(stamp, text, options.timestamps) for stamp, text in chunk)
        if budget is not None:
            data, budget = data[:budget], max(0, budget - len(data))
        if data:
            await response.write(data)
        return budget is None or budget > 0

    try:
        more = await send(lines)
        while more and options.follow and not closed:
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            await asyncio.sleep(_POLL_SECONDS)
            if not present():
                break
            current, closed = logs.read(namespace, pod, container)
            if len(current) < seen:  # the container restarted
                seen = 0
            fresh = current[seen:]
            seen = len(current)
            if fresh:
                more = await send(fresh)
    except ConnectionError:
        return response
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response
