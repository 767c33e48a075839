"""The two streaming endpoints of the emulated API server: watches and pod logs.

A watch answers ``200`` with a chunked body of one JSON object per line
(``{"type": "ADDED", "object": {...}}``), as the Kubernetes clients expect
(see ``kubernetes.watch.Watch``); a resourceVersion older than the store's
history yields a single ``ERROR`` event carrying a ``410 Expired`` Status;
bookmarks, ``timeoutSeconds`` and the fault layer's dropped streams end or
punctuate it. Pod logs are plain text, optionally followed until the
container ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from airflow_provider_mpi.testing.faults import FaultDecision
from airflow_provider_mpi.testing.server import tables
from airflow_provider_mpi.testing.server.logstream import LogQuery, stream_log
from airflow_provider_mpi.testing.server.requests import wants_table
from airflow_provider_mpi.testing.server.routing import Target
from airflow_provider_mpi.testing.server.watches import SHUTDOWN, Delivery, Watcher, WatchHub
from airflow_provider_mpi.testing.store import (
    BadRequest,
    EventType,
    Gone,
    NotFound,
    ResourceType,
    Store,
)
from airflow_provider_mpi.testing.store.queries import (
    compile_field_selector,
    compile_label_selector,
)

__all__ = ["serve_log", "serve_watch"]

JSONDict = dict[str, Any]
#: How often an idle stream checks that its client is still connected.
_LIVENESS_SECONDS = 2.0


def _parse_since(text: str | None) -> int | None:
    if text in (None, "", "0"):
        return None
    assert text is not None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f'resourceVersion: Invalid value: "{text}": must be an integer') from None


def _positive_float(request: web.Request, name: str) -> float | None:
    text = request.query.get(name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name}: invalid value {text!r}") from None
    return value if value > 0 else None


def _gone_line(message: str) -> bytes:
    status = Gone(message).to_status()
    return json.dumps({"type": "ERROR", "object": status}).encode() + b"\n"


def _table_line(rt: ResourceType, delivery: Delivery, now: datetime) -> bytes:
    obj = tables.table(rt, [delivery.object], now=now)
    return json.dumps({"type": delivery.type.value, "object": obj}).encode() + b"\n"


async def serve_watch(
    request: web.Request,
    target: Target,
    store: Store,
    hub: WatchHub,
    decision: FaultDecision,
    *,
    bookmark_interval: float,
    now: Callable[[], datetime],
    on_prepared: Callable[[], None],
) -> web.StreamResponse:
    """Stream a watch until timeout, client disconnect, a dropped-stream fault or shutdown.

    Args:
        request: the request.
        target: the parsed path (a name in the path watches that object only).
        store: the store.
        hub: the fan-out hub.
        decision: the faults drawn for this request.
        bookmark_interval: seconds between ``BOOKMARK`` events when the client allows them.
        now: the clock for Table ages.
        on_prepared: called once the response headers are sent.

    Returns:
        The finished stream.
    """
    rt = target.rt
    assert rt is not None
    query = request.query
    field_selector = query.get("fieldSelector")
    if target.name is not None:
        pinned = f"metadata.name={target.name}"
        field_selector = f"{field_selector},{pinned}" if field_selector else pinned
    watcher = Watcher(
        rt,
        target.namespace,
        compile_label_selector(query.get("labelSelector")),
        compile_field_selector(rt, field_selector),
    )
    since = _parse_since(query.get("resourceVersion"))
    bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
    table = wants_table(request)
    timeout = _positive_float(request, "timeoutSeconds")
    drop_after = decision.drop_after_seconds
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    on_prepared()
    if decision.expire and since is not None:
        await response.write(_gone_line(f"too old resource version: {since} (expired by fault)"))
        await response.write_eof()
        return response
    try:
        hub.register(watcher, since=since)
    except Gone as exc:
        await response.write(_gone_line(exc.message))
        await response.write_eof()
        return response
    try:
        dropped = await _pump(
            request,
            response,
            watcher,
            hub,
            timeout=timeout,
            drop_after_seconds=drop_after,
            drop_after_events=decision.drop_after_events,
            bookmark_interval=bookmark_interval if bookmarks else None,
            encode=(lambda d: _table_line(rt, d, now())) if table else Delivery.encoded,
        )
    except ConnectionError:
        return response
    finally:
        hub.unregister(watcher)
    if dropped and decision.drop_abort and request.transport is not None:
        request.transport.abort()  # a reset in the middle of the chunked body
        return response
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


async def _pump(
    request: web.Request,
    response: web.StreamResponse,
    watcher: Watcher,
    hub: WatchHub,
    *,
    timeout: float | None,
    drop_after_seconds: float | None,
    drop_after_events: int | None,
    bookmark_interval: float | None,
    encode: Callable[[Delivery], bytes],
) -> bool:
    """Write a watcher's deliveries until the stream ends; True when a fault dropped it."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadlines = [started + t for t in (timeout, drop_after_seconds) if t is not None]
    deadline = min(deadlines) if deadlines else None
    next_bookmark = started + bookmark_interval if bookmark_interval else None
    sent = 0
    while True:
        current = loop.time()
        if deadline is not None and current >= deadline:
            return drop_after_seconds is not None and current >= started + drop_after_seconds
        transport = request.transport
        if transport is None or transport.is_closing():
            return False
        wake = min(
            t for t in (current + _LIVENESS_SECONDS, deadline, next_bookmark) if t is not None
        )
        try:
            first = await asyncio.wait_for(watcher.queue.get(), max(0.0, wake - current))
        except asyncio.TimeoutError:
            if bookmark_interval and next_bookmark is not None and loop.time() >= next_bookmark:
                known = max(hub.delivered_resource_version, watcher.min_resource_version)
                await response.write(_bookmark(watcher.rt, known))
                next_bookmark = loop.time() + bookmark_interval
            continue
        batch = [first]
        while not watcher.queue.empty() and len(batch) < 256:
            batch.append(watcher.queue.get_nowait())
        chunks: list[bytes] = []
        for delivery in batch:
            if delivery is SHUTDOWN:
                if chunks:
                    await response.write(b"".join(chunks))
                return False
            chunks.append(encode(delivery))
            sent += 1
            if drop_after_events is not None and sent >= drop_after_events:
                await response.write(b"".join(chunks))
                return True
        await response.write(b"".join(chunks))


