"""Which launcher lines a task's tries already wrote to their logs, kept on the job itself.

A retry (or a cleared task's new try) that reattaches to the job of an earlier
try copies the launcher's output into its own log. Without bookkeeping it
would write again every line the earlier try already wrote. The count has to
outlive the try: XCom does not (Airflow clears a task instance's XCom when a
new try starts), the job does, and the job is what the count is about. So the
operator keeps it in one annotation of the MPIJob,
``airflow-provider-mpi/launcher-lines-logged``: the launcher pod the lines
came from, how many lines were written and by which try. A relaunched
launcher (a new pod) starts the count afresh, since its output is new.

The annotation is written with a JSON merge patch after each copy, and every
:data:`RECORD_EVERY_SECONDS` while following the output, so a try killed
mid-stream (a SIGKILLed worker) repeats at most those seconds of lines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error
from airflow_provider_mpi.mpioperator.names import ANNOTATION_LINES_LOGGED
from airflow_provider_mpi.mpioperator.tracker.ids import parse_job_id

if TYPE_CHECKING:
    from airflow_provider_mpi.mpioperator.tracker.sync import MPIOperatorTracker

__all__ = [
    "ANNOTATION_LINES_LOGGED",
    "RECORD_EVERY_SECONDS",
    "LinesLogged",
    "read",
    "record",
    "record_quietly",
]

#: While following the output, the count is recorded this often.
RECORD_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class LinesLogged:
    """Launcher lines already in a task log.

    Attributes:
        pod: the launcher pod they came from.
        lines: how many, from its first line.
        try_number: the try that wrote the last of them.
    """

    pod: str
    lines: int
    try_number: int

    @classmethod
    def parse(cls, value: object) -> LinesLogged | None:
        """Read the annotation's value; None when absent or unreadable."""
        if not isinstance(value, str):
            return None
        try:
            data = json.loads(value)
            return cls(str(data["pod"]), int(data["lines"]), int(data["try"]))
        except (ValueError, KeyError, TypeError):
            return None

    def to_json(self) -> str:
        """The annotation's value."""
        return json.dumps({"pod": self.pod, "lines": self.lines, "try": self.try_number})


def _launcher_pod(mpijob_info: Mapping[str, str]) -> str:
    return str(mpijob_info.get("launcherPod") or "")


def read(tracker: MPIOperatorTracker, job_id: str) -> tuple[str, LinesLogged | None]:
    """The current launcher pod and what earlier tries logged of the job's output.

    Args:
        tracker: the tracker.
        job_id: the job.

    Returns:
        ``(pod, logged)``: ``logged`` is None when nothing was logged from
        this launcher pod yet.
    """
    ref = parse_job_id(job_id, tracker.namespace)
    mpijob = tracker.api.get_mpi_job(ref.namespace, ref.name, job_id=str(ref))
    pod = _launcher_pod(tracker.job_info(job_id).extension_list)
    annotations: Mapping[str, Any] = (mpijob.get("metadata") or {}).get("annotations") or {}
    logged = LinesLogged.parse(annotations.get(ANNOTATION_LINES_LOGGED))
    if logged is None or not pod or logged.pod != pod:
        return pod, None
    return pod, logged


def record(tracker: MPIOperatorTracker, job_id: str, logged: LinesLogged) -> None:
    """Write the count on the job (a merge patch; repeating it is harmless).

    Args:
        tracker: the tracker.
        job_id: the job.
        logged: what is in the task logs now.

    Raises:
        DRMAA2Error: the patch failed (callers treat the bookkeeping as best effort).
    """
    ref = parse_job_id(job_id, tracker.namespace)
    patch = {"metadata": {"annotations": {ANNOTATION_LINES_LOGGED: logged.to_json()}}}
    tracker.api.patch_mpi_job(ref.namespace, ref.name, patch, job_id=str(ref))


def record_quietly(tracker: MPIOperatorTracker, job_id: str, logged: LinesLogged) -> str | None:
    """:func:`record`, returning the error's text instead of raising."""
    try:
        record(tracker, job_id, logged)
    except DRMAA2Error as exc:
        return str(exc)
    return None
