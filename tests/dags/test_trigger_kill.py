"""Issue 12, items 5 and 6: a kill while deferred always stops the job; the loop is never blocked.

The kill runs through Airflow's own ``TriggerRunner``: ``cancel_triggers``
(what a user's mark-failed or clear does) makes ``run_trigger`` call
``on_kill`` under ``asyncio.wait_for``; the triggerer then cancels the
runner's task again after 0, 1, 2, ... loop steps, i.e. at every await point
of ``on_kill``, and Airflow swallows that ``CancelledError``. The job must be
terminated every time, the handover case (the task is still deferred) must
leave it running every time, and a supervisor that takes 3.5 s to answer
(the reported first kill of a fresh triggerer) must not change either.

The event-loop test runs triggers in a fresh interpreter (``loop_probe.py``)
with asyncio's slow-callback detection at 50 ms.
"""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import asyncio
import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from airflow.jobs.triggerer_job_runner import TriggerRunner

from airflow_provider_mpi.drmaa2 import JobState, JobTemplate
from airflow_provider_mpi.hooks.mpi_operator import AsyncMPIOperatorHook, MPIOperatorHook
from airflow_provider_mpi.triggers.mpi_job import _KILLS, _WARM_UPS, MPIJobTrigger
from tests.airflow_versions import needs_airflow
from tests.dags.jobs import scripted_template

PROBE = Path(__file__).with_name("loop_probe.py")
#: Before 3.3 Airflow's TriggerRunner never calls a trigger's on_kill: a killed deferred
#: task's job keeps running and the next try reattaches to it (docs/airflow.md).
ON_KILL = needs_airflow("3.3", "the TriggerRunner calling BaseTrigger.on_kill on a user's kill")
#: Loop steps after the user's kill at which the triggerer cancels again.
CANCEL_STEPS = [None, 0, 1, 2, 3, 5, 8, 13, 21, 40]


class _TaskInstance:
    def __init__(self) -> None:
        self.id = "ti-1"
        self.dag_id, self.task_id, self.run_id, self.map_index = "d", "run", "r1", -1
        self.try_number = 1
        self.context_carrier: dict[str, str] = {}


class _Comms:
    """The triggerer's supervisor answering the task's state, after ``delay`` seconds."""

    def __init__(self, state: str | None, delay: float = 0.0) -> None:
        self.state, self.delay = state, delay
        self.asked = 0

    async def asend(self, msg: Any) -> Any:
        from airflow.sdk.execution_time.comms import TaskStatesResult

        if getattr(msg, "type", None) != "GetTaskStates":
            return None
        self.asked += 1
        await asyncio.sleep(self.delay)
        return TaskStatesResult(task_states={msg.run_ids[0]: {msg.task_ids[0]: self.state}})


def _submit() -> str:
    tracker = MPIOperatorHook().get_tracker()
    return tracker.add_job(JobTemplate.from_dict(scripted_template(duration=3600)))


def _state(job_id: str) -> tuple[JobState, str]:
    return MPIOperatorHook().get_tracker().job_state(job_id)


class _Trigger(MPIJobTrigger):
    """The real trigger; tells the test when Airflow entered ``on_kill``."""

    entered: asyncio.Event

    async def on_kill(self) -> None:
        self.entered.set()
        await super().on_kill()


def _trigger(job_id: str) -> _Trigger:
    trigger = _Trigger(job_id, terminate_on_kill=True)
    trigger.entered = asyncio.Event()
    trigger.task_instance = _TaskInstance()  # type: ignore[assignment]
    return trigger


async def _after_the_kill(job_id: str) -> tuple[JobState, str]:
    """The job's state once every kill in progress ended (they outlive on_kill)."""
    while _KILLS:
        await asyncio.wait(set(_KILLS))
    return await asyncio.to_thread(_state, job_id)


async def _kill_through_the_runner(
    trigger: _Trigger, cancel_after: int | None, job_id: str, *, counted_from: str = "on_kill"
) -> None:
    runner = TriggerRunner()
    runner.triggers[1] = {"task": None, "name": "mpi", "events": 0, "is_watcher": False}  # type: ignore[typeddict-item]
    task = asyncio.create_task(runner.run_trigger(1, trigger))
    runner.triggers[1]["task"] = task
    # the trigger waits on the job (its shared watch is open) before the kill
    async with AsyncMPIOperatorHook.from_access(trigger.access).get_tracker() as tracker:
        await tracker.wait(job_id, 60, JobState.RUNNING)
    await asyncio.sleep(0.1)
    runner.to_cancel.append(1)
    await runner.cancel_triggers()  # the user's action: run_trigger calls on_kill
    if cancel_after is not None:
        if counted_from == "on_kill":
            await trigger.entered.wait()
        for _ in range(cancel_after):
            await asyncio.sleep(0)
        task.cancel()  # the triggerer cancels on_kill at this await point
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert not runner.events  # killed: no event


@ON_KILL
@pytest.mark.parametrize("counted_from", ["on_kill", "kill"])
@pytest.mark.parametrize("delay", [0.0, 3.5], ids=["prompt-supervisor", "slow-supervisor"])
@pytest.mark.parametrize("cancel_after", CANCEL_STEPS)
async def test_a_kill_terminates_the_job_whenever_on_kill_is_cancelled(
    cluster: Any, cancel_after: int | None, delay: float, counted_from: str
) -> None:
    """Cancelled at each await point of on_kill, or even before Airflow got to call it.

    Counted from the kill, a cancel in the first steps lands before
    ``run_trigger`` has started ``on_kill`` (its ``wait_for`` cancels the
    coroutine before its first line): the trigger's ``run`` saw the user's
    cancellation already and started the kill then.
    """
    from airflow.sdk.execution_time.supervisor import set_supervisor_comms

    job_id = _submit()
    comms = _Comms("failed", delay)  # the user marked the task failed
    with set_supervisor_comms(comms):  # type: ignore[arg-type]
        await _kill_through_the_runner(
            _trigger(job_id), cancel_after, job_id, counted_from=counted_from
        )
        assert await _after_the_kill(job_id) == (JobState.FAILED, "terminated")


