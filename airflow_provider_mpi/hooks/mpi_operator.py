"""The Airflow hook: an Airflow connection turned into a job tracker.

The hook reads two connection types with the same fields: the cncf-kubernetes
provider's ``kubernetes`` (in-cluster, kube config path, inline kube config,
context, namespace), so that connections users already have keep working, and
this provider's own ``mpi_operator`` type (registered in ``get_provider_info``,
so that ``airflow providers hooks`` and the connection form list this hook),
which adds the ``mpi_job_url_template`` field. The sync side reads the
connection itself (plain or form-prefixed extras of either type) and builds
its API client through the cncf ``KubernetesHook`` (same precedence, same
client); the async side, used by triggers, is a separate small class
(:class:`AsyncMPIOperatorHook`) that resolves the same fields with
``kubernetes_asyncio`` and never blocks the event loop.

A trigger runs in the triggerer, which may not see a connection defined only in
the worker's environment (an ``AIRFLOW_CONN_*`` variable).
:meth:`MPIOperatorHook.trigger_access` therefore resolves the kube config in
the worker and hands it to the trigger in that case (see ``docs/airflow.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import json
import os
import threading
from collections.abc import AsyncIterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_mpi.drmaa2.errors import (
    AuthorizationError,
    DRMAA2Error,
    InvalidArgumentError,
    TransientBackendError,
)
from airflow_provider_mpi.hooks._client_pool import shared_api_client
from airflow_provider_mpi.hooks._compat import AirflowNotFoundException
from airflow_provider_mpi.hooks._kube_config import (
    DEFAULT_CONN_ID,
    DEFAULT_NAMESPACE,
    MPI_OPERATOR_CONN_TYPE,
    URL_TEMPLATE_EXTRA,
    KubeAccess,
    KubeConfigSource,
    as_bool,
    choose_kube_config_source,
    connection_extra,
    default_kube_config_path,
    parse_kube_config,
    worker_only_connection_variable,
)

if TYPE_CHECKING:  # imported when used: DAG files importing operators stay light
    from airflow_provider_mpi.mpioperator.tracker.aio import AsyncMPIOperatorTracker
    from airflow_provider_mpi.mpioperator.tracker.sync import MPIOperatorTracker

__all__ = [
    "DEFAULT_NAMESPACE",
    "MPI_OPERATOR_CONN_TYPE",
    "URL_TEMPLATE_EXTRA",
    "AsyncMPIOperatorHook",
    "KubeAccess",
    "KubeConfigSource",
    "MPIOperatorHook",
    "choose_kube_config_source",
]


class MPIOperatorHook(BaseHook):
    """Reach the MPI operator through an ``mpi_operator`` or ``kubernetes`` connection.

    Args:
        conn_id: the connection: this provider's ``mpi_operator`` type or the
            cncf-kubernetes provider's ``kubernetes`` type (same fields). A
            missing ``kubernetes_default`` means the default kube config.
        namespace: the namespace of the jobs; default: the connection's
            ``namespace`` extra, else ``default``.
        config_file: a kube config path overriding the connection.
        cluster_context: a kube config context overriding the connection.
        in_cluster: use the pod's service account, overriding the connection.
    """

    conn_name_attr = "conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = MPI_OPERATOR_CONN_TYPE
    hook_name = "MPI Operator (Kubernetes)"

    def __init__(
        self,
        conn_id: str = DEFAULT_CONN_ID,
        *,
        namespace: str | None = None,
        config_file: str | None = None,
        cluster_context: str | None = None,
        in_cluster: bool | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self._namespace = namespace
        self.config_file = config_file
        self.cluster_context = cluster_context
        self.in_cluster = in_cluster

    @cached_property
    def connection_extras(self) -> dict[str, Any]:
        """The connection's extras (empty for a missing ``kubernetes_default``).

        Raises:
            AirflowNotFoundException: another connection ID does not exist.
        """
        try:
            connection = self.get_connection(self.conn_id)
        except AirflowNotFoundException:
            if self.conn_id == DEFAULT_CONN_ID:  # as the cncf KubernetesHook
                return {}
            raise
        return dict(connection.extra_dejson or {})

    @cached_property
    def kubernetes_hook(self) -> Any:
        """The cncf ``KubernetesHook`` that builds the sync API client.

        It gets the resolved fields rather than the connection ID, since it
        reads only plain and ``extra__kubernetes__`` extras, not those an
        ``mpi_operator`` connection form stores.
        """
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

        extras = self.connection_extras
        inline = connection_extra(extras, "kube_config")
        return KubernetesHook(
            conn_id=None,
            kubernetes_conn_id=None,
            config_file=self.config_file or connection_extra(extras, "kube_config_path"),
            config_dict=parse_kube_config(inline, "kube_config") if inline else None,
            cluster_context=self.cluster_context or connection_extra(extras, "cluster_context"),
            in_cluster=(
                self.in_cluster
                if self.in_cluster is not None
                else as_bool(connection_extra(extras, "in_cluster"))
            ),
            disable_verify_ssl=as_bool(connection_extra(extras, "disable_verify_ssl")),
            disable_tcp_keepalive=as_bool(connection_extra(extras, "disable_tcp_keepalive")),
        )

    @property
    def namespace(self) -> str:
        """The namespace of the jobs: argument, connection extra, or ``default``."""
        return str(
            self._namespace
            or connection_extra(self.connection_extras, "namespace")
            or DEFAULT_NAMESPACE
        )

    @property
    def job_url_template(self) -> str | None:
        """The connection's ``mpi_job_url_template`` extra, if any."""
        value = connection_extra(self.connection_extras, URL_TEMPLATE_EXTRA)
        return str(value) if value else None

    @cached_property
    def tracker(self) -> MPIOperatorTracker:
        """The tracker over the connection's cluster (built once per hook)."""
        from airflow_provider_mpi.mpioperator.tracker.sync import MPIOperatorTracker

        try:
            api_client = self.kubernetes_hook.get_conn()
        except DRMAA2Error:
            raise
        except Exception as exc:  # cncf hook / kubernetes config errors
            raise InvalidArgumentError(
                "conn_id", self.conn_id, f"cannot load its Kubernetes configuration: {exc}"
            ) from exc
        return MPIOperatorTracker(api_client=api_client, namespace=self.namespace)

    def get_conn(self) -> MPIOperatorTracker:
        """Return the tracker (Airflow's generic hook entry point)."""
        return self.tracker

    def get_tracker(self) -> MPIOperatorTracker:
        """Return the tracker over the connection's cluster.

        Returns:
            An :class:`~airflow_provider_mpi.mpioperator.tracker.sync.MPIOperatorTracker`,
            the same one on every call of this hook.

        Raises:
            InvalidArgumentError: the connection's Kubernetes configuration
                cannot be loaded.
        """
        return self.tracker

    def test_connection(self) -> tuple[bool, str]:
        """Check that the cluster answers and the MPIJob CRD is installed.

        Returns:
            ``(True, message)`` when both hold, else ``(False, what is missing)``.
        """
        try:
            self.get_tracker().check_cluster()
        except AuthorizationError as exc:
            return False, f"The cluster refused the credentials or the permission: {exc}"
        except TransientBackendError as exc:
            return False, f"The cluster does not answer: {exc}"
        except DRMAA2Error as exc:  # the CRD is missing or too old, a bad configuration
            return False, str(exc)
        except Exception as exc:  # e.g. the connection does not exist
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"Connected; the MPIJob CRD is installed; namespace {self.namespace!r}"

    def should_pass_kube_config(self) -> tuple[bool, str]:
        """Decide whether a trigger needs the kube config resolved in the worker.

        The triggerer reads connections from the metadata database and the
        secrets backends like the worker does, but not from the worker's
        environment variables. So the kube config is passed only when the
        connection is defined by an ``AIRFLOW_CONN_<CONN_ID>`` variable of
        this process, or when the ``config_file`` override names a file of
        this machine; otherwise the trigger gets the connection ID and the
        overrides, and no credentials are stored with the trigger.

        Returns:
            ``(pass it, why)``; the reason names the variable or the file,
            never the content.
        """
        variable = worker_only_connection_variable(self.conn_id)
        if variable:
            return True, (
                f"connection {self.conn_id!r} is defined by the worker's environment "
                f"variable {variable}, which the triggerer may not have"
            )
        if self.config_file and os.path.isfile(os.path.expanduser(self.config_file)):
            return True, f"the config_file override {self.config_file!r} is a file of the worker"
        return False, (
            f"connection {self.conn_id!r} is not defined by the worker's environment, "
            "so the triggerer reads it like the worker"
        )

    def trigger_access(self, *, pass_kube_config: bool | None = None) -> KubeAccess:
        """Describe how a trigger reaches the cluster.

        Args:
            pass_kube_config: resolve the kube config here (in the worker) and
                hand it to the trigger, so the triggerer needs neither the
                connection nor the file. The config then travels in the
                trigger's kwargs (stored, encrypted with the Fernet key, in the
                metadata database). An in-cluster connection is passed as
                ``in_cluster=True``: the triggerer's own service account is
                used. None (the default) decides with
                :meth:`should_pass_kube_config`; the choice and its reason are
                logged at INFO, never the config.

        Returns:
            The access fields for the trigger.

        Raises:
            InvalidArgumentError: the connection's configuration is invalid or
                its kube config file cannot be read.
        """
        if pass_kube_config is None:
            pass_kube_config, why = self.should_pass_kube_config()
        else:
            why = f"pass_kube_config_to_trigger={pass_kube_config} was set"
        if not pass_kube_config:
            self.log.info(
                "Passing the connection ID %r and the overrides to the trigger: %s",
                self.conn_id,
                why,
            )
            return KubeAccess(
                conn_id=self.conn_id,
                namespace=self.namespace,
                config_file=self.config_file,
                cluster_context=self.cluster_context,
                in_cluster=self.in_cluster,
            )
        self.log.info("Passing the kube config resolved in the worker to the trigger: %s", why)
        extras = self.connection_extras
        in_cluster = self.in_cluster
        if in_cluster is None:
            in_cluster = as_bool(connection_extra(extras, "in_cluster"))
        config_file = self.config_file or connection_extra(extras, "kube_config_path")
        inline = connection_extra(extras, "kube_config")
        context = self.cluster_context or connection_extra(extras, "cluster_context")
        source = choose_kube_config_source(
            in_cluster=in_cluster, config_file=config_file, kube_config=inline
        )
        if source is KubeConfigSource.DEFAULT and os.environ.get("KUBERNETES_SERVICE_HOST"):
            source = KubeConfigSource.IN_CLUSTER  # the default in a pod, as the clients do
        kube_config: dict[str, Any] | None = None
        if source is KubeConfigSource.FILE or source is KubeConfigSource.DEFAULT:
            path = config_file or default_kube_config_path()
            try:
                text = Path(os.path.expanduser(path)).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidArgumentError("kube_config_path", path, str(exc)) from exc
            kube_config = parse_kube_config(text, "kube_config_path")
        elif source is KubeConfigSource.INLINE:
            kube_config = parse_kube_config(inline, "kube_config")
        return KubeAccess(
            conn_id=None,
            namespace=self.namespace,
            cluster_context=context,
            in_cluster=True if source is KubeConfigSource.IN_CLUSTER else None,
            kube_config=kube_config,
        )

    def get_async_tracker(self) -> contextlib.AbstractAsyncContextManager[AsyncMPIOperatorTracker]:
        """Open an async tracker with this hook's connection and overrides.

        Returns:
            An async context manager yielding an
            :class:`~airflow_provider_mpi.mpioperator.tracker.aio.AsyncMPIOperatorTracker`
            and closing its client on exit.
        """
        return AsyncMPIOperatorHook(
            self.conn_id,
            namespace=self._namespace,
            config_file=self.config_file,
            cluster_context=self.cluster_context,
            in_cluster=self.in_cluster,
        ).get_tracker()


