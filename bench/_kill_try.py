"""One kill of a deferred task in a FRESH triggerer process (a child of bench_kill_deferred.py).

Usage::

    python bench/_kill_try.py <kubeconfig> <job_id> <task_state> <first_answer_delay> <cancel_after>

A fresh interpreter imports what a triggerer has loaded, starts Airflow's
``TriggerRunner`` with the real ``MPIJobTrigger`` (its class imported from
the classpath inside the loop, as ``create_triggers`` does) and a supervisor
that answers the task's state (``failed``: a user marked it; ``deferred``: a
handover) only ``first_answer_delay`` seconds after the first request, as a
fresh triggerer does (3.5 s while its in-process API starts; the trigger
asks once when it starts, so the kill usually finds it built). Once the
trigger follows its running job, the user's kill arrives
(``cancel_triggers``: ``run_trigger`` calls ``on_kill``), and after
``cancel_after`` loop steps the triggerer cancels ``on_kill`` (``-1``: never).
The process then keeps running, as a triggerer does, until the kill in
progress ended (8 s at most), and prints
one JSON line: the epoch time of the kill and how the trigger ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from typing import Any

CLASSPATH = "airflow_provider_mpi.triggers.mpi_job.MPIJobTrigger"


class _TaskInstance:
    def __init__(self) -> None:
        self.id = "ti-bench"
        self.dag_id, self.task_id, self.run_id, self.map_index = "bench", "run", "r1", -1
        self.try_number = 1
        self.context_carrier: dict[str, str] = {}


class _Supervisor:
    """Answers GetTaskStates like the triggerer's supervisor: in order, the first late.

    The supervisor builds its in-process Execution API at the first request
    (``delay`` seconds), answering nothing meanwhile; later requests wait
    for that, then are answered at once.
    """

    def __init__(self, state: str, delay: float) -> None:
        self.state, self.delay = state, delay
        self.ready_at: float | None = None

    async def asend(self, msg: Any) -> Any:
        from airflow.sdk.execution_time.comms import TaskStatesResult

        if getattr(msg, "type", None) != "GetTaskStates":
            return None
        loop = asyncio.get_running_loop()
        if self.ready_at is None:
            self.ready_at = loop.time() + self.delay
        await asyncio.sleep(max(0.0, self.ready_at - loop.time()))
        return TaskStatesResult(task_states={msg.run_ids[0]: {msg.task_ids[0]: self.state}})


async def _try(kubeconfig: str, job_id: str, cancel_after: int) -> dict[str, Any]:
    from airflow.jobs.triggerer_job_runner import TriggerRunner

    runner = TriggerRunner()
    trigger_class: Any = runner.get_trigger_by_classpath(CLASSPATH)
    trigger = trigger_class(
        job_id, terminate_on_kill=True, conn_id=None, config_file=kubeconfig, namespace="default"
    )
    trigger.task_instance = _TaskInstance()
    runner.triggers[1] = {"task": None, "name": "bench", "events": 0, "is_watcher": False}
    task = asyncio.create_task(runner.run_trigger(1, trigger))
    runner.triggers[1]["task"] = task
    await asyncio.sleep(1.5)  # the trigger opens its tracker and follows the job
    killed_at = time.time()
    runner.to_cancel.append(1)
    await runner.cancel_triggers()
    if cancel_after >= 0:
        for _ in range(cancel_after):
            await asyncio.sleep(0)
        task.cancel()  # the triggerer cancels on_kill (Airflow swallows it)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # A triggerer lives on, and so does a kill in progress: wait for it (8 s at most).
    from airflow_provider_mpi.triggers.mpi_job import _KILLS

    if _KILLS:
        await asyncio.wait(set(_KILLS), timeout=8.0)
    await asyncio.sleep(0.3)
    return {"killed_at": killed_at, "events": len(runner.events)}


def main(argv: list[str]) -> int:
    kubeconfig, job_id, state, delay, cancel_after = argv
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kill-try-home-"))
    import airflow.jobs.triggerer_job_runner  # noqa: F401  (a triggerer has it loaded)
    from airflow.sdk.execution_time.supervisor import set_supervisor_comms

    with set_supervisor_comms(_Supervisor(state, float(delay))):  # type: ignore[arg-type]
        result = asyncio.run(_try(kubeconfig, job_id, int(cancel_after)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
