"""The DRMAA2 job info, field for field the Go ``drmaa2interface.JobInfo``.

``JobInfo`` is what a tracker reports about a job and what the Airflow
operator pushes to XCom, so it dumps to and loads from the Go JSON keys. Go
marks unknown numbers with ``UnsetNum`` (-1) and ``UnsetTime`` (-3); here they
are ``None``, written back as -1/-3 so that Go reads "unset" (an omitted
``exitStatus`` would read as 0, success). The wallclock time is a ``timedelta`` written as Go
``time.Duration`` nanoseconds.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from airflow_provider_mpi.drmaa2._json import Field, GoJSONText, Kind, from_mapping, to_mapping
from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.state import JobState

__all__ = ["JOB_INFO_FIELDS", "READABLE_KEY", "JobInfo", "format_duration", "with_readable"]

#: Go's ``UnsetNum`` and ``UnsetTime``: what Go writes for an unknown number.
UNSET_NUM = -1
UNSET_TIME = -3

#: Python name, Go JSON key and kind of every JobInfo field, in Go order.
JOB_INFO_FIELDS: tuple[Field, ...] = (
    Field("id", "id", Kind.STR),
    Field("exit_status", "exitStatus", Kind.OPT_INT, unset=UNSET_NUM),
    Field("terminating_signal", "terminationSignal", Kind.STR),
    Field("annotation", "annotation", Kind.STR),
    Field("state", "state", Kind.STATE),
    Field("sub_state", "subState", Kind.STR),
    Field("allocated_machines", "allocatedMachines", Kind.STR_LIST),
    Field("submission_machine", "submissionMachine", Kind.STR),
    Field("job_owner", "jobOwner", Kind.STR),
    Field("slots", "slots", Kind.OPT_INT, unset=UNSET_NUM),
    Field("queue_name", "queueName", Kind.STR),
    # drmaa2interface before 987c881 ("Fixes a spelling error in the JSON
    # encoding") wrote "wallockTime"; JSON of such Go tools still loads.
    Field("wallclock_time", "wallclockTime", Kind.DURATION, aliases=("wallockTime",)),
    Field("cpu_time", "cpuTime", Kind.OPT_INT, unset=UNSET_TIME),
    Field("submission_time", "submissionTime", Kind.TIME),
    Field("dispatch_time", "dispatchTime", Kind.TIME),
    Field("finish_time", "finishTime", Kind.TIME),
)


#: The key of the human-readable companion that Airflow faces add beside the
#: Go keys (see :func:`with_readable`); :meth:`JobInfo.from_dict` skips it, as
#: Go's ``encoding/json`` skips any unknown key.
READABLE_KEY = "readable"

#: Go marshals the untagged ``Extensible`` interface embedded in JobInfo as
#: ``"Extensible": null``; it carries nothing and is accepted when null.
_GO_NULL_KEYS = frozenset({"Extensible"})


@dataclass
class JobInfo(GoJSONText):
    """What is known about a job (Go ``drmaa2interface.JobInfo``).

    ``None`` means unknown: ``exit_status`` before the job ended, ``slots``,
    ``cpu_time`` (seconds), ``wallclock_time`` and the times until they
    happen. Times are timezone-aware UTC.
    """

    id: str = ""
    exit_status: int | None = None
    terminating_signal: str = ""
    annotation: str = ""
    state: JobState = JobState.UNSET
    sub_state: str = ""
    allocated_machines: list[str] = field(default_factory=list)
    submission_machine: str = ""
    job_owner: str = ""
    slots: int | None = None
    queue_name: str = ""
    wallclock_time: timedelta | None = None
    cpu_time: int | None = None
    submission_time: datetime | None = None
    dispatch_time: datetime | None = None
    finish_time: datetime | None = None
    extension_list: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobInfo:
        """Build a JobInfo from Go JSON keys or snake_case names.

        Args:
            data: a mapping as Go writes it (``state`` as an integer,
                ``wallclockTime`` in nanoseconds) or with snake_case names;
                ``state`` may also be a name such as ``"Running"``. Go's
                -1/-3 "unset" numbers and zero time read as None, and so does
                a missing ``exitStatus`` (Go omits a zero exit status, so
                "0" and "unknown" cannot be told apart in Go's output).

        Returns:
            A new JobInfo.

        Raises:
            InvalidArgumentError: an unknown or repeated key, or a value of
                the wrong type.
        """
        if READABLE_KEY in data:
            data = {key: value for key, value in data.items() if key != READABLE_KEY}
        return cls(
            **from_mapping(data, JOB_INFO_FIELDS, "JobInfo", InvalidArgumentError, _GO_NULL_KEYS)
        )

    def to_dict(self) -> dict[str, Any]:
        """Dump as Go would marshal it.

        ``state`` is written as its integer, the wallclock time in
        nanoseconds, ``omitempty`` applies to strings, lists and maps; unknown
        (None) values are omitted, known ones written, zero included.

        Returns:
            A JSON-ready dict with the Go keys.

        Raises:
            InvalidArgumentError: a time is a naive datetime.
        """
        return to_mapping(self, JOB_INFO_FIELDS, InvalidArgumentError)

    def readable(self) -> dict[str, Any]:
        """The fields people read, in words and units instead of Go's encoding.

        Returns:
            ``state`` as its name (``"Done"``), ``subState``, ``exitStatus``
            (``"unknown"`` while unset), ``wallclockTime`` as text
            (``"1 min 2.5 s"``) and ``wallclockTimeSeconds``, ``cpuTimeSeconds``
            (``None`` when unknown), ``slots`` and the submission, dispatch and
            finish times as ISO 8601 UTC; unknown values are ``None`` except
            ``exitStatus``.
        """
        wallclock = self.wallclock_time
        return {
            "state": self.state.go_name,
            "subState": self.sub_state,
            "exitStatus": "unknown" if self.exit_status is None else self.exit_status,
            "wallclockTime": None if wallclock is None else format_duration(wallclock),
            "wallclockTimeSeconds": None if wallclock is None else wallclock.total_seconds(),
            "cpuTimeSeconds": self.cpu_time,
            "slots": self.slots,
            "submissionTime": _iso(self.submission_time),
            "dispatchTime": _iso(self.dispatch_time),
            "finishTime": _iso(self.finish_time),
        }

    def copy(self) -> JobInfo:
        """Return a deep copy."""
        return copy.deepcopy(self)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def format_duration(value: timedelta) -> str:
    """Write a duration for people: ``"850 ms"``, ``"2.5 s"``, ``"3 min 4.0 s"``, ``"2 h 5 min"``.

    Args:
        value: the duration (negative durations are written with a ``-``).

    Returns:
        The text.
    """
    seconds = value.total_seconds()
    if seconds < 0:
        return "-" + format_duration(-value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {rest:.1f} s"
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours} h {minutes} min"


def with_readable(info: JobInfo | Mapping[str, Any]) -> dict[str, Any]:
    """The Go JSON of a JobInfo plus its :meth:`JobInfo.readable` companion.

    The Go keys keep Go's numbers (``state`` 8, ``wallclockTime`` in
    nanoseconds, -1/-3 for unset), so Go tools and :meth:`JobInfo.from_dict`
    read the dict unchanged; ``readable`` says the same in words and seconds.

    Args:
        info: a JobInfo, or its Go JSON dict (with or without a companion).

    Returns:
        A new dict: the Go keys and ``readable``.
    """
    job_info = info if isinstance(info, JobInfo) else JobInfo.from_dict(info)
    return {**job_info.to_dict(), READABLE_KEY: job_info.readable()}
