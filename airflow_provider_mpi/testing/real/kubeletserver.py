"""The node agent's kubelet endpoint: ``GET /containerLogs/{namespace}/{pod}/{container}`` over TLS.

The API server answers ``GET pods/<name>/log`` (``kubectl logs``, the
tracker's ``job_output``) by proxying to the kubelet of the pod's node, at
the node's ``InternalIP`` and ``daemonEndpoints.kubeletEndpoint.Port``. This
server answers there from the agent's :class:`LogBook` with the same code as
the emulator's log endpoint (``testing.logstream``): ``follow``,
``previous``, ``timestamps``, ``sinceSeconds``, ``tailLines``,
``limitBytes``. It runs its own event loop on a thread.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from enum import Enum

from aiohttp import web

from airflow_provider_mpi.testing.server.logstream import LogQuery, stream_log
from airflow_provider_mpi.testing.store.errors import BadRequest
from airflow_provider_mpi.testing.store.logbook import LogBook

__all__ = ["KubeletServer", "Presence"]


class Presence(str, Enum):
    """How far a pod is on this node, for the log endpoint."""

    ABSENT = "absent"
    WAITING = "waiting"
    STARTED = "started"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class KubeletServer:
    """Serves container logs the way a kubelet does, on 127.0.0.1.

    Args:
        logs: Where the containers' lines are.
        presence: ``presence(namespace, pod)``: whether the agent runs that
            pod and its container has started (a follow ends when it is gone).
        context: The TLS identity served.
        port: The port (0: any free one; see :attr:`port` after :meth:`start`).
    """

    def __init__(
        self,
        logs: LogBook,
        presence: Callable[[str, str], Presence],
        context: ssl.SSLContext,
        port: int = 0,
    ) -> None:
        self._logs = logs
        self._presence = presence
        self._context = context
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    async def _container_logs(self, request: web.Request) -> web.StreamResponse:
        namespace = request.match_info["namespace"]
        pod = request.match_info["pod"]
        container = request.match_info["container"]
        try:
            options = LogQuery.parse(request.query)
            lines, closed = self._logs.read(namespace, pod, container, previous=options.previous)
        except BadRequest as error:
            return web.Response(status=400, text=str(error))
        presence = self._presence(namespace, pod)
        if presence is Presence.ABSENT and not lines:
            return web.Response(status=404, text=f'pod "{pod}" not found on this node')
        if presence is Presence.WAITING and not lines and not closed:
            return web.Response(
                status=400,
                text=f'container "{container}" in pod "{pod}" is waiting to start: '
                "ContainerCreating",
            )
        return await stream_log(
            request,
            self._logs,
            (namespace, pod, container),
            options,
            _utc_now,
            lambda: self._presence(namespace, pod) is not Presence.ABSENT,
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def start(self) -> int:
        """Start serving; return the port."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._container_logs)
            app.router.add_get("/healthz", self._healthz)
            runner = web.AppRunner(app, handle_signals=False, access_log=None)
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", self._port))
                self.port = int(sock.getsockname()[1])
                loop.run_until_complete(runner.setup())
                site = web.SockSite(runner, sock, ssl_context=self._context)
                loop.run_until_complete(site.start())
            except BaseException as error:
                failure.append(error)
                ready.set()
                loop.close()
                return
            self._runner = runner
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="node-agent-kubelet", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self.port

    def stop(self) -> None:
        """Stop serving (open log streams are closed)."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = None
        self._thread = None
