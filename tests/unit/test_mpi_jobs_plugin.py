"""The "MPI Jobs" plugin as Airflow discovers it, and its default protection."""

from __future__ import annotations

from importlib.metadata import entry_points

from fastapi.testclient import TestClient

from airflow_provider_mpi.links import PAGE_PREFIX, page_url
from airflow_provider_mpi.plugins.app import create_app
from airflow_provider_mpi.plugins.mpi_jobs import MPIJobsPlugin


def test_airflow_finds_the_plugin_through_its_entry_point() -> None:
    found = [ep for ep in entry_points(group="airflow.plugins") if ep.name == "mpi_jobs"]
    assert len(found) == 1
    assert found[0].load() is MPIJobsPlugin


def test_the_plugin_mounts_the_app_and_adds_the_two_tabs() -> None:
    (app,) = MPIJobsPlugin.fastapi_apps
    assert app["url_prefix"] == PAGE_PREFIX
    views = {view["destination"]: view for view in MPIJobsPlugin.external_views}
    assert set(views) == {"dag_run", "task_instance"}
    assert views["task_instance"]["href"].startswith(f"{PAGE_PREFIX}/job?dag_id={{DAG_ID}}")
    assert "{MAP_INDEX}" in views["task_instance"]["href"]
    assert len({view["url_route"] for view in views.values()}) == 2


def test_without_credentials_every_route_answers_401() -> None:
    client = TestClient(create_app())  # the default app: behind Airflow's auth manager
    query = {"dag_id": "d", "run_id": "r", "task_id": "t"}
    for path in ("/job", "/job/fragment", "/api/job", "/run", "/run/fragment", "/api/run"):
        response = client.get(path, params=query)
        assert response.status_code == 401, path
        assert "data-state" not in response.text


def test_page_urls_encode_the_run_id() -> None:
    url = page_url(
        "https://airflow.example/",
        dag_id="d",
        run_id="manual__2026-01-01T00:00:00+00:00",
        task_id="t",
        map_index=2,
        job_id="ns/job-1",
    )
    assert url == (
        "https://airflow.example/mpi-jobs/job?dag_id=d"
        "&run_id=manual__2026-01-01T00%3A00%3A00%2B00%3A00&task_id=t&map_index=2&job_id=ns%2Fjob-1"
    )
    listing = page_url("", dag_id="d", run_id="r", task_id="sweep", list_task_jobs=True)
    assert listing == "/mpi-jobs/run?dag_id=d&run_id=r&task_id=sweep"
