"""The provider's own ``mpi_operator`` connection type, end to end against the emulator.

Connections made with the ``mpi_operator`` form store their fields with the
``extra__mpi_operator__`` prefix; hand-written ones use plain names. Both
drive the sync side (submission, the sensor's pokes, the connection test) and
the trigger, like a cncf ``kubernetes`` connection does.
"""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import json
from typing import Any

import pytest
from airflow.sdk import DAG, Connection

from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.links import MPIJobLink
from airflow_provider_mpi.operators.mpi_job import MPIJobOperator
from airflow_provider_mpi.sensors.mpi_job import MPIJobSensor
from tests.airflow_versions import needs_airflow
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import scripted_template

URL = "https://dash.example/{namespace}/{name}"


def _mpi_operator_connection(cluster: Any, prefix: str) -> str:
    """An ``AIRFLOW_CONN_*`` value of type ``mpi_operator`` with an inline kube config."""
    extra = {
        "kube_config": json.dumps(cluster.kubeconfig()),
        "namespace": "default",
        "mpi_job_url_template": URL,
    }
    return json.dumps(
        {"conn_type": "mpi_operator", "extra": {f"{prefix}{k}": v for k, v in extra.items()}}
    )


@pytest.mark.parametrize("prefix", ["", "extra__mpi_operator__"], ids=["plain", "form"])
@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
def test_operator_and_sensor_with_an_mpi_operator_connection(
    cluster: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, prefix: str, deferrable: bool
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_KUBERNETES_DEFAULT")  # only ours leads to the cluster
    monkeypatch.setenv("AIRFLOW_CONN_MPI_CONN", _mpi_operator_connection(cluster, prefix))
    with DAG(f"mpi_conn_type_{bool(prefix)}_{deferrable}", schedule=None) as dag:
        run = MPIJobOperator(
            task_id="run",
            conn_id="mpi_conn",
            job_template=scripted_template(duration=5),
            deferrable=deferrable,
        )
        wait = MPIJobSensor(
            task_id="wait",
            conn_id="mpi_conn",
            job_id="{{ ti.xcom_pull(task_ids='run', key='job_id') }}",
            deferrable=deferrable,
            poke_interval=0.2,
            timeout=60,
        )
        run >> wait
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "success", "wait": "success"}
    job_id = xcom(dagrun, "run", "job_id")
    namespace, name = job_id.split("/")
    assert xcom(dagrun, "run")["state"] == xcom(dagrun, "wait")["state"]
    assert xcom(dagrun, "run", MPIJobLink().xcom_key) == URL.format(namespace=namespace, name=name)


@needs_airflow("3.3", "the Task SDK Connection's from_json and test_connection")
def test_connection_get_hook_tests_the_cluster(cluster: Any) -> None:
    connection = Connection.from_json(
        _mpi_operator_connection(cluster, "extra__mpi_operator__"), conn_id="tested"
    )
    hook = connection.get_hook()  # as the UI's "Test" button: by the connection's type
    assert isinstance(hook, MPIOperatorHook)
    assert hook.conn_id == "tested"
    ok, message = connection.test_connection()
    assert ok, message
    assert "MPIJob CRD is installed" in message
