"""The kill path of :class:`~airflow_provider_mpi.triggers.mpi_job.MPIJobTrigger`.

A user's kill of a deferred task reaches the trigger twice: as the
cancellation of its ``run`` (with the triggerer's user-action message) and as
a call of ``on_kill``. Either starts one kill task per trigger that outlives
the cancellation of both. The kill asks the task's state first (bounded by
:data:`KILL_DECISION_SECONDS`): a task still deferred (its trigger moved to
another triggerer) or cleared for a try that reattaches keeps its job; any
other kill terminates it (bounded by :data:`KILL_TERMINATE_SECONDS`).
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import Coroutine, Generator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from airflow.triggers.base import BaseTrigger

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, InvalidStateError
from airflow_provider_mpi.drmaa2.state import JobControlAction
from airflow_provider_mpi.hooks._kube_config import KubeAccess
from airflow_provider_mpi.hooks.async_mpi_operator import AsyncMPIOperatorHook

if TYPE_CHECKING:
    from airflow_provider_mpi.mpioperator.tracker.aio import AsyncMPIOperatorTracker

    _Base = BaseTrigger
else:
    _Base = object

__all__ = ["KILL_DECISION_SECONDS", "KILL_TERMINATE_SECONDS", "KillOnUserAction", "SeesCancel"]

T = TypeVar("T")

#: Seconds to learn whether a killed task is still deferred (a handover); past
#: them the kill is honoured. The tracker opens meanwhile.
KILL_DECISION_SECONDS = 3.0
#: Seconds the terminate requests of a kill may take (retries included).
KILL_TERMINATE_SECONDS = 30.0
#: Kills in progress: their tasks outlive an ``on_kill`` the triggerer cancelled.
_KILLS: set[asyncio.Task[None]] = set()
#: Event loops whose supervisor was asked a task's state once (``KillOnUserAction._warm_up``).
_WARMED: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
#: The warm-up requests in progress (strong references until they end).
_WARM_UPS: set[asyncio.Task[bool]] = set()
#: Task states in which a killed task is over (marked by a user), so its job is
#: terminated. In any other state the task goes on: still deferred (the trigger
#: moved to another triggerer) or cleared (a new try, which reattaches).
_TASK_OVER = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
#: Where Airflow's triggerer keeps the message of a user's cancellation.
_TRIGGERER_MODULE = "airflow.jobs.triggerer_job_runner"


class SeesCancel(Generic[T]):
    """Await a coroutine in the caller's task, seeing each cancellation before it does.

    A task's cancellation is thrown into its coroutine chain and lands in the
    innermost frame; while the frames unwind, they may await (leaving a
    shared watch, closing a client), and a second cancel meanwhile replaces
    the first one's message. This awaitable sits in the chain and passes each
    step to the coroutine itself, so a cancellation thrown into the task
    reaches the trigger's ``_on_cancel`` first, message intact, and then the
    coroutine; once cancelled, it raises that first cancellation however the
    coroutine ends. It does what a task of its own and :func:`asyncio.shield`
    did for the trigger's wait, without a second task per waiting trigger; it
    is its own iterator (``send``/``throw``/``close``), not a generator, so a
    waiting trigger keeps no frame for it.
    """

    __slots__ = ("_before", "_cancel", "_coro", "_trigger")

    def __init__(self, coro: Coroutine[Any, Any, T], trigger: KillOnUserAction) -> None:
        self._coro = coro
        self._trigger = trigger  # not a bound method: one object less per waiting trigger
        self._before = 0
        self._cancel: asyncio.CancelledError | None = None  # the task's first cancellation

    def __await__(self) -> Generator[Any, Any, T]:
        self._before = _cancelling()
        return self

    def __iter__(self) -> SeesCancel[T]:
        return self

    def __next__(self) -> Any:
        return self._step(None, None)

    def send(self, value: Any) -> Any:
        """Resume the coroutine with ``value`` (the event loop's step)."""
        return self._step(value, None)

    def throw(self, error: Any, *_: object) -> Any:
        """Throw ``error`` (thrown into the task) into the coroutine, a cancellation seen first.

        A CancelledError is also how an awaited future's own cancellation
        arrives; only a cancel request of the task itself counts.
        """
        if not isinstance(error, BaseException):  # the old (type, value, traceback) form
            value = _[0] if _ else None
            error = value if isinstance(value, BaseException) else error()
        if isinstance(error, asyncio.CancelledError) and self._cancelled(error):
            self._trigger._on_cancel(error)
            self._cancel = self._cancel or error
        return self._step(None, error)

    def close(self) -> None:
        """Close the coroutine (the awaiting frame is closed)."""
        self._coro.close()

    def _step(self, value: Any, error: BaseException | None) -> Any:
        try:
            return self._coro.send(value) if error is None else self._coro.throw(error)
        except BaseException:
            cancel = self._cancel
            if cancel is not None and self._cancelled(cancel):
                # a cancelled wait ends cancelled: not with its result (a
                # StopIteration), its unwinding's error or a later cancel
                raise cancel from None
            raise

    def _cancelled(self, cancel: asyncio.CancelledError) -> bool:
        """Whether the task itself was asked to cancel, and did not take it back.

        Python 3.10 counts no requests: only a cancel with a message (the
        triggerer's user action) is told apart there.
        """
        count = _cancelling()
        return count > self._before if count >= 0 else bool(cancel.args)


def _cancelling() -> int:
    """The running task's pending cancel requests; -1 where Python does not count them."""
    cancelling = getattr(asyncio.current_task(), "cancelling", None)
    return int(cancelling()) if cancelling is not None else -1


def _by_user_action(cancel: asyncio.CancelledError) -> bool:
    """Whether the triggerer cancelled the trigger for a user's action (a kill).

    ``TriggerRunner.cancel_triggers`` cancels with a message (Airflow 3.2+,
    the same one ``run_trigger`` checks before calling ``on_kill``); a
    shutdown cancels without one. Read from the loaded triggerer module, never
    imported here; without it, only ``on_kill`` kills.
    """
    marker = getattr(sys.modules.get(_TRIGGERER_MODULE), "_USER_ACTION_CANCEL_MSG", None)
    return marker is not None and bool(cancel.args) and cancel.args[0] == marker


class KillOnUserAction(_Base):
    """The kill path of a trigger that may own its job(s): mixed into ``MPIJobTrigger``.

    It reads the trigger's ``job_id``, ``array_id``, ``access``,
    ``terminate_on_kill`` and ``reattach_on_retry``, and Airflow's
    ``task_instance`` and ``timeout_after``.
    """

    job_id: str | None
    array_id: str | None
    access: KubeAccess
    terminate_on_kill: bool
    reattach_on_retry: bool

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
