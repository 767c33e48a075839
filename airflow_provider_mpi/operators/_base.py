"""What both MPI operators share: connection, template, identity labels, deferral, timeouts.

:class:`MPIJobOperatorBase` holds the arguments and steps common to
:class:`~airflow_provider_mpi.operators.mpi_job.MPIJobOperator` and
:class:`~airflow_provider_mpi.operators.mpi_job.MPIJobArrayOperator`: the hook
with its per-task overrides, rendering the job template (files only at the top
level), labelling it with the task's identity, building the trigger and
deferring with a timeout that holds, and terminating jobs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator, Context

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, InvalidArgumentError, InvalidStateError
from airflow_provider_mpi.drmaa2.state import JobControlAction
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.hooks._compat import conf
from airflow_provider_mpi.links import ACCESS_XCOM_KEY, JOB_ID_XCOM_KEY, MPIJobLink, job_link_url
from airflow_provider_mpi.mpioperator.template import (
    get_annotations_extension,
    get_labels_extension,
    get_namespace_extension,
    set_annotations_extension,
    set_labels_extension,
)
from airflow_provider_mpi.operators._connection import MPIConnectionMixin
from airflow_provider_mpi.operators._labels import AirflowJobIdentity
from airflow_provider_mpi.operators._template import (
    TEMPLATE_EXTENSIONS,
    job_template_as_dict,
    load_job_template,
)
from airflow_provider_mpi.triggers.mpi_job import MPIJobTrigger

__all__ = ["MPIJobOperatorBase"]

#: Extra time Airflow's deferral timeout gives the trigger's own deadline, so
#: the trigger reports the timeout (and the job gets terminated) first.
DEFERRAL_GRACE = timedelta(seconds=60)


def _seconds(value: float | timedelta | None, field: str) -> float | None:
    """Seconds of a positive duration given as a number or a timedelta (None: no limit)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise InvalidArgumentError(field, value, "must be seconds or a timedelta")
    if not seconds > 0:  # also rejects NaN
        raise InvalidArgumentError(field, value, "must be a positive duration")
    return seconds


class MPIJobOperatorBase(MPIConnectionMixin, BaseOperator):
    """What both operators share: connection, template, identity, deferral, timeouts."""

    template_fields: Sequence[str] = ("job_template", "namespace")
    template_ext: Sequence[str] = TEMPLATE_EXTENSIONS
    template_fields_renderers = {"job_template": "json"}
    ui_color = "#c7e9f1"

    def __init__(
        self,
        *,
        job_template: Any,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        wait_timeout: float | timedelta | None = None,
        reattach_on_retry: bool = True,
        cancel_on_kill: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_template = job_template_as_dict(job_template)
        self.deferrable = deferrable
        self.wait_timeout = _seconds(wait_timeout, "wait_timeout")
        self.reattach_on_retry = reattach_on_retry
        self.cancel_on_kill = cancel_on_kill
        self._nested_render_depth = 0

    # Airflow treats any templated string ending in template_ext as a file
    # name, also inside dicts and lists; only the top-level job_template may be
    # a file (an MPI program's ``args`` may well end in ".json").
    def render_template(
        self,
        content: Any,
        context: Context,
        jinja_env: Any = None,
        seen_oids: set[int] | None = None,
    ) -> Any:
        """Render like Airflow, but read files only for the top-level value."""
        if self._nested_render_depth and isinstance(content, str):
            env = jinja_env or self.get_template_env()
            return self._render(env.from_string(content), context)
        self._nested_render_depth += 1
        try:
            return super().render_template(content, context, jinja_env, seen_oids)
        finally:
            self._nested_render_depth -= 1

    @property
    def effective_timeout(self) -> float | None:
        """Seconds the wait may last: ``wait_timeout``, else ``execution_timeout``.

        Airflow does not carry ``execution_timeout`` into a deferral, so the
        operators pass it to the trigger themselves.
        """
        if self.wait_timeout is not None:
            return self.wait_timeout
        if self.execution_timeout is not None:
            return self.execution_timeout.total_seconds()
        return None

    def _labelled_template(self, identity: AirflowJobIdentity) -> JobTemplate:
        """The rendered template with the task's identity added to its labels.

        A ``namespace`` extension in the template becomes the operator's
        namespace (when none is given), so that a retry looks for the job of an
        earlier try where it was created.

        Raises:
            InvalidTemplateError: the template is invalid.
            InvalidArgumentError: the operator's ``namespace`` and the template's
                ``namespace`` extension disagree.
        """
        template = load_job_template(self.job_template)
        wanted = get_namespace_extension(template)
        if wanted and wanted != self.namespace:
            if self.namespace:
                raise InvalidArgumentError(
                    "namespace",
                    self.namespace,
                    f"the job template's namespace extension asks for {wanted!r}",
                )
            self.namespace = wanted
            self.__dict__.pop("hook", None)  # rebuilt with the namespace on next use
        template = set_labels_extension(
            template, {**get_labels_extension(template), **identity.labels()}
        )
        return set_annotations_extension(
            template, {**get_annotations_extension(template), **identity.annotations()}
        )

    def _publish(self, context: Context, job_id: str) -> None:
        """Push the job ID, the cluster access and the link's URL before any wait."""
        ti = context["ti"]
        ti.xcom_push(key=JOB_ID_XCOM_KEY, value=job_id)
        ti.xcom_push(key=ACCESS_XCOM_KEY, value=self.access_description())
        identity = AirflowJobIdentity.from_context(context)
        url = job_link_url(
            self,
            dag_id=identity.dag_id,
            run_id=identity.run_id,
            task_id=identity.task_id,
            map_index=identity.map_index,
            job_id=job_id,
        )
        ti.xcom_push(key=MPIJobLink().xcom_key, value=url)

    def _trigger(self, *, job_id: str | None = None, array_id: str | None = None) -> MPIJobTrigger:
        timeout = self.effective_timeout
        access = self.trigger_access()
        return MPIJobTrigger(
            job_id,
            array_id=array_id,
            deadline=None if timeout is None else time.time() + timeout,
            terminate_on_kill=self.cancel_on_kill,
            reattach_on_retry=self.reattach_on_retry,
            **access.to_kwargs(),
        )

    def _defer_to(self, trigger: MPIJobTrigger) -> None:
        timeout = self.effective_timeout
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=None if timeout is None else timedelta(seconds=timeout) + DEFERRAL_GRACE,
        )

    def _terminate(self, job_ids: Iterable[str], why: str) -> None:
        tracker = self.hook.get_tracker()
        for job_id in job_ids:
            try:
                tracker.job_control(job_id, JobControlAction.TERMINATE)
            except InvalidStateError:
                continue
            except DRMAA2Error as exc:
                self.log.warning("Could not terminate MPIJob %s: %s", job_id, exc)
                continue
            self.log.info("Terminated MPIJob %s: %s", job_id, why)
