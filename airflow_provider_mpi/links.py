"""The "MPI Job" extra link: a button in the Airflow UI to the job in a dashboard.

There is no standard web page for an MPIJob, so the URL comes from a template
the user sets: the operator's ``job_url_template`` argument, else the
connection's ``mpi_job_url_template`` extra. Placeholders: ``{namespace}``,
``{name}`` and ``{job_id}`` (``<namespace>/<name>``). The job ID is read from
the task's ``job_id`` XCom, which the operator pushes as soon as it submits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.bases.xcom import BaseXCom

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

__all__ = ["JOB_ID_XCOM_KEY", "MPIJobLink", "format_job_url"]

#: The XCom key under which the operators push the job (or array) ID.
JOB_ID_XCOM_KEY = "job_id"


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
    namespace, _, name = job_id.rpartition("/")
    try:
        return template.format(namespace=namespace, name=name, job_id=job_id)
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidArgumentError(
            "job_url_template",
            template,
            "use only the placeholders {namespace}, {name} and {job_id}: " + str(exc),
        ) from None


class MPIJobLink(BaseOperatorLink):
    """Link from a task to its MPIJob in a user-chosen dashboard."""

    name = "MPI Job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Build the link of one task instance.

        Args:
            operator: the MPI operator (its ``job_url_template`` and ``conn_id``
                are read).
            ti_key: the task instance.

        Returns:
            The URL, or ``""`` when no job was submitted or no URL template is
            configured.
        """
        key: Any = ti_key  # a TaskInstanceKey or the runtime TI (worker side)
        job_id = BaseXCom.get_value(ti_key=key, key=JOB_ID_XCOM_KEY)
        if not job_id:
            return ""
        template = _url_template(operator)
        return format_job_url(template, str(job_id)) if template else ""


def _url_template(operator: Any) -> str | None:
    template = getattr(operator, "job_url_template", None)
    if template:
        return str(template)
    hook = getattr(operator, "hook", None)
    return getattr(hook, "job_url_template", None) if hook is not None else None
