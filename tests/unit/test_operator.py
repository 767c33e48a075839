"""MPIJobOperator / MPIJobArrayOperator / MPIJobLink without a cluster: arguments and templating."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_mpi.drmaa2 import InvalidArgumentError, JobTemplate
from airflow_provider_mpi.links import format_job_url
from airflow_provider_mpi.operators._template import load_job_template
from airflow_provider_mpi.operators.mpi_job import (
    DeletePolicy,
    MPIJobArrayOperator,
    MPIJobOperator,
)

TEMPLATE = {"remoteCommand": "mpirun", "args": ["-n", "2", "app"], "minSlots": 2}


def _context(**params: Any) -> dict[str, Any]:
    return {"params": params, "ds": "2026-01-01", "run_id": "manual__x"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"delete_policy": "sometimes"}, "delete_policy"),
        ({"wait_timeout": 0}, "wait_timeout"),
        ({"wait_timeout": timedelta(seconds=-1)}, "wait_timeout"),
        ({"wait_timeout": "10m"}, "wait_timeout"),
        ({"wait_timeout": float("nan")}, "wait_timeout"),
        ({"wait_timeout": True}, "wait_timeout"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        MPIJobOperator(task_id="t", job_template=TEMPLATE, **kwargs)
    assert caught.value.field == field


def test_array_limit_needs_no_waiting_task() -> None:
    # the mapped sensors of its tasks release the held ones (issue 12, item 2)
    MPIJobArrayOperator(task_id="a", job_template=TEMPLATE, begin=1, end=4, max_parallel=2)
    MPIJobArrayOperator(
        task_id="b", job_template=TEMPLATE, begin=1, end=4, max_parallel=2, wait_for_completion=True
    )
    for bad in (-1, True, "2"):
        with pytest.raises(InvalidArgumentError) as caught:
            MPIJobArrayOperator(
                task_id="c", job_template=TEMPLATE, begin=1, end=4, max_parallel=bad
            )
        assert caught.value.field == "max_parallel"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("never", DeletePolicy.NEVER),
        ("on_success", DeletePolicy.ON_SUCCESS),
        (DeletePolicy.ALWAYS, DeletePolicy.ALWAYS),
    ],
)
def test_delete_policy_accepts_names(policy: Any, expected: DeletePolicy) -> None:
    op = MPIJobOperator(task_id="t", job_template=TEMPLATE, delete_policy=policy)
    assert op.delete_policy is expected


@pytest.mark.parametrize(
    ("wait_timeout", "execution_timeout", "expected"),
    [
        (None, None, None),
        (30, None, 30.0),
        (None, timedelta(minutes=2), 120.0),
        (timedelta(seconds=45), timedelta(minutes=2), 45.0),
    ],
)
def test_the_wait_timeout_defaults_to_execution_timeout(
    wait_timeout: Any, execution_timeout: Any, expected: float | None
) -> None:
    op = MPIJobOperator(
        task_id="t",
        job_template=TEMPLATE,
        wait_timeout=wait_timeout,
        execution_timeout=execution_timeout,
    )
    assert op.effective_timeout == expected


def test_skip_on_exit_code_accepts_one_or_many() -> None:
    assert (
        3
        in MPIJobOperator(task_id="a", job_template=TEMPLATE, skip_on_exit_code=3).skip_on_exit_code
    )
    many = MPIJobOperator(task_id="b", job_template=TEMPLATE, skip_on_exit_code=[3, 4])
    assert 4 in many.skip_on_exit_code
    assert 0 not in MPIJobOperator(task_id="c", job_template=TEMPLATE).skip_on_exit_code


def test_a_job_template_object_is_rendered_field_by_field() -> None:
    with DAG("render_object", schedule=None):
        op = MPIJobOperator(
            task_id="t",
            job_template=JobTemplate(
                remote_command="mpirun",
                args=["--steps", "{{ params.steps }}"],
                job_environment={"RUN": "{{ run_id }}"},
                min_slots=2,
            ),
        )
    op.render_template_fields(_context(steps=7))
    rendered = load_job_template(op.job_template)
    assert rendered.args == ["--steps", "7"]
    assert rendered.job_environment == {"RUN": "manual__x"}


def test_nested_strings_ending_in_json_are_not_file_names() -> None:
    with DAG("render_nested", schedule=None):
        op = MPIJobOperator(
            task_id="t",
            job_template={**TEMPLATE, "args": ["--config", "case-{{ params.case }}.json"]},
        )
    op.render_template_fields(_context(case=3))
    assert load_job_template(op.job_template).args == ["--config", "case-3.json"]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_template_file_is_read_and_rendered(tmp_path: Path, suffix: str) -> None:
    body = (
        "remoteCommand: mpirun\nargs: ['-n', '{{ params.ranks }}', 'app']\nminSlots: 2\n"
        if suffix == ".yaml"
        else '{"remoteCommand": "mpirun", "args": ["-n", "{{ params.ranks }}"], "minSlots": 2}'
    )
    (tmp_path / f"job{suffix}").write_text(body)
    with DAG("render_file", schedule=None, template_searchpath=[str(tmp_path)]):
        op = MPIJobOperator(task_id="t", job_template=f"job{suffix}")
    op.render_template_fields(_context(ranks=4))
    template = load_job_template(op.job_template)
    assert template.remote_command == "mpirun"
    assert template.args[:2] == ["-n", "4"]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("https://d/{namespace}/{name}", "https://d/hpc/pi-abc"),
        ("https://d/?job={job_id}", "https://d/?job=hpc/pi-abc"),
        ("https://d/static", "https://d/static"),
    ],
)
def test_job_url_template(template: str, expected: str) -> None:
    assert format_job_url(template, "hpc/pi-abc") == expected


@pytest.mark.parametrize("template", ["https://d/{pod}", "https://d/{0}", "https://d/{name"])
def test_bad_job_url_template_names_the_field(template: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        format_job_url(template, "hpc/pi")
    assert caught.value.field == "job_url_template"


def test_parsing_a_dag_does_not_import_the_kubernetes_clients() -> None:
    """DAG processors import every DAG file often: the operators stay light.

    What Airflow itself loads for the DAG file's own ``airflow.sdk`` imports is
    the baseline (Airflow 3.0's Task SDK loads aiohttp there; 3.1+ none of them).
    """
    import subprocess
    import sys

    code = (
        "import json, runpy, sys\n"
        "from airflow.sdk import DAG, Param, task\n"
        "clients = ('kubernetes', 'kubernetes_asyncio', 'aiohttp')\n"
        "before = sorted(m for m in clients if m in sys.modules)\n"
        "runpy.run_path('example_dags/example_mpi_array.py')\n"
        "print(json.dumps([before, sorted(m for m in clients if m in sys.modules)]))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert after == before