#: What a trigger needs besides its own module: ``kubernetes_asyncio`` and the
#: async tracker, about 0.7 s of imports on an idle machine, 1-4 s on a busy one.
_ASYNC_CLIENT_MODULES = (
    "kubernetes_asyncio.client",
    "kubernetes_asyncio.config",
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


def _default_kube_config_files() -> list[str]:
    """The files ``kubernetes_asyncio`` reads by default (``$KUBECONFIG`` when it was imported)."""
    from kubernetes_asyncio.config import kube_config

    value = str(kube_config.KUBE_CONFIG_DEFAULT_LOCATION)
    return [path for path in value.split(kube_config.ENV_KUBECONFIG_PATH_SEPARATOR) if path]


class AsyncMPIOperatorHook:
    """The async side for triggers: the same fields, resolved with ``kubernetes_asyncio``.

    Not a subclass of :class:`MPIOperatorHook`: the two share the connection
    fields, not their methods, and every method here is a coroutine.

    Args:
        conn_id: the ``kubernetes`` connection, read without blocking the
            event loop; None to use only the other fields.
        namespace: the namespace; default: the connection's, else ``default``.
        config_file: a kube config path overriding the connection.
        cluster_context: a kube config context overriding the connection.
        in_cluster: use the pod's service account.
        kube_config: a kube config resolved elsewhere (see
            :meth:`MPIOperatorHook.trigger_access`).
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
        self.namespace = namespace
        self.config_file = config_file
        self.cluster_context = cluster_context
        self.in_cluster = in_cluster
        self.kube_config = dict(kube_config) if kube_config else None

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
        if not self.conn_id or self.kube_config is not None:
            return {}
        try:
            connection = await _get_async_connection(self.conn_id)
        except AirflowNotFoundException:
            if self.conn_id == DEFAULT_CONN_ID:
                return {}
            raise
        return dict(connection.extra_dejson or {})

    async def _load_configuration(self, extras: Mapping[str, Any]) -> Any:
        from kubernetes_asyncio import client, config
        from kubernetes_asyncio.config.config_exception import ConfigException

        configuration = client.Configuration()
        in_cluster = self.in_cluster
        if in_cluster is None:
            in_cluster = as_bool(connection_extra(extras, "in_cluster"))
        config_file = self.config_file or connection_extra(extras, "kube_config_path")
        inline = self.kube_config or connection_extra(extras, "kube_config")
        context = self.cluster_context or connection_extra(extras, "cluster_context")
        source = choose_kube_config_source(
            in_cluster=in_cluster, config_file=config_file, kube_config=inline
        )
        try:
            if source is KubeConfigSource.IN_CLUSTER:
                config.load_incluster_config(client_configuration=configuration)
            elif source is KubeConfigSource.FILE:
                await config.load_kube_config(
                    config_file=config_file, context=context, client_configuration=configuration
                )
            elif source is KubeConfigSource.INLINE:
                await config.load_kube_config_from_dict(
                    parse_kube_config(inline, "kube_config"),
                    context=context,
                    client_configuration=configuration,
                )
            elif os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_incluster_config(client_configuration=configuration)
            else:
                await config.load_kube_config(context=context, client_configuration=configuration)
        except (ConfigException, OSError, TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                "conn_id", self.conn_id, f"cannot load the Kubernetes configuration: {exc}"
            ) from exc
        return configuration

    def _client_key(self, extras: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """What the API client's configuration is loaded from, as a key for sharing it.

        The connection ID, the source, the context and a digest of the kube
        config's content (inline, or the files read): two hooks with the same
        key load the same configuration, so they may share a client. In a pod,
        the service account's token is re-read by the client itself.

        Returns:
            The key, or None when a file cannot be read (then nothing is
            shared and loading reports the error).
        """
        in_cluster = self.in_cluster
        if in_cluster is None:
            in_cluster = as_bool(connection_extra(extras, "in_cluster"))
        config_file = self.config_file or connection_extra(extras, "kube_config_path")
        inline = self.kube_config or connection_extra(extras, "kube_config")
        context = self.cluster_context or connection_extra(extras, "cluster_context")
        source = choose_kube_config_source(
            in_cluster=in_cluster, config_file=config_file, kube_config=inline
        )
        digest = hashlib.sha256()
        if source is KubeConfigSource.DEFAULT and os.environ.get("KUBERNETES_SERVICE_HOST"):
            source = KubeConfigSource.IN_CLUSTER
        if source is KubeConfigSource.IN_CLUSTER:
            for name in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
                digest.update(f"{os.environ.get(name, '')}\0".encode())
        elif source is KubeConfigSource.INLINE:
            text = (
                inline
                if isinstance(inline, str)
                else json.dumps(inline, sort_keys=True, default=str)
            )
            digest.update(str(text).encode())
        else:
            paths = [str(config_file)] if config_file else _default_kube_config_files()
            for path in paths:
                try:
                    digest.update(Path(os.path.expanduser(path)).read_bytes())
                except OSError:
                    return None
                digest.update(f"\0{path}\0".encode())
        return (self.conn_id, source.value, context, digest.hexdigest())

    async def _new_client(self, extras: Mapping[str, Any]) -> Any:
        from kubernetes_asyncio import client

        configuration = await self._load_configuration(extras)
        return client.ApiClient(configuration=configuration)

    @contextlib.asynccontextmanager
    async def get_tracker(self) -> AsyncIterator[AsyncMPIOperatorTracker]:
        """Open an async tracker over the event loop's shared API client.

        Hooks of the same event loop whose connection, overrides and kube
        config content are the same share one client (one TLS context, one
        connection pool); it is closed when the last tracker using it exits
        (see ``hooks/_client_pool.py``).

        Yields:
            The tracker, in the resolved namespace.

        Raises:
            InvalidArgumentError: the Kubernetes configuration cannot be loaded.
        """
        await preload_async_client_modules()  # off the event loop, once
        from airflow_provider_mpi.mpioperator.tracker.aio import AsyncMPIOperatorTracker

        extras = await self.connection_extras()
        namespace = str(
            self.namespace or connection_extra(extras, "namespace") or DEFAULT_NAMESPACE
        )
        key = await asyncio.to_thread(self._client_key, extras)  # reads kube config files
        if key is None:  # not shareable: a client of its own, closed on exit
            api_client = await self._new_client(extras)
            try:
                yield AsyncMPIOperatorTracker(api_client, namespace=namespace)
            finally:
                await api_client.close()
            return
        async with shared_api_client(key, lambda: self._new_client(extras)) as api_client:
            yield AsyncMPIOperatorTracker(api_client, namespace=namespace)
