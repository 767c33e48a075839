"""MPIJob (+ its pods and events) -> DRMAA2 job state and JobInfo: the pure status mapping.

The MPI operator v0.8.2 keeps one condition per type (``Created``,
``Running``, ``Suspended``, ``Succeeded``, ``Failed``; ``Restarting`` exists
in the API but is not set by v2), updated in place with ``status`` True or
False; ``Running`` turns False (reason ``MPIJobSuspended``) while suspended
and when the job finishes; ``startTime`` is set on the first reconcile that
is not suspended and reset on resume. A job that fails the operator's
validation gets no condition at all, only a Warning event ``ValidationError``.
The rules below turn that into one DRMAA2 state and a substate word from a
small vocabulary (:class:`SubState`); the README's state table lists them.

Everything here takes plain dicts (as the API returns them) and never raises
on a partial or unfinished object: a job seen a millisecond after creation
has no status yet and must still read as Queued.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mpi.drmaa2 import JobInfo, JobState
from airflow_provider_mpi.mpioperator import names as keys
from airflow_provider_mpi.mpioperator.names import KUEUE_QUEUE_LABEL
from airflow_provider_mpi.mpioperator.names import LABEL_JOB_NAME as JOB_NAME_LABEL
from airflow_provider_mpi.mpioperator.names import LABEL_JOB_ROLE as JOB_ROLE_LABEL

__all__ = [
    "JOB_NAME_LABEL",
    "JOB_ROLE_LABEL",
    "LAUNCHER_FAILED",
    "SubState",
    "format_substate",
    "job_id_of",
    "job_info_from_mpi_job",
    "job_state_from_condition",
    "job_state_from_mpi_job",
    "mpijob_for_wait",
    "parse_substate",
    "pod_for_info",
    "signal_name",
]


class SubState(str, enum.Enum):
    """The substate words; ``failed`` and ``requeued`` carry a reason after a colon."""

    CREATED = "created"  # Queued: accepted, pods not all running yet
    RESUMED = "resumed"  # Queued: resumed after a suspend, starting again from scratch
    RUNNING = "running"  # Running: launcher and every worker run
    SUCCEEDED = "succeeded"  # Done
    FAILED = "failed"  # Failed: "failed:<condition reason>", e.g. failed:BackoffLimitExceeded/Error
    TERMINATED = "terminated"  # Failed: stopped by job control (terminate)
    VALIDATION_ERROR = "validation-error"  # Failed: the operator rejected the spec (event only)
    HELD = "held"  # QueuedHeld: suspended before it started (submit_as_hold, hold)
    SUSPENDED = "suspended"  # Suspended: suspended after it started
    REQUEUED = "requeued"  # Requeued: "requeued:<reason>", e.g. requeued:launcher-failed

    def __str__(self) -> str:
        return self.value


#: The reason of ``requeued`` when a launcher pod failed and the launcher Job retries.
LAUNCHER_FAILED = "launcher-failed"


def format_substate(substate: SubState, reason: str = "") -> str:
    """Write a substate, with its reason for ``failed`` and ``requeued``.

    Args:
        substate: the word.
        reason: the detail (a condition reason); ignored when empty.

    Returns:
        ``"failed:DeadlineExceeded"``, ``"running"``, ...
    """
    return f"{substate.value}:{reason}" if reason else substate.value


def parse_substate(text: str) -> tuple[SubState | None, str]:
    """Read a substate written by :func:`format_substate`.

    Args:
        text: the substate string.

    Returns:
        ``(word, reason)``; the word is None when it is not in the vocabulary.
    """
    word, _, reason = text.partition(":")
    try:
        return SubState(word), reason
    except ValueError:
        return None, reason


def signal_name(exit_code: int) -> str:
    """The signal that ends a process with ``exit_code`` (128 + N), or ``""``.

    Args:
        exit_code: a container exit code, e.g. 137.

    Returns:
        ``"SIGKILL"`` for 137, ``""`` for codes up to 128 or unknown signals.
    """
    if exit_code <= 128:
        return ""
    try:
        return signal.Signals(exit_code - 128).name
    except ValueError:
        return ""


# --------------------------------------------------------------------------- small readers


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if "." in text:  # Python 3.10 takes at most 6 fractional digits
        head, _, rest = text.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        text = head + "." + digits[:6].ljust(6, "0") + rest[len(digits) :]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _conditions(mpijob: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The conditions by type; the last one of a type wins (the operator keeps one)."""
    result: dict[str, Mapping[str, Any]] = {}
    for condition in _list(_map(mpijob.get("status")).get("conditions")):
        if isinstance(condition, Mapping) and isinstance(condition.get("type"), str):
            result[condition["type"]] = condition
    return result


