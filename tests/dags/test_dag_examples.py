"""Every example DAG runs unchanged against the emulator, as a user would run it."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import importlib.util
import math
import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import JobState, JobTemplate
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import running_at_once, scripted_template

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def load_example(name: str) -> Any:
    """Import an example DAG file and return its ``dag``."""
    spec = importlib.util.spec_from_file_location(f"example_dags_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


@pytest.mark.mpi
def test_pi_with_a_real_two_rank_mpirun(start_cluster: Any, run_dag: Any) -> None:
    start_cluster(local_exec=True, clock=None)
    dagrun = run_dag(load_example("example_mpi_pi"), run_conf={"intervals": 200_000})
    assert task_states(dagrun) == {"compute_pi": "success"}
    job_id = xcom(dagrun, "compute_pi", "job_id")
    output = "\n".join(MPIOperatorHook().get_tracker().job_output(job_id))
    found = re.search(r"pi is approximately ([0-9.]+) \(ranks=2, intervals=200000\)", output)
    assert found, output
    assert math.isclose(float(found[1]), math.pi, abs_tol=1e-6)


def test_array_fanned_out_with_dynamic_task_mapping(
    start_cluster: Any, run_dag: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    cluster = start_cluster(clock=2.0)  # the jobs' 20 s take 10 s: the sensors find them running
    dagrun = run_dag(load_example("example_mpi_array"))
    out = "".join(capfd.readouterr())
    assert task_states(dagrun) == {
        "sweep": "success",
        **{f"wait_each[{i}]": "success" for i in range(6)},
        "summarise": "success",
    }
    job_ids = xcom(dagrun, "sweep")
    assert len(job_ids) == 6
    assert sorted(MPIOperatorHook().get_tracker().list_jobs()) == sorted(job_ids)
    assert xcom(dagrun, "summarise") == dict.fromkeys(job_ids, 0)
    # The jobs run long enough that the sensors find them running and defer
    # (dag.test() runs a deferred task's trigger to its end before the next
    # task, so here only the first defers; a scheduler defers them all), and
    # what each launcher printed reaches its sensor's log.
    assert "Pausing task as DEFERRED" in out
    for job_id in job_ids:
        index = job_id.rsplit("-", 1)[1]
        assert f"[launcher] task {index} done" in out
    # max_parallel=2 with no waiting array task: the sensors released the held tasks
    assert 1 <= running_at_once(cluster) <= 2


@pytest.mark.parametrize(("exit_code", "state"), [(0, JobState.DONE), (4, JobState.FAILED)])
def test_sensor_on_an_existing_job(
    cluster: Any, run_dag: Any, exit_code: int, state: JobState
) -> None:
    tracker = MPIOperatorHook().get_tracker()
    job_id = tracker.add_job(JobTemplate.from_dict(scripted_template(exit_code=exit_code)))
    dagrun = run_dag(load_example("example_mpi_sensor"), run_conf={"job_id": job_id})
    assert task_states(dagrun) == {"wait_for_job": "success", "report": "success"}
    assert xcom(dagrun, "report") == f"{job_id} ended {state} with exit status {exit_code}"
    assert tracker.job_state(job_id)[0] is state  # the sensor never touches the job
