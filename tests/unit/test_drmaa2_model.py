"""JobTemplate and JobInfo against the Go drmaa2interface JSON."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_mpi.drmaa2 import (
    InvalidArgumentError,
    InvalidTemplateError,
    JobInfo,
    JobState,
    JobTemplate,
)
from airflow_provider_mpi.drmaa2._json import GO_ZERO_TIME, Field, Kind
from airflow_provider_mpi.drmaa2.info import JOB_INFO_FIELDS
from airflow_provider_mpi.drmaa2.template import JOB_TEMPLATE_FIELDS

UTC = timezone.utc

# Written by hand as Go's encoding/json marshals drmaa2interface.JobTemplate:
# struct order, omitempty, RFC 3339 times with the fraction trimmed.
GO_TEMPLATE_FULL = """{
 "extension": {"extensionList": {"workerImage": "mpioperator/mpi-pi:openmpi",
                                 "slotsPerWorker": "2"}},
 "remoteCommand": "mpirun", "args": ["-n", "2", "/home/mpiuser/pi"],
 "submitAsHold": true, "reRunnable": true, "jobEnvironment": {"OMP_NUM_THREADS": "1"},
 "workingDirectory": "/home/mpiuser", "jobCategory": "mpioperator/mpi-pi:openmpi",
 "email": ["a@example.com"], "emailOnStarted": true, "emailOnTerminated": true,
 "jobName": "pi", "inputPath": "/in", "outputPath": "/out/$DRMAA2_INDEX$", "errorPath": "/err",
 "joinFiles": true, "reservationID": "r1", "queueName": "team-a", "minSlots": 2,
 "maxSlots": 4, "priority": 10, "candidateMachines": ["node-1", "node-2"],
 "minPhysMemory": 1048576, "machineOs": "linux", "machineArch": "amd64",
 "startTime": "2024-05-01T10:00:00Z", "deadlineTime": "2024-05-01T12:30:00.5Z",
 "stageInFiles": {"pvc:data": "/data"}, "stageOutFiles": {"/out": "pvc:results"},
 "resourceLimits": {"cpu": "2"}, "accountingString": "proj-1"
}"""

# Go always writes time.Time (omitempty does not apply to structs) and the
# embedded Extension struct, even when empty.
GO_TEMPLATE_MINIMAL = """{"extension": {}, "remoteCommand": "mpirun",
 "jobCategory": "mpioperator/mpi-pi:openmpi",
 "startTime": "0001-01-01T00:00:00Z", "deadlineTime": "0001-01-01T00:00:00Z"}"""

GO_INFO_FULL = """{
 "extension": {"extensionList": {"launcherPod": "pi-launcher-x"}},
 "id": "default/pi", "exitStatus": 137, "terminationSignal": "SIGKILL",
 "annotation": "launcher killed", "state": 9, "subState": "BackoffLimitExceeded",
 "allocatedMachines": ["node-1", "node-2"], "submissionMachine": "airflow-worker-0",
 "jobOwner": "airflow", "slots": 4, "queueName": "team-a", "wallclockTime": 90500000000,
 "cpuTime": 12, "submissionTime": "2024-05-01T10:00:00Z",
 "dispatchTime": "2024-05-01T10:00:01.123456Z", "finishTime": "2024-05-01T10:01:31.5Z"
}"""

# A JobInfo made with Go's CreateJobInfo() and never filled: the Extensible
# interface marshals as null, exitStatus/slots are UnsetNum, cpuTime UnsetTime.
GO_INFO_UNSET = """{"Extensible": null, "extension": {}, "exitStatus": -1, "slots": -1,
 "cpuTime": -3, "submissionTime": "0001-01-01T00:00:00Z",
 "dispatchTime": "0001-01-01T00:00:00Z", "finishTime": "0001-01-01T00:00:00Z"}"""


#: Go's UnsetNum/UnsetTime markers of JobInfo, written for unknown numbers.
UNSET_NUMBERS = {"exitStatus": -1, "slots": -1, "cpuTime": -3}


def _without_go_zero_values(data: dict[str, Any]) -> dict[str, Any]:
    """What Go writes minus the zero times and empty values, which we omit."""
    return {key: value for key, value in data.items() if value not in (GO_ZERO_TIME, {}, None)}


@pytest.mark.parametrize("text", [GO_TEMPLATE_FULL, GO_TEMPLATE_MINIMAL], ids=["full", "minimal"])
def test_go_template_round_trip(text: str) -> None:
    template = JobTemplate.from_json(text)
    assert template.to_dict() == _without_go_zero_values(json.loads(text))
    assert JobTemplate.from_json(template.to_json()) == template


@pytest.mark.parametrize("text", [GO_INFO_FULL, GO_INFO_UNSET], ids=["full", "unset"])
def test_go_info_round_trip(text: str) -> None:
    info = JobInfo.from_json(text)
    assert info.to_dict() == _without_go_zero_values(json.loads(text))
    assert JobInfo.from_json(info.to_json()) == info


def test_go_template_values() -> None:
    template = JobTemplate.from_json(GO_TEMPLATE_FULL)
    assert template.accounting_id == "proj-1"
    assert template.reservation_id == "r1"
    assert template.min_slots == 2
    assert template.max_slots == 4
    assert template.deadline_time == datetime(2024, 5, 1, 12, 30, 0, 500000, tzinfo=UTC)
    assert template.extension_list == {
        "workerImage": "mpioperator/mpi-pi:openmpi",
        "slotsPerWorker": "2",
    }
    minimal = JobTemplate.from_json(GO_TEMPLATE_MINIMAL)
    assert minimal.start_time is None
    assert minimal.deadline_time is None
    assert minimal.extension_list == {}


def test_go_info_values() -> None:
    info = JobInfo.from_json(GO_INFO_FULL)
    assert info.state is JobState.FAILED
    assert info.terminating_signal == "SIGKILL"
    assert info.wallclock_time == timedelta(seconds=90, microseconds=500000)
    assert info.dispatch_time == datetime(2024, 5, 1, 10, 0, 1, 123456, tzinfo=UTC)
    unset = JobInfo.from_json(GO_INFO_UNSET)
    assert (unset.exit_status, unset.slots, unset.cpu_time) == (None, None, None)
    assert unset.state is JobState.UNSET
    assert unset.finish_time is None
    assert unset == JobInfo()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00.123456789+02:00", datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T10:00:00.1-01:30", datetime(2024, 5, 1, 11, 30, 0, 100000, tzinfo=UTC)),
        ("2024-05-01t10:00:00.000000999z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (GO_ZERO_TIME, None),
        ("", None),
    ],
)
def test_time_parsing(text: str, expected: datetime | None) -> None:
    template = JobTemplate.from_dict({"startTime": text})
    assert template.start_time == expected
    if expected is not None:
        assert template.start_time is not None
        assert template.start_time.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (datetime(2024, 5, 1, 10, tzinfo=UTC), "2024-05-01T10:00:00Z"),
        (datetime(2024, 5, 1, 10, 0, 0, 120000, tzinfo=UTC), "2024-05-01T10:00:00.12Z"),
        (datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))), "2024-05-01T10:00:00Z"),
        (datetime(12, 1, 1, tzinfo=UTC), "0012-01-01T00:00:00Z"),
    ],
)
def test_time_writing(value: datetime, written: str) -> None:
    assert JobTemplate(deadline_time=value).to_dict() == {"deadlineTime": written}


@pytest.mark.parametrize(
    ("nanoseconds", "expected"),
    [
        (0, timedelta(0)),
        (1_500, timedelta(microseconds=1)),
        (90_500_000_000, timedelta(seconds=90, microseconds=500000)),
        (-2_000, timedelta(microseconds=-2)),
        (86_400_000_000_000 * 3, timedelta(days=3)),
    ],
)
def test_wallclock_nanoseconds(nanoseconds: int, expected: timedelta) -> None:
    info = JobInfo.from_dict({"wallclockTime": nanoseconds})
    assert info.wallclock_time == expected
    assert info.to_dict()["wallclockTime"] == nanoseconds // 1000 * 1000


@pytest.mark.parametrize(
    ("value", "expected"),
    [(8, JobState.DONE), ("Done", JobState.DONE), ("queued_held", JobState.QUEUED_HELD)],
)
def test_info_state_as_int_or_name(value: object, expected: JobState) -> None:
    info = JobInfo.from_dict({"state": value})
    assert info.state is expected
    assert info.to_dict() == {**UNSET_NUMBERS, "state": int(expected)}


def test_snake_case_names_and_mixing() -> None:
    template = JobTemplate.from_dict(
        {
            "remote_command": "mpirun",
            "minSlots": 2,
            "accounting_id": "proj",
            "extension_list": {"workerImage": "img"},
        }
    )
    assert template == JobTemplate(
        remote_command="mpirun",
        min_slots=2,
        accounting_id="proj",
        extension_list={"workerImage": "img"},
    )
    assert template.to_dict()["accountingString"] == "proj"


def test_omitempty_on_output() -> None:
    assert JobTemplate().to_dict() == {}
    # Unknown JobInfo numbers are written as Go's markers (an omitted exitStatus
    # would read as 0 in Go: success); known zero values are written as 0.
    assert JobInfo().to_dict() == UNSET_NUMBERS
    info = JobInfo(exit_status=0, slots=0, cpu_time=0, wallclock_time=timedelta(0))
    assert info.to_dict() == {"exitStatus": 0, "slots": 0, "cpuTime": 0, "wallclockTime": 0}


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("minslots", "minSlots"),
        ("min_slot", "minSlots"),
        ("accountingID", "accountingString"),
        ("remoteComand", "remoteCommand"),
        ("extensionList", "extension"),
        ("zzzzzz", None),
    ],
)
def test_unknown_template_key(key: str, suggestion: str | None) -> None:
    with pytest.raises(InvalidTemplateError) as info:
        JobTemplate.from_dict({"remoteCommand": "mpirun", key: "x"})
    assert info.value.field == key
    assert repr(key) in str(info.value)
    if suggestion is None:
        assert "did you mean" not in str(info.value)
    else:
        assert f"did you mean {suggestion!r}" in str(info.value)


def test_unknown_info_key_and_extension_key() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown JobInfo key 'exit_code'") as info:
        JobInfo.from_dict({"exit_code": 1})
    assert not isinstance(info.value, InvalidTemplateError)
    with pytest.raises(InvalidTemplateError, match=r"extension\.extensionlist"):
        JobTemplate.from_dict({"extension": {"extensionlist": {}}})
    with pytest.raises(InvalidArgumentError, match="Extensible"):
        JobInfo.from_dict({"Extensible": {"a": "b"}})


def test_field_given_twice() -> None:
    with pytest.raises(InvalidTemplateError, match="given twice") as info:
        JobTemplate.from_dict({"minSlots": 1, "min_slots": 2})
    assert info.value.field == "min_slots"


# Values of the wrong type for each kind of field.
BAD_VALUES: dict[Kind, list[object]] = {
    Kind.STR: [5, ["a"], True],
    Kind.BOOL: ["yes", 1, 0],
    Kind.INT: ["two", 2.5, True, "2", 2**63],
    Kind.OPT_INT: ["two", 2.0, False, -(2**63) - 1],
    Kind.STR_LIST: ["a", [1], {"a": "b"}],
    Kind.STR_MAP: [["a"], {"a": 1}, "a=b"],
    Kind.TIME: ["yesterday", 5, "2024-05-01", "2024-05-01T10:00:00", datetime(2024, 5, 1)],
    Kind.DURATION: ["1s", 1.5, True, 2**63],
    Kind.STATE: ["Sleeping", 10, -1, True, 8.0],
}


def _bad_cases(fields: tuple[Field, ...]) -> list[tuple[str, object]]:
    return [(f.key, bad) for f in fields for bad in BAD_VALUES[f.kind]]


@pytest.mark.parametrize(("key", "bad"), _bad_cases(JOB_TEMPLATE_FIELDS))
def test_template_type_errors(key: str, bad: object) -> None:
    with pytest.raises(InvalidTemplateError) as info:
        JobTemplate.from_dict({key: bad})
    assert info.value.field == key
    assert info.value.value is bad
    assert key in str(info.value)


@pytest.mark.parametrize(("key", "bad"), _bad_cases(JOB_INFO_FIELDS))
def test_info_type_errors(key: str, bad: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        JobInfo.from_dict({key: bad})
    assert info.value.field == key
    assert info.value.value is bad


def test_type_error_message_names_field_and_value() -> None:
    with pytest.raises(InvalidTemplateError) as info:
        JobTemplate.from_dict({"minSlots": "two"})
    assert str(info.value) == "invalid value for minSlots: 'two' (must be an integer)"
    with pytest.raises(InvalidTemplateError) as info:
        JobTemplate.from_dict({"jobEnvironment": {"N": 1}})
    assert "'N': 1" in str(info.value)


@pytest.mark.parametrize("data", [[], "remoteCommand", None])
def test_not_a_mapping(data: object) -> None:
    with pytest.raises(InvalidTemplateError, match="must be a mapping"):
        JobTemplate.from_dict(data)  # type: ignore[arg-type]


def test_not_json() -> None:
    with pytest.raises(InvalidTemplateError, match="not valid JSON"):
        JobTemplate.from_json("{remoteCommand: mpirun}")
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        JobInfo.from_json("")


def test_naive_datetime_rejected_on_output() -> None:
    template = JobTemplate(start_time=datetime(2024, 5, 1))
    with pytest.raises(InvalidTemplateError) as info:
        template.to_dict()
    assert info.value.field == "startTime"


def test_copy_and_replace_are_deep() -> None:
    template = JobTemplate(args=["a"], job_environment={"A": "1"}, extension_list={"x": "y"})
    clone = template.copy()
    clone.args.append("b")
    clone.job_environment["B"] = "2"
    changed = template.replace(job_name="pi")
    changed.extension_list["z"] = "w"
    assert template == JobTemplate(
        args=["a"], job_environment={"A": "1"}, extension_list={"x": "y"}
    )
    assert changed.job_name == "pi"
    assert changed.args == ["a"]
    with pytest.raises(TypeError):
        template.replace(no_such_field=1)


def test_from_dict_copies_its_input() -> None:
    args = ["a"]
    template = JobTemplate.from_dict({"args": args})
    args.append("b")
    assert template.args == ["a"]


def test_field_tables_cover_the_dataclasses() -> None:
    for cls, table in ((JobTemplate, JOB_TEMPLATE_FIELDS), (JobInfo, JOB_INFO_FIELDS)):
        names = [f.name for f in dataclasses.fields(cls)]
        assert names == [f.name for f in table] + ["extension_list"]


def test_docs_tables_list_every_field() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "drmaa2.md"
    text = docs.read_text(encoding="utf-8")
    for table in (JOB_TEMPLATE_FIELDS, JOB_INFO_FIELDS):
        for f in table:
            assert f"| `{f.name}` | `{f.key}` |" in text, f.name


# --- property tests --------------------------------------------------------

_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_TEXT = st.text(max_size=8)
_STRATEGIES: dict[Kind, st.SearchStrategy[Any]] = {
    Kind.STR: _TEXT,
    Kind.BOOL: st.booleans(),
    Kind.INT: _INT64,
    Kind.OPT_INT: st.none() | _INT64.filter(lambda n: n not in (-1, -3)),
    Kind.STR_LIST: st.lists(_TEXT, max_size=3),
    Kind.STR_MAP: st.dictionaries(_TEXT, _TEXT, max_size=3),
    Kind.TIME: st.none()
    | st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    Kind.DURATION: st.none()
    | st.timedeltas(min_value=timedelta(days=-(10**5)), max_value=timedelta(days=10**5)),
    Kind.STATE: st.sampled_from(JobState),
}


def _model(cls: type[Any], table: tuple[Field, ...]) -> st.SearchStrategy[Any]:
    kwargs = {f.name: _STRATEGIES[f.kind] for f in table}
    kwargs["extension_list"] = _STRATEGIES[Kind.STR_MAP]
    return st.builds(cls, **kwargs)


@given(_model(JobTemplate, JOB_TEMPLATE_FIELDS))
def test_property_template_round_trip(template: JobTemplate) -> None:
    assert JobTemplate.from_dict(template.to_dict()) == template
    assert JobTemplate.from_json(template.to_json()) == template
    assert JobTemplate.from_dict(dataclasses.asdict(template)) == template


@given(_model(JobInfo, JOB_INFO_FIELDS))
def test_property_info_round_trip(info: JobInfo) -> None:
    assert JobInfo.from_dict(info.to_dict()) == info
    assert JobInfo.from_json(info.to_json()) == info
    assert JobInfo.from_dict(dataclasses.asdict(info)) == info


def test_wallclock_spelling_of_older_go_releases_loads() -> None:
    info = JobInfo.from_dict({"wallockTime": 2_000_000_000, "state": 8})
    assert info.wallclock_time == timedelta(seconds=2)
    assert info.to_dict()["wallclockTime"] == 2_000_000_000


def test_unknown_numbers_survive_a_round_trip_through_go_json() -> None:
    info = JobInfo(id="default/pi", state=JobState.RUNNING)
    again = JobInfo.from_json(info.to_json())
    assert (again.exit_status, again.slots, again.cpu_time) == (None, None, None)
    assert json.loads(info.to_json())["exitStatus"] == -1
