"""The Kubeflow MPI operator v0.8.2, simulated over the store.

``MPIJobController.reconcile`` runs the operator's sync for every MPIJob: the
same decisions in the same order as ``syncHandler`` and
``updateMPIJobStatus`` upstream (children created with their upstream names
and labels, launcher created at startup or once workers are ready, suspension
through the launcher Job, conditions, replica statuses and events). It is a
level-triggered step function: running it again on an unchanged store
changes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from airflow_provider_mpi.testing.controller.builders import (
    JOB_NAME_LABEL,
    JOB_ROLE_LABEL,
    OPERATOR_NAME,
    OPERATOR_NAME_LABEL,
    REPLICA_INDEX_LABEL,
    new_config_map,
    new_launcher_job,
    new_launcher_template,
    new_service,
    new_ssh_secret,
    new_worker,
    worker_name,
)
from airflow_provider_mpi.testing.controller.conditions import (
    ConditionReason,
    JobConditionType,
    is_finished,
    set_condition,
)
from airflow_provider_mpi.testing.controller.events import EventRecorder, EventSeverity
from airflow_provider_mpi.testing.controller.job import create_job, job_pods
from airflow_provider_mpi.testing.controller.meta import (
    JSONDict,
    find_condition,
    format_time,
    is_controlled_by,
)
from airflow_provider_mpi.testing.controller.mpijob_status import (
    job_condition,
    pod_phase,
    update_mpijob_status,
)
from airflow_provider_mpi.testing.controller.validation import (
    CleanPodPolicy,
    LauncherCreationPolicy,
    ReplicaType,
    default_mpi_job,
    validate_mpi_job,
    validation_message,
)
from airflow_provider_mpi.testing.controller.workqueue import Key, WorkQueue, owner_keys
from airflow_provider_mpi.testing.store import NotFound, Store, StoreError, WatchEvent, copy_json

__all__ = ["MPIJobController"]

_COMPONENT = "mpi-job-controller"
_EXISTS = 'Resource "{name}" of Kind "{kind}" already exists and is not managed by MPIJob'
_KUBEFLOW_MANAGER = "kubeflow.org/mpi-operator"


class _NotOwned(Exception):
    """A child exists under the expected name but another owner controls it."""


def _suspended(obj: JSONDict) -> bool:
    return bool((obj.get("spec", {}).get("runPolicy") or {}).get("suspend"))


def _ready(pod: JSONDict) -> bool:
    condition = find_condition(pod.get("status", {}).get("conditions"), "Ready")
    return condition is not None and condition.get("status") == "True"


class MPIJobController:
    """The MPI operator's sync loop as a step function.

    The operator acts only while the ``mpijobs.kubeflow.org`` CRD exists:
    installing the operator's manifests through the API (the CRD included)
    brings it to life, as on a cluster where the operator was missing.

    Args:
        store: The cluster state.
        now: The emulated clock.
    """

    CRD_NAME = "mpijobs.kubeflow.org"

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now
        self._events = EventRecorder(store, now, _COMPONENT)
        self._queue = WorkQueue(store, self._keys_for)

    def close(self) -> None:
        """Stop following the store."""
        self._queue.close()

    def _keys_for(self, event: WatchEvent) -> set[Key] | None:
        """The MPIJobs a change concerns (upstream ``handleObject``)."""
        plural = event.resource.plural
        if plural == "customresourcedefinitions":
            return None if event.key[1] == self.CRD_NAME else set()
        if plural in ("events", "namespaces"):
            return set()
        if plural == "mpijobs":
            return {event.key}
        return owner_keys(event, "MPIJob", JOB_NAME_LABEL, api_group="kubeflow.org")

    def reconcile(self) -> datetime | None:
        """Sync the MPIJobs that changed, or whose children changed, since the last pass.

        Like the real operator, whose informers put the key of the owning
        MPIJob on a work queue whenever the job or one of its children
        changes; a failed sync is retried a second later.

        Returns:
            When a retry is due, or ``None``.
        """
        now = self._now()
        everything, keys = self._queue.take(now)
        if self._lookup("customresourcedefinitions", "", self.CRD_NAME) is None:
            return None  # no operator without its CRD; its creation marks everything
        if everything:
            jobs, _ = self._store.list("mpijobs")
            keys |= {(j["metadata"]["namespace"], j["metadata"]["name"]) for j in jobs}
        return self._queue.sync_each(now, keys, self._sync_key, (StoreError, _NotOwned))

    def _sync_key(self, key: Key) -> None:
        """:meth:`sync` the MPIJob of ``key``, if it still exists."""
        job = self._lookup("mpijobs", *key)
        if job is not None:
            self.sync(job)

    # ------------------------------------------------------------------ sync

    def sync(self, stored: JSONDict) -> None:
        """Run the operator's ``syncHandler`` for one MPIJob.

        Args:
            stored: The MPIJob as stored.

        Raises:
            StoreError: A write failed; the sync is retried later.
        """
        managed_by = (stored.get("spec", {}).get("runPolicy") or {}).get("managedBy")
        if managed_by is not None and managed_by != _KUBEFLOW_MANAGER:
            return
        if stored["metadata"].get("deletionTimestamp"):
            return
        job = default_mpi_job(stored)
        errors = validate_mpi_job(job)
        if errors:
            self._events.record(
                stored, EventSeverity.WARNING, "ValidationError", validation_message(errors)
            )
            return
        status: JSONDict = job.setdefault("status", {})
        namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
        if not status.get("conditions"):
            message = f"MPIJob {namespace}/{name} is created."
            self._set(
                status, JobConditionType.CREATED, True, ConditionReason.CREATED.value, message
            )
            self._event(stored, EventSeverity.NORMAL, ConditionReason.CREATED.value, message)
        if is_finished(status) and status.get("completionTime"):
            policy = job["spec"]["runPolicy"]["cleanPodPolicy"]
            if policy in (CleanPodPolicy.ALL.value, CleanPodPolicy.RUNNING.value):
                self._delete_workers(job)
                status.setdefault("replicaStatuses", {})[ReplicaType.WORKER.value] = {}
                self._write_status(stored, status)
            return
        suspended = _suspended(job)
        if not status.get("startTime") and not suspended:
            status["startTime"] = format_time(self._now())
        launcher = self._get_launcher(job)
        workers: list[JSONDict] = []
        done = launcher is not None and self._launcher_finished(launcher)
        if not done:
            self._get_or_create_service(job)
            self._get_or_create_config_map(job)
            self._get_or_create_secret(job)
            if not suspended:
                workers = self._get_or_create_workers(job)
            if launcher is None:
                policy = job["spec"]["launcherCreationPolicy"]
                ready = sum(1 for w in workers if _ready(w))
                if policy == LauncherCreationPolicy.AT_STARTUP.value or ready == len(workers):
                    launcher = self._create_launcher(job, stored)
        if launcher is not None:
            launcher = self._align_suspension(job, launcher, stored)
        if suspended:
            self._delete_workers(job)
        self._update_status(job, stored, status, launcher, workers)

    # -------------------------------------------------------------- children

    def _event(self, obj: JSONDict, severity: EventSeverity, reason: str, message: str) -> None:
        self._events.record(obj, severity, reason, message)

    def _set(
        self, status: JSONDict, kind: JobConditionType, value: bool, reason: str, message: str
    ) -> bool:
        return set_condition(status, kind, value, reason, message, self._now())

    def _owned(self, job: JSONDict, obj: JSONDict) -> JSONDict:
        if not is_controlled_by(obj, job):
            message = _EXISTS.format(name=obj["metadata"]["name"], kind=obj.get("kind", ""))
            self._event(job, EventSeverity.WARNING, "ErrResourceExists", message)
            raise _NotOwned(message)
        return obj

    def _lookup(self, plural: str, namespace: str, name: str) -> JSONDict | None:
        try:
            return self._store.get(plural, namespace, name)
        except NotFound:
            return None

    def _get_launcher(self, job: JSONDict) -> JSONDict | None:
        meta = job["metadata"]
        launcher = self._lookup("jobs", meta["namespace"], meta["name"] + "-launcher")
        return None if launcher is None else self._owned(job, launcher)

    @staticmethod
    def _launcher_finished(launcher: JSONDict) -> bool:
        return bool(job_condition(launcher, "Complete") or job_condition(launcher, "Failed"))

    def _existing(self, job: JSONDict, plural: str, wanted: JSONDict) -> JSONDict | None:
        """The job's object named as ``wanted`` (checked to be the job's); None: it was created.

        The part of the operator's ``getOrCreate*`` that every owned object shares; the
        caller brings an existing object up to date.
        """
        current = self._lookup(plural, job["metadata"]["namespace"], wanted["metadata"]["name"])
        if current is None:
            self._store.create(plural, wanted)
            return None
        return self._owned(job, current)

    def _get_or_create_service(self, job: JSONDict) -> None:
        wanted = new_service(job)
        service = self._existing(job, "services", wanted)
        if service is None:
            return
        spec = service.setdefault("spec", {})
        wanted_spec = wanted["spec"]
        if spec.get("selector") != wanted_spec["selector"] or bool(
            spec.get("publishNotReadyAddresses")
        ) != bool(wanted_spec["publishNotReadyAddresses"]):
            spec["selector"] = wanted_spec["selector"]
            spec["publishNotReadyAddresses"] = wanted_spec["publishNotReadyAddresses"]
            self._store.update("services", service)

    def _worker_pods(self, job: JSONDict) -> list[JSONDict]:
        selector = (
            f"{OPERATOR_NAME_LABEL}={OPERATOR_NAME},{JOB_NAME_LABEL}={job['metadata']['name']},"
            f"{JOB_ROLE_LABEL}=worker"
        )
        pods, _ = self._store.list("pods", job["metadata"]["namespace"], label_selector=selector)
        return pods

    def _get_or_create_config_map(self, job: JSONDict) -> None:
        running = [
            p["metadata"]["name"] for p in self._worker_pods(job) if pod_phase(p) == "Running"
        ]
        wanted = new_config_map(job, running)
        config_map = self._existing(job, "configmaps", wanted)
        if config_map is not None and config_map.get("data") != wanted["data"]:
            config_map["data"] = wanted["data"]
            self._store.update("configmaps", config_map)

    def _get_or_create_secret(self, job: JSONDict) -> None:
        wanted = new_ssh_secret(job)
        secret = self._existing(job, "secrets", wanted)
        if secret is not None and sorted(secret.get("data") or {}) != sorted(wanted["data"]):
            secret["data"] = wanted["data"]
            self._store.update("secrets", secret)

    def _get_or_create_workers(self, job: JSONDict) -> list[JSONDict]:
        spec = job["spec"]["mpiReplicaSpecs"].get(ReplicaType.WORKER.value)
        if not isinstance(spec, dict):
            return []
        replicas = int(spec.get("replicas") or 0)
        namespace = job["metadata"]["namespace"]
        existing = self._worker_pods(job)
        if len(existing) > replicas:
            for extra in existing:
                index_label = (extra["metadata"].get("labels") or {}).get(REPLICA_INDEX_LABEL, "")
                if index_label.isdigit() and int(index_label) >= replicas:
                    self._store.delete("pods", namespace, extra["metadata"]["name"])
        workers = []
        for index in range(replicas):
            pod = self._lookup("pods", namespace, worker_name(job, index))
            if pod is None:
                try:
                    pod = self._store.create("pods", new_worker(job, index))
                except StoreError as error:
                    self._event(
                        job,
                        EventSeverity.WARNING,
                        "MPIJobFailed",
                        f"worker pod created failed: {error}",
                    )
                    raise
            workers.append(self._owned(job, pod))
        return workers

    def _delete_workers(self, job: JSONDict) -> None:
        spec = job["spec"]["mpiReplicaSpecs"].get(ReplicaType.WORKER.value)
        if not isinstance(spec, dict):
            return
        namespace = job["metadata"]["namespace"]
        policy = job["spec"]["runPolicy"]["cleanPodPolicy"]
        for index in range(int(spec.get("replicas") or 0)):
            pod = self._lookup("pods", namespace, worker_name(job, index))
            if pod is None:
                continue
            self._owned(job, pod)
            if policy == CleanPodPolicy.RUNNING.value and pod_phase(pod) not in (
                "Running",
                "Pending",
            ):
                continue
            with contextlib.suppress(NotFound):
                self._store.delete("pods", namespace, pod["metadata"]["name"])

    def _create_launcher(self, job: JSONDict, stored: JSONDict) -> JSONDict:
        launcher, warn = new_launcher_job(job, _suspended(job))
        if warn:
            self._warn_restart_policy(stored)
        try:
            return create_job(self._store, launcher)
        except StoreError as error:
            self._event(
                stored,
                EventSeverity.WARNING,
                "MPIJobFailed",
                f"launcher pod created failed: {error}",
            )
            raise

    def _warn_restart_policy(self, stored: JSONDict) -> None:
        message = "Restart policy in pod template overridden by restart policy in replica spec"
        self._event(stored, EventSeverity.WARNING, "SetPodTemplateRestartPolicy", message)

    def _align_suspension(self, job: JSONDict, launcher: JSONDict, stored: JSONDict) -> JSONDict:
        job_suspended = bool(launcher.get("spec", {}).get("suspend"))
        if not _suspended(job) and job_suspended:
            if launcher.get("status", {}).get("startTime"):
                launcher["status"].pop("startTime")
                launcher = self._store.update("jobs", launcher, subresource="status")
            template, warn = new_launcher_template(job)
            if warn:
                self._warn_restart_policy(stored)
            current = launcher["spec"].setdefault("template", {})
            current_meta = current.setdefault("metadata", {})
            for key in ("labels", "annotations"):
                merged = {**(current_meta.get(key) or {}), **(template["metadata"].get(key) or {})}
                if merged:
                    current_meta[key] = merged
            pod_spec = current.setdefault("spec", {})
            for key in ("nodeSelector", "tolerations", "schedulingGates"):
                if template["spec"].get(key) is None:
                    pod_spec.pop(key, None)
                else:
                    pod_spec[key] = template["spec"][key]
            launcher["spec"]["suspend"] = False
            return self._store.update("jobs", launcher)
        if _suspended(job) and not job_suspended:
            launcher["spec"]["suspend"] = True
            return self._store.update("jobs", launcher)
        return launcher

    # ---------------------------------------------------------------- status

    def _update_status(
        self,
        job: JSONDict,
        stored: JSONDict,
        status: JSONDict,
        launcher: JSONDict | None,
        workers: list[JSONDict],
    ) -> None:
        launcher_pods = [] if launcher is None else job_pods(self._store, launcher)

        def emit(severity: EventSeverity, reason: str, message: str) -> None:
            self._event(stored, severity, reason, message)

        update_mpijob_status(
            job, status, launcher, launcher_pods, workers, now=self._now(), emit=emit
        )
        self._write_status(stored, status)

    def _write_status(self, stored: JSONDict, status: JSONDict) -> None:
        if status == (stored.get("status") or {}):
            return
        update = copy_json(stored)
        update["status"] = status
        self._store.update("mpijobs", update, subresource="status")
