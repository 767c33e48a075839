"""MPIJobTrigger against the emulator: every event status, and one watch for many triggers."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import asyncio
import time
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import JobState, JobTemplate
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.triggers.mpi_job import (
    MPIJobTrigger,
    MPIJobTriggerEvent,
    MPIJobTriggerStatus,
)
from tests.airflow_versions import needs_airflow
from tests.dags.jobs import scripted_template


def _submit(**script: Any) -> str:
    tracker = MPIOperatorHook().get_tracker()
    return tracker.add_job(JobTemplate.from_dict(scripted_template(**script)))


async def _fire(trigger: MPIJobTrigger) -> MPIJobTriggerEvent:
    events = [event async for event in trigger.run()]
    assert len(events) == 1  # exactly one event
    return MPIJobTriggerEvent.from_dict(events[0].payload)


@pytest.mark.parametrize(
    ("script", "kwargs", "status", "state"),
    [
        ({}, {}, MPIJobTriggerStatus.SUCCESS, JobState.DONE),
        ({"exit_code": 5}, {}, MPIJobTriggerStatus.FAILED, JobState.FAILED),
        (
            {"exit_code": 5},
            {"failed_is_target": True},
            MPIJobTriggerStatus.SUCCESS,
            JobState.FAILED,
        ),
        (
            {"duration": 3600},
            {"target_states": ["Running"]},
            MPIJobTriggerStatus.SUCCESS,
            JobState.RUNNING,
        ),
    ],
    ids=["done", "failed", "failed-is-target", "running-target"],
)
async def test_event_status(
    cluster: Any, script: dict[str, Any], kwargs: dict[str, Any], status: Any, state: JobState
) -> None:
    job_id = _submit(**script)
    event = await _fire(MPIJobTrigger(job_id, **kwargs))
    assert event.status is status
    assert event.state is state
    assert event.job_info is not None
    assert event.job_info.id == job_id


async def test_deadline_gives_a_timeout_event(cluster: Any) -> None:
    job_id = _submit(duration=3600)
    event = await _fire(MPIJobTrigger(job_id, deadline=time.time() + 0.5))
    assert event.status is MPIJobTriggerStatus.TIMEOUT
    assert MPIOperatorHook().get_tracker().job_state(job_id)[0] is not JobState.FAILED


async def test_unknown_job_gives_an_error_event(cluster: Any) -> None:
    event = await _fire(MPIJobTrigger("default/no-such-job"))
    assert event.status is MPIJobTriggerStatus.ERROR
    assert "no-such-job" in event.message


async def test_array_event_reports_task_states(cluster: Any) -> None:
    tracker = MPIOperatorHook().get_tracker()
    array_id = tracker.add_array_job(JobTemplate.from_dict(scripted_template()), 1, 3, 1, 1)
    event = await _fire(MPIJobTrigger(array_id=array_id))
    assert event.status is MPIJobTriggerStatus.SUCCESS
    assert event.task_states == dict.fromkeys(tracker.list_array_jobs(array_id), JobState.DONE)


@pytest.mark.parametrize(("terminate_on_kill", "ends"), [(True, JobState.FAILED), (False, None)])
async def test_on_kill_terminates_only_owned_jobs(
    cluster: Any, terminate_on_kill: bool, ends: JobState | None
) -> None:
    job_id = _submit(duration=3600)
    await MPIJobTrigger(job_id, terminate_on_kill=terminate_on_kill).on_kill()
    state, _ = MPIOperatorHook().get_tracker().job_state(job_id)
    assert state is ends if ends else not state.is_terminal


@pytest.mark.emulator_only("counts requests")
async def test_many_triggers_share_one_watch(cluster: Any) -> None:
    job_ids = [_submit(duration=10) for _ in range(20)]
    before = cluster.requests.count(verb="watch", resource="mpijobs")
    events = await asyncio.gather(*(_fire(MPIJobTrigger(job_id)) for job_id in job_ids))
    assert {event.status for event in events} == {MPIJobTriggerStatus.SUCCESS}
    # A stream is counted when it ends; the hub ends it once the last waiter left.
    deadline = time.monotonic() + 10
    while cluster.requests.count(verb="watch", resource="mpijobs") == before:
        assert time.monotonic() < deadline, "the shared watch never ended"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # any second stream would have ended by now too
    watches = cluster.requests.count(verb="watch", resource="mpijobs") - before
    assert watches == 1, f"{watches} watch streams for 20 triggers"


async def test_hook_opens_an_async_tracker(cluster: Any) -> None:
    job_id = _submit()
    async with MPIOperatorHook().get_async_tracker() as tracker:
        assert await tracker.wait(job_id, 30) is JobState.DONE
        assert (await tracker.job_info(job_id)).exit_status == 0


class _TaskInstance:
    def __init__(self, map_index: int = -1) -> None:
        self.dag_id, self.task_id, self.run_id, self.map_index = "d", "run", "r1", map_index


class _Comms:
    """What the triggerer's supervisor answers about task states (Execution API)."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.asked: list[Any] = []

    async def asend(self, msg: Any) -> Any:
        from airflow.sdk.execution_time.comms import TaskStatesResult

        if getattr(msg, "type", None) != "GetTaskStates":
            return None  # e.g. MaskSecret for the connection read from the environment
        self.asked.append(msg)
        key = msg.task_ids[0] if msg.map_index < 0 else f"{msg.task_ids[0]}_{msg.map_index}"
        return TaskStatesResult(task_states={msg.run_ids[0]: {key: self.state}})


@needs_airflow("3.1", "supervisor comms with asend (3.0 reads connections through send)")
@pytest.mark.parametrize("map_index", [-1, 2])
@pytest.mark.parametrize(
    ("task_state", "reattach", "ends"),
    [
        ("deferred", False, None),
        ("failed", True, JobState.FAILED),
        ("success", True, JobState.FAILED),
        ("skipped", True, JobState.FAILED),
        (None, True, None),
        ("scheduled", True, None),
        ("running", True, None),
        (None, False, JobState.FAILED),
        ("running", False, JobState.FAILED),
    ],
    ids=[
        "handed-over",
        "marked-failed",
        "marked-success",
        "marked-skipped",
        "cleared-reattaches",
        "cleared-scheduled-reattaches",
        "cleared-new-try-running-reattaches",
        "cleared-no-reattach",
        "cleared-new-try-running-no-reattach",
    ],
)
async def test_on_kill_spares_a_trigger_handed_to_another_triggerer(
    cluster: Any, map_index: int, task_state: str | None, reattach: bool, ends: JobState | None
) -> None:
    """Mark failed/success/skipped terminate; a handover, or a clear whose next try
    reattaches to the job (the operators' ``reattach_on_retry``), leave it running."""
    from airflow.sdk.execution_time.supervisor import set_supervisor_comms

    job_id = _submit(duration=3600)
    trigger = MPIJobTrigger(job_id, terminate_on_kill=True, reattach_on_retry=reattach)
    trigger.task_instance = _TaskInstance(map_index)  # type: ignore[assignment]
    comms = _Comms(task_state)  # type: ignore[arg-type]
    with set_supervisor_comms(comms):
        await trigger.on_kill()
    assert len(comms.asked) == 1
    state, _ = MPIOperatorHook().get_tracker().job_state(job_id)
    assert state is ends if ends else not state.is_terminal
