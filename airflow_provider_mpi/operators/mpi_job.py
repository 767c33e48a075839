"""Airflow operators that run an MPI program as an MPIJob and wait for it.

:class:`MPIJobOperator` submits one job; :class:`MPIJobArrayOperator` submits a
DRMAA2 array job (a task range) and returns the task job IDs for dynamic task
mapping. Both are thin: the tracker (:mod:`airflow_provider_mpi.mpioperator`)
builds, submits, follows and reports the job; these classes add what only
Airflow knows: templating, the task's identity as labels (so a retry finds the
job of an earlier try instead of submitting a duplicate), XCom, deferral, the
task log and the task's fate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

from airflow_provider_mpi.drmaa2.errors import (
    DRMAA2Error,
    InvalidArgumentError,
    WaitTimeoutError,
)
from airflow_provider_mpi.drmaa2.info import JobInfo, with_readable
from airflow_provider_mpi.drmaa2.state import END_STATES, JobState
from airflow_provider_mpi.drmaa2.strenum import StrEnum
from airflow_provider_mpi.hooks._compat import AirflowException, AirflowSkipException
from airflow_provider_mpi.links import (
    MPIJobLink,
    format_job_url,
)
from airflow_provider_mpi.mpioperator.tracker.reattach import reattach_job
from airflow_provider_mpi.operators import _output_log
from airflow_provider_mpi.operators._base import MPIJobOperatorBase
from airflow_provider_mpi.operators._labels import AirflowJobIdentity
from airflow_provider_mpi.operators.mpi_job_array import ARRAY_ID_XCOM_KEY, MPIJobArrayOperator
from airflow_provider_mpi.triggers._event import MPIJobTriggerEvent, MPIJobTriggerStatus

__all__ = ["ARRAY_ID_XCOM_KEY", "DeletePolicy", "MPIJobArrayOperator", "MPIJobOperator"]

if TYPE_CHECKING:
    from airflow_provider_mpi.mpioperator.tracker.sync import MPIOperatorTracker


@dataclass
class _Copied:
    """The launcher lines in the task logs: from which pod, how many, how many recorded.

    ``tail`` keeps the last lines read (of the last read, which reaches the
    end), so a failure message quotes them without reading the output again.
    """

    pod: str | None = None
    lines: int = 0
    recorded: int = 0
    read: bool = False
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_KEPT))


#: Launcher lines a copy keeps for the failure message (``log_tail_lines`` at most).
_TAIL_KEPT = 1000


class DeletePolicy(StrEnum):
    """When the operator deletes the MPIJob it ran."""

    NEVER = "never"
    ON_SUCCESS = "on_success"
    ALWAYS = "always"


class MPIJobOperator(MPIJobOperatorBase):
    """Run one MPI program as an MPIJob and wait for it.

    Args:
        job_template: a ``JobTemplate``, a dict (Go JSON keys or snake_case),
            or a ``.yaml``/``.json`` file name (found like any Airflow
            template file); rendered with Jinja, nested values included.
        conn_id: an ``mpi_operator`` or ``kubernetes`` (cncf-kubernetes) connection.
        namespace: the job's namespace (default: the connection's).
        config_file: a kube config path overriding the connection.
        cluster_context: a kube config context overriding the connection.
        in_cluster: use the worker's service account.
        deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
        wait_timeout: seconds (or a timedelta) the wait may last, enforced in
            both modes; default ``execution_timeout``. On timeout the job is
            terminated and the task fails.
        delete_policy: delete the job after it ended: never, on success, always.
        skip_on_exit_code: launcher exit code(s) that skip the task instead of
            failing it.
        reattach_on_retry: a retry follows the job of an earlier try if it is
            still queued or running, returns its result if it is Done, and
            submits anew only if it Failed.
        log_events_on_failure: log the job's Warning events when it fails.
        get_logs: copy the launcher's output into the task log.
        log_tail_lines: launcher lines quoted in the failure message.
        job_url_template: URL of the "MPI Job" link, with ``{namespace}``,
            ``{name}``, ``{job_id}``; default: the connection's
            ``mpi_job_url_template`` extra, else the job's "MPI Jobs" page
            in Airflow.
        cancel_on_kill: terminate the job when Airflow kills the task, also
            while deferred (the trigger's ``on_kill``).
        pass_kube_config_to_trigger: resolve the kube config in the worker and
            pass it to the trigger (True), or pass only the connection ID and
            the overrides (False); None (default) passes it only for a
            connection from the worker's ``AIRFLOW_CONN_*`` variable or a
            local ``config_file`` override, which the triggerer may not see.
        **kwargs: ``BaseOperator`` arguments.

    Returns (``execute``):
        The job's ``JobInfo.to_dict()`` (Go keys and numbers) plus a
        ``readable`` companion (state name, seconds, ISO times; see
        ``drmaa2.info.with_readable``); the job ID is pushed at once as the
        ``job_id`` XCom.
    """

    template_fields: Sequence[str] = ("job_template", "namespace", "job_url_template")
    operator_extra_links = (MPIJobLink(),)

    def __init__(
        self,
        *,
        job_template: Any,
        delete_policy: DeletePolicy | str = DeletePolicy.NEVER,
        skip_on_exit_code: int | Container[int] | None = None,
        log_events_on_failure: bool = True,
        get_logs: bool = True,
        log_tail_lines: int = 20,
        job_url_template: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(job_template=job_template, **kwargs)
        try:
            self.delete_policy = DeletePolicy(delete_policy)
        except ValueError:
            raise InvalidArgumentError(
                "delete_policy", delete_policy, "one of " + ", ".join(p.value for p in DeletePolicy)
            ) from None
        if isinstance(skip_on_exit_code, int):
            skip_on_exit_code = (skip_on_exit_code,)
        self.skip_on_exit_code: Container[int] = skip_on_exit_code or ()
        self.log_events_on_failure = log_events_on_failure
        self.get_logs = get_logs
        self.log_tail_lines = log_tail_lines
        self.job_url_template = job_url_template
        self._job_id: str | None = None
        self._try_number = 1

    def execute(self, context: Context) -> dict[str, Any]:
        """Submit (or reattach to) the job and wait for it."""
        identity = AirflowJobIdentity.from_context(context)
        template = self._labelled_template(identity)  # fails on bad input, before any request
        self._url_template()  # a bad link template fails before any request
        tracker = self.hook.get_tracker()
        self._try_number = identity.try_number
        earlier = None
        if self.reattach_on_retry:
            labels = identity.selector_labels()
            earlier = reattach_job(tracker, labels, template.job_name, self.log)
        if earlier is None:
            job_id = tracker.add_job(template)
            self.log.info("Submitted MPIJob %s", job_id)
            state = JobState.QUEUED
        else:
            job_id, state = earlier
        self._job_id = job_id
        self._publish(context, job_id)
        if not state.is_terminal and self.deferrable:
            state, _ = tracker.job_state(job_id)
            if not state.is_terminal:
                self._defer_to(self._trigger(job_id=job_id))
        copied = _Copied()
        if not state.is_terminal:
            self._wait_in_worker(job_id, copied)
        return self._complete(job_id, tracker.job_info(job_id), copied)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger fired: report, log, fail or return the JobInfo."""
        payload = MPIJobTriggerEvent.from_dict(event)
        self._job_id = payload.job_id
        if payload.status is MPIJobTriggerStatus.ERROR:
            raise AirflowException(
                f"Lost track of MPIJob {payload.job_id}: {payload.message} "
                "(a retry reattaches to the job if it still exists)"
            )
        if payload.status is MPIJobTriggerStatus.TIMEOUT:
            self._terminate([payload.job_id], "wait timeout")
            raise AirflowException(payload.message)
        # The trigger sent the JobInfo of the ended job: used as it is.
        info = payload.job_info or self.hook.get_tracker().job_info(payload.job_id)
        return self._complete(payload.job_id, info, _Copied())

    def on_kill(self) -> None:
        """Terminate the job when Airflow kills the running task (if ``cancel_on_kill``)."""
        if self.cancel_on_kill and self._job_id is not None:
            self._terminate([self._job_id], "the task was killed")

    def _url_template(self) -> str | None:
        """The extra link's URL template, checked before anything is submitted."""
        template = self.job_url_template or self.hook.job_url_template
        if template:
            format_job_url(template, "namespace/name")
        return template

    def _wait_in_worker(self, job_id: str, copied: _Copied) -> JobState:
        """Wait in the worker, copying the launcher's output into the task log meanwhile."""
        tracker = self.hook.get_tracker()
        stop = threading.Event()
        streamer = threading.Thread(
            target=self._stream_output,
            args=(job_id, stop, copied),
            name=f"log-{job_id}",
            daemon=True,
        )
        if self.get_logs:
            streamer.start()
        try:
            state = tracker.wait(job_id, self.effective_timeout, *sorted(END_STATES))
        except WaitTimeoutError as exc:
            self._terminate([job_id], "wait timeout")
            raise AirflowException(str(exc)) from exc
        finally:
            stop.set()
            if streamer.is_alive():
                streamer.join(timeout=10)
        if self.get_logs and not streamer.is_alive():
            # Catch up on lines a dropped stream missed; none is copied twice.
            self._copy_output_once(job_id, copied)
        return state

    def _stream_output(self, job_id: str, stop: threading.Event, copied: _Copied) -> None:
        """Follow the launcher's output into the task log while the job runs."""
        while not stop.is_set():
            try:
                self._copy_output(job_id, copied, follow=True)
                return
            except DRMAA2Error as exc:  # no launcher yet, or a dropped stream
                self.log.debug("Launcher output of %s not available yet: %s", job_id, exc)
                stop.wait(1.0)

    def _copy_output_once(self, job_id: str, copied: _Copied) -> None:
        """Copy what the launcher printed; the output is a courtesy, never a failure."""
        try:
            self._copy_output(job_id, copied, follow=False)
        except DRMAA2Error as exc:
            self.log.warning("Could not read the launcher output of %s: %s", job_id, exc)

    def _copy_output(self, job_id: str, copied: _Copied, *, follow: bool) -> None:
        """Log the launcher lines no try wrote yet, and record how many are logged.

        The count lives on the job (``_output_log``), so a retry that
        reattaches writes only the lines the earlier try did not write.
        """
        tracker = self.hook.get_tracker()
        if copied.pod is None:
            self._learn_logged_lines(tracker, job_id, copied)
        recorded = time.monotonic()
        copied.tail.clear()  # a new read starts from the first line
        try:
            for index, line in enumerate(tracker.job_output(job_id, follow=follow)):
                copied.tail.append(line)
                if index >= copied.lines:
                    self.log.info("[launcher] %s", line)
                    copied.lines = index + 1
                if follow and time.monotonic() - recorded > _output_log.RECORD_EVERY_SECONDS:
                    self._record_logged_lines(tracker, job_id, copied)
                    recorded = time.monotonic()
            copied.read = True  # read to the end
        finally:
            self._record_logged_lines(tracker, job_id, copied)

    def _learn_logged_lines(
        self, tracker: MPIOperatorTracker, job_id: str, copied: _Copied
    ) -> None:
        try:
            pod, logged = _output_log.read(tracker, job_id)
        except DRMAA2Error as exc:
            self.log.debug("Could not read which launcher lines are logged: %s", exc)
            return
        if not pod:
            return  # no launcher yet: ask again on the next copy
        copied.pod = pod
        if logged is not None and logged.lines > copied.lines:
            self.log.info(
                "Launcher lines 1-%d of MPIJob %s are in the log of try %d already; "
                "this try writes the lines after them",
                logged.lines,
                job_id,
                logged.try_number,
            )
            copied.lines = logged.lines
            copied.recorded = logged.lines

    def _record_logged_lines(
        self, tracker: MPIOperatorTracker, job_id: str, copied: _Copied
    ) -> None:
        if copied.pod is None or copied.lines == copied.recorded:
            return
        logged = _output_log.LinesLogged(copied.pod, copied.lines, self._try_number)
        error = _output_log.record_quietly(tracker, job_id, logged)
        if error is None:
            copied.recorded = copied.lines
        else:
            self.log.debug("Could not record the launcher lines logged: %s", error)

    def _complete(self, job_id: str, info: JobInfo, copied: _Copied) -> dict[str, Any]:
        """Log the output, apply the delete policy, return the JobInfo or fail.

        The launcher output is read at most once more here: when it was not
        streamed to the end already; the failure message quotes the lines read.
        """
        if self.get_logs and not copied.read:
            self._copy_output_once(job_id, copied)
        if info.state is not JobState.FAILED:
            self.log.info("MPIJob %s is %s", job_id, info.state)
            self._apply_delete_policy(job_id, succeeded=True)
            return with_readable(info)
        if self.log_events_on_failure:
            self._log_warning_events(job_id)
        message = self._failure_message(job_id, info, copied)
        self._apply_delete_policy(job_id, succeeded=False)
        if info.exit_status is not None and info.exit_status in self.skip_on_exit_code:
            raise AirflowSkipException(message)
        raise AirflowException(message)

    def _log_warning_events(self, job_id: str) -> None:
        try:
            events = self.hook.get_tracker().job_events(job_id, warnings_only=True)
        except DRMAA2Error as exc:  # the job's failure matters more than its events
            self.log.warning("Could not read the events of %s: %s", job_id, exc)
            return
        for event in events:
            self.log.warning("MPIJob event %s: %s", event.reason, event.message)

    def _failure_message(self, job_id: str, info: JobInfo, copied: _Copied) -> str:
        parts = [f"MPIJob {job_id} failed"]
        if info.exit_status is not None:
            parts.append(f"exit status {info.exit_status}")
        if info.sub_state:
            parts.append(f"reason {info.sub_state}")
        if info.terminating_signal:
            parts.append(f"signal {info.terminating_signal}")
        message = ", ".join(parts)
        if info.annotation:
            message += f": {info.annotation}"
        try:
            tail = list(copied.tail)[-self.log_tail_lines :] if self.log_tail_lines else []
        except RuntimeError:  # a stream that outlived its join still appends
            tail = []
        if not copied.read and self.log_tail_lines:  # not copied (get_logs=False): read the tail
            try:
                tracker = self.hook.get_tracker()
                tail = list(tracker.job_output(job_id, tail_lines=self.log_tail_lines))
            except DRMAA2Error:
                tail = []
        if tail:
            message += "\nLast launcher lines:\n" + "\n".join(tail)
        return message

    def _apply_delete_policy(self, job_id: str, *, succeeded: bool) -> None:
        if self.delete_policy is DeletePolicy.NEVER or (
            self.delete_policy is DeletePolicy.ON_SUCCESS and not succeeded
        ):
            return
        try:
            self.hook.get_tracker().delete_job(job_id)
        except DRMAA2Error as exc:
            self.log.warning("Could not delete MPIJob %s: %s", job_id, exc)
        else:
            self.log.info("Deleted MPIJob %s (delete_policy=%s)", job_id, self.delete_policy)
