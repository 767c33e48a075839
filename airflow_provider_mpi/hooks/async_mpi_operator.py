"""The async side of the hook, for triggers: the connection resolved without blocking the loop.

:class:`AsyncMPIOperatorHook` reads the same connection fields as
:class:`~airflow_provider_mpi.hooks.mpi_operator.MPIOperatorHook` (through
the same :func:`~airflow_provider_mpi.hooks._kube_config.resolve_cluster_access`)
and opens an async tracker over ``kubernetes_asyncio``. Everything that blocks
runs in a thread: the import of the client modules (once per process), the
connection read, the kube config files and the TLS context (see
``hooks/_async_client.py``). Triggers of one loop that reach the same cluster
the same way share one client (``hooks/_client_pool.py``).
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_mpi.hooks._client_pool import SharedApiClient, shared_api_client
from airflow_provider_mpi.hooks._compat import AirflowNotFoundException, BaseHook
from airflow_provider_mpi.hooks._kube_config import (
    DEFAULT_CONN_ID,
    ClusterAccess,
    ConnectionOverrides,
    KubeAccess,
    resolve_cluster_access,
)

if TYPE_CHECKING:
    from airflow_provider_mpi.mpioperator.tracker.aio import AsyncMPIOperatorTracker

__all__ = ["AsyncMPIOperatorHook", "TrackerUse", "preload_async_client_modules"]

#: What a trigger needs besides its own module: ``kubernetes_asyncio`` and the
#: async tracker, about 0.7 s of imports on an idle machine, 1-4 s on a busy one;
#: and the IDNA codec, which aiohttp's first request loads to encode the host.
_ASYNC_CLIENT_MODULES = (
    "encodings.idna",
    "kubernetes_asyncio.client",
    "kubernetes_asyncio.config",
    "airflow_provider_mpi.hooks._async_client",
    "airflow_provider_mpi.mpioperator.tracker.aio",
)
_preload_lock = threading.Lock()
_preloaded = False


def _import_async_client_modules() -> None:
    global _preloaded
    with _preload_lock:
        for name in _ASYNC_CLIENT_MODULES:
            importlib.import_module(name)
        _preloaded = True


async def preload_async_client_modules() -> None:
    """Import ``kubernetes_asyncio`` and the async tracker in a thread, once per process.

    The triggerer imports a trigger's class inside its event loop
    (``TriggerRunner.create_triggers``), and the trigger module therefore
    stays light; the heavy modules load here, off the loop, before the first
    use. Until the import finished, the loop must not touch those modules
    (an import in progress in another thread would block it on the module
    lock), so every caller awaits this first; later calls return at once.
    """
    if not _preloaded:
        await asyncio.to_thread(_import_async_client_modules)


async def _get_async_connection(conn_id: str) -> Any:
    """Read a connection without blocking the event loop.

    common.compat's helper works around ``aget_connection`` deadlocking the
    event loop before Airflow 3.3.2 (it then reads in a thread).
    """
    try:
        from airflow.providers.common.compat.connection import get_async_connection
    except ImportError:  # an older common.compat
        return await BaseHook.aget_connection(conn_id)
    return await get_async_connection(conn_id)


class AsyncMPIOperatorHook:
    """The async side for triggers: the same fields, resolved with ``kubernetes_asyncio``.

    Not a subclass of :class:`~airflow_provider_mpi.hooks.mpi_operator.MPIOperatorHook`:
    the two share the connection fields, not their methods, and every method
    here is a coroutine.

    Args:
        conn_id: the ``kubernetes`` connection, read without blocking the
            event loop; None to use only the other fields.
        namespace: the namespace; default: the connection's, else ``default``.
        config_file: a kube config path overriding the connection.
        cluster_context: a kube config context overriding the connection.
        in_cluster: use the pod's service account.
        kube_config: a kube config resolved elsewhere (see
            :meth:`~airflow_provider_mpi.hooks.mpi_operator.MPIOperatorHook.trigger_access`).
    """

    def __init__(
        self,
        conn_id: str | None = DEFAULT_CONN_ID,
        *,
        namespace: str | None = None,
        config_file: str | None = None,
        cluster_context: str | None = None,
        in_cluster: bool | None = None,
        kube_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.overrides = ConnectionOverrides(
            namespace, config_file, cluster_context, in_cluster, dict(kube_config or {}) or None
        )

    @classmethod
    def from_access(cls, access: KubeAccess) -> AsyncMPIOperatorHook:
        """Build the hook from a trigger's access fields."""
        return cls(**access.to_kwargs())

    async def connection_extras(self) -> dict[str, Any]:
        """Read the connection's extras without blocking the event loop.

        Returns:
            The extras; empty when no connection is named, or when the default
            ``kubernetes_default`` does not exist (then the default kube
            config applies, as in the cncf provider).
        """
        if not self.conn_id or self.overrides.kube_config is not None:
            return {}
        try:
            connection = await _get_async_connection(self.conn_id)
        except AirflowNotFoundException:
            if self.conn_id == DEFAULT_CONN_ID:
                return {}
            raise
        return dict(connection.extra_dejson or {})

    async def cluster_access(self) -> ClusterAccess:
        """The connection and the overrides, resolved (the connection read off the loop)."""
        return resolve_cluster_access(await self.connection_extras(), self.overrides)

    async def _load_configuration(self, extras: Mapping[str, Any]) -> Any:
        """The client configuration (loaded in a thread), for tests and diagnostics."""
        await preload_async_client_modules()
        from airflow_provider_mpi.hooks import _async_client

        access = resolve_cluster_access(extras, self.overrides)
        parts = await asyncio.to_thread(_async_client.load_client_parts, access, self.conn_id)
        return parts.configuration

    def get_tracker(self) -> TrackerUse:
        """Open an async tracker over the event loop's shared API client.

        Hooks of the same event loop whose connection, overrides and kube
        config content are the same share one client (one TLS context, one
        connection pool) and, per namespace, one tracker over it (a tracker
        holds no state of its own besides the client); the client is closed
        when the last tracker using it exits (see ``hooks/_client_pool.py``).

        Returns:
            An async context manager yielding the tracker, in the resolved
            namespace.

        Raises:
            InvalidArgumentError: on entering, the Kubernetes configuration
                cannot be loaded.
        """
        return TrackerUse(self)


