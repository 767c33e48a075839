"""End to end in a real browser: a real Airflow runs example_mpi_pi, Chromium follows the link.

A temporary ``AIRFLOW_HOME`` with SQLite; ``airflow api-server``, ``scheduler``
(LocalExecutor), ``dag-processor`` and ``triggerer`` as separate processes;
the emulated cluster with local execution (a real ``mpirun``) behind the
``kubernetes_default`` connection. Headless Chromium (Debian's ``chromium``
and ``chromium-driver``, driven by selenium) opens the run's grid, goes to the
task, follows its "MPI Job" extra link and checks that the page says Done and
shows the ``pi is approximately`` line. Screenshots are kept under
``artifacts/ui-browser/<time>/`` (ignored by git; the path is printed). The
pages' access control is checked against the same server: a user who may not
read the DAG gets nothing.

Skips with a reason where Chromium is absent; fails instead on CI (``CI=true``).
The job runs tens of seconds, so the browser opens the page while the task
is deferred and watches it turn Done without a reload. Deselect with
``-m "not browser"``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from airflow_provider_mpi.testing import MPICluster
from tests.e2e.auth_manager import HIDDEN_DAG, OUTSIDER
from tests.e2e.deployment import ROOT, Airflow, deployment, wait_for

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.mpi, pytest.mark.timeout(600)]


def _browser_or_skip() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        driver = None
    if chromium and driver:
        return chromium, driver
    reason = (
        "needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver) and selenium"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"on CI the browser test must run: {reason}")
    pytest.skip(reason)


@pytest.fixture
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    """A real Airflow against an emulated cluster with local execution."""
    from airflow_provider_mpi.testing.controller.localexec import mpirun_directory

    if mpirun_directory() is None:
        pytest.skip("mpirun not found: install the dev extras")
    home = tmp_path_factory.mktemp("airflow-e2e-home")
    with (
        MPICluster(local_exec=True) as cluster,
        deployment(
            home, cluster.kubeconfig_path, [ROOT / "example_dags" / "example_mpi_pi.py"]
        ) as stack,
    ):
        yield stack


#: Long enough (tens of seconds of a real two-rank mpirun) for the browser to
#: reach the job's page while the task is deferred and watch it end there.
INTERVALS = 60_000_000


def allowed_job_id(page_href: str) -> str:
    """The ``job_id`` a job page's URL names."""
    return parse_qs(urlsplit(page_href).query)["job_id"][0]


def _trigger_pi(airflow: Airflow, token: str) -> str:
    wait_for(
        "the DAG to be parsed",
        lambda: airflow.api("GET", f"/api/v2/dags/{HIDDEN_DAG}", token).ok,
        timeout=180,
    )
    airflow.api("PATCH", f"/api/v2/dags/{HIDDEN_DAG}", token, json={"is_paused": False})
    response = airflow.api(
        "POST",
        f"/api/v2/dags/{HIDDEN_DAG}/dagRuns",
        token,
        json={"logical_date": None, "conf": {"intervals": INTERVALS}},
    )
    assert response.ok, response.text
    return str(response.json()["dag_run_id"])


def _task_state(airflow: Airflow, token: str, run_id: str) -> str:
    path = f"/api/v2/dags/{HIDDEN_DAG}/dagRuns/{quote(run_id, safe='')}/taskInstances/compute_pi"
    return str(airflow.api("GET", path, token).json()["state"])


def _run_state(airflow: Airflow, token: str, run_id: str) -> str | None:
    path = f"/api/v2/dags/{HIDDEN_DAG}/dagRuns/{quote(run_id, safe='')}"
    state = str(airflow.api("GET", path, token).json()["state"])
    return state if state in ("success", "failed") else None


def _live_wait(driver: WebDriver, seconds: float) -> WebDriverWait[WebDriver]:
    """A wait that looks again when the page replaces what it found.

    Airflow's React UI and our job page re-render while the job runs: an
    element found in one poll can be gone (stale) by the time it is read or
    clicked, or covered for a moment. Such a poll counts as "not yet".
    """
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        driver,
        seconds,
        ignored_exceptions=(StaleElementReferenceException, ElementClickInterceptedException),
    )


def _read(
    wait: WebDriverWait[WebDriver], locator: tuple[str, str], read: Callable[[WebElement], object]
) -> object:
    """``read`` of the element at ``locator``, found afresh until it gives a true value."""
    return wait.until(lambda driver: read(driver.find_element(*locator)))


def _click(wait: WebDriverWait[WebDriver], locator: tuple[str, str]) -> None:
    """Click the element at ``locator`` once shown and enabled, found afresh each poll."""

    def clicked(driver: WebDriver) -> bool:
        element = driver.find_element(*locator)
        if not (element.is_displayed() and element.is_enabled()):
            return False
        element.click()
        return True

    wait.until(clicked)


