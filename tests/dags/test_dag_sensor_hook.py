"""MPIJobSensor in poke and reschedule modes, the hook's connection test, the extra link."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import json
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_mpi.drmaa2 import JobState, JobTemplate
from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.links import MPIJobLink
from airflow_provider_mpi.operators.mpi_job import MPIJobOperator
from airflow_provider_mpi.sensors.mpi_job import MPIJobSensor
from tests.dags.conftest import connection_env
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import scripted_template


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_sensor_modes(cluster: Any, run_dag: Any, mode: str) -> None:
    tracker = MPIOperatorHook().get_tracker()
    job_id = tracker.add_job(JobTemplate.from_dict(scripted_template(duration=20)))
    with DAG(f"mpi_sensor_{mode}", schedule=None) as dag:
        MPIJobSensor(task_id="wait", job_id=job_id, mode=mode, poke_interval=0.2, timeout=60)
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"wait": "success"}
    assert xcom(dagrun, "wait")["id"] == job_id
    assert tracker.job_state(job_id)[0] is JobState.DONE


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
@pytest.mark.parametrize(("soft_fail", "state"), [(False, "failed"), (True, "skipped")])
def test_sensor_on_a_failed_job_that_is_no_target(
    cluster: Any, run_dag: Any, deferrable: bool, soft_fail: bool, state: str
) -> None:
    tracker = MPIOperatorHook().get_tracker()
    job_id = tracker.add_job(JobTemplate.from_dict(scripted_template(exit_code=1, duration=5)))
    with DAG(f"mpi_sensor_failed_{deferrable}_{soft_fail}", schedule=None) as dag:
        MPIJobSensor(
            task_id="wait",
            job_id=job_id,
            poke_interval=0.2,
            timeout=60,
            retries=3,  # not used: a Failed job stays Failed
            deferrable=deferrable,
            soft_fail=soft_fail,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"wait": state}
    assert [ti.try_number for ti in dagrun.get_task_instances()] == [1]


def test_sensor_on_running(cluster: Any, run_dag: Any) -> None:
    tracker = MPIOperatorHook().get_tracker()
    job_id = tracker.add_job(JobTemplate.from_dict(scripted_template(duration=3600)))
    with DAG("mpi_sensor_running", schedule=None) as dag:
        MPIJobSensor(task_id="wait", job_id=job_id, target_states=["Running"], deferrable=True)
    assert task_states(run_dag(dag)) == {"wait": "success"}
    assert tracker.job_state(job_id)[0] is JobState.RUNNING


def test_connection_test_against_the_cluster(cluster: Any) -> None:
    ok, message = MPIOperatorHook().test_connection()
    assert ok, message
    assert f"'{cluster.namespace}'" in message


def test_connection_test_with_a_bad_token(
    cluster: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    config = cluster.kubeconfig()
    config["users"][0]["user"] = {"token": "not-the-token"}
    path = tmp_path / "config"
    path.write_text(json.dumps(config))
    monkeypatch.setenv(
        "AIRFLOW_CONN_BADTOKEN",
        json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(path)}}),
    )
    ok, message = MPIOperatorHook("badtoken").test_connection()
    assert not ok
    assert message.startswith("The cluster refused")


def test_connection_test_names_the_missing_crd(
    start_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_cluster(operator_installed=False)
    ok, message = MPIOperatorHook().test_connection()
    assert not ok
    assert "mpijobs.kubeflow.org" in message


def test_connection_test_without_a_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    config = tmp_path / "config"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_NOWHERE",
        json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(config)}}),
    )
    ok, message = MPIOperatorHook("nowhere").test_connection()
    assert not ok
    assert message.startswith("The cluster does not answer")
    assert "127.0.0.1" in message


def test_extra_link_from_the_connection(
    cluster: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
        connection_env(cluster, mpi_job_url_template="https://dash.example/{namespace}/{name}"),
    )
    with DAG("mpi_link", schedule=None) as dag:
        MPIJobOperator(task_id="run", job_template=scripted_template())
    dagrun = run_dag(dag)
    job_id = xcom(dagrun, "run", "job_id")
    namespace, name = job_id.split("/")
    assert xcom(dagrun, "run", MPIJobLink().xcom_key) == f"https://dash.example/{namespace}/{name}"


def test_a_bad_url_template_fails_before_submitting(cluster: Any, run_dag: Any) -> None:
    with DAG("mpi_bad_link", schedule=None) as dag:
        MPIJobOperator(
            task_id="run", job_template=scripted_template(), job_url_template="https://d/{pod}"
        )
    assert task_states(run_dag(dag)) == {"run": "failed"}
    assert MPIOperatorHook().get_tracker().list_jobs() == []


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
def test_sensor_logs_the_output_tail_when_the_job_ends(
    cluster: Any, run_dag: Any, capfd: pytest.CaptureFixture[str], deferrable: bool
) -> None:
    tracker = MPIOperatorHook().get_tracker()
    lines = [f"line {n}" for n in range(1, 6)]
    job_id = tracker.add_job(
        JobTemplate.from_dict(scripted_template(log="\n".join(lines), duration=3))
    )
    with DAG(f"mpi_sensor_tail_{deferrable}", schedule=None) as dag:
        MPIJobSensor(
            task_id="wait",
            job_id=job_id,
            poke_interval=0.2,
            timeout=60,
            deferrable=deferrable,
            log_tail_lines=2,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"wait": "success"}
    out = capfd.readouterr().out
    assert "[launcher] line 4" in out
    assert "[launcher] line 5" in out
    assert "[launcher] line 3" not in out  # only the tail
    result = xcom(dagrun, "wait")
    assert result["readable"]["state"] == "Done"
    assert result["state"] == int(JobState.DONE)


def test_sensor_refuses_a_bad_tail_before_any_request() -> None:
    with pytest.raises(InvalidArgumentError, match="log_tail_lines"):
        MPIJobSensor(task_id="wait", job_id="default/x", log_tail_lines=-1)