class TrackerUse:
    """The use of a tracker by one waiter: :meth:`AsyncMPIOperatorHook.get_tracker`.

    A class with a few slots rather than a generator-based context manager:
    a trigger holds it for as long as it waits, and after entering it keeps
    only what its exit needs (the client's use), not the hook nor the
    resolved configuration.
    """

    __slots__ = ("_hook", "_lease", "_own")

    def __init__(self, hook: AsyncMPIOperatorHook) -> None:
        self._hook: AsyncMPIOperatorHook | None = hook
        self._lease: SharedApiClient | None = None
        self._own: Any = None

    async def __aenter__(self) -> AsyncMPIOperatorTracker:
        hook = self._hook
        if hook is None:
            raise RuntimeError("a tracker use is entered once")
        self._hook = None
        await preload_async_client_modules()  # off the event loop, once
        from airflow_provider_mpi.hooks import _async_client
        from airflow_provider_mpi.mpioperator.tracker.aio import AsyncMPIOperatorTracker

        access = await hook.cluster_access()
        conn_id = hook.conn_id

        async def build() -> Any:
            # The configuration files and the TLS context in a thread; only
            # the aiohttp session, which belongs to this loop, is made here.
            parts = await asyncio.to_thread(_async_client.load_client_parts, access, conn_id)
            return _async_client.api_client(parts)

        key = await asyncio.to_thread(_async_client.client_key, access, conn_id)
        namespace = access.namespace
        if key is None:  # not shareable: a client of its own, closed on exit
            self._own = await build()
            return AsyncMPIOperatorTracker(self._own, namespace=namespace)
        lease = self._lease = shared_api_client(key, build)
        await lease.__aenter__()
        try:
            return cast(
                AsyncMPIOperatorTracker,
                lease.shared(
                    (AsyncMPIOperatorTracker, namespace),
                    lambda client: AsyncMPIOperatorTracker(client, namespace=namespace),
                ),
            )
        except BaseException:
            self._lease = None
            await lease.__aexit__(None, None, None)
            raise

    async def __aexit__(self, *exc: object) -> None:
        own, lease = self._own, self._lease
        self._own = self._lease = None
        if own is not None:
            await own.close()
        elif lease is not None:
            await lease.__aexit__(*exc)