def _is_true(condition: Mapping[str, Any] | None) -> bool:
    return condition is not None and condition.get("status") == "True"


def _failure_reason(condition: Mapping[str, Any]) -> str:
    """The reason of a Failed condition, without the operator's empty pod part.

    For ``BackoffLimitExceeded`` the operator appends ``/<reason of the last
    failed pod>``; a pod that failed because its container exited non-zero
    has no pod-level reason, which leaves ``BackoffLimitExceeded/``.
    """
    return str(condition.get("reason") or "MPIJobFailed").rstrip("/") or "MPIJobFailed"


def _condition_message(condition: Mapping[str, Any]) -> str:
    """A condition's message, without the operator's empty ``": <pod message>"`` tail."""
    message = str(condition.get("message") or "")
    return message.removesuffix(": ")


def _annotation(mpijob: Mapping[str, Any], key: str) -> bool:
    return _map(_map(mpijob.get("metadata")).get("annotations")).get(key) == "true"


def _event_fields(event: Any) -> tuple[str, str, str, Mapping[str, Any]]:
    if isinstance(event, Mapping):
        return (
            str(event.get("type") or ""),
            str(event.get("reason") or ""),
            str(event.get("message") or event.get("note") or ""),
            _map(event.get("involvedObject") or event.get("regarding")),
        )
    return (
        str(getattr(event, "type", "") or ""),
        str(getattr(event, "reason", "") or ""),
        str(getattr(event, "message", "") or ""),
        {},
    )


def _validation_error(mpijob: Mapping[str, Any], events: Iterable[Any] | None) -> str | None:
    """The message of a Warning ValidationError event about this job, if any."""
    metadata = _map(mpijob.get("metadata"))
    for event in events or ():
        kind, reason, message, involved = _event_fields(event)
        if kind != "Warning" or reason != "ValidationError":
            continue
        if involved.get("uid") and metadata.get("uid") and involved["uid"] != metadata["uid"]:
            continue
        if involved.get("name") and metadata.get("name") and involved["name"] != metadata["name"]:
            continue
        return message
    return None


def _replica_status(mpijob: Mapping[str, Any], replica: str) -> Mapping[str, Any]:
    return _map(_map(_map(mpijob.get("status")).get("replicaStatuses")).get(replica))


# --------------------------------------------------------------------------- states


def job_state_from_condition(condition: Mapping[str, Any]) -> JobState:
    """The state one MPIJob condition stands for (the seed's ``JobStateFromCondition``).

    Unlike the seed, the condition's status counts: a condition that does not
    hold (``False``/``Unknown``, e.g. ``Running`` False while suspended) says
    nothing by itself and gives Undetermined. Use :func:`job_state_from_mpi_job`
    for the state of a job.

    Args:
        condition: a ``status.conditions[]`` entry.

    Returns:
        Created: Queued, Running: Running, Restarting: Requeued, Suspended:
        Suspended, Succeeded: Done, Failed: Failed; anything else Undetermined.
    """
    if not isinstance(condition, Mapping) or condition.get("status") != "True":
        return JobState.UNDETERMINED
    return {
        "Created": JobState.QUEUED,
        "Running": JobState.RUNNING,
        "Restarting": JobState.REQUEUED,
        "Suspended": JobState.SUSPENDED,
        "Succeeded": JobState.DONE,
        "Failed": JobState.FAILED,
    }.get(str(condition.get("type")), JobState.UNDETERMINED)


