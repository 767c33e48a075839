"""The ``batch/v1`` Job controller and TTL-after-finished controller, simulated.

The MPI operator does not create its launcher pod: it creates a Job, and the
Kubernetes Job controller makes the pod, counts failures against
``backoffLimit``, enforces ``activeDeadlineSeconds``, suspends and resumes,
and marks the Job ``Complete`` or ``Failed``; later the TTL controller deletes
a finished Job after ``ttlSecondsAfterFinished``. This module does the same
for one-pod Jobs (completions and parallelism 1), over the store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from airflow_provider_mpi.testing.controller.builders import apply_pod_defaults
from airflow_provider_mpi.testing.controller.events import EventRecorder, EventSeverity
from airflow_provider_mpi.testing.controller.meta import (
    JSONDict,
    find_condition,
    format_time,
    is_controlled_by,
    owner_reference,
    parse_time,
)
from airflow_provider_mpi.testing.controller.workqueue import Key, WorkQueue, owner_keys
from airflow_provider_mpi.testing.store import NotFound, Store, WatchEvent, copy_json

__all__ = ["JobController", "create_job", "job_pods"]

CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
_DEFAULT_BACKOFF_LIMIT = 6
_BACKOFF_BASE = 10.0
_BACKOFF_MAX = 360.0
_BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
_DEADLINE_MESSAGE = "Job was active longer than specified deadline"
_COMPLETE_MESSAGE = "Reached expected number of succeeded pods"


def _defaults(job: JSONDict) -> bool:
    """Fill the fields the API server defaults on a Job; return whether anything changed."""
    before = copy_json(job)
    meta = job["metadata"]
    spec = job.setdefault("spec", {})
    uid, name = meta["uid"], meta["name"]
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", _DEFAULT_BACKOFF_LIMIT)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    spec.setdefault("selector", {"matchLabels": {CONTROLLER_UID_LABEL: uid}})
    template = spec.setdefault("template", {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    labels.update(
        {CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: name, "controller-uid": uid, "job-name": name}
    )
    if not meta.get("labels"):
        meta["labels"] = {
            k: v for k, v in labels.items() if k in (CONTROLLER_UID_LABEL, JOB_NAME_LABEL)
        }
    return job != before


def create_job(store: Store, job: JSONDict) -> JSONDict:
    """Create a Job with the defaults the API server adds (selector, labels, limits).

    Args:
        store: The cluster state.
        job: The Job to create.

    Returns:
        The stored Job.

    Raises:
        StoreError: When the store refuses the Job.
    """
    created = store.create("jobs", job)
    if _defaults(created):
        created = store.update("jobs", created)
    return created


def job_pods(store: Store, job: JSONDict) -> list[JSONDict]:
    """The pods controlled by ``job``."""
    uid = job["metadata"]["uid"]
    pods, _ = store.list(
        "pods", job["metadata"]["namespace"], label_selector=f"{CONTROLLER_UID_LABEL}={uid}"
    )
    return [p for p in pods if is_controlled_by(p, job)]


def _true(job: JSONDict, kind: str) -> bool:
    condition = find_condition(job.get("status", {}).get("conditions"), kind)
    return condition is not None and condition.get("status") == "True"


def _phase(pod: JSONDict) -> str:
    return str(pod.get("status", {}).get("phase") or "Pending")


class JobController:
    """The Job and TTL-after-finished controllers as a step function.

    Args:
        store: The cluster state.
        now: The emulated clock.
    """

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now
        self._events = EventRecorder(store, now, "job-controller")
        self._queue = WorkQueue(store, self._keys_for)
        self._failed: dict[str, set[str]] = {}
        self._last_failure: dict[str, datetime] = {}

    def close(self) -> None:
        """Stop following the store."""
        self._queue.close()

    @staticmethod
    def _keys_for(event: WatchEvent) -> set[Key]:
        """The Jobs a change concerns: the Job itself, or the Job of a pod."""
        plural = event.resource.plural
        if plural == "jobs":
            return {event.key}
        if plural != "pods":
            return set()
        return owner_keys(event, "Job", JOB_NAME_LABEL)

    def reconcile(self) -> datetime | None:
        """Sync the Jobs that changed, whose pods changed, or whose timer is due.

        Returns:
            The earliest time a Job needs looking at again without a store
            change (deadline, retry back-off, TTL), or ``None``.
        """
        now = self._now()
        everything, keys = self._queue.take(now)
        if everything:
            jobs, _ = self._store.list("jobs")
            keys |= {(j["metadata"]["namespace"], j["metadata"]["name"]) for j in jobs}
        return self._queue.sync_each(now, keys, self._sync_key)

    def _sync_key(self, key: Key) -> datetime | None:
        """:meth:`sync` the Job of ``key``, if it still exists."""
        try:
            job = self._store.get("jobs", *key)
        except NotFound:
            return None
        return self.sync(job)

    def sync(self, job: JSONDict) -> datetime | None:
        """Sync one Job.

        Args:
            job: The Job as stored.

        Returns:
            When to look again without a store change, or ``None``.
        """
        if _defaults(job):
            job = self._store.update("jobs", job)
        if _true(job, "Complete") or _true(job, "Failed"):
            return self._expire(job)
        now = self._now()
        original = copy_json(job.get("status") or {})
        status = job.setdefault("status", {})
        spec = job["spec"]
        uid = job["metadata"]["uid"]
        pods = job_pods(self._store, job)
        failed = self._failed.setdefault(uid, set())
        for pod in pods:
            if _phase(pod) == "Failed" and pod["metadata"]["uid"] not in failed:
                failed.add(pod["metadata"]["uid"])
                self._last_failure[uid] = now
        active = [p for p in pods if _phase(p) in ("Pending", "Running")]
        wake: datetime | None = None
        if spec.get("suspend"):
            self._delete(job, active)
            active = []
            if self._set(status, "Suspended", True, "JobSuspended", "Job suspended"):
                self._events.record(job, EventSeverity.NORMAL, "Suspended", "Job suspended")
        else:
            if _true(job, "Suspended"):
                self._set(status, "Suspended", False, "JobResumed", "Job resumed")
                self._events.record(job, EventSeverity.NORMAL, "Resumed", "Job resumed")
                status["startTime"] = format_time(now)
            status.setdefault("startTime", format_time(now))
            wake = self._progress(job, status, pods, active, failed)
            if self._finished(status):
                active = []
            elif not active:  # a pod may just have been created
                active = [
                    p for p in job_pods(self._store, job) if _phase(p) in ("Pending", "Running")
                ]
        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if _ready(p))
        status["failed"] = max(int(original.get("failed") or 0), len(failed))
        status["succeeded"] = 1 if any(_phase(p) == "Succeeded" for p in pods) else 0
        status.setdefault("uncountedTerminatedPods", {})
        for key in ("active", "failed", "succeeded"):
            if not status[key]:
                del status[key]
        if status != original:
            self._store.update("jobs", job, subresource="status")
        return wake

    @staticmethod
    def _finished(status: JSONDict) -> bool:
        names = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
        return bool(names & {"Complete", "Failed"})

    def _progress(
        self,
        job: JSONDict,
        status: JSONDict,
        pods: list[JSONDict],
        active: list[JSONDict],
        failed: set[str],
    ) -> datetime | None:
        now = self._now()
        spec = job["spec"]
        uid = job["metadata"]["uid"]
        if any(_phase(p) == "Succeeded" for p in pods):
            self._delete(job, active)
            status["completionTime"] = format_time(now)
            self._finish(status, "SuccessCriteriaMet", "CompletionsReached", _COMPLETE_MESSAGE)
            self._finish(status, "Complete", "CompletionsReached", _COMPLETE_MESSAGE)
            self._events.record(job, EventSeverity.NORMAL, "Completed", "Job completed")
            return None
        limit = int(spec.get("backoffLimit", _DEFAULT_BACKOFF_LIMIT))
        deadline = spec.get("activeDeadlineSeconds")
        started = parse_time(status.get("startTime")) or now
        on_failure = (spec.get("template", {}).get("spec") or {}).get(
            "restartPolicy"
        ) == "OnFailure"
        restarts = sum(
            int(c.get("restartCount") or 0)
            for p in active
            for c in p.get("status", {}).get("containerStatuses") or []
        )
        if on_failure and (restarts > 0 if limit == 0 else restarts >= limit):
            exceeded = True
        else:
            exceeded = len(failed) > limit
        if exceeded:
            self._fail(job, status, active, failed, "BackoffLimitExceeded", _BACKOFF_MESSAGE)
            return None
        if deadline is not None and now >= started + timedelta(seconds=int(deadline)):
            self._fail(job, status, active, failed, "DeadlineExceeded", _DEADLINE_MESSAGE)
            return None
        wake = None if deadline is None else started + timedelta(seconds=int(deadline))
        if not active:
            retry_at = now
            if failed and uid in self._last_failure:
                delay = min(_BACKOFF_BASE * 2 ** (len(failed) - 1), _BACKOFF_MAX)
                retry_at = self._last_failure[uid] + timedelta(seconds=delay)
            if retry_at <= now:
                self._create_pod(job)
            else:
                wake = retry_at if wake is None else min(wake, retry_at)
        return wake

    def _fail(
        self,
        job: JSONDict,
        status: JSONDict,
        active: list[JSONDict],
        failed: set[str],
        reason: str,
        message: str,
    ) -> None:
        for pod in active:
            failed.add(pod["metadata"]["uid"])
        self._delete(job, active)
        self._finish(status, "FailureTarget", reason, message)
        self._finish(status, "Failed", reason, message)
        self._events.record(job, EventSeverity.WARNING, reason, message)

    def _finish(self, status: JSONDict, kind: str, reason: str, message: str) -> None:
        self._set(status, kind, True, reason, message)

    def _set(self, status: JSONDict, kind: str, value: bool, reason: str, message: str) -> bool:
        text = "True" if value else "False"
        conditions = status.setdefault("conditions", [])
        current = find_condition(conditions, kind)
        stamp = format_time(self._now())
        if current is not None:
            if current.get("status") == text:
                return False
            current.update(
                status=text,
                reason=reason,
                message=message,
                lastProbeTime=stamp,
                lastTransitionTime=stamp,
            )
            return True
        conditions.append(
            {
                "type": kind,
                "status": text,
                "lastProbeTime": stamp,
                "lastTransitionTime": stamp,
                "reason": reason,
                "message": message,
            }
        )
        return True

    def _create_pod(self, job: JSONDict) -> None:
        template = copy_json(job["spec"].get("template") or {})
        meta = template.get("metadata") or {}
        pod_meta: JSONDict = {
            "generateName": job["metadata"]["name"] + "-",
            "namespace": job["metadata"]["namespace"],
            "labels": dict(meta.get("labels") or {}),
            "ownerReferences": [owner_reference(job)],
        }
        if meta.get("annotations"):
            pod_meta["annotations"] = dict(meta["annotations"])
        pod = apply_pod_defaults(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": pod_meta,
                "spec": template.get("spec") or {},
            }
        )
        created = self._store.create("pods", pod)
        self._events.record(
            job,
            EventSeverity.NORMAL,
            "SuccessfulCreate",
            f"Created pod: {created['metadata']['name']}",
        )

    def _delete(self, job: JSONDict, pods: list[JSONDict]) -> None:
        for pod in pods:
            try:
                self._store.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
            except NotFound:
                continue
            self._events.record(
                job,
                EventSeverity.NORMAL,
                "SuccessfulDelete",
                f"Deleted pod: {pod['metadata']['name']}",
            )

    def _expire(self, job: JSONDict) -> datetime | None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return None
        conditions = job.get("status", {}).get("conditions") or []
        finished = [
            parse_time(c.get("lastTransitionTime"))
            for c in conditions
            if c.get("type") in ("Complete", "Failed")
        ]
        finished_at = next((f for f in finished if f is not None), None) or self._now()
        expiry = finished_at + timedelta(seconds=int(ttl))
        if self._now() < expiry:
            return expiry
        with contextlib.suppress(NotFound):
            self._store.delete(
                "jobs",
                job["metadata"]["namespace"],
                job["metadata"]["name"],
                propagation_policy="Foreground",
            )
        self._failed.pop(job["metadata"]["uid"], None)
        self._last_failure.pop(job["metadata"]["uid"], None)
        return None


def _ready(pod: JSONDict) -> bool:
    condition = find_condition(pod.get("status", {}).get("conditions"), "Ready")
    return condition is not None and condition.get("status") == "True"
