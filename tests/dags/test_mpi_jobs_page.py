"""The "MPI Jobs" pages and their JSON API, against the emulator, after real DAG runs."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow.sdk import DAG
from fastapi.testclient import TestClient

from airflow_provider_mpi.links import ACCESS_XCOM_KEY, MPIJobLink
from airflow_provider_mpi.operators.mpi_job import MPIJobArrayOperator, MPIJobOperator
from airflow_provider_mpi.plugins._data import MPIJobsReader
from airflow_provider_mpi.plugins.app import create_app
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import scripted_template


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
            task_id="sweep", job_template=scripted_template(duration=1), begin=1, end=3
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


def test_a_job_view_costs_four_requests_whatever_the_job(cluster: Any, run_dag: Any) -> None:
    dagrun = _run_pi(run_dag, "mpi_page_requests")
    query = {"dag_id": "mpi_page_requests", "run_id": dagrun.run_id, "task_id": "compute_pi"}
    client = _client(MPIJobsReader())
    assert client.get("/api/job", params=query).status_code == 200  # builds the tracker
    before = cluster.requests.total
    assert client.get("/api/job", params=query).status_code == 200
    # The MPIJob, its pods, the Warning events, the launcher log tail.
    assert cluster.requests.total - before == 4
