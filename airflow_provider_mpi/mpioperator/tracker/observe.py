"""What one item of a watch means to a wait: shared by the sync and async waits.

A wait reads a :class:`~.watch_cursor.Snapshot` (after every list) or a
:class:`~.watch_cursor.JobChange` (per event), from its own watch (sync) or
from the event loop's shared one (async); these functions feed it to the
waiters (:mod:`.waiters`) the same way for both. Pure.
"""

from __future__ import annotations

from airflow_provider_mpi.drmaa2.state import JobState
from airflow_provider_mpi.mpioperator.tracker.release import limited_array_of
from airflow_provider_mpi.mpioperator.tracker.waiters import ArrayWaiter, JobWaiter
from airflow_provider_mpi.mpioperator.tracker.watch_cursor import JobChange, Snapshot

__all__ = ["observe_array", "observe_job", "observe_task"]


def observe_job(
    waiter: JobWaiter, name: str, item: Snapshot | JobChange
) -> tuple[JobState | None, str | None]:
    """Feed an item to the wait on one job.

    Args:
        waiter: the job's waiter.
        name: the job's MPIJob name.
        item: the watch item.

    Returns:
        The state reached (or None), and the limited array the job is a task
        of when a snapshot shows one (the wait then follows the whole array).
    """
    if isinstance(item, Snapshot):
        seen = item.objects.get(name)
        array = limited_array_of(seen) if seen is not None else None
        if array is not None:
            return None, array
        return waiter.observe(seen, as_of=item.resource_version), None
    if item.name != name:
        return None, None
    return waiter.observe(None if item.deleted else item.object), None


def observe_array(waiter: ArrayWaiter, item: Snapshot | JobChange) -> None:
    """Feed an item to the waiter of an array's tasks."""
    if isinstance(item, Snapshot):
        waiter.snapshot(item.objects.values(), as_of=item.resource_version)
    else:
        waiter.observe(item.name, None if item.deleted else item.object)


def observe_task(
    waiter: ArrayWaiter, target: JobWaiter, name: str, item: Snapshot | JobChange
) -> JobState | None:
    """Feed an item to a wait on one task of an array (the array's waiter too).

    Returns:
        The state the task reached, or None.
    """
    observe_array(waiter, item)
    if isinstance(item, Snapshot):
        return target.observe(item.objects.get(name), as_of=item.resource_version)
    if item.name == name:
        return target.observe(None if item.deleted else item.object)
    return None
