"""MPIJob + its pods -> DRMAA2 JobInfo, and the trimmed objects a wait keeps.

The second half of the status mapping (the state is :mod:`.state`'s): the
JobInfo of a job (times, exit status, machines, the launcher's termination),
and :func:`mpijob_for_wait` / :func:`pod_for_info`, which keep of a watched
object only what the JobInfo needs. Pure; plain dicts in, never raises on a
partial object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_mpi.drmaa2 import JobInfo, JobState
from airflow_provider_mpi.mpioperator import names as keys
from airflow_provider_mpi.mpioperator.status.state import (
    JOB_NAME_LABEL,
    JOB_ROLE_LABEL,
    SubState,
    _condition_message,
    _conditions,
    _int,
    _list,
    _map,
    _replica_status,
    _time,
    _validation_error,
    job_id_of,
    job_state_from_mpi_job,
    signal_name,
)

__all__ = ["job_info_from_mpi_job", "mpijob_for_wait", "pod_for_info"]


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
    queue = labels.get(keys.KUEUE_QUEUE_LABEL) or _map(
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
