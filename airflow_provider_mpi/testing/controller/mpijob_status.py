"""The MPIJob status the operator derives from its launcher Job and workers.

The counterpart of upstream ``updateMPIJobStatus`` and
``updateMPIJobFailedStatus``: Suspended/Resumed, the launcher's success or
failure (with the ``BackoffLimitExceeded/<pod reason>`` form), worker
counts and eviction, and the Running condition, applied in upstream order to
a status dict. Pure apart from the events it reports through ``emit``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from airflow_provider_mpi.testing.controller.conditions import (
    ConditionReason,
    JobConditionType,
    is_finished,
    set_condition,
)
from airflow_provider_mpi.testing.controller.events import EventSeverity
from airflow_provider_mpi.testing.controller.meta import JSONDict, find_condition, format_time
from airflow_provider_mpi.testing.controller.validation import ReplicaType, truncate_message

__all__ = ["Emit", "job_condition", "pod_phase", "update_mpijob_status"]

#: Records an event about the MPIJob: ``emit(severity, reason, message)``.
Emit = Callable[[EventSeverity, str, str], None]


def job_condition(job: JSONDict, kind: str) -> JSONDict | None:
    """The condition ``kind`` of a batch Job when it is True, else ``None``."""
    condition = find_condition(job.get("status", {}).get("conditions"), kind)
    return condition if condition is not None and condition.get("status") == "True" else None


def pod_phase(pod: JSONDict) -> str:
    """A pod's phase (``Pending`` when not reported yet)."""
    return str(pod.get("status", {}).get("phase") or "Pending")


def _replica_status(active: int = 0, succeeded: int = 0, failed: int = 0) -> JSONDict:
    counts = {"active": active, "succeeded": succeeded, "failed": failed}
    return {key: value for key, value in counts.items() if value}