def job_state_from_mpi_job(
    mpijob: Mapping[str, Any], events: Iterable[Any] | None = None
) -> tuple[JobState, str]:
    """The DRMAA2 state and substate of an MPIJob.

    The first rule that matches decides:

    1. ``Succeeded`` True: Done, ``succeeded``.
    2. annotation ``airflow-provider-mpi/terminated: "true"``: Failed, ``terminated``.
    3. ``Failed`` True: Failed, ``failed:<reason>``.
    4. no condition and a Warning ``ValidationError`` event about the job in
       ``events``: Failed, ``validation-error``.
    5. suspended (``spec.runPolicy.suspend`` true, or ``Suspended`` True and
       suspend not turned off): QueuedHeld, ``held`` when the ``held``
       annotation is set or the job never started (no ``startTime``); else
       Suspended, ``suspended``.
    6. ``Restarting`` True: Requeued, ``requeued:<reason>``.
    7. a launcher pod failed (``replicaStatuses.Launcher.failed`` > 0) and no
       launcher pod runs: Requeued, ``requeued:launcher-failed`` (the launcher
       Job retries within ``backoffLimit``).
    8. ``Running`` True: Running, ``running``.
    9. resumed after a suspend (a ``Suspended`` condition exists, suspend is
       off), not running yet: Queued, ``resumed``.
    10. otherwise (no status yet, ``Created``): Queued, ``created``.

    Args:
        mpijob: the MPIJob as a dict.
        events: the job's events (core/v1 Event dicts, or objects with
            ``type``, ``reason`` and ``message``), needed for rule 4 only.

    Returns:
        ``(state, substate)``.
    """
    conditions = _conditions(mpijob)
    if _is_true(conditions.get("Succeeded")):
        return JobState.DONE, format_substate(SubState.SUCCEEDED)
    if _annotation(mpijob, keys.ANNOTATION_TERMINATED):
        return JobState.FAILED, format_substate(SubState.TERMINATED)
    failed = conditions.get("Failed")
    if _is_true(failed):
        assert failed is not None
        return JobState.FAILED, format_substate(SubState.FAILED, _failure_reason(failed))
    if not conditions and _validation_error(mpijob, events) is not None:
        return JobState.FAILED, format_substate(SubState.VALIDATION_ERROR)
    suspend = _map(_map(mpijob.get("spec")).get("runPolicy")).get("suspend")
    suspended_condition = conditions.get("Suspended")
    if suspend is True or (_is_true(suspended_condition) and suspend is not False):
        started = _map(mpijob.get("status")).get("startTime")
        if _annotation(mpijob, keys.ANNOTATION_HELD) or not started:
            return JobState.QUEUED_HELD, format_substate(SubState.HELD)
        return JobState.SUSPENDED, format_substate(SubState.SUSPENDED)
    restarting = conditions.get("Restarting")
    if _is_true(restarting):
        assert restarting is not None
        return JobState.REQUEUED, format_substate(
            SubState.REQUEUED, str(restarting.get("reason") or "Restarting")
        )
    launcher = _replica_status(mpijob, "Launcher")
    if _int(launcher.get("failed")) > 0 and _int(launcher.get("active")) == 0:
        return JobState.REQUEUED, format_substate(SubState.REQUEUED, LAUNCHER_FAILED)
    if _is_true(conditions.get("Running")):
        return JobState.RUNNING, format_substate(SubState.RUNNING)
    if suspended_condition is not None:
        return JobState.QUEUED, format_substate(SubState.RESUMED)
    return JobState.QUEUED, format_substate(SubState.CREATED)


# --------------------------------------------------------------------------- job info


def job_id_of(mpijob: Mapping[str, Any]) -> str:
    """The DRMAA2 job ID of an MPIJob: ``"<namespace>/<name>"``.

    Args:
        mpijob: the MPIJob as a dict.

    Returns:
        The ID (``"default"`` when the object carries no namespace).
    """
    metadata = _map(mpijob.get("metadata"))
    return f"{metadata.get('namespace') or 'default'}/{metadata.get('name') or ''}"


def _job_pods(mpijob: Mapping[str, Any], pods: Iterable[Any] | None) -> list[Mapping[str, Any]]:
    name = _map(mpijob.get("metadata")).get("name") or ""
    result = []
    for pod in pods or ():
        if not isinstance(pod, Mapping):
            continue
        metadata = _map(pod.get("metadata"))
        pod_labels = _map(metadata.get("labels"))
        pod_name = str(metadata.get("name") or "")
        owner = pod_labels.get(JOB_NAME_LABEL)
        if owner is None:  # unlabelled pods count by the operator's naming
            owner = name if pod_name.startswith((f"{name}-launcher-", f"{name}-worker-")) else ""
        if owner == name and name:
            result.append(pod)
    return result


def _is_launcher(pod: Mapping[str, Any], name: str) -> bool:
    metadata = _map(pod.get("metadata"))
    role = _map(metadata.get("labels")).get(JOB_ROLE_LABEL)
    return role == "launcher" or (
        role is None and str(metadata.get("name", "")).startswith(f"{name}-launcher")
    )


