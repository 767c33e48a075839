"""The DRMAA2 job template, field for field the Go ``drmaa2interface.JobTemplate``.

A template is what a DAG author writes and what the Go DRMAA2 tools write, so
it must load from and dump to exactly the Go JSON (``remoteCommand``,
``minSlots``, ``accountingString``, ``extension: {"extensionList": ...}``).
The dataclass itself holds no backend logic: checking that a backend can run
the template belongs to that backend's converter.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_mpi.drmaa2._json import Field, GoJSONText, Kind, from_mapping, to_mapping
from airflow_provider_mpi.drmaa2.errors import InvalidTemplateError

__all__ = ["JOB_TEMPLATE_FIELDS", "JobTemplate"]

#: Python name, Go JSON key and kind of every JobTemplate field, in Go order.
JOB_TEMPLATE_FIELDS: tuple[Field, ...] = (
    Field("remote_command", "remoteCommand", Kind.STR),
    Field("args", "args", Kind.STR_LIST),
    Field("submit_as_hold", "submitAsHold", Kind.BOOL),
    Field("re_runnable", "reRunnable", Kind.BOOL),
    Field("job_environment", "jobEnvironment", Kind.STR_MAP),
    Field("working_directory", "workingDirectory", Kind.STR),
    Field("job_category", "jobCategory", Kind.STR),
    Field("email", "email", Kind.STR_LIST),
    Field("email_on_started", "emailOnStarted", Kind.BOOL),
    Field("email_on_terminated", "emailOnTerminated", Kind.BOOL),
    Field("job_name", "jobName", Kind.STR),
    Field("input_path", "inputPath", Kind.STR),
    Field("output_path", "outputPath", Kind.STR),
    Field("error_path", "errorPath", Kind.STR),
    Field("join_files", "joinFiles", Kind.BOOL),
    Field("reservation_id", "reservationID", Kind.STR),
    Field("queue_name", "queueName", Kind.STR),
    Field("min_slots", "minSlots", Kind.INT),
    Field("max_slots", "maxSlots", Kind.INT),
    Field("priority", "priority", Kind.INT),
    Field("candidate_machines", "candidateMachines", Kind.STR_LIST),
    Field("min_phys_memory", "minPhysMemory", Kind.INT),
    Field("machine_os", "machineOs", Kind.STR),
    Field("machine_arch", "machineArch", Kind.STR),
    Field("start_time", "startTime", Kind.TIME),
    Field("deadline_time", "deadlineTime", Kind.TIME),
    Field("stage_in_files", "stageInFiles", Kind.STR_MAP),
    Field("stage_out_files", "stageOutFiles", Kind.STR_MAP),
    Field("resource_limits", "resourceLimits", Kind.STR_MAP),
    Field("accounting_id", "accountingString", Kind.STR),
)


@dataclass
class JobTemplate(GoJSONText):
    """A DRMAA2 job template (Go ``drmaa2interface.JobTemplate``).

    Unset values are the Go zero values: ``""``, ``False``, ``0``, empty
    lists and maps, and ``None`` for times. Times are timezone-aware UTC.
    ``extension_list`` holds the backend-specific extensions (Go's
    ``Extension.ExtensionList``).
    """

    remote_command: str = ""
    args: list[str] = field(default_factory=list)
    submit_as_hold: bool = False
    re_runnable: bool = False
    job_environment: dict[str, str] = field(default_factory=dict)
    working_directory: str = ""
    job_category: str = ""
    email: list[str] = field(default_factory=list)
    email_on_started: bool = False
    email_on_terminated: bool = False
    job_name: str = ""
    input_path: str = ""
    output_path: str = ""
    error_path: str = ""
    join_files: bool = False
    reservation_id: str = ""
    queue_name: str = ""
    min_slots: int = 0
    max_slots: int = 0
    priority: int = 0
    candidate_machines: list[str] = field(default_factory=list)
    min_phys_memory: int = 0
    machine_os: str = ""
    machine_arch: str = ""
    start_time: datetime | None = None
    deadline_time: datetime | None = None
    stage_in_files: dict[str, str] = field(default_factory=dict)
    stage_out_files: dict[str, str] = field(default_factory=dict)
    resource_limits: dict[str, str] = field(default_factory=dict)
    accounting_id: str = ""
    extension_list: dict[str, str] = field(default_factory=dict)

    json_error = InvalidTemplateError

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobTemplate:
        """Build a template from Go JSON keys or snake_case names.

        Args:
            data: a mapping such as ``{"remoteCommand": "mpirun", "minSlots": 2}``
                or ``{"remote_command": "mpirun", "min_slots": 2}`` (the two
                spellings may be mixed, but one field only once). Extensions go
                in ``{"extension": {"extensionList": {...}}}`` or
                ``extension_list``. Times are RFC 3339 strings or aware
                datetimes; Go's zero time reads as None.

        Returns:
            A new template.

        Raises:
            InvalidTemplateError: an unknown key (with the closest known key
                suggested), a key given twice, or a value of the wrong type.
        """
        return cls(**from_mapping(data, JOB_TEMPLATE_FIELDS, "JobTemplate", InvalidTemplateError))

    def to_dict(self) -> dict[str, Any]:
        """Dump as Go would marshal it, with Go's ``omitempty`` rules.

        Unset times are omitted (Go writes its zero time instead; both read
        back as unset in Go and here).

        Returns:
            A JSON-ready dict with the Go keys.

        Raises:
            InvalidTemplateError: a time is a naive datetime.
        """
        return to_mapping(self, JOB_TEMPLATE_FIELDS, InvalidTemplateError)

    def copy(self) -> JobTemplate:
        """Return a deep copy (lists and maps are not shared)."""
        return copy.deepcopy(self)

    def replace(self, **changes: Any) -> JobTemplate:
        """Return a deep copy with some fields changed.

        Raises:
            TypeError: a name is not a field.
        """
        return dataclasses.replace(self.copy(), **changes)
