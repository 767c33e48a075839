"""The array operator: a DRMAA2 array job (one MPIJob per task ID) whose task IDs feed mapping.

Like :class:`~airflow_provider_mpi.operators.mpi_job.MPIJobOperator` it is
thin: the tracker submits, completes and follows the array, and
:mod:`airflow_provider_mpi.mpioperator.tracker.reattach` decides what a retry does
with the array of an earlier try. Importable from ``operators.mpi_job`` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from airflow_provider_mpi.drmaa2.arrays import failed_tasks
from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError, WaitTimeoutError
from airflow_provider_mpi.drmaa2.state import END_STATES, JobState
from airflow_provider_mpi.hooks._compat import AirflowException
from airflow_provider_mpi.links import (
    MPIJobLink,
)
from airflow_provider_mpi.mpioperator.tracker.reattach import reattach_array
from airflow_provider_mpi.operators._base import MPIJobOperatorBase
from airflow_provider_mpi.operators._labels import AirflowJobIdentity
from airflow_provider_mpi.triggers._event import MPIJobTriggerEvent, MPIJobTriggerStatus

__all__ = ["ARRAY_ID_XCOM_KEY", "MPIJobArrayOperator"]

#: XCom key of the array job ID pushed by :class:`MPIJobArrayOperator`.
ARRAY_ID_XCOM_KEY = "array_id"


class MPIJobArrayOperator(MPIJobOperatorBase):
    """Submit a DRMAA2 array job (one MPIJob per task ID) and return the task job IDs.

    The return value is the list of task job IDs, so downstream tasks can map
    over it: ``MPIJobSensor.partial(task_id="each").expand(job_id=array.output)``.
    ``$DRMAA2_INDEX$`` in the template is replaced by each task's ID and
    ``TASK_ID`` is set in its environment (see
    :func:`airflow_provider_mpi.drmaa2.arrays.template_for_task`).

    Args:
        job_template: as for :class:`MPIJobOperator`.
        begin: the first task ID.
        end: the last task ID (inclusive).
        step: the step between task IDs.
        max_parallel: at most this many tasks run at once (0: no limit); the
            others are created held and released as earlier tasks end by
            whoever waits on a task of the array: this operator with
            ``wait_for_completion``, or the mapped ``MPIJobSensor`` tasks
            fed with its task IDs (poking or deferred). With no waiter, the
            held tasks stay held, and the task log says so.
        wait_for_completion: wait until every task ended (deferred if
            ``deferrable``) and fail if any failed, listing them.
        **kwargs: the connection, deferral and timeout arguments of
            :class:`MPIJobOperator` and ``BaseOperator`` arguments.

    A retry (``reattach_on_retry``) finds the array of an earlier try by its
    owner object, even one whose submission was cut short, and creates the
    tasks that are missing before following it.
    """

    template_fields: Sequence[str] = ("job_template", "namespace", "begin", "end", "step")
    operator_extra_links = (MPIJobLink(),)
    #: The "MPI Job" link lists the array's task jobs (see ``links.job_link_url``).
    links_to_task_jobs = True

    def __init__(
        self,
        *,
        job_template: Any,
        begin: int,
        end: int,
        step: int = 1,
        max_parallel: int = 0,
        wait_for_completion: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(job_template=job_template, **kwargs)
        if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 0:
            raise InvalidArgumentError("max_parallel", max_parallel, "must be an int >= 0")
        self.begin = begin
        self.end = end
        self.step = step
        self.max_parallel = max_parallel
        self.wait_for_completion = wait_for_completion
        self._array_id: str | None = None

    def execute(self, context: Context) -> list[str]:
        """Submit (or reattach to) the array job; wait if asked."""
        identity = AirflowJobIdentity.from_context(context)
        template = self._labelled_template(identity)
        tracker = self.hook.get_tracker()
        array_id = None
        if self.reattach_on_retry:
            array_id = reattach_array(tracker, identity.selector_labels(), self.log)
        if array_id is None:
            array_id = tracker.add_array_job(
                template, int(self.begin), int(self.end), int(self.step), self.max_parallel
            )
            self.log.info("Submitted array job %s", array_id)
        self._array_id = array_id
        job_ids = tracker.list_array_jobs(array_id)
        context["ti"].xcom_push(key=ARRAY_ID_XCOM_KEY, value=array_id)
        self._publish(context, array_id)
        if not self.wait_for_completion:
            self._warn_held(array_id, len(job_ids))
            return job_ids
        if self.deferrable:
            self._defer_to(self._trigger(array_id=array_id))
        try:
            states = tracker.wait_array(array_id, self.effective_timeout, *sorted(END_STATES))
        except WaitTimeoutError as exc:
            self._terminate(job_ids, "wait timeout")
            raise AirflowException(str(exc)) from exc
        return self._complete(array_id, states)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[str]:
        """Resume after the trigger fired: fail listing failed tasks, or return the IDs."""
        payload = MPIJobTriggerEvent.from_dict(event)
        self._array_id = payload.job_id
        if payload.status is MPIJobTriggerStatus.ERROR:
            raise AirflowException(f"Lost track of array job {payload.job_id}: {payload.message}")
        if payload.status is MPIJobTriggerStatus.TIMEOUT:
            self._terminate(self.hook.get_tracker().list_array_jobs(payload.job_id), "wait timeout")
            raise AirflowException(payload.message)
        return self._complete(payload.job_id, payload.task_states)

    def on_kill(self) -> None:
        """Terminate every task of the array when Airflow kills the running task."""
        if self.cancel_on_kill and self._array_id is not None:
            tracker = self.hook.get_tracker()
            self._terminate(tracker.list_array_jobs(self._array_id), "the task was killed")

    def _warn_held(self, array_id: str, count: int) -> None:
        """Say in the task log that held tasks need a waiter (nothing else releases them)."""
        if not self.max_parallel or self.max_parallel >= count:
            return
        self.log.warning(
            "Array job %s: %d of its %d tasks are held by max_parallel=%d. They start only "
            "while something waits on a task of the array (MPIJobSensor tasks mapped over "
            "this task's output, MPIJobTrigger, wait_array); with no waiter they stay held.",
            array_id,
            count - self.max_parallel,
            count,
            self.max_parallel,
        )

    def _complete(self, array_id: str, states: dict[str, JobState]) -> list[str]:
        failed = failed_tasks(states)
        if failed:
            raise AirflowException(
                f"Array job {array_id}: {len(failed)} of {len(states)} tasks failed: "
                + ", ".join(f"{job} ({states[job]})" for job in failed)
            )
        self.log.info("Array job %s: all %d tasks done", array_id, len(states))
        return self.hook.get_tracker().list_array_jobs(array_id)
