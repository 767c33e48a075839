"""The "MPI Jobs" plugin as Airflow's own plugins manager and API server load it.

Run on every supported Airflow 3 by ``make compat``: the pages are mounted and
guarded by the auth manager everywhere; the two tabs (``external_views``)
exist from Airflow 3.1 on, and Airflow 3.0, which has no such attribute,
loads the plugin without an error (the pages are then reached through the
"MPI Job" extra link, ``test_mpi_jobs_page``).
"""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
from importlib.metadata import distributions
from typing import Any

import pytest
from fastapi.testclient import TestClient

from airflow_provider_mpi.links import PAGE_PREFIX
from tests.airflow_versions import airflow_at_least

ROUTES = ("/job", "/job/fragment", "/api/job", "/run", "/run/fragment", "/api/run")


def _plugin_info() -> dict[str, Any]:
    from airflow import plugins_manager

    info = {plugin["name"]: plugin for plugin in plugins_manager.get_plugin_info()}
    errors = (
        plugins_manager.get_import_errors()
        if hasattr(plugins_manager, "get_import_errors")  # Airflow 3.2+
        else plugins_manager.import_errors
    )
    ours = {source: error for source, error in errors.items() if "mpi" in source}
    if len(_installed_copies()) > 1:
        # An editable install leaves airflow_provider_mpi.egg-info in the source tree, which
        # is on sys.path here: Airflow then sees the entry point twice and skips the second.
        ours = {src: error for src, error in ours.items() if "already registered" not in error}
    assert not ours
    return dict(info["mpi_jobs"])


def _installed_copies() -> list[Any]:
    return [dist for dist in distributions() if dist.metadata["Name"] == "airflow-provider-mpi"]


@pytest.mark.usefixtures("airflow_db")
def test_the_plugin_loads_and_adds_the_tabs_where_airflow_has_them() -> None:
    ours = _plugin_info()
    assert [(app["url_prefix"], app["name"]) for app in ours["fastapi_apps"]] == [
        (PAGE_PREFIX, "MPI Jobs")
    ]
    if airflow_at_least("3.1"):
        views = {view["destination"]: view["url_route"] for view in ours["external_views"]}
        assert views == {"dag_run": "mpi-jobs-run", "task_instance": "mpi-job"}
    else:  # Airflow 3.0 has no external views: it neither shows nor rejects ours
        assert "external_views" not in ours


@pytest.mark.usefixtures("airflow_db")
def test_the_api_server_mounts_the_pages_behind_its_auth_manager() -> None:
    from airflow.api_fastapi.app import create_app

    client = TestClient(create_app())
    query = {"dag_id": "d", "run_id": "r", "task_id": "t"}
    for route in ROUTES:
        response = client.get(PAGE_PREFIX + route, params=query)
        # 401 (not 404): mounted, and Airflow's auth manager asked first.
        assert response.status_code == 401, (route, response.text)
        assert "data-state" not in response.text
