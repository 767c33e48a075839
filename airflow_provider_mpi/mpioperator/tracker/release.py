"""Releasing the held tasks of an array: the pure decisions.

Whoever waits on a task of an array with ``max_parallel`` releases held tasks
as others end, by a conditional update of the release mark on the array's
owner object (see :mod:`.array_owner`; the requests are
:func:`.array_steps.release_step`): each range of tasks is won by one waiter,
so racing waiters never exceed the cap. Here: which array limits a task,
which mark a step wants, and whose turn it is when many waits watch one array.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from airflow_provider_mpi.mpioperator.names import LABEL_ARRAY_ID
from airflow_provider_mpi.mpioperator.tracker.array_owner import (
    REPAIR_GRACE,
    ArrayIntent,
    next_mark,
    repair_due,
)
from airflow_provider_mpi.mpioperator.tracker.arrays import is_held
from airflow_provider_mpi.mpioperator.tracker.submission import ANNOTATION_MAX_PARALLEL
from airflow_provider_mpi.mpioperator.tracker.waiters import ArrayWaiter

__all__ = [
    "MARK_ATTEMPTS",
    "STEP_DEFERRAL",
    "limited_array_of",
    "release_step_plan",
    "single_wait_turn",
    "turn_recheck_in",
]

log = logging.getLogger(__name__)

#: Conditional updates of the release mark tried in one release step.
MARK_ATTEMPTS = 8


def limited_array_of(mpijob: Mapping[str, Any]) -> str | None:
    """The array name of a task whose array holds tasks back (``max_parallel``).

    Args:
        mpijob: an MPIJob.

    Returns:
        The array name, or None for a plain job or an array without a cap.
    """
    metadata = mpijob.get("metadata") or {}
    array = (metadata.get("labels") or {}).get(LABEL_ARRAY_ID)
    limit = (metadata.get("annotations") or {}).get(ANNOTATION_MAX_PARALLEL, "0")
    if not array or not str(limit).isdigit() or int(str(limit)) <= 0:
        return None
    return str(array)


def release_step_plan(
    intent: ArrayIntent, waiter: ArrayWaiter, now: float
) -> tuple[int, list[str]]:
    """What a release step wants: the new mark, and the held tasks to repair.

    Repair: tasks below the mark as read that are still held although the
    mark passed them :data:`~.array_owner.REPAIR_GRACE` seconds ago (their
    releaser stopped between moving the mark and unsuspending them).

    Args:
        intent: the intent as last read.
        waiter: the tasks as seen.
        now: the time (seconds since the epoch).

    Returns:
        ``(new_mark, tasks_to_repair)``.
    """
    names = intent.task_names
    repair = waiter.held_among(names[: intent.mark]) if repair_due(intent, now) else []
    return next_mark(intent, waiter.ended(names)), repair


#: Seconds a wait on one task leaves a due release step to the waiters of the
#: tasks concerned before it runs the step itself.
STEP_DEFERRAL = 5.0


def single_wait_turn(
    intent: ArrayIntent | None,
    waiter: ArrayWaiter,
    name: str,
    deferred_since: float | None,
    now: float,
) -> tuple[bool, float | None]:
    """Whether a wait on one task runs a release step now (few waiters race).

    Many waits on one array each see every change of it (mapped sensors, one
    per task). Each would race for every move of the mark; instead a step is
    run now only by the waiter of a task that just ended, or of a task the
    move would release, or of a held task the mark already passed (repair).
    Any other waiter runs it only if it stays due for :data:`STEP_DEFERRAL`
    seconds (nobody concerned is waiting). A waiter infers how far the mark
    went from the tasks it sees released, so a move made by another waiter
    costs it no request.

    Args:
        intent: the intent as last read (None: an array of an older release).
        waiter: the array's tasks as seen.
        name: the task this wait is for.
        deferred_since: when this waiter first saw a step due that was not
            its turn, or None.
        now: the time (monotonic).

    Returns:
        ``(run_now, deferred_since)`` for the next call.
    """
    if intent is None:
        return True, None
    if intent.max_parallel <= 0:
        return False, None
    names = intent.task_names
    released = [i + 1 for i, n in enumerate(names) if (job := waiter.job(n)) and not is_held(job)]
    seen = max([intent.mark, *released])
    mark = next_mark(replace(intent, mark=seen), waiter.ended(names))
    own = names.index(name) if name in names else -1
    job = waiter.job(name)
    own_ended = waiter.ended([name])[0] is True
    if job is not None and is_held(job) and 0 <= own < seen and repair_due(intent, time.time()):
        return True, None
    if mark <= seen:
        return False, None
    if own_ended or seen <= own < mark:
        return True, None
    if deferred_since is None:
        return False, now
    if now - deferred_since >= STEP_DEFERRAL:
        return True, None
    return False, deferred_since


def turn_recheck_in(
    intent: ArrayIntent | None,
    waiter: ArrayWaiter,
    name: str,
    deferred_since: float | None,
    now: float,
    wall_now: float,
) -> float | None:
    """Seconds until :func:`single_wait_turn` may answer yes with no new event.

    A waiter that deferred its step, or whose own task stays held behind a
    mark another waiter moved, must look again when the deferral or the
    repair grace runs out, even if the array is quiet by then (every task
    held or running): no other event would wake it.

    Args:
        intent: the intent as last read.
        waiter: the array's tasks as seen.
        name: the task this wait is for.
        deferred_since: as returned by :func:`single_wait_turn`.
        now: the time (monotonic).
        wall_now: the time (seconds since the epoch), for the repair grace.

    Returns:
        Seconds (never negative), or None when only an event can change the answer.
    """
    if intent is None or intent.max_parallel <= 0:
        return None
    if deferred_since is not None:
        return max(0.0, deferred_since + STEP_DEFERRAL - now)
    job = waiter.job(name)
    if job is not None and is_held(job) and intent.moved_at:
        return max(0.0, intent.moved_at + REPAIR_GRACE - wall_now) or None
    return None
