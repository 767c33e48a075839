"""The "MPI Job" extra link: a button in the Airflow UI to the job's page.

By default the link leads to the provider's "MPI Jobs" page inside Airflow
(:mod:`airflow_provider_mpi.plugins`), at :data:`PAGE_PREFIX` under the API
server's ``[api] base_url``. A URL template overrides it, for example to point
at a cluster dashboard: the operator's ``job_url_template`` argument, else the
connection's ``mpi_job_url_template`` extra. Placeholders: ``{namespace}``,
``{name}`` and ``{job_id}`` (``<namespace>/<name>``).

Airflow 3's API server shows the URL the operator pushed as the link's XCom
(it runs no operator code), so the operator pushes it, with the ``job_id``
XCom, as soon as it submitted: the link works while the task is deferred.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airflow.sdk import BaseOperatorLink
from airflow.sdk.bases.xcom import BaseXCom

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.hooks._compat import conf
from airflow_provider_mpi.mpioperator.tracker.ids import parse_job_id

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

__all__ = [
    "ACCESS_XCOM_KEY",
    "JOB_ID_XCOM_KEY",
    "PAGE_PREFIX",
    "MPIJobLink",
    "api_base_url",
    "format_job_url",
    "job_link_url",
    "page_url",
]

#: The XCom key under which the operators push the job (or array) ID.
JOB_ID_XCOM_KEY = "job_id"
#: The XCom key under which the operators push how to reach the job's cluster:
#: the connection ID and the overrides (names and paths, never a credential),
#: so the "MPI Jobs" page reads the job with the task's own connection.
ACCESS_XCOM_KEY = "mpi_job_access"
#: Where the "MPI Jobs" plugin app is mounted in the API server.
PAGE_PREFIX = "/mpi-jobs"


def page_url(
    base_url: str,
    *,
    dag_id: str,
    run_id: str,
    task_id: str | None = None,
    map_index: int = -1,
    job_id: str | None = None,
    list_task_jobs: bool = False,
) -> str:
    """The URL of the "MPI Jobs" page of a task's job, or of a DAG run's jobs.

    Args:
        base_url: the API server's ``[api] base_url`` (``""``: a path only).
        dag_id: the DAG.
        run_id: the DAG run.
        task_id: the task (None: the run's page listing all its jobs).
        map_index: the task's map index.
        job_id: the job (``"<namespace>/<name>"``).
        list_task_jobs: the run's page listing the task's jobs (an array's).

    Returns:
        ``<base_url>/mpi-jobs/job?...`` for a task's job, else ``.../run?...``.
    """
    query: dict[str, str] = {"dag_id": dag_id, "run_id": run_id}
    if task_id is None or list_task_jobs:
        if task_id is not None:
            query["task_id"] = task_id
        return f"{base_url.rstrip('/')}{PAGE_PREFIX}/run?{urlencode(query)}"
    query.update(task_id=task_id, map_index=str(map_index))
    if job_id:
        query["job_id"] = job_id
    return f"{base_url.rstrip('/')}{PAGE_PREFIX}/job?{urlencode(query)}"


def format_job_url(template: str, job_id: str) -> str:
    """Fill a URL template for a job.

    Args:
        template: e.g. ``"https://k8s.example/#/mpijob/{namespace}/{name}"``.
        job_id: ``"<namespace>/<name>"``.

    Returns:
        The URL.

    Raises:
        InvalidArgumentError: the template has a placeholder other than
            ``{namespace}``, ``{name}`` and ``{job_id}``, or is malformed.
    """
    try:
        ref = parse_job_id(job_id, "")
        namespace, name = ref.namespace, ref.name
    except InvalidArgumentError:  # no single job (a Go seed array ID): only {job_id} means much
        namespace, name = "", job_id
    try:
        return template.format(namespace=namespace, name=name, job_id=job_id)
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidArgumentError(
            "job_url_template",
            template,
            "use only the placeholders {namespace}, {name} and {job_id}: " + str(exc),
        ) from None


class MPIJobLink(BaseOperatorLink):
    """Link from a task to its MPIJob: the "MPI Jobs" page, or a user-chosen dashboard."""

    name = "MPI Job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Build the link of one task instance.

        Args:
            operator: the MPI operator (its ``job_url_template`` and ``conn_id``
                are read).
            ti_key: the task instance.

        Returns:
            The URL, or ``""`` when no job was submitted.
        """
        key: Any = ti_key  # a TaskInstanceKey or the runtime TI (worker side)
        job_id = BaseXCom.get_value(ti_key=key, key=JOB_ID_XCOM_KEY)
        if not job_id:
            return ""
        return job_link_url(
            operator,
            dag_id=str(key.dag_id),
            run_id=str(key.run_id),
            task_id=str(key.task_id),
            map_index=int(getattr(key, "map_index", -1)),
            job_id=str(job_id),
        )


def job_link_url(
    operator: Any, *, dag_id: str, run_id: str, task_id: str, map_index: int, job_id: str
) -> str:
    """The "MPI Job" link of a task instance that submitted ``job_id``.

    The operator's or the connection's URL template if set; else the "MPI
    Jobs" page: of the job, or, for an operator whose ``links_to_task_jobs``
    is true (an array's), the list of the task's jobs.

    Args:
        operator: the MPI operator.
        dag_id: the DAG.
        run_id: the run.
        task_id: the task.
        map_index: the map index.
        job_id: the job (or array) ID.

    Returns:
        The URL.
    """
    template = _url_template(operator)
    if template:
        return format_job_url(template, job_id)
    return page_url(
        api_base_url(),
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        job_id=job_id,
        list_task_jobs=bool(getattr(operator, "links_to_task_jobs", False)),
    )


def api_base_url() -> str:
    """The API server's ``[api] base_url``, or ``""`` (links are then paths)."""
    return str(conf.get("api", "base_url", fallback="") or "")


def _url_template(operator: Any) -> str | None:
    template = getattr(operator, "job_url_template", None)
    if template:
        return str(template)
    hook = getattr(operator, "hook", None)
    return getattr(hook, "job_url_template", None) if hook is not None else None