@ON_KILL
@pytest.mark.parametrize("cancel_after", [None, 0, 1, 3, 8, 40])
async def test_a_handover_leaves_the_job_running_whenever_on_kill_is_cancelled(
    cluster: Any, cancel_after: int | None
) -> None:
    from airflow.sdk.execution_time.supervisor import set_supervisor_comms

    job_id = _submit()
    comms = _Comms("deferred")  # still deferred: the trigger moved to another triggerer
    with set_supervisor_comms(comms):  # type: ignore[arg-type]
        await _kill_through_the_runner(_trigger(job_id), cancel_after, job_id)
        state = await _after_the_kill(job_id)
    assert comms.asked >= 1  # the kill's question (and the warm-up's, once per loop)
    assert state[0] is JobState.RUNNING


@ON_KILL
def test_the_first_trigger_of_a_loop_asks_the_task_state_before_any_kill(cluster: Any) -> None:
    """The supervisor of a fresh triggerer builds its in-process Execution API at the
    first state request (3 s or more in a real deployment, past the decision bound).
    The first trigger of a loop asks once when it starts, so that cost is paid
    before a kill; a second trigger of the same loop does not ask again."""
    from airflow.sdk.execution_time.supervisor import set_supervisor_comms

    asked_at: list[str] = []
    phase = ["started"]

    class _Recording(_Comms):
        async def asend(self, msg: Any) -> Any:
            if getattr(msg, "type", None) == "GetTaskStates":
                asked_at.append(phase[0])
            return await super().asend(msg)

    first, second = _submit(), _submit()

    async def scenario() -> None:  # a fresh event loop, as in a fresh triggerer
        with set_supervisor_comms(_Recording("failed")):  # type: ignore[arg-type]
            runner = TriggerRunner()
            tasks = {}
            for number, job_id in ((1, first), (2, second)):
                trigger = _trigger(job_id)
                runner.triggers[number] = {
                    "task": None,
                    "name": "mpi",
                    "events": 0,
                    "is_watcher": False,
                }  # type: ignore[typeddict-item]
                tasks[number] = asyncio.create_task(runner.run_trigger(number, trigger))
                runner.triggers[number]["task"] = tasks[number]
            async with AsyncMPIOperatorHook.from_access(trigger.access).get_tracker() as tracker:
                await tracker.wait(second, 60, JobState.RUNNING)
            while _WARM_UPS:
                await asyncio.wait(set(_WARM_UPS))
            phase[0] = "killed"
            runner.to_cancel.extend((1, 2))
            await runner.cancel_triggers()
            for task in tasks.values():
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            while _KILLS:
                await asyncio.wait(set(_KILLS))

    asyncio.run(scenario())
    assert asked_at == ["started", "killed", "killed"]
    assert {_state(job_id) for job_id in (first, second)} == {(JobState.FAILED, "terminated")}


def _probe(kubeconfig: str, wait_id: str, kill_ids: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(PROBE), kubeconfig, wait_id, *kill_ids],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    last = [line for line in out.stdout.splitlines() if line.startswith("{")][-1]
    return dict(json.loads(last))


@ON_KILL  # its kills must terminate their jobs
def test_first_triggers_of_a_fresh_triggerer_never_block_the_loop(cluster: Any) -> None:
    """Slow-callback detection at 50 ms in a fresh interpreter: the first triggers, a kill.

    Airflow's own ``create_triggers`` imports the trigger module inside the
    loop; the probe reports that step apart (``import_block``), and the
    trigger module is kept light for it: that import loads none of the client
    libraries (checked by module name, not by time).

    Before the fix the first trigger blocked the loop 0.7-4 s (lazy imports of
    ``kubernetes_asyncio`` and the async tracker inside the loop): every run
    failed. Timing on a shared 2-core machine can add a stray slow callback
    (a GC pause, the scheduler), which does not repeat; a blocking import
    does, in every fresh interpreter. So a clean run out of three passes.

    A blocking call that is short on an idle machine escapes timing: the TLS
    context of the first API client (``ssl.create_default_context`` in
    ``kubernetes_asyncio``'s constructor) took 1-30 ms idle and 52-181 ms
    under load. The probe therefore also records, by thread, every TLS
    context built and every file opened on the loop's thread (kube config,
    certificates, tokens): there must be none, in every run. Before the
    client was built in a thread, each run had one TLS context and three
    files (the kube config and the CA written to a temporary file, twice).
    """
    runs = []
    for _ in range(3):
        tracker = MPIOperatorHook().get_tracker()
        wait_id = tracker.add_job(JobTemplate.from_dict(scripted_template(duration=2)))
        kill_ids = [_submit() for _ in range(3)]
        result = _probe(cluster.kubeconfig_path, wait_id, kill_ids)
        assert [event["status"] for event in result["events"]] == ["success"]
        assert {_state(job_id) for job_id in kill_ids} == {(JobState.FAILED, "terminated")}
        runs.append(result)
        if not result["slow_callbacks"]:
            break
    assert not runs[-1]["slow_callbacks"], [run["slow_callbacks"] for run in runs]
    assert all(run["heavy_imports_in_loop"] == [] for run in runs), runs
    assert [run["tls_in_loop"] for run in runs] == [[] for _ in runs], runs
    assert [run["files_in_loop"] for run in runs] == [[] for _ in runs], runs
