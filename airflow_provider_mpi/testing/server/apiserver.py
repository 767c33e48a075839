"""The emulated Kubernetes API server: real HTTP on the loopback interface.

``EmulatorServer`` runs an aiohttp application on its own thread and event
loop, so synchronous tests, the official ``kubernetes`` client,
``kubernetes_asyncio`` and ``kubectl`` all reach it as they would reach a
cluster. Every request passes the same steps: the path is parsed into a
target, the bearer token is checked (``401`` otherwise), the fault injector
may delay, fail, or reset it, the handler runs, store errors become
``Status`` objects, the fault injector may lose the answer of a request that
took effect (a reset or a 5xx instead of it), and the request is counted by
verb and resource.

Example::

    store = Store()
    with EmulatorServer(store, token="secret") as server:
        print(server.url)  # http://127.0.0.1:<port>
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import logging
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from airflow_provider_mpi.testing.faults import (
    Fault,
    FaultDecision,
    FaultInjector,
    RequestCounters,
    RequestInfo,
    Verb,
)
from airflow_provider_mpi.testing.lifecycle import Service
from airflow_provider_mpi.testing.server import discovery
from airflow_provider_mpi.testing.server.admission import Validator
from airflow_provider_mpi.testing.server.handlers import ApiHandlers
from airflow_provider_mpi.testing.server.requests import json_response
from airflow_provider_mpi.testing.server.routing import (
    PathKind,
    ServedResources,
    Target,
    parse_target,
)
from airflow_provider_mpi.testing.server.statuses import (
    fault_response,
    injected_error,
    not_found_response,
    status_response,
)
from airflow_provider_mpi.testing.server.streams import serve_log, serve_watch
from airflow_provider_mpi.testing.server.tls import self_signed_identity
from airflow_provider_mpi.testing.server.watches import WatchHub
from airflow_provider_mpi.testing.store import Store, StoreError

__all__ = ["LOOPBACK_HOSTS", "EmulatorServer"]

_log = logging.getLogger(__name__)

#: Hosts the server may bind to: it never listens beyond this machine.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class EmulatorServer(Service):
    """The Kubernetes API over a :class:`Store`, on a background thread.

    Args:
        store: the store to serve.
        host: a loopback address (anything else is refused).
        port: the port (0 picks a free one).
        token: the bearer token every request must carry.
        faults: the fault injector (a fresh, empty one when None).
        counters: the request counters (fresh when None).
        tls: serve HTTPS with a fresh self-signed certificate (see :attr:`ca_pem`);
            needed by ``kubectl``, which sends tokens over HTTPS only.
        ssl_context: serve HTTPS with this server context instead.
        bookmark_interval: seconds between watch bookmarks.
        validators: admission per plural (default: MPIJob schema validation).
        now: the clock for table ages and ``sinceSeconds`` (default: the store's).

    Raises:
        ValueError: a non-loopback host or an empty token.
    """

    def __init__(
        self,
        store: Store,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str,
        faults: FaultInjector | None = None,
        counters: RequestCounters | None = None,
        tls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        bookmark_interval: float = 5.0,
        validators: dict[str, Validator] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(
                f"host must be a loopback address {sorted(LOOPBACK_HOSTS)}, got {host!r}"
            )
        if not token:
            raise ValueError("token must not be empty")
        if bookmark_interval <= 0:
            raise ValueError(f"bookmark_interval must be > 0, got {bookmark_interval!r}")
        self.store = store
        self.host = host
        self.port = port
        self.faults = faults if faults is not None else FaultInjector()
        self.counters = counters if counters is not None else RequestCounters()
        self._token = token.encode()
        self._plain_token = token
        self._ca_pem: bytes | None = None
        if tls and ssl_context is None:
            identity = self_signed_identity()
            ssl_context = identity.server_context()
            self._ca_pem = identity.certificate_pem
        self._ssl = ssl_context
        self._bookmark_interval = bookmark_interval
        self._now = now or store.clock
        self._handlers = ApiHandlers(store, self._now, validators)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._hub: WatchHub | None = None
        self._served: ServedResources | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:41234``."""
        scheme = "https" if self._ssl is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def token(self) -> str:
        """The bearer token clients must send."""
        return self._plain_token

    @property
    def ca_pem(self) -> bytes | None:
        """The self-signed certificate clients must trust (with ``tls=True``)."""
        return self._ca_pem

    def kubeconfig(self, namespace: str = "default", *, name: str = "emulator") -> dict[str, Any]:
        """A kubeconfig for this server: one cluster, user (the token) and context.

        Args:
            namespace: the context's namespace.
            name: the name of the cluster, user and context entries.

        Returns:
            The kubeconfig as a dict (write it with ``yaml.safe_dump``).
        """
        cluster: dict[str, Any] = {"server": self.url}
        if self._ca_pem is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self._ca_pem).decode()
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": cluster}],
            "users": [{"name": name, "user": {"token": self._plain_token}}],
            "contexts": [
                {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
            ],
            "current-context": name,
            "preferences": {},
        }

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def watch_count(self) -> int:
        """Open watch streams."""
        return self._hub.watcher_count if self._hub is not None else 0

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Start serving on a background thread.

        Args:
            timeout: seconds to wait for the socket to listen.

        Returns:
            self, listening.

        Raises:
            RuntimeError: already started, or the server failed to start.
        """
        if self._thread is not None:
            raise RuntimeError("the emulator server is already started")
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="k8s-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the emulator server did not start within {timeout} s")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(
                f"the emulator server failed to start: {self._error}"
            ) from self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close every stream and stop serving (idempotent).

        Args:
            timeout: seconds to wait for the shutdown.
        """
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                future.result(timeout)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        self._served = ServedResources(self.store)
        self._hub = WatchHub(self.store, asyncio.get_running_loop())
        self._hub.start()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        if self._hub is not None:
            self._hub.stop()
        if self._served is not None:
            self._served.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------ requests

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        watch = request.query.get("watch", "").lower() in ("true", "1")
        served = self._served.served if self._served is not None else None
        target = parse_target(request.method, request.path, watch=watch, served=served)
        verb = target.verb if target is not None else Verb.GET
        resource = target.resource if target is not None else ""
        prepared: list[float] = []
        lost: list[Fault] = []

        def on_prepared() -> None:
            prepared.append(time.perf_counter())

        self.counters.arrived(verb, resource)  # now: a watch is answered when it ends
        status = 500
        try:
            response = await self._serve(request, target, on_prepared, lost.append)
            status = response.status
            return response
        except _Reset:
            status = 0
            return web.Response(status=500)  # never reaches the client: the socket is gone
        finally:
            end = prepared[0] if prepared else time.perf_counter()
            self.counters.answered(verb, resource, status, end - started, lost=bool(lost))

    def _authorized(self, header: str) -> bool:
        """Whether an ``Authorization`` header carries our bearer token.

        The scheme is case-insensitive (RFC 7235), as kube-apiserver reads it:
        the official client's in-cluster loader sends ``bearer <token>``.
        """
        scheme, _, credentials = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self._token
        )

    async def _serve(
        self,
        request: web.Request,
        target: Target | None,
        on_prepared: Callable[[], None],
        on_lost: Callable[[Fault], None],
    ) -> web.StreamResponse:
        if not self._authorized(request.headers.get("Authorization", "")):
            return status_response(401, "Unauthorized")
        if target is None:
            return status_response(
                405, "the server does not allow this method on the requested resource"
            )
        info = RequestInfo(
            target.verb,
            target.resource,
            target.namespace,
            target.name,
            request.query.get("resourceVersion"),
        )
        decision = self.faults.decide(info)
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.reset:
            self._reset(request)
        if decision.error is not None:
            return fault_response(decision, target)
        try:
            response = await self._dispatch(request, target, decision, on_prepared)
        except StoreError as exc:
            response = json_response(exc.to_status(), exc.code)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug in the emulator: answer as the API server would
            _log.exception("emulator failed on %s %s", request.method, request.path_qs)
            response = status_response(500, f"Internal error occurred: {type(exc).__name__}: {exc}")
        if response.prepared:  # already streaming (a watch, a followed log): not losable
            return response
        lost = self.faults.lose_answer(info, response.status)
        if lost is None:
            return response
        on_lost(lost)
        if lost.abort:
            self._reset(request)
        return injected_error(lost.status)

    @staticmethod
    def _reset(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        raise _Reset()

    async def _dispatch(
        self,
        request: web.Request,
        target: Target,
        decision: FaultDecision,
        on_prepared: Callable[[], None],
    ) -> web.StreamResponse:
        if target.kind is PathKind.DISCOVERY:
            return self._discovery(target)
        if target.kind is PathKind.UNKNOWN:
            return not_found_response()
        handlers = self._handlers
        verb = target.verb
        if verb is Verb.WATCH:
            assert self._hub is not None
            return await serve_watch(
                request,
                target,
                self.store,
                self._hub,
                decision,
                bookmark_interval=self._bookmark_interval,
                now=self._now,
                on_prepared=on_prepared,
            )
        if verb is Verb.GET and target.subresource == "log":
            return await serve_log(request, target, self.store, self._now)
        if target.subresource == "log":
            return status_response(405, "the server does not allow this method on pods/log")
        routes = {
            Verb.GET: handlers.get,
            Verb.LIST: handlers.list,
            Verb.CREATE: handlers.create,
            Verb.UPDATE: handlers.update,
            Verb.PATCH: handlers.patch,
            Verb.DELETE: handlers.delete,
            Verb.DELETECOLLECTION: handlers.delete_collection,
        }
        return await routes[verb](request, target)

    def _discovery(self, target: Target) -> web.Response:
        path = target.path.rstrip("/")
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        served = self._served.resources() if self._served is not None else None
        address = f"{self.host}:{self.port}"
        found = discovery.document(path, target.group, target.version, served, address)
        if found is None:
            return not_found_response()
        return web.Response(body=json.dumps(found).encode(), content_type="application/json")


class _Reset(Exception):
    """Raised after a connection was reset on purpose (nothing is answered)."""
