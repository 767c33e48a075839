"""The connection arguments that the operators and the sensor share, kept in one place.

Every MPI operator and :class:`~airflow_provider_mpi.sensors.mpi_job.MPIJobSensor`
take the same connection arguments (the connection and its per-task
overrides, and whether the trigger gets the worker's kube config), and
everything done with them lives here: the arguments themselves, the hook, the
trigger's access and the description the "MPI Jobs" page reads.

Airflow applies ``default_args`` (and checks ``partial()`` and ``expand()``
arguments) by the signature of each ``__init__`` its operator metaclass wraps,
class by class along the MRO. The mixin is made by that metaclass, so its own
``__init__`` is wrapped like an operator's: a DAG's ``default_args={"conn_id":
...}`` reaches it although the operators' and the sensor's signatures do not
list the connection arguments.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk.bases.operator import BaseOperatorMeta

from airflow_provider_mpi.hooks._kube_config import KubeAccess
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook

__all__ = ["MPIConnectionMixin"]


class MPIConnectionMixin(metaclass=BaseOperatorMeta):
    """Connection arguments of an operator or sensor, and the hook they make.

    Put it before ``BaseOperator`` (or ``BaseSensorOperator``) in the bases;
    it passes every other keyword argument on.

    Args:
        conn_id: an ``mpi_operator`` or ``kubernetes`` (cncf-kubernetes) connection.
        namespace: the jobs' namespace (default: the connection's).
        config_file: a kube config path overriding the connection.
        cluster_context: a kube config context overriding the connection.
        in_cluster: use the worker's service account.
        pass_kube_config_to_trigger: pass the worker's kube config to the
            trigger (True), only the connection ID and the overrides (False),
            or decide (None; see ``MPIOperatorHook.should_pass_kube_config``).
    """

    def __init__(
        self,
        *,
        conn_id: str = MPIOperatorHook.default_conn_name,
        namespace: str | None = None,
        config_file: str | None = None,
        cluster_context: str | None = None,
        in_cluster: bool | None = None,
        pass_kube_config_to_trigger: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.namespace = namespace
        self.config_file = config_file
        self.cluster_context = cluster_context
        self.in_cluster = in_cluster
        self.pass_kube_config_to_trigger = pass_kube_config_to_trigger

    @cached_property
    def hook(self) -> MPIOperatorHook:
        """The hook over the task's connection and overrides."""
        return MPIOperatorHook(
            self.conn_id,
            namespace=self.namespace,
            config_file=self.config_file,
            cluster_context=self.cluster_context,
            in_cluster=self.in_cluster,
        )

    def trigger_access(self) -> KubeAccess:
        """How the trigger reaches the cluster (see ``MPIOperatorHook.trigger_access``)."""
        return self.hook.trigger_access(pass_kube_config=self.pass_kube_config_to_trigger)

    def access_description(self) -> dict[str, Any]:
        """How to reach the job's cluster, for the "MPI Jobs" page (no credential).

        Returns:
            The connection ID and the overrides (namespace, kube config path,
            context, in-cluster switch), JSON-ready.
        """
        return {
            "conn_id": self.conn_id,
            "namespace": self.namespace,
            "config_file": self.config_file,
            "cluster_context": self.cluster_context,
            "in_cluster": self.in_cluster,
        }
