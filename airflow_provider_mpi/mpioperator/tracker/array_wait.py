"""What a wait on an array does with each watched item: written once for both trackers.

The sync tracker follows an array on its own watch (:mod:`.sync_io`), the
async one on the event loop's shared watch (:mod:`.aio_io`); what either does
with an item it sees is the same, and lives here as steps (:mod:`.run`):

- :class:`ArrayWait`, a wait on every task: feed the item to the array's
  waiter, run a release step, and say whether every task has ended;
- :class:`TaskWait`, a wait on one task of a limited array: feed the item to
  the task's and the array's waiters, run a release step when it is this
  waiter's turn (:func:`~.release.single_wait_turn`), and say when to look
  again with no event.

The transports' loops only fetch the items and run these steps. Pure.
"""

from __future__ import annotations

import time

from airflow_provider_mpi.drmaa2.errors import WaitTimeoutError
from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.tracker.array_owner import ArrayIntent
from airflow_provider_mpi.mpioperator.tracker.array_steps import array_waiter, release_step
from airflow_provider_mpi.mpioperator.tracker.ids import ArrayRef, format_job_id
from airflow_provider_mpi.mpioperator.tracker.observe import observe_array, observe_task
from airflow_provider_mpi.mpioperator.tracker.release import single_wait_turn, turn_recheck_in
from airflow_provider_mpi.mpioperator.tracker.run import Step
from airflow_provider_mpi.mpioperator.tracker.waiters import ArrayWaiter, JobWaiter
from airflow_provider_mpi.mpioperator.tracker.waiting import Deadline
from airflow_provider_mpi.mpioperator.tracker.watch_cursor import JobChange, Snapshot

__all__ = ["ArrayWait", "TaskWait"]


class ArrayWait:
    """A wait on every task of an array, releasing held tasks as slots free up.

    Args:
        ref: the array.
        waiter: the waiter of its tasks (:func:`~.array_steps.array_waiter`).
        intent: the array's intent as read, or None (an array without an owner).
        timeout: the timeout the caller gave, for the error.
    """

    def __init__(
        self,
        ref: ArrayRef,
        waiter: ArrayWaiter,
        intent: ArrayIntent | None,
        timeout: float | None,
    ) -> None:
        self.ref = ref
        self.waiter = waiter
        self.intent = intent
        self.timeout = timeout

    @classmethod
    def start(
        cls, ref: ArrayRef, states: tuple[JobState, ...], timeout: float | None
    ) -> Step[ArrayWait]:
        """Read the array's intent and make the wait (no states: the end states)."""
        waiter, intent = yield from array_waiter(ref, states)
        return cls(ref, waiter, intent, timeout)

    def seen(self, item: Snapshot | JobChange) -> Step[bool]:
        """Take a watched item and run a release step.

        Returns:
            Whether every task reached a wanted state (see :meth:`states`).

        Raises:
            InvalidStateError: a task ended in a state not waited for.
        """
        observe_array(self.waiter, item)
        self.intent, _ = yield from release_step(self.ref.namespace, self.intent, self.waiter)
        return self.waiter.finished()

    def states(self) -> dict[str, JobState]:
        """The state of each task, by job ID, in task order."""
        return self.waiter.states()

    def timed_out(self) -> WaitTimeoutError:
        """The error of a wait whose deadline passed (``last_state``: the task states)."""
        return WaitTimeoutError(str(self.ref), self.timeout, self.waiter.states())


class TaskWait:
    """A wait on one task of a limited array, releasing the array's held tasks meanwhile.

    Args:
        ref: the array (named: a limited array has an owner).
        name: the task's MPIJob name.
        waiter: the waiter of the array's tasks (``require_all=False``).
        intent: the array's intent as read.
        wanted: the states the task is waited for.
    """

    def __init__(
        self,
        ref: ArrayRef,
        name: str,
        waiter: ArrayWaiter,
        intent: ArrayIntent | None,
        wanted: frozenset[JobState],
    ) -> None:
        assert ref.name is not None
        self.ref = ref
        self.name = name
        self.waiter = waiter
        self.intent = intent
        self.target = JobWaiter(format_job_id(ref.namespace, name), wanted)
        self._deferred: float | None = None
        #: Seconds until this waiter must look again with no event (a deferred
        #: step, a repair grace), or None: only an event can change its answer.
        self.recheck: float | None = None

    @classmethod
    def start(cls, ref: ArrayRef, name: str, wanted: frozenset[JobState]) -> Step[TaskWait]:
        """Read the array's intent and make the wait."""
        waiter, intent = yield from array_waiter(ref, (), require_all=False)
        return cls(ref, name, waiter, intent, wanted)

    def seen(self, item: Snapshot | JobChange | None) -> Step[JobState | None]:
        """Take a watched item (None: the time to look again came with none).

        Runs a release step when it is this waiter's turn, and sets
        :attr:`recheck`.

        Returns:
            The state the task reached, or None.
        """
        reached = None if item is None else observe_task(self.waiter, self.target, self.name, item)
        turn, self._deferred = single_wait_turn(
            self.intent, self.waiter, self.name, self._deferred, time.monotonic()
        )
        if turn:
            self.intent, _ = yield from release_step(self.ref.namespace, self.intent, self.waiter)
        if reached is None:
            self.recheck = turn_recheck_in(
                self.intent, self.waiter, self.name, self._deferred, time.monotonic(), time.time()
            )
        return reached

    def timed_out(self, deadline: Deadline) -> WaitTimeoutError:
        """The error of a wait whose deadline passed (with the task's last state)."""
        job_id = format_job_id(self.ref.namespace, self.name)
        return WaitTimeoutError(job_id, deadline.timeout, self.target.last_state)
