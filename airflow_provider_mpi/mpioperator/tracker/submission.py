"""Preparing submissions so that a lost create response never makes a second job.

A create can succeed on the server while its answer is lost (a reset, a
gateway 502 after the commit). Retrying with the server's ``generateName``
would make a second job. So the tracker names every object itself, up
front (the template's ``job_name`` or ``<prefix>-<random>``), and stamps it
with a random submission token. A repeated create then meets ``409
AlreadyExists``; the existing object carries our token exactly when the lost
attempt made it, which is success; any other object of that name is a real
conflict.

Arrays are prepared whole, every task converted and validated before the
first request, so a bad template never leaves part of an array behind.
This module is pure and shared by the sync and async trackers.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mpi.drmaa2.arrays import TaskRange, template_for_task, validate_max_parallel
from airflow_provider_mpi.drmaa2.errors import BackendError, ConflictError, DRMAA2Error
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.names import (
    ANNOTATION_HELD,
    ANNOTATION_MAX_PARALLEL,
    ANNOTATION_SUBMISSION,
    ANNOTATION_SUBMITTED_AT,
)
from airflow_provider_mpi.mpioperator.template import get_labels_extension
from airflow_provider_mpi.mpioperator.template.convert import build_mpi_job
from airflow_provider_mpi.mpioperator.tracker.array_owner import (
    ArrayIntent,
    initial_mark,
    intent_hash,
    owner_config_map,
    owner_reference,
)
from airflow_provider_mpi.mpioperator.tracker.arrays import array_task_labels
from airflow_provider_mpi.mpioperator.tracker.ids import format_job_id, generate_name, task_job_name

__all__ = [
    "ANNOTATION_MAX_PARALLEL",
    "ANNOTATION_SUBMISSION",
    "ANNOTATION_SUBMITTED_AT",
    "ArrayPlan",
    "NameTakenError",
    "adopt_intent",
    "array_failure",
    "conflict_error",
    "is_lost_create",
    "is_same_submission",
    "prepare_array",
    "prepare_job",
]

#: Name prefixes of generated names.
JOB_NAME_PREFIX = "mpijob"
ARRAY_NAME_PREFIX = "mpiarray"


def _token() -> str:
    return secrets.token_hex(16)


def prepare_job(
    template: JobTemplate,
    *,
    namespace: str,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the MPIJob for one submission, with a client-chosen name and a token.

    Args:
        template: the job template (validated by the converter).
        namespace: the tracker's namespace (the template's ``namespace``
            extension wins, as in :func:`~.convert.build_mpi_job`).
        name: the object name; defaults to ``template.job_name``, else a
            generated ``mpijob-<random>``.
        labels: extra labels.
        annotations: extra annotations (an array passes its submission
            token here; else a new one is drawn).

    Returns:
        The MPIJob object, ready to create.

    Raises:
        InvalidTemplateError: the template is invalid (before any request).
        UnsupportedAttributeError: a field the backend cannot honour.
    """
    # The template's own job_name is left to the converter, which names the
    # field ("job_name") in its errors; only a name chosen here is passed.
    chosen = name or (None if template.job_name else generate_name(JOB_NAME_PREFIX))
    all_annotations = dict(annotations or {})
    all_annotations.setdefault(ANNOTATION_SUBMISSION, _token())
    all_annotations[ANNOTATION_SUBMITTED_AT] = datetime.now(timezone.utc).isoformat(
        timespec="microseconds"
    )
    return build_mpi_job(
        template, namespace=namespace, name=chosen, labels=labels, annotations=all_annotations
    )


