"""The fields of a ``kubernetes`` or ``mpi_operator`` connection and how they select a kube config.

Both connection types carry the same extras (those of the cncf-kubernetes
provider, plus ``mpi_job_url_template``). Shared by the sync hook (which
builds its client through the cncf ``KubernetesHook``), the async hook of the
triggers (``kubernetes_asyncio``) and the trigger's kwargs
(:class:`KubeAccess`), so that all three read the connection the same way:
the same extras, the same precedence, the same "mutually exclusive" rule as
the cncf-kubernetes provider. :func:`resolve_cluster_access` is the one place
where extras and per-task overrides become a :class:`ClusterAccess` (the
source, the file or inline config, the context, the namespace, the verify
options); the hook, the trigger's access and the client pool's key all read
that, never the extras.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError

__all__ = [
    "DEFAULT_CONN_ID",
    "DEFAULT_NAMESPACE",
    "MPI_OPERATOR_CONN_TYPE",
    "URL_TEMPLATE_EXTRA",
    "ClusterAccess",
    "ConnectionOverrides",
    "KubeAccess",
    "KubeConfigSource",
    "as_bool",
    "choose_kube_config_source",
    "connection_extra",
    "default_kube_config_path",
    "parse_kube_config",
    "resolve_cluster_access",
    "worker_only_connection_variable",
]

DEFAULT_NAMESPACE = "default"
#: Connection extra holding the URL template of the "MPI Job" extra link.
URL_TEMPLATE_EXTRA = "mpi_job_url_template"
#: The cncf-kubernetes provider's default connection.
DEFAULT_CONN_ID = "kubernetes_default"
#: This provider's connection type (the cncf ``kubernetes`` type works as well).
MPI_OPERATOR_CONN_TYPE = "mpi_operator"
#: Prefixes of extras stored by older connection forms (before Airflow 2.3).
_EXTRA_PREFIXES = ("extra__kubernetes__", f"extra__{MPI_OPERATOR_CONN_TYPE}__")


class KubeConfigSource(str, enum.Enum):
    """Where the Kubernetes client configuration comes from."""

    IN_CLUSTER = "in_cluster"
    FILE = "kube_config_path"
    INLINE = "kube_config"
    DEFAULT = "default"


def choose_kube_config_source(
    *, in_cluster: bool | None, config_file: str | None, kube_config: object
) -> KubeConfigSource:
    """Pick the one configuration source, as the cncf ``KubernetesHook`` does.

    Args:
        in_cluster: use the pod's service account.
        config_file: a kube config file path.
        kube_config: an inline kube config (dict, JSON or YAML text).

    Returns:
        The source to load.

    Raises:
        InvalidArgumentError: more than one source is set.
    """
    chosen = [
        source
        for source, value in (
            (KubeConfigSource.IN_CLUSTER, in_cluster),
            (KubeConfigSource.FILE, config_file),
            (KubeConfigSource.INLINE, kube_config),
        )
        if value
    ]
    if len(chosen) > 1:
        raise InvalidArgumentError(
            "connection",
            [source.value for source in chosen],
            "in_cluster, kube_config_path and kube_config are mutually exclusive",
        )
    return chosen[0] if chosen else KubeConfigSource.DEFAULT


def parse_kube_config(value: object, origin: str) -> dict[str, Any]:
    """Read an inline kube config given as a dict, JSON or YAML text."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        import yaml  # here, not at the top: kept out of DAG parsing (~15 ms)

        try:
            parsed = yaml.safe_load(value)  # JSON is YAML
        except yaml.YAMLError as exc:
            raise InvalidArgumentError(
                origin, "<kube config>", f"not YAML or JSON: {exc}"
            ) from None
        if isinstance(parsed, dict):
            return parsed
    raise InvalidArgumentError(origin, "<kube config>", "must be a kube config mapping")


def connection_extra(extras: Mapping[str, Any], name: str) -> Any:
    """Read a connection extra, plain or under a form prefix of either connection type.

    Args:
        extras: the connection's extras.
        name: the plain field name, e.g. ``kube_config_path``.

    Returns:
        The value, or None when unset or empty. A plain name wins over the
        prefixed ``extra__kubernetes__<name>`` and ``extra__mpi_operator__<name>``.
    """
    if name in extras:
        return extras[name] or None
    for prefix in _EXTRA_PREFIXES:
        value = extras.get(f"{prefix}{name}")
        if value:
            return value
    return None