def test_from_the_grid_to_the_mpi_job_page(
    airflow: Airflow, capsys: pytest.CaptureFixture[str]
) -> None:
    chromium, chromedriver = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    admin = airflow.token("admin")
    run_id = _trigger_pi(airflow, admin)
    wait_for(
        "the task to defer",
        lambda: _task_state(airflow, admin, run_id) == "deferred",
        timeout=240,
        every=1,
    )

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-background-networking"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    # Kept after the run (pytest's own temporary directories are pruned).
    shots = ROOT / "artifacts" / "ui-browser" / time.strftime("%Y%m%dT%H%M%S")
    shots.mkdir(parents=True)
    with capsys.disabled():
        print(f"\nscreenshots: {shots}")
    try:
        wait = _live_wait(driver, 60)
        driver.get(f"{airflow.url}/api/v2/monitor/health")  # the origin, to set its cookie
        driver.add_cookie({"name": "_token", "value": admin, "path": "/"})
        driver.get(f"{airflow.url}/dags/{HIDDEN_DAG}/runs/{quote(run_id, safe='')}")
        # the run's task instance (not the task across runs)
        task = (By.XPATH, "//a[contains(@href, '/runs/') and contains(@href, '/tasks/compute_pi')]")
        _read(wait, task, lambda element: element.is_displayed())
        driver.save_screenshot(str(shots / "1-grid.png"))
        _click(wait, task)
        # the task instance's Details tab lists its extra links
        _click(
            wait,
            (
                By.XPATH,
                "//a[contains(@href, '/runs/') and contains(@href, '/tasks/compute_pi/details')]",
            ),
        )
        link = (By.XPATH, "//a[contains(@href, '/mpi-jobs/job?')]")
        href = str(_read(wait, link, lambda element: element.get_attribute("href")))
        driver.save_screenshot(str(shots / "2-task.png"))
        assert href.startswith(f"{airflow.url}/mpi-jobs/job?"), href
        driver.get(href)  # the link opens a new tab; follow it in this one
        state = (By.CSS_SELECTOR, "#job-state [data-state]")
        first = _read(wait, state, lambda element: element.get_attribute("data-state"))
        driver.save_screenshot(str(shots / "3-mpi-job-running.png"))
        # Opened while the task is deferred and the job runs; the page follows
        # it to its end without a reload.
        assert first in ("Queued", "Running"), first
        _read(
            _live_wait(driver, 300),
            (By.CSS_SELECTOR, '#job-state [data-state="Done"]'),
            lambda element: True,
        )
        # the log may render after the state: wait for the program's answer in it
        _read(wait, (By.ID, "launcher-log"), lambda element: "pi is approximately" in element.text)
        driver.save_screenshot(str(shots / "3-mpi-job.png"))
        assert wait_for("the DAG run", lambda: _run_state(airflow, admin, run_id), 120) == (
            "success"
        ), airflow.logs()
        assert "Conditions" in driver.page_source

        # The same page as the task instance's "MPI Job" tab (external view).
        task_url = href.split("/mpi-jobs/", 1)[0] + (
            f"/dags/{HIDDEN_DAG}/runs/{quote(run_id, safe='')}/tasks/compute_pi/plugin/mpi-job"
        )
        driver.get(task_url)
        frame = (By.TAG_NAME, "iframe")
        tab_src = str(_read(wait, frame, lambda element: element.get_attribute("src")))
        wait.until(expected_conditions.frame_to_be_available_and_switch_to_it(frame))
        _read(wait, (By.CSS_SELECTOR, '#job-state [data-state="Done"]'), lambda element: True)
        driver.switch_to.default_content()
        driver.save_screenshot(str(shots / "4-mpi-job-tab.png"))
        assert "/mpi-jobs/job?" in tab_src

        # The run's "MPI Jobs" tab lists the job the run made.
        driver.get(task_url.split("/tasks/", 1)[0] + "/plugin/mpi-jobs-run")
        wait.until(expected_conditions.frame_to_be_available_and_switch_to_it(frame))
        row = _read(
            wait, (By.XPATH, "//td/a[contains(@href, 'job?')]"), lambda element: element.text
        )
        assert row == allowed_job_id(href)
        assert driver.find_elements(By.CSS_SELECTOR, '[data-state="Done"]')
        driver.switch_to.default_content()
        driver.save_screenshot(str(shots / "5-mpi-jobs-run-tab.png"))
    except Exception:
        driver.save_screenshot(str(shots / "failure.png"))
        (shots / "failure.html").write_text(driver.page_source)
        raise
    finally:
        driver.quit()

    # The same page and its API, for a user who may not read the DAG: nothing.
    query = href.split("?", 1)[1]
    outsider = airflow.token(OUTSIDER)
    for path in ("/mpi-jobs/job?", "/mpi-jobs/api/job?", "/mpi-jobs/run?"):
        denied = airflow.api("GET", path + query, outsider)
        assert denied.status_code == 403, denied.text
        assert "pi is approximately" not in denied.text
    anonymous = requests.get(f"{airflow.url}/mpi-jobs/api/job?{query}", timeout=10)
    assert anonymous.status_code == 401
    allowed = airflow.api("GET", "/mpi-jobs/api/job?" + query, admin).json()
    assert allowed["state"] == "Done"
    assert "kube_config" not in json.dumps(allowed)
