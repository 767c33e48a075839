"""The connection arguments, declared once on MPIConnectionMixin, behave as Airflow arguments.

The operators' and the sensor's ``__init__`` do not list ``conn_id`` and its
overrides; Airflow's operator metaclass wraps the mixin's ``__init__`` too,
so ``default_args``, ``partial()`` and ``expand()`` must still see them.
"""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.operators.mpi_job import MPIJobArrayOperator, MPIJobOperator
from airflow_provider_mpi.sensors.mpi_job import MPIJobSensor

TEMPLATE = {"remoteCommand": "mpirun", "args": ["app"], "minSlots": 1}
DEFAULTS = {
    "conn_id": "from_defaults",
    "namespace": "team",
    "config_file": "/etc/kube.yaml",
    "cluster_context": "ctx",
    "in_cluster": False,
    "pass_kube_config_to_trigger": True,
}
CONNECTION_ARGS = tuple(DEFAULTS)


def _make(kind: str, **kwargs: Any) -> Any:
    if kind == "operator":
        return MPIJobOperator(task_id="job", job_template=TEMPLATE, **kwargs)
    if kind == "array":
        return MPIJobArrayOperator(task_id="array", job_template=TEMPLATE, begin=1, end=2, **kwargs)
    return MPIJobSensor(task_id="sensor", job_id="pi", **kwargs)


KINDS = ("operator", "array", "sensor")


@pytest.mark.parametrize("kind", KINDS)
def test_dag_default_args_reach_the_connection_arguments(kind: str) -> None:
    with DAG(f"defaults_{kind}", schedule=None, default_args=DEFAULTS):
        task = _make(kind)
    assert {name: getattr(task, name) for name in CONNECTION_ARGS} == DEFAULTS
    assert task.hook.conn_id == "from_defaults"


@pytest.mark.parametrize("kind", KINDS)
def test_an_explicit_argument_wins_over_default_args(kind: str) -> None:
    with DAG(f"explicit_{kind}", schedule=None, default_args=DEFAULTS):
        task = _make(kind, conn_id="explicit", namespace="mine")
    assert (task.conn_id, task.namespace, task.cluster_context) == ("explicit", "mine", "ctx")


@pytest.mark.parametrize("kind", KINDS)
def test_without_arguments_the_defaults_apply(kind: str) -> None:
    task = _make(kind)
    assert task.conn_id == MPIOperatorHook.default_conn_name
    assert task.namespace is None
    assert task.pass_kube_config_to_trigger is None


def test_partial_and_expand_accept_the_connection_arguments() -> None:
    with DAG("mapped", schedule=None):
        mapped = MPIJobSensor.partial(task_id="wait", conn_id="c", namespace="n").expand(
            job_id=["a", "b"]
        )
    assert mapped.partial_kwargs["conn_id"] == "c"
    assert mapped.partial_kwargs["namespace"] == "n"


def test_partial_still_rejects_an_unknown_argument() -> None:
    with DAG("mapped_bad", schedule=None), pytest.raises(TypeError, match="conn_idd"):
        MPIJobSensor.partial(task_id="wait", conn_idd="c")


def test_an_unknown_argument_is_still_rejected() -> None:
    with pytest.raises(TypeError, match="conn_idd"):
        MPIJobOperator(task_id="job", job_template=TEMPLATE, conn_idd="typo")