def worker_only_connection_variable(
    conn_id: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Name the ``AIRFLOW_CONN_*`` variable defining ``conn_id`` in this process, if any.

    Airflow's environment-variables secrets backend reads a connection from
    ``AIRFLOW_CONN_<CONN_ID upper-cased>``. Such a connection is visible only
    to processes with that variable; a triggerer usually has other variables.

    Args:
        conn_id: the connection ID (None: no connection).
        environ: the environment to look in (default ``os.environ``).

    Returns:
        The variable's name when it is set (even empty), else None.
    """
    if not conn_id:
        return None
    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    return name if name in (os.environ if environ is None else environ) else None


def as_bool(value: object) -> bool | None:
    """Read a boolean extra that may be stored as text (``"true"``); None stays None."""
    if value is None or isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class KubeAccess:
    """Everything a trigger needs to reach the cluster, as JSON-ready fields.

    Attributes:
        conn_id: the Airflow connection to read in the triggerer, or None when
            everything needed is in the other fields.
        namespace: the namespace of the jobs.
        config_file: a kube config path (must exist where the trigger runs).
        cluster_context: the kube config context.
        in_cluster: use the service account of the pod the trigger runs in.
        kube_config: a resolved kube config, passed when the connection is not
            visible to the triggerer. It is stored with the trigger's kwargs.
    """

    conn_id: str | None = DEFAULT_CONN_ID
    namespace: str | None = None
    config_file: str | None = None
    cluster_context: str | None = None
    in_cluster: bool | None = None
    kube_config: dict[str, Any] | None = None

    def to_kwargs(self) -> dict[str, Any]:
        """Return the fields as keyword arguments (for a trigger's ``serialize``)."""
        return asdict(self)


def default_kube_config_path() -> str:
    """The kube config read by default: the first ``$KUBECONFIG`` entry or ``~/.kube/config``."""
    return os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]


@dataclass(frozen=True)
class ConnectionOverrides:
    """What a task sets on top of its connection (None: the connection decides).

    Attributes:
        namespace: the namespace of the jobs.
        config_file: a kube config path.
        cluster_context: a kube config context.
        in_cluster: use the service account of the pod.
        kube_config: a kube config resolved elsewhere (a trigger's, from the worker).
    """

    namespace: str | None = None
    config_file: str | None = None
    cluster_context: str | None = None
    in_cluster: bool | None = None
    kube_config: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach the cluster: the one reading of a connection and its overrides.

    Attributes:
        source: where the client configuration comes from (``DEFAULT``: no
            source named; see :meth:`effective_source`).
        namespace: the namespace of the jobs.
        config_file: the kube config path, when ``source`` is ``FILE``.
        kube_config: the inline kube config (dict, JSON or YAML text), when
            ``source`` is ``INLINE``.
        context: the kube config context.
        in_cluster: the in-cluster switch as set (True, False or unset).
        disable_verify_ssl: the connection's ``disable_verify_ssl`` extra.
        disable_tcp_keepalive: the connection's ``disable_tcp_keepalive`` extra.
    """

    source: KubeConfigSource
    namespace: str = DEFAULT_NAMESPACE
    config_file: str | None = None
    kube_config: object = None
    context: str | None = None
    in_cluster: bool | None = None
    disable_verify_ssl: bool | None = None
    disable_tcp_keepalive: bool | None = None

    def effective_source(self, environ: Mapping[str, str] | None = None) -> KubeConfigSource:
        """The source to load: with none named, in-cluster inside a pod, as the clients do.

        Args:
            environ: the environment (default ``os.environ``).
        """
        env = os.environ if environ is None else environ
        if self.source is KubeConfigSource.DEFAULT and env.get("KUBERNETES_SERVICE_HOST"):
            return KubeConfigSource.IN_CLUSTER
        return self.source

    def kube_config_files(self) -> list[str]:
        """The kube config files a ``FILE`` or ``DEFAULT`` source reads (the first default)."""
        return [self.config_file or default_kube_config_path()]


def resolve_cluster_access(
    extras: Mapping[str, Any], overrides: ConnectionOverrides = ConnectionOverrides()
) -> ClusterAccess:
    """Turn a connection's extras and a task's overrides into cluster access.

    An override wins over the extra of the same field; a passed ``kube_config``
    wins over the connection's. Pure: reads no file and no environment.

    Args:
        extras: the connection's extras (plain or form-prefixed names).
        overrides: the task's (or the trigger's) fields.

    Returns:
        The access.

    Raises:
        InvalidArgumentError: more than one of in-cluster, a kube config path
            and an inline kube config is set.
    """
    in_cluster = overrides.in_cluster
    if in_cluster is None:
        in_cluster = as_bool(connection_extra(extras, "in_cluster"))
    config_file = overrides.config_file or connection_extra(extras, "kube_config_path")
    inline = overrides.kube_config or connection_extra(extras, "kube_config")
    source = choose_kube_config_source(
        in_cluster=in_cluster, config_file=config_file, kube_config=inline
    )
    return ClusterAccess(
        source=source,
        namespace=str(
            overrides.namespace or connection_extra(extras, "namespace") or DEFAULT_NAMESPACE
        ),
        config_file=str(config_file) if config_file else None,
        kube_config=inline or None,
        context=overrides.cluster_context or connection_extra(extras, "cluster_context"),
        in_cluster=in_cluster,
        disable_verify_ssl=as_bool(connection_extra(extras, "disable_verify_ssl")),
        disable_tcp_keepalive=as_bool(connection_extra(extras, "disable_tcp_keepalive")),
    )
