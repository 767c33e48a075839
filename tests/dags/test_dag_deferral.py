"""Deferred MPIJobOperator runs: timeout, triggerer restart and a user kill while deferred.

``dag.test()`` runs a deferred task's trigger inline, rebuilt from its
serialized kwargs. For restart and kill the DAG's operator defers to a small
trigger subclass that drives the real ``MPIJobTrigger`` through Airflow's own
``TriggerRunner.run_trigger``: cancelled without a message (what a triggerer
shutdown does) or through ``cancel_triggers`` (what a user's mark-failed or
clear does, which invokes ``on_kill``).
"""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from airflow.jobs.triggerer_job_runner import TriggerRunner
from airflow.sdk import DAG
from airflow.triggers.base import TriggerEvent

from airflow_provider_mpi.drmaa2 import JobState
from airflow_provider_mpi.hooks.mpi_operator import AsyncMPIOperatorHook, MPIOperatorHook
from airflow_provider_mpi.operators.mpi_job import MPIJobOperator
from airflow_provider_mpi.triggers.mpi_job import (
    MPIJobTrigger,
    MPIJobTriggerEvent,
    MPIJobTriggerStatus,
)
from tests.airflow_versions import needs_airflow
from tests.dags.dagrun import task_states, xcom
from tests.dags.jobs import scripted_template

#: The tests below drive Airflow's TriggerRunner themselves (run_trigger, cancel_triggers).
RUNNER = needs_airflow("3.1", "the TriggerRunner.run_trigger these tests drive (3.0's differs)")

#: What the test triggers observed, for the assertions.
OBSERVED: dict[str, Any] = {}


async def _until_running(trigger: MPIJobTrigger) -> None:
    async with AsyncMPIOperatorHook.from_access(trigger.access).get_tracker() as tracker:
        await tracker.wait(str(trigger.job_id), 60, JobState.RUNNING)


def _runner_with(trigger: MPIJobTrigger) -> tuple[TriggerRunner, asyncio.Task[None]]:
    """Start ``trigger`` in a real TriggerRunner, as the triggerer would (trigger id 1)."""
    runner = TriggerRunner()
    runner.triggers[1] = {"task": None, "name": "mpi", "events": 0, "is_watcher": False}  # type: ignore[typeddict-item]
    task = asyncio.create_task(runner.run_trigger(1, trigger))
    runner.triggers[1]["task"] = task
    return runner, task


def _rebuilt(trigger: MPIJobTrigger) -> MPIJobTrigger:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)  # type: ignore[no-any-return]


def _event_of(entry: Any) -> TriggerEvent:
    """A queued event of the runner (Airflow before 3.3 queues ``(trigger id, event)``)."""
    return entry.event if hasattr(entry, "event") else entry[1]  # type: ignore[no-any-return]


class TriggererRestarts(MPIJobTrigger):
    """The triggerer stops while the job runs; a new one rebuilds the trigger and waits again."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        first = MPIJobTrigger(**self.serialize()[1])
        runner, task = _runner_with(first)
        await _until_running(first)
        task.cancel()  # shutdown: no user-action message, so no on_kill
        with contextlib.suppress(asyncio.CancelledError):
            await task
        OBSERVED["state_after_restart"] = (
            MPIOperatorHook().get_tracker().job_state(str(self.job_id))[0]
        )
        OBSERVED["events_before_restart"] = len(runner.events)
        second = _rebuilt(first)
        runner, task = _runner_with(second)
        await task
        OBSERVED["events_after_restart"] = len(runner.events)
        yield _event_of(runner.events[0])


class UserKillsTask(MPIJobTrigger):
    """A user marks the deferred task failed while the job runs."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        inner = MPIJobTrigger(**self.serialize()[1])
        runner, task = _runner_with(inner)
        await _until_running(inner)
        runner.to_cancel.append(1)
        await runner.cancel_triggers()  # the user-action path: on_kill runs
        with contextlib.suppress(asyncio.CancelledError):
            await task
        OBSERVED["events_after_kill"] = len(runner.events)
        # In Airflow the task is now failed by the user and never resumes; dag.test
        # needs an event to end the task, so report what the user did.
        yield TriggerEvent(
            MPIJobTriggerEvent(
                MPIJobTriggerStatus.ERROR, str(self.job_id), message="killed by the user"
            ).to_dict()
        )


class _Operator(MPIJobOperator):
    trigger_class: type[MPIJobTrigger] = MPIJobTrigger

    def _trigger(self, **kwargs: Any) -> MPIJobTrigger:
        real = super()._trigger(**kwargs)
        return self.trigger_class(**real.serialize()[1])


class RestartOperator(_Operator):
    trigger_class = TriggererRestarts


class KillOperator(_Operator):
    trigger_class = UserKillsTask


def test_timeout_while_deferred_fails_and_terminates(cluster: Any, run_dag: Any) -> None:
    with DAG("mpi_deferred_timeout", schedule=None) as dag:
        MPIJobOperator(
            task_id="run",
            job_template=scripted_template(duration=3600),
            deferrable=True,
            wait_timeout=2,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "failed"}
    job_id = xcom(dagrun, "run", "job_id")
    tracker = MPIOperatorHook().get_tracker()
    state, sub_state = tracker.job_state(job_id)
    assert state is JobState.FAILED
    assert "terminat" in sub_state.lower()


@RUNNER
def test_triggerer_restart_resumes_from_serialize(cluster: Any, run_dag: Any) -> None:
    OBSERVED.clear()
    with DAG("mpi_deferred_restart", schedule=None) as dag:
        RestartOperator(task_id="run", job_template=scripted_template(duration=20), deferrable=True)
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "success"}
    assert OBSERVED["state_after_restart"] is JobState.RUNNING  # the restart did not kill it
    assert OBSERVED["events_before_restart"] == 0
    assert OBSERVED["events_after_restart"] == 1
    assert MPIOperatorHook().get_tracker().list_jobs() == [xcom(dagrun, "run", "job_id")]


@pytest.mark.parametrize(
    "cancel_on_kill",
    [
        pytest.param(
            True,
            marks=needs_airflow("3.3", "the TriggerRunner calling BaseTrigger.on_kill on a kill"),
        ),
        False,
    ],
)
@RUNNER
def test_user_kill_while_deferred_terminates_the_job(
    cluster: Any, run_dag: Any, cancel_on_kill: bool
) -> None:
    OBSERVED.clear()
    with DAG(f"mpi_deferred_kill_{cancel_on_kill}", schedule=None) as dag:
        KillOperator(
            task_id="run",
            job_template=scripted_template(duration=3600),
            deferrable=True,
            cancel_on_kill=cancel_on_kill,
        )
    dagrun = run_dag(dag)
    assert task_states(dagrun) == {"run": "failed"}
    assert OBSERVED["events_after_kill"] == 0
    job_id = xcom(dagrun, "run", "job_id")
    state, sub_state = MPIOperatorHook().get_tracker().job_state(job_id)
    if cancel_on_kill:
        assert state is JobState.FAILED
        assert "terminat" in sub_state.lower()
    else:  # the user chose to keep the job running
        assert state is JobState.RUNNING
