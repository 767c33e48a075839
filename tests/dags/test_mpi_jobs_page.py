"""The "MPI Jobs" pages and their JSON API, against the emulator, after real DAG runs."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from airflow.sdk import DAG
from fastapi.testclient import TestClient

from airflow_provider_mpi.drmaa2 import JobTemplate
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.links import ACCESS_XCOM_KEY, MPIJobLink
from airflow_provider_mpi.mpioperator.template import set_labels_extension
from airflow_provider_mpi.operators._labels import AirflowJobIdentity
from airflow_provider_mpi.operators.mpi_job import MPIJobArrayOperator, MPIJobOperator
from airflow_provider_mpi.plugins._data import MPIJobsReader
from airflow_provider_mpi.plugins.app import create_app
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import SCRIPT, scripted_template


def _client(reader: MPIJobsReader | None = None) -> TestClient:
    # The auth manager's part is tested with a real API server (test_ui_browser).
    return TestClient(create_app(reader, authorize=False))


def _run_pi(run_dag: Any, dag_id: str, **operator: Any) -> Any:
    with DAG(dag_id, schedule=None) as dag:
        MPIJobOperator(
            task_id="compute_pi",
            job_template=scripted_template(log="pi is approximately 3.14159", duration=2),
            deferrable=True,
            **operator,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"compute_pi": "success"}
    return dagrun


def test_the_link_leads_to_the_page_which_shows_the_job(cluster: Any, run_dag: Any) -> None:
    dagrun = _run_pi(run_dag, "mpi_page_pi")
    job_id = xcom(dagrun, "compute_pi", "job_id")
    url = xcom(dagrun, "compute_pi", MPIJobLink().xcom_key)
    parts = urlsplit(url)
    assert parts.path == "/mpi-jobs/job"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "dag_id": "mpi_page_pi",
        "run_id": dagrun.run_id,
        "task_id": "compute_pi",
        "map_index": "-1",
        "job_id": job_id,
    }
    access = xcom(dagrun, "compute_pi", ACCESS_XCOM_KEY)
    assert access["conn_id"] == "kubernetes_default"
    assert "kube_config" not in str(access)  # names only, never a credential

    client = _client()
    view = client.get("/api/job", params=query).json()
    assert view["id"] == job_id
    assert view["state"] == "Done"
    assert view["terminal"] is True
    assert view["info"]["exitStatus"] == 0
    assert "pi is approximately 3.14159" in view["log"]
    assert view["pods"][0]["role"] == "launcher"  # workers are gone (cleanPodPolicy)
    assert view["pods"][0]["phase"] == "Succeeded"
    assert all(p["node"].startswith("node-") for p in view["pods"])
    assert [c["type"] for c in view["conditions"]][-1] == "Succeeded"
    assert view["labels"]["task_id"] == "compute_pi"

    page = client.get("/job", params=query)
    assert page.status_code == 200
    assert 'data-state="Done"' in page.text
    assert "pi is approximately 3.14159" in page.text
    assert 'data-terminal="true"' in page.text
    fragment = client.get("/job/fragment", params=query)
    assert fragment.headers["X-MPI-Terminal"] == "true"
    # The UI's "MPI Job" tab leaves {MAP_INDEX} unfilled for an unmapped task.
    tab = {**query, "map_index": "{MAP_INDEX}"}
    assert client.get("/api/job", params=tab).json()["id"] == job_id
    assert client.get("/api/job", params={**query, "map_index": "x"}).status_code == 422
    assert cluster.url not in page.text  # nothing of the connection reaches the browser
    assert cluster.url not in str(view)


def test_a_url_template_still_overrides_the_link(cluster: Any, run_dag: Any) -> None:
    dagrun = _run_pi(
        run_dag, "mpi_page_template", job_url_template="https://dash.example/{namespace}/{name}"
    )
    job_id = xcom(dagrun, "compute_pi", "job_id")
    assert xcom(dagrun, "compute_pi", MPIJobLink().xcom_key) == (f"https://dash.example/{job_id}")


def test_a_job_of_another_dag_is_not_shown(cluster: Any, run_dag: Any) -> None:
    mine = _run_pi(run_dag, "mpi_page_mine")
    theirs = _run_pi(run_dag, "mpi_page_theirs")
    their_job = xcom(theirs, "compute_pi", "job_id")
    params = {
        "dag_id": "mpi_page_mine",
        "run_id": mine.run_id,
        "task_id": "compute_pi",
        "job_id": their_job,
    }
    client = _client()
    assert client.get("/api/job", params=params).status_code == 404
    page = client.get("/job", params=params).text
    assert "data-state" not in page  # nothing of the job: no state, pods, log
    assert "launcher-log" not in page
    assert "does not belong to this DAG run" in page


def test_a_task_without_a_job_says_so(cluster: Any) -> None:
    params = {"dag_id": "nothing", "run_id": "manual__x", "task_id": "t"}
    response = _client().get("/job", params=params)
    assert response.status_code == 200
    assert "has submitted no MPIJob" in response.text


def test_the_run_page_lists_array_tasks(cluster: Any, run_dag: Any) -> None:
    with DAG("mpi_page_array", schedule=None) as dag:
        MPIJobArrayOperator(
            task_id="sweep",
            job_template=scripted_template(duration=1),
            begin=1,
            end=3,
            wait_for_completion=True,  # the page then shows every task Done, on either backend
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"sweep": "success"}
    client = _client()
    rows = client.get("/api/run", params={"dag_id": "mpi_page_array", "run_id": dagrun.run_id})
    jobs = rows.json()["jobs"]
    assert sorted(j["id"] for j in jobs) == sorted(xcom(dagrun, "sweep"))
    assert sorted(j["labels"]["array_task"] for j in jobs) == ["1", "2", "3"]
    assert {j["state"] for j in jobs} == {"Done"}
    page = client.get("/run", params={"dag_id": "mpi_page_array", "run_id": dagrun.run_id}).text
    assert page.count('data-state="Done"') == 3
    link = xcom(dagrun, "sweep", MPIJobLink().xcom_key)
    assert urlsplit(link).path == "/mpi-jobs/run"
    assert parse_qs(urlsplit(link).query)["task_id"] == ["sweep"]


@pytest.mark.emulator_only("counts requests with the emulator's counters")
def test_a_job_view_costs_four_requests_whatever_the_job(cluster: Any, run_dag: Any) -> None:
    dagrun = _run_pi(run_dag, "mpi_page_requests")
    query = {"dag_id": "mpi_page_requests", "run_id": dagrun.run_id, "task_id": "compute_pi"}
    client = _client(MPIJobsReader())
    assert client.get("/api/job", params=query).status_code == 200  # builds the tracker
    before = cluster.requests.total
    assert client.get("/api/job", params=query).status_code == 200
    # The MPIJob, its pods, the Warning events, the launcher log tail.
    assert cluster.requests.total - before == 4


def _reader_for(job_id: str, dag_id: str, run_id: str) -> MPIJobsReader:
    """A reader whose XComs say that task ``t`` of the run submitted ``job_id``."""

    def xcoms(
        dag: str, run: str, task_id: str | None, keys: tuple[str, ...]
    ) -> list[tuple[str, int, str, Any]]:
        if (dag, run) != (dag_id, run_id):
            return []
        pushed = {"job_id": job_id, ACCESS_XCOM_KEY: {"conn_id": "kubernetes_default"}}
        return [("t", -1, key, pushed[key]) for key in keys if key in pushed]

    return MPIJobsReader(xcoms=xcoms)


def _submit_for_run(dag_id: str, run_id: str, **script: str) -> str:
    """Submit a scripted job labelled as task ``t`` of the run; returns its ID."""
    annotations = {SCRIPT + key.replace("_", "-"): value for key, value in script.items()}
    template = JobTemplate.from_dict(
        {
            "remoteCommand": "mpirun",
            "args": ["-n", "2", "/opt/app"],
            "jobCategory": "example/app:1",
            "minSlots": 2,
            "extension": {"extensionList": {"annotations": json.dumps(annotations)}},
        }
    )
    identity = AirflowJobIdentity(dag_id=dag_id, task_id="t", run_id=run_id)
    template = set_labels_extension(template, identity.labels())
    return MPIOperatorHook().get_tracker().add_job(template)


def _state_is(client: TestClient, params: dict[str, str], state: str) -> bool:
    return bool(client.get("/api/job", params=params).json()["state"] == state)


@pytest.mark.emulator_only("the emulator's node names, and its fast clock for a scripted 60 s job")
def test_the_page_is_live_while_the_job_runs(cluster: Any) -> None:
    run_id = "manual__2026-01-01T00:00:00+00:00"
    job_id = _submit_for_run("live", run_id, duration="60", log="<b>step</b> 1\nstep 2")
    client = _client(_reader_for(job_id, "live", run_id))
    params = {"dag_id": "live", "run_id": run_id, "task_id": "t"}
    cluster.wait_for(lambda: _state_is(client, params, "Running"), interval=0.2)
    view = client.get("/api/job", params=params).json()
    assert view["terminal"] is False
    assert sorted(p["role"] for p in view["pods"]) == ["launcher", "worker", "worker"]
    assert all(p["phase"] == "Running" for p in view["pods"])
    assert all(p["node"].startswith("node-") for p in view["pods"])
    fragment = client.get("/job/fragment", params=params)
    assert fragment.headers["X-MPI-Terminal"] == "false"  # the page keeps polling
    assert 'data-terminal="false"' in client.get("/job", params=params).text
    cluster.wait_for(lambda: _state_is(client, params, "Done"), interval=0.2)
    done = client.get("/job/fragment", params=params)
    assert done.headers["X-MPI-Terminal"] == "true"  # the page stops polling
    assert "&lt;b&gt;step&lt;/b&gt; 1" in done.text  # what the job printed is escaped
    assert "<b>step</b>" not in done.text


@pytest.mark.emulator_only("the unschedulable script")
def test_warning_events_and_pending_pods_are_shown(cluster: Any) -> None:
    run_id = "manual__2026-01-02T00:00:00+00:00"
    job_id = _submit_for_run("stuck", run_id, unschedulable="worker")
    client = _client(_reader_for(job_id, "stuck", run_id))
    params = {"dag_id": "stuck", "run_id": run_id, "task_id": "t"}

    def warned() -> bool:
        return bool(client.get("/api/job", params=params).json()["events"])

    cluster.wait_for(warned, interval=0.2)
    view = client.get("/api/job", params=params).json()
    assert view["state"] == "Queued"
    assert {e["reason"] for e in view["events"]} == {"FailedScheduling"}
    assert all(e["object"].startswith("Pod/") for e in view["events"])
    workers = [p for p in view["pods"] if p["role"] == "worker"]
    assert [p["phase"] for p in workers] == ["Pending", "Pending"]
    assert all(p["node"] == "" for p in workers)
    page = client.get("/job", params=params).text
    assert "FailedScheduling" in page
