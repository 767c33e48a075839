"""The deferrable wait: an Airflow trigger over the async tracker's shared watch.

A deferred :class:`~airflow_provider_mpi.operators.mpi_job.MPIJobOperator`,
:class:`~airflow_provider_mpi.operators.mpi_job.MPIJobArrayOperator` or
:class:`~airflow_provider_mpi.sensors.mpi_job.MPIJobSensor` hands its wait to
:class:`MPIJobTrigger`. The trigger holds no job state of its own: it waits
with ``AsyncMPIOperatorTracker.wait`` (one watch stream per cluster and
namespace in the triggerer process, however many triggers wait), so a trigger
rebuilt from :meth:`MPIJobTrigger.serialize` after a triggerer restart simply
waits again and sees the job where the cluster has it.

It fires exactly one event whose payload is :class:`MPIJobTriggerEvent` as a
dict: a :class:`MPIJobTriggerStatus`, the job (or array) ID, the state and the
JobInfo, decided in ``triggers/_event.py``; the operator uses it as it is.
The deadline is absolute (epoch seconds), so it survives a restart and holds
even where Airflow does not enforce the deferral timeout (``dag.test``).

Killing: Airflow calls :meth:`MPIJobTrigger.on_kill` when a user marks,
clears or fails the deferred task, not when the triggerer merely restarts.
That is where the job is terminated, and only when the trigger owns the job
(``terminate_on_kill``: set by the operators, not by the sensor, which
watches someone else's job). Airflow 3.3 also calls it when a triggerer whose
heartbeat lapsed loses the trigger to another triggerer; the trigger then
finds its task still deferred and leaves the job alone. A cleared task goes
on too: its next try reattaches to the job (``reattach_on_retry``), so only
a task marked failed, success or skipped has its job terminated.
``cleanup()`` releases nothing beyond the API client, left by the ``async with``:
triggers of one event loop reaching the same cluster the same way share one
client (``AsyncMPIOperatorHook.get_tracker``), closed when the last of them leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mpi.drmaa2.errors import (
    DRMAA2Error,
    InvalidArgumentError,
    InvalidStateError,
    WaitTimeoutError,
)
from airflow_provider_mpi.drmaa2.state import END_STATES, JobControlAction, JobState
from airflow_provider_mpi.hooks._compat import AirflowNotFoundException
from airflow_provider_mpi.hooks._kube_config import KubeAccess
from airflow_provider_mpi.hooks.async_mpi_operator import AsyncMPIOperatorHook
from airflow_provider_mpi.triggers._event import (
    MPIJobTriggerEvent,
    MPIJobTriggerStatus,
    array_outcome,
    job_outcome,
)

if TYPE_CHECKING:
    from airflow_provider_mpi.mpioperator.tracker.aio import AsyncMPIOperatorTracker

__all__ = ["MPIJobTrigger", "MPIJobTriggerEvent", "MPIJobTriggerStatus"]

#: Seconds to learn whether a killed task is still deferred (a handover); past
#: them the kill is honoured. The tracker opens meanwhile.
KILL_DECISION_SECONDS = 3.0
#: Seconds the terminate requests of a kill may take (retries included).
KILL_TERMINATE_SECONDS = 30.0
#: Kills in progress: their tasks outlive an ``on_kill`` the triggerer cancelled.
_KILLS: set[asyncio.Task[None]] = set()
#: Event loops whose supervisor was asked a task's state once (``MPIJobTrigger._warm_up``).
_WARMED: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
#: The warm-up requests in progress (strong references until they end).
_WARM_UPS: set[asyncio.Task[bool]] = set()
#: Task states in which a killed task is over (marked by a user), so its job is
#: terminated. In any other state the task goes on: still deferred (the trigger
#: moved to another triggerer) or cleared (a new try, which reattaches).
_TASK_OVER = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
#: Where Airflow's triggerer keeps the message of a user's cancellation.
_TRIGGERER_MODULE = "airflow.jobs.triggerer_job_runner"


def _by_user_action(cancel: asyncio.CancelledError) -> bool:
    """Whether the triggerer cancelled the trigger for a user's action (a kill).

    ``TriggerRunner.cancel_triggers`` cancels with a message (Airflow 3.2+,
    the same one ``run_trigger`` checks before calling ``on_kill``); a
    shutdown cancels without one. Read from the loaded triggerer module, never
    imported here; without it, only ``on_kill`` kills.
    """
    marker = getattr(sys.modules.get(_TRIGGERER_MODULE), "_USER_ACTION_CANCEL_MSG", None)
    return marker is not None and bool(cancel.args) and cancel.args[0] == marker


def _states(values: Iterable[JobState | str | int]) -> tuple[JobState, ...]:
    states = tuple(JobState.parse(value) for value in values)
    if not states:
        raise InvalidArgumentError("target_states", [], "at least one state is needed")
    return states


class MPIJobTrigger(BaseTrigger):
    """Wait for an MPIJob (or every task of an array job) to end or reach target states.

    Args:
        job_id: the job to wait for (exactly one of ``job_id``/``array_id``).
        array_id: the array job to wait for; held tasks are released as
            earlier ones end so that its ``max_parallel`` holds.
        target_states: states that count as success (names or ``JobState``);
            the wait also ends at Done and Failed.
        failed_is_target: count Failed as success (a sensor's choice).
        deadline: epoch seconds after which a TIMEOUT event fires; None waits
            without limit.
        terminate_on_kill: terminate the job when a user kills the deferred
            task (the operators own their jobs; a sensor does not).
        reattach_on_retry: the task's next try follows this job (the
            operators' ``reattach_on_retry``): a kill that leaves the task
            going on (a clear) leaves the job running for that try.
        conn_id: the ``kubernetes`` connection, read in the triggerer.
        namespace: the jobs' namespace.
        config_file: a kube config path overriding the connection.
        cluster_context: a kube config context.
        in_cluster: use the triggerer's service account.
        kube_config: a kube config resolved by the worker, for a connection
            the triggerer cannot see.
    """

    def __init__(
        self,
        job_id: str | None = None,
        *,
        array_id: str | None = None,
        target_states: Sequence[JobState | str | int] = ("Done",),
        failed_is_target: bool = False,
        deadline: float | None = None,
        terminate_on_kill: bool = False,
        reattach_on_retry: bool = False,
        conn_id: str | None = "kubernetes_default",
        namespace: str | None = None,
        config_file: str | None = None,
        cluster_context: str | None = None,
        in_cluster: bool | None = None,
        kube_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if (job_id is None) == (array_id is None):
            raise InvalidArgumentError(
                "job_id", job_id, f"give exactly one of job_id and array_id (array_id={array_id!r})"
            )
        self.job_id = job_id
        self.array_id = array_id
        self.target_states = _states(target_states)
        self.failed_is_target = failed_is_target
        self.deadline = deadline
        self.terminate_on_kill = terminate_on_kill
        self.reattach_on_retry = reattach_on_retry
        self.access = KubeAccess(
            conn_id=conn_id,
            namespace=namespace,
            config_file=config_file,
            cluster_context=cluster_context,
            in_cluster=in_cluster,
            kube_config=kube_config,
        )

    @property
    def _targets(self) -> frozenset[JobState]:
        targets = set(self.target_states)
        if self.failed_is_target:
            targets.add(JobState.FAILED)
        return frozenset(targets)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the keyword arguments of ``__init__``."""
        cls = type(self)
        return (
            f"{cls.__module__}.{cls.__qualname__}",
            {
                "job_id": self.job_id,
                "array_id": self.array_id,
                "target_states": [state.go_name for state in self.target_states],
                "failed_is_target": self.failed_is_target,
                "deadline": self.deadline,
                "terminate_on_kill": self.terminate_on_kill,
                "reattach_on_retry": self.reattach_on_retry,
                **self.access.to_kwargs(),
            },
        )

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        if kwargs.get("kube_config"):
            kwargs["kube_config"] = "***"
        return str(self.repr(classpath, kwargs))

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.time())

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait, then fire one event with an :class:`MPIJobTriggerEvent` payload."""
        subject = self.job_id if self.job_id is not None else str(self.array_id)
        if self.terminate_on_kill:
            self._warm_up()
        try:
            async with AsyncMPIOperatorHook.from_access(self.access).get_tracker() as tracker:
                if self.job_id is not None:
                    waiting = self._wait_job(tracker, self.job_id)
                else:
                    waiting = self._wait_array(tracker, str(self.array_id))
                # The wait runs in a task of its own, so that a cancellation
                # reaches this frame first, its message intact: unwinding the
                # wait awaits (the shared watch, the client), and a second
                # cancel meanwhile would replace the user's message.
                wait = asyncio.ensure_future(waiting)
                try:
                    event = await asyncio.shield(wait)
                except asyncio.CancelledError as exc:
                    self._on_cancel(exc)
                    wait.cancel()
                    with contextlib.suppress(asyncio.CancelledError, DRMAA2Error):
                        await wait
                    raise
        except asyncio.CancelledError as exc:
            self._on_cancel(exc)
            raise
        except DRMAA2Error as exc:
            event = MPIJobTriggerEvent(MPIJobTriggerStatus.ERROR, subject, message=str(exc))
        except AirflowNotFoundException as exc:  # the triggerer cannot see the connection
            event = MPIJobTriggerEvent(
                MPIJobTriggerStatus.ERROR,
                subject,
                message=f"{exc} in the triggerer (pass_kube_config_to_trigger=True "
                "passes the worker's kube config to the trigger)",
            )
        yield TriggerEvent(event.to_dict())  # type: ignore[no-untyped-call]

    def _warm_up(self) -> None:
        """Ask the task's state once per triggerer process, in the background.

        A triggerer's supervisor builds its in-process Execution API at the
        first state request: 3 s or more, past :data:`KILL_DECISION_SECONDS`.
        Asked at the first trigger's start, a kill or a handover later finds
        it built: without this, the first kill of a fresh triggerer waited
        out the bound, and a handover from a triggerer that had never asked
        terminated the job the new triggerer follows.
        """
        loop = asyncio.get_running_loop()
        if loop in _WARMED or self.task_instance is None:
            return
        _WARMED.add(loop)
        warm_up = loop.create_task(
            self._handed_over(quiet=True), name="MPIJobTrigger state warm-up"
        )
        _WARM_UPS.add(warm_up)
        warm_up.add_done_callback(_WARM_UPS.discard)

    def _on_cancel(self, cancel: asyncio.CancelledError) -> None:
        """Start the kill as soon as the trigger is cancelled for a user's action.

        Airflow calls ``on_kill`` later, under a ``wait_for`` that the
        triggerer may cancel before ``on_kill`` ran its first line; the kill
        must not depend on that.
        """
        if self.terminate_on_kill and _by_user_action(cancel) and not self._timed_out():
            self._start_kill()

    async def _wait_job(self, tracker: AsyncMPIOperatorTracker, job_id: str) -> MPIJobTriggerEvent:
        awaited = tuple(dict.fromkeys((*self._targets, *sorted(END_STATES))))
        try:
            # The JobInfo comes with the end, from the shared watches: no read per ending job.
            state, info = await tracker.wait_info(job_id, self._remaining(), *awaited)
        except WaitTimeoutError as exc:
            last = exc.last_state if isinstance(exc.last_state, JobState) else None
            return MPIJobTriggerEvent(
                MPIJobTriggerStatus.TIMEOUT, job_id, state=last, message=str(exc)
            )
        return job_outcome(job_id, state, info, self._targets)

    async def _wait_array(
        self, tracker: AsyncMPIOperatorTracker, array_id: str
    ) -> MPIJobTriggerEvent:
        try:
            states: dict[str, JobState] = await tracker.wait_array(
                array_id, self._remaining(), *sorted(END_STATES)
            )
        except WaitTimeoutError as exc:
            return MPIJobTriggerEvent(MPIJobTriggerStatus.TIMEOUT, array_id, message=str(exc))
        return array_outcome(array_id, states)

    async def on_kill(self) -> None:
        """Terminate the job(s) when a user kills the deferred task.

        Airflow calls this only on a user action (mark failed/success, clear),
        not on a triggerer restart. Best effort: jobs already ended are left
        alone, and a failure is logged, never raised (the task's fate is the
        user's decision either way).

        The work runs in a task of its own that this coroutine only awaits
        through :func:`asyncio.shield`: the triggerer may cancel ``on_kill``
        (and Airflow swallows that ``CancelledError``), but the decision and
        the terminate request go on. Both are bounded in time: the decision
        (:data:`KILL_DECISION_SECONDS`) runs alongside opening the tracker,
        and the terminate has :data:`KILL_TERMINATE_SECONDS`.
        """
        if not self.terminate_on_kill:
            return
        await asyncio.shield(self._start_kill())

    def _start_kill(self) -> asyncio.Task[None]:
        """The kill's task, started once per trigger (by ``run`` or ``on_kill``)."""
        kill: asyncio.Task[None] | None = getattr(self, "_kill_task", None)
        if kill is None:
            kill = asyncio.get_running_loop().create_task(
                self._kill(), name=f"MPIJobTrigger kill {self.job_id or self.array_id}"
            )
            self._kill_task = kill
            _KILLS.add(kill)  # a strong reference until it ends, whoever stops awaiting it
            kill.add_done_callback(self._kill_done)
        return kill

    def _timed_out(self) -> bool:
        """Whether Airflow's deferral timeout passed (then Airflow skips on_kill too)."""
        timeout_after = getattr(self, "timeout_after", None)
        if not isinstance(timeout_after, datetime):
            return False
        if timeout_after.tzinfo is None:
            timeout_after = timeout_after.replace(tzinfo=timezone.utc)
        return timeout_after < datetime.now(timezone.utc)

    def _kill_done(self, kill: asyncio.Task[None]) -> None:
        _KILLS.discard(kill)
        if kill.cancelled():
            self.log.warning("The kill of the deferred task's job was cancelled")
        elif (error := kill.exception()) is not None:
            self.log.error("The kill of the deferred task's job failed: %r", error)

    async def _kill(self) -> None:
        decision = asyncio.ensure_future(self._handed_over())
        try:
            async with AsyncMPIOperatorHook.from_access(self.access).get_tracker() as tracker:
                try:
                    handed_over = await asyncio.wait_for(
                        asyncio.shield(decision), KILL_DECISION_SECONDS
                    )
                except asyncio.TimeoutError:
                    self.log.warning(
                        "The task's state was not known within %.1fs: honouring the kill",
                        KILL_DECISION_SECONDS,
                    )
                    handed_over = False
                if handed_over:
                    return
                await asyncio.wait_for(self._terminate_all(tracker), KILL_TERMINATE_SECONDS)
        except DRMAA2Error as exc:
            self.log.warning("Could not terminate the job of the killed task: %s", exc)
        except asyncio.TimeoutError:
            self.log.warning(
                "Terminating the job of the killed task took over %.0fs; gave up",
                KILL_TERMINATE_SECONDS,
            )
        finally:
            decision.cancel()

    async def _terminate_all(self, tracker: AsyncMPIOperatorTracker) -> None:
        if self.job_id is not None:
            job_ids = [self.job_id]
        else:
            job_ids = await tracker.list_array_jobs(str(self.array_id))
        await asyncio.gather(*(self._terminate(tracker, job_id) for job_id in job_ids))

    async def _handed_over(self, *, quiet: bool = False) -> bool:
        """Whether the killed task goes on, so its job is left running (and says so).

        Airflow 3.3 also cancels a trigger "by user action" when a triggerer
        whose heartbeat lapsed sees it assigned to another triggerer
        (apache/airflow#73454); the task then is still deferred, and the new
        triggerer follows the job. A clear gives the task a new try, which
        reattaches to the job when ``reattach_on_retry``; terminating it then
        would fail the try that follows it. Mark failed, success or skipped
        end the task: the job is terminated. When the state cannot be read
        (no Execution API, an older Airflow, no such task), the kill is honoured.
        ``quiet``: log nothing (the warm-up's question).
        """
        ti: Any = self.task_instance
        if ti is None:
            return False
        try:
            from airflow.sdk.execution_time import task_runner
            from airflow.sdk.execution_time.comms import GetTaskStates

            asend = getattr(getattr(task_runner, "SUPERVISOR_COMMS", None), "asend", None)
            if asend is None:
                return False
            result = await asend(
                GetTaskStates(
                    dag_id=ti.dag_id,
                    map_index=ti.map_index,
                    task_ids=[ti.task_id],
                    run_ids=[ti.run_id],
                )
            )
        except Exception as exc:
            self.log.debug("Could not read the task's state, honouring the kill: %s", exc)
            return False
        key = (
            ti.task_id
            if ti.map_index is None or ti.map_index < 0
            else f"{ti.task_id}_{ti.map_index}"
        )
        states = (getattr(result, "task_states", None) or {}).get(ti.run_id) or {}
        if key not in states:
            return False
        state = str(getattr(states[key], "value", states[key]))
        if state == "deferred":
            why = "The task is still deferred: the trigger moved, the job keeps running"
        elif self.reattach_on_retry and state not in _TASK_OVER:
            why = (
                f"The task goes on (state {state}, e.g. cleared): its next try reattaches "
                "to the job, which keeps running"
            )
        else:
            return False
        if not quiet:
            self.log.info(why)
        return True

    async def _terminate(self, tracker: AsyncMPIOperatorTracker, job_id: str) -> None:
        try:
            await tracker.job_control(job_id, JobControlAction.TERMINATE)
        except InvalidStateError:
            return  # already ended
        except DRMAA2Error as exc:
            self.log.warning("Could not terminate MPIJob %s: %s", job_id, exc)
            return
        self.log.info("Terminated MPIJob %s: the deferred task was killed", job_id)