class _Update:
    def __init__(self, job: JSONDict, status: JSONDict, now: datetime, emit: Emit) -> None:
        self.job = job
        self.status = status
        self.now = now
        self.emit = emit
        self.namespace = job["metadata"]["namespace"]
        self.name = job["metadata"]["name"]

    def set(self, kind: JobConditionType, value: bool, reason: str, message: str) -> bool:
        return set_condition(self.status, kind, value, reason, message, self.now)

    def suspension(self, suspended: bool) -> None:
        if suspended:
            message = "MPIJob suspended"
            if self.set(JobConditionType.SUSPENDED, True, ConditionReason.SUSPENDED.value, message):
                self.emit(EventSeverity.NORMAL, ConditionReason.SUSPENDED.value, message)
            return
        was_suspended = find_condition(
            self.status.get("conditions"), JobConditionType.SUSPENDED.value
        )
        message = "MPIJob resumed"
        if was_suspended is not None and self.set(
            JobConditionType.SUSPENDED, False, ConditionReason.RESUMED.value, message
        ):
            self.emit(EventSeverity.NORMAL, ConditionReason.RESUMED.value, message)
            self.status["startTime"] = format_time(self.now)

    def launcher(self, launcher: JSONDict, pods: list[JSONDict]) -> int:
        replica_statuses = self.status.setdefault("replicaStatuses", {})
        running = sum(1 for p in pods if pod_phase(p) == "Running")
        failed = int(launcher.get("status", {}).get("failed") or 0)
        if job_condition(launcher, "Complete"):
            replica_statuses[ReplicaType.LAUNCHER.value] = _replica_status(
                succeeded=1, failed=failed
            )
            message = f"MPIJob {self.namespace}/{self.name} successfully completed."
            self.emit(EventSeverity.NORMAL, ConditionReason.SUCCEEDED.value, message)
            completion = launcher.get("status", {}).get("completionTime")
            if not self.status.get("completionTime") and completion:
                self.status["completionTime"] = completion
            self.set(JobConditionType.SUCCEEDED, True, ConditionReason.SUCCEEDED.value, message)
        elif job_condition(launcher, "Failed"):
            replica_statuses[ReplicaType.LAUNCHER.value] = _replica_status(failed=failed)
            self.launcher_failed(launcher, pods)
        else:
            replica_statuses[ReplicaType.LAUNCHER.value] = _replica_status(
                active=running, failed=failed
            )
        return running

    def launcher_failed(self, launcher: JSONDict, pods: list[JSONDict]) -> None:
        condition = job_condition(launcher, "Failed") or {}
        reason = condition.get("reason") or ConditionReason.FAILED.value
        message = condition.get("message") or f"MPIJob {self.namespace}/{self.name} has failed"
        if reason == "BackoffLimitExceeded":
            failed_pods = [p for p in pods if pod_phase(p) == "Failed"]
            if failed_pods:
                last = max(failed_pods, key=lambda p: p["metadata"].get("creationTimestamp", ""))
                last_status = last.get("status", {})
                reason += "/" + str(last_status.get("reason") or "")
                message = truncate_message(f"{message}: {last_status.get('message') or ''}")
        self.emit(EventSeverity.WARNING, reason, message)
        if not self.status.get("completionTime"):
            self.status["completionTime"] = format_time(self.now)
        self.set(JobConditionType.FAILED, True, reason, message)

    def workers(self, workers: list[JSONDict]) -> int:
        running = evicted = succeeded = failed = 0
        for pod in workers:
            phase = pod_phase(pod)
            if phase == "Failed":
                failed += 1
                evicted += pod.get("status", {}).get("reason") == "Evicted"
            elif phase == "Succeeded":
                succeeded += 1
            elif phase == "Running":
                running += 1
        replica_statuses = self.status.setdefault("replicaStatuses", {})
        replica_statuses[ReplicaType.WORKER.value] = _replica_status(running, succeeded, failed)
        if evicted:
            message = f"{evicted}/{len(workers)} workers are evicted"
            self.set(JobConditionType.FAILED, True, ConditionReason.EVICTED.value, message)
            self.emit(EventSeverity.WARNING, ConditionReason.EVICTED.value, message)
        return running

    def running(
        self, suspended: bool, launcher_running: int | None, workers: int, running: int
    ) -> None:
        prefix = f"MPIJob {self.namespace}/{self.name}"
        if suspended:
            message = f"{prefix} is suspended."
            self.set(JobConditionType.RUNNING, False, ConditionReason.SUSPENDED.value, message)
        elif is_finished(self.status):
            conditions = self.status.setdefault("conditions", [])
            if find_condition(conditions, JobConditionType.RUNNING.value) is None:
                # Never seen running: Running=False stamped at completion, as upstream.
                stamp = self.status.get("completionTime") or format_time(self.now)
                conditions.append(
                    {
                        "type": JobConditionType.RUNNING.value,
                        "status": "False",
                        "reason": ConditionReason.RUNNING.value,
                        "message": f"{prefix} is finished but Running condition was never set.",
                        "lastUpdateTime": stamp,
                        "lastTransitionTime": stamp,
                    }
                )
        elif launcher_running is not None and launcher_running >= 1 and running == workers:
            self.set(
                JobConditionType.RUNNING,
                True,
                ConditionReason.RUNNING.value,
                f"{prefix} is running.",
            )
            self.emit(EventSeverity.NORMAL, ConditionReason.RUNNING.value, f"{prefix} is running")


def update_mpijob_status(
    job: JSONDict,
    status: JSONDict,
    launcher: JSONDict | None,
    launcher_pods: list[JSONDict],
    workers: list[JSONDict],
    *,
    now: datetime,
    emit: Emit,
) -> None:
    """Apply upstream ``updateMPIJobStatus`` to ``status`` (in place).

    Args:
        job: The defaulted MPIJob.
        status: Its status, updated in place.
        launcher: The launcher Job, if it exists.
        launcher_pods: The pods of the launcher Job.
        workers: The worker pods the sync saw (empty once the launcher is done).
        now: The emulated time.
        emit: Records an event about the MPIJob.
    """
    update = _Update(job, status, now, emit)
    suspended = bool((job.get("spec", {}).get("runPolicy") or {}).get("suspend"))
    update.suspension(suspended)
    launcher_running = None if launcher is None else update.launcher(launcher, launcher_pods)
    running = update.workers(workers)
    update.running(suspended, launcher_running, len(workers), running)
