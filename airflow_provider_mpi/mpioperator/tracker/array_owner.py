"""The owner object of an array: its whole intent, recorded before its first task.

An array job is one MPIJob per task. Before the first task is created, the
tracker creates a ConfigMap named like the array in the tasks' namespace. It
records the array's intent (range, ``max_parallel``, a hash of the template,
the submission token, the template itself) and the release mark of
``max_parallel``; every task names it in ``ownerReferences``, so deleting it
deletes the array.

Why a ConfigMap: it is namespaced (owner and dependents must share a
namespace), needs no CRD, holds string data with a resourceVersion for
optimistic concurrency, and is readable with ``kubectl get cm <array>``.

Why the intent first: a submitter killed after 61 of 200 tasks leaves the
intent on the cluster. A re-run of the same submission (same array name, same
template and range) finds it, adopts its token and creates exactly the missing
tasks (a task already there carries the token, so its ``409`` is success);
a different template under the same name is a :class:`ConflictError`. Readers
(``list_array_jobs``, ``wait_array``) take the task list from the intent, so
an array with a missing task is never reported complete.

The release mark: tasks are ordered by task ID; only the first ``mark`` tasks
may run, the others are created held. Whoever waits on a task of the array
advances the mark as tasks end, by a conditional update of this one object
(its resourceVersion as precondition), and releases only the tasks it moved
the mark over. Two racing waiters cannot both win the same step, so
``max_parallel`` is never exceeded. Pure; shared by the sync and async
trackers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_mpi.drmaa2.errors import ConflictError
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.names import ANNOTATION_ARRAY_OWNER, LABEL_ARRAY_ID

__all__ = [
    "ANNOTATION_ARRAY_OWNER",
    "ArrayIntent",
    "initial_mark",
    "intent_conflict",
    "intent_hash",
    "mark_patch",
    "next_mark",
    "owner_config_map",
    "owner_reference",
    "read_intent",
    "repair_due",
]

_KEYS = ("begin", "end", "step", "max-parallel", "template-hash", "submission", "template")
_MARK = "released-through"
_CLAIM = "released-by"
_MOVED_AT = "released-at"
#: Seconds after a move of the mark before other waiters repair it (start the
#: tasks it passed that are still held: their releaser stopped half way).
REPAIR_GRACE = 30.0


def intent_hash(template: JobTemplate, begin: int, end: int, step: int, max_parallel: int) -> str:
    """A digest of everything that makes two array submissions the same.

    Args:
        template: the array's template (as the user gave it).
        begin: first task ID.
        end: last task ID.
        step: increment.
        max_parallel: the cap.

    Returns:
        The SHA-256 of the template's JSON and the range, in hex.
    """
    text = json.dumps([json.loads(template.to_json()), begin, end, step, max_parallel])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ArrayIntent:
    """What an array's owner object records.

    Attributes:
        name: the array name (owner name, task name prefix, label value).
        namespace: the namespace of the owner and of every task.
        begin: first task ID.
        end: last task ID.
        step: increment.
        max_parallel: the cap (0: none).
        template_hash: :func:`intent_hash` of the submission.
        token: the submission token every task carries.
        template: the template's Go JSON.
        mark: how many tasks, in task order, may run (the release mark).
        uid: the owner's uid (empty before it exists).
        resource_version: the owner's resourceVersion when read.
        claim: the random claim of the release step that last moved the
            mark (so a step whose answer was lost knows it won).
        moved_at: when the mark last moved (seconds since the epoch, 0: never).
    """

    name: str
    namespace: str
    begin: int
    end: int
    step: int
    max_parallel: int
    template_hash: str
    token: str
    template: str
    mark: int
    uid: str = ""
    resource_version: str = ""
    claim: str = ""
    moved_at: float = 0.0

    @property
    def task_ids(self) -> range:
        """The task IDs, in task order."""
        return range(self.begin, self.end + 1, self.step)

    @property
    def task_names(self) -> list[str]:
        """The task MPIJob names, in task order."""
        return [f"{self.name}-{task_id}" for task_id in self.task_ids]

    @property
    def limited(self) -> bool:
        """True when ``max_parallel`` holds tasks back."""
        return 0 < self.max_parallel < len(self.task_ids)


def initial_mark(task_count: int, max_parallel: int) -> int:
    """The release mark of a new array: ``max_parallel`` tasks, or all."""
    return task_count if max_parallel <= 0 else min(max_parallel, task_count)


def owner_config_map(intent: ArrayIntent, labels: Mapping[str, str]) -> dict[str, Any]:
    """The owner ConfigMap recording an intent.

    Args:
        intent: the intent.
        labels: the template's labels (the Airflow task identity among
            them), so a retry finds the array even before its first task.

    Returns:
        The ConfigMap, ready to create.
    """
    data = {
        "begin": str(intent.begin),
        "end": str(intent.end),
        "step": str(intent.step),
        "max-parallel": str(intent.max_parallel),
        "template-hash": intent.template_hash,
        "submission": intent.token,
        "template": intent.template,
        _MARK: str(intent.mark),
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": intent.name,
            "namespace": intent.namespace,
            "labels": {**labels, LABEL_ARRAY_ID: intent.name},
            "annotations": {ANNOTATION_ARRAY_OWNER: "true"},
        },
        "data": data,
    }


def read_intent(config_map: Mapping[str, Any]) -> ArrayIntent | None:
    """Read an intent back from an owner ConfigMap.

    Args:
        config_map: the ConfigMap as read.

    Returns:
        The intent, or None when the ConfigMap is not an array's owner.
    """
    metadata = config_map.get("metadata") or {}
    data = config_map.get("data") or {}
    if (metadata.get("annotations") or {}).get(ANNOTATION_ARRAY_OWNER) != "true":
        return None
    if any(key not in data for key in _KEYS):
        return None
    try:
        numbers = [int(data[key]) for key in ("begin", "end", "step", "max-parallel")]
        mark = int(data.get(_MARK, "0"))
    except ValueError:
        return None
    begin, end, step, max_parallel = numbers
    return ArrayIntent(
        name=str(metadata.get("name")),
        namespace=str(metadata.get("namespace")),
        begin=begin,
        end=end,
        step=max(1, step),
        max_parallel=max_parallel,
        template_hash=str(data["template-hash"]),
        token=str(data["submission"]),
        template=str(data["template"]),
        mark=mark,
        uid=str(metadata.get("uid") or ""),
        resource_version=str(metadata.get("resourceVersion") or ""),
        claim=str(data.get(_CLAIM, "")),
        moved_at=_float(data.get(_MOVED_AT)),
    )


def _float(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def intent_conflict(array_id: str, wanted: ArrayIntent, found: ArrayIntent | None) -> ConflictError:
    """The error for an array name taken by another submission.

    Args:
        array_id: the array job ID.
        wanted: the intent of this submission.
        found: the intent found on the cluster (None: not an array's owner).

    Returns:
        A :class:`ConflictError` saying what differs.
    """
    if found is None:
        what = "a ConfigMap of that name that is not an array's owner exists"
    elif (found.begin, found.end, found.step) != (wanted.begin, wanted.end, wanted.step):
        what = (
            f"it was submitted with tasks {found.begin}..{found.end} step {found.step}, "
            f"not {wanted.begin}..{wanted.end} step {wanted.step}"
        )
    elif found.max_parallel != wanted.max_parallel:
        what = f"it was submitted with max_parallel={found.max_parallel}, not {wanted.max_parallel}"
    else:
        what = "it was submitted with a different job template"
    return ConflictError(
        409,
        f"array job {array_id} already exists and is not this submission: {what}; "
        "choose another job_name or delete the old array (its ConfigMap)",
    )


def owner_reference(intent: ArrayIntent) -> dict[str, Any]:
    """The ownerReference every task carries (deleting the owner deletes the array).

    Args:
        intent: the intent as read or created (``uid`` set).

    Returns:
        The reference.
    """
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": intent.name, "uid": intent.uid}


def next_mark(intent: ArrayIntent, ended: Sequence[bool | None]) -> int:
    """Advance the release mark as far as ``max_parallel`` allows.

    A task occupies a slot from the moment the mark passes it until it ends
    (a task not created yet counts as occupying one, so a late creation never
    exceeds the cap). A task that ended while held (terminated) is passed
    without taking a slot. Ended is final, so a stale view only under-releases.

    Args:
        intent: the intent (its ``mark`` is the current mark).
        ended: per task in task order: True once it ended, False while not,
            None when it does not exist (yet).

    Returns:
        The new mark (at least the current one).

    Example:
        >>> i = ArrayIntent("a", "ns", 1, 5, 1, 2, "h", "t", "{}", mark=2)
        >>> next_mark(i, [True, False, False, False, False])
        3
    """
    if intent.max_parallel <= 0:
        return len(ended)
    mark = min(intent.mark, len(ended))
    active = sum(1 for done in ended[:mark] if not done)
    while mark < len(ended):
        if not ended[mark]:
            if active >= intent.max_parallel:
                break
            active += 1
        mark += 1
    return max(mark, intent.mark)


def repair_due(intent: ArrayIntent, now: float) -> bool:
    """Whether tasks the mark passed may be released by anyone (not only the mover).

    The waiter that moves the mark starts the tasks it passed; another waiter
    does so only once the move is :data:`REPAIR_GRACE` seconds old (the mover
    stopped half way), so a task is normally released by one request.

    Args:
        intent: the intent as read.
        now: the time (seconds since the epoch).

    Returns:
        True when the last move is old enough.
    """
    return now - intent.moved_at >= REPAIR_GRACE


def mark_patch(intent: ArrayIntent, mark: int, claim: str, *, now: float) -> dict[str, Any]:
    """The merge patch that moves the mark, only on the version the decision read.

    Args:
        intent: the intent as read (its ``resource_version`` is the precondition).
        mark: the new mark.
        claim: a random value of this step; reading it back after a lost
            answer tells the step that its update took effect.
        now: the time of the move (seconds since the epoch).

    Returns:
        The patch (the server answers 409 if the owner changed meanwhile).
    """
    return {
        "metadata": {"resourceVersion": intent.resource_version},
        "data": {_MARK: str(mark), _CLAIM: claim, _MOVED_AT: f"{now:.3f}"},
    }
