"""The deferrable wait: an Airflow trigger over the async tracker's shared watch.

A deferred :class:`~airflow_provider_mpi.operators.mpi_job.MPIJobOperator`,
:class:`~airflow_provider_mpi.operators.mpi_job.MPIJobArrayOperator` or
:class:`~airflow_provider_mpi.sensors.mpi_job.MPIJobSensor` hands its wait to
:class:`MPIJobTrigger`. The trigger holds no job state of its own: it waits
with ``AsyncMPIOperatorTracker.wait`` (one watch stream per cluster and
namespace in the triggerer process, however many triggers wait), so a trigger
rebuilt from :meth:`MPIJobTrigger.serialize` after a triggerer restart simply
waits again and sees the job where the cluster has it.

It fires exactly one event whose payload is :class:`MPIJobTriggerEvent` as a
dict: a :class:`MPIJobTriggerStatus`, the job (or array) ID, the state and the
JobInfo, decided in ``triggers/_event.py``; the operator uses it as it is.
The deadline is absolute (epoch seconds), so it survives a restart and holds
even where Airflow does not enforce the deferral timeout (``dag.test``).

Killing (``triggers/_kill.py``): Airflow calls :meth:`MPIJobTrigger.on_kill` when a user marks,
clears or fails the deferred task, not when the triggerer merely restarts.
That is where the job is terminated, and only when the trigger owns the job
(``terminate_on_kill``: set by the operators, not by the sensor, which
watches someone else's job). Airflow 3.3 also calls it when a triggerer whose
heartbeat lapsed loses the trigger to another triggerer; the trigger then
finds its task still deferred and leaves the job alone. A cleared task goes
on too: its next try reattaches to the job (``reattach_on_retry``), so only
a task marked failed, success or skipped has its job terminated.
``cleanup()`` releases nothing beyond the API client, left by the ``async with``:
triggers of one event loop reaching the same cluster the same way share one
client and one tracker per namespace (``AsyncMPIOperatorHook.get_tracker``),
closed when the last of them leaves.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error, InvalidArgumentError, WaitTimeoutError
from airflow_provider_mpi.drmaa2.state import END_STATES, JobState
from airflow_provider_mpi.hooks._compat import AirflowNotFoundException
from airflow_provider_mpi.hooks._kube_config import KubeAccess
from airflow_provider_mpi.hooks.async_mpi_operator import AsyncMPIOperatorHook
from airflow_provider_mpi.triggers._event import (
    MPIJobTriggerEvent,
    MPIJobTriggerStatus,
    array_outcome,
    job_outcome,
)
from airflow_provider_mpi.triggers._kill import (  # noqa: F401  (_KILLS, _WARM_UPS: tests)
    _KILLS,
    _WARM_UPS,
    KILL_DECISION_SECONDS,
    KILL_TERMINATE_SECONDS,
    KillOnUserAction,
    SeesCancel,
)

__all__ = ["MPIJobTrigger", "MPIJobTriggerEvent", "MPIJobTriggerStatus"]


def _states(values: Iterable[JobState | str | int]) -> tuple[JobState, ...]:
    states = tuple(JobState.parse(value) for value in values)
    if not states:
        raise InvalidArgumentError("target_states", [], "at least one state is needed")
    return states


@functools.lru_cache(maxsize=64)
def _awaited(targets: frozenset[JobState]) -> tuple[JobState, ...]:
    """The states a job wait ends at, one tuple per target set shared by its waiters."""
    return tuple(dict.fromkeys((*sorted(targets), *sorted(END_STATES))))


class MPIJobTrigger(KillOnUserAction, BaseTrigger):
    """Wait for an MPIJob (or every task of an array job) to end or reach target states.

    Args:
        job_id: the job to wait for (exactly one of ``job_id``/``array_id``).
        array_id: the array job to wait for; held tasks are released as
            earlier ones end so that its ``max_parallel`` holds.
        target_states: states that count as success (names or ``JobState``);
            the wait also ends at Done and Failed.
        failed_is_target: count Failed as success (a sensor's choice).
        deadline: epoch seconds after which a TIMEOUT event fires; None waits
            without limit.
        terminate_on_kill: terminate the job when a user kills the deferred
            task (the operators own their jobs; a sensor does not).
        reattach_on_retry: the task's next try follows this job (the
            operators' ``reattach_on_retry``): a kill that leaves the task
            going on (a clear) leaves the job running for that try.
        conn_id: the ``kubernetes`` connection, read in the triggerer.
        namespace: the jobs' namespace.
        config_file: a kube config path overriding the connection.
        cluster_context: a kube config context.
        in_cluster: use the triggerer's service account.
        kube_config: a kube config resolved by the worker, for a connection
            the triggerer cannot see.
    """

    def __init__(
        self,
        job_id: str | None = None,
        *,
        array_id: str | None = None,
        target_states: Sequence[JobState | str | int] = ("Done",),
        failed_is_target: bool = False,
        deadline: float | None = None,
        terminate_on_kill: bool = False,
        reattach_on_retry: bool = False,
        conn_id: str | None = "kubernetes_default",
        namespace: str | None = None,
        config_file: str | None = None,
        cluster_context: str | None = None,
        in_cluster: bool | None = None,
        kube_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if (job_id is None) == (array_id is None):
            raise InvalidArgumentError(
                "job_id", job_id, f"give exactly one of job_id and array_id (array_id={array_id!r})"
            )
        self.job_id = job_id
        self.array_id = array_id
        self.target_states = _states(target_states)
        self.failed_is_target = failed_is_target
        self.deadline = deadline
        self.terminate_on_kill = terminate_on_kill
        self.reattach_on_retry = reattach_on_retry
        self.access = KubeAccess(
            conn_id=conn_id,
            namespace=namespace,
            config_file=config_file,
            cluster_context=cluster_context,
            in_cluster=in_cluster,
            kube_config=kube_config,
        )

    @property
    def _targets(self) -> frozenset[JobState]:
        targets = set(self.target_states)
        if self.failed_is_target:
            targets.add(JobState.FAILED)
        return frozenset(targets)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the keyword arguments of ``__init__``."""
        cls = type(self)
        return (
            f"{cls.__module__}.{cls.__qualname__}",
            {
                "job_id": self.job_id,
                "array_id": self.array_id,
                "target_states": [state.go_name for state in self.target_states],
                "failed_is_target": self.failed_is_target,
                "deadline": self.deadline,
                "terminate_on_kill": self.terminate_on_kill,
                "reattach_on_retry": self.reattach_on_retry,
                **self.access.to_kwargs(),
            },
        )

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        if kwargs.get("kube_config"):
            kwargs["kube_config"] = "***"
        return str(self.repr(classpath, kwargs))

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.time())

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait, then fire one event with an :class:`MPIJobTriggerEvent` payload."""
        subject = self.job_id if self.job_id is not None else str(self.array_id)
        if self.terminate_on_kill:
            self._warm_up()
        try:
            async with AsyncMPIOperatorHook.from_access(self.access).get_tracker() as tracker:
                # The tracker's wait, awaited straight from this frame (no
                # coroutine nor task of the trigger's own around it, which a
                # waiting trigger would keep); a cancellation reaches
                # _on_cancel before the wait, its message intact: unwinding
                # the wait awaits (the shared watch, the client), and a second
                # cancel meanwhile would replace the user's message.
                if self.job_id is not None:
                    # The JobInfo comes with the end, from the shared watches:
                    # no read per ending job.
                    state, info = await SeesCancel(
                        tracker.wait_info(self.job_id, self._remaining(), *_awaited(self._targets)),
                        self,
                    )
                    event = job_outcome(self.job_id, state, info, self._targets)
                else:
                    states = await SeesCancel(
                        tracker.wait_array(subject, self._remaining(), *sorted(END_STATES)),
                        self,
                    )
                    event = array_outcome(subject, states)
        except asyncio.CancelledError as exc:
            self._on_cancel(exc)
            raise
        except WaitTimeoutError as exc:
            last = exc.last_state if isinstance(exc.last_state, JobState) else None
            event = MPIJobTriggerEvent(
                MPIJobTriggerStatus.TIMEOUT,
                subject,
                state=last if self.job_id is not None else None,
                message=str(exc),
            )
        except DRMAA2Error as exc:
            event = MPIJobTriggerEvent(MPIJobTriggerStatus.ERROR, subject, message=str(exc))
        except AirflowNotFoundException as exc:  # the triggerer cannot see the connection
            event = MPIJobTriggerEvent(
                MPIJobTriggerStatus.ERROR,
                subject,
                message=f"{exc} in the triggerer (pass_kube_config_to_trigger=True "
                "passes the worker's kube config to the trigger)",
            )
        yield TriggerEvent(event.to_dict())  # type: ignore[no-untyped-call]