def _bookmark(rt: ResourceType, resource_version: int) -> bytes:
    body = {
        "type": EventType.BOOKMARK.value,
        "object": {
            "kind": rt.kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(resource_version)},
        },
    }
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def _pick_container(pod: JSONDict, wanted: str | None) -> str:
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    names = [
        c.get("name") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
    ]
    if wanted:
        if wanted not in names:
            raise BadRequest(f"container {wanted} is not valid for pod {name}")
        return wanted
    default = (pod["metadata"].get("annotations") or {}).get(
        "kubectl.kubernetes.io/default-container"
    )
    if default in names:
        return str(default)
    main = [c.get("name") for c in spec.get("containers") or []]
    if len(main) == 1:
        return str(main[0])
    if not main:
        raise BadRequest(f"pod {name} has no containers")
    choices = " ".join(map(str, main))
    raise BadRequest(
        f"a container name must be specified for pod {name}, choose one of: [{choices}]"
    )


async def serve_log(
    request: web.Request, target: Target, store: Store, now: Callable[[], datetime]
) -> web.StreamResponse:
    """``GET pods/<name>/log``.

    Query parameters: ``container``, ``follow``, ``tailLines``, ``timestamps``,
    ``previous``, ``sinceSeconds``, ``limitBytes``.

    Args:
        request: the request.
        target: the parsed path.
        store: the store.
        now: the clock log lines are stamped with (for ``sinceSeconds``).

    Returns:
        The log as ``text/plain`` (streamed when following).

    Raises:
        BadRequest: an unknown container, or one that has not started.
        NotFound: no such pod.
    """
    assert target.name is not None
    assert target.namespace is not None
    namespace, name = target.namespace, target.name
    options = LogQuery.parse(request.query)
    pod = store.get("pods", namespace, name)
    container = _pick_container(pod, request.query.get("container"))
    lines, closed = store.logs.read(namespace, name, container, previous=options.previous)
    phase = (pod.get("status") or {}).get("phase", "Pending")
    if not lines and not closed and phase == "Pending":
        raise BadRequest(
            f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating'
        )

    def present() -> bool:
        try:
            store.get("pods", namespace, name)
        except NotFound:
            return False
        return True

    return await stream_log(
        request, store.logs, (namespace, name, container), options, now, present
    )
