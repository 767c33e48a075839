"""A reattaching try writes to its log only the launcher lines no earlier try wrote.

The count of lines logged lives on the MPIJob (annotation
``airflow-provider-mpi/launcher-lines-logged``: pod, lines, try), because
Airflow clears a task instance's XCom when a new try starts. Against the
emulator: one try copies the output, a second try of the same task copies
nothing again and says so; a try that had written only part of it (killed
mid-stream) is completed by the next without a line twice.
"""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import logging
from typing import Any

from airflow_provider_mpi.drmaa2 import JobState, JobTemplate
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook
from airflow_provider_mpi.operators import _output_log
from airflow_provider_mpi.operators.mpi_job import MPIJobOperator, _Copied
from tests.dags.jobs import scripted_template

LINES = [f"step {n} of 4" for n in range(1, 5)]


class _Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _Operator(MPIJobOperator):
    """The real operator, its task log captured (the try number as Airflow would set it)."""

    def __init__(self, *, try_number: int, **kwargs: Any) -> None:
        super().__init__(task_id=f"run-{try_number}", job_template=scripted_template(), **kwargs)
        self._try_number = try_number
        self.recorded = _Recorded()
        self._test_log = logging.getLogger(f"test.output_log.{try_number}")
        self._test_log.addHandler(self.recorded)
        self._test_log.setLevel(logging.INFO)

    @property
    def log(self) -> Any:  # type: ignore[override]
        return self._test_log

    def launcher_lines(self) -> list[str]:
        return [m.removeprefix("[launcher] ") for m in self.recorded.messages if "[launcher]" in m]


def _finished_job() -> str:
    tracker = MPIOperatorHook().get_tracker()
    job_id = tracker.add_job(JobTemplate.from_dict(scripted_template(log="\n".join(LINES))))
    assert tracker.wait(job_id, 60) is JobState.DONE
    return job_id


def test_a_second_try_does_not_write_the_lines_again(cluster: Any) -> None:
    job_id = _finished_job()
    first = _Operator(try_number=1)
    first._copy_output_once(job_id, _Copied())
    assert first.launcher_lines() == LINES
    tracker = MPIOperatorHook().get_tracker()
    pod, logged = _output_log.read(tracker, job_id)
    assert logged == _output_log.LinesLogged(pod, 4, 1)

    second = _Operator(try_number=2)
    second._copy_output_once(job_id, _Copied())
    assert second.launcher_lines() == []
    assert any("are in the log of try 1 already" in m for m in second.recorded.messages)


def test_a_try_killed_mid_stream_is_completed_without_repeats(cluster: Any) -> None:
    job_id = _finished_job()
    tracker = MPIOperatorHook().get_tracker()
    pod, _ = _output_log.read(tracker, job_id)
    _output_log.record(tracker, job_id, _output_log.LinesLogged(pod, 2, 1))  # try 1 wrote 2
    second = _Operator(try_number=2)
    second._copy_output_once(job_id, _Copied())
    assert second.launcher_lines() == LINES[2:]
    assert _output_log.read(tracker, job_id)[1] == _output_log.LinesLogged(pod, 4, 2)


def test_a_count_from_another_launcher_pod_is_ignored(cluster: Any) -> None:
    job_id = _finished_job()
    tracker = MPIOperatorHook().get_tracker()
    _output_log.record(tracker, job_id, _output_log.LinesLogged("old-launcher", 4, 1))
    second = _Operator(try_number=2)
    second._copy_output_once(job_id, _Copied())
    assert second.launcher_lines() == LINES  # a relaunched launcher's output is new