def is_same_submission(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether an object met on ``409 AlreadyExists`` is our own earlier attempt.

    Args:
        existing: the object the server holds under the name.
        wanted: the object we tried to create.

    Returns:
        True when both carry the same submission token.
    """

    def token(obj: Mapping[str, Any]) -> object:
        return ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_SUBMISSION)

    mine = token(wanted)
    return mine is not None and token(existing) == mine


def is_lost_create(error: DRMAA2Error) -> bool:
    """Whether a create that failed for good may still have taken effect.

    Any answer may stand in for a lost one: a reset, a gateway's 502 or 504
    after it forwarded the request, a 429 or 503 on the repeat of an attempt
    that was committed, even a 501 or a 403 from a proxy. So after any
    failure the name is read once and the submission token decides. Only the
    conflict this module reports (the name holds somebody else's object) is
    final: it was decided on that very read.

    Args:
        error: the error the create's last attempt ended with.

    Returns:
        True unless the error is our own conflict verdict.
    """
    return not isinstance(error, NameTakenError)


class NameTakenError(ConflictError):
    """HTTP 409 on a create, and the object of that name is not this submission's."""


def conflict_error(job_id: str) -> ConflictError:
    """The error for a name already taken by somebody else's object.

    Args:
        job_id: the job ID we wanted.

    Returns:
        A :class:`ConflictError` naming the job.
    """
    return NameTakenError(
        409,
        f"an MPIJob {job_id} already exists and was not created by this submission; "
        "choose another job_name or delete the old job",
    )


@dataclass(frozen=True)
class ArrayPlan:
    """The MPIJobs of one array submission, in task order.

    Attributes:
        array_id: the array job ID.
        namespace: the namespace of every task.
        array_name: the array name (label value and task name prefix).
        max_parallel: the effective cap (0 for none).
        tasks: the task objects, in task order.
        intent: what the owner object records (see :mod:`.array_owner`).
        owner: the owner ConfigMap to create before the first task.
        resumed: True when the intent is that of an earlier run of the same
            submission (some tasks may exist already).
    """

    array_id: str
    namespace: str
    array_name: str
    max_parallel: int
    tasks: tuple[dict[str, Any], ...]
    intent: ArrayIntent
    owner: dict[str, Any]
    resumed: bool = False


def prepare_array(
    template: JobTemplate,
    begin: int,
    end: int,
    step: int,
    max_parallel: int,
    *,
    namespace: str,
    array_name: str | None = None,
) -> ArrayPlan:
    """Convert and validate every task of an array before anything is sent.

    Each task runs ``template_for_task(template, task_id)`` (``TASK_ID``
    set, ``$DRMAA2_INDEX$`` replaced), is named ``<array>-<task-id>`` and
    labelled with the array name and task ID, and carries the array's
    submission token. Tasks beyond ``max_parallel`` are created suspended
    with the ``held`` annotation. The plan also holds the array's intent
    and its owner ConfigMap, created before the first task.

    Args:
        template: the array's template.
        begin: first task ID (at least 1).
        end: last task ID.
        step: increment.
        max_parallel: cap on concurrently active tasks; 0 for none.
        namespace: the tracker's namespace.
        array_name: the array name; defaults to ``template.job_name``, else
            a generated ``mpiarray-<random>``.

    Returns:
        The plan.

    Raises:
        InvalidArgumentError: a bad range or ``max_parallel``.
        InvalidTemplateError: the template (for some task) is invalid.
    """
    task_range = TaskRange(begin, end, step)
    validate_max_parallel(max_parallel, len(task_range))
    name = array_name or template.job_name or generate_name(ARRAY_NAME_PREFIX)
    task_ids = list(task_range)
    token = _token()
    tasks = []
    for task_id in task_ids:
        task = prepare_job(
            template_for_task(template, task_id),
            namespace=namespace,
            name=task_job_name(name, task_id),
            labels=array_task_labels(name, task_id),
            annotations={
                ANNOTATION_MAX_PARALLEL: str(max_parallel),
                ANNOTATION_SUBMISSION: token,
            },
        )
        tasks.append(task)
    task_namespace = str(tasks[0]["metadata"]["namespace"])
    intent = ArrayIntent(
        name=name,
        namespace=task_namespace,
        begin=begin,
        end=task_ids[-1],
        step=step,
        max_parallel=max_parallel,
        template_hash=intent_hash(template, begin, end, step, max_parallel),
        token=token,
        template=template.to_json(),
        mark=initial_mark(len(task_ids), max_parallel),
    )
    plan = ArrayPlan(
        format_job_id(task_namespace, name),
        task_namespace,
        name,
        max_parallel,
        tuple(tasks),
        intent,
        owner_config_map(intent, get_labels_extension(template)),
    )
    return adopt_intent(plan, intent)


def adopt_intent(plan: ArrayPlan, intent: ArrayIntent) -> ArrayPlan:
    """Make the plan's tasks those of an intent: its token, mark and owner.

    Used with the intent just created (its ``uid`` known) and with the
    intent of an earlier run of the same submission, found on the cluster:
    the tasks then carry that run's token, so a task it created already
    answers ``409`` as our own, and the tasks beyond the current release
    mark are created held.

    Args:
        plan: the prepared plan.
        intent: the intent to follow.

    Returns:
        The plan with its tasks and intent updated (tasks are changed in place).
    """
    for index, task in enumerate(plan.tasks):
        metadata = task["metadata"]
        metadata["annotations"][ANNOTATION_SUBMISSION] = intent.token
        if intent.uid:
            metadata["ownerReferences"] = [owner_reference(intent)]
        run_policy = task["spec"].setdefault("runPolicy", {})
        if index >= intent.mark:
            metadata["annotations"][ANNOTATION_HELD] = "true"
            run_policy["suspend"] = True
        else:
            metadata["annotations"].pop(ANNOTATION_HELD, None)
            run_policy.pop("suspend", None)
    return replace(plan, intent=intent, resumed=plan.intent.token != intent.token)


def array_failure(
    array_id: str,
    task_name: str,
    error: DRMAA2Error,
    removed: list[str],
    left_behind: list[str],
) -> DRMAA2Error:
    """The error for an array whose submission failed part way.

    Args:
        array_id: the array.
        task_name: the task whose create failed.
        error: why it failed.
        removed: tasks created before and deleted again.
        left_behind: tasks that could not be deleted (should be empty).

    Returns:
        An error of the same class as ``error`` whose message says what
        happened to the tasks already created.
    """
    message = f"array job {array_id} not submitted: creating task {task_name} failed ({error})"
    if removed:
        message += f"; the {len(removed)} task(s) already created were deleted"
    if left_behind:
        message += f"; {len(left_behind)} task(s) could not be deleted and remain: " + ", ".join(
            left_behind
        )
    if isinstance(error, BackendError):
        return type(error)(error.status, message)
    return BackendError(None, message)
