"""An Airflow sensor that waits for an MPIJob, whoever created it, to reach target states.

Poke and reschedule modes ask the tracker for the job's state on each poke;
deferrable mode hands the wait to :class:`~airflow_provider_mpi.triggers.mpi_job.MPIJobTrigger`,
which follows the shared watch in the triggerer. The sensor never terminates
the job it watches: it does not own it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, InvalidArgumentError
from airflow_provider_mpi.drmaa2.info import with_readable
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.hooks._compat import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    conf,
)
from airflow_provider_mpi.operators._connection import MPIConnectionMixin
from airflow_provider_mpi.triggers._event import MPIJobTriggerEvent, MPIJobTriggerStatus
from airflow_provider_mpi.triggers.mpi_job import MPIJobTrigger

if TYPE_CHECKING:
    from airflow_provider_mpi.mpioperator.tracker.sync import MPIOperatorTracker

__all__ = ["MPIJobSensor"]


class MPIJobSensor(MPIConnectionMixin, BaseSensorOperator):
    """Wait until an MPIJob reaches one of ``target_states``.

    Args:
        job_id: the job (``"<namespace>/<name>"``, or a bare name in the
            connection's namespace); templated, so ``"{{ ti.xcom_pull(...) }}"``
            or a mapped ``expand(job_id=...)`` works.
        target_states: states that end the wait successfully (default Done).
        failed_is_target: a Failed job ends the wait successfully instead of
            failing the task.
        conn_id: an ``mpi_operator`` or ``kubernetes`` (cncf-kubernetes) connection.
        namespace: the namespace for a bare job name (default: the connection's).
        config_file: a kube config path overriding the connection.
        cluster_context: a kube config context overriding the connection.
        in_cluster: use the worker's service account.
        deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
        pass_kube_config_to_trigger: pass the kube config resolved in the
            worker to the trigger (True), or only the connection ID and the
            overrides (False); None decides: pass it only for a connection
            from the worker's ``AIRFLOW_CONN_*`` variable or a local
            ``config_file`` override, which the triggerer may not see.
        log_tail_lines: when the job ended (reached a target or failed), log
            the last N lines its launcher printed (0, the default: none).
        **kwargs: ``BaseSensorOperator`` arguments (``mode``, ``poke_interval``,
            ``timeout``, ``soft_fail``...).

    Returns (``execute``):
        The job's ``JobInfo.to_dict()`` plus its ``readable`` companion when
        the target state is reached.
    """

    template_fields: Sequence[str] = ("job_id", "namespace")
    ui_color = "#e0f3f8"

    def __init__(
        self,
        *,
        job_id: str,
        target_states: Iterable[JobState | str] = (JobState.DONE,),
        failed_is_target: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        log_tail_lines: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(log_tail_lines, bool) or not isinstance(log_tail_lines, int):
            raise InvalidArgumentError("log_tail_lines", log_tail_lines, "must be an int >= 0")
        if log_tail_lines < 0:
            raise InvalidArgumentError("log_tail_lines", log_tail_lines, "must be an int >= 0")
        self.log_tail_lines = log_tail_lines
        self.job_id = job_id
        self.target_states = tuple(JobState.parse(state) for state in target_states)
        if not self.target_states:
            raise InvalidArgumentError("target_states", [], "at least one state is needed")
        self.failed_is_target = failed_is_target
        self.deferrable = deferrable

    @property
    def _targets(self) -> frozenset[JobState]:
        extra = (JobState.FAILED,) if self.failed_is_target else ()
        return frozenset((*self.target_states, *extra))

    def poke(self, context: Context) -> PokeReturnValue:
        """Check the job's state once.

        Raises:
            AirflowFailException: the job ended in a state that is not a target
                (it can never reach one, so retrying is pointless); with
                ``soft_fail`` the sensor is skipped instead.
        """
        tracker = self.hook.get_tracker()
        state, sub_state = tracker.job_state(self.job_id)
        self.log.info("MPIJob %s is %s %s", self.job_id, state, sub_state)
        if state in self._targets:
            self._log_output_tail(self.job_id)
            self._warn_held(tracker)
            return PokeReturnValue(
                is_done=True, xcom_value=with_readable(tracker.job_info(self.job_id))
            )
        if state.is_terminal:
            self._log_output_tail(self.job_id)
            raise AirflowFailException(
                f"MPIJob {self.job_id} ended {state}"
                + (f" ({sub_state})" if sub_state else "")
                + f"; waited for {', '.join(str(s) for s in sorted(self._targets))}"
            )
        return PokeReturnValue(is_done=False)

    def _warn_held(self, tracker: MPIOperatorTracker) -> None:
        """After the job ended: say so if tasks of its array are still held.

        Held tasks of an array with ``max_parallel`` start only while
        something waits on a task of the array; this sensor stops waiting now.
        """
        if JobState.DONE not in self._targets and JobState.FAILED not in self._targets:
            return
        try:
            held = tracker.held_siblings(self.job_id)
        except DRMAA2Error as exc:
            self.log.debug("Could not check the held tasks of %s's array: %s", self.job_id, exc)
            return
        if held:
            self.log.warning(
                "%d task(s) of the array of %s are still held by max_parallel (%s). They "
                "start only while something waits on a task of the array (another "
                "MPIJobSensor, wait_array); if no waiter is left, they stay held.",
                len(held),
                self.job_id,
                ", ".join(held[:5]) + (", ..." if len(held) > 5 else ""),
            )

    def execute(self, context: Context) -> Any:
        """Poke/reschedule as any sensor, or check once and defer."""
        if not self.deferrable:
            return super().execute(context)
        try:
            first = self.poke(context)
        except AirflowFailException as exc:
            if self.soft_fail:
                raise AirflowSkipException(str(exc)) from exc
            raise
        if first.is_done:
            return first.xcom_value
        access = self.trigger_access()
        self.defer(
            trigger=MPIJobTrigger(
                self.job_id,
                target_states=self.target_states,
                failed_is_target=self.failed_is_target,
                deadline=time.time() + self.timeout,
                terminate_on_kill=False,
                **access.to_kwargs(),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + timedelta(seconds=60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger fired."""
        payload = MPIJobTriggerEvent.from_dict(event)
        if payload.state is not None and payload.state.is_terminal:
            self._log_output_tail(payload.job_id)
        if payload.status is MPIJobTriggerStatus.SUCCESS:
            self.log.info("MPIJob %s reached %s", payload.job_id, payload.state)
            self._warn_held(self.hook.get_tracker())
            return with_readable(payload.job_info) if payload.job_info else payload.job_info
        if payload.status is MPIJobTriggerStatus.ERROR:
            raise AirflowException(payload.message)  # retries may help
        if self.soft_fail:
            raise AirflowSkipException(payload.message)
        if payload.status is MPIJobTriggerStatus.TIMEOUT:
            raise AirflowSensorTimeout(payload.message)
        raise AirflowFailException(payload.message)

    def _log_output_tail(self, job_id: str) -> None:
        """Log the last ``log_tail_lines`` launcher lines; a courtesy, never a failure."""
        if not self.log_tail_lines:
            return
        try:
            lines = list(self.hook.get_tracker().job_output(job_id, tail_lines=self.log_tail_lines))
        except DRMAA2Error as exc:
            self.log.warning("Could not read the launcher output of %s: %s", job_id, exc)
            return
        self.log.info("Last %d launcher line(s) of MPIJob %s:", len(lines), job_id)
        for line in lines:
            self.log.info("[launcher] %s", line)