def _launcher_termination(
    pods: Sequence[Mapping[str, Any]], name: str
) -> tuple[Mapping[str, Any] | None, str]:
    """The terminated state of the newest launcher pod's launcher container, and the pod name."""
    launchers = [p for p in pods if _is_launcher(p, name)]
    launchers.sort(key=lambda p: str(_map(p.get("metadata")).get("creationTimestamp") or ""))
    for pod in reversed(launchers):
        statuses = [
            s
            for s in _list(_map(pod.get("status")).get("containerStatuses"))
            if isinstance(s, Mapping)
        ]
        statuses.sort(key=lambda s: s.get("name") != "launcher")
        for status in statuses:
            terminated = _map(_map(status.get("state")).get("terminated"))
            if not terminated:
                terminated = _map(_map(status.get("lastState")).get("terminated"))
            if terminated:
                return terminated, str(_map(pod.get("metadata")).get("name") or "")
    return None, ""


def mpijob_for_wait(mpijob: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an MPIJob a wait and its JobInfo read, and nothing more.

    A watch hub keeps one per job of the namespace, for thousands of
    waiters: the whole status, the metadata without the job-template
    annotation, and the few spec fields :func:`job_state_from_mpi_job` and
    :func:`job_info_from_mpi_job` read. Both give the same answers for it as
    for the whole object.

    Args:
        mpijob: the MPIJob as the API returns it.

    Returns:
        A smaller MPIJob dict.
    """
    metadata = _map(mpijob.get("metadata"))
    kept_metadata = {
        key: metadata[key]
        for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp", "labels")
        if key in metadata
    }
    annotations = {
        key: value
        for key, value in _map(metadata.get("annotations")).items()
        if key != keys.ANNOTATION_JOB_TEMPLATE
    }
    if annotations:
        kept_metadata["annotations"] = annotations
    spec = _map(mpijob.get("spec"))
    kept_spec = {
        key: spec[key]
        for key in ("slotsPerWorker", "runLauncherAsWorker", "mpiImplementation")
        if key in spec
    }
    run_policy = _map(spec.get("runPolicy"))
    policy = {key: run_policy[key] for key in ("suspend", "schedulingPolicy") if key in run_policy}
    if policy:
        kept_spec["runPolicy"] = policy
    replica_specs = _map(spec.get("mpiReplicaSpecs"))
    replicas: dict[str, Any] = {}
    worker = _map(replica_specs.get("Worker"))
    if "replicas" in worker:
        replicas["Worker"] = {"replicas": worker["replicas"]}
    launcher = _map(_map(_map(replica_specs.get("Launcher")).get("template")).get("spec"))
    containers = _list(launcher.get("containers"))
    if containers and isinstance(containers[0], Mapping) and "securityContext" in containers[0]:
        context = {"securityContext": containers[0]["securityContext"]}
        replicas["Launcher"] = {"template": {"spec": {"containers": [context]}}}
    if replicas:
        kept_spec["mpiReplicaSpecs"] = replicas
    kept: dict[str, Any] = {"metadata": kept_metadata, "spec": kept_spec}
    if "status" in mpijob:
        kept["status"] = mpijob["status"]
    return kept


def pod_for_info(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a pod :func:`job_info_from_mpi_job` reads, and nothing more.

    A watch that keeps the pods of many jobs keeps this projection (a few
    hundred bytes) instead of the whole object; the JobInfo built from it is
    the same as from the pod.

    Args:
        pod: the pod as the API returns it.

    Returns:
        A pod dict with only the name, the operator's labels, the creation
        time, the node, and the containers' names and terminated states.
    """
    metadata = _map(pod.get("metadata"))
    pod_labels = _map(metadata.get("labels"))
    statuses = []
    for status in _list(_map(pod.get("status")).get("containerStatuses")):
        if not isinstance(status, Mapping):
            continue
        kept: dict[str, Any] = {"name": status.get("name")}
        for field in ("state", "lastState"):
            terminated = _map(status.get(field)).get("terminated")
            if terminated:
                kept[field] = {"terminated": terminated}
        statuses.append(kept)
    return {
        "metadata": {
            "name": metadata.get("name"),
            "creationTimestamp": metadata.get("creationTimestamp"),
            "labels": {
                key: pod_labels[key]
                for key in (JOB_NAME_LABEL, JOB_ROLE_LABEL)
                if key in pod_labels
            },
        },
        "spec": {"nodeName": _map(pod.get("spec")).get("nodeName")},
        "status": {"containerStatuses": statuses},
    }


def job_info_from_mpi_job(
    mpijob: Mapping[str, Any],
    pods: Iterable[Any] | None = None,
    events: Iterable[Any] | None = None,
) -> JobInfo:
    """Describe an MPIJob as a DRMAA2 JobInfo; never fails on an unfinished job.

    Args:
        mpijob: the MPIJob as a dict.
        pods: the job's pods (launcher and workers; other pods are ignored),
            for exit status, signal and allocated machines.
        events: the job's events, for the validation-error state.

    Returns:
        The JobInfo (the README's JobInfo table gives each field's source).
    """
    metadata = _map(mpijob.get("metadata"))
    spec = _map(mpijob.get("spec"))
    status = _map(mpijob.get("status"))
    name = str(metadata.get("name") or "")
    state, substate = job_state_from_mpi_job(mpijob, events)
    job_pods = _job_pods(mpijob, pods)
    replica_specs = _map(spec.get("mpiReplicaSpecs"))
    workers = _int(_map(replica_specs.get("Worker")).get("replicas"))
    slots_per_worker = _int(spec.get("slotsPerWorker")) if "slotsPerWorker" in spec else 1
    slots = workers * slots_per_worker + (
        slots_per_worker if spec.get("runLauncherAsWorker") is True else 0
    )

    terminated, launcher_pod = _launcher_termination(job_pods, name)
    exit_status: int | None = None
    terminating_signal = ""
    if state.is_terminal:
        if terminated is not None and isinstance(terminated.get("exitCode"), int):
            exit_status = int(terminated["exitCode"])
            terminating_signal = signal_name(exit_status)
            if not terminating_signal and terminated.get("signal"):
                terminating_signal = signal_name(128 + _int(terminated.get("signal")))
        elif state is JobState.DONE:
            exit_status = 0

    conditions = _list(status.get("conditions"))
    annotation = ""
    if conditions and isinstance(conditions[-1], Mapping):
        annotation = _condition_message(conditions[-1])
    if substate == SubState.VALIDATION_ERROR.value:
        annotation = _validation_error(mpijob, events) or annotation

    dispatch = _time(status.get("startTime"))
    finish = _time(status.get("completionTime"))
    if finish is None and substate == SubState.TERMINATED.value:
        suspended = _conditions(mpijob).get("Suspended")
        finish = _time(suspended.get("lastTransitionTime")) if suspended else None
    wallclock = finish - dispatch if finish and dispatch and finish >= dispatch else None

    labels = _map(metadata.get("labels"))
    queue = labels.get(KUEUE_QUEUE_LABEL) or _map(
        _map(spec.get("runPolicy")).get("schedulingPolicy")
    ).get("queue")
    launcher_spec = _map(_map(_map(replica_specs.get("Launcher")).get("template")).get("spec"))
    containers = _list(launcher_spec.get("containers"))
    run_as_user = None
    if containers and isinstance(containers[0], Mapping):
        run_as_user = _map(containers[0].get("securityContext")).get("runAsUser")

    extensions: dict[str, str] = {
        "mpiImplementation": str(spec.get("mpiImplementation") or "OpenMPI"),
        "slotsPerWorker": str(slots_per_worker),
        "workers": str(workers),
    }
    for replica in ("Launcher", "Worker"):
        counts = _replica_status(mpijob, replica)
        for field in ("active", "succeeded", "failed"):
            extensions[f"{replica.lower()}{field.capitalize()}"] = str(_int(counts.get(field)))
    if launcher_pod:
        extensions["launcherPod"] = launcher_pod
    if terminated is not None and terminated.get("reason"):
        extensions["launcherReason"] = str(terminated["reason"])
    if metadata.get("uid"):
        extensions["uid"] = str(metadata["uid"])

    machines = {
        str(_map(pod.get("spec")).get("nodeName"))
        for pod in job_pods
        if _map(pod.get("spec")).get("nodeName")
    }
    return JobInfo(
        id=job_id_of(mpijob),
        exit_status=exit_status,
        terminating_signal=terminating_signal,
        annotation=annotation,
        state=state,
        sub_state=substate,
        allocated_machines=sorted(machines),
        job_owner=str(run_as_user) if isinstance(run_as_user, int) else "",
        slots=slots if workers else None,
        queue_name=str(queue or ""),
        wallclock_time=wallclock,
        submission_time=_time(metadata.get("creationTimestamp")),
        dispatch_time=dispatch,
        finish_time=finish,
        extension_list=extensions,
    )
