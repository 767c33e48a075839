"""MPIJobArrayOperator waiting for its tasks: max_parallel holds, failures are listed."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_mpi.drmaa2 import JobState
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.operators.mpi_job import MPIJobArrayOperator
from airflow_provider_mpi.sensors.mpi_job import MPIJobSensor
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import running_at_once, scripted_template


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferred"])
def test_wait_for_all_tasks_with_max_parallel(cluster: Any, run_dag: Any, deferrable: bool) -> None:
    with DAG(f"mpi_array_wait_{deferrable}", schedule=None) as dag:
        MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(duration=10),
            begin=1,
            end=4,
            max_parallel=2,
            wait_for_completion=True,
            deferrable=deferrable,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"sweep": "success"}
    job_ids = xcom(dagrun, "sweep")
    assert [job_id.rsplit("-", 1)[1] for job_id in job_ids] == ["1", "2", "3", "4"]
    tracker = MPIOperatorHook().get_tracker()
    assert {tracker.job_state(job_id)[0] for job_id in job_ids} == {JobState.DONE}
    assert xcom(dagrun, "sweep", "array_id") == job_ids[0].rsplit("-", 1)[0]
    assert running_at_once(cluster) == 2  # never 3 or 4: held tasks wait their turn


def test_failed_tasks_are_listed(cluster: Any, run_dag: Any) -> None:
    with DAG("mpi_array_failure", schedule=None) as dag:
        MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(exit_code=1),
            begin=1,
            end=2,
            wait_for_completion=True,
            deferrable=True,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"sweep": "failed"}
    array_id = xcom(dagrun, "sweep", "array_id")
    tracker = MPIOperatorHook().get_tracker()
    assert {tracker.job_state(job)[0] for job in tracker.list_array_jobs(array_id)} == {
        JobState.FAILED
    }


@pytest.mark.emulator_only("injects faults")
def test_retry_reattaches_to_the_array(cluster: Any, run_dag: Any) -> None:
    # The first try loses its wait (403 on the watch) while the tasks run on.
    cluster.faults.fail(403, times=1, verb="watch", resource="mpijobs")
    with DAG("mpi_array_retry", schedule=None) as dag:
        MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(duration=20),
            begin=1,
            end=3,
            wait_for_completion=True,
            retries=1,
            retry_delay=timedelta(0),
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"sweep": "success"}
    assert [ti.try_number for ti in dagrun.get_task_instances()] == [2]
    assert len(MPIOperatorHook().get_tracker().list_jobs()) == 3  # not 6


def test_max_parallel_released_by_mapped_poking_sensors(
    cluster: Any, run_dag: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    with DAG("mpi_array_sensors", schedule=None) as dag:
        sweep = MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(duration=5),
            begin=1,
            end=5,
            max_parallel=2,
        )
        MPIJobSensor.partial(task_id="each", poke_interval=0.2, timeout=300).expand(
            job_id=sweep.output
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {
        "sweep": "success",
        **{f"each[{i}]": "success" for i in range(5)},
    }
    tracker = MPIOperatorHook().get_tracker()
    assert {tracker.job_state(job)[0] for job in xcom(dagrun, "sweep")} == {JobState.DONE}
    assert 1 <= running_at_once(cluster) <= 2
    out = capfd.readouterr().out  # the task log: the rule is said where it matters
    assert "3 of its 5 tasks are held by max_parallel=2" in out


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
def test_a_sensor_that_leaves_held_tasks_behind_says_so(
    cluster: Any, run_dag: Any, capfd: pytest.CaptureFixture[str], deferrable: bool
) -> None:
    with DAG(f"mpi_array_one_sensor_{deferrable}", schedule=None) as dag:
        sweep = MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(duration=2),
            begin=1,
            end=4,
            max_parallel=1,
        )
        first = MPIJobSensor(
            task_id="first",
            job_id="{{ ti.xcom_pull(task_ids='sweep')[0] }}",
            poke_interval=0.2,
            deferrable=deferrable,
        )
        sweep >> first
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"sweep": "success", "first": "success"}
    # its end released task 2; tasks 3 and 4 wait for a waiter that will not come
    tracker = MPIOperatorHook().get_tracker()
    array_id = xcom(dagrun, "sweep", "array_id")
    assert tracker.held_array_tasks(array_id) == [f"{array_id}-3", f"{array_id}-4"]
    out = capfd.readouterr().out
    assert "2 task(s) of the array of" in out
    assert "still held by max_parallel" in out


@pytest.mark.emulator_only("injects faults")
def test_retry_completes_a_half_submitted_array(cluster: Any, run_dag: Any) -> None:
    # The first try stops in the middle of the submission and cannot clean up (its
    # deletes are refused): a half array is left, as after a worker's SIGKILL.
    refused = cluster.faults.fail(403, times=1, verb="create", resource="mpijobs", rate=0.3)
    cluster.faults.fail(403, verb="delete")
    with DAG("mpi_array_half", schedule=None) as dag:
        MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(duration=2),
            begin=1,
            end=12,
            max_parallel=3,
            wait_for_completion=True,
            retries=1,
            retry_delay=timedelta(0),
        )
    dagrun = run_dag(dag)
    assert refused.hits == 1
    assert task_states(dagrun) == {"sweep": "success"}
    assert [ti.try_number for ti in dagrun.get_task_instances()] == [2]
    tracker = MPIOperatorHook().get_tracker()
    job_ids = xcom(dagrun, "sweep")
    assert len(job_ids) == 12
    assert sorted(tracker.list_jobs()) == sorted(job_ids)  # 12, not 24, none missing
    assert {tracker.job_state(job)[0] for job in job_ids} == {JobState.DONE}
    stats = cluster.requests.snapshot()[("create", "mpijobs")]
    assert stats.count - stats.errors + stats.lost == 12  # each task created once
    assert running_at_once(cluster) <= 3


OPERATOR_TRY = """
import sys
from airflow_provider_mpi.operators.mpi_job import MPIJobArrayOperator
from tests.dags.jobs import scripted_template


