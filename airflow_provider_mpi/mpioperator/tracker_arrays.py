"""The array job methods of :class:`~.tracker.MPIOperatorTracker` (sync): submission, reading.

Split from ``tracker.py`` to keep modules small (waiting and releasing are in
:mod:`.tracker_array_release`). An array is one MPIJob per
task (see :mod:`.arrays` and :mod:`.submission`) under an owner ConfigMap
that records the array's intent before the first task (see
:mod:`.array_owner`): a submission killed part way is completed by running
it again, and readers know how many tasks to expect. The tasks held back by
``max_parallel`` are released by whoever waits on a task of the array, by a
conditional update of the owner's release mark.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from airflow_provider_mpi.drmaa2.errors import (
    ConflictError,
    DRMAA2Error,
    JobNotFoundError,
    TransientBackendError,
)
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.api import MPIJobApi
from airflow_provider_mpi.mpioperator.array_owner import (
    ArrayIntent,
    intent_conflict,
    read_intent,
)
from airflow_provider_mpi.mpioperator.ids import (
    format_job_id,
    parse_array_id,
)
from airflow_provider_mpi.mpioperator.owner_api import (
    create_owner,
    delete_owner,
    get_owner,
    list_owners,
)
from airflow_provider_mpi.mpioperator.queries import (
    array_selector,
    oldest_first,
    selector_from_labels,
)
from airflow_provider_mpi.mpioperator.retry import RetryPolicy, call_with_retry
from airflow_provider_mpi.mpioperator.status import job_id_of
from airflow_provider_mpi.mpioperator.submission import (
    ArrayPlan,
    adopt_intent,
    array_failure,
    conflict_error,
    is_same_submission,
    prepare_array,
)
from airflow_provider_mpi.mpioperator.submit_window import (
    INITIAL_WINDOW,
    MAX_WINDOW,
    AimdWindow,
    SubmitGate,
)
from airflow_provider_mpi.mpioperator.tracker_array_release import (
    ArrayReleaseMethods,
    limited_array_of,
)
from airflow_provider_mpi.mpioperator.waiters import ArrayWaiter

__all__ = ["ARRAY_SUBMIT_WORKERS", "ArrayJobMethods", "limited_array_of"]

log = logging.getLogger(__name__)

#: Threads sending creates while submitting an array (the AIMD window caps
#: how many of them send at once).
ARRAY_SUBMIT_WORKERS = MAX_WINDOW


class ArrayJobMethods(ArrayReleaseMethods):
    """Array job methods mixed into :class:`~.tracker.MPIOperatorTracker`."""

    namespace: str
    api: MPIJobApi
    retry: RetryPolicy

    # Submission

    def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        """Submit one MPIJob per task; see ``JobTracker.add_array_job``.

        The array's intent is recorded first on its owner ConfigMap; then the
        tasks are created, many at once (an AIMD window adapting to 429 and
        ``Retry-After``). Tasks are named ``<array>-<task-id>``; those beyond
        ``max_parallel`` are created held and released as earlier ones end,
        by whoever waits on a task of the array. Running the same submission
        again (same array name, template and range) creates exactly the tasks
        that are missing, so a submitter killed part way is completed by a
        re-run. If a create fails for good, the array is deleted again and
        the error says so.

        Args:
            template: the template every task runs (``TASK_ID`` set).
            begin: first task ID.
            end: last task ID.
            step: increment.
            max_parallel: cap on concurrently active tasks; 0 for none.

        Returns:
            The array job ID ``"<namespace>/<array>"``.

        Raises:
            ConflictError: the array name is taken by another submission (a
                different template or range), or a task name by another job.
        """
        plan = prepare_array(template, begin, end, step, max_parallel, namespace=self.namespace)
        plan = self._record_intent(plan)
        self._create_tasks(plan)
        return plan.array_id

    def _record_intent(self, plan: ArrayPlan) -> ArrayPlan:
        """Create the owner ConfigMap, or adopt the same submission's earlier one."""
        namespace, name = plan.namespace, plan.array_name

        def attempt() -> ArrayIntent:
            try:
                created = read_intent(create_owner(self.api, namespace, plan.owner))
            except ConflictError:
                try:
                    existing = get_owner(self.api, namespace, name)
                except JobNotFoundError:  # deleted meanwhile: create again
                    raise TransientBackendError(
                        409, f"{plan.array_id} vanished after 409"
                    ) from None
                found = read_intent(existing)
                if found is None or found.template_hash != plan.intent.template_hash:
                    raise intent_conflict(plan.array_id, plan.intent, found) from None
                return found
            if created is None:
                raise TransientBackendError(None, f"array owner {plan.array_id} unreadable")
            return created

        intent = call_with_retry(attempt, self.retry, what=f"record array {plan.array_id}")
        return adopt_intent(plan, intent)

    def _create_tasks(self, plan: ArrayPlan) -> None:
        """Create the plan's missing tasks; on a lasting failure, delete the array."""
        existing = self._existing_tasks(plan)
        todo = [task for task in plan.tasks if task["metadata"]["name"] not in existing]
        workers = self._submit_workers()
        gate = SubmitGate(AimdWindow(min(INITIAL_WINDOW, workers), maximum=workers))
        created: list[str] = []
        failure: tuple[str, DRMAA2Error] | None = None
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures: dict[Future[None], str] = {
                pool.submit(self._create_task, task, gate): str(task["metadata"]["name"])
                for task in todo
            }
            _done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            wait(pending)
            for future, name in futures.items():
                if future.cancelled():
                    continue
                error = future.exception()
                if error is None:
                    created.append(name)
                elif failure is None:
                    if not isinstance(error, DRMAA2Error):
                        raise error
                    failure = (name, error)
        if failure is None:
            return
        removed, left = self._remove_array(plan, created + sorted(existing))
        raise array_failure(plan.array_id, failure[0], failure[1], removed, left) from failure[1]

    def _submit_workers(self) -> int:
        """Threads for creates: no more than the client keeps connections.

        A thread beyond urllib3's pool size would open (and discard) a new TLS
        connection per request, which costs more than it gains.
        """
        configuration = getattr(self.api.api_client, "configuration", None)
        pool = getattr(configuration, "connection_pool_maxsize", None)
        if not isinstance(pool, int) or pool < 1:
            return ARRAY_SUBMIT_WORKERS
        return min(ARRAY_SUBMIT_WORKERS, pool)

    def _existing_tasks(self, plan: ArrayPlan) -> set[str]:
        """The tasks an earlier run of this submission created (none for a new array)."""
        if not plan.resumed:
            return set()
        items, _ = self.api.list_mpi_jobs(
            plan.namespace, label_selector=array_selector(plan.array_name)
        )
        wanted = {str(task["metadata"]["name"]): task for task in plan.tasks}
        found = set()
        for item in items:
            name = str(item["metadata"]["name"])
            if name in wanted:
                if not is_same_submission(item, wanted[name]):
                    raise conflict_error(format_job_id(plan.namespace, name))
                found.add(name)
        return found

    def _create_task(self, task: dict[str, Any], gate: SubmitGate) -> None:
        namespace = str(task["metadata"]["namespace"])
        name = str(task["metadata"]["name"])
        job_id = format_job_id(namespace, name)

        def attempt() -> None:
            with gate:
                try:
                    self.api.create_mpi_job(namespace, task)
                except TransientBackendError as exc:
                    if exc.status == 429 or exc.retry_after:
                        gate.throttled(exc.retry_after)
                    raise
                except ConflictError:
                    try:
                        existing = self.api.get_mpi_job(namespace, name, job_id=job_id)
                    except JobNotFoundError:
                        raise TransientBackendError(409, f"{job_id} vanished after 409") from None
                    if not is_same_submission(existing, task):
                        raise conflict_error(job_id) from None
            gate.succeeded()

        call_with_retry(attempt, self.retry, what=f"create MPIJob {job_id}")

    def _remove_array(self, plan: ArrayPlan, names: list[str]) -> tuple[list[str], list[str]]:
        removed, left = [], []
        for name in names:
            job_id = format_job_id(plan.namespace, name)
            try:
                self.api.delete_mpi_job(
                    plan.namespace, name, job_id=job_id, propagation_policy="Background"
                )
            except JobNotFoundError:
                pass
            except DRMAA2Error:
                left.append(job_id)
                continue
            removed.append(job_id)
        try:
            delete_owner(self.api, plan.namespace, plan.array_name)
        except JobNotFoundError:
            pass
        except DRMAA2Error as exc:
            log.warning("Could not delete the owner of array %s: %s", plan.array_id, exc)
        return removed, left

    def complete_array_submission(self, array_id: str) -> list[str]:
        """Create the tasks of an array that are missing, from its recorded intent.

        For a retry that finds an array its earlier try did not finish
        submitting (the worker was killed): the intent on the owner object
        says which tasks there should be and what they run.

        Args:
            array_id: the array.

        Returns:
            The job IDs of the tasks created now (none if it was complete).

        Raises:
            JobNotFoundError: the array has no owner object (it was never
                submitted, or by a release without one).
        """
        ref = parse_array_id(array_id, self.namespace)
        intent = self._intent(ref)
        if intent is None:
            raise JobNotFoundError(str(ref), message=f"array job {str(ref)!r} has no owner object")
        plan = prepare_array(
            JobTemplate.from_json(intent.template),
            intent.begin,
            intent.end,
            intent.step,
            intent.max_parallel,
            namespace=intent.namespace,
            array_name=intent.name,
        )
        plan = replace(adopt_intent(plan, intent), resumed=True)
        before = self._existing_tasks(plan)
        self._create_tasks(plan)
        return [format_job_id(plan.namespace, n) for n in intent.task_names if n not in before]

    # Reading

    def list_array_jobs(self, array_id: str) -> list[str]:
        """The task job IDs of an array, in task order: every task its intent names.

        Args:
            array_id: an ID from :meth:`add_array_job`, or the Go seed's JSON list.

        Returns:
            Job IDs (a task not created yet is listed too: see
            :meth:`complete_array_submission`).

        Raises:
            JobNotFoundError: no such array.
        """
        ref = parse_array_id(array_id, self.namespace)
        if ref.name is None:
            return [str(job) for job in ref.jobs]
        intent = self._intent(ref)
        if intent is not None:
            return [format_job_id(ref.namespace, name) for name in intent.task_names]
        items, _ = self.api.list_mpi_jobs(ref.namespace, label_selector=array_selector(ref.name))
        waiter = ArrayWaiter(str(ref), ref.namespace, frozenset())
        waiter.snapshot(items)
        return [format_job_id(ref.namespace, name) for name in waiter.names]

    def find_arrays(self, labels: Mapping[str, str]) -> list[str]:
        """The arrays whose template carried all the given labels, oldest first.

        Found by their owner objects, so an array whose submission stopped
        before its first task is found too.

        Args:
            labels: label keys and values (e.g. the Airflow task's labels).

        Returns:
            Array job IDs.
        """
        owners = list_owners(self.api, self.namespace, selector_from_labels(labels))
        found = [owner for owner in oldest_first(owners) if read_intent(owner) is not None]
        return [job_id_of(owner) for owner in found]
