"""The Airflow hook: an Airflow connection turned into a job tracker.

The hook reads two connection types with the same fields: the cncf-kubernetes
provider's ``kubernetes`` (in-cluster, kube config path, inline kube config,
context, namespace), so that connections users already have keep working, and
this provider's own ``mpi_operator`` type (registered in ``get_provider_info``,
so that ``airflow providers hooks`` and the connection form list this hook),
which adds the ``mpi_job_url_template`` field. Both sides read the connection
through one pure resolver (``hooks/_kube_config.resolve_cluster_access``): the
sync side builds its API client through the cncf ``KubernetesHook`` (same
precedence, same client); the async side, used by triggers, is a separate
small class (:class:`~airflow_provider_mpi.hooks.async_mpi_operator.AsyncMPIOperatorHook`,
importable from here too) that builds a ``kubernetes_asyncio`` client and
never blocks the event loop.

A trigger runs in the triggerer, which may not see a connection defined only in
the worker's environment (an ``AIRFLOW_CONN_*`` variable).
:meth:`MPIOperatorHook.trigger_access` therefore resolves the kube config in
the worker and hands it to the trigger in that case (see ``docs/airflow.md``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_mpi.drmaa2.errors import (
    AuthorizationError,
    DRMAA2Error,
    InvalidArgumentError,
    TransientBackendError,
)
from airflow_provider_mpi.hooks import _form, _masking
from airflow_provider_mpi.hooks._compat import AirflowNotFoundException, BaseHook
from airflow_provider_mpi.hooks._kube_config import (
    DEFAULT_CONN_ID,
    DEFAULT_NAMESPACE,
    MPI_OPERATOR_CONN_TYPE,
    URL_TEMPLATE_EXTRA,
    ClusterAccess,
    ConnectionOverrides,
    KubeAccess,
    KubeConfigSource,
    choose_kube_config_source,
    connection_extra,
    parse_kube_config,
    resolve_cluster_access,
    worker_only_connection_variable,
)
from airflow_provider_mpi.hooks.async_mpi_operator import AsyncMPIOperatorHook

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

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The connection form's extras on Airflow 3.0 and 3.1 (3.2+ reads ``conn-fields``)."""
        return _form.connection_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The standard fields the form hides on Airflow 3.0 and 3.1 (3.2+: provider info)."""
        return _form.ui_field_behaviour()

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
        #: The task's overrides of the connection's fields.
        self.overrides = ConnectionOverrides(namespace, config_file, cluster_context, in_cluster)

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

        access = self.cluster_access
        return KubernetesHook(
            conn_id=None,
            kubernetes_conn_id=None,
            config_file=access.config_file,
            config_dict=(
                parse_kube_config(access.kube_config, "kube_config") if access.kube_config else None
            ),
            cluster_context=access.context,
            in_cluster=access.in_cluster,
            disable_verify_ssl=access.disable_verify_ssl,
            disable_tcp_keepalive=access.disable_tcp_keepalive,
        )

    @cached_property
    def cluster_access(self) -> ClusterAccess:
        """The connection and this hook's overrides, resolved (see ``resolve_cluster_access``).

        Raises:
            InvalidArgumentError: more than one kube config source is set.
        """
        return resolve_cluster_access(self.connection_extras, self.overrides)

    @property
    def namespace(self) -> str:
        """The namespace of the jobs: argument, connection extra, or ``default``.

        An argument is returned without reading the connection.
        """
        return self.overrides.namespace or self.cluster_access.namespace

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
        config_file = self.overrides.config_file
        if config_file and os.path.isfile(os.path.expanduser(config_file)):
            return True, f"the config_file override {config_file!r} is a file of the worker"
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
            overrides = replace(self.overrides, namespace=self.namespace)
            return KubeAccess(self.conn_id, **asdict(overrides))
        self.log.info("Passing the kube config resolved in the worker to the trigger: %s", why)
        access = self.cluster_access
        source = access.effective_source()
        kube_config: dict[str, Any] | None = None
        if source is KubeConfigSource.FILE or source is KubeConfigSource.DEFAULT:
            path = access.kube_config_files()[0]
            try:
                text = Path(os.path.expanduser(path)).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidArgumentError("kube_config_path", path, str(exc)) from exc
            kube_config = parse_kube_config(text, "kube_config_path")
        elif source is KubeConfigSource.INLINE:
            kube_config = parse_kube_config(access.kube_config, "kube_config")
        if kube_config is not None:
            _masking.mask_kube_config_secrets(kube_config)
        return KubeAccess(
            conn_id=None,
            namespace=access.namespace,
            cluster_context=access.context,
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
        return AsyncMPIOperatorHook(self.conn_id, **asdict(self.overrides)).get_tracker()
