"""MPIJobOperator in whole DAG runs against the emulator: success and failure, sync and deferred."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import threading
import time
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_mpi.drmaa2 import JobInfo, JobState
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.operators.mpi_job import MPIJobOperator
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import scripted_template as template


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
def test_success_returns_job_info(cluster: Any, run_dag: Any, deferrable: bool) -> None:
    with DAG(f"mpi_success_{deferrable}", schedule=None) as dag:
        MPIJobOperator(
            task_id="run",
            job_template=template(log="hello from rank 0\nresult 42"),
            deferrable=deferrable,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "success"}
    info = JobInfo.from_dict(xcom(dagrun, "run"))
    assert info.state is JobState.DONE
    assert info.exit_status == 0
    assert xcom(dagrun, "run", "job_id") == info.id
    tracker = MPIOperatorHook().get_tracker()
    assert tracker.list_jobs() == [info.id]
    labels = tracker.job_template(info.id)
    assert labels is not None


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
def test_failure_reports_exit_code(
    cluster: Any, run_dag: Any, capfd: pytest.CaptureFixture[str], deferrable: bool
) -> None:
    with DAG(f"mpi_failure_{deferrable}", schedule=None) as dag:
        MPIJobOperator(
            task_id="run",
            job_template=template(exit_code=3, log="starting\nboom: bad input"),
            deferrable=deferrable,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "failed"}
    assert xcom(dagrun, "run") is None
    job_id = xcom(dagrun, "run", "job_id")
    tracker = MPIOperatorHook().get_tracker()
    assert tracker.job_state(job_id)[0] is JobState.FAILED
    assert tracker.job_info(job_id).exit_status == 3
    out = capfd.readouterr().out
    assert f"MPIJob {job_id} failed, exit status 3" in out  # the failure message
    assert "Last launcher lines:\nstarting\nboom: bad input" in out
    assert "MPIJob event " in out  # the job's Warning events


def test_skip_on_exit_code(cluster: Any, run_dag: Any) -> None:
    with DAG("mpi_skip", schedule=None) as dag:
        MPIJobOperator(task_id="run", job_template=template(exit_code=99), skip_on_exit_code=99)
    assert task_states(run_dag(dag)) == {"run": "skipped"}


@pytest.mark.parametrize(
    ("policy", "exit_code", "kept"),
    [
        ("never", 0, True),
        ("on_success", 0, False),
        ("on_success", 1, True),
        ("always", 1, False),
    ],
)
def test_delete_policy(cluster: Any, run_dag: Any, policy: str, exit_code: int, kept: bool) -> None:
    with DAG(f"mpi_delete_{policy}_{exit_code}", schedule=None) as dag:
        MPIJobOperator(
            task_id="run", job_template=template(exit_code=exit_code), delete_policy=policy
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "success" if exit_code == 0 else "failed"}
    job_id = xcom(dagrun, "run", "job_id")
    assert (job_id in MPIOperatorHook().get_tracker().list_jobs()) is kept


class _TaskInstance:
    """The part of a task context the operator reads, for calling execute() directly."""

    dag_id = "direct"
    task_id = "run"
    run_id = "manual__direct"
    map_index = -1
    try_number = 1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def test_on_kill_terminates_the_running_job(cluster: Any) -> None:
    operator = MPIJobOperator(task_id="run", job_template=template(duration=3600))
    ti = _TaskInstance()
    errors: list[BaseException] = []

    def execute() -> None:
        try:
            operator.execute({"ti": ti})  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=execute)
    worker.start()
    tracker = MPIOperatorHook().get_tracker()
    deadline = time.monotonic() + 30
    while "job_id" not in ti.xcom and time.monotonic() < deadline:
        time.sleep(0.05)
    tracker.wait(ti.xcom["job_id"], 30, JobState.RUNNING)
    operator.on_kill()  # what Airflow calls when it kills the running task
    worker.join(30)
    assert not worker.is_alive()
    state, sub_state = tracker.job_state(ti.xcom["job_id"])
    assert state is JobState.FAILED
    assert "terminat" in sub_state.lower()
    assert errors  # the task fails: its job was terminated


@pytest.mark.emulator_only("injects faults")
@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
@pytest.mark.parametrize("log_fault", [False, True], ids=["clean", "log-read-refused-once"])
def test_launcher_lines_reach_the_task_log_once(
    cluster: Any, run_dag: Any, capfd: pytest.CaptureFixture[str], deferrable: bool, log_fault: bool
) -> None:
    if log_fault:
        cluster.faults.fail(403, times=1, verb="get", resource="pods")
    lines = [f"step {n} of 5" for n in range(1, 6)]
    with DAG(f"mpi_logs_{deferrable}_{log_fault}", schedule=None) as dag:
        MPIJobOperator(
            task_id="run", job_template=template(log="\n".join(lines)), deferrable=deferrable
        )
    assert task_states(run_dag(dag)) == {"run": "success"}  # logs never fail a task
    out = capfd.readouterr().out
    if deferrable and log_fault:  # one read after the trigger: refused, said so
        assert "Could not read the launcher output" in out
        return
    for line in lines:  # streamed (sync, a refused read is retried) or read once
        assert out.count(f"[launcher] {line}") == 1, line
