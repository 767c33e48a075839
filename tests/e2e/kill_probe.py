"""Kills of deferred tasks in a real Airflow deployment (``bench/bench_kill_triggerer.py``, tests).

A :class:`KillProbe` drives a running deployment (``tests/e2e/deployment.py``)
through its public REST API as the ``admin`` user: it starts runs of the DAGs
of ``tests/e2e/dag_kill_probe.py``, waits for their task to be deferred with
its trigger running in a given triggerer, marks the task failed or clears it
(what a user does in the UI), restarts or freezes triggerers, and follows
the MPIJob on the cluster with the sync tracker every 50 ms.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow_provider_mpi.mpioperator import MPIOperatorTracker
from tests.e2e.deployment import Airflow, wait_for

__all__ = ["CLEAR_DAG", "DEADLINE", "KILL_DAG", "Kill", "KillProbe", "Spared", "seconds_text"]

KILL_DAG = "mpi_kill_probe"
CLEAR_DAG = "mpi_clear_probe"
TASK = "run"
#: Seconds from the user's request to the job's terminated state (issue 12 item 6).
DEADLINE = 5.0
#: How long a kill that missed the deadline is followed further, to tell late from never.
FOLLOW = 30.0


@dataclass
class Kill:
    """One kill: how long from the request to the job terminated (None: not within FOLLOW)."""

    how: str  # "mark failed" or "clear"
    fresh: bool  # the first kill of a triggerer started while the task was deferred
    seconds: float | None
    state: str  # the job's state/sub-state at the end
    decision: str  # what the trigger logged about the task's state
    after_start: float | None = None  # seconds from the trigger's start in that triggerer


@dataclass
class Spared:
    """A case where the job must keep running: a restart, a handover, a clear without cancel."""

    what: str
    running: bool
    detail: str


class KillProbe:
    """Runs and kills deferred ``MPIJobOperator`` tasks of a real deployment."""

    def __init__(self, airflow: Airflow, kubeconfig_path: str) -> None:
        self.airflow = airflow
        self.token = airflow.token("admin")
        self.tracker = MPIOperatorTracker(kubeconfig_path)
        self.jobs: list[str] = []
        self._restarts = 0
        for dag in (KILL_DAG, CLEAR_DAG):
            wait_for(f"the DAG {dag} to be parsed", lambda dag=dag: self._get(f"/dags/{dag}"), 240)
            self._call("PATCH", f"/dags/{dag}", json={"is_paused": False})

    # -- REST -------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.airflow.api(method, "/api/v2" + path, self.token, **kwargs)
        if not response.ok:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def _get(self, path: str) -> Any:
        response = self.airflow.api("GET", "/api/v2" + path, self.token)
        return response.json() if response.ok else None

    def _ti_path(self, dag: str, run_id: str) -> str:
        return f"/dags/{dag}/dagRuns/{quote(run_id, safe='')}/taskInstances/{TASK}"

    def task(self, dag: str, run_id: str) -> dict[str, Any]:
        """The task instance as the API returns it."""
        return dict(self._call("GET", self._ti_path(dag, run_id)))

    def start_run(self, dag: str = KILL_DAG, duration: int = 300) -> str:
        """Trigger a run of ``dag`` whose job works ``duration`` s; its run ID."""
        run = self._call(
            "POST",
            f"/dags/{dag}/dagRuns",
            json={"logical_date": None, "conf": {"duration": duration}},
        )
        return str(run["dag_run_id"])

    def trigger_log(self, dag: str, run_id: str, try_number: int, triggerer: int) -> str:
        """What the trigger of that try logged in that triggerer (its log file)."""
        return self._read(
            self._log_dir(dag, run_id) / f"attempt={try_number}.log.trigger.{triggerer}.log"
        )

    def task_log(self, dag: str, run_id: str, try_number: int) -> str:
        """What the worker of that try logged."""
        return self._read(self._log_dir(dag, run_id) / f"attempt={try_number}.log")

    def _log_dir(self, dag: str, run_id: str) -> Path:
        return self.airflow.home / "logs" / f"dag_id={dag}" / f"run_id={run_id}" / f"task_id={TASK}"

    @staticmethod
    def _read(path: Path) -> str:
        return path.read_text(errors="replace") if path.exists() else ""

    # -- waiting ----------------------------------------------------------------------------
    def deferred(
        self, dag: str, run_id: str, try_number: int = 1, not_in: int | None = None
    ) -> tuple[str, int]:
        """Wait until the try is deferred, its job Running and its trigger started in a
        triggerer other than ``not_in``; (job ID, triggerer job ID)."""

        def ready() -> tuple[str, int] | None:
            ti = self.task(dag, run_id)
            trigger = ti.get("trigger") or {}
            triggerer = trigger.get("triggerer_id")
            if ti["state"] != "deferred" or ti["try_number"] != try_number or not triggerer:
                return None
            if triggerer == not_in or "starting" not in self.trigger_log(
                dag, run_id, try_number, triggerer
            ):
                return None
            xcom = self._call("GET", self._ti_path(dag, run_id) + "/xcomEntries/job_id")
            job_id = str(xcom["value"]).strip('"')
            if self.tracker.job_state(job_id)[0].name != "RUNNING":
                return None
            return job_id, int(triggerer)

        job_id, triggerer = wait_for(f"{dag} {run_id} try {try_number} deferred", ready, 300)
        if job_id not in self.jobs:
            self.jobs.append(job_id)
        return job_id, triggerer

    def terminated_after(self, job_id: str, since: float) -> tuple[float | None, str]:
        """Follow the job every 50 ms; (seconds from ``since`` to terminal, or None; state)."""
        while time.time() - since < FOLLOW:
            state, sub_state = self.tracker.job_state(job_id)
            if state.is_terminal:
                return time.time() - since, f"{state.name}/{sub_state}"
            time.sleep(0.05)
        state, sub_state = self.tracker.job_state(job_id)
        return None, f"{state.name}/{sub_state}"

    # -- user actions -------------------------------------------------------------------------
    def kill(
        self,
        dag: str,
        run_id: str,
        job_id: str,
        triggerer: int,
        *,
        fresh: bool,
        how: str = "mark failed",
        try_number: int = 1,
    ) -> Kill:
        """Mark the task failed (or clear it) as a user does; follow its job."""
        started = time.time()
        if how == "clear":
            self.clear(dag, run_id)
        else:
            self.mark_failed(dag, run_id)
        seconds, state = self.terminated_after(job_id, started)
        log = self.trigger_log(dag, run_id, try_number, triggerer)
        # The triggerer's log reaches its file after the terminate reached the cluster:
        # give the decision's line time to land before reading what was decided.
        deadline = time.monotonic() + 30.0
        while _decision(log) in _UNDECIDED and time.monotonic() < deadline:
            time.sleep(0.5)
            log = self.trigger_log(dag, run_id, try_number, triggerer)
        return Kill(how, fresh, seconds, state, _decision(log), started - _started_at(log))

    def mark_failed(self, dag: str, run_id: str) -> None:
        """Mark the task failed, as the UI's "Mark as failed" does."""
        self._call("PATCH", self._ti_path(dag, run_id), json={"new_state": "failed"})

    def clear(self, dag: str, run_id: str) -> None:
        """Clear the task, as the UI's "Clear" does."""
        self._call(
            "POST",
            f"/dags/{dag}/clearTaskInstances",
            json={
                "dry_run": False,
                "task_ids": [TASK],
                "dag_run_id": run_id,
                "only_failed": False,
                "reset_dag_runs": True,
            },
        )

    def restart_triggerer(self, sig: signal.Signals) -> None:
        """Stop the triggerer with ``sig`` and start a new one."""
        self.airflow.stop_component("triggerer", sig)
        self.airflow.start_component("triggerer")
        self._restarts += 1

    def still_running(self, job_id: str) -> bool:
        """Whether the job is still running."""
        return self.tracker.job_state(job_id)[0].name == "RUNNING"

    def handover(self, run_id: str, job_id: str, triggerer: int) -> tuple[Spared, int]:
        """Freeze the triggerer past its heartbeat threshold while a second one takes the
        trigger, then thaw it: it cancels its copy of the trigger "by user action"
        (apache/airflow#73454), and the job must keep running. The second triggerer
        stays (as ``triggerer``), the first is stopped. Returns the check and the new
        triggerer's job ID."""
        self.airflow.start_component("triggerer-b")
        self.airflow.signal_component("triggerer", signal.SIGSTOP)
        _, moved_to = self.deferred(KILL_DAG, run_id, not_in=triggerer)
        self.airflow.signal_component("triggerer", signal.SIGCONT)
        old_log = lambda: self.trigger_log(KILL_DAG, run_id, 1, triggerer)  # noqa: E731
        try:
            wait_for(
                "the thawed triggerer to drop the trigger",
                lambda: "trigger completed" in old_log(),
                60,
            )
            time.sleep(3.0)  # a wrong terminate would have landed by now
        except AssertionError:
            pass
        running = self.still_running(job_id)
        detail = _decision(old_log()) or "no on_kill in the thawed triggerer"
        self.airflow.stop_component("triggerer", signal.SIGTERM)
        self.airflow.processes["triggerer"] = self.airflow.processes.pop("triggerer-b")
        return Spared("handover after a heartbeat lapse", running, detail), moved_to

    def close(self) -> None:
        """Terminate every job still running; close the tracker."""
        for job_id in self.jobs:
            if not self.tracker.job_state(job_id)[0].is_terminal:
                self.tracker.job_control(job_id, "terminate")
        self.tracker.close()


_DECISIONS = (
    ("not known within", "no answer in time: honoured"),
    ("still deferred", "still deferred: left running"),
    ("The task goes on", "task goes on: left running"),
    ("Terminated MPIJob", "answered: terminated"),
    ("Could not terminate", "terminate failed"),
)


#: What :func:`_decision` says while the kill's decision is not in the log yet.
_UNDECIDED = ("", "on_kill: nothing logged")


def _started_at(log: str) -> float:
    """Epoch seconds of the trigger's ``starting`` line in its log (JSON lines)."""
    for line in log.splitlines():
        if "starting" in line:
            stamp = json.loads(line)["timestamp"].replace("Z", "+00:00")
            return datetime.fromisoformat(stamp).timestamp()
    return float("nan")


def _decision(log: str) -> str:
    """What the trigger's kill logged, in a few words (the first match wins)."""
    for needle, words in _DECISIONS:
        if needle in log:
            return words
    return "" if "on_kill" not in log else "on_kill: nothing logged"


def seconds_text(seconds: float | None) -> str:
    """``3.02 s`` or ``never``."""
    return "never" if seconds is None else f"{seconds:.2f} s"
