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
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from airflow_provider_mpi.drmaa2._json import Field, Kind, from_mapping, to_mapping
from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.state import JobState

__all__ = ["JOB_INFO_FIELDS", "JobInfo"]

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


#: Go marshals the untagged ``Extensible`` interface embedded in JobInfo as
#: ``"Extensible": null``; it carries nothing and is accepted when null.
_GO_NULL_KEYS = frozenset({"Extensible"})


@dataclass
class JobInfo:
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

    @classmethod
    def from_json(cls, text: str | bytes) -> JobInfo:
        """Build a JobInfo from Go JSON text.

        Raises:
            InvalidArgumentError: the text is not JSON or not a valid JobInfo.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidArgumentError("JobInfo", text, f"not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def to_json(self, *, indent: int | None = None) -> str:
        """Dump as Go JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)

    def copy(self) -> JobInfo:
        """Return a deep copy."""
        return copy.deepcopy(self)
