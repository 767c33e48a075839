"""``MPIOperatorTracker``: the DRMAA2 job tracker over Kubeflow MPIJobs (sync).

Each method is a short script over the pure parts (``submission``,
``control``, ``waiters``, ``status``, ``queries``) and the thin API layer
(:mod:`.api`): decide, send, translate. The same scripts run as coroutines
in :mod:`.async_tracker`; only the sending differs.

Reliability rules (see ``docs/tracker.md``): idempotent requests are retried
under the :class:`~.retry.RetryPolicy`; a create is repeated only because the
object's name and a submission token are chosen before the first attempt;
waits follow a watch and survive dropped streams and ``410 Gone``; no
exception of the Kubernetes client or its transport leaves this class.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

import kubernetes.client

from airflow_provider_mpi.drmaa2.errors import (
    BackendError,
    ConflictError,
    DRMAA2Error,
    InvalidArgumentError,
    InvalidStateError,
    JobNotFoundError,
    TransientBackendError,
    WaitTimeoutError,
)
from airflow_provider_mpi.drmaa2.info import JobInfo
from airflow_provider_mpi.drmaa2.state import JobControlAction, JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.api import MPIJobApi
from airflow_provider_mpi.mpioperator.arrays import is_held
from airflow_provider_mpi.mpioperator.control import control_applied, control_patch
from airflow_provider_mpi.mpioperator.events import JobEvent, job_events_from_k8s
from airflow_provider_mpi.mpioperator.ids import (
    JobRef,
    format_job_id,
    parse_job_id,
    validate_namespace,
)
from airflow_provider_mpi.mpioperator.install import install_mpi_operator
from airflow_provider_mpi.mpioperator.kubeconfig import load_api_client
from airflow_provider_mpi.mpioperator.queries import (
    check_crd,
    container_started,
    crd_missing,
    job_categories,
    job_event_objects,
    job_event_selectors,
    job_template_from_mpi_job,
    launcher_container,
    launcher_selector,
    mpijob_event_selector,
    needs_events,
    newest,
    oldest_first,
    pods_selector,
    selector_from_labels,
)
from airflow_provider_mpi.mpioperator.retry import RetryPolicy, call_with_retry
from airflow_provider_mpi.mpioperator.status import (
    job_id_of,
    job_info_from_mpi_job,
    job_state_from_mpi_job,
)
from airflow_provider_mpi.mpioperator.submission import (
    conflict_error,
    is_lost_create,
    is_same_submission,
    prepare_job,
)
from airflow_provider_mpi.mpioperator.sync_watch import watch_mpi_jobs
from airflow_provider_mpi.mpioperator.tracker_array_release import limited_array_of
from airflow_provider_mpi.mpioperator.tracker_arrays import ArrayJobMethods
from airflow_provider_mpi.mpioperator.waiters import JobWaiter
from airflow_provider_mpi.mpioperator.waiting import Deadline, wanted_states
from airflow_provider_mpi.mpioperator.watch_cursor import Snapshot

__all__ = ["MPIOperatorTracker"]

log = logging.getLogger(__name__)

#: Attempts of a state-checked job control patch against concurrent changes.
CONTROL_ATTEMPTS = 5
#: The states after which a job's launcher output is complete or can be followed.
_OUTPUT_STATES = (JobState.RUNNING, JobState.DONE, JobState.FAILED)


class MPIOperatorTracker(ArrayJobMethods):
    """A DRMAA2 ``JobTracker`` that runs jobs as Kubeflow MPIJobs (``kubeflow.org/v2beta1``).

    Args:
        kubeconfig_path: a kubeconfig file; else ``$KUBECONFIG``, then
            ``~/.kube/config``, then the in-cluster service account.
        namespace: where jobs go (a template's ``namespace`` extension wins)
            and where bare job IDs point.
        context: the kubeconfig context (the current one when None).
        api_client: a configured ``kubernetes.client.ApiClient``; when given,
            no kubeconfig is read and the caller keeps ownership.
        install_operator: apply ``operator_manifest`` first (idempotent).
        operator_manifest: the MPI operator's manifest file or URL.
        retry: the retry policy of idempotent requests.

    Raises:
        InvalidArgumentError: a bad namespace, or ``install_operator`` without
            a manifest.
        InvalidArgumentError: the kubeconfig cannot be loaded (naming its source).
        BackendError: no Kubernetes configuration at all.

    Example:
        >>> tracker = MPIOperatorTracker(namespace="team-a")  # doctest: +SKIP
        >>> job_id = tracker.add_job(JobTemplate(remote_command="python", args=["pi.py"],
        ...                                      job_category="mpioperator/mpi-pi:openmpi"))
        >>> tracker.wait(job_id, 600)
        <JobState.DONE: 8>
    """

    def __init__(
        self,
        kubeconfig_path: str | os.PathLike[str] | None = None,
        *,
        namespace: str = "default",
        context: str | None = None,
        api_client: kubernetes.client.ApiClient | None = None,
        install_operator: bool = False,
        operator_manifest: str | os.PathLike[str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.namespace = validate_namespace(namespace)
        if install_operator and not operator_manifest:
            raise InvalidArgumentError(
                "operator_manifest",
                operator_manifest,
                "install_operator=True needs the MPI operator's manifest (a file or URL)",
            )
        self._owns_client = api_client is None
        self.api_client = api_client or load_api_client(kubeconfig_path, context=context)
        self.retry = retry or RetryPolicy()
        self.api = MPIJobApi(self.api_client, self.retry)
        if install_operator and operator_manifest:
            install_mpi_operator(self.api_client, operator_manifest, retry=self.retry)

    def close(self) -> None:
        """Close the API client if the tracker created it."""
        if self._owns_client:
            self.api_client.close()

    def __enter__(self) -> MPIOperatorTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ref(self, job_id: str) -> JobRef:
        return parse_job_id(job_id, self.namespace)

    # Submission

    def add_job(self, template: JobTemplate) -> str:
        """Submit one job; see ``JobTracker.add_job``.

        The object is named before the first attempt (``job_name`` or
        ``mpijob-<random>``), so a create whose answer was lost is repeated
        without making a second job.

        Args:
            template: the job template.

        Returns:
            The job ID ``"<namespace>/<name>"``.

        Raises:
            InvalidTemplateError: the template is invalid (no request was sent).
            ConflictError: another job already has the template's ``job_name``.
        """
        return self._create(prepare_job(template, namespace=self.namespace))

    def _create(self, mpijob: dict[str, Any]) -> str:
        namespace = str(mpijob["metadata"]["namespace"])
        name = str(mpijob["metadata"]["name"])
        job_id = format_job_id(namespace, name)

        def attempt() -> None:
            try:
                self.api.create_mpi_job(namespace, mpijob)
            except ConflictError:
                try:
                    existing = self.api.get_mpi_job(namespace, name, job_id=job_id)
                except JobNotFoundError:  # deleted meanwhile: create again
                    raise TransientBackendError(409, f"{job_id} vanished after 409") from None
                if not is_same_submission(existing, mpijob):
                    raise conflict_error(job_id) from None

        try:
            call_with_retry(attempt, self.retry, what=f"create MPIJob {job_id}")
        except DRMAA2Error as error:
            if not is_lost_create(error) or not self._created_here(mpijob, job_id):
                raise
            log.warning("create of MPIJob %s failed (%s) but it took effect", job_id, error)
        return job_id

    def _created_here(self, mpijob: Mapping[str, Any], job_id: str) -> bool:
        """After a create failed for good: does the name hold this submission's object?"""
        meta = mpijob["metadata"]
        try:
            existing = self.api.get_mpi_job(meta["namespace"], meta["name"], job_id=job_id)
        except DRMAA2Error:
            return False  # not there, or unknowable: the create's own error is raised
        return is_same_submission(existing, mpijob)

    # Reading

    def list_jobs(self) -> list[str]:
        """Every MPIJob in the tracker's namespace, oldest first.

        Returns:
            Job IDs (array tasks included).
        """
        items, _ = self.api.list_mpi_jobs(self.namespace)
        return [job_id_of(job) for job in oldest_first(items)]

    def find_jobs(self, labels: Mapping[str, str]) -> list[str]:
        """The jobs carrying all the given labels, oldest first.

        Args:
            labels: label keys and values (e.g. the Airflow task's labels).

        Returns:
            Job IDs.
        """
        items, _ = self.api.list_mpi_jobs(
            self.namespace, label_selector=selector_from_labels(labels)
        )
        return [job_id_of(job) for job in oldest_first(items)]

    def _get(self, ref: JobRef) -> dict[str, Any]:
        return self.api.get_mpi_job(ref.namespace, ref.name, job_id=str(ref))

    def job_state(self, job_id: str) -> tuple[JobState, str]:
        """The job's DRMAA2 state and substate (from the MPIJob's conditions).

        Args:
            job_id: the job.

        Returns:
            ``(state, substate)``.
        """
        ref = self._ref(job_id)
        mpijob = self._get(ref)
        state = job_state_from_mpi_job(mpijob, self._validation_events(ref, mpijob))
        if state[0].is_terminal or is_held(mpijob):
            self._release_for(ref, mpijob)
        return state

    def _release_for(self, ref: JobRef, mpijob: Mapping[str, Any]) -> None:
        """A poke on a task of a limited array releases what ``max_parallel`` allows.

        Only a poke on a task that ended (its end frees a slot) or is held
        (it waits for one): a running task's poke would list the array for
        nothing.
        """
        array = limited_array_of(mpijob)
        if array is None:
            return
        try:
            self.release_array_tasks(format_job_id(ref.namespace, array))
        except DRMAA2Error as exc:  # the state asked for matters more; the next poke retries
            log.warning("Could not release held tasks of array %s: %s", array, exc)

    def _validation_events(
        self, ref: JobRef, mpijob: Mapping[str, Any]
    ) -> list[dict[str, Any]] | None:
        """The events about the MPIJob, read only when its state may depend on them."""
        if not needs_events(mpijob):
            return None
        return self.api.list_events(ref.namespace, field_selector=mpijob_event_selector(mpijob))

    def job_info(self, job_id: str) -> JobInfo:
        """What is known about the job: state, times, exit status, machines.

        Reads the MPIJob and its pods; the MPIJob's events too, but only
        while it has no condition (a ``ValidationError`` event then tells
        that it never will, see ``status.job_state_from_mpi_job``).

        Args:
            job_id: the job.

        Returns:
            The JobInfo (its ``id`` is the job ID).
        """
        ref = self._ref(job_id)
        mpijob = self._get(ref)
        pods = self.api.list_pods(ref.namespace, pods_selector(ref.name))
        events = self._validation_events(ref, mpijob)
        return job_info_from_mpi_job(mpijob, pods=pods, events=events)

    def job_events(self, job_id: str, *, warnings_only: bool = False) -> list[JobEvent]:
        """The Kubernetes events of the job, its launcher Job and its pods, oldest first.

        One list of events per object (field selectors on ``involvedObject``),
        never the namespace's events.

        Args:
            job_id: the job.
            warnings_only: only Warning events.

        Returns:
            The events.
        """
        ref = self._ref(job_id)
        mpijob = self._get(ref)
        pods = self.api.list_pods(ref.namespace, pods_selector(ref.name))
        events = [
            event
            for selector in job_event_selectors(mpijob, pods)
            for event in self.api.list_events(ref.namespace, field_selector=selector)
        ]
        objects = job_event_objects(ref.name, pods)
        return job_events_from_k8s(events, objects, warnings_only=warnings_only)

    def job_template(self, job_id: str) -> JobTemplate:
        """The template the job was submitted with (from its annotation).

        Args:
            job_id: the job.

        Returns:
            A copy of the template.
        """
        return job_template_from_mpi_job(self._get(self._ref(job_id)), job_id)

    def list_job_categories(self) -> list[str]:
        """The launcher images of the namespace's MPIJobs (informational).

        Returns:
            Distinct image names, sorted.
        """
        items, _ = self.api.list_mpi_jobs(self.namespace)
        return job_categories(items)

    def check_cluster(self) -> None:
        """Check that MPIJobs can be used: the CRD is served and listing is allowed.

        Raises:
            BackendError: the CRD is missing or does not serve ``v2beta1``.
            AuthorizationError: MPIJobs may not be listed in the namespace.
        """
        try:
            crd = self.api.get_crd()
        except BackendError as exc:
            raise crd_missing(exc) from exc
        check_crd(crd)
        self.api.list_mpi_jobs(self.namespace, limit=1)

    # Control

    def job_control(self, job_id: str, action: JobControlAction | str) -> None:
        """Terminate, suspend, resume, hold or release a job (see ``control.py``).

        The decision is made on the job's state and applied only to the
        version it was made on; a concurrent change makes it decide again.

        Args:
            job_id: the job.
            action: the action (member or name).

        Raises:
            InvalidStateError: the state does not allow the action.
        """
        action = JobControlAction.parse(action)
        ref = self._ref(job_id)
        for attempt in range(CONTROL_ATTEMPTS):
            mpijob = self._get(ref)
            if attempt and control_applied(mpijob, action):
                return
            state, _ = job_state_from_mpi_job(mpijob)
            version = (mpijob.get("metadata") or {}).get("resourceVersion")
            patch = control_patch(str(ref), state, action, resource_version=version)
            try:
                self.api.patch_mpi_job(ref.namespace, ref.name, patch, job_id=str(ref))
                return
            except ConflictError:
                continue
        raise ConflictError(409, f"job {ref} kept changing; {action} was not applied")

    def delete_job(self, job_id: str) -> None:
        """Delete a finished job with its pods, services and launcher Job.

        Args:
            job_id: the job.

        Raises:
            InvalidStateError: the job has not ended (terminate it first).
        """
        ref = self._ref(job_id)
        mpijob = self._get(ref)
        state, _ = job_state_from_mpi_job(mpijob)
        if not state.is_terminal:
            raise InvalidStateError(str(ref), state, "delete")
        uid = (mpijob.get("metadata") or {}).get("uid")
        try:
            self.api.delete_mpi_job(
                ref.namespace, ref.name, job_id=str(ref), uid=uid, propagation_policy="Background"
            )
        except JobNotFoundError:
            return  # gone already (an earlier attempt whose answer was lost)

    # Waiting

    def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState:
        """Block until the job is in one of ``states``; see ``JobTracker.wait``.

        Follows a watch on the one MPIJob: no polling, one list and one open
        stream per wait (more only when the stream breaks). A task of an
        array with ``max_parallel`` is followed with its whole array, and the
        wait releases held tasks as others end (see ``docs/tracker.md``).

        Args:
            job_id: the job.
            timeout: seconds; 0 checks once, None waits forever.
            *states: the states to wait for; none means Done or Failed.

        Returns:
            The state reached.

        Raises:
            WaitTimeoutError: the timeout passed (with the last state seen).
            JobNotFoundError: the job does not exist or was deleted.
            InvalidStateError: the job ended in a state not waited for.
        """
        ref = self._ref(job_id)
        deadline = Deadline.start(timeout, time.monotonic())
        waiter = JobWaiter(str(ref), wanted_states(states))
        array: str | None = None
        for item in watch_mpi_jobs(
            self.api,
            ref.namespace,
            deadline,
            retry=self.retry,
            field_selector=f"metadata.name={ref.name}",
        ):
            if isinstance(item, Snapshot):
                seen = item.objects.get(ref.name)
                array = limited_array_of(seen) if seen is not None else None
                if array is not None:  # a task of a limited array: follow the whole array
                    break
                reached = waiter.observe(seen, as_of=item.resource_version)
            elif item.name != ref.name:
                continue
            else:
                reached = waiter.observe(None if item.deleted else item.object)
            if reached is not None:
                return reached
        if array is not None:
            wanted = wanted_states(states)
            return self._wait_array_task(ref.namespace, array, ref.name, deadline, wanted)
        raise WaitTimeoutError(str(ref), timeout, waiter.last_state)

    # Output

    def job_output(
        self, job_id: str, *, follow: bool = False, tail_lines: int | None = None
    ) -> Iterator[str]:
        """The launcher's log lines (the MPI program's output).

        Without ``follow``: what the launcher printed so far (nothing before it
        started). With ``follow``: waits (on a watch) until the job runs or
        ends, then streams lines until the launcher ends.

        Args:
            job_id: the job.
            follow: keep streaming until the output ends.
            tail_lines: start with only the last N lines.

        Returns:
            An iterator of lines without line endings.

        Raises:
            InvalidArgumentError: ``tail_lines`` is negative.
        """
        if tail_lines is not None and (not isinstance(tail_lines, int) or tail_lines < 0):
            raise InvalidArgumentError("tail_lines", tail_lines, "must be None or an int >= 0")
        ref = self._ref(job_id)
        self._get(ref)
        return self._output(ref, follow, tail_lines)

    def _output(self, ref: JobRef, follow: bool, tail_lines: int | None) -> Iterator[str]:
        pod = self._launcher(ref)
        if pod is None or not container_started(pod):
            if not follow:
                return
            try:
                self.wait(str(ref), None, *_OUTPUT_STATES)
            except InvalidStateError:
                return
            pod = self._launcher(ref)
            if pod is None:
                return
        name = str(pod["metadata"]["name"])
        container = launcher_container(pod)
        if follow:
            yield from self.api.follow_pod_log(
                ref.namespace, name, container=container, tail_lines=tail_lines
            )
        else:
            yield from self.api.read_pod_log(
                ref.namespace, name, container=container, tail_lines=tail_lines
            )

    def _launcher(self, ref: JobRef) -> Mapping[str, Any] | None:
        return newest(self.api.list_pods(ref.namespace, launcher_selector(ref.name)))
