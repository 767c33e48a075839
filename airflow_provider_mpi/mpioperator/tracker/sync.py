"""``MPIOperatorTracker``: the DRMAA2 job tracker over Kubeflow MPIJobs (sync).

A thin driver: each operation is a step of :mod:`.steps` or
:mod:`.array_steps`, run by :func:`~.run.run_sync` over the ``kubernetes``
transport (:class:`~..client.sync.MPIJobApi`); :mod:`.aio` runs the same
steps as coroutines. What is bound to threads and streams (waits, output,
an array's creates from a thread pool) is in :mod:`.sync_io`.

Reliability rules (``docs/tracker.md``): idempotent requests are retried; a
create is repeated only because the name and a submission token are chosen
before the first attempt; waits survive dropped streams and ``410 Gone``; no
exception of the Kubernetes client or its transport leaves this class.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from typing import TypeVar

import kubernetes.client

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.info import JobInfo
from airflow_provider_mpi.drmaa2.state import JobControlAction, JobState
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.client.kubeconfig import load_api_client
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.client.sync import MPIJobApi
from airflow_provider_mpi.mpioperator.status.events import JobEvent
from airflow_provider_mpi.mpioperator.tracker import array_steps, steps, sync_io
from airflow_provider_mpi.mpioperator.tracker.array_wait import ArrayWait
from airflow_provider_mpi.mpioperator.tracker.arrays import is_held
from airflow_provider_mpi.mpioperator.tracker.ids import (
    JobRef,
    format_job_id,
    parse_array_id,
    parse_job_id,
    validate_namespace,
)
from airflow_provider_mpi.mpioperator.tracker.install import install_mpi_operator
from airflow_provider_mpi.mpioperator.tracker.run import Step, run_sync
from airflow_provider_mpi.mpioperator.tracker.submission import prepare_array, prepare_job
from airflow_provider_mpi.mpioperator.tracker.waiting import Deadline, wanted_states

__all__ = ["MPIOperatorTracker"]

T = TypeVar("T")


class MPIOperatorTracker:
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
        InvalidArgumentError: a bad namespace, ``install_operator`` without a
            manifest, or a kubeconfig that cannot be loaded (naming its source).
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

    def _run(self, step: Step[T]) -> T:
        return run_sync(step, self.api)

    def _ref(self, job_id: str) -> JobRef:
        return parse_job_id(job_id, self.namespace)

    # Submission

    def add_job(self, template: JobTemplate) -> str:
        """Submit one job; see ``JobTracker.add_job``.

        The object is named before the first attempt (``job_name`` or
        ``mpijob-<random>``), so a create whose answer was lost is repeated
        without making a second job.

        Returns:
            The job ID ``"<namespace>/<name>"``.

        Raises:
            InvalidTemplateError: the template is invalid (no request was sent).
            ConflictError: another job already has the template's ``job_name``.
        """
        return self._run(steps.create(prepare_job(template, namespace=self.namespace), self.retry))

    # Reading

    def list_jobs(self) -> list[str]:
        """Every MPIJob in the tracker's namespace, oldest first: job IDs (array tasks included)."""
        return self._run(steps.list_jobs(self.namespace))

    def find_jobs(self, labels: Mapping[str, str]) -> list[str]:
        """The jobs carrying all the given labels, oldest first: job IDs."""
        return self._run(steps.list_jobs(self.namespace, labels))

    def job_state(self, job_id: str) -> tuple[JobState, str]:
        """The job's DRMAA2 state and substate (from the MPIJob's conditions).

        A poke on an ended or held task of a limited array releases what it allows.

        Returns:
            ``(state, substate)``.
        """
        ref = self._ref(job_id)
        state, mpijob = self._run(steps.state_of(ref))
        if state[0].is_terminal or is_held(mpijob):
            self._run(array_steps.release_for(ref, mpijob))
        return state

    def job_info(self, job_id: str) -> JobInfo:
        """What is known about the job: state, times, exit status, machines.

        Reads the MPIJob and its pods; its events too while it has no
        condition (a ``ValidationError`` event tells that it never will).

        Returns:
            The JobInfo (its ``id`` is the job ID).
        """
        return self._run(steps.job_info(self._ref(job_id)))

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
        return self._run(steps.job_events(self._ref(job_id), warnings_only=warnings_only))

    def job_template(self, job_id: str) -> JobTemplate:
        """The template the job was submitted with (from its annotation): a copy of the template."""
        return self._run(steps.job_template(self._ref(job_id), job_id))

    def list_job_categories(self) -> list[str]:
        """The launcher images of the namespace's MPIJobs (informational).

        Returns:
            Distinct image names, sorted.
        """
        return self._run(steps.list_job_categories(self.namespace))

    def check_cluster(self) -> None:
        """Check that MPIJobs can be used: the CRD is served and listing is allowed.

        Raises:
            BackendError: the CRD is missing or does not serve ``v2beta1``.
            AuthorizationError: MPIJobs may not be listed in the namespace.
        """
        self._run(steps.check_cluster(self.namespace))

    # Control

    def job_control(self, job_id: str, action: JobControlAction | str) -> None:
        """Terminate, suspend, resume, hold or release a job (see ``control.py``).

        Decided on the job's state, applied only to the version it was made on.

        Args:
            job_id: the job.
            action: the action (member or name).

        Raises:
            InvalidStateError: the state does not allow the action.
        """
        action = JobControlAction.parse(action)
        self._run(steps.job_control(self._ref(job_id), action))

    def delete_job(self, job_id: str) -> None:
        """Delete a finished job with its pods, services and launcher Job.

        Raises:
            InvalidStateError: the job has not ended (terminate it first).
        """
        self._run(steps.delete_job(self._ref(job_id)))

    # Waiting

    def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState:
        """Block until the job is in one of ``states``; see ``JobTracker.wait``.

        Follows a watch on the one MPIJob (one list, one stream; more only
        when the stream breaks). A task of an array with ``max_parallel`` is
        followed with its array, releasing held tasks as others end.

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
        return sync_io.wait_job(self.api, self.retry, ref, deadline, wanted_states(states), timeout)

    # Arrays

    def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        """Submit one MPIJob per task; see ``JobTracker.add_array_job`` and ``docs/tracker.md``.

        The intent is recorded first on the array's owner ConfigMap, then the
        tasks ``<array>-<task-id>`` are created many at once (an AIMD window
        adapting to 429 and ``Retry-After``); those beyond ``max_parallel``
        are created held and released as earlier ones end. Running the same
        submission again creates exactly the missing tasks. If a create fails
        for good, the array is deleted again and the error says so.

        Returns:
            The array job ID ``"<namespace>/<array>"``.

        Raises:
            ConflictError: the array name is taken by another submission (a
                different template or range), or a task name by another job.
        """
        plan = prepare_array(template, begin, end, step, max_parallel, namespace=self.namespace)
        plan = self._run(array_steps.record_intent(plan, self.retry))
        sync_io.create_tasks(self.api, self.retry, plan)
        return plan.array_id

    def complete_array_submission(self, array_id: str) -> list[str]:
        """Create the tasks of an array that are missing, from its recorded intent.

        For a retry that finds an array its killed earlier try did not finish.

        Returns:
            The job IDs of the tasks created now (none if it was complete).

        Raises:
            JobNotFoundError: the array has no owner object.
        """
        ref = parse_array_id(array_id, self.namespace)
        plan, intent, before = self._run(array_steps.resumed_plan(ref))
        sync_io.create_tasks(self.api, self.retry, plan)
        return [format_job_id(plan.namespace, n) for n in intent.task_names if n not in before]

    def list_array_jobs(self, array_id: str) -> list[str]:
        """The task job IDs of an array, in task order: every task its intent names.

        Args:
            array_id: an ID from :meth:`add_array_job`, or the Go seed's JSON list.

        Returns:
            Job IDs (a task not created yet too: see :meth:`complete_array_submission`).

        Raises:
            JobNotFoundError: no such array.
        """
        return self._run(array_steps.list_array_jobs(parse_array_id(array_id, self.namespace)))

    def find_arrays(self, labels: Mapping[str, str]) -> list[str]:
        """The arrays whose template carried all the given labels, oldest first.

        Found by their owner objects: an array stopped before its first task is found too.
        """
        return self._run(array_steps.find_arrays(self.namespace, labels))

    def held_siblings(self, job_id: str) -> list[str]:
        """The tasks still held by ``max_parallel`` in the array of a task.

        Returns:
            Job IDs, in task order (none for a job outside a limited array).
        """
        return self._run(array_steps.held_siblings(self._ref(job_id)))

    def held_array_tasks(self, array_id: str) -> list[str]:
        """The tasks of an array still held by ``max_parallel`` (not ended), in task order.

        Returns:
            Job IDs.
        """
        return self._run(array_steps.held_array_tasks(parse_array_id(array_id, self.namespace)))

    def release_array_tasks(self, array_id: str) -> list[str]:
        """One release step: start the held tasks that ``max_parallel`` now allows.

        Returns:
            The job IDs released (possibly none).
        """
        ref = parse_array_id(array_id, self.namespace)
        return self._run(array_steps.release_array_tasks(ref))

    def wait_array(
        self, array_id: str, timeout: float | None, *states: JobState
    ) -> dict[str, JobState]:
        """Wait for every task of an array, releasing held tasks as slots free up.

        Args:
            array_id: the array.
            timeout: seconds; 0 checks once, None waits forever.
            *states: the states to wait for; none means Done or Failed.

        Returns:
            The state of each task by job ID, in task order.

        Raises:
            WaitTimeoutError: the timeout passed (``last_state`` holds the
                task states).
            JobNotFoundError: the array or one of its tasks does not exist
                (an array whose submission was interrupted is incomplete).
            InvalidStateError: a task ended in a state not waited for.
        """
        ref = parse_array_id(array_id, self.namespace)
        deadline = Deadline.start(timeout, time.monotonic())
        wait = self._run(ArrayWait.start(ref, states, timeout))
        return sync_io.wait_array(self.api, self.retry, wait, deadline)

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
        steps.check_tail_lines(tail_lines)
        ref = self._ref(job_id)
        self._run(steps.get_job(ref))
        return sync_io.output(self, ref, follow, tail_lines)
