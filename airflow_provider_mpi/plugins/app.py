"""The "MPI Jobs" FastAPI app, mounted in Airflow's API server at ``/mpi-jobs``.

Routes (all ``GET``, all behind Airflow's auth manager: the caller must be
allowed to read the task instances of ``dag_id``):

- ``/job?dag_id&run_id&task_id&map_index[&job_id]``: a task's job, live;
  ``/job/fragment`` its live part; ``/api/job`` the same as JSON.
- ``/run?dag_id&run_id[&task_id]``: the jobs a run (or task) made, array
  tasks as rows; ``/run/fragment`` and ``/api/run`` likewise.

The JSON never holds a connection field or a kube config: the pages only
show what the tracker read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, JobNotFoundError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.plugins import _html
from airflow_provider_mpi.plugins._data import JobNotShownError, MPIJobsReader, TaskKey

__all__ = ["create_app"]

_NO_STORE = {"Cache-Control": "no-store"}

DagId = Annotated[str, Query(min_length=1)]
RunId = Annotated[str, Query(min_length=1)]
#: The map index as text: Airflow's UI leaves ``{MAP_INDEX}`` unfilled in an
#: external view's URL for an unmapped task.
MapIndex = Annotated[str, Query()]
_UNFILLED_MAP_INDEX = ("", "{MAP_INDEX}", "-1")


def _map_index(text: str) -> int:
    """The map index a URL names: -1 for an unmapped task (or an unfilled placeholder)."""
    if text in _UNFILLED_MAP_INDEX:
        return -1
    try:
        return int(text)
    except ValueError:
        raise HTTPException(422, f"map_index must be an integer, not {text!r}") from None


@dataclass(frozen=True)
class _JobQuery:
    """The query of the job routes: a task instance and, optionally, one of its jobs."""

    task: TaskKey
    job_id: str | None


def _job_query(
    dag_id: DagId,
    run_id: RunId,
    task_id: str,
    map_index: MapIndex = "-1",
    job_id: str | None = None,
) -> _JobQuery:
    return _JobQuery(TaskKey(dag_id, run_id, task_id, _map_index(map_index)), job_id)


@dataclass(frozen=True)
class _RunQuery:
    """The query of the run routes: a DAG run and, optionally, one of its tasks."""

    dag_id: str
    run_id: str
    task_id: str | None


def _run_query(dag_id: DagId, run_id: RunId, task_id: str | None = None) -> _RunQuery:
    return _RunQuery(dag_id, run_id, task_id)


JobQuery = Annotated[_JobQuery, Depends(_job_query)]
RunQuery = Annotated[_RunQuery, Depends(_run_query)]


def _auth_dependencies() -> list[Any]:
    """Airflow's check that the caller may read the DAG's task instances.

    Where Airflow's FastAPI security helpers cannot be imported, every request
    is refused (403): the pages never open without the auth manager's consent.
    """
    try:
        from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
        from airflow.api_fastapi.core_api.security import requires_access_dag
    except ImportError as exc:
        reason = f"Airflow's API security cannot be used here: {exc}"

        def refuse() -> None:
            raise HTTPException(403, reason)

        return [Depends(refuse)]
    return [Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE))]


def create_app(reader: MPIJobsReader | None = None, *, authorize: bool = True) -> FastAPI:
    """Build the app.

    Args:
        reader: reads jobs (default: from Airflow's database and connections).
        authorize: apply Airflow's auth manager (only tests of the page's
            rendering turn it off).

    Returns:
        The FastAPI app.
    """
    jobs = reader or MPIJobsReader()
    app = FastAPI(
        title="MPI Jobs",
        description="MPIJobs of Airflow tasks (airflow-provider-mpi)",
        dependencies=_auth_dependencies() if authorize else [],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def read_job(query: _JobQuery) -> tuple[dict[str, Any] | None, str]:
        try:
            return jobs.task_job(_plus_fixed(query.task), query.job_id), ""
        except (JobNotShownError, JobNotFoundError) as exc:
            return None, str(exc)
        except DRMAA2Error as exc:
            return None, f"The cluster could not be read: {exc}"

    @app.get("/api/job")
    def job_json(query: JobQuery) -> JSONResponse:
        view, problem = read_job(query)
        if view is None:
            raise HTTPException(404, problem)
        return JSONResponse(view, headers=_NO_STORE)

    @app.get("/job/fragment", response_class=HTMLResponse)
    def job_fragment(query: JobQuery) -> HTMLResponse:
        view, problem = read_job(query)
        body = _html.job_fragment(view) if view else _html.error_fragment(problem)
        terminal = "true" if view and view["terminal"] else "false"
        return HTMLResponse(body, headers={**_NO_STORE, "X-MPI-Terminal": terminal})

    @app.get("/job", response_class=HTMLResponse)
    def job_page(query: JobQuery) -> HTMLResponse:
        view, problem = read_job(query)
        task = query.task
        dag_id, run_id, task_id, index = task.dag_id, task.run_id, task.task_id, task.map_index
        page_query = _html.query(
            dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=index, job_id=query.job_id
        )
        run_link = "run?" + _html.query(dag_id=dag_id, run_id=run_id)
        subtitle = (
            f"DAG {_html.text(dag_id)} · run {_html.text(run_id)} · task {_html.text(task_id)}"
            + (f" [{index}]" if index >= 0 else "")
            + f' · <a href="{_html.text(run_link)}">all MPIJobs of this run</a>'
        )
        title = f"MPIJob {view['id']}" if view else "MPIJob"
        fragment = _html.job_fragment(view) if view else _html.error_fragment(problem)
        return HTMLResponse(
            _html.page(
                title,
                subtitle,
                fragment,
                "job/fragment?" + page_query,
                terminal=bool(view and view["terminal"]),
            ),
            headers=_NO_STORE,
        )

    def read_run(query: _RunQuery) -> tuple[list[dict[str, Any]], str]:
        try:
            return jobs.run_jobs(query.dag_id, _fixed_run_id(query.run_id), query.task_id), ""
        except DRMAA2Error as exc:
            return [], f"The cluster could not be read: {exc}"

    def row_link(query: _RunQuery) -> Any:
        def link(row: dict[str, Any]) -> str:
            labels = row["labels"]
            return "job?" + _html.query(
                dag_id=query.dag_id,
                run_id=query.run_id,
                task_id=labels.get("task_id", ""),
                map_index=labels.get("map_index", -1),
                job_id=row["id"],
            )

        return link

    @app.get("/api/run")
    def run_json(query: RunQuery) -> JSONResponse:
        rows, problem = read_run(query)
        if problem:
            raise HTTPException(502, problem)
        return JSONResponse({"jobs": rows}, headers=_NO_STORE)

    def run_body(query: _RunQuery) -> tuple[str, bool]:
        rows, problem = read_run(query)
        if problem:
            return _html.error_fragment(problem), False
        terminal = bool(rows) and all(JobState.parse(r["state"]).is_terminal for r in rows)
        return _html.run_fragment(rows, row_link(query)), terminal

    @app.get("/run/fragment", response_class=HTMLResponse)
    def run_fragment(query: RunQuery) -> HTMLResponse:
        body, terminal = run_body(query)
        headers = {**_NO_STORE, "X-MPI-Terminal": "true" if terminal else "false"}
        return HTMLResponse(body, headers=headers)

    @app.get("/run", response_class=HTMLResponse)
    def run_page(query: RunQuery) -> HTMLResponse:
        body, terminal = run_body(query)
        dag_id, run_id, task_id = query.dag_id, query.run_id, query.task_id
        page_query = _html.query(dag_id=dag_id, run_id=run_id, task_id=task_id)
        subtitle = f"DAG {_html.text(dag_id)} · run {_html.text(run_id)}" + (
            f" · task {_html.text(task_id)}" if task_id else ""
        )
        return HTMLResponse(
            _html.page("MPIJobs", subtitle, body, "run/fragment?" + page_query, terminal=terminal),
            headers=_NO_STORE,
        )

    return app


def _fixed_run_id(run_id: str) -> str:
    """Undo a ``+`` read as a space (a run ID put in a URL unencoded, as UI templates do)."""
    return run_id.replace(" ", "+")


def _plus_fixed(task: TaskKey) -> TaskKey:
    fixed = _fixed_run_id(task.run_id)
    return (
        task if fixed == task.run_id else TaskKey(task.dag_id, fixed, task.task_id, task.map_index)
    )