class TaskInstance:  # what execute() reads of the context: the identity and XCom
    dag_id, task_id, run_id, map_index = "crash_dag", "sweep", "manual__crash", -1
    try_number = int(sys.argv[1])

    def xcom_push(self, key, value):
        pass


operator = MPIJobArrayOperator(
    task_id="sweep", job_template=scripted_template(duration=1), begin=1, end=200, max_parallel=5
)
print(len(operator.execute({"ti": TaskInstance()})), flush=True)
"""


@pytest.mark.emulator_only("delays creates with the fault layer and counts tasks in the store")
def test_operator_retry_after_a_sigkill_in_the_middle_of_the_array(cluster: Any) -> None:
    """A worker SIGKILLed while its try submits 200 tasks; the next try completes the array."""
    cluster.faults.delay(0.03, verb="create", resource="mpijobs")
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}

    def task_count() -> int:
        items, _ = cluster.store.list("mpijobs", "default")
        return len(items)

    first = subprocess.Popen(
        [sys.executable, "-c", OPERATOR_TRY, "1"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while task_count() < 30:
            assert first.poll() is None, first.communicate()[1][-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
    finally:
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    time.sleep(0.3)
    left = task_count()
    assert 30 <= left < 200, left
    cluster.faults.clear()
    second = subprocess.run(
        [sys.executable, "-c", OPERATOR_TRY, "2"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.strip().splitlines()[-1] == "200"  # the task IDs it returned
    assert f"created its {200 - left} missing task(s)" in second.stdout + second.stderr
    assert task_count() == 200
    stats = cluster.requests.snapshot()[("create", "mpijobs")]
    assert stats.count - stats.errors + stats.lost == 200  # each task created once
